//! `POST /v1/download/initiate`: validates the request, queues a job, answers `202` at once.

use super::{json::ApiJson, AppState};
use crate::{error::AppError, queue::NewJob};
use app::api::{InitiateRequest, InitiateResponse};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::IntoResponse,
    Json,
};

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Queues a job for the requested files. With an `Idempotency-Key`, a repeated request returns
/// the job the first one created instead of starting another.
pub async fn initiate(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<InitiateRequest>,
) -> Result<impl IntoResponse, AppError> {
    let file_ids = request.file_ids()?;
    let idempotency_key = idempotency_key(&headers)?;
    let (min, max) = state.download_delay_ms;
    let delay_ms = rand::random_range(min..=max);
    let total_file_ids = file_ids.len();
    let enqueued = state
        .queue
        .enqueue(NewJob { file_ids, delay_ms }, idempotency_key)
        .await?;
    let job_id = enqueued.record.id;
    if enqueued.created {
        tracing::info!(%job_id, files = total_file_ids, delay_ms, "job queued");
    }
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/download/status/{job_id}"))],
        Json(InitiateResponse {
            job_id,
            status: enqueued.record.phase,
            total_file_ids: enqueued.record.file_ids.len(),
        }),
    ))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| AppError::InvalidIdempotencyKey)?;
    let valid = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(Some(key))
    } else {
        Err(AppError::InvalidIdempotencyKey)
    }
}
