//! Configuration: read from the environment once, at start-up, and validated there.
//!
//! A bad value stops the server with a message naming the variable, instead of surfacing as odd
//! behaviour hours later. Everything else receives typed settings, never raw strings.
//!
//! Each variable is declared once, in [`variables`] (name, default, bounds, doc); [`vars`] reads
//! through those declarations and [`reference`] turns them into `.env.example` and the README's
//! table. The rules that involve more than one value live with their concern: [`http`] (CORS,
//! rate limits, proxies, connections), [`origin`] (where files come from), [`storage`] (S3 for
//! results) and [`redis_url`] (the queue's Redis).

mod http;
mod origin;
mod redis_url;
pub mod reference;
mod storage;
#[cfg(test)]
mod tests;
pub mod variables;
mod vars;

pub use http::{HttpSettings, RateBudget};
pub use origin::OriginSettings;
pub use storage::{S3Settings, Secret};
pub use vars::Vars;

use crate::{
    queue::{redis::RedisTarget, QueueSettings},
    worker::WorkerSettings,
};
use std::{path::PathBuf, time::Duration};
use variables::*;

/// Why the configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// Everything the server needs to start, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Redis for the queue (`REDIS_URL`, or `REDIS_CLUSTER_NODES` for a cluster); `None`
    /// selects the embedded in-memory queue.
    pub redis: Option<RedisTarget>,
    /// Namespace of the queue's Redis keys (the hash tag), so deployments can share a Redis.
    pub queue_prefix: String,
    pub queue: QueueSettings,
    pub worker: WorkerSettings,
    /// How long shutdown may take before running work is abandoned.
    pub shutdown_grace: Duration,
    /// Where files come from (`ORIGIN`).
    pub origin: OriginSettings,
    /// How long a download link stays valid.
    pub presign_ttl: Duration,
    /// S3 for results; `None` selects the embedded local-directory store.
    pub s3: Option<S3Settings>,
    /// Directory of the embedded result store.
    pub local_storage_dir: PathBuf,
    /// Secret that signs local download links; drawn at random when absent.
    pub local_storage_secret: Option<String>,
    /// What the HTTP layer promises every client: CORS, rate limits, backpressure.
    pub http: HttpSettings,
    /// The operator console's access (`ADMIN_TOKEN`); `None` turns the console off.
    pub admin: Option<AdminSettings>,
    /// Where the page and the console link a job's trace (`TRACE_UI_URL_TEMPLATE`).
    pub trace_ui: crate::telemetry::TraceUi,
    /// `cargo leptos watch` is serving the page (`LEPTOS_WATCH` set): the page opens a reload
    /// WebSocket, which its Content-Security-Policy must allow.
    pub live_reload: bool,
}

