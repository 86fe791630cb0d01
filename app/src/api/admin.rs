//! The operator console's bodies (`/admin/api/…`), shared by the server and the console page.

use super::{FileId, HealthChecks, JobId, JobPhase, JobTrace, Timestamp};
use serde::{Deserialize, Serialize};

/// Body of `POST /admin/api/session`: signing in with the deployment's `ADMIN_TOKEN`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminSignIn {
    pub token: String,
}

/// Never prints the token (request logs, panics).
impl std::fmt::Debug for AdminSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminSignIn { token: *** }")
    }
}

/// A signed-in session, as `POST` and `GET /admin/api/session` describe it: the CSRF token every
/// state-changing request must send in `x-csrf-token`, and when the session ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminSession {
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// `200` body of `GET /admin/api/overview`: the unfinished jobs by state, what happened in each
/// minute of the last hour, how long jobs waited and ran, the instances and the dependencies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminOverview {
    /// Waiting for a worker.
    pub queued: u64,
    /// Waiting for their next attempt.
    pub retrying: u64,
    /// Held by a worker now.
    pub processing: u64,
    /// Paused from the console: no worker starts a job until it is resumed.
    pub paused: bool,
    /// The last 60 minutes, oldest first, ending with the current one.
    pub activity_per_minute: Vec<ActivityInMinute>,
    /// How long the jobs that finished most recently waited and ran.
    pub timings: Timings,
    /// The instances alive (their heartbeat has not run out), by id.
    pub instances: Vec<Instance>,
    /// Whether the queue and storage answer this instance, as `/health` reports them.
    pub health: HealthChecks,
}

/// One running Ferry process, as its heartbeat describes it (and the queue's registry stores it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: String,
    pub host: String,
    /// Jobs it processes at once (0: API only).
    pub concurrency: u32,
    /// The jobs it is processing now.
    pub running: Vec<JobId>,
    pub started_at: Timestamp,
    /// Its last heartbeat.
    pub seen_at: Timestamp,
    /// How the origin answered this instance's last request to it.
    pub origin: OriginHealth,
}

/// How the origin answered one instance's last request (a look-up or a read): what the console
/// shows as the origin's health, per instance, without probing the origin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OriginHealth {
    pub state: OriginState,
    /// When that request was.
    pub at: Option<Timestamp>,
    /// What went wrong, when it failed.
    pub error: Option<String>,
}

/// Whether the origin answered (a missing file is an answer) or failed (no answer, a 5xx, a
/// body cut off); `unknown` before the instance asked it anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OriginState {
    #[default]
    Unknown,
    Answering,
    Failing,
}

/// `200` body of `POST /admin/api/queue/pause` and `…/resume`: the queue's state afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminQueueState {
    pub paused: bool,
}

/// `200` body of the console's job actions (`POST /admin/api/jobs/{jobId}/retry`, `…/cancel`,
/// `…/delete`): which job, and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminJobAction {
    pub job_id: JobId,
    /// `retried`, `cancelled` or `deleted`.
    pub done: String,
}

/// One minute of the queue's life: the jobs that finished in it, by how they finished, and how
/// many jobs were unfinished when an instance last looked (its heartbeat samples the depth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ActivityInMinute {
    /// When the minute began.
    pub minute: Timestamp,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Jobs waiting (queued or retrying) at the minute's last sample; absent when no instance
    /// sampled that minute.
    pub waiting: Option<u64>,
    /// Jobs held by a worker at the same sample.
    pub processing: Option<u64>,
}

/// Median and 95th percentile of the wait (queued → first attempt started) and of the run
/// (last attempt's start → finish) over the most recently finished jobs, in milliseconds;
/// absent when no job finished yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// How many finished jobs the figures come from.
    pub jobs: u32,
    pub wait_median_ms: Option<u64>,
    pub wait_p95_ms: Option<u64>,
    pub run_median_ms: Option<u64>,
    pub run_p95_ms: Option<u64>,
}

/// One job as the console lists and shows it: the record a status poll reads, with what only an
/// operator may see (the client, the storage key, the lease).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminJob {
    pub job_id: JobId,
    pub phase: JobPhase,
    /// The client the job belongs to (an address or network, as the rate limit counts them).
    pub client: String,
    pub file_ids: Vec<FileId>,
    /// The attempt running now or next, of `max_attempts`.
    pub attempt: u32,
    pub max_attempts: u32,
    /// Percent done within the current attempt.
    pub percent: u8,
    pub created_at: Timestamp,
    /// When its first attempt started (how long it waited).
    pub first_started_at: Option<Timestamp>,
    /// When the current (or last) attempt started.
    pub started_at: Option<Timestamp>,
    /// While processing: when the worker's lease runs out unless it renews it.
    pub lease_deadline: Option<Timestamp>,
    pub next_attempt_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Where the list places the job (newest first): its creation while queued, its attempt's
    /// start while processing, its next attempt while retrying, its end once finished.
    pub listed_at: Timestamp,
    /// The archive's storage key and size, once completed.
    pub result_key: Option<String>,
    pub result_size: Option<u64>,
    pub result_expires_at: Option<Timestamp>,
    /// The job's trace, when the server exports traces.
    #[serde(flatten)]
    pub trace: JobTrace,
}

/// `200` body of `GET /admin/api/jobs`: one page of the job list, newest first, and the cursor
/// of the next page (absent on the last one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminJobPage {
    pub jobs: Vec<AdminJob>,
    /// Pass as `cursor` to get the page after this one.
    pub next_cursor: Option<String>,
}

/// `200` body of `GET /admin/api/jobs/{jobId}`: the job and each of its attempts, first first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminJobDetail {
    pub job: AdminJob,
    pub attempts: Vec<Attempt>,
}

/// One attempt at a job: who ran it, when, and how it ended (absent while it runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// The instance whose worker ran it.
    pub worker: String,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub outcome: Option<AttemptOutcome>,
    /// What went wrong, for a failed attempt.
    pub error: Option<String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum AttemptOutcome {
    Completed,
    /// It failed; the job was retried or failed with it.
    Failed,
    /// Its worker stopped renewing the lease (crash, freeze): the job was taken back.
    LeaseExpired,
    /// Its worker gave the job back unfinished (a graceful shutdown): the attempt does not count.
    Released,
    /// The job was cancelled while it ran.
    Cancelled,
}

/// `200` body of `POST /admin/api/jobs/retry-failed`: how many failed jobs got another attempt,
/// and whether more failed jobs remain (the action retries at most a bounded number at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminRetryAll {
    pub retried: u32,
    pub more: bool,
}
