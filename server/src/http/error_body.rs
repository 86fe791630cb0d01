//! Writes the JSON body of every error response, with the request id.
//!
//! Errors come from handlers ([`AppError`](crate::error::AppError)), extractor rejections and the
//! fallbacks alike; all of them leave an [`ErrorReply`] in the response extensions, and this
//! middleware turns it into `{"error", "message", "requestId"}`.

use crate::error::ErrorReply;
use app::api::ErrorBody;
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

/// Middleware: renders [`ErrorReply`] extensions as JSON bodies.
pub async fn render(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(request).await;
    let Some(reply) = response.extensions_mut().remove::<ErrorReply>() else {
        return response;
    };
    let body = ErrorBody {
        error: reply.name.to_owned(),
        message: reply.message,
        request_id,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}
