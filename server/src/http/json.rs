//! A JSON body extractor whose rejections are [`AppError`]s, so a malformed body gets the same
//! JSON error shape as every other failure (axum's own `Json` answers in plain text).
//!
//! Every body of this API is a JSON object. serde would also accept an array for a struct
//! (`[12345]` as `{"file_id": 12345}`), so the body is first read as a value and checked to be an
//! object.

use crate::error::AppError;
use axum::{
    extract::{rejection::JsonRejection, FromRequest, Request},
    http::StatusCode,
    Json,
};
use serde::de::DeserializeOwned;

/// Like `axum::Json`, with errors in the API's format.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match Json::<serde_json::Value>::from_request(request, state).await {
            Ok(Json(value)) => value,
            Err(rejection) => {
                return Err(match rejection {
                    JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
                    JsonRejection::JsonSyntaxError(e) => AppError::MalformedJson(e.body_text()),
                    JsonRejection::JsonDataError(e) => AppError::InvalidBody(e.body_text()),
                    other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        AppError::PayloadTooLarge(super::MAX_BODY_BYTES)
                    }
                    other => AppError::InvalidBody(other.body_text()),
                })
            }
        };
        if !value.is_object() {
            return Err(AppError::InvalidBody(
                "the body must be a JSON object".into(),
            ));
        }
        T::deserialize(value)
            .map(Self)
            .map_err(|e| AppError::InvalidBody(e.to_string()))
    }
}
