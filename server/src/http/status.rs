//! `GET /v1/download/status/:jobId`: one queue read, plus a freshly signed link when completed.
//!
//! The polling contract of the export APIs clients know (GitHub, Stripe, the Azure async
//! request-reply pattern): every answer carries a strong `ETag`, so a poll that sends it back in
//! `If-None-Match` gets an empty `304` while nothing changed (see [`super::conditional`]), and an
//! unfinished job's answer says in `Retry-After` when the next poll is worth it ([`poll_hint`]).

use super::{client::Caller, conditional, AppState};
use crate::{
    error::AppError,
    queue::{JobRecord, JobResult},
    storage::PresignedUrl,
};
use app::api::{ErrorBody, JobId, JobPhase, JobState, JobStatus, Timestamp, POLL_INTERVAL_SECS};
use axum::{
    extract::{Path, State},
    response::Response,
    Extension,
};
use std::time::Duration;

/// The longest `Retry-After` of a queued job: a job far back waits for minutes, but the answer
/// that it started should not come much later than it did.
const MAX_QUEUED_HINT_SECS: u64 = 10;

/// A queued job is polled about this many times over the time it has waited so far: one that
/// waited 30 s is asked every 6 s (bounded by [`MAX_QUEUED_HINT_SECS`]).
const QUEUED_HINT_DIVISOR: u64 = 5;

/// The longest `Retry-After` of a retrying job, so a long backoff still shows a cancel made
/// elsewhere within a minute.
const MAX_RETRYING_HINT_SECS: u64 = 60;

