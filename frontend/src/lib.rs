//! The browser entry point: hydrates the server-rendered page so its buttons and polling come alive.

// The pages' view types are deep: the optimised build (`cargo leptos build --release`) computes
// their layouts past rustc's default query depth of 128.
#![recursion_limit = "256"]

/// Called by the generated JavaScript once the WASM module has loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker that the page is interactive: end-to-end tests wait for it instead of sleeping.
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
