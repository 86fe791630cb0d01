//! What operators read: `/metrics` (Prometheus) and `/openapi.json`, plus the middleware that
//! counts every request.

use super::AppState;
use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use http_body_util::BodyExt;
use std::time::Instant;

/// Prometheus text exposition of every Ferry metric; the queue depth and the
/// rate limiters' size are read at scrape time.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.queue.depth().await {
        Ok(depth) => crate::metrics::queue_depth(&depth),
        Err(error) => tracing::warn!(%error, "queue depth not available for /metrics"),
    }
    crate::metrics::rate_limited_clients(state.rate_limit.tracked_clients());
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The OpenAPI 3.1 document of the API, generated from the handlers and the shared types.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(super::openapi::document().clone())
}

/// Counts the request by method, route template (never the raw path, which would make a series
/// per job id; `fallback` for static files and unknown paths) and status, observes its latency,
/// and counts the body bytes as they are sent.
pub async fn record_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("fallback", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    crate::metrics::http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    let sent = crate::metrics::http_response_bytes(&method, &route);
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                sent.increment(data.len() as u64);
            }
            frame
        }))
    })
}
