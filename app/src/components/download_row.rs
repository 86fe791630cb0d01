//! One download: its progress bar, its state in words, and the action that fits the state.
//!
//! Each row polls its own job every [`POLL_INTERVAL_MS`] with a `gloo-timers` interval, and drops
//! the interval (which clears it) as soon as the job reaches a terminal state or the row unmounts.

use super::{describe_state, format_elapsed};
use crate::{
    api::{InitiateRequest, JobId, JobPhase, JobState, JobStatus, Timestamp},
    client::{self, ClientError},
};
use gloo_timers::callback::Interval;
use leptos::{prelude::*, task::spawn_local};

/// How often a row asks for its job's state, as the seed design prescribes.
const POLL_INTERVAL_MS: u32 = 2_000;

/// What a row knows beyond the last status it received.
#[derive(Debug, Clone, PartialEq)]
enum Problem {
    /// The last poll got no answer; polling goes on.
    ConnectionLost,
    /// The server no longer knows the job (its record expired); polling stopped.
    Expired,
    /// An action (cancel, retry) was refused; the message says why.
    ActionFailed(String),
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as u64)
}

/// A row of the download list, polling `job_id` until it finishes.
#[component]
pub fn DownloadRow(
    job_id: JobId,
    /// Receives the new job when the person retries this one.
    on_retry: Callback<JobId>,
    /// Removes this row from the list (and from `localStorage`).
    on_remove: Callback<JobId>,
) -> impl IntoView {
    let status = RwSignal::new(None::<JobStatus>);
    let problem = RwSignal::new(None::<Problem>);
    let poller = StoredValue::new_local(None::<Interval>);
    let request_in_flight = StoredValue::new(false);

    let stop_polling = move || {
        let _ = poller.try_update_value(|slot| *slot = None);
    };
    let poll_once = move || {
        if request_in_flight.get_value() {
            return;
        }
        request_in_flight.set_value(true);
        spawn_local(async move {
            let result = client::status(job_id).await;
            let _ = request_in_flight.try_set_value(false);
            match result {
                Ok(latest) => {
                    if latest.state.phase().is_terminal() {
                        stop_polling();
                    }
                    let _ = status.try_set(Some(latest));
                    let _ = problem.try_set(None);
                }
                Err(ClientError::NotFound) => {
                    stop_polling();
                    let _ = problem.try_set(Some(Problem::Expired));
                }
                Err(_) => {
                    let _ = problem.try_set(Some(Problem::ConnectionLost));
                }
            }
        });
    };
    let start_polling = move || {
        poll_once();
        let _ = poller.try_update_value(|slot| {
            *slot = Some(Interval::new(POLL_INTERVAL_MS, poll_once));
        });
    };

    // Effects run only in the browser, after hydration: that is where polling belongs.
    Effect::new(move |_| start_polling());
    on_cleanup(stop_polling);

    let cancel = move |_| {
        spawn_local(async move {
            match client::cancel(job_id).await {
                Ok(_) => poll_once(),
                Err(reason) => {
                    let _ = problem.try_set(Some(Problem::ActionFailed(reason.to_string())));
                }
            }
        });
    };
    let retry = move |_| {
        let Some(file_ids) = status.with_untracked(|s| s.as_ref().map(|s| s.file_ids.clone()))
        else {
            return;
        };
        spawn_local(async move {
            match client::initiate(&InitiateRequest::for_files(&file_ids)).await {
                Ok(started) => {
                    on_remove.run(job_id);
                    on_retry.run(started.job_id);
                }
                Err(reason) => {
                    let _ = problem.try_set(Some(Problem::ActionFailed(reason.to_string())));
                }
            }
        });
    };
    let remove = move |_| on_remove.run(job_id);

    let file_label = move || {
        status.with(|s| match s {
            Some(s) if s.file_ids.len() == 1 => format!("File {}", s.file_ids[0]),
            Some(s) => format!(
                "{} files ({})",
                s.file_ids.len(),
                s.file_ids
                    .iter()
                    .take(5)
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if s.file_ids.len() > 5 { ", …" } else { "" }
            ),
            None => format!("Job {job_id}"),
        })
    };
    let phase = move || status.with(|s| s.as_ref().map(|s| s.state.phase()));
    let progress = move || status.with(|s| s.as_ref().map_or(0, |s| s.state.progress()));
    let words = move || match (problem.get(), status.get()) {
        (Some(Problem::Expired), _) => {
            "Expired: the server no longer has this download.".to_owned()
        }
        (Some(Problem::ConnectionLost), _) => "Connection lost — retrying".to_owned(),
        (_, Some(s)) => describe_state(&s.state, now()),
        (_, None) => "Checking…".to_owned(),
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
    let can_cancel = move || {
        matches!(phase().map(|p| p.is_terminal()), Some(false))
            && problem.get() != Some(Problem::Expired)
    };
    let can_retry = move || {
        matches!(
            phase(),
            Some(crate::api::JobPhase::Failed | crate::api::JobPhase::Cancelled)
        )
    };
    let can_remove =
        move || phase().is_some_and(|p| p.is_terminal()) || problem.get() == Some(Problem::Expired);
    let action_error = move || match problem.get() {
        Some(Problem::ActionFailed(message)) => Some(message),
        _ => None,
    };

    view! {
        <li class="download" data-job-id=job_id.to_string() data-status=move || {
            phase().map(JobPhase::as_str)
        }>
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
                <span class="download-state" aria-live="polite">{words}</span>
                <span class="download-actions">
                    {move || {
                        download_url()
                            .map(|url| {
                                view! {
                                    <a class="button primary" href=url download>
                                        "Download Ready"
                                    </a>
                                }
                            })
                    }}
                    <Show when=can_cancel>
                        <button type="button" class="button" on:click=cancel>
                            "Cancel"
                        </button>
                    </Show>
                    <Show when=can_retry>
                        <button type="button" class="button" on:click=retry>
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
            {move || action_error().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
        </li>
    }
}
