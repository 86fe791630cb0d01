//! Logging and traces.
//!
//! Logs: one line per event on stderr, filtered by `RUST_LOG` (default `info`), either for a
//! person (`LOG_FORMAT=text`, the default) or for a log pipeline (`LOG_FORMAT=json`: one JSON
//! object per line, with the fields of every enclosing span — the request's `request_id` and
//! `trace_id`, a job's `job_id`, `file_ids` and `attempt`).
//!
//! Traces: off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and then every `tracing` span is also
//! an OpenTelemetry span, batched and exported over OTLP/HTTP (protobuf) by the SDK on its own
//! thread, with the SDK's standard `OTEL_*` variables (service name, headers, sampler). Off, no
//! OpenTelemetry layer is installed at all: the hot paths pay nothing. Incoming W3C
//! `traceparent`/`tracestate` headers are read by [`crate::http`] with the propagator installed
//! here.

use crate::config::{
    variables::{OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, RUST_LOG},
    ConfigError,
};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider, Resource};
use std::{
    io::IsTerminal,
    sync::atomic::{AtomicBool, Ordering},
};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

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
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(RUST_LOG.default_value()));
    let format = LogFormat::from_env();
    let logs = match format {
        Ok(LogFormat::Json) => fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
        // Colour codes only help a person at a terminal; in files and pipes they are noise.
        _ => fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let traces = tracer_provider();
    let (provider, traces_error) = match traces {
        Ok(provider) => (provider, None),
        Err(error) => (None, Some(error)),
    };
    let otel = provider.as_ref().map(|provider| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer().with_tracer(provider.tracer("ferry"))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(otel)
        .init();
    if provider.is_some() {
        TRACES_ON.store(true, Ordering::Relaxed);
        tracing::info!("traces are exported over OTLP/HTTP");
    }
    format?;
    match traces_error {
        Some(error) => Err(error),
        None => Ok(Telemetry { traces: provider }),
    }
}
