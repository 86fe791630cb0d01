//! `GET /v1/download/{jobId}/file`: the job's own, stable address for its file.
//!
//! A signed link expires (`PRESIGN_TTL_SECS`), and a tab left open, an e-mailed link or a
//! bookmarked one outlives it. This address does not: every visit answers `302` to a link signed
//! at that moment, for as long as the file exists. The page's Download Ready button uses it.

use super::{client::Caller, status, AppState};
use crate::error::AppError;
use app::api::{ErrorBody, JobId, JobPhase};
use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};

/// The path of `job_id`'s stable link.
pub fn path_of(job_id: JobId) -> String {
    format!("/v1/download/{job_id}/file")
}

/// Redirects to a freshly signed link of the job's archive.
#[utoipa::path(
    get,
    path = "/v1/download/{job_id}/file",
    tag = "downloads",
    params(("job_id" = JobId, Path, description = "The id initiate returned")),
    responses(
        (status = 302, description = "The file: `Location` is a link signed just now (it works for `PRESIGN_TTL_SECS`)",
            headers(("location" = String, description = "The signed link"))),
        (status = 400, description = "Not a job id (ULID)", body = ErrorBody),
        (status = 404, description = "Unknown job, or its record expired", body = ErrorBody),
        (status = 409, description = "The job has not completed (it is queued, running, failed or was cancelled)", body = ErrorBody),
        (status = 410, description = "The job completed, but its file has been removed", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue or storage unavailable", body = ErrorBody),
    )
)]
pub async fn follow(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> Result<Response, AppError> {
    let record = status::find_job(&state, &job_id).await?;
    let job_id = record.id;
    match record.phase {
        JobPhase::Completed => {}
        JobPhase::Expired => {
            return Err(AppError::ResultExpired(job_id, record.result_expires_at));
        }
        phase => return Err(AppError::JobNotReady(job_id, phase)),
    }
    // A link to a file that is gone would land the person on the store's own error page.
    let key = &status::result_of(&record)?.key;
    if state.store.stored(key).await?.is_none() {
        tracing::warn!(%job_id, %key, "completed job's archive is missing from storage");
        return Err(AppError::ResultExpired(job_id, None));
    }
    let (link, _) = status::signed_link(&state, &record, &caller).await?;
    let location = HeaderValue::from_str(&link.url).map_err(|_| AppError::Internal {
        detail: format!("the signed link of job {job_id} is not a valid header value"),
    })?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}
