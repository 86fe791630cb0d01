//! `GET /v1/files/*key?expires=…&signature=…`: serves archives of the local result store through
//! signed, expiring links (the embedded stand-in for S3 presigned URLs).

use super::AppState;
use crate::error::AppError;
use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tokio_util::io::ReaderStream;

/// The link's query; both parts are optional here so that a missing one is a 403, not a 400.
#[derive(Debug, Deserialize)]
pub struct LinkParams {
    expires: Option<String>,
    signature: Option<String>,
}

/// Streams the archive if the link is intact and unexpired.
pub async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(params): Query<LinkParams>,
) -> Result<Response, AppError> {
    let local = state.local_files.as_ref().ok_or(AppError::RouteNotFound)?;
    let (key, path) = local.verify(&key, params.expires.as_deref(), params.signature.as_deref())?;
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
