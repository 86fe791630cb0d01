//! One download: its progress bar, its state in words, and the action that fits the state.
//!
//! Each row follows its own job with a loop of status requests separated by `gloo-timers` waits:
//! every 2 s while the API answers, backing off while it does not (see [`super::polling`]), and
//! ending when the job completes, fails or is cancelled, when the server no longer knows it, or
//! when the row is removed (which drops the pending timer, clearing it in the browser).

use super::{
    describe_state, describe_transfer, format_elapsed, polling, record_sample, transfer_rate,
    TransferSample,
};
use crate::{
    api::{InitiateRequest, JobId, JobPhase, JobState, JobStatus, Timestamp},
    client::{self, ClientError},
};
use futures::{
    channel::oneshot,
    future::{select, Either},
};
use gloo_timers::future::TimeoutFuture;
use leptos::{ev::MouseEvent, prelude::*, task::spawn_local};
use std::pin::pin;

/// Whether the row's picture of its job is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connection {
    /// The last status request was answered.
    Live,
    /// The last status request got no answer or a 5xx; polling goes on, backing off.
    Lost,
    /// The server no longer knows the job (its record expired); polling stopped.
    Expired,
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as u64)
}

/// What a row shows, shared by its polling loop and its buttons.
#[derive(Clone, Copy)]
struct RowState {
    job_id: JobId,
    status: RwSignal<Option<JobStatus>>,
    connection: RwSignal<Connection>,
    /// The last polls' byte counts, for the transfer rate behind "about 20 s left".
    samples: RwSignal<Vec<TransferSample>>,
}

impl RowState {
    /// Takes a status answer in. A terminal state is final: an answer that left the server before
    /// a cancel must not turn a Cancelled row back into Processing.
    fn accept(self, latest: JobStatus) {
        let shown_is_final = self
            .status
            .try_with_untracked(|s| s.as_ref().is_some_and(|s| s.state.phase().is_terminal()))
            .unwrap_or(true);
        if !shown_is_final || latest.state.phase().is_terminal() {
            if let Some((bytes_done, _)) = latest.state.transfer() {
                let sample = TransferSample {
                    at_ms: now().unix_millis(),
                    bytes_done,
                };
                let _ = self
                    .samples
                    .try_update(|samples| record_sample(samples, sample));
            }
            let _ = self.status.try_set(Some(latest));
        }
    }

    /// How long to wait before asking again, or `None` when the job is finished.
    fn next_poll_delay_ms(self) -> Option<u32> {
        self.status
            .try_with_untracked(|s| match s.as_ref().map(|s| s.state.phase()) {
                Some(phase) if phase.is_terminal() => None,
                _ => Some(polling::POLL_INTERVAL_MS),
            })
            .flatten()
    }

    /// The link of a completed job, and whether it must be renewed before it is followed.
    fn link(self) -> Option<(String, bool)> {
        self.status
            .try_with_untracked(|s| match s.as_ref().map(|s| &s.state) {
                Some(JobState::Completed {
                    url,
                    url_expires_at,
                    ..
                }) => Some((
                    url.clone(),
                    polling::link_needs_renewal(url_expires_at.unix_millis(), now().unix_millis()),
                )),
                _ => None,
            })
            .flatten()
    }

    /// Shows a status answer (or its absence) and says what it means for the connection.
    fn take_in(self, answer: Result<JobStatus, ClientError>) -> Connection {
        let connection = match answer {
            Ok(latest) => {
                self.accept(latest);
                Connection::Live
            }
            Err(ClientError::NotFound) => Connection::Expired,
            Err(_) => Connection::Lost,
        };
        let _ = self.connection.try_set(connection);
        connection
    }

    /// Asks for the job's state once and shows the answer.
    async fn refresh(self) -> Connection {
        self.take_in(client::status(self.job_id).await)
    }

