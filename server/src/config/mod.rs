//! Configuration: read from the environment once, at start-up, and validated there.
//!
//! A bad value stops the server with a message naming the variable, instead of surfacing as odd
//! behaviour hours later. Everything else receives typed settings, never raw strings.

//!
//! One module per concern: [`http`] (CORS, rate limits, proxies, connections), [`origin`] (where
//! files come from), [`storage`] (S3 for results), [`redis_url`] (the queue's Redis), and
//! [`vars`], the typed reader that names the variable in every error.

mod http;
mod origin;
mod redis_url;
mod storage;
#[cfg(test)]
mod tests;
mod vars;

pub use http::{
    HttpSettings, RateBudget, DEFAULT_INITIATE_RATE_LIMIT_MAX_REQUESTS,
    DEFAULT_RATE_LIMIT_MAX_REQUESTS, DEFAULT_TRUSTED_PROXIES,
};
pub use origin::OriginSettings;
pub use storage::{S3Settings, Secret};

use crate::{
    queue::{redis::RedisTarget, QueueSettings},
    worker::WorkerSettings,
};
use app::api::MAX_FILE_IDS_PER_JOB;
use std::{path::PathBuf, time::Duration};
use vars::Vars;

/// Every environment variable the server reads: its own (validated here), Leptos' (`LEPTOS_*`,
/// read by `leptos_config`) and the log settings (read by [`crate::telemetry`]).
/// `server --print-config-keys` prints them, so deployment files can be checked against them.
pub const VARIABLES: &[&str] = &[
    "LEPTOS_SITE_ADDR",
    "LEPTOS_SITE_ROOT",
    "LEPTOS_SITE_PKG_DIR",
    "LEPTOS_OUTPUT_NAME",
    "LEPTOS_ENV",
    "LEPTOS_HASH_FILES",
    "LEPTOS_HASH_FILE_NAME",
    "LEPTOS_RELOAD_PORT",
    "LEPTOS_WATCH",
    "RUST_LOG",
    "LOG_FORMAT",
    "REDIS_URL",
    "REDIS_CLUSTER_NODES",
    "QUEUE_PREFIX",
    "JOB_MAX_ATTEMPTS",
    "RETRY_BACKOFF_BASE_MS",
    "LEASE_TTL_MS",
    "RESULT_TTL_SECS",
    "FINISHED_RECORD_TTL_SECS",
    "EXPIRED_RECORD_TTL_SECS",
    "MAX_ACTIVE_JOBS_PER_CLIENT",
    "PRESIGN_TTL_SECS",
    "ORIGIN",
    "ORIGIN_S3_BUCKET",
    "ORIGIN_S3_KEY_TEMPLATE",
    "ORIGIN_S3_ENDPOINT",
    "ORIGIN_S3_REGION",
    "ORIGIN_S3_ACCESS_KEY_ID",
    "ORIGIN_S3_SECRET_ACCESS_KEY",
    "ORIGIN_S3_FORCE_PATH_STYLE",
    "ORIGIN_URL_TEMPLATE",
    "ORIGIN_AUTH_HEADER",
    "ORIGIN_CONNECT_TIMEOUT_MS",
    "ORIGIN_READ_TIMEOUT_MS",
    "ORIGIN_MAX_REDIRECTS",
    "MAX_JOB_BYTES",
    "MAX_FILES_PER_JOB",
    "DOWNLOAD_DELAY_MIN_MS",
    "DOWNLOAD_DELAY_MAX_MS",
    "WORKER_CONCURRENCY",
    "SIMULATED_FAILURE_RATE",
    "SIMULATED_FAILURE_FILE_IDS",
    "SIMULATED_FILE_SIZE_BYTES",
    "SIMULATED_COMPLETION_DELAY_MS",
    "SHUTDOWN_GRACE_MS",
    "S3_ENDPOINT",
    "S3_PUBLIC_ENDPOINT",
    "S3_REGION",
    "S3_BUCKET_NAME",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_FORCE_PATH_STYLE",
    "LOCAL_STORAGE_DIR",
    "LOCAL_STORAGE_SECRET",
    "CORS_ORIGINS",
    "RATE_LIMIT_MAX_REQUESTS",
    "RATE_LIMIT_WINDOW_MS",
    "INITIATE_RATE_LIMIT_MAX_REQUESTS",
    "INITIATE_RATE_LIMIT_WINDOW_MS",
    "TRUSTED_PROXIES",
    "MAX_QUEUE_DEPTH",
    "HTTP_HEADER_TIMEOUT_MS",
    "HTTP_MAX_CONNECTIONS",
];

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
    /// `cargo leptos watch` is serving the page (`LEPTOS_WATCH` set): the page opens a reload
    /// WebSocket, which its Content-Security-Policy must allow.
    pub live_reload: bool,
}

