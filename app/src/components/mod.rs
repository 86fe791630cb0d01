//! The download page: a form that starts downloads and one row per download.
//!
//! The server renders the page with a skeleton where the rows will be (it cannot see
//! `localStorage`); after hydration the browser restores the saved rows and each row polls its own
//! job.

mod describe;
mod download_form;
mod download_row;
pub mod polling;

pub use describe::{
    describe_state, describe_transfer, format_elapsed, parse_file_ids, record_sample,
    transfer_rate, TransferSample,
};

use crate::{api::JobId, saved_jobs};
use download_form::DownloadForm;
use download_row::DownloadRow;
use leptos::prelude::*;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    // Newest first; the single source of truth for which rows exist.
    let downloads = RwSignal::new(Vec::<JobId>::new());
    // False on the server and until hydration has read `localStorage`: the list shows a skeleton
    // rather than claiming there are no downloads.
    let restored = RwSignal::new(false);

    // Browser only: bring back the downloads of earlier visits.
    Effect::new(move |_| {
        downloads.set(saved_jobs::load());
        restored.set(true);
    });

    let add = Callback::new(move |job_id: JobId| {
        downloads.update(|list| {
            list.retain(|id| *id != job_id);
            list.insert(0, job_id);
            saved_jobs::save(list);
        });
    });
    let remove = Callback::new(move |job_id: JobId| {
        downloads.update(|list| {
            list.retain(|id| *id != job_id);
            saved_jobs::save(list);
        });
    });

    view! {
        <main class="page">
            <header class="page-header">
                <h1>"Ferry"</h1>
                <p class="tagline">
                    "Large files are prepared in the background. Start a download, close the tab if you like, and come back when it is ready."
                </p>
            </header>
            <DownloadForm on_started=add/>
            <section class="downloads" aria-labelledby="downloads-heading">
                <h2 id="downloads-heading">"Your downloads"</h2>
                <Show when=move || !restored.get()>
                    <ListSkeleton/>
                </Show>
                <Show when=move || restored.get() && downloads.with(Vec::is_empty)>
                    <p class="empty">"No downloads yet. Enter a file id above to start one."</p>
                </Show>
                <Show when=move || !downloads.with(Vec::is_empty)>
                    <ul class="download-list">
                        <For
                            each=move || downloads.get()
                            key=|job_id| *job_id
                            children=move |job_id| {
                                view! { <DownloadRow job_id on_retry=add on_remove=remove/> }
                            }
                        />
                    </ul>
                </Show>
            </section>
        </main>
    }
}

/// The shape of a download row, shown until the saved downloads are restored.
#[component]
fn ListSkeleton() -> impl IntoView {
    view! {
        <div class="download-skeleton" aria-busy="true">
            <p class="empty">"Loading your downloads…"</p>
            <div class="download skeleton" aria-hidden="true">
                <div class="skeleton-line"></div>
                <div class="progress"></div>
                <div class="skeleton-line short"></div>
            </div>
        </div>
    }
}