/// `LOG_FORMAT`, read before anything else so that even configuration errors are logged in it.
pub fn log_format() -> Result<&'static str, ConfigError> {
    Vars(&|name| std::env::var(name).ok()).one_of(&LOG_FORMAT)
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT`, read with the logs' settings (traces start with them): `None`
/// turns traces off; a value must be an http(s) URL.
pub fn trace_endpoint() -> Result<Option<String>, ConfigError> {
    let vars = Vars(&|name| std::env::var(name).ok());
    let Some(endpoint) = vars.value(&variables::OTEL_EXPORTER_OTLP_ENDPOINT) else {
        return Ok(None);
    };
    let is_url = reqwest::Url::parse(&endpoint)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    vars.check(&variables::OTEL_EXPORTER_OTLP_ENDPOINT, &endpoint, is_url)?;
    Ok(Some(endpoint))
}

/// `TRACE_UI_URL_TEMPLATE`: an http(s) URL with `{traceId}` where the id goes.
fn trace_ui(vars: &Vars<'_>) -> Result<crate::telemetry::TraceUi, ConfigError> {
    let Some(template) = vars.value(&TRACE_UI_URL_TEMPLATE) else {
        return Ok(crate::telemetry::TraceUi::default());
    };
    let placeholder = crate::telemetry::TraceUi::PLACEHOLDER;
    let example = template.replace(placeholder, "4bf92f3577b34da6a3ce929d0e0e4736");
    let valid = template.contains(placeholder)
        && reqwest::Url::parse(&example)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    vars.check(&TRACE_UI_URL_TEMPLATE, &template, valid)?;
    Ok(crate::telemetry::TraceUi::new(Some(template)))
}

/// Who may use the operator console, and for how long a sign-in holds.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    pub token: Secret,
    pub session_ttl: Duration,
}

impl AdminSettings {
    fn from_vars(vars: &Vars<'_>) -> Result<Option<Self>, ConfigError> {
        let Some(token) = vars.value(&ADMIN_TOKEN) else {
            return Ok(None);
        };
        // A short token could be guessed despite the sign-in rate limit; stars, never the value.
        vars.check(&ADMIN_TOKEN, "***", token.chars().count() >= 16)?;
        Ok(Some(Self {
            token: Secret::new(token),
            session_ttl: vars.duration(&ADMIN_SESSION_TTL_SECS)?,
        }))
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// What the server runs with when nothing is set.
    pub fn defaults() -> Self {
        Self::from_lookup(|_| None).expect("the declared defaults are valid")
    }

    /// Reads variables through `lookup`, so tests can configure without touching the process.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let s3 = S3Settings::from_vars(&vars)?;
        let queue_prefix = vars.text(&QUEUE_PREFIX);
        vars.check(
            &QUEUE_PREFIX,
            &queue_prefix,
            queue_prefix.len() <= 64
                && queue_prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')),
        )?;
        let result_ttl = vars.duration(&RESULT_TTL_SECS)?;
        let finished_record_ttl = match vars.value(&FINISHED_RECORD_TTL_SECS) {
            None => vars.duration(&FINISHED_RECORD_TTL_SECS)?.min(result_ttl),
            Some(raw) => match vars.duration(&FINISHED_RECORD_TTL_SECS)? {
                ttl if ttl > result_ttl => {
                    return Err(vars.invalid(
                        &FINISHED_RECORD_TTL_SECS,
                        raw,
                        "use no more than RESULT_TTL_SECS",
                    ))
                }
                ttl => ttl,
            },
        };
        Ok(Self {
            redis: redis_url::redis_target(&vars)?,
            queue_prefix,
            queue: QueueSettings {
                max_attempts: vars.number(&JOB_MAX_ATTEMPTS)?,
                retry_backoff_base: vars.duration(&RETRY_BACKOFF_BASE_MS)?,
                lease_ttl: vars.duration(&LEASE_TTL_MS)?,
                result_ttl,
                finished_record_ttl,
                expired_record_ttl: vars.duration(&EXPIRED_RECORD_TTL_SECS)?,
                max_active_per_client: vars.number(&MAX_ACTIVE_JOBS_PER_CLIENT)?,
            },
            worker: WorkerSettings {
                concurrency: vars.number(&WORKER_CONCURRENCY)?,
                max_job_bytes: vars.number(&MAX_JOB_BYTES)?,
                max_files_per_job: vars.number(&MAX_FILES_PER_JOB)?,
                completion_delay: vars.duration(&SIMULATED_COMPLETION_DELAY_MS)?,
            },
            shutdown_grace: vars.duration(&SHUTDOWN_GRACE_MS)?,
            origin: OriginSettings::from_vars(&vars, s3.as_ref())?,
            presign_ttl: vars.duration(&PRESIGN_TTL_SECS)?,
            local_storage_dir: PathBuf::from(vars.text(&LOCAL_STORAGE_DIR)),
            local_storage_secret: vars.value(&LOCAL_STORAGE_SECRET),
            http: HttpSettings::from_vars(&vars)?,
            admin: AdminSettings::from_vars(&vars)?,
            trace_ui: trace_ui(&vars)?,
            live_reload: vars.value(&LEPTOS_WATCH).is_some(),
            s3,
        })
    }
}
