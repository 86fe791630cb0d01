//! Configuration: read from the environment once, at start-up, and validated there.
//!
//! A bad value stops the server with a message naming the variable, instead of surfacing as odd
//! behaviour hours later. Everything else receives typed settings, never raw strings.

use crate::{
    origin::{
        http::{url_for, HttpOriginSettings},
        s3::{S3OriginSettings, FILE_ID_PLACEHOLDER},
        simulated::{SimulatedSettings, DEFAULT_FILE_BYTES},
    },
    queue::{redis::RedisTarget, QueueSettings},
    worker::WorkerSettings,
};
use app::api::{FileId, MAX_FILE_IDS_PER_JOB};
use std::{collections::HashSet, path::PathBuf, str::FromStr, time::Duration};

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

/// The origin `ORIGIN` selects, with its own settings.
#[derive(Debug, Clone)]
pub enum OriginSettings {
    /// Generated files (`ORIGIN=simulated`, the default).
    Simulated(SimulatedSettings),
    /// Objects in a source bucket (`ORIGIN=s3`).
    S3(S3OriginSettings),
    /// An upstream HTTP service (`ORIGIN=http`).
    Http(HttpOriginSettings),
}

/// The most bytes one job may fetch when `MAX_JOB_BYTES` is not set: 10 GiB.
pub const DEFAULT_MAX_JOB_BYTES: u64 = 10 << 30;

/// Policies of the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Origins allowed to call the API from a browser (`CORS_ORIGINS`); `None` allows any (`*`).
    pub cors_origins: Option<Vec<String>>,
    /// What one client may read: status, check, the page (`RATE_LIMIT_*`).
    pub rate_limit: RateBudget,
    /// How many jobs one client may start (`INITIATE_RATE_LIMIT_*`): each costs a worker's time,
    /// so this allowance is much smaller than the one for reads.
    pub initiate_rate_limit: RateBudget,
    /// Peers whose `X-Forwarded-*` headers are believed (`TRUSTED_PROXIES`): the proxies in
    /// front of Ferry. Any other peer is the client itself, whatever header it sends.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Waiting jobs (queued or retrying) beyond which initiate answers 503 (`MAX_QUEUE_DEPTH`).
    pub max_queue_depth: u64,
    /// What one connection may cost: its header deadline and the cap on open connections.
    pub connection_limits: crate::http::serve::ConnectionLimits,
}

/// A request allowance: `max_requests` per `window`, refilling evenly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub max_requests: u32,
    pub window: Duration,
}

/// Requests per client and window when nothing is configured: a tab following five downloads
/// polls 150 times a minute, so 600 leaves room for several tabs behind one address.
pub const DEFAULT_RATE_LIMIT_MAX_REQUESTS: u32 = 600;

/// Jobs a client may start per window when nothing is configured: a person clicking Download,
/// even quickly, starts a few a minute; a script that starts more should say so in the config.
pub const DEFAULT_INITIATE_RATE_LIMIT_MAX_REQUESTS: u32 = 30;

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

/// Proxies trusted by default: this host only. A deployment names its own proxies (compose sets
/// nginx's address); trusting whole private ranges would let any machine in them speak for
/// anyone.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests can configure without touching the process.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let s3 = S3Settings::from_vars(&vars)?;
        let redis = redis_target(&vars)?;
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

