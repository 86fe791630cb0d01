//! Traces as an operator turns them on: the server binary with `OTEL_EXPORTER_OTLP_ENDPOINT`
//! pointing at a real OTLP/HTTP receiver started here, which decodes what arrives with the
//! protocol's own protobuf definitions. A request continues the caller's `traceparent`, the
//! answer names its trace in `traceresponse`, and the exported span carries both ids.

mod common;

use common::ferry_process::{request, start};
use common::{
    ferry_process::{http, job_id_of},
    origin_server::{Behaviour, OriginServer},
    s3_server::S3Server,
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{any_value, KeyValue},
    trace::v1::{status::StatusCode, Span},
};
use prost::Message;
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// An exported span and the `service.name` of the process that sent it.
#[derive(Clone, Debug)]
struct Exported {
    service: String,
    span: Span,
}

/// An OTLP/HTTP trace receiver on a free port: every span it is sent, decoded.
struct Receiver {
    addr: std::net::SocketAddr,
    spans: Arc<Mutex<Vec<Exported>>>,
    runtime: tokio::runtime::Runtime,
}

/// The string value of the attribute `key` of `attributes`, if it is one.
fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(value) => Some(value.clone()),
            _ => None,
        }
    })
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
                        let service = resource
                            .resource
                            .as_ref()
                            .and_then(|r| attribute(&r.attributes, "service.name"))
                            .unwrap_or_default();
                        for scope in resource.scope_spans {
                            spans.extend(scope.spans.into_iter().map(|span| Exported {
                                service: service.clone(),
                                span,
                            }));
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
            runtime,
        }
    }

    /// The spans of `trace_id` (hex) named `name` once (within 15 s) at least `count` arrived.
    fn spans(&self, trace_id: &str, name: &str, count: usize) -> Vec<Exported> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let found: Vec<Exported> = self
                .spans
                .lock()
                .unwrap()
                .iter()
                .filter(|e| hex::encode(&e.span.trace_id) == trace_id && e.span.name == name)
                .cloned()
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} {name} spans of trace {trace_id} arrived",
                found.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (up to 15 s) for an exported span of `trace_id` (hex) named `name`.
    fn span(&self, trace_id: &str, name: &str) -> Span {
        self.spans(trace_id, name, 1).remove(0).span
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

    // An error names the trace too, for the person who reports it.
    let response = request(
        &addr,
        "GET",
        "/v1/download/status/01HQ3Z8M5X7Y9A2B4C6D8E0F1G",
        "",
        &[("traceparent", &parent)],
    );
    assert_eq!(response.status().as_u16(), 404);
    let error: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert_eq!(error["traceId"], trace_id, "{error}");

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
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = request(&addr, "GET", "/health", "", &[("traceparent", parent)]);
    assert_eq!(response.status().as_u16(), 200);
    assert!(!response.headers().contains_key("traceresponse"));
    // A job started with a traceparent keeps no trace: its answers name none.
    let response = request(
        &addr,
        "POST",
        "/v1/download/initiate",
        r#"{"file_id": 12345}"#,
        &[("traceparent", parent)],
    );
    assert_eq!(response.status().as_u16(), 202);
    let started: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert!(started.get("traceId").is_none(), "{started}");
    let job_id = started["jobId"].as_str().unwrap();
    let (_, body) = http(&addr, "GET", &format!("/v1/download/status/{job_id}"), "");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["status"], "queued");
    assert!(status.get("traceId").is_none(), "{status}");
}

