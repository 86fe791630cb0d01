//! `DELETE /v1/download/:jobId`: cancels a queued or running job.

use super::AppState;
use crate::{error::AppError, queue::CancelOutcome};
use app::api::{CancelResponse, JobId, JobPhase};
use axum::{
    extract::{Path, State},
    Json,
};

/// A queued job is cancelled at once; a running one too, and its worker stops at its next step
/// because its lease is gone.
pub async fn cancel(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<CancelResponse>, AppError> {
    let job_id: JobId = job_id.parse()?;
    match state.queue.cancel(job_id).await? {
        CancelOutcome::Cancelled => {
            tracing::info!(%job_id, "job cancelled");
            Ok(Json(CancelResponse {
                job_id,
                status: JobPhase::Cancelled,
            }))
        }
        CancelOutcome::AlreadyFinished(phase) => Err(AppError::JobAlreadyFinished(job_id, phase)),
        CancelOutcome::NotFound => Err(AppError::JobNotFound(job_id)),
    }
}