impl HttpSettings {
    fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let cors_origins = match vars.get("CORS_ORIGINS") {
            None => None,
            Some(value) if value.trim() == "*" => None,
            Some(value) => {
                let origins: Vec<String> = value
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect();
                let well_formed = !origins.is_empty()
                    && origins.iter().all(|o| {
                        (o.starts_with("http://") || o.starts_with("https://"))
                            && axum::http::HeaderValue::from_str(o).is_ok()
                    });
                vars.check(
                    "CORS_ORIGINS",
                    &value,
                    well_formed,
                    "use * or a comma-separated list of origins such as https://app.example.com",
                )?;
                Some(origins)
            }
        };
        let rate_limit = rate_budget(
            vars,
            "RATE_LIMIT_MAX_REQUESTS",
            DEFAULT_RATE_LIMIT_MAX_REQUESTS,
            "RATE_LIMIT_WINDOW_MS",
        )?;
        let initiate_rate_limit = rate_budget(
            vars,
            "INITIATE_RATE_LIMIT_MAX_REQUESTS",
            DEFAULT_INITIATE_RATE_LIMIT_MAX_REQUESTS,
            "INITIATE_RATE_LIMIT_WINDOW_MS",
        )?;
        let proxies = vars
            .get("TRUSTED_PROXIES")
            .unwrap_or_else(|| DEFAULT_TRUSTED_PROXIES.into());
        let trusted_proxies = proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "none")
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| ConfigError::Invalid {
                        name: "TRUSTED_PROXIES",
                        value: proxies.clone(),
                        reason: format!("{p:?} is neither an IP address nor a CIDR range (use none to trust no proxy)"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max_queue_depth: u64 = vars.parse("MAX_QUEUE_DEPTH", 10_000)?;
        vars.check(
            "MAX_QUEUE_DEPTH",
            max_queue_depth,
            max_queue_depth >= 1,
            "use at least 1",
        )?;
        let header_timeout_ms: u64 = vars.parse("HTTP_HEADER_TIMEOUT_MS", 10_000)?;
        vars.check(
            "HTTP_HEADER_TIMEOUT_MS",
            header_timeout_ms,
            (100..=300_000).contains(&header_timeout_ms),
            "use 100 ms to 5 minutes",
        )?;
        let max_connections: usize = vars.parse("HTTP_MAX_CONNECTIONS", 10_000)?;
        vars.check(
            "HTTP_MAX_CONNECTIONS",
            max_connections,
            (1..=1_000_000).contains(&max_connections),
            "use 1 to 1000000",
        )?;
        Ok(Self {
            connection_limits: crate::http::serve::ConnectionLimits {
                header_timeout: Duration::from_millis(header_timeout_ms),
                max_connections,
            },
            cors_origins,
            rate_limit,
            initiate_rate_limit,
            trusted_proxies,
            max_queue_depth,
        })
    }
}

/// A budget of `max_name` requests (default `default_max`) per `window_name` ms (default a
/// minute).
fn rate_budget(
    vars: &Vars<'_>,
    max_name: &'static str,
    default_max: u32,
    window_name: &'static str,
) -> Result<RateBudget, ConfigError> {
    let max_requests: u32 = vars.parse(max_name, default_max)?;
    vars.check(max_name, max_requests, max_requests >= 1, "use at least 1")?;
    let window_ms: u64 = vars.parse(window_name, 60_000)?;
    vars.check(
        window_name,
        window_ms,
        (1..=86_400_000).contains(&window_ms),
        "use 1 ms to 1 day",
    )?;
    Ok(RateBudget {
        max_requests,
        window: Duration::from_millis(window_ms),
    })
}

impl OriginSettings {
    fn from_vars(vars: &Vars<'_>, results: Option<&S3Settings>) -> Result<Self, ConfigError> {
        match vars.get("ORIGIN").as_deref().map(str::trim) {
            None | Some("simulated") => Ok(Self::Simulated(simulated_settings(vars)?)),
            Some("s3") => Ok(Self::S3(s3_origin_settings(vars, results)?)),
            Some("http") => Ok(Self::Http(http_origin_settings(vars)?)),
            Some(other) => Err(ConfigError::Invalid {
                name: "ORIGIN",
                value: other.to_owned(),
                reason: "use simulated, s3 or http".into(),
            }),
        }
    }
}