    /// The polling loop; returns when the job needs no more requests or when `removed` fires
    /// (the row went away), dropping the request or timer it was waiting for.
    async fn follow(self, mut removed: oneshot::Receiver<()>) {
        let mut consecutive_failures = 0;
        loop {
            let answer = match select(pin!(client::status(self.job_id)), &mut removed).await {
                Either::Left((answer, _)) => answer,
                Either::Right(_) => return,
            };
            let delay = match self.take_in(answer) {
                Connection::Live => {
                    consecutive_failures = 0;
                    match self.next_poll_delay_ms() {
                        Some(delay) => delay,
                        None => return,
                    }
                }
                Connection::Expired => return,
                Connection::Lost => {
                    consecutive_failures += 1;
                    polling::next_poll_delay_ms(consecutive_failures)
                }
            };
            if let Either::Right(_) = select(TimeoutFuture::new(delay), &mut removed).await {
                return;
            }
        }
    }
}

/// "File 12345", or "3 files (12345, 23456, 34567)" for a bundle.
fn describe_files(status: Option<&JobStatus>, job_id: JobId) -> String {
    const LISTED: usize = 5;
    match status.map(|s| s.file_ids.as_slice()) {
        None | Some([]) => format!("Job {job_id}"),
        Some([single]) => format!("File {single}"),
        Some(ids) => {
            let mut listed = ids
                .iter()
                .take(LISTED)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if ids.len() > LISTED {
                listed.push_str(", …");
            }
            format!("{} files ({listed})", ids.len())
        }
    }
}

