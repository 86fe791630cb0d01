//! `GET /v1/download/status/:jobId`: one queue read, plus a freshly signed link when completed.

use super::AppState;
use crate::{error::AppError, queue::JobRecord, storage::ObjectKey};
use app::api::{ErrorBody, JobId, JobPhase, JobState, JobStatus};
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    Json,
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
    Path(job_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<JobStatus>, AppError> {
    let job_id: JobId = job_id.parse()?;
    let record = state
        .queue
        .status(job_id)
        .await?
        .ok_or(AppError::JobNotFound(job_id))?;
    let job_state = job_state(&state, &record, &headers).await?;
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
    headers: &HeaderMap,
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
                url: absolute_url(link.url, headers),
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
/// prefix the origin the client used to reach us (as a proxy reports it, if there is one).
fn absolute_url(url: String, headers: &HeaderMap) -> String {
    if !url.starts_with('/') {
        return url;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let Some(host) = header("x-forwarded-host").or_else(|| header("host")) else {
        return url;
    };
    let scheme = match header("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}{url}")
}

#[cfg(test)]
mod tests {
    use super::absolute_url;
    use axum::http::HeaderMap;

    #[test]
    fn local_links_become_absolute_for_the_host_the_client_used() {
        let mut headers = HeaderMap::new();
        assert_eq!(absolute_url("/v1/files/a".into(), &headers), "/v1/files/a");
        headers.insert("host", "127.0.0.1:3000".parse().unwrap());
        assert_eq!(
            absolute_url("/v1/files/a".into(), &headers),
            "http://127.0.0.1:3000/v1/files/a"
        );
        headers.insert("x-forwarded-host", "ferry.example".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(
            absolute_url("/v1/files/a".into(), &headers),
            "https://ferry.example/v1/files/a"
        );
        assert_eq!(
            absolute_url("https://s3.example/x".into(), &headers),
            "https://s3.example/x"
        );
    }
}
