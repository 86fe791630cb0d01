//! Prometheus metrics: every name Ferry exports is defined here, so dashboards have one place to
//! look and the code that counts never spells a metric name by hand.
//!
//! The `metrics` facade is global; [`install`] puts the Prometheus recorder behind it once per
//! process (tests start several applications in one process and share it) and `/metrics` renders
//! its handle.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{sync::OnceLock, time::Duration};

/// HTTP requests by method, route template and status.
pub const HTTP_REQUESTS: &str = "ferry_http_requests_total";
/// HTTP request latency in seconds by method and route template.
pub const HTTP_REQUEST_DURATION: &str = "ferry_http_request_duration_seconds";
/// Counter: response body bytes sent (after compression), by method and route: what polling
/// costs on the wire.
pub const HTTP_RESPONSE_BYTES: &str = "ferry_http_response_body_bytes_total";
/// Jobs accepted by initiate (idempotent replays not counted).
pub const JOBS_ENQUEUED: &str = "ferry_jobs_enqueued_total";
/// Jobs that reached `completed`.
pub const JOBS_COMPLETED: &str = "ferry_jobs_completed_total";
/// Jobs that reached `failed` after their last attempt.
pub const JOBS_FAILED: &str = "ferry_jobs_failed_total";
/// Failed attempts that were scheduled to run again.
pub const JOBS_RETRIED: &str = "ferry_jobs_retried_total";
/// Jobs cancelled through the API.
pub const JOBS_CANCELLED: &str = "ferry_jobs_cancelled_total";
/// Time from a worker taking a job to its outcome, by outcome, in seconds.
pub const JOB_DURATION: &str = "ferry_job_duration_seconds";
/// Jobs in the queue by state (`waiting`, `retrying`, `processing`), read at scrape time.
pub const QUEUE_JOBS: &str = "ferry_queue_jobs";
/// Leases that expired (a worker crashed or froze) and whose job was taken back.
pub const LEASE_RECLAIMS: &str = "ferry_lease_reclaims_total";
/// Bytes read from the origin into archives.
pub const ORIGIN_BYTES: &str = "ferry_origin_bytes_total";
/// Jobs completed with an archive already stored for the same file version (nothing fetched).
pub const ARCHIVES_REUSED: &str = "ferry_archives_reused_total";
/// Clients the rate limiters remember, read at scrape time: it must follow real clients, not the
/// addresses they claim in headers.
pub const RATE_LIMITED_CLIENTS: &str = "ferry_rate_limit_clients";
/// Requests refused because their client had `MAX_ACTIVE_JOBS_PER_CLIENT` unfinished jobs.
pub const ACTIVE_JOB_CAP_REFUSALS: &str = "ferry_active_job_cap_refusals_total";

/// Histogram buckets for request latency: API calls take milliseconds, downloads of local files
/// may take seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Histogram buckets for job durations: simulated downloads last 10 s to 2 min by default.
const JOB_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
];

/// Installs the Prometheus recorder (once per process) and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.into()), HTTP_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(JOB_DURATION.into()), JOB_BUCKETS)
                })
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a test harness); ours still renders.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests by method, route and status");
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method and route"
    );
    metrics::describe_counter!(
        HTTP_RESPONSE_BYTES,
        metrics::Unit::Bytes,
        "Response body bytes sent, after compression, by method and route"
    );
    metrics::describe_counter!(JOBS_ENQUEUED, "Jobs accepted by initiate");
    metrics::describe_counter!(JOBS_COMPLETED, "Jobs completed");
    metrics::describe_counter!(JOBS_FAILED, "Jobs failed after their last attempt");
    metrics::describe_counter!(JOBS_RETRIED, "Failed attempts scheduled to run again");
    metrics::describe_counter!(JOBS_CANCELLED, "Jobs cancelled through the API");
    metrics::describe_histogram!(
        JOB_DURATION,
        metrics::Unit::Seconds,
        "Time from a worker taking a job to its outcome"
    );
    metrics::describe_gauge!(QUEUE_JOBS, "Jobs in the queue by state");
    metrics::describe_gauge!(
        RATE_LIMITED_CLIENTS,
        "Clients the rate limiters currently remember"
    );
    metrics::describe_counter!(
        ACTIVE_JOB_CAP_REFUSALS,
        "Initiates refused because the client had too many unfinished jobs"
    );
    metrics::describe_counter!(LEASE_RECLAIMS, "Expired leases whose job was taken back");
    metrics::describe_counter!(
        ORIGIN_BYTES,
        metrics::Unit::Bytes,
        "Bytes read from the origin into archives"
    );
    metrics::describe_counter!(
        ARCHIVES_REUSED,
        "Jobs completed with a stored archive of the same file version"
    );
}

