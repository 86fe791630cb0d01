//! `GET /v1/download/status/:jobId`: one queue read, plus a freshly signed link when completed.

use super::{client::Caller, AppState};
use crate::{error::AppError, queue::JobRecord, storage::ObjectKey};
use app::api::{ErrorBody, JobId, JobPhase, JobState, JobStatus};
use axum::{
    extract::{Path, State},
    Extension, Json,
};

/// The job's current state. A completed job's link is signed on every read (a local computation),
/// so a client never holds an expired link while the job record lives.
#[utoipa::path(
    get,
    path = "/v1/download/status/{job_id}",
    tag = "downloads",
    params(("job_id" = JobId, Path, description = "The id initiate returned")),
    responses(
        (status = 200, description = "The job's state; a completed job carries a fresh download link", body = JobStatus),
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
) -> Result<Json<JobStatus>, AppError> {
    let job_id: JobId = job_id.parse()?;
    let record = state
        .queue
        .status(job_id)
        .await?
        .ok_or(AppError::JobNotFound(job_id))?;
    let job_state = job_state(&state, &record, &caller).await?;
    Ok(Json(JobStatus {
        job_id: record.id,
        file_ids: record.file_ids,
        created_at: record.created_at,
        state: job_state,
    }))
}

async fn job_state(
    state: &AppState,
    record: &JobRecord,
    caller: &Caller,
) -> Result<JobState, AppError> {
    let since_creation = record.created_at;
    let progress = record.progress;
    let files_total = u32::try_from(record.file_ids.len()).unwrap_or(u32::MAX);
    Ok(match record.phase {
        JobPhase::Queued => JobState::Queued {
            progress: progress.percent,
            attempt: record.attempt,
            max_attempts: record.max_attempts,
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
            let result = record.result.as_ref().ok_or_else(|| {
                tracing::error!(job_id = %record.id, "completed job has no result");
                AppError::Internal
            })?;
            let key = ObjectKey::parse(&result.key).ok_or_else(|| {
                tracing::error!(job_id = %record.id, key = %result.key, "stored key is unsafe");
                AppError::Internal
            })?;
            let link = state
                .store
                .presign_download(&key, state.presign_ttl)
                .await?;
            JobState::Completed {
                progress: 100,
                url: absolute_url(link.url, caller),
                url_expires_at: link.expires_at,
                completed_at: record.finished_at.unwrap_or(since_creation),
                size: result.size,
            }
        }
        JobPhase::Failed => JobState::Failed {
            error: record.error.clone().unwrap_or_default(),
            attempt: record.attempt,
            max_attempts: record.max_attempts,
            failed_at: record.finished_at.unwrap_or(since_creation),
        },
        JobPhase::Cancelled => JobState::Cancelled {
            cancelled_at: record.finished_at.unwrap_or(since_creation),
        },
    })
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
