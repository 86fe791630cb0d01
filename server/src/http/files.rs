//! `GET /v1/files/{folder}/{name}?expires=…&signature=…`: serves archives of the local result store through
//! signed, expiring links (the embedded stand-in for S3 presigned URLs).

use super::AppState;
use crate::error::AppError;
use app::api::ErrorBody;
use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tokio_util::io::ReaderStream;

/// The link's query; both parts are optional here so that a missing one is a 403, not a 400.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// Unix time (seconds) after which the link is refused.
    expires: Option<String>,
    /// HMAC of the path and `expires`, hex.
    signature: Option<String>,
}

/// What a download link answers, on either route.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Documentation only: the handlers answer through `AppError` and `serve`.
enum ArchiveResponses {
    /// The archive
    #[response(status = 200, content_type = "application/zip")]
    Archive(#[to_schema] Vec<u8>),
    /// The link was altered or has expired
    #[response(status = 403)]
    LinkRefused(ErrorBody),
    /// No such archive (or results are not stored locally)
    #[response(status = 404)]
    Gone(ErrorBody),
    /// Rate limited
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// Storage unavailable
    #[response(status = 503)]
    StorageUnavailable(ErrorBody),
}

/// Streams a single file's archive if the link is intact and unexpired.
#[utoipa::path(
    get,
    path = "/v1/files/{folder}/{name}",
    tag = "downloads",
    params(
        ("folder" = String, Path, description = "`downloads` (single files)"),
        ("name" = String, Path, description = "Archive name, such as `12345.zip`"),
        LinkParams,
    ),
    responses(ArchiveResponses)
)]
pub async fn download(
    State(state): State<AppState>,
    Path((folder, name)): Path<(String, String)>,
    Query(params): Query<LinkParams>,
) -> Result<Response, AppError> {
    serve(&state, &format!("{folder}/{name}"), &params).await
}

/// Streams a bundle's archive if the link is intact and unexpired. A bundle lives in a folder
/// of its own with a random name, so its link says nothing about the job.
#[utoipa::path(
    get,
    path = "/v1/files/bundles/{folder}/{name}",
    tag = "downloads",
    params(
        ("folder" = String, Path, description = "The bundle's random folder"),
        ("name" = String, Path, description = "Archive name, such as `ferry-3-files.zip`"),
        LinkParams,
    ),
    responses(ArchiveResponses)
)]
pub async fn download_bundle(
    State(state): State<AppState>,
    Path((folder, name)): Path<(String, String)>,
    Query(params): Query<LinkParams>,
) -> Result<Response, AppError> {
    serve(&state, &format!("bundles/{folder}/{name}"), &params).await
}

/// The archive at `key`, after checking the link's signature and expiry.
async fn serve(state: &AppState, key: &str, params: &LinkParams) -> Result<Response, AppError> {
    let local = state.local_files.as_ref().ok_or(AppError::RouteNotFound)?;
    let (key, path) = local.verify(key, params.expires.as_deref(), params.signature.as_deref())?;
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::ResultGone),
        Err(e) => return Err(crate::storage::StorageError::from(e).into()),
    };
    let size = file
        .metadata()
        .await
        .map_err(crate::storage::StorageError::from)?
        .len();
    let disposition = format!("attachment; filename=\"{}\"", key.file_name());
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
