//! `POST /v1/download/check`: whether a file's archive is already in storage.

use super::{json::ApiJson, AppState};
use crate::{error::AppError, storage::ObjectKey};
use app::api::{CheckRequest, CheckResponse};
use axum::{extract::State, Json};

/// Looks the single-file archive up (`downloads/{file_id}.zip`), as the service we replace did.
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
