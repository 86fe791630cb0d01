//! `DELETE /v1/download/:jobId`: cancels a queued or running job.

use super::AppState;
use crate::{error::AppError, queue::CancelOutcome};
use app::api::{CancelResponse, ErrorBody, JobId, JobPhase};
use axum::{
    extract::{Path, State},
    Json,
};

/// A queued job is cancelled at once; a running one too, and its worker stops at its next step
/// because its lease is gone.
#[utoipa::path(
    delete,
    path = "/v1/download/{job_id}",
    tag = "downloads",
    params(("job_id" = JobId, Path, description = "The id initiate returned")),
    responses(
        (status = 200, description = "Cancelled", body = CancelResponse),
        (status = 400, description = "Not a job id (ULID)", body = ErrorBody),
        (status = 404, description = "Unknown job, or its record expired", body = ErrorBody),
        (status = 409, description = "The job already finished", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<CancelResponse>, AppError> {
    let job_id: JobId = job_id.parse()?;
    cancel_job(&state, job_id).await?;
    Ok(Json(CancelResponse {
        job_id,
        status: JobPhase::Cancelled,
    }))
}

/// Cancels `job_id`, counted and logged, or says why not: the API's cancel and the console's.
pub async fn cancel_job(state: &AppState, job_id: JobId) -> Result<(), AppError> {
    match state.queue.cancel(job_id).await? {
        CancelOutcome::Cancelled => {
            crate::metrics::job_cancelled();
            tracing::info!(%job_id, "job cancelled");
            Ok(())
        }
        CancelOutcome::AlreadyFinished(phase) => Err(AppError::JobAlreadyFinished(job_id, phase)),
        CancelOutcome::NotFound => Err(AppError::JobNotFound(job_id)),
    }
}