fn simulated_settings(vars: &Vars<'_>) -> Result<SimulatedSettings, ConfigError> {
    let delay_min_ms: u64 = vars.parse("DOWNLOAD_DELAY_MIN_MS", 10_000)?;
    let delay_max_ms: u64 = vars.parse("DOWNLOAD_DELAY_MAX_MS", 120_000)?;
    vars.check(
        "DOWNLOAD_DELAY_MAX_MS",
        delay_max_ms,
        delay_max_ms >= delay_min_ms,
        "must not be below DOWNLOAD_DELAY_MIN_MS",
    )?;
    let failure_rate: f64 = vars.parse("SIMULATED_FAILURE_RATE", 0.0)?;
    vars.check(
        "SIMULATED_FAILURE_RATE",
        failure_rate,
        (0.0..=1.0).contains(&failure_rate),
        "use a probability from 0 to 1",
    )?;
    let failing_file_ids = vars.file_id_set("SIMULATED_FAILURE_FILE_IDS")?;
    let file_bytes: u64 = vars.parse("SIMULATED_FILE_SIZE_BYTES", DEFAULT_FILE_BYTES)?;
    vars.check(
        "SIMULATED_FILE_SIZE_BYTES",
        file_bytes,
        (1..=1 << 32).contains(&file_bytes),
        "use 1 byte to 4 GiB",
    )?;
    Ok(SimulatedSettings {
        delay_ms: (delay_min_ms, delay_max_ms),
        failure_rate,
        failing_file_ids,
        file_bytes,
    })
}

/// A template must name the file: `{file_id}` somewhere in it.
fn check_template(vars: &Vars<'_>, name: &'static str, template: &str) -> Result<(), ConfigError> {
    vars.check(
        name,
        template,
        template.contains(FILE_ID_PLACEHOLDER),
        "put {file_id} where the file's id goes",
    )
}

/// The source bucket, with endpoint, region and credentials defaulting to the result store's.
fn s3_origin_settings(
    vars: &Vars<'_>,
    results: Option<&S3Settings>,
) -> Result<S3OriginSettings, ConfigError> {
    let bucket = vars.get("ORIGIN_S3_BUCKET").ok_or(ConfigError::Invalid {
        name: "ORIGIN_S3_BUCKET",
        value: String::new(),
        reason: "ORIGIN=s3 needs the bucket the files are in".into(),
    })?;
    check_bucket(vars, "ORIGIN_S3_BUCKET", &bucket)?;
    let key_template = vars
        .get("ORIGIN_S3_KEY_TEMPLATE")
        .unwrap_or_else(|| format!("files/{FILE_ID_PLACEHOLDER}"));
    check_template(vars, "ORIGIN_S3_KEY_TEMPLATE", &key_template)?;
    let endpoint = vars
        .get("ORIGIN_S3_ENDPOINT")
        .or_else(|| results.and_then(|r| r.endpoint.clone()));
    if let Some(url) = &endpoint {
        check_http_url(vars, "ORIGIN_S3_ENDPOINT", url)?;
    }
    let (access_key_id, secret_access_key) = match (
        vars.get("ORIGIN_S3_ACCESS_KEY_ID"),
        vars.get("ORIGIN_S3_SECRET_ACCESS_KEY").map(Secret),
    ) {
        (None, None) => (
            results.and_then(|r| r.access_key_id.clone()),
            results.and_then(|r| r.secret_access_key.clone()),
        ),
        (Some(id), Some(secret)) => (Some(id), Some(secret)),
        _ => return Err(ConfigError::Invalid {
            name: "ORIGIN_S3_SECRET_ACCESS_KEY",
            value: "***".into(),
            reason:
                "set ORIGIN_S3_ACCESS_KEY_ID and ORIGIN_S3_SECRET_ACCESS_KEY together, or neither"
                    .into(),
        }),
    };
    let region = vars
        .get("ORIGIN_S3_REGION")
        .or_else(|| results.map(|r| r.region.clone()))
        .unwrap_or_else(|| "us-east-1".into());
    let force_path_style = vars.parse("ORIGIN_S3_FORCE_PATH_STYLE", endpoint.is_some())?;
    Ok(S3OriginSettings {
        s3: S3Settings {
            endpoint,
            public_endpoint: None,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            force_path_style,
        },
        key_template,
    })
}