/// The job's current state. A completed job's link is signed on every read (a local computation),
/// so a client never holds an expired link while the job record lives.
#[utoipa::path(
    get,
    path = "/v1/download/status/{job_id}",
    tag = "downloads",
    params(
        ("job_id" = JobId, Path, description = "The id initiate returned"),
        ("if-none-match" = Option<String>, Header, description = "The `ETag` of the last answer: a `304` with no body if nothing changed since"),
    ),
    responses(
        (status = 200, description = "The job's state; a completed job carries a fresh download link. `ETag` identifies the answer; unfinished jobs carry `Retry-After` (seconds until the next poll is worth it)", body = JobStatus,
            headers(("etag" = String, description = "Strong tag of this answer"), ("retry-after" = Option<u64>, description = "Seconds until polling again is worth it (unfinished jobs)"))),
        (status = 304, description = "Nothing changed since the answer whose `ETag` was sent in `If-None-Match`; no body",
            headers(("etag" = String, description = "The unchanged tag"), ("retry-after" = Option<u64>, description = "Seconds until polling again is worth it"))),
        (status = 400, description = "Not a job id (ULID)", body = ErrorBody),
        (status = 404, description = "Unknown job, or its record expired", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue or storage unavailable", body = ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
    preconditions: conditional::Preconditions,
) -> Result<Response, AppError> {
    let record = find_job(&state, &job_id).await?;
    let retry_after = poll_hint(&record, crate::queue::system_now());
    let job_state = job_state(&state, &record, &caller).await?;
    let body = JobStatus {
        job_id: record.id,
        trace: state.trace_ui.job_trace(record.trace_parent.as_deref()),
        file_ids: record.file_ids,
        created_at: record.created_at,
        state: job_state,
    };
    Ok(conditional::json(&preconditions, &body, retry_after))
}

/// The record of the job a path names: `400` for a malformed id, `404` for an unknown one.
pub async fn find_job(state: &AppState, raw_id: &str) -> Result<JobRecord, AppError> {
    let job_id: JobId = raw_id.parse()?;
    state
        .queue
        .status(job_id)
        .await?
        .ok_or(AppError::JobNotFound(job_id))
}

/// Seconds until polling `record` again is worth it, `None` once it will not change: the poll
/// interval while a worker runs it; longer while it waits far back in the queue (it has waited
/// long, so it will likely wait on) or for a retry (until the retry is due).
pub fn poll_hint(record: &JobRecord, now: Timestamp) -> Option<u64> {
    let secs_until = |at: Timestamp| {
        Duration::from_millis(at.unix_millis().saturating_sub(now.unix_millis()))
            .as_secs_f64()
            .ceil() as u64
    };
    let waited_secs = now
        .unix_millis()
        .saturating_sub(record.created_at.unix_millis())
        / 1_000;
    match record.phase {
        JobPhase::Processing => Some(POLL_INTERVAL_SECS),
        JobPhase::Queued => Some(
            (waited_secs / QUEUED_HINT_DIVISOR).clamp(POLL_INTERVAL_SECS, MAX_QUEUED_HINT_SECS),
        ),
        JobPhase::Retrying => Some(
            record
                .next_attempt_at
                .map_or(POLL_INTERVAL_SECS, secs_until)
                .clamp(POLL_INTERVAL_SECS, MAX_RETRYING_HINT_SECS),
        ),
        JobPhase::Completed | JobPhase::Failed | JobPhase::Cancelled | JobPhase::Expired => None,
    }
}

async fn job_state(
    state: &AppState,
    record: &JobRecord,
    caller: &Caller,
) -> Result<JobState, AppError> {
    let since_creation = record.created_at;
    let progress = record.progress;
    let files_total = u32::try_from(record.file_ids.len()).unwrap_or(u32::MAX);
    let finished_at = record.finished_at.unwrap_or(since_creation);
    Ok(match record.phase {
        JobPhase::Queued => JobState::Queued {
            progress: progress.percent,
            attempt: record.attempt,
            max_attempts: record.max_attempts,
            paused: state.paused.get(),
            bytes_done: progress.bytes_done,
            bytes_total: progress.bytes_total,
            files_done: progress.files_done,
            files_total,
        },
        JobPhase::Processing => JobState::Processing {
            progress: progress.percent,
            attempt: record.attempt,
            max_attempts: record.max_attempts,
            started_at: record.started_at.unwrap_or(since_creation),
            bytes_done: progress.bytes_done,
            bytes_total: progress.bytes_total,
            files_done: progress.files_done,
            files_total,
        },
        JobPhase::Retrying => JobState::Retrying {
            progress: progress.percent,
            attempt: record.attempt,
            max_attempts: record.max_attempts,
            error: record.error.clone().unwrap_or_default(),
            next_attempt_at: record.next_attempt_at.unwrap_or(since_creation),
            bytes_done: progress.bytes_done,
            bytes_total: progress.bytes_total,
            files_done: progress.files_done,
            files_total,
        },
        JobPhase::Completed => {
            let (link, size) = signed_link(state, record, caller).await?;
            JobState::Completed {
                progress: 100,
                url: link.url,
                url_expires_at: link.expires_at,
                download_url: caller
                    .origin
                    .absolute(&super::download_link::path_of(record.id)),
                completed_at: finished_at,
                expires_at: record.result_expires_at.unwrap_or(finished_at),
                size,
            }
        }
        JobPhase::Failed => JobState::Failed {
            error: record.error.clone().unwrap_or_default(),
            attempt: record.attempt,
            max_attempts: record.max_attempts,
            failed_at: finished_at,
        },
        JobPhase::Cancelled => JobState::Cancelled {
            cancelled_at: finished_at,
        },
        JobPhase::Expired => JobState::Expired {
            completed_at: finished_at,
            expired_at: record.result_expires_at.unwrap_or(finished_at),
        },
    })
}

/// The archive of a completed job.
pub fn result_of(record: &JobRecord) -> Result<&JobResult, AppError> {
    record.result.as_ref().ok_or_else(|| AppError::Internal {
        detail: format!("completed job {} has no result", record.id),
    })
}

/// A freshly signed link to a completed job's archive, as an absolute URL, and the archive's size.
pub async fn signed_link(
    state: &AppState,
    record: &JobRecord,
    caller: &Caller,
) -> Result<(PresignedUrl, u64), AppError> {
    let result = result_of(record)?;
    let mut link = state
        .store
        .presign_download(&result.key, state.presign_ttl)
        .await?;
    link.url = absolute_url(link.url, caller);
    Ok((link, result.size))
}

/// Links served by Ferry itself are paths; clients (curl, other services) expect a full URL, so
/// prefix the origin the client used to reach us (as a trusted proxy reports it, if there is one).
fn absolute_url(url: String, caller: &Caller) -> String {
    if url.starts_with('/') {
        caller.origin.absolute(&url)
    } else {
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::NewJob;
    use app::api::FileId;

    fn record(phase: JobPhase, created_ms: u64) -> JobRecord {
        let job = NewJob {
            client: "203.0.113.7".into(),
            file_ids: vec![FileId::new(12345).unwrap()],
            origin_params: String::new(),
            trace_parent: None,
        };
        JobRecord {
            phase,
            ..JobRecord::queued(job, 4, Timestamp::from_unix_millis(created_ms))
        }
    }

    #[test]
    fn running_jobs_are_polled_at_the_poll_interval_and_finished_ones_not_at_all() {
        let now = Timestamp::from_unix_millis(1_000_000);
        assert_eq!(poll_hint(&record(JobPhase::Processing, 0), now), Some(2));
        for phase in [
            JobPhase::Completed,
            JobPhase::Failed,
            JobPhase::Cancelled,
            JobPhase::Expired,
        ] {
            assert_eq!(poll_hint(&record(phase, 0), now), None, "{phase:?}");
        }
    }

    #[test]
    fn a_job_queued_for_long_is_polled_less_often() {
        let now_ms = 1_000_000;
        let queued_for = |secs: u64| {
            poll_hint(
                &record(JobPhase::Queued, now_ms - secs * 1_000),
                Timestamp::from_unix_millis(now_ms),
            )
        };
        assert_eq!(queued_for(0), Some(2));
        assert_eq!(queued_for(14), Some(2));
        assert_eq!(queued_for(30), Some(6));
        assert_eq!(queued_for(600), Some(MAX_QUEUED_HINT_SECS));
    }

    #[test]
    fn a_retrying_job_is_polled_when_its_next_attempt_is_due() {
        let now = Timestamp::from_unix_millis(1_000_000);
        let retrying_in = |ms: u64| {
            let mut r = record(JobPhase::Retrying, 0);
            r.next_attempt_at = Some(Timestamp::from_unix_millis(1_000_000 + ms));
            poll_hint(&r, now)
        };
        assert_eq!(retrying_in(500), Some(2));
        assert_eq!(retrying_in(7_200), Some(8));
        assert_eq!(retrying_in(3_600_000), Some(MAX_RETRYING_HINT_SECS));
    }
}
