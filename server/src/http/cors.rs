//! Cross-origin access per `CORS_ORIGINS`, built on tower-http's `CorsLayer`.
//!
//! With the default (`*`) every response says `access-control-allow-origin: *`, with or without an
//! `Origin` header, so scripts on other sites may call the API (it has no cookies to protect).
//! With a list, only those origins are named back.

use super::around::Around;
use crate::config::HttpSettings;
use axum::{
    extract::Request,
    http::{header, HeaderName, HeaderValue, Method, StatusCode},
    response::Response,
};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS policy: the API's methods and request headers, and the response headers a script
/// needs to read (request id, rate limits, where a new job lives).
pub fn layer(settings: &HttpSettings) -> CorsLayer {
    let policy = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
            // A browser page continuing its own trace (W3C Trace Context).
            HeaderName::from_static("traceparent"),
            HeaderName::from_static("tracestate"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            header::RETRY_AFTER,
            header::LOCATION,
            HeaderName::from_static("traceresponse"),
        ])
        .max_age(PREFLIGHT_MAX_AGE);
    match &settings.cors_origins {
        None => policy.allow_origin(Any),
        Some(origins) => policy.allow_origin(AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )),
    }
}

/// tower-http answers a preflight with `200` and an empty body; `204 No Content` says the same
/// thing precisely, and is what the service Ferry replaces answered.
#[derive(Clone)]
pub struct PreflightNoContent;

impl Around for PreflightNoContent {
    /// Whether the request is an `OPTIONS`.
    type Carry = bool;

    fn before(&self, request: &mut Request) -> Result<bool, Response> {
        Ok(request.method() == Method::OPTIONS)
    }

    fn after(is_options: bool, mut response: Response) -> Response {
        if is_options && response.status() == StatusCode::OK {
            *response.status_mut() = StatusCode::NO_CONTENT;
        }
        response
    }
}
