//! Traces as an operator turns them on: the server binary with `OTEL_EXPORTER_OTLP_ENDPOINT`
//! pointing at a real OTLP/HTTP receiver started here, which decodes what arrives with the
//! protocol's own protobuf definitions. A request continues the caller's `traceparent`, the
//! answer names its trace in `traceresponse`, and the exported span carries both ids.

mod common;

use common::ferry_process::{request, start};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// An OTLP/HTTP trace receiver on a free port: every span it is sent, decoded.
struct Receiver {
    addr: std::net::SocketAddr,
    spans: Arc<Mutex<Vec<Span>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = spans.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    let export = ExportTraceServiceRequest::decode(body)
                        .expect("the exporter sends protobuf OTLP");
                    let mut spans = kept.lock().unwrap();
                    for resource in export.resource_spans {
                        for scope in resource.scope_spans {
                            spans.extend(scope.spans);
                        }
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            spans,
            _runtime: runtime,
        }
    }

    /// Waits (up to 15 s) for an exported span of `trace_id` (hex) named `name`.
    fn span(&self, trace_id: &str, name: &str) -> Span {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let found = self
                .spans
                .lock()
                .unwrap()
                .iter()
                .find(|span| hex::encode(&span.trace_id) == trace_id && span.name == name)
                .cloned();
            if let Some(span) = found {
                return span;
            }
            assert!(
                Instant::now() < deadline,
                "no {name} span of trace {trace_id} arrived"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The trace and span ids of a `traceparent` or `traceresponse` value.
fn ids(header: &str) -> (String, String) {
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    (parts[1].to_owned(), parts[2].to_owned())
}

#[test]
fn a_request_continues_the_callers_trace_and_its_span_is_exported() {
    let receiver = Receiver::start();
    let storage = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{}", receiver.addr);
    let (_server, mut log, addr) = start(
        storage.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("WORKER_CONCURRENCY", "0"),
        ],
    );

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let parent = format!("00-{trace_id}-{caller_span}-01");
    let response = request(
        &addr,
        "POST",
        "/v1/download/initiate",
        r#"{"file_id": 12345}"#,
        &[("traceparent", &parent)],
    );
    assert_eq!(response.status().as_u16(), 202);
    let answered = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_owned();
    let (answered_trace, answered_span) = ids(&answered);
    assert_eq!(answered_trace, trace_id, "the caller's trace continues");
    assert_ne!(
        answered_span, caller_span,
        "the request is a span of its own"
    );

    let span = receiver.span(trace_id, "request");
    assert_eq!(hex::encode(&span.parent_span_id), caller_span);
    // The request's log lines carry the trace id.
    let line = log.wait_for(&format!("trace_id={trace_id}"));
    assert!(line.contains("request_id="), "{line}");
    assert_eq!(hex::encode(&span.span_id), answered_span);

    // Without a traceparent the request starts a trace, which the answer names.
    let response = request(&addr, "GET", "/health", "", &[]);
    let (fresh_trace, _) = ids(response.headers()["traceresponse"].to_str().unwrap());
    assert_ne!(fresh_trace, trace_id);
    let span = receiver.span(&fresh_trace, "request");
    assert!(span.parent_span_id.is_empty(), "a root span");

    // A malformed traceparent is ignored, not trusted.
    let response = request(
        &addr,
        "GET",
        "/health",
        "",
        &[("traceparent", "00-zz-yy-01")],
    );
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().contains_key("traceresponse"));
}

#[test]
fn without_an_endpoint_there_are_no_traces() {
    let storage = tempfile::tempdir().unwrap();
    let (_server, _log, addr) = start(storage.path(), &[("WORKER_CONCURRENCY", "0")]);
    let response = request(
        &addr,
        "GET",
        "/health",
        "",
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    );
    assert_eq!(response.status().as_u16(), 200);
    assert!(!response.headers().contains_key("traceresponse"));
}

#[test]
fn an_endpoint_that_is_not_a_url_stops_the_server_with_a_message_naming_it() {
    let storage = tempfile::tempdir().unwrap();
    let output = common::ferry_process::server_command(
        storage.path(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger:4318")],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("OTEL_EXPORTER_OTLP_ENDPOINT=\"jaeger:4318\" is invalid"),
        "{log}"
    );
}
