//! Every environment variable Ferry's deployment knows, declared once: its name, its section,
//! what it means, its default and the values it allows.
//!
//! The parser ([`super::Vars`]) reads a variable through its declaration, so the default and the
//! bounds it applies are the ones written here; `server --print-config-keys`, `.env.example` and
//! the README's configuration table are generated from the same list
//! ([`super::reference`]). Adding a variable is one entry here and one read in the parser.

/// What a variable holds, which decides how it is parsed and what its bounds mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A whole number from `min` to `max` (`u64::MAX`: no upper bound), counted in `unit`.
    Number {
        default: u64,
        min: u64,
        max: u64,
        unit: Unit,
    },
    /// A decimal from `min` to `max`.
    Fraction { default: f64, min: f64, max: f64 },
    /// `true` or `false`; `None` when the default depends on another variable (the doc says how).
    Flag { default: Option<bool> },
    /// One of a fixed set of words.
    OneOf {
        default: &'static str,
        choices: &'static [&'static str],
    },
    /// Free text that the parser checks against `allowed` (said as "use …" in its errors);
    /// an empty default means unset.
    Text {
        default: &'static str,
        allowed: &'static str,
    },
    /// Read by someone else (Leptos, `RUST_LOG`'s filter, docker compose): documented here,
    /// checked by its reader.
    ReadBy {
        reader: Reader,
        default: &'static str,
    },
}

/// What a [`Kind::Number`] counts, which names it in messages and turns it into a `Duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Millis,
    Seconds,
}

/// Who reads a [`Kind::ReadBy`] variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// `leptos_config`, when the server starts.
    Leptos,
    /// `tracing_subscriber`'s filter, in [`crate::telemetry`].
    LogFilter,
    /// `docker-compose.yml`; the server never sees it.
    Compose,
    /// The OpenTelemetry SDK and its OTLP exporter, when traces are on ([`crate::telemetry`]).
    OpenTelemetry,
}

/// A group of variables, with what applies to all of them.
#[derive(Debug, PartialEq, Eq)]
pub struct Section {
    pub title: &'static str,
    pub about: &'static [&'static str],
}

/// One variable, declared once.
#[derive(Debug, PartialEq)]
pub struct Var {
    pub name: &'static str,
    pub section: &'static Section,
    /// What it does, as lines of prose (the `///` lines of its declaration).
    pub doc: &'static [&'static str],
    pub kind: Kind,
}

impl Var {
    /// The default as it would be written in the environment; empty when unset means unset (or
    /// a default that depends on another variable, which the doc explains).
    pub fn default_value(&self) -> String {
        match self.kind {
            Kind::Number { default, .. } => default.to_string(),
            Kind::Fraction { default, .. } => default.to_string(),
            Kind::Flag { default } => default.map(|b| b.to_string()).unwrap_or_default(),
            Kind::OneOf { default, .. }
            | Kind::Text { default, .. }
            | Kind::ReadBy { default, .. } => default.to_owned(),
        }
    }

    /// Whether the server process reads it (compose-only variables are documented, not read).
    pub fn read_by_server(&self) -> bool {
        !matches!(
            self.kind,
            Kind::ReadBy {
                reader: Reader::Compose,
                ..
            }
        )
    }
}