/// A row of the download list, following `job_id` until it finishes.
#[component]
pub fn DownloadRow(
    job_id: JobId,
    /// Receives the new job when the person retries this one.
    on_retry: Callback<JobId>,
    /// Removes this row from the list (and from `localStorage`).
    on_remove: Callback<JobId>,
) -> impl IntoView {
    let row = RowState {
        job_id,
        status: RwSignal::new(None),
        connection: RwSignal::new(Connection::Live),
        samples: RwSignal::new(Vec::new()),
    };
    let RowState {
        status,
        connection,
        samples,
        ..
    } = row;
    let action_error = RwSignal::new(None::<String>);
    let acting = RwSignal::new(false);

    // The loop learns that the row is gone when this sender is dropped, which happens when the
    // row's owner disposes of its stored values.
    let (removed_tx, removed_rx) = oneshot::channel::<()>();
    StoredValue::new_local(removed_tx);
    let removed_rx = StoredValue::new_local(Some(removed_rx));
    // Effects run only in the browser, after hydration: that is where polling belongs.
    Effect::new(move |_| {
        if let Some(removed) = removed_rx.try_update_value(Option::take).flatten() {
            spawn_local(row.follow(removed));
        }
    });

    let cancel = move |_| {
        acting.set(true);
        spawn_local(async move {
            match client::cancel(job_id).await {
                Ok(_) => {
                    let _ = action_error.try_set(None);
                    row.refresh().await;
                }
                Err(reason) => {
                    let _ = action_error.try_set(Some(format!("Could not cancel: {reason}")));
                }
            }
            let _ = acting.try_set(false);
        });
    };
    let retry = move |_| {
        let Some(file_ids) = status.with_untracked(|s| s.as_ref().map(|s| s.file_ids.clone()))
        else {
            return;
        };
        acting.set(true);
        spawn_local(async move {
            match client::initiate(&InitiateRequest::for_files(&file_ids)).await {
                Ok(started) => {
                    on_remove.run(job_id);
                    on_retry.run(started.job_id);
                }
                Err(reason) => {
                    let _ = action_error.try_set(Some(format!("Could not retry: {reason}")));
                }
            }
            let _ = acting.try_set(false);
        });
    };
    let remove = move |_| on_remove.run(job_id);
    // A row that has sat finished for a long time holds an expired link: renew it, then go.
    let follow_link = move |event: MouseEvent| {
        if !row.link().is_some_and(|(_, stale)| stale) {
            return;
        }
        event.prevent_default();
        spawn_local(async move {
            let renewed = row.refresh().await == Connection::Live;
            match row.link() {
                // Even a link that lives less than the renewal margin is as fresh as it gets.
                Some((url, _)) if renewed => {
                    let _ = window().location().set_href(&url);
                }
                _ => {
                    let _ = action_error.try_set(Some(
                        "Could not renew the download link: try again in a moment.".to_owned(),
                    ));
                }
            }
        });
    };

    let file_label = move || status.with(|s| describe_files(s.as_ref(), job_id));
    let phase = move || status.with(|s| s.as_ref().map(|s| s.state.phase()));
    let progress = move || status.with(|s| s.as_ref().map_or(0, |s| s.state.progress()));
    let expired = move || connection.get() == Connection::Expired;
    let words = move || match (connection.get(), status.get()) {
        (Connection::Expired, _) => {
            "Expired: the server no longer has this download. Remove it and start again.".to_owned()
        }
        (Connection::Lost, _) => "Connection lost — retrying".to_owned(),
        (Connection::Live, Some(s)) => describe_state(&s.state, now()),
        (Connection::Live, None) => "Checking…".to_owned(),
    };
    let transfer = move || {
        if connection.get() != Connection::Live {
            return None;
        }
        let (done, total) = status.with(|s| s.as_ref().and_then(|s| s.state.transfer()))?;
        let rate = samples.with(|samples| transfer_rate(samples));
        describe_transfer(done, total, rate)
    };
    let elapsed = move || {
        status.with(|s| {
            s.as_ref().map(|s| {
                let end = match &s.state {
                    JobState::Completed { completed_at, .. } => *completed_at,
                    JobState::Failed { failed_at, .. } => *failed_at,
                    JobState::Cancelled { cancelled_at } => *cancelled_at,
                    _ => now(),
                };
                format_elapsed(end.unix_millis().saturating_sub(s.created_at.unix_millis()))
            })
        })
    };
    let download_url = move || {
        status.with(|s| match s.as_ref().map(|s| &s.state) {
            Some(JobState::Completed { url, .. }) => Some(url.clone()),
            _ => None,
        })
    };
    let can_cancel = move || phase().is_some_and(|p| !p.is_terminal()) && !expired();
    let can_retry = move || matches!(phase(), Some(JobPhase::Failed | JobPhase::Cancelled));
    let can_remove = move || phase().is_some_and(|p| p.is_terminal()) || expired();

    view! {
        <li
            class="download"
            data-job-id=job_id.to_string()
            data-status=move || phase().map(JobPhase::as_str)
            data-connection=move || match connection.get() {
                Connection::Live => "live",
                Connection::Lost => "lost",
                Connection::Expired => "expired",
            }
        >
            <div class="download-head">
                <span class="download-name">{file_label}</span>
                <span class="download-elapsed" title="Time since the download was started">
                    {elapsed}
                </span>
            </div>
            <div
                class="progress"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || progress().to_string()
                aria-label=move || format!("Progress of {}", file_label())
            >
                <div class="progress-fill" style:width=move || format!("{}%", progress())></div>
            </div>
            <div class="download-foot">
                <span class="download-state" aria-live="polite">
                    {words}
                </span>
                <span class="download-transfer">{transfer}</span>
                <span class="download-actions">
                    {move || {
                        download_url()
                            .map(|url| {
                                // The file name comes from the server's Content-Disposition.
                                view! {
                                    <a class="button primary" href=url download on:click=follow_link>
                                        "Download Ready"
                                    </a>
                                }
                            })
                    }}
                    <Show when=can_cancel>
                        <button
                            type="button"
                            class="button"
                            on:click=cancel
                            disabled=move || acting.get()
                        >
                            "Cancel"
                        </button>
                    </Show>
                    <Show when=can_retry>
                        <button
                            type="button"
                            class="button"
                            on:click=retry
                            disabled=move || acting.get()
                        >
                            "Retry"
                        </button>
                    </Show>
                    <Show when=can_remove>
                        <button type="button" class="button quiet" on:click=remove>
                            "Remove"
                        </button>
                    </Show>
                </span>
            </div>
            {move || action_error.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
        </li>
    }
}
