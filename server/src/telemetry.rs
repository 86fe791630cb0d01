//! Logging and traces.
//!
//! Logs: one line per event on stderr, filtered by `RUST_LOG` (default `info`), either for a
//! person (`LOG_FORMAT=text`, the default) or for a log pipeline (`LOG_FORMAT=json`: one JSON
//! object per line, with the fields of every enclosing span — the request's `request_id` and
//! `trace_id`, a job's `job_id`, `file_ids` and `attempt`).
//!
//! Traces: off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and then every `tracing` span that
//! `RUST_LOG` allows (and the S3 SDK's span around each call) is also an OpenTelemetry span,
//! batched and exported over OTLP/HTTP (protobuf) by the SDK on its own thread, with the SDK's
//! standard `OTEL_*` variables (service name, headers, sampler). Off, no OpenTelemetry layer is
//! installed at all: the hot paths pay nothing. Incoming W3C `traceparent`/`tracestate` headers
//! are read by [`crate::http`] with the propagator installed here; a job keeps its initiate
//! request's `traceparent` ([`recorded_trace_parent_of`]) and each attempt's span joins it
//! ([`join_trace`]). Spans that join a trace carry `trace_id` and `span_id` fields, so their log
//! lines name both.

use crate::config::{
    variables::{OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, RUST_LOG},
    ConfigError,
};
use opentelemetry::{
    propagation::{Extractor, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use std::{
    io::IsTerminal,
    sync::atomic::{AtomicBool, Ordering},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{
    filter::{self, FilterExt},
    fmt,
    layer::SubscriberExt,
    util::SubscriberInitExt,
    EnvFilter, Layer,
};

/// Set once, when traces are on: the HTTP layer reads trace context only then.
static TRACES_ON: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (`OTEL_EXPORTER_OTLP_ENDPOINT` is set).
pub fn traces_on() -> bool {
    TRACES_ON.load(Ordering::Relaxed)
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, coloured at a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Reads `LOG_FORMAT`; an unknown value is an error naming the variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(match crate::config::log_format()? {
            "json" => Self::Json,
            _ => Self::Text,
        })
    }
}

/// Keeps the trace exporter running; dropping it (at the end of `main`) sends the spans still
/// buffered and stops the exporter's thread.
#[must_use = "traces stop being exported when the guard is dropped"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take() {
            if let Err(error) = provider.shutdown() {
                eprintln!("traces: the last spans could not be exported: {error}");
            }
        }
    }
}

/// The trace exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` says where to send traces.
fn tracer_provider() -> Result<Option<SdkTracerProvider>, ConfigError> {
    let Some(endpoint) = crate::config::trace_endpoint()? else {
        return Ok(None);
    };
    // The exporter reads the endpoint (adding /v1/traces) and OTEL_EXPORTER_OTLP_HEADERS itself.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|error| ConfigError::Invalid {
            name: OTEL_EXPORTER_OTLP_ENDPOINT.name,
            value: endpoint,
            reason: format!("the trace exporter cannot use it: {error}"),
        })?;
    let service_name = std::env::var(OTEL_SERVICE_NAME.name)
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| OTEL_SERVICE_NAME.default_value());
    let resource = Resource::builder()
        .with_service_name(service_name)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    // The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, read by the SDK.
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}

/// Installs the global subscriber (and, with traces on, the exporter and the W3C propagator);
/// call once, first thing in `main`, before the async runtime starts (the exporter runs on its
/// own thread with a blocking client). A bad `LOG_FORMAT` falls back to text and is returned,
/// like a bad trace endpoint, so `main` can report it and stop like any other configuration
/// error.
pub fn init() -> Result<Telemetry, ConfigError> {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(RUST_LOG.default_value()))
    };
    let format = LogFormat::from_env();
    let json = matches!(format, Ok(LogFormat::Json));
    let (provider, traces_error) = match tracer_provider() {
        Ok(provider) => (provider, None),
        Err(error) => (None, Some(error)),
    };
    match &provider {
        // Off: one global filter, exactly as without traces.
        None => tracing_subscriber::registry()
            .with(filter())
            .with(log_layer(json))
            .init(),
        // On: the logs keep RUST_LOG; the traces take what it allows plus the S3 SDK's
        // per-operation spans (debug level), so each storage call is a span of its own.
        Some(provider) => {
            opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
            let storage_calls = filter::filter_fn(|metadata| {
                metadata.is_span() && metadata.target().starts_with(S3_OPERATIONS)
            })
            // Their level: callsites below it keep the static fast path.
            .with_max_level_hint(tracing::level_filters::LevelFilter::DEBUG);
            let traces = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("ferry"))
                .with_filter(filter().or(storage_calls));
            tracing_subscriber::registry()
                .with(log_layer(json).with_filter(filter()))
                .with(traces)
                .init();
            TRACES_ON.store(true, Ordering::Relaxed);
            tracing::info!("traces are exported over OTLP/HTTP");
        }
    }
    format?;
    match traces_error {
        Some(error) => Err(error),
        None => Ok(Telemetry { traces: provider }),
    }
}

