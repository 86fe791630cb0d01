//! What operators read: `/metrics` (Prometheus) and `/openapi.json`, plus the middleware that
//! counts every request.

use super::{around::Around, AppState};
use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{header, HeaderValue, Method},
    response::{IntoResponse, Response},
    Json,
};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

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
#[derive(Clone)]
pub struct RecordRequest;

/// What [`RecordRequest`] remembers of a request until its answer.
pub struct RequestSeen {
    started: Instant,
    method: Method,
    route: Option<MatchedPath>,
}

impl Around for RecordRequest {
    type Carry = RequestSeen;

    fn before(&self, request: &mut Request) -> Result<RequestSeen, Response> {
        Ok(RequestSeen {
            started: Instant::now(),
            method: request.method().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
        })
    }

    fn after(seen: RequestSeen, response: Response) -> Response {
        let method = seen.method.as_str();
        let route = seen.route.as_ref().map_or("fallback", MatchedPath::as_str);
        let sent = crate::metrics::http_request(
            method,
            route,
            response.status().as_u16(),
            seen.started.elapsed(),
        );
        response.map(|inner| Body::new(CountedBody { inner, sent }))
    }
}

/// A response body that adds the bytes it yields to a counter. It passes the size on, so the
/// response keeps its `Content-Length` (a download without one shows no progress in a browser).
struct CountedBody {
    inner: Body,
    sent: metrics::Counter,
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.sent.increment(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