/// The most bytes one job may fetch when `MAX_JOB_BYTES` is not set: 10 GiB.
pub const DEFAULT_MAX_JOB_BYTES: u64 = 10 << 30;

/// How long cancelled and failed records stay when nothing is configured (or `RESULT_TTL_SECS`
/// if that is shorter): long enough for a client to see the outcome, short enough that a flood
/// of create-and-cancel cannot fill Redis.
pub const DEFAULT_FINISHED_RECORD_TTL_SECS: u64 = 3_600;

/// How long a completed record outlives its result when nothing is configured: a week of
/// "expired on …" instead of "unknown job" for someone who comes back late, at a few hundred
/// bytes of Redis per job.
pub const DEFAULT_EXPIRED_RECORD_TTL_SECS: u64 = 7 * 86_400;

/// Unfinished jobs one client may have when nothing is configured.
pub const DEFAULT_MAX_ACTIVE_JOBS_PER_CLIENT: u32 = 20;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests can configure without touching the process.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let s3 = S3Settings::from_vars(&vars)?;
        let redis = redis_url::redis_target(&vars)?;
        let queue_prefix = vars.get("QUEUE_PREFIX").unwrap_or_else(|| "ferry".into());
        vars.check(
            "QUEUE_PREFIX",
            &queue_prefix,
            queue_prefix.len() <= 64
                && !queue_prefix.is_empty()
                && queue_prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')),
            "use 1 to 64 letters, digits, '-', '_', '.' or ':'",
        )?;

        let max_attempts: u32 = vars.parse("JOB_MAX_ATTEMPTS", 4)?;
        vars.check(
            "JOB_MAX_ATTEMPTS",
            max_attempts,
            (1..=100).contains(&max_attempts),
            "use 1 to 100",
        )?;
        let retry_backoff_base_ms: u64 = vars.parse("RETRY_BACKOFF_BASE_MS", 1_000)?;
        let lease_ttl_ms: u64 = vars.parse("LEASE_TTL_MS", 15_000)?;
        vars.check(
            "LEASE_TTL_MS",
            lease_ttl_ms,
            lease_ttl_ms >= 100,
            "use at least 100 ms",
        )?;
        let result_ttl_secs: u64 = vars.parse("RESULT_TTL_SECS", 86_400)?;
        vars.check(
            "RESULT_TTL_SECS",
            result_ttl_secs,
            result_ttl_secs >= 1,
            "use at least 1 s",
        )?;
        let finished_record_ttl_secs: u64 = vars.parse(
            "FINISHED_RECORD_TTL_SECS",
            DEFAULT_FINISHED_RECORD_TTL_SECS.min(result_ttl_secs),
        )?;
        vars.check(
            "FINISHED_RECORD_TTL_SECS",
            finished_record_ttl_secs,
            (1..=result_ttl_secs).contains(&finished_record_ttl_secs),
            "use at least 1 s and no more than RESULT_TTL_SECS",
        )?;
        let expired_record_ttl_secs: u64 =
            vars.parse("EXPIRED_RECORD_TTL_SECS", DEFAULT_EXPIRED_RECORD_TTL_SECS)?;
        vars.check(
            "EXPIRED_RECORD_TTL_SECS",
            expired_record_ttl_secs,
            expired_record_ttl_secs <= 90 * 86_400,
            "use 0 (forget a job with its result) to 7776000 s (90 days)",
        )?;
        let max_active_per_client: u32 = vars.parse(
            "MAX_ACTIVE_JOBS_PER_CLIENT",
            DEFAULT_MAX_ACTIVE_JOBS_PER_CLIENT,
        )?;
        vars.check(
            "MAX_ACTIVE_JOBS_PER_CLIENT",
            max_active_per_client,
            max_active_per_client >= 1,
            "use at least 1",
        )?;
        let presign_ttl_secs: u64 = vars.parse("PRESIGN_TTL_SECS", 3_600)?;
        vars.check(
            "PRESIGN_TTL_SECS",
            presign_ttl_secs,
            (1..=604_800).contains(&presign_ttl_secs),
            "use 1 s to 7 days (the S3 limit)",
        )?;

        let concurrency: usize = vars.parse("WORKER_CONCURRENCY", 5)?;
        vars.check(
            "WORKER_CONCURRENCY",
            concurrency,
            concurrency <= 1_000,
            "use 0 to 1000",
        )?;
        let max_job_bytes: u64 = vars.parse("MAX_JOB_BYTES", DEFAULT_MAX_JOB_BYTES)?;
        vars.check(
            "MAX_JOB_BYTES",
            max_job_bytes,
            max_job_bytes >= 1,
            "use at least 1 byte",
        )?;
        let max_files_per_job: usize = vars.parse("MAX_FILES_PER_JOB", MAX_FILE_IDS_PER_JOB)?;
        vars.check(
            "MAX_FILES_PER_JOB",
            max_files_per_job,
            (1..=MAX_FILE_IDS_PER_JOB).contains(&max_files_per_job),
            "use 1 to 1000 (the API's bound)",
        )?;
        let origin = OriginSettings::from_vars(&vars, s3.as_ref())?;
        let completion_delay_ms: u64 = vars.parse("SIMULATED_COMPLETION_DELAY_MS", 0)?;
        vars.check(
            "SIMULATED_COMPLETION_DELAY_MS",
            completion_delay_ms,
            completion_delay_ms <= 600_000,
            "use 0 to 600000 (10 minutes)",
        )?;
        let shutdown_grace_ms: u64 = vars.parse("SHUTDOWN_GRACE_MS", 10_000)?;
        let http = HttpSettings::from_vars(&vars)?;

        Ok(Self {
            s3,
            redis,
            queue_prefix,
            queue: QueueSettings {
                max_attempts,
                retry_backoff_base: Duration::from_millis(retry_backoff_base_ms),
                lease_ttl: Duration::from_millis(lease_ttl_ms),
                result_ttl: Duration::from_secs(result_ttl_secs),
                finished_record_ttl: Duration::from_secs(finished_record_ttl_secs),
                expired_record_ttl: Duration::from_secs(expired_record_ttl_secs),
                max_active_per_client,
            },
            worker: WorkerSettings {
                concurrency,
                max_job_bytes,
                max_files_per_job,
                completion_delay: Duration::from_millis(completion_delay_ms),
                lease_ttl: Duration::from_millis(lease_ttl_ms),
                shutdown_grace: Duration::from_millis(shutdown_grace_ms),
            },
            origin,
            presign_ttl: Duration::from_secs(presign_ttl_secs),
            local_storage_dir: vars
                .get("LOCAL_STORAGE_DIR")
                .map_or_else(|| PathBuf::from("data/results"), PathBuf::from),
            local_storage_secret: vars.get("LOCAL_STORAGE_SECRET"),
            http,
            live_reload: vars.get("LEPTOS_WATCH").is_some(),
        })
    }
}
