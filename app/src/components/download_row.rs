//! One download: its progress bar, its state in words, and the action that fits the state.
//!
//! Each row follows its own job with a loop of status requests separated by `gloo-timers` waits:
//! every 2 s while the API answers, backing off while it does not (see [`super::polling`]), and
//! ending when the job completes, fails or is cancelled, when the server no longer knows it, or
//! when the row is removed (which drops the pending timer, clearing it in the browser).

use super::{
    board::{Board, RowSummary},
    describe_state, describe_transfer, format_elapsed, polling, record_sample, transfer_rate,
    LocalClock, TraceId, TransferSample,
};
use crate::{
    api::{InitiateRequest, JobId, JobPhase, JobState, JobStatus, Timestamp},
    client::{self, ClientError, StatusReply},
    saved_jobs,
};
use futures::{
    channel::{mpsc, oneshot},
    future::{select, Either},
    StreamExt,
};
use gloo_timers::future::TimeoutFuture;
use leptos::{prelude::*, task::spawn_local};
use std::pin::pin;

/// Whether the row's picture of its job is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connection {
    /// The last status request was answered.
    Live,
    /// The last status request got no answer or a 5xx; polling goes on, backing off.
    Lost,
    /// The server no longer knows the job (its record is gone); polling stopped.
    Unknown,
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as u64)
}

/// The reader's clock, with the browser's time zone.
pub(crate) fn local_clock() -> LocalClock {
    LocalClock {
        now: now(),
        // getTimezoneOffset is UTC minus local time.
        utc_offset_minutes: -(js_sys::Date::new_0().get_timezone_offset() as i32),
    }
}

/// What a row shows, shared by its polling loop and its buttons.
#[derive(Clone, Copy)]
struct RowState {
    job_id: JobId,
    status: RwSignal<Option<JobStatus>>,
    connection: RwSignal<Connection>,
    /// The last polls' byte counts, for the transfer rate behind "about 20 s left".
    samples: RwSignal<Vec<TransferSample>>,
    /// The `x-request-id` of the last answer, for a support request about a failure.
    request_id: RwSignal<Option<String>>,
    /// The `traceparent` of the click that started the job (see `saved_jobs`).
    click_trace: StoredValue<Option<String>>,
    board: Board,
}

impl RowState {
    fn shown_phase(self) -> Option<JobPhase> {
        self.status
            .try_with_untracked(|s| s.as_ref().map(|s| s.state.phase()))
            .flatten()
    }

    /// Takes a status answer in. A terminal state is final, except that a completed job's file
    /// expires: an answer that left the server before a cancel must not turn a Cancelled row
    /// back into Processing.
    fn accept(self, latest: JobStatus) {
        let shown = self.shown_phase();
        let latest_phase = latest.state.phase();
        let shown_is_final = shown.is_some_and(|p| p.is_terminal() && p != JobPhase::Completed);
        if shown_is_final && !latest_phase.is_terminal() {
            return;
        }
        if let Some((bytes_done, _)) = latest.state.transfer() {
            let sample = TransferSample {
                at_ms: now().unix_millis(),
                bytes_done,
            };
            let _ = self
                .samples
                .try_update(|samples| record_sample(samples, sample));
        }
        // News only if the page saw the job unfinished: a row restored after a reload that
        // finished meanwhile is not announced again.
        if shown.is_some_and(|p| !p.is_terminal()) {
            let files = describe_files(Some(&latest), self.job_id);
            match &latest.state {
                JobState::Completed { .. } => self
                    .board
                    .finished(format!("{files} is ready to download.")),
                JobState::Failed { error, .. } => {
                    self.board.finished(format!("{files} failed: {error}"))
                }
                _ => {}
            }
        }
        self.board.report(
            self.job_id,
            RowSummary {
                phase: Some(latest_phase),
                progress: latest.state.progress(),
                unknown: false,
            },
        );
        let _ = self.status.try_set(Some(latest));
    }

