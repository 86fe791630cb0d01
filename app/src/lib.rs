//! Ferry's shared crate: the API contract and the page.
//!
//! - [`api`]: the JSON bodies of the HTTP API, used by the server's handlers and by the browser.
//! - [`client`]: the browser's calls to that API (runs only in the browser, after hydration).
//! - [`saved_jobs`]: the job ids kept in `localStorage`, so a reload picks every download up again.
//! - [`components`]: the page, rendered on the server and hydrated in the browser.

pub mod api;
pub mod client;
pub mod components;
pub mod saved_jobs;

use leptos::prelude::*;

pub use components::App;

/// The HTML document around [`App`]; only the server renders it.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="description" content="Ferry prepares large downloads in the background."/>
                <title>"Ferry — downloads"</title>
                <link rel="stylesheet" href=stylesheet/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
                // After the hydrated part: with scripting on, a browser parses <noscript> content as
                // text, which hydration must never have to walk.
                <noscript>
                    <p class="noscript">
                        "Ferry needs JavaScript and WebAssembly to start and follow downloads. Turn them on and reload the page."
                    </p>
                </noscript>
            </body>
        </html>
    }
}