/// Counts an answered HTTP request and returns the counter of the body bytes sent for its route
/// (the body adds to it as it is sent).
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) -> metrics::Counter {
    REQUEST_SERIES.with_borrow_mut(|known| {
        let by_answer = match known.get_mut(route) {
            Some(by_answer) => by_answer,
            None => known.entry(route.into()).or_default(),
        };
        let position = by_answer
            .iter()
            .position(|series| series.status == status && *series.method == *method);
        let series = match position {
            Some(position) => &by_answer[position],
            None => {
                by_answer.push(RequestSeries::new(method, route, status));
                by_answer.last().expect("just pushed")
            }
        };
        series.requests.increment(1);
        series.duration.record(elapsed.as_secs_f64());
        series.body_bytes.clone()
    })
}

/// The series one answered request adds to, with the labels that picked them.
struct RequestSeries {
    method: Box<str>,
    status: u16,
    requests: metrics::Counter,
    duration: metrics::Histogram,
    body_bytes: metrics::Counter,
}

impl RequestSeries {
    fn new(method: &str, route: &str, status: u16) -> Self {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        Self {
            method: method.into(),
            status,
            requests: metrics::counter!(HTTP_REQUESTS, &labels),
            duration: metrics::histogram!(HTTP_REQUEST_DURATION, &labels[..2]),
            body_bytes: metrics::counter!(HTTP_RESPONSE_BYTES, &labels[..2]),
        }
    }
}

thread_local! {
    /// Each thread's handles of the request series it has counted, by route, then method and
    /// status. Building the labels and looking them up in the registry on every request cost
    /// more than the rate limit does; routes are templates, so this stays as small as the router.
    static REQUEST_SERIES: std::cell::RefCell<
        std::collections::HashMap<Box<str>, Vec<RequestSeries>>,
    > = Default::default();
}

/// How an attempt ended, as the job metrics label it.
#[derive(Debug, Clone, Copy)]
pub enum AttemptOutcome {
    Completed,
    Retried,
    Failed,
}

/// Counts the end of a job attempt that ran for `elapsed`.
pub fn job_attempt_ended(outcome: AttemptOutcome, elapsed: Duration) {
    let (counter, label) = match outcome {
        AttemptOutcome::Completed => (JOBS_COMPLETED, "completed"),
        AttemptOutcome::Retried => (JOBS_RETRIED, "retried"),
        AttemptOutcome::Failed => (JOBS_FAILED, "failed"),
    };
    metrics::counter!(counter).increment(1);
    metrics::histogram!(JOB_DURATION, "outcome" => label).record(elapsed.as_secs_f64());
}

/// Counts a job accepted by initiate.
pub fn job_enqueued() {
    metrics::counter!(JOBS_ENQUEUED).increment(1);
}

/// Counts a job cancelled through the API.
pub fn job_cancelled() {
    metrics::counter!(JOBS_CANCELLED).increment(1);
}

/// Counts leases taken back from workers that stopped renewing them.
pub fn leases_reclaimed(count: u64) {
    if count > 0 {
        metrics::counter!(LEASE_RECLAIMS).increment(count);
    }
}

/// Counts bytes read from the origin.
pub fn origin_bytes(bytes: u64) {
    metrics::counter!(ORIGIN_BYTES).increment(bytes);
}

/// Counts a job that reused a stored archive instead of fetching its file.
pub fn archive_reused() {
    metrics::counter!(ARCHIVES_REUSED).increment(1);
}

/// Publishes the queue's depth, read just before a scrape.
pub fn queue_depth(depth: &crate::queue::QueueDepth) {
    for (state, jobs) in [
        ("waiting", depth.waiting),
        ("retrying", depth.retrying),
        ("processing", depth.processing),
    ] {
        metrics::gauge!(QUEUE_JOBS, "state" => state).set(jobs as f64);
    }
}

/// Publishes how many clients the rate limiters remember.
pub fn rate_limited_clients(clients: usize) {
    metrics::gauge!(RATE_LIMITED_CLIENTS).set(clients as f64);
}

/// Counts an initiate refused by the per-client cap on unfinished jobs.
pub fn active_job_cap_refused() {
    metrics::counter!(ACTIVE_JOB_CAP_REFUSALS).increment(1);
}