    /// How long to wait before asking again, given the server's hint, or `None` when nothing
    /// more will change. A completed job is asked once more when its file is due to expire, so
    /// the row turns into "Expired" with Prepare again instead of a button that no longer works.
    fn next_poll_delay_ms(self, hint_secs: Option<u32>) -> Option<u32> {
        self.status
            .try_with_untracked(|s| match s.as_ref().map(|s| &s.state) {
                Some(JobState::Completed { expires_at, .. }) => Some(
                    polling::expiry_check_delay_ms(expires_at.unix_millis(), now().unix_millis()),
                ),
                Some(state) if state.phase().is_terminal() => None,
                _ => Some(polling::next_poll_delay_ms(0, hint_secs)),
            })
            .flatten()
    }

    /// Shows a status answer (or its absence) and says what it means for the connection.
    fn take_in(self, answer: Result<StatusReply, ClientError>) -> Connection {
        let connection = match answer {
            Ok(reply) => {
                if reply.request_id.is_some() {
                    let _ = self.request_id.try_set(reply.request_id);
                }
                if let Some(latest) = reply.status {
                    self.accept(latest);
                }
                Connection::Live
            }
            Err(ClientError::NotFound) => {
                self.board.report(
                    self.job_id,
                    RowSummary {
                        unknown: true,
                        ..RowSummary::default()
                    },
                );
                Connection::Unknown
            }
            Err(_) => Connection::Lost,
        };
        let _ = self.connection.try_set(connection);
        connection
    }

    /// The click that started the job, when this browser started it and the server records
    /// its trace: each poll sends it, so the poll is a span of that trace.
    fn click_trace(self) -> Option<String> {
        self.click_trace.try_get_value().flatten()
    }

    /// Asks for the job's state once and shows the answer.
    async fn refresh(self) -> Connection {
        let trace = self.click_trace();
        self.take_in(client::status(self.job_id, None, trace.as_deref()).await)
    }

