//! Logging: one line per event on stderr, filtered by `RUST_LOG` (default `info`), either for a
//! person (`LOG_FORMAT=text`, the default) or for a log pipeline (`LOG_FORMAT=json`: one JSON
//! object per line, with the fields of every enclosing span — the request's `request_id`, a job's
//! `job_id`, `file_ids` and `attempt`).

use crate::config::{variables::RUST_LOG, ConfigError};
use std::io::IsTerminal;
use tracing_subscriber::{fmt, EnvFilter};

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

/// Installs the global subscriber; call once, first thing in `main`. A bad `LOG_FORMAT` falls back
/// to text and is returned, so `main` can report it and stop like any other configuration error.
pub fn init() -> Result<(), ConfigError> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(RUST_LOG.default_value()));
    let format = LogFormat::from_env();
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        Ok(LogFormat::Json) => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .init(),
        // Colour codes only help a person at a terminal; in files and pipes they are noise.
        _ => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    format.map(|_| ())
}