/// The layer that writes log lines: JSON objects, or text for a person.
fn log_layer<S>(json: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    if json {
        fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        // Colour codes only help a person at a terminal; in files and pipes they are noise.
        fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed()
    }
}

/// The target of the S3 SDK's span around each operation (`S3.PutObject`, `S3.UploadPart` …).
const S3_OPERATIONS: &str = "aws_sdk_s3::operation";

/// `span`'s OpenTelemetry ids, when traces are on and it has valid ones.
fn span_context(span: &tracing::Span) -> Option<opentelemetry::trace::SpanContext> {
    if !traces_on() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

/// The W3C `traceparent` naming `span` (`00-<trace id>-<span id>-<flags>`), when traces are on:
/// what `traceresponse` says.
pub fn trace_parent_of(span: &tracing::Span) -> Option<String> {
    span_context(span).map(|ids| {
        format!(
            "00-{}-{}-{:02x}",
            ids.trace_id(),
            ids.span_id(),
            ids.trace_flags().to_u8()
        )
    })
}

/// The `traceparent` a job keeps: only of a trace that is recorded (sampled), so no job, page or
/// console names a trace the exporter never received.
pub fn recorded_trace_parent_of(span: &tracing::Span) -> Option<String> {
    span_context(span)
        .filter(|ids| ids.is_sampled())
        .and_then(|_| trace_parent_of(span))
}

/// The id of `span`'s trace when it is recorded: what an error body names.
pub fn recorded_trace_id_of(span: &tracing::Span) -> Option<String> {
    span_context(span)
        .filter(|ids| ids.is_sampled())
        .map(|ids| ids.trace_id().to_string())
}

/// One stored `traceparent`, as the propagator reads headers.
struct StoredParent<'a>(&'a str);

impl Extractor for StoredParent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == app::trace_context::TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![app::trace_context::TRACEPARENT]
    }
}

/// Makes `span` a child of the span `parent` names (a job's stored `traceparent`), so work done
/// long after a request, on any instance, belongs to that request's trace; and names its trace
/// and span in the `trace_id` and `span_id` fields its log lines carry. A missing or malformed
/// parent leaves the span the root of a trace of its own.
pub fn join_trace(span: &tracing::Span, parent: Option<&str>) {
    if !traces_on() {
        return;
    }
    if let Some(parent) = parent {
        let context = TraceContextPropagator::new().extract(&StoredParent(parent));
        let _ = span.set_parent(context);
    }
    record_trace_ids(span);
}

/// Records `span`'s trace and span ids in its `trace_id` and `span_id` fields (declared
/// `Empty` where the span is made), so every log line inside it names them.
pub fn record_trace_ids(span: &tracing::Span) {
    let context = span.context();
    let span_ref = context.span();
    let ids = span_ref.span_context();
    span.record("trace_id", tracing::field::display(ids.trace_id()));
    span.record("span_id", tracing::field::display(ids.span_id()));
}

/// Where a person sees a trace: `TRACE_UI_URL_TEMPLATE` with `{traceId}` in it (a Jaeger
/// `…/trace/{traceId}`, say). Jobs' answers carry their trace id, and with a template the link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceUi {
    template: Option<String>,
}

impl TraceUi {
    /// The placeholder the template must contain.
    pub const PLACEHOLDER: &'static str = "{traceId}";

    /// A trace UI at `template` (validated by the configuration), or none.
    pub fn new(template: Option<String>) -> Self {
        Self { template }
    }

    /// What a job's answers say about its trace: its id and, with a template, its link; nothing
    /// for a job started without traces (or with a stored parent that is not well formed).
    pub fn job_trace(&self, trace_parent: Option<&str>) -> app::api::JobTrace {
        let trace_id = trace_parent.and_then(app::trace_context::trace_id_of);
        app::api::JobTrace {
            trace_url: trace_id.and_then(|id| {
                let template = self.template.as_ref()?;
                Some(template.replace(Self::PLACEHOLDER, id))
            }),
            trace_id: trace_id.map(str::to_owned),
        }
    }
}
