//! `POST /v1/download/check`: whether a file's archive is already in storage.

use super::{json::ApiJson, AppState};
use crate::{error::AppError, origin::OriginError, storage::ObjectKey};
use app::api::{CheckRequest, CheckResponse, ErrorBody};
use axum::{extract::State, Json};

/// Looks the single-file archive up (`downloads/{file_id}.zip`), as the service we replace did,
/// and asks the origin whether the file exists and how large it is.
#[utoipa::path(
    post,
    path = "/v1/download/check",
    tag = "downloads",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "Whether the file's archive is in storage", body = CheckResponse),
        (status = 400, description = "Invalid body or file id", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Storage or origin unavailable", body = ErrorBody),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, AppError> {
    let file_id = request.file_id;
    let key = ObjectKey::for_file(file_id);
    let (stored, source) = tokio::join!(state.store.stored(&key), state.origin.stat(file_id, ""));
    let stored = stored?;
    let (source_exists, source_size) = match source {
        Ok(file) => (Some(true), file.size),
        Err(OriginError::NotFound { .. }) => (Some(false), None),
        Err(error) if error.is_permanent() => {
            tracing::warn!(%error, "the origin would not say whether the file exists");
            (None, None)
        }
        Err(error) => {
            tracing::error!(%error, "origin unavailable");
            return Err(AppError::OriginUnavailable);
        }
    };
    Ok(Json(CheckResponse {
        file_id,
        available: stored.is_some(),
        s3_key: stored.as_ref().map(|_| key.as_str().to_owned()),
        size: stored.map(|archive| archive.size),
        source_exists,
        source_size,
    }))
}
