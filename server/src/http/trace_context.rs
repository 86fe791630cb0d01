//! W3C trace context at the HTTP edge, when traces are on ([`crate::telemetry`]): each request's
//! span continues the trace an incoming `traceparent` (and `tracestate`) names, its log lines
//! carry the `trace_id` and `span_id`, and the answer says in `traceresponse` which trace and span it was, so
//! a client that sent no context still learns where to look. With traces off none of this runs.

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue},
    middleware::Next,
    response::Response,
};
use opentelemetry::propagation::Extractor;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The request's headers as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// Makes `span` (a request's) continue the caller's trace and names the trace and span in its
/// `trace_id` and `span_id` fields. An absent or malformed `traceparent` starts a new trace.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if !crate::telemetry::traces_on() {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Headers(headers))
    });
    let _ = span.set_parent(parent);
    crate::telemetry::record_trace_ids(span);
}

/// `traceresponse: 00-<trace id>-<span id>-<flags>` on every answer (the W3C Trace Context
/// Level 2 header), from the request's span.
pub async fn answer_trace(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let value = crate::telemetry::trace_parent_of(&tracing::Span::current())
        .and_then(|value| HeaderValue::from_str(&value).ok());
    if let Some(value) = value {
        response.headers_mut().insert("traceresponse", value);
    }
    response
}
