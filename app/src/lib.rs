//! Ferry's shared crate: the API contract and the page.
//!
//! - [`api`]: the JSON bodies of the HTTP API, used by the server's handlers and by the browser.
//! - [`client`]: the browser's calls to that API (runs only in the browser, after hydration).
//! - [`saved_jobs`]: the job ids kept in `localStorage`, so a reload picks every download up again.
//! - [`components`]: the download page, rendered on the server and hydrated in the browser.
//! - [`console`]: the operator console (`/admin`), in the same bundle.
//! - [`units`]: sizes as people read them, for the page and the server's messages alike.
//! - [`trace_context`]: the W3C `traceparent` a click starts and the server continues.

pub mod api;
pub mod client;
pub mod components;
pub mod console;
pub mod saved_jobs;
pub mod trace_context;
pub mod units;

use leptos::prelude::*;
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};

/// Every page the app serves, by address: the download page, and the console with its job
/// pages. The server renders the one a request names; the browser hydrates it and moves between
/// the console's pages without reloading.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| view! { <p class="empty">"There is nothing at this address."</p> }>
                <Route path=path!("/") view=components::DownloadPage/>
                <ParentRoute path=path!("/admin") view=console::Console>
                    <Route path=path!("") view=console::Dashboard/>
                    <Route path=path!("jobs/:id") view=console::JobPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Where the page's stylesheet is served: `/pkg/ferry.css`, or, when cargo-leptos hashes the
/// site's files (`hash-files`), the name with the content hash it records in the hash file beside
/// the server binary — names that change with the content let proxies cache them for a year.
#[cfg(feature = "ssr")]
pub fn stylesheet_href(options: &LeptosOptions) -> String {
    let (pkg, name) = (&options.site_pkg_dir, &options.output_name);
    match options
        .hash_files
        .then(|| content_hash(options, "css"))
        .flatten()
    {
        Some(hash) => format!("/{pkg}/{name}.{hash}.css"),
        None => format!("/{pkg}/{name}.css"),
    }
}

/// The hash cargo-leptos recorded for the site file with extension `extension`.
#[cfg(feature = "ssr")]
fn content_hash(options: &LeptosOptions, extension: &str) -> Option<String> {
    let path = std::env::current_exe()
        .ok()?
        .parent()?
        .join(options.hash_file.as_ref());
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|line| {
            let (key, hash) = line.split_once(':')?;
            (key.trim() == extension).then(|| hash.trim().to_owned())
        })
}

/// The HTML document around [`App`]; only the server renders it. `stylesheet` is the address
/// [`stylesheet_href`] computed once at start-up.
pub fn shell(options: LeptosOptions, stylesheet: String) -> impl IntoView {
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