    /// The polling loop; returns when the job needs no more requests or when `removed` fires
    /// (the row went away), dropping the request or timer it was waiting for. `shown_again`
    /// yields when the tab is shown after being hidden: an unfinished row then asks at once.
    async fn follow(
        self,
        mut removed: oneshot::Receiver<()>,
        mut shown_again: mpsc::UnboundedReceiver<()>,
    ) {
        let mut consecutive_failures = 0;
        let mut etag: Option<String> = None;
        loop {
            let trace = self.click_trace();
            let request = client::status(self.job_id, etag.as_deref(), trace.as_deref());
            let answer = match select(pin!(request), &mut removed).await {
                Either::Left((answer, _)) => answer,
                Either::Right(_) => return,
            };
            let hint = answer
                .as_ref()
                .ok()
                .and_then(|reply| reply.retry_after_secs);
            if let Ok(StatusReply {
                etag: Some(tag), ..
            }) = &answer
            {
                etag = Some(tag.clone());
            }
            let delay = match self.take_in(answer) {
                Connection::Live => {
                    consecutive_failures = 0;
                    match self.next_poll_delay_ms(hint) {
                        Some(delay) => delay,
                        None => return,
                    }
                }
                Connection::Unknown => return,
                Connection::Lost => {
                    consecutive_failures += 1;
                    polling::next_poll_delay_ms(consecutive_failures, None)
                }
            };
            let due = js_sys::Date::now() + f64::from(delay);
            loop {
                let left = (due - js_sys::Date::now()).max(0.0) as u32;
                let wake = select(&mut removed, shown_again.next());
                match select(TimeoutFuture::new(left), wake).await {
                    Either::Left(_) => break,
                    Either::Right((Either::Left(_), _)) => return,
                    // The page is going away with the row.
                    Either::Right((Either::Right((None, _)), _)) => return,
                    Either::Right((Either::Right((Some(()), _)), _)) => {
                        let unfinished = self.shown_phase().is_none_or(|p| !p.is_terminal());
                        if unfinished {
                            break;
                        }
                    }
                }
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
/// How a finished row offers to start its files again, as a new job that takes the row's place:
/// Retry after a failure or a cancel, Prepare again (the main action) once the file expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StartAgain {
    label: &'static str,
    /// Completes "Could not …" when starting fails.
    verb: &'static str,
    class: &'static str,
}

impl StartAgain {
    fn offered_in(phase: JobPhase) -> Option<Self> {
        match phase {
            JobPhase::Failed | JobPhase::Cancelled => Some(Self {
                label: "Retry",
                verb: "retry",
                class: "button",
            }),
            JobPhase::Expired => Some(Self {
                label: "Prepare again",
                verb: "prepare it again",
                class: "button primary",
            }),
            _ => None,
        }
    }
}

#[component]
pub fn DownloadRow(
    job_id: JobId,
    /// Receives the new job when the person retries this one or prepares it again.
    on_retry: Callback<JobId>,
    /// Removes this row from the list (and from `localStorage`).
    on_remove: Callback<JobId>,
) -> impl IntoView {
    let board = Board::from_context();
    let row = RowState {
        job_id,
        status: RwSignal::new(None),
        connection: RwSignal::new(Connection::Live),
        samples: RwSignal::new(Vec::new()),
        request_id: RwSignal::new(None),
        click_trace: StoredValue::new(None),
        board,
    };
    let RowState {
        status,
        connection,
        samples,
        request_id,
        ..
    } = row;
    let action_error = RwSignal::new(None::<String>);
    let acting = RwSignal::new(false);

    // The loop learns that the row is gone when this sender is dropped, which happens when the
    // row's owner disposes of its stored values.
    let (removed_tx, removed_rx) = oneshot::channel::<()>();
    StoredValue::new_local(removed_tx);
    let (shown_tx, shown_rx) = mpsc::unbounded::<()>();
    let receivers = StoredValue::new_local(Some((removed_rx, shown_rx)));
    // Effects run only in the browser, after hydration: that is where polling belongs.
    Effect::new(move |_| {
        if let Some((removed, shown)) = receivers.try_update_value(Option::take).flatten() {
            row.click_trace.set_value(saved_jobs::click_trace(job_id));
            spawn_local(row.follow(removed, shown));
        }
    });
    // Wakes the loop when the tab is shown again (not on the effect's first run).
    Effect::new(move |previous: Option<u64>| {
        let times = board.shown_again.get();
        if previous.is_some_and(|p| p != times) {
            let _ = shown_tx.unbounded_send(());
        }
        times
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
    // Retry (failed, cancelled) and Prepare again (expired) both start a new job for the same
    // files, which takes this row's place.
    let start_again = move |verb: &'static str| {
        let Some(file_ids) = status.with_untracked(|s| s.as_ref().map(|s| s.file_ids.clone()))
        else {
            return;
        };
        acting.set(true);
        spawn_local(async move {
            match client::initiate(&InitiateRequest::for_files(&file_ids)).await {
                Ok(started) => {
                    on_remove.run(job_id);
                    if let Some(traceparent) = &started.traceparent {
                        saved_jobs::save_click_trace(started.job.job_id, traceparent);
                    }
                    on_retry.run(started.job.job_id);
                }
                Err(reason) => {
                    let _ = action_error.try_set(Some(format!("Could not {verb}: {reason}")));
                }
            }
            let _ = acting.try_set(false);
        });
    };
    let remove = move |_| on_remove.run(job_id);

    let file_label = move || status.with(|s| describe_files(s.as_ref(), job_id));
    let phase = move || status.with(|s| s.as_ref().map(|s| s.state.phase()));
    let progress = move || status.with(|s| s.as_ref().map_or(0, |s| s.state.progress()));
    let unknown = move || connection.get() == Connection::Unknown;
    let words = move || {
        // Countdowns ("in 3 s") move between answers.
        board.ticks.track();
        match (connection.get(), status.get()) {
            (Connection::Unknown, _) => {
                "Expired: the server no longer has this download. Remove it and start again."
                    .to_owned()
            }
            (Connection::Lost, _) => "Connection lost — retrying".to_owned(),
            (Connection::Live, Some(s)) => describe_state(&s.state, local_clock()),
            (Connection::Live, None) => "Checking…".to_owned(),
        }
    };
    let transfer = move || {
        if connection.get() != Connection::Live {
            return None;
        }
        let (done, total) = status.with(|s| s.as_ref().and_then(|s| s.state.transfer()))?;
        let rate = samples.with(|samples| transfer_rate(samples));
        describe_transfer(done, total, rate)
    };
    // What a screen reader says for the bar: the percentage in words, and the bytes when known.
    let value_text = move || {
        let percent = format!("{} %", progress());
        match transfer() {
            Some(bytes) => format!("{percent}, {bytes}"),
            None => percent,
        }
    };
    let elapsed = move || {
        board.ticks.track();
        status.with(|s| {
            s.as_ref().map(|s| {
                let end = match &s.state {
                    JobState::Completed { completed_at, .. }
                    | JobState::Expired { completed_at, .. } => *completed_at,
                    JobState::Failed { failed_at, .. } => *failed_at,
                    JobState::Cancelled { cancelled_at } => *cancelled_at,
                    _ => now(),
                };
                format_elapsed(end.unix_millis().saturating_sub(s.created_at.unix_millis()))
            })
        })
    };
    // The job's own address for its file: it signs a fresh link whenever it is followed, so the
    // button works however long the row has sat finished.
    let download_url = move || {
        status.with(|s| match s.as_ref().map(|s| &s.state) {
            Some(JobState::Completed { download_url, .. }) => Some(download_url.clone()),
            _ => None,
        })
    };
    // For a support request: what went wrong in the server's words, and the ids that find it.
    let failure_details = move || {
        status.with(|s| match s.as_ref().map(|s| (&s.state, &s.trace)) {
            Some((
                JobState::Failed {
                    error,
                    attempt,
                    max_attempts,
                    failed_at,
                },
                trace,
            )) => {
                let mut details = format!(
                    "Error: {error}\nAttempts: {attempt} of {max_attempts}\nFailed at: {failed_at}\nJob id: {job_id}\nRequest id: {}",
                    request_id.get().unwrap_or_else(|| "unknown".to_owned())
                );
                if let Some(trace_id) = &trace.trace_id {
                    details.push_str(&format!("\nTrace id: {trace_id}"));
                }
                Some(details)
            }
            _ => None,
        })
    };
    // Changes once (the first answer of a traced job), so the details keep their open state
    // across polls.
    let trace = Memo::new(move |_| {
        status.with(|s| s.as_ref().map(|s| s.trace.clone()).unwrap_or_default())
    });
    let can_cancel = move || phase().is_some_and(|p| !p.is_terminal()) && !unknown();
    let offer_again = move || phase().and_then(StartAgain::offered_in);
    let can_remove = move || phase().is_some_and(|p| p.is_terminal()) || unknown();

    view! {
        <li
            class="download"
            data-job-id=job_id.to_string()
            data-status=move || phase().map(JobPhase::as_str)
            data-connection=move || match connection.get() {
                Connection::Live => "live",
                Connection::Lost => "lost",
                Connection::Unknown => "expired",
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
                aria-valuetext=value_text
                aria-label=move || format!("Progress of {}", file_label())
            >
                <div class="progress-fill" style:width=move || format!("{}%", progress())></div>
            </div>
            <div class="download-foot">
                <span class="download-state">{words}</span>
                <span class="download-transfer">{transfer}</span>
                <span class="download-actions">
                    {move || {
                        download_url()
                            .map(|url| {
                                // The file name comes from the server's Content-Disposition.
                                view! {
                                    <a class="button primary" href=url download>
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
                    {move || {
                        offer_again()
                            .map(|offer| {
                                view! {
                                    <button
                                        type="button"
                                        class=offer.class
                                        on:click=move |_| start_again(offer.verb)
                                        disabled=move || acting.get()
                                    >
                                        {offer.label}
                                    </button>
                                }
                            })
                    }}
                    <Show when=can_remove>
                        <button type="button" class="button quiet" on:click=remove>
                            "Remove"
                        </button>
                    </Show>
                </span>
            </div>
            {move || {
                let trace = trace.get();
                trace.trace_id.is_some().then(|| {
                    view! {
                        <details class="row-details">
                            <summary>"Details"</summary>
                            <p>"Job " <code>{job_id.to_string()}</code></p>
                            <p><TraceId trace/></p>
                        </details>
                    }
                    // Erased, so the row's type stays shallow enough for the compiler.
                    .into_any()
                })
            }}
            {move || {
                failure_details()
                    .map(|details| {
                        view! {
                            <details class="failure-details">
                                <summary>"Details for support"</summary>
                                <pre>{details}</pre>
                            </details>
                        }
                        .into_any()
                    })
            }}
            {move || action_error.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
        </li>
    }
}