fn http_origin_settings(vars: &Vars<'_>) -> Result<HttpOriginSettings, ConfigError> {
    let url_template = vars
        .get("ORIGIN_URL_TEMPLATE")
        .ok_or(ConfigError::Invalid {
            name: "ORIGIN_URL_TEMPLATE",
            value: String::new(),
            reason: "ORIGIN=http needs the URL of a file, such as http://files.internal/{file_id}"
                .into(),
        })?;
    check_template(vars, "ORIGIN_URL_TEMPLATE", &url_template)?;
    let sample = FileId::new(app::api::FILE_ID_MIN).expect("the smallest id is valid");
    let sample_url = url_for(&url_template, sample);
    vars.check(
        "ORIGIN_URL_TEMPLATE",
        &url_template,
        sample_url.is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host()),
        "use an http:// or https:// URL with a host",
    )?;
    let auth_header = match vars.get("ORIGIN_AUTH_HEADER") {
        None => None,
        Some(raw) => {
            let parsed = raw.split_once(':').and_then(|(name, value)| {
                let name = name.trim();
                let value = value.trim();
                let valid = axum::http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                    && axum::http::HeaderValue::from_str(value).is_ok()
                    && !value.is_empty();
                valid.then(|| (name.to_owned(), Secret(value.to_owned())))
            });
            Some(parsed.ok_or(ConfigError::Invalid {
                name: "ORIGIN_AUTH_HEADER",
                value: "***".into(),
                reason: "use Name: value, such as Authorization: Bearer <token>".into(),
            })?)
        }
    };
    let connect_timeout_ms: u64 = vars.parse("ORIGIN_CONNECT_TIMEOUT_MS", 5_000)?;
    let read_timeout_ms: u64 = vars.parse("ORIGIN_READ_TIMEOUT_MS", 30_000)?;
    for (name, value) in [
        ("ORIGIN_CONNECT_TIMEOUT_MS", connect_timeout_ms),
        ("ORIGIN_READ_TIMEOUT_MS", read_timeout_ms),
    ] {
        vars.check(
            name,
            value,
            (1..=3_600_000).contains(&value),
            "use 1 ms to 1 hour",
        )?;
    }
    let max_redirects: usize = vars.parse("ORIGIN_MAX_REDIRECTS", 5)?;
    vars.check(
        "ORIGIN_MAX_REDIRECTS",
        max_redirects,
        max_redirects <= 20,
        "use 0 to 20",
    )?;
    Ok(HttpOriginSettings {
        url_template,
        auth_header,
        connect_timeout: Duration::from_millis(connect_timeout_ms),
        read_timeout: Duration::from_millis(read_timeout_ms),
        max_redirects,
    })
}

fn check_http_url(vars: &Vars<'_>, name: &'static str, url: &str) -> Result<(), ConfigError> {
    vars.check(
        name,
        url,
        url.starts_with("http://") || url.starts_with("https://"),
        "use an http:// or https:// URL",
    )
}

