//! `POST /v1/download/check`: whether a file's archive is already in storage.

use super::{json::ApiJson, AppState};
use crate::{error::AppError, storage::ObjectKey};
use app::api::{CheckRequest, CheckResponse, ErrorBody};
use axum::{extract::State, Json};

/// Looks the single-file archive up (`downloads/{file_id}.zip`), as the service we replace did.
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
        (status = 503, description = "Storage unavailable", body = ErrorBody),
    )
)]
pub async fn check(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CheckRequest>,
) -> Result<Json<CheckResponse>, AppError> {
    let key = ObjectKey::for_file(request.file_id);
    let size = state.store.size_of(&key).await?;
    Ok(Json(CheckResponse {
        file_id: request.file_id,
        available: size.is_some(),
        s3_key: size.map(|_| key.as_str().to_owned()),
        size,
    }))
}