#[test]
fn an_unsampled_trace_is_answered_but_not_kept_with_the_job() {
    let receiver = Receiver::start();
    let storage = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{}", receiver.addr);
    let (_server, _log, addr) = start(
        storage.path(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("WORKER_CONCURRENCY", "0"),
        ],
    );
    // The caller's flags say "not recorded": the parent-based sampler follows.
    let response = request(
        &addr,
        "POST",
        "/v1/download/initiate",
        r#"{"file_id": 12345}"#,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        )],
    );
    assert_eq!(response.status().as_u16(), 202);
    let answered = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(answered.ends_with("-00"), "{answered}");
    let started: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert!(
        started.get("traceId").is_none(),
        "a trace nobody records is not shown: {started}"
    );
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

#[test]
fn a_job_is_one_trace_across_instances_and_attempts_from_the_request_to_the_upload() {
    let receiver = Receiver::start();
    let origin = receiver.runtime.block_on(OriginServer::start());
    // Over one 8 MiB part: the archive goes up as a multipart upload, one S3 call per part.
    let bytes = common::content(17, 9 * 1024 * 1024);
    // The first attempt meets a 503 and is retried; the second gets the file.
    origin.set(
        20517,
        Behaviour::FailFirst {
            times: 1,
            status: 503,
            content: bytes,
        },
    );
    let s3 = S3Server::start();
    let endpoint = format!("http://{}", receiver.addr);
    let template = origin.url_template();
    let redis_url =
        std::env::var("FERRY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("ferry-test-traces-{}", std::process::id());
    let mut settings: Vec<(String, String)> = s3.env("ferry-traces");
    settings.extend(
        [
            ("REDIS_URL", redis_url.as_str()),
            ("QUEUE_PREFIX", prefix.as_str()),
            ("ORIGIN", "http"),
            ("ORIGIN_URL_TEMPLATE", template.as_str()),
            ("RETRY_BACKOFF_BASE_MS", "100"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            (
                "TRACE_UI_URL_TEMPLATE",
                "http://localhost:16686/trace/{traceId}",
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let instance = |name: &'static str, concurrency: &'static str| {
        let mut all: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend([
            ("OTEL_SERVICE_NAME", name),
            ("WORKER_CONCURRENCY", concurrency),
        ]);
        all
    };
    let storage = tempfile::tempdir().unwrap();
    // The API-only instance takes the request; the other one runs every attempt.
    let (_api, _api_log, api_addr) = start(storage.path(), &instance("ferry-api", "0"));
    let (_worker, mut worker_log, _) = start(storage.path(), &instance("ferry-worker", "1"));

    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let caller_span = "b7ad6b7169203331";
    let response = request(
        &api_addr,
        "POST",
        "/v1/download/initiate",
        r#"{"file_id": 20517}"#,
        &[("traceparent", &format!("00-{trace_id}-{caller_span}-01"))],
    );
    assert_eq!(response.status().as_u16(), 202);
    let started: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert_eq!(started["traceId"], trace_id, "{started}");
    assert_eq!(
        started["traceUrl"],
        format!("http://localhost:16686/trace/{trace_id}")
    );
    let job_id = job_id_of(&started.to_string());
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let (_, body) = http(
            &api_addr,
            "GET",
            &format!("/v1/download/status/{job_id}"),
            "",
        );
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        if status["status"] == "completed" {
            break status;
        }
        assert!(Instant::now() < deadline, "not completed: {status}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(done["traceId"], trace_id, "every answer names the trace");

    // The initiate request, on the API instance, continues the caller's span.
    let initiate = receiver
        .spans(trace_id, "request", 1)
        .into_iter()
        .find(|e| attribute(&e.span.attributes, "path").as_deref() == Some("/v1/download/initiate"))
        .expect("the initiate request's span");
    assert_eq!(initiate.service, "ferry-api");
    assert_eq!(hex::encode(&initiate.span.parent_span_id), caller_span);

    // Both attempts ran on the other instance, as children of the initiate request.
    let mut attempts = receiver.spans(trace_id, "job attempt", 2);
    attempts.sort_by_key(|e| e.span.start_time_unix_nano);
    for attempt in &attempts {
        assert_eq!(attempt.service, "ferry-worker");
        assert_eq!(attempt.span.parent_span_id, initiate.span.span_id);
        assert_eq!(
            attribute(&attempt.span.attributes, "job_id").as_deref(),
            Some(job_id.as_str())
        );
    }
    let outcomes: Vec<_> = attempts
        .iter()
        .map(|e| attribute(&e.span.attributes, "outcome"))
        .collect();
    assert_eq!(
        outcomes,
        [Some("retrying".to_owned()), Some("completed".to_owned())]
    );
    let first_status = attempts[0].span.status.clone().unwrap_or_default();
    assert_eq!(
        first_status.code,
        StatusCode::Error as i32,
        "a failed attempt is an error"
    );
    let second = &attempts[1].span;

    // The second attempt's work: origin lookup and fetch, the archive, the upload with the S3
    // SDK's own span for the call.
    let child_of = |name: &str, parent: &Span| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let children: Vec<Exported> = receiver.spans(trace_id, name, 1);
            if let Some(child) = children
                .into_iter()
                .find(|e| e.span.parent_span_id == parent.span_id)
            {
                return child.span;
            }
            assert!(Instant::now() < deadline, "no {name} under {}", parent.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    child_of("origin.lookup", second);
    let archive = child_of("archive.build", second);
    child_of("origin.fetch", &archive);
    let upload = child_of("storage.upload", second);
    child_of("S3.CreateMultipartUpload", &upload);
    // Parts go up from tasks of their own, still inside the upload's span.
    let parts = receiver
        .spans(trace_id, "S3.UploadPart", 2)
        .into_iter()
        .filter(|e| e.span.parent_span_id == upload.span_id)
        .count();
    assert_eq!(parts, 2, "9 MiB in 8 MiB parts");
    child_of("S3.CompleteMultipartUpload", &upload);

    // The worker's log lines about the job name its trace and the attempt's span.
    let line = worker_log.wait_for("job completed");
    assert!(line.contains(&format!("trace_id={trace_id}")), "{line}");
    assert!(
        line.contains(&format!("span_id={}", hex::encode(&second.span_id))),
        "{line}"
    );
}