fn check_bucket(vars: &Vars<'_>, name: &'static str, bucket: &str) -> Result<(), ConfigError> {
    vars.check(
        name,
        bucket,
        (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.')),
        "use 3 to 63 lowercase letters, digits, '-' or '.'",
    )
}

/// `REDIS_URL` (one server) or `REDIS_CLUSTER_NODES` (`host:port,...` of a cluster), not both.
fn redis_target(vars: &Vars<'_>) -> Result<Option<RedisTarget>, ConfigError> {
    let check_url = |name: &'static str, url: &str| {
        redis::IntoConnectionInfo::into_connection_info(url)
            .map(|_| ())
            .map_err(|e| ConfigError::Invalid {
                name,
                // The error is printed at start-up: never with the password in it.
                value: crate::queue::redis::redacted(url),
                reason: format!("{e} (expected redis://[:password@]host[:port][/db])"),
            })
    };
    match (vars.get("REDIS_URL"), vars.get("REDIS_CLUSTER_NODES")) {
        (Some(_), Some(nodes)) => Err(ConfigError::Invalid {
            name: "REDIS_CLUSTER_NODES",
            value: nodes,
            reason: "set REDIS_URL for one server or REDIS_CLUSTER_NODES for a cluster, not both"
                .into(),
        }),
        (Some(url), None) => {
            check_url("REDIS_URL", &url)?;
            Ok(Some(RedisTarget::Server(url)))
        }
        (None, Some(nodes)) => {
            let urls: Vec<String> = nodes
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| {
                    if n.contains("://") {
                        n.to_owned()
                    } else {
                        format!("redis://{n}")
                    }
                })
                .collect();
            if urls.is_empty() {
                return Err(ConfigError::Invalid {
                    name: "REDIS_CLUSTER_NODES",
                    value: nodes,
                    reason: "list at least one node as host:port".into(),
                });
            }
            for url in &urls {
                check_url("REDIS_CLUSTER_NODES", url)?;
            }
            Ok(Some(RedisTarget::Cluster(urls)))
        }
        (None, None) => Ok(None),
    }
}

/// Where results go when S3 is configured (`S3_ENDPOINT` or `S3_BUCKET_NAME` set).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// API endpoint the server talks to; `None` is AWS itself.
    pub endpoint: Option<String>,
    /// Endpoint the browser reaches, which presigned links are signed for.
    pub public_endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Static credentials; without them the standard AWS credential chain applies.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Path-style URLs (`http://host/bucket/key`), which MinIO and SeaweedFS need.
    pub force_path_style: bool,
}

impl S3Settings {
    fn from_vars(vars: &Vars<'_>) -> Result<Option<Self>, ConfigError> {
        let endpoint = vars.get("S3_ENDPOINT");
        let bucket = vars.get("S3_BUCKET_NAME");
        if endpoint.is_none() && bucket.is_none() {
            return Ok(None);
        }
        for (name, url) in [
            ("S3_ENDPOINT", &endpoint),
            ("S3_PUBLIC_ENDPOINT", &vars.get("S3_PUBLIC_ENDPOINT")),
        ] {
            if let Some(url) = url {
                check_http_url(vars, name, url)?;
            }
        }
        let bucket = bucket.unwrap_or_else(|| "downloads".into());
        check_bucket(vars, "S3_BUCKET_NAME", &bucket)?;
        let access_key_id = vars.get("S3_ACCESS_KEY_ID");
        let secret_access_key = vars.get("S3_SECRET_ACCESS_KEY").map(Secret);
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(ConfigError::Invalid {
                name: "S3_SECRET_ACCESS_KEY",
                value: "***".into(),
                reason: "set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY together, or neither".into(),
            });
        }
        Ok(Some(Self {
            public_endpoint: vars.get("S3_PUBLIC_ENDPOINT"),
            region: vars.get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            force_path_style: vars.parse("S3_FORCE_PATH_STYLE", endpoint.is_some())?,
            endpoint,
            bucket,
            access_key_id,
            secret_access_key,
        }))
    }
}

