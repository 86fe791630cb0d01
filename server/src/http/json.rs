//! A JSON body extractor whose rejections are [`AppError`]s, so a malformed body gets the same
//! JSON error shape as every other failure (axum's own `Json` answers in plain text).
//!
//! Every body of this API is a JSON object. serde would also accept an array for a struct
//! (`[12345]` as `{"file_id": 12345}`), so anything but an object is refused before decoding.

use crate::error::AppError;
use axum::{
    body::Bytes,
    extract::{rejection::JsonRejection, FromRequest, Request},
    http::{header, HeaderMap},
    Json,
};
use serde::de::DeserializeOwned;

/// Like `axum::Json`, with errors in the API's format and only objects accepted.
pub struct ApiJson<T>(pub T);

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge(super::MAX_BODY_BYTES)
                } else {
                    AppError::InvalidBody(rejection.body_text())
                }
            })?;
        let starts_as_object = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if !starts_as_object && serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
            return Err(AppError::InvalidBody(
                "the body must be a JSON object".into(),
            ));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::InvalidBody(e.body_text())),
            Err(rejection) => Err(AppError::MalformedJson(rejection.body_text())),
        }
    }
}
