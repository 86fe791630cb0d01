//! The download page: a form that starts downloads and one row per download.
//!
//! The server renders the page with a skeleton where the rows will be (it cannot see
//! `localStorage`); after hydration the browser restores the saved rows and each row polls its own
//! job.

mod board;
mod describe;
mod download_form;
mod download_row;
mod notify_toggle;
pub mod polling;
mod trace_id;

use describe::{
    describe_state, describe_transfer, page_title, parse_file_ids, record_sample, transfer_rate,
    TransferSample,
};
pub(crate) use describe::{format_elapsed, LocalClock};
pub(crate) use download_row::local_clock;
pub(crate) use trace_id::TraceId;

use crate::{api::JobId, saved_jobs};
use board::Board;
use download_form::DownloadForm;
use download_row::DownloadRow;
use leptos::prelude::*;
use notify_toggle::NotifyToggle;

/// The download page.
#[component]
pub fn DownloadPage() -> impl IntoView {
    // Newest first; the single source of truth for which rows exist.
    let downloads = RwSignal::new(Vec::<JobId>::new());
    // False on the server and until hydration has read `localStorage`: the list shows a skeleton
    // rather than claiming there are no downloads.
    let restored = RwSignal::new(false);

    let board = Board::new();
    provide_context(board);

    // Browser only: bring back the downloads of earlier visits.
    Effect::new(move |_| {
        downloads.set(saved_jobs::load());
        restored.set(true);
    });
    // Browser only: the tab title says how things stand, for a person looking at other tabs.
    Effect::new(move |_| {
        let title = board.rows.with(|rows| {
            page_title(
                downloads
                    .get()
                    .iter()
                    .filter_map(|id| rows.get(id))
                    .map(|row| (row.phase, row.progress)),
            )
        });
        document().set_title(&title);
    });
    // Browsers slow a hidden tab's timers to one a minute: when it is shown again, every
    // unfinished row polls at once instead of at its late timer.
    Effect::new(move |_| {
        board.wake_rows_when_shown();
        board.start_ticking();
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
        board.forget(job_id);
    });
    let finished_count = move || {
        board.rows.with(|rows| {
            downloads.with(|list| {
                list.iter()
                    .filter(|id| rows.get(id).is_some_and(|row| row.is_finished()))
                    .count()
            })
        })
    };
    let clear_finished = move |_| {
        let finished: Vec<JobId> = board.rows.with_untracked(|rows| {
            rows.iter()
                .filter(|(_, row)| row.is_finished())
                .map(|(id, _)| *id)
                .collect()
        });
        downloads.update(|list| {
            list.retain(|id| !finished.contains(id));
            saved_jobs::save(list);
        });
        for job_id in finished {
            board.forget(job_id);
        }
    };

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
                <div class="downloads-head">
                    <h2 id="downloads-heading">"Your downloads"</h2>
                    <div class="downloads-tools">
                        <NotifyToggle/>
                        <Show when=move || { finished_count() > 0 }>
                            <button type="button" class="button quiet" on:click=clear_finished>
                                "Clear finished"
                            </button>
                        </Show>
                    </div>
                </div>
                // The one place screen readers hear about downloads: once when each is ready
                // or has failed, not at every percent.
                <p class="visually-hidden" role="status" aria-live="polite">
                    {move || board.announcement.get()}
                </p>
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