/// A secret that never shows in logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Typed access to the variables, producing errors that name them.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn parse<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                    value,
                }),
        }
    }

    fn check<T: ToString>(
        &self,
        name: &'static str,
        value: T,
        ok: bool,
        reason: &str,
    ) -> Result<(), ConfigError> {
        if ok {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                name,
                value: value.to_string(),
                reason: reason.into(),
            })
        }
    }

    fn file_id_set(&self, name: &'static str) -> Result<HashSet<FileId>, ConfigError> {
        let Some(value) = self.get(name) else {
            return Ok(HashSet::new());
        };
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|e| e.to_string())
                    .and_then(|raw| FileId::new(raw).map_err(|e| e.to_string()))
                    .map_err(|reason| ConfigError::Invalid {
                        name,
                        value: value.clone(),
                        reason,
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = config(&[]).unwrap();
        assert_eq!(c.queue, QueueSettings::default());
        assert_eq!(c.worker.concurrency, 5);
        assert_eq!(c.presign_ttl, Duration::from_secs(3_600));
        let OriginSettings::Simulated(simulated) = c.origin else {
            panic!("the simulated origin is the default");
        };
        assert_eq!(simulated, SimulatedSettings::default());
        assert_eq!(c.worker.max_job_bytes, 10 * 1024 * 1024 * 1024);
        assert_eq!(c.worker.max_files_per_job, 1000);
    }

    #[test]
    fn the_published_variable_list_is_exactly_what_the_parser_reads() {
        let read = std::cell::RefCell::new(HashSet::new());
        // With a bucket set, the S3 branch is read too; each origin reads its own.
        for origin in ["simulated", "s3", "http"] {
            Config::from_lookup(|name| {
                read.borrow_mut().insert(name.to_owned());
                match name {
                    "S3_BUCKET_NAME" => Some("downloads".to_owned()),
                    "ORIGIN" => Some(origin.to_owned()),
                    "ORIGIN_S3_BUCKET" => Some("files".to_owned()),
                    "ORIGIN_URL_TEMPLATE" => Some("http://files.internal/{file_id}".to_owned()),
                    _ => None,
                }
            })
            .unwrap();
        }
        let read = read.into_inner();
        let published: HashSet<String> = VARIABLES
            .iter()
            .filter(|name| {
                // Leptos' own variables, except LEPTOS_WATCH, which the parser reads too.
                (!name.starts_with("LEPTOS_") || **name == "LEPTOS_WATCH")
                    && !["RUST_LOG", "LOG_FORMAT"].contains(name)
            })
            .map(|name| (*name).to_owned())
            .collect();
        assert_eq!(read, published);
    }

    #[test]
    fn a_cluster_is_named_by_its_nodes_and_excludes_a_single_server_url() {
        let c = config(&[(
            "REDIS_CLUSTER_NODES",
            "10.0.0.1:7000, redis://10.0.0.2:7001",
        )])
        .unwrap();
        assert_eq!(
            c.redis,
            Some(RedisTarget::Cluster(vec![
                "redis://10.0.0.1:7000".into(),
                "redis://10.0.0.2:7001".into()
            ]))
        );
        let both = config(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("REDIS_CLUSTER_NODES", "10.0.0.1:7000"),
        ]);
        assert!(both
            .unwrap_err()
            .to_string()
            .starts_with("REDIS_CLUSTER_NODES"));
        assert!(config(&[("REDIS_CLUSTER_NODES", " , ")]).is_err());
    }

    #[test]
    fn http_policies_default_to_open_cors_and_generous_limits() {
        let c = config(&[]).unwrap().http;
        assert_eq!(c.cors_origins, None);
        assert_eq!(c.rate_limit.max_requests, 600);
        assert_eq!(c.rate_limit.window, Duration::from_secs(60));
        assert_eq!(c.initiate_rate_limit.max_requests, 30);
        assert_eq!(c.initiate_rate_limit.window, Duration::from_secs(60));
        assert_eq!(c.max_queue_depth, 10_000);
        // Only this host is trusted by default: not the private ranges.
        let trusted = |a: &str| {
            let address: std::net::IpAddr = a.parse().unwrap();
            c.trusted_proxies.iter().any(|net| net.contains(&address))
        };
        assert!(trusted("127.0.0.1") && trusted("::1"));
        assert!(!trusted("10.1.2.3") && !trusted("192.168.0.1") && !trusted("fd00::1"));

        let c = config(&[
            ("CORS_ORIGINS", "https://a.example/, https://b.example"),
            ("TRUSTED_PROXIES", "none"),
        ])
        .unwrap()
        .http;
        assert_eq!(
            c.cors_origins,
            Some(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert!(c.trusted_proxies.is_empty());
    }

    #[test]
    fn a_redis_password_never_reaches_an_error_or_debug_output() {
        let bad = config(&[("REDIS_URL", "redis://:hunter2@cache.internal:notaport")])
            .unwrap_err()
            .to_string();
        assert!(
            bad.starts_with("REDIS_URL") && !bad.contains("hunter2"),
            "{bad}"
        );
        assert!(bad.contains("redis://:***@cache.internal"), "{bad}");
        let good = config(&[("REDIS_URL", "redis://ferry:hunter2@cache.internal:6379/0")]).unwrap();
        let shown = format!("{:?}", good.redis);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("redis://ferry:***@cache.internal:6379/0"),
            "{shown}"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("WORKER_CONCURRENCY", "five"),
            ("CORS_ORIGINS", "example.com"),
            ("RATE_LIMIT_MAX_REQUESTS", "0"),
            ("RATE_LIMIT_WINDOW_MS", "0"),
            ("INITIATE_RATE_LIMIT_MAX_REQUESTS", "0"),
            ("INITIATE_RATE_LIMIT_WINDOW_MS", "-1"),
            ("MAX_ACTIVE_JOBS_PER_CLIENT", "0"),
            ("HTTP_HEADER_TIMEOUT_MS", "5"),
            ("HTTP_MAX_CONNECTIONS", "0"),
            ("FINISHED_RECORD_TTL_SECS", "0"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("MAX_QUEUE_DEPTH", "0"),
            ("JOB_MAX_ATTEMPTS", "0"),
            ("SIMULATED_FAILURE_RATE", "1.5"),
            ("SIMULATED_FAILURE_FILE_IDS", "12345,abc"),
            ("SIMULATED_FAILURE_FILE_IDS", "5"),
            ("LEASE_TTL_MS", "-1"),
        ];
        for (name, value) in cases {
            let error = config(&[(name, value)]).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
        let error = config(&[
            ("DOWNLOAD_DELAY_MIN_MS", "500"),
            ("DOWNLOAD_DELAY_MAX_MS", "100"),
        ])
        .unwrap_err();
        assert!(
            error.to_string().contains("DOWNLOAD_DELAY_MAX_MS"),
            "{error}"
        );
    }

    #[test]
    fn failing_ids_are_parsed() {
        let c = config(&[("SIMULATED_FAILURE_FILE_IDS", "66666, 77777")]).unwrap();
        let OriginSettings::Simulated(simulated) = c.origin else {
            panic!("the simulated origin is the default");
        };
        assert_eq!(simulated.failing_file_ids.len(), 2);
    }

    #[test]
    fn s3_settings_are_read_and_secrets_never_print() {
        assert!(config(&[]).unwrap().s3.is_none());
        let c = config(&[
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("S3_ACCESS_KEY_ID", "minioadmin"),
            ("S3_SECRET_ACCESS_KEY", "very-secret"),
        ])
        .unwrap();
        let s3 = c.s3.unwrap();
        assert_eq!(s3.bucket, "downloads");
        assert_eq!(s3.region, "us-east-1");
        assert!(s3.force_path_style);
        assert!(!format!("{s3:?}").contains("very-secret"));
        for (name, value) in [
            ("S3_ENDPOINT", "127.0.0.1:9000"),
            ("S3_BUCKET_NAME", "Bad_Bucket"),
            ("S3_FORCE_PATH_STYLE", "maybe"),
        ] {
            let error = config(&[("S3_BUCKET_NAME", "downloads"), (name, value)]).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
        let half = config(&[("S3_BUCKET_NAME", "downloads"), ("S3_ACCESS_KEY_ID", "x")]);
        assert!(half.is_err());
    }

    #[test]
    fn origins_are_chosen_and_validated() {
        let c = config(&[
            ("S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("S3_ACCESS_KEY_ID", "results"),
            ("S3_SECRET_ACCESS_KEY", "results-secret"),
            ("ORIGIN", "s3"),
            ("ORIGIN_S3_BUCKET", "source-files"),
        ])
        .unwrap();
        let OriginSettings::S3(s3) = c.origin else {
            panic!("ORIGIN=s3");
        };
        assert_eq!(s3.s3.bucket, "source-files");
        assert_eq!(s3.key_template, "files/{file_id}");
        assert_eq!(s3.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s3.s3.access_key_id.as_deref(), Some("results"));
        assert!(s3.s3.force_path_style);

        let c = config(&[
            ("ORIGIN", "http"),
            ("ORIGIN_URL_TEMPLATE", "https://files.internal/v1/{file_id}"),
            ("ORIGIN_AUTH_HEADER", "Authorization: Bearer top-secret"),
        ])
        .unwrap();
        let OriginSettings::Http(http) = c.origin else {
            panic!("ORIGIN=http");
        };
        let (name, value) = http.auth_header.clone().unwrap();
        assert_eq!(
            (name.as_str(), value.expose()),
            ("Authorization", "Bearer top-secret")
        );
        assert!(!format!("{http:?}").contains("top-secret"));
        assert_eq!(http.max_redirects, 5);

        let cases: &[(&str, &[(&str, &str)])] = &[
            ("ORIGIN", &[("ORIGIN", "ftp")]),
            ("ORIGIN_S3_BUCKET", &[("ORIGIN", "s3")]),
            (
                "ORIGIN_S3_KEY_TEMPLATE",
                &[
                    ("ORIGIN", "s3"),
                    ("ORIGIN_S3_BUCKET", "files"),
                    ("ORIGIN_S3_KEY_TEMPLATE", "files/all"),
                ],
            ),
            ("ORIGIN_URL_TEMPLATE", &[("ORIGIN", "http")]),
            (
                "ORIGIN_URL_TEMPLATE",
                &[
                    ("ORIGIN", "http"),
                    ("ORIGIN_URL_TEMPLATE", "file:///{file_id}"),
                ],
            ),
            (
                "ORIGIN_URL_TEMPLATE",
                &[("ORIGIN", "http"), ("ORIGIN_URL_TEMPLATE", "http://files/")],
            ),
            (
                "ORIGIN_AUTH_HEADER",
                &[
                    ("ORIGIN", "http"),
                    ("ORIGIN_URL_TEMPLATE", "http://f/{file_id}"),
                    ("ORIGIN_AUTH_HEADER", "just-a-token"),
                ],
            ),
            (
                "ORIGIN_READ_TIMEOUT_MS",
                &[
                    ("ORIGIN", "http"),
                    ("ORIGIN_URL_TEMPLATE", "http://f/{file_id}"),
                    ("ORIGIN_READ_TIMEOUT_MS", "0"),
                ],
            ),
            ("MAX_JOB_BYTES", &[("MAX_JOB_BYTES", "0")]),
            ("MAX_FILES_PER_JOB", &[("MAX_FILES_PER_JOB", "1001")]),
        ];
        for (name, vars) in cases {
            let error = config(vars).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
            assert!(!error.to_string().contains("just-a-token"), "{error}");
        }
    }

    #[test]
    fn redis_settings_are_validated() {
        let c = config(&[("REDIS_URL", "redis://127.0.0.1:6379/2")]).unwrap();
        assert_eq!(
            c.redis,
            Some(RedisTarget::Server("redis://127.0.0.1:6379/2".into()))
        );
        assert_eq!(c.queue_prefix, "ferry");
        for (name, value) in [("REDIS_URL", "http://nope"), ("QUEUE_PREFIX", "a}b")] {
            let error = config(&[(name, value)]).unwrap_err();
            assert!(error.to_string().starts_with(name), "{error}");
        }
    }
}
