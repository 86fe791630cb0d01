//! A job's trace id, as the download row and the console's job page show it: copyable, and a
//! link to the trace when the deployment names its trace UI (`TRACE_UI_URL_TEMPLATE`).

use crate::api::JobTrace;
use leptos::{prelude::*, task::spawn_local};

/// The trace id with a Copy button and, when known, the trace UI's link; nothing for a job
/// without a trace.
#[component]
pub fn TraceId(trace: JobTrace) -> impl IntoView {
    let JobTrace {
        trace_id,
        trace_url,
    } = trace;
    let copied = RwSignal::new(None::<&'static str>);
    trace_id.map(|trace_id| {
        let to_copy = trace_id.clone();
        let copy = move |_| {
            let text = to_copy.clone();
            spawn_local(async move {
                let outcome = match copy_to_clipboard(&text).await {
                    Ok(()) => "Copied.",
                    Err(()) => "Could not copy: select the id and copy it by hand.",
                };
                let _ = copied.try_set(Some(outcome));
            });
        };
        view! {
            <span class="trace-id">
                <span class="trace-label">"Trace "</span>
                <code data-testid="trace-id">{trace_id}</code>
                " "
                <button type="button" class="button quiet small" on:click=copy aria-label="Copy the trace id">
                    "Copy"
                </button>
                {trace_url.map(|url| view! {
                    " "
                    <a class="trace-link" href=url target="_blank" rel="noopener noreferrer">"Open the trace"</a>
                })}
                <span class="trace-copied" role="status" aria-live="polite">{move || copied.get()}</span>
            </span>
        }
    })
}

/// Puts `text` on the clipboard (the browser asks nothing for a write after a click).
async fn copy_to_clipboard(text: &str) -> Result<(), ()> {
    let clipboard = web_sys::window().ok_or(())?.navigator().clipboard();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(|_| ())
}