/// Declares each variable as a `pub const` (its rustdoc is its doc) and lists them all, in
/// order, in [`VARIABLES`].
macro_rules! declare {
    ($( $section:ident => { $( $(#[doc = $doc:literal])+ $name:ident: $kind:expr; )+ } )+) => {
        $($(
            $(#[doc = $doc])+
            pub const $name: Var = Var {
                name: stringify!($name),
                section: &$section,
                doc: &[$($doc),+],
                kind: $kind,
            };
        )+)+
        /// Every variable, in the order `.env.example` and the README show them.
        pub const VARIABLES: &[Var] = &[$($($name),+),+];
    };
}

pub(super) const fn number(default: u64, min: u64, max: u64, unit: Unit) -> Kind {
    Kind::Number {
        default,
        min,
        max,
        unit,
    }
}

const fn text(default: &'static str, allowed: &'static str) -> Kind {
    Kind::Text { default, allowed }
}

const fn read_by(reader: Reader, default: &'static str) -> Kind {
    Kind::ReadBy { reader, default }
}

const UNBOUNDED: u64 = u64::MAX;
const HOUR_MS: u64 = 3_600_000;
const DAY_SECS: u64 = 86_400;

/// Any http:// or https:// URL (endpoints).
pub(super) const HTTP_URL: &str = "an http:// or https:// URL";
/// A bucket name S3 accepts.
pub(super) const BUCKET_NAME: &str = "3 to 63 lowercase letters, digits, '-' or '.'";
/// A key or URL template that names the file.
pub(super) const FILE_TEMPLATE: &str = "a template with {file_id} where the file's id goes";
/// A pair of static credentials, or none.
const CREDENTIAL: &str = "set with its pair (access key id and secret), or neither";

pub const SERVER: Section = Section {
    title: "Server",
    about: &["Read by Leptos when the server starts; `cargo leptos` sets them from Cargo.toml."],
};
pub const QUEUE: Section = Section {
    title: "Queue",
    about: &[
        "Unset: the embedded in-memory queue (jobs are lost when the process stops).",
        "Set: jobs live in Redis and survive restarts, crashes and deploys; instances share them.",
        "Run Redis with persistence (appendonly yes) and maxmemory-policy noeviction.",
    ],
};
pub const WORKERS: Section = Section {
    title: "Workers",
    about: &[],
};
pub const ORIGIN_SECTION: Section = Section {
    title: "Origin: where files come from",
    about: &[],
};
pub const RESULTS: Section = Section {
    title: "Results",
    about: &[
        "With S3_ENDPOINT or S3_BUCKET_NAME set, results go to S3 and browsers download them from",
        "S3 through presigned links; otherwise they go to LOCAL_STORAGE_DIR and Ferry serves them.",
    ],
};
pub const HTTP: Section = Section {
    title: "HTTP",
    about: &[],
};
pub const CONSOLE: Section = Section {
    title: "Operator console",
    about: &["/admin and its API exist only when ADMIN_TOKEN is set; otherwise they are a 404."],
};
pub const LOGS: Section = Section {
    title: "Logs",
    about: &[],
};
pub const TRACES: Section = Section {
    title: "Traces (OpenTelemetry)",
    about: &[
        "Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then every request is a span, exported over",
        "OTLP/HTTP (protobuf), honouring an incoming W3C traceparent and answering traceresponse.",
        "The standard OTEL_* variables below are read by the OpenTelemetry SDK itself.",
    ],
};
pub const COMPOSE: Section = Section {
    title: "docker compose only (read by docker-compose.yml, not by the server)",
    about: &[
        "Required: compose refuses to start without them. MinIO's administrator (used only by the",
        "one-shot setup container), and the app's own MinIO user, limited to its two buckets.",
    ],
};

declare! {
    SERVER => {
        /// Where the page and API listen.
        LEPTOS_SITE_ADDR: read_by(Reader::Leptos, "127.0.0.1:3000");
        /// The directory of the built site (the page's JS, WASM, CSS and public files).
        LEPTOS_SITE_ROOT: read_by(Reader::Leptos, "target/site");
        /// The site's subdirectory holding the built JS, WASM and CSS.
        LEPTOS_SITE_PKG_DIR: read_by(Reader::Leptos, "pkg");
        /// The base name of those files (set at build time by `cargo leptos`).
        LEPTOS_OUTPUT_NAME: read_by(Reader::Leptos, "ferry");
        /// DEV or PROD.
        LEPTOS_ENV: read_by(Reader::Leptos, "DEV");
        /// Content-hashed file names (from LEPTOS_HASH_FILE_NAME). Unset: on when that file lies
        /// beside the server binary, as `cargo leptos build --release` leaves it.
        LEPTOS_HASH_FILES: read_by(Reader::Leptos, "");
        /// The file naming the hashed files.
        LEPTOS_HASH_FILE_NAME: read_by(Reader::Leptos, "hash.txt");
        /// Port of `cargo leptos watch`'s reload socket.
        LEPTOS_RELOAD_PORT: read_by(Reader::Leptos, "3001");
        /// Set by `cargo leptos watch`: the page opens its reload socket, which the
        /// Content-Security-Policy then allows.
        LEPTOS_WATCH: text("", "any value (set means on)");
    }
    QUEUE => {
        /// Redis for the queue: one server.
        REDIS_URL: text("", "redis://[:password@]host[:port][/db]");
        /// Or a Redis Cluster (or a managed one: ElastiCache, MemoryStore): its nodes as
        /// host:port,... All queue keys share one hash tag, so every script runs on a single
        /// slot. Not with REDIS_URL.
        REDIS_CLUSTER_NODES: text("", "host:port,... (at least one node)");
        /// Namespace (and Redis Cluster hash tag) of the queue's keys: {ferry}:job:<id>, ...
        QUEUE_PREFIX: text("ferry", "1 to 64 letters, digits, '-', '_', '.' or ':'");
        /// Attempts per job in all: the first run plus retries.
        JOB_MAX_ATTEMPTS: number(4, 1, 100, Unit::Count);
        /// Wait before the first retry; doubles for each later one (±20 % jitter, capped at
        /// 5 min).
        RETRY_BACKOFF_BASE_MS: number(1_000, 0, UNBOUNDED, Unit::Millis);
        /// A worker that stops renewing its claim for this long loses the job to another worker
        /// (how soon a crashed worker's job runs again). Progress reports extend it, and a
        /// renewal is sent only when none came for a third of it.
        LEASE_TTL_MS: number(4_000, 100, UNBOUNDED, Unit::Millis);
        /// How long a completed job's file (and its idempotency key) is kept; then status says
        /// "expired".
        RESULT_TTL_SECS: number(DAY_SECS, 1, UNBOUNDED, Unit::Seconds);
        /// How long cancelled and failed records are kept: long enough to see the outcome, short
        /// enough that a flood of create-and-cancel cannot fill Redis. Never more than
        /// RESULT_TTL_SECS, which is also the default when it is the shorter.
        FINISHED_RECORD_TTL_SECS: number(3_600, 1, UNBOUNDED, Unit::Seconds);
        /// How long a completed job's record outlives its file, answering {"status":"expired"}
        /// instead of 404 (0 forgets the job with its file): a few hundred bytes per job.
        EXPIRED_RECORD_TTL_SECS: number(7 * DAY_SECS, 0, 90 * DAY_SECS, Unit::Seconds);
        /// Unfinished jobs (queued, running, retrying) one client may have; beyond: 429
        /// TooManyActiveJobs.
        MAX_ACTIVE_JOBS_PER_CLIENT: number(20, 1, UNBOUNDED, Unit::Count);
    }
    WORKERS => {
        /// Jobs processed at once by this instance; 0 makes an API-only instance.
        WORKER_CONCURRENCY: number(5, 0, 1_000, Unit::Count);
        /// The most bytes one job may fetch from the origin; a job over it fails before any
        /// byte is fetched when the origin announces the sizes, else as soon as it passes it.
        MAX_JOB_BYTES: number(10 << 30, 1, UNBOUNDED, Unit::Bytes);
        /// The most files one job may hold (at most the API's bound); initiate refuses more
        /// with 400.
        MAX_FILES_PER_JOB: number(
            app::api::MAX_FILE_IDS_PER_JOB as u64,
            1,
            app::api::MAX_FILE_IDS_PER_JOB as u64,
            Unit::Count,
        );
        /// A pause between storing an archive and recording completion, to rehearse crashes
        /// there.
        SIMULATED_COMPLETION_DELAY_MS: number(0, 0, 600_000, Unit::Millis);
        /// On SIGINT/SIGTERM: stop claiming, release running jobs, finish requests; exit after
        /// at most this.
        SHUTDOWN_GRACE_MS: number(10_000, 0, UNBOUNDED, Unit::Millis);
    }
    ORIGIN_SECTION => {
        /// simulated (generated bytes, served slowly; needs nothing), s3 (a source bucket) or
        /// http (an upstream service).
        ORIGIN: Kind::OneOf { default: "simulated", choices: &["simulated", "s3", "http"] };
        /// ORIGIN=simulated: the shortest download time drawn for a job.
        DOWNLOAD_DELAY_MIN_MS: number(10_000, 0, UNBOUNDED, Unit::Millis);
        /// ORIGIN=simulated: the longest (at least DOWNLOAD_DELAY_MIN_MS).
        DOWNLOAD_DELAY_MAX_MS: number(120_000, 0, UNBOUNDED, Unit::Millis);
        /// ORIGIN=simulated: the probability that an attempt fails on purpose.
        SIMULATED_FAILURE_RATE: Kind::Fraction { default: 0.0, min: 0.0, max: 1.0 };
        /// ORIGIN=simulated: file ids whose every attempt fails (comma-separated).
        SIMULATED_FAILURE_FILE_IDS: text("", "comma-separated file ids");
        /// ORIGIN=simulated: the size of each generated file; large values exercise big uploads.
        SIMULATED_FILE_SIZE_BYTES: number(
            crate::origin::simulated::DEFAULT_FILE_BYTES,
            1,
            1 << 32,
            Unit::Bytes,
        );
        /// ORIGIN=s3: the bucket the files are in (required).
        ORIGIN_S3_BUCKET: text("", BUCKET_NAME);
        /// ORIGIN=s3: where a file's object is.
        ORIGIN_S3_KEY_TEMPLATE: text("files/{file_id}", FILE_TEMPLATE);
        /// ORIGIN=s3: the source's endpoint. Unset, this and the next four are the result
        /// store's (S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, ...).
        ORIGIN_S3_ENDPOINT: text("", HTTP_URL);
        /// ORIGIN=s3: the source's region.
        ORIGIN_S3_REGION: text("", "an S3 region");
        /// ORIGIN=s3: the source's access key id.
        ORIGIN_S3_ACCESS_KEY_ID: text("", CREDENTIAL);
        /// ORIGIN=s3: the source's secret key.
        ORIGIN_S3_SECRET_ACCESS_KEY: text("", CREDENTIAL);
        /// ORIGIN=s3: path-style URLs; defaults to true when the source has an endpoint.
        ORIGIN_S3_FORCE_PATH_STYLE: Kind::Flag { default: None };
        /// ORIGIN=http: a file's URL (required), e.g.
        /// https://files.internal/v1/files/{file_id}/content.
        ORIGIN_URL_TEMPLATE: text("", "an http:// or https:// URL with a host and {file_id}");
        /// ORIGIN=http: a header sent with every request (a secret: never logged, never sent to
        /// another host on a redirect).
        ORIGIN_AUTH_HEADER: text("", "Name: value, such as Authorization: Bearer <token>");
        /// ORIGIN=http: how long connecting may take.
        ORIGIN_CONNECT_TIMEOUT_MS: number(5_000, 1, HOUR_MS, Unit::Millis);
        /// ORIGIN=http: how long the origin may stay silent mid-answer.
        ORIGIN_READ_TIMEOUT_MS: number(30_000, 1, HOUR_MS, Unit::Millis);
        /// ORIGIN=http: redirects followed per request.
        ORIGIN_MAX_REDIRECTS: number(5, 0, 20, Unit::Count);
    }
    RESULTS => {
        /// API endpoint the server uses (unset with S3_BUCKET_NAME set: AWS itself).
        S3_ENDPOINT: text("", HTTP_URL);
        /// Endpoint browsers reach, if it differs (e.g. http://localhost:9000 while the server
        /// uses http://minio:9000).
        S3_PUBLIC_ENDPOINT: text("", HTTP_URL);
        /// The bucket's region.
        S3_REGION: text("us-east-1", "an S3 region");
        /// The bucket for results; created at start-up if missing.
        S3_BUCKET_NAME: text("downloads", BUCKET_NAME);
        /// Static credentials; leave both unset to use the standard AWS chain (environment,
        /// profile, IAM role).
        S3_ACCESS_KEY_ID: text("", CREDENTIAL);
        /// The secret of S3_ACCESS_KEY_ID.
        S3_SECRET_ACCESS_KEY: text("", CREDENTIAL);
        /// Path-style URLs, which MinIO and SeaweedFS need; defaults to true when S3_ENDPOINT is
        /// set.
        S3_FORCE_PATH_STYLE: Kind::Flag { default: None };
        /// Without S3: where results are kept. Archives older than RESULT_TTL_SECS +
        /// PRESIGN_TTL_SECS are deleted from it (nothing refers to them).
        LOCAL_STORAGE_DIR: text("data/results", "a directory");
        /// Without S3: the secret that signs download links. Unset: a random one per process
        /// (links die with a restart).
        LOCAL_STORAGE_SECRET: text("", "any text");
        /// How long a download link stays valid (every status poll hands out a fresh one; 7 days
        /// is S3's limit).
        PRESIGN_TTL_SECS: number(3_600, 1, 7 * DAY_SECS, Unit::Seconds);
    }
    HTTP => {
        /// Origins allowed to call the API from a browser: * (any) or a list.
        CORS_ORIGINS: text("*", "* or a comma-separated list of origins such as https://app.example.com");
        /// Reads (status, the page) one client may make per window; over it: 429 with
        /// retry-after. A tab following five downloads polls 150 times a minute. Every response
        /// says where the client stands (ratelimit-limit, -remaining, -reset). A client is an
        /// IPv4 address or an IPv6 /64.
        RATE_LIMIT_MAX_REQUESTS: number(600, 1, UNBOUNDED, Unit::Count);
        /// The window of RATE_LIMIT_MAX_REQUESTS.
        RATE_LIMIT_WINDOW_MS: number(60_000, 1, 24 * HOUR_MS, Unit::Millis);
        /// Jobs one client may start per window: a separate, smaller allowance, since each costs a
        /// worker's time.
        INITIATE_RATE_LIMIT_MAX_REQUESTS: number(30, 1, UNBOUNDED, Unit::Count);
        /// The window of INITIATE_RATE_LIMIT_MAX_REQUESTS.
        INITIATE_RATE_LIMIT_WINDOW_MS: number(60_000, 1, 24 * HOUR_MS, Unit::Millis);
        /// The proxies in front of Ferry (IPs or CIDRs, or none). Only from them are
        /// X-Forwarded-For, -Host and -Proto believed; the client is then the rightmost
        /// X-Forwarded-For address that is not one of them. Any other peer is the client. Name
        /// your proxies exactly: whoever is trusted can claim to be anyone.
        TRUSTED_PROXIES: text("127.0.0.0/8,::1/128", "IP addresses or CIDR ranges, comma-separated, or none");
        /// Waiting jobs (queued or retrying) beyond which initiate answers 503 with retry-after.
        MAX_QUEUE_DEPTH: number(10_000, 1, UNBOUNDED, Unit::Count);
        /// A connection must deliver a request's headers within this time of opening or of its
        /// previous response, or it is closed (slow or idle clients cannot hold connections).
        HTTP_HEADER_TIMEOUT_MS: number(10_000, 100, 300_000, Unit::Millis);
        /// Connections served at once; beyond, new ones wait in the kernel's backlog.
        HTTP_MAX_CONNECTIONS: number(10_000, 1, 1_000_000, Unit::Count);
    }
    CONSOLE => {
        /// The token an operator signs in with (a secret: never logged). Unset: no console.
        ADMIN_TOKEN: text("", "at least 16 characters");
        /// How long a console session lasts before signing in again.
        ADMIN_SESSION_TTL_SECS: number(12 * 3_600, 60, 7 * DAY_SECS, Unit::Seconds);
    }
    LOGS => {
        /// Log filter, e.g. info, debug, ferry_server=debug,tower_http=info.
        RUST_LOG: read_by(Reader::LogFilter, "info");
        /// text (for people) or json (one object per line, with the request id and job fields).
        LOG_FORMAT: Kind::OneOf { default: "text", choices: &["text", "json"] };
    }
    TRACES => {
        /// Where traces go (OTLP over HTTP; /v1/traces is appended), e.g. http://jaeger:4318.
        OTEL_EXPORTER_OTLP_ENDPOINT: text("", "an http:// or https:// URL");
        /// The service name on every span.
        OTEL_SERVICE_NAME: read_by(Reader::OpenTelemetry, "ferry");
        /// Headers sent with every export, as k1=v1,k2=v2 (a collector's API key, say).
        OTEL_EXPORTER_OTLP_HEADERS: read_by(Reader::OpenTelemetry, "");
        /// Which traces are kept: parentbased_always_on, always_on, always_off, traceidratio,
        /// parentbased_traceidratio, parentbased_always_off.
        OTEL_TRACES_SAMPLER: read_by(Reader::OpenTelemetry, "parentbased_always_on");
        /// The share of traces the ratio samplers keep, 0 to 1.
        OTEL_TRACES_SAMPLER_ARG: read_by(Reader::OpenTelemetry, "");
        /// A trace in your trace UI, with {traceId} for its id (Jaeger:
        /// http://localhost:16686/trace/{traceId}): the page and the console link jobs to it.
        TRACE_UI_URL_TEMPLATE: text("", "an http:// or https:// URL containing {traceId}");
    }
    COMPOSE => {
        /// MinIO's administrator.
        MINIO_ROOT_USER: read_by(Reader::Compose, "ferry-admin");
        /// Its password (required).
        MINIO_ROOT_PASSWORD: read_by(Reader::Compose, "");
        /// The app's own MinIO user.
        FERRY_S3_ACCESS_KEY_ID: read_by(Reader::Compose, "ferry-app");
        /// Its secret (required).
        FERRY_S3_SECRET_ACCESS_KEY: read_by(Reader::Compose, "");
        /// Redis' memory limit; beyond it Redis refuses new jobs (503) and keeps every accepted
        /// one.
        REDIS_MAXMEMORY: read_by(Reader::Compose, "256mb");
    }
}
