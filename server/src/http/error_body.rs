//! Writes the JSON body of every error response, with the request id.
//!
//! Errors come from handlers ([`AppError`](crate::error::AppError)), extractor rejections and the
//! fallbacks alike; all of them leave an [`ErrorReply`] in the response extensions, and this
//! middleware turns it into `{"error", "message", "requestId"}` (plus `traceId` when traces are
//! on).

use super::around::Around;
use crate::error::ErrorReply;
use app::api::ErrorBody;
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    response::Response,
};

/// An error status without a body type: produced by a layer, not by a handler.
fn is_bare_error(response: &Response) -> bool {
    (response.status().is_client_error() || response.status().is_server_error())
        && !response.headers().contains_key(header::CONTENT_TYPE)
}

fn bare_error_reply(status: StatusCode) -> ErrorReply {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => ErrorReply {
            name: "ServiceUnavailable",
            message: "the server could not answer in time: try again in a few seconds".into(),
            detail: None,
        },
        _ => ErrorReply {
            name: "HttpError",
            message: format!(
                "the request failed: {}",
                status.canonical_reason().unwrap_or("unknown status")
            ),
            detail: None,
        },
    }
}

/// Renders [`ErrorReply`] extensions as JSON bodies.
#[derive(Clone)]
pub struct RenderErrors;

impl Around for RenderErrors {
    /// The request id, which the body names.
    type Carry = Option<HeaderValue>;

    fn before(&self, request: &mut Request) -> Result<Option<HeaderValue>, Response> {
        Ok(request.headers().get("x-request-id").cloned())
    }

    fn after(request_id: Option<HeaderValue>, response: Response) -> Response {
        render(request_id, response)
    }
}

fn render(request_id: Option<HeaderValue>, mut response: Response) -> Response {
    let reply = match response.extensions_mut().remove::<ErrorReply>() {
        Some(reply) => reply,
        // A layer answered on its own (the request timeout, for one): give its bare error
        // status the same JSON shape.
        None if is_bare_error(&response) => bare_error_reply(response.status()),
        None => return response,
    };
    let request_id = request_id
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // The one log line of a failure inside (the request span names the request id).
    if let Some(detail) = &reply.detail {
        tracing::error!(error = reply.name, %detail, "request failed");
    }
    let body = ErrorBody {
        error: reply.name.to_owned(),
        message: reply.message,
        request_id,
        trace_id: crate::telemetry::recorded_trace_id_of(&tracing::Span::current()),
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
