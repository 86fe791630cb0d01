//! The job queue: where initiated downloads wait, which worker holds which job, and every job's
//! status record.
//!
//! [`JobQueue`] is the contract; [`memory::MemoryQueue`] is the embedded backend (the default when
//! no `REDIS_URL` is set) and [`redis::RedisQueue`] the production one. Every backend passes the same conformance suite
//! (`server/tests/queue_conformance`), so the rules below hold whichever one runs:
//!
//! - **Leases, not locks.** [`JobQueue::claim`] hands a job out with a random token and a deadline
//!   `lease_ttl` ahead. The holder renews it ([`JobQueue::renew`], [`JobQueue::progress`]); if it
//!   stops (crash, freeze), the next claim after the deadline takes the job back and runs it again
//!   as its next attempt.
//! - **Fencing.** Progress, completion, failure and release are accepted only with the current
//!   token, so a worker that lost its lease can never overwrite a newer attempt's record.
//! - **Retries.** A failed attempt is retried after `retry_backoff_base · 2^(n-1)` ± 20 %, up to
//!   `max_attempts` attempts in all; then the job is `failed`.
//! - **Retention.** A completed job's result (and its idempotency key) lasts `result_ttl`; after
//!   that its record reads as [`JobPhase::Expired`] for `expired_record_ttl` more, so a client
//!   learns the file is gone instead of meeting an unknown job. Cancelled and failed records
//!   disappear after the shorter `finished_record_ttl`, so a flood of create-and-cancel cannot
//!   fill memory.
//! - **Per client.** Every job belongs to a client (the identity the HTTP layer derives, never a
//!   value a client chooses). A client may have at most `max_active_per_client` unfinished jobs;
//!   idempotency keys are the client's own (another client's equal key is another key).
//! - **Fair turns.** Claims serve clients round-robin: each client with waiting jobs has a line,
//!   and a claim takes the front job of the line whose turn it is. A job therefore waits behind
//!   at most one job of each other client with waiting jobs (plus released and taken-back jobs,
//!   which go first), however many that client queued.
//! - Every state change is one atomic step.

pub mod backoff;
pub mod clock;
pub mod memory;
pub mod redis;
mod round_robin;

use crate::storage::ObjectKey;
use app::api::{FileId, JobId, JobPhase, Timestamp};
use async_trait::async_trait;
use std::fmt;
use std::time::Duration;

/// The rules a queue enforces, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// Attempts a job gets in all (first run plus retries).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles for each later one.
    pub retry_backoff_base: Duration,
    /// How long a claim stays valid without a renewal.
    pub lease_ttl: Duration,
    /// How long a completed job's result (and its idempotency key) is kept.
    pub result_ttl: Duration,
    /// How long a completed record outlives its result, reading as expired.
    pub expired_record_ttl: Duration,
    /// How long cancelled and failed records are kept (at most `result_ttl`).
    pub finished_record_ttl: Duration,
    /// Unfinished jobs (queued, processing, retrying) one client may have.
    pub max_active_per_client: u32,
}

impl QueueSettings {
    /// How long a record in terminal `phase` is kept.
    pub fn retention(&self, phase: JobPhase) -> Duration {
        match phase {
            JobPhase::Completed => self.result_ttl + self.expired_record_ttl,
            _ => self.finished_record_ttl,
        }
    }

    /// How long the idempotency key of a job that finished in `phase` is kept: a completed job's
    /// key goes with its result, so repeating the request after that prepares the file again.
    pub fn idempotency_retention(&self, phase: JobPhase) -> Duration {
        match phase {
            JobPhase::Completed => self.result_ttl,
            _ => self.finished_record_ttl,
        }
    }
}

/// The settings of an unconfigured server: the declared defaults, so they are written once.
impl Default for QueueSettings {
    fn default() -> Self {
        crate::config::Config::defaults().queue
    }
}

/// What a new job needs: whose it is, the files, and the origin's parameters for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The client the job belongs to (`203.0.113.7`, `2001:db8::/64`): what the per-client cap,
    /// idempotency keys and fair turns count by. Never contains `#`.
    pub client: String,
    pub file_ids: Vec<FileId>,
    /// Opaque to the queue: what the configured origin wants every attempt of the job to see
    /// (the simulated origin's `delayMs`, drawn once at initiate so every attempt behaves alike).
    pub origin_params: String,
    /// The W3C `traceparent` of the initiate request's span, when traces are on: every attempt's
    /// span is its child, so the job's whole life is one trace (see [`crate::telemetry`]).
    pub trace_parent: Option<String>,
}

/// How far an attempt has come: what a status poll shows while a job runs.
///
/// Bytes are counted as they arrive from the origin; `bytes_total` is the sum of the sizes the
/// origin announced, `None` when it did not announce every one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Percent done within the current attempt (0–100).
    pub percent: u8,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    /// Files fully read from the origin.
    pub files_done: u32,
}

impl Progress {
    /// Progress known only as a percentage (no bytes counted yet).
    pub fn percent(percent: u8) -> Self {
        Self {
            percent,
            ..Self::default()
        }
    }
}

/// Whether a failed attempt may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Something that may pass (a timeout, a 503, a dropped connection): retry with backoff.
    Transient,
    /// Retrying cannot help (the file does not exist, access is denied, a limit is exceeded):
    /// fail the job now, spending no retries.
    Permanent,
}

/// The answer of [`JobQueue::lock_work`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkLock {
    /// The caller holds the lock until it unlocks it or `ttl` passes without a renewal.
    Acquired,
    /// Someone else holds it: the holder's name.
    HeldBy(String),
}

/// Where a finished job's archive lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// Storage key of the archive (`downloads/12345.zip`, `bundles/<random>/ferry-3-files.zip`).
    pub key: ObjectKey,
    /// Archive size in bytes.
    pub size: u64,
}

/// A job's full record as one status read returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: JobId,
    /// The client that started the job.
    pub client: String,
    pub file_ids: Vec<FileId>,
    /// The origin's parameters, as given at enqueue.
    pub origin_params: String,
    /// The trace the job belongs to, as given at enqueue.
    pub trace_parent: Option<String>,
    pub phase: JobPhase,
    /// How far the current attempt has come.
    pub progress: Progress,
    /// The attempt running now, or the one that will run next.
    pub attempt: u32,
    pub max_attempts: u32,
    pub created_at: Timestamp,
    /// When the first attempt was claimed (the end of the job's wait).
    pub first_started_at: Option<Timestamp>,
    /// When the current attempt was claimed.
    pub started_at: Option<Timestamp>,
    /// While processing: when the lease runs out unless its holder renews it.
    pub lease_deadline: Option<Timestamp>,
    /// Why the last attempt failed (retrying, failed).
    pub error: Option<String>,
    /// When a retrying job becomes claimable.
    pub next_attempt_at: Option<Timestamp>,
    /// When the job reached its terminal phase.
    pub finished_at: Option<Timestamp>,
    /// The archive, once completed.
    pub result: Option<JobResult>,
    /// When a completed job's result is removed (its completion time plus `result_ttl`).
    pub result_expires_at: Option<Timestamp>,
}

impl JobRecord {
    /// A new job's record: queued for its first attempt, nothing done yet.
    pub fn queued(job: NewJob, max_attempts: u32, created_at: Timestamp) -> Self {
        Self {
            id: JobId::generate(),
            client: job.client,
            file_ids: job.file_ids,
            origin_params: job.origin_params,
            trace_parent: job.trace_parent,
            phase: JobPhase::Queued,
            progress: Progress::default(),
            attempt: 1,
            max_attempts,
            created_at,
            first_started_at: None,
            started_at: None,
            lease_deadline: None,
            error: None,
            next_attempt_at: None,
            finished_at: None,
            result: None,
            result_expires_at: None,
        }
    }

    /// The record as a reader at `now` sees it: a completed job whose result has been removed
    /// reads as [`JobPhase::Expired`]. Both backends store `completed` and apply this on read, so
    /// expiry needs no write at the moment it happens.
    pub fn seen_at(mut self, now: Timestamp) -> Self {
        if self.phase == JobPhase::Completed && self.result_expires_at.is_some_and(|at| at <= now) {
            self.phase = JobPhase::Expired;
        }
        self
    }
}

/// Where the console's job list places a job (milliseconds): a queued job by when it was
/// created, a processing one by when its attempt started, a retrying one by when its next attempt
/// is due, a finished one by when it finished. Newest first, ties broken by job id (newest
/// first), so the order is total and a cursor names one place in it.
pub fn listed_at(record: &JobRecord) -> u64 {
    let at = match record.phase {
        JobPhase::Queued => Some(record.created_at),
        JobPhase::Processing => record.started_at,
        JobPhase::Retrying => record.next_attempt_at,
        _ => record.finished_at,
    };
    at.unwrap_or(record.created_at).unix_millis()
}

/// Which jobs the console's list shows; every field left `None` matches every job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Jobs in this phase (as status reports it: `expired` and `completed` are told apart).
    pub phase: Option<JobPhase>,
    /// Jobs of this client.
    pub client: Option<String>,
    /// Jobs with this file among theirs.
    pub file_id: Option<FileId>,
}

impl JobFilter {
    /// Whether `record` (as a reader sees it now) is one the filter lists.
    pub fn matches(&self, record: &JobRecord) -> bool {
        self.phase.is_none_or(|phase| record.phase == phase)
            && self.client.as_ref().is_none_or(|c| record.client == *c)
            && self.file_id.is_none_or(|f| record.file_ids.contains(&f))
    }
}

/// A place in the console's job list: the list continues with the jobs placed after this one
/// (see [`listed_at`]). Written `<milliseconds>.<job id>` in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListCursor {
    /// The place's time ([`listed_at`] of the job it follows), compared first.
    pub listed_at: u64,
    /// The job it follows, for jobs placed at the same millisecond.
    pub job_id: JobId,
}

impl ListCursor {
    /// The cursor just after `record`.
    pub fn after(record: &JobRecord) -> Self {
        Self {
            listed_at: listed_at(record),
            job_id: record.id,
        }
    }
}

impl fmt::Display for ListCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.listed_at, self.job_id)
    }
}

/// A string that is not a cursor this server handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a job list cursor")]
pub struct InvalidCursor;

impl std::str::FromStr for ListCursor {
    type Err = InvalidCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (at, id) = text.split_once('.').ok_or(InvalidCursor)?;
        Ok(Self {
            listed_at: at.parse().map_err(|_| InvalidCursor)?,
            job_id: id.parse().map_err(|_| InvalidCursor)?,
        })
    }
}

/// One page of the console's job list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobPage {
    /// Newest first (see [`listed_at`]).
    pub jobs: Vec<JobRecord>,
    /// Where the next page starts; `None` when no more jobs match.
    pub next: Option<ListCursor>,
}

/// How far one page of the list may look through the Redis indexes for jobs that match a
/// client or file filter: a page then holds fewer jobs but still a cursor, so one request never
/// blocks Redis long, however rare the match.
pub const LIST_SCAN_BUDGET: usize = 2_000;

/// Most jobs one page of the list holds.
pub const LIST_PAGE_MAX: usize = 200;

/// Most attempts a job's history keeps (the latest ones): retries from the console could
/// otherwise grow it without bound.
pub const ATTEMPTS_KEPT: usize = 50;

/// One attempt at a job, as the console shows it (the wire type: the queue stores exactly that).
pub use app::api::{Attempt, AttemptOutcome};

/// The right to work on one job: only requests carrying the current token are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    pub job_id: JobId,
    pub token: String,
    /// The attempt the lease was granted for (a failure's backoff grows with it).
    pub attempt: u32,
}

/// What a claim hands out: the jobs, and how many expired leases it took back on the way, which
/// the caller counts (`ferry_lease_reclaims_total`), so the backends only report it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Claimed {
    pub jobs: Vec<ClaimedJob>,
    pub leases_reclaimed: u64,
}

impl Claimed {
    /// The first job handed out, if any.
    pub fn first(self) -> Option<ClaimedJob> {
        self.jobs.into_iter().next()
    }
}

/// A job handed to a worker by [`JobQueue::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub lease: Lease,
    pub file_ids: Vec<FileId>,
    pub origin_params: String,
    /// The trace the attempt's span joins ([`NewJob::trace_parent`]).
    pub trace_parent: Option<String>,
    pub max_attempts: u32,
    /// A multipart upload an earlier attempt started and never finished (it crashed or froze):
    /// abort it before uploading again, or its parts stay in the bucket, billed and invisible.
    pub abandoned_upload: Option<Upload>,
}

/// A multipart upload an attempt has started: where it goes and the store's id for it. The key
/// is part of it because each attempt may write to its own key (bundle keys are random).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub key: ObjectKey,
    pub id: String,
}

/// One running Ferry process, as the console lists it (the wire type: the queue stores exactly
/// what the console shows).
pub use app::api::Instance;

/// The jobs that finished within one minute, by how they finished.
pub use app::api::ActivityInMinute;

/// How long the per-minute counts (jobs finished, depth sampled) are kept, in minutes: the
/// console shows the last hour, with room for a slow clock.
pub const ACTIVITY_KEPT_MINUTES: u32 = 120;

/// How many jobs the queue holds in each unfinished state: for backpressure and `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Claimable now.
    pub waiting: u64,
    /// Waiting for their next attempt.
    pub retrying: u64,
    /// Held by a worker.
    pub processing: u64,
}

impl QueueDepth {
    /// Jobs no worker holds yet: what backpressure limits.
    pub fn unstarted(&self) -> u64 {
        self.waiting + self.retrying
    }
}

/// The result of [`JobQueue::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub record: JobRecord,
    /// False when an idempotency key matched an existing job, which is returned instead.
    pub created: bool,
}

/// What became of a job after [`JobQueue::fail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Attempt `attempt` will be claimable at `next_attempt_at`.
    Retrying {
        attempt: u32,
        next_attempt_at: Timestamp,
    },
    /// No attempts remain.
    Failed,
}

/// What became of a job after [`JobQueue::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    /// Completed, failed and cancelled jobs stay as they are.
    AlreadyFinished(JobPhase),
    NotFound,
}

/// What became of a job after [`JobQueue::retry_failed`] or [`JobQueue::delete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOutcome {
    Done,
    /// The job is not in a phase the action applies to (it says which it is in).
    WrongPhase(JobPhase),
    NotFound,
}

/// Why a queue operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The caller's lease expired, was taken over, or the job was cancelled: stop working on it.
    #[error("the lease on job {0} is no longer held")]
    LeaseLost(JobId),
    /// The idempotency key belongs to a job with other files.
    #[error("idempotency key already used for a different request")]
    IdempotencyConflict,
    /// The client already has `limit` unfinished jobs.
    #[error("the client already has {limit} unfinished jobs")]
    TooManyActiveJobs { limit: u32 },
    /// The backend refuses new data because its memory is full (Redis `maxmemory`); jobs already
    /// accepted go on, and it accepts again once finished records expire.
    #[error("queue out of memory: {0}")]
    OutOfMemory(String),
    /// The backend cannot be reached; the operation may succeed later.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// A durable job queue with leases, fencing, retries and retention (see the module docs).
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// A short description for the start-up log ("in-memory", "redis at …").
    fn describe(&self) -> String;

    /// How long a lease lasts unless renewed: workers renew it when a third of it passed without
    /// a progress report, and hold a shared piece of work's lock at least as long.
    fn lease_ttl(&self) -> Duration;

    /// Adds a job, or returns the job an earlier request of the same client with the same
    /// idempotency key created. Refuses a client that has `max_active_per_client` unfinished jobs.
    async fn enqueue(
        &self,
        job: NewJob,
        idempotency_key: Option<&str>,
    ) -> Result<Enqueued, QueueError>;

    /// Hands out up to `max` jobs, first promoting due retries and taking back jobs whose lease
    /// expired. The lease token is what identifies the holder from then on.
    async fn claim(&self, max: usize) -> Result<Claimed, QueueError>;

    /// Extends each lease still held; returns the jobs whose lease is gone (abort them).
    async fn renew(&self, leases: &[Lease]) -> Result<Vec<JobId>, QueueError>;

    /// Records the attempt's progress and extends the lease.
    async fn progress(&self, lease: &Lease, progress: &Progress) -> Result<(), QueueError>;

    /// Remembers the multipart upload the holder has started, or forgets it (`None`) once it is
    /// finished or aborted; a later attempt receives it as [`ClaimedJob::abandoned_upload`].
    async fn note_upload(&self, lease: &Lease, upload: Option<&Upload>) -> Result<(), QueueError>;

    /// Marks the job completed with its archive (which also forgets any noted upload).
    async fn complete(&self, lease: &Lease, result: JobResult) -> Result<(), QueueError>;

    /// Completes the job like [`JobQueue::complete`] and claims the next waiting job in the same
    /// step (no job: nothing waits), so a busy worker spends one round trip per job.
    /// A completion that is refused is an error and claims nothing.
    async fn complete_and_claim(
        &self,
        lease: &Lease,
        result: JobResult,
    ) -> Result<Claimed, QueueError> {
        self.complete(lease, result).await?;
        match self.claim(1).await {
            Ok(claimed) => Ok(claimed),
            // The completion stands; the worker's loop claims again.
            Err(error) => {
                tracing::warn!(%error, "job completed, but the next one could not be claimed");
                Ok(Claimed::default())
            }
        }
    }

    /// Records a failed attempt: schedules the next one, or fails the job for good (after its
    /// last attempt, or at once for a [`FailureKind::Permanent`] failure). `error` is shown to
    /// people: a plain sentence.
    async fn fail(
        &self,
        lease: &Lease,
        error: &str,
        kind: FailureKind,
    ) -> Result<FailOutcome, QueueError>;

    /// Gives an unfinished job back (graceful shutdown): front of the queue, attempt not used.
    async fn release(&self, lease: &Lease) -> Result<(), QueueError>;

    /// Cancels a job that has not finished; a worker holding it loses its lease.
    async fn cancel(&self, job_id: JobId) -> Result<CancelOutcome, QueueError>;

    /// The job's record in one read, or `None` if unknown or expired.
    async fn status(&self, job_id: JobId) -> Result<Option<JobRecord>, QueueError>;

    /// Returns when work may be available (a job was enqueued, a lease expired or a retry fell
    /// due) or after `max_wait`.
    async fn wait_for_work(&self, max_wait: Duration);

    /// The number of unfinished jobs by state, read in one consistent step.
    async fn depth(&self) -> Result<QueueDepth, QueueError>;

    /// Records that `instance` is alive, as it is now, until `ttl` from now: each instance calls
    /// it on a timer, so one that stops calling drops out of [`JobQueue::instances`] by itself.
    /// It also samples the queue's depth for the console's chart, and answers whether the queue
    /// is paused, so every instance learns that without a round trip of its own.
    async fn heartbeat(&self, instance: &Instance, ttl: Duration) -> Result<bool, QueueError>;

    /// One page of the jobs `filter` matches, newest first, starting after `after` (from the
    /// newest with `None`), at most `limit` (1 to [`LIST_PAGE_MAX`]) jobs. Only the console
    /// reads it; it touches no hot path.
    async fn list_jobs(
        &self,
        filter: &JobFilter,
        after: Option<ListCursor>,
        limit: usize,
    ) -> Result<JobPage, QueueError>;

    /// Each attempt at a job, first first (the last [`ATTEMPTS_KEPT`]); empty for an unknown
    /// job. Kept as long as the job's record.
    async fn attempts(&self, job_id: JobId) -> Result<Vec<Attempt>, QueueError>;

    /// Takes an instance out of the registry at once (a clean shutdown).
    async fn leave(&self, instance_id: &str) -> Result<(), QueueError>;

    /// The instances alive now (their last heartbeat has not run out), by id.
    async fn instances(&self) -> Result<Vec<Instance>, QueueError>;

    /// Gives a failed job one more attempt (the console's retry): it waits in its client's line
    /// again as its next attempt, with its record kept until it finishes anew. Only a failed job
    /// can be retried.
    async fn retry_failed(&self, job_id: JobId) -> Result<AdminOutcome, QueueError>;

    /// Removes a finished job's record now, and its idempotency key if that still names it (the
    /// console's delete). Unfinished jobs are cancelled first, never deleted.
    async fn delete(&self, job_id: JobId) -> Result<AdminOutcome, QueueError>;

    /// Stops every instance from claiming jobs (`true`) until resumed (`false`): running jobs
    /// go on and finish, queued ones wait. The console's pause; with Redis it holds across
    /// restarts.
    async fn set_paused(&self, paused: bool) -> Result<(), QueueError>;

    /// Whether the queue is paused.
    async fn is_paused(&self) -> Result<bool, QueueError>;

    /// What happened in each of the last `minutes` minutes (1 to [`ACTIVITY_KEPT_MINUTES`]),
    /// oldest first and ending with the current one: the jobs that finished (counted as they
    /// finish) and the depth a heartbeat last sampled. What the console charts; reading it
    /// touches no job.
    async fn activity_per_minute(&self, minutes: u32) -> Result<Vec<ActivityInMinute>, QueueError>;

    /// Cheap round trip for `/health`.
    async fn ping(&self) -> Result<(), QueueError>;

    /// Takes the lock `name` for `holder` for `ttl`, unless another holder has it. Workers of
    /// every instance sharing the queue use it so that two jobs for the same file fetch it once:
    /// the second waits for the first's archive. A holder that dies loses it after `ttl`.
    async fn lock_work(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<WorkLock, QueueError>;

    /// Extends the lock `name` by `ttl` if `holder` still has it; false if it does not.
    async fn renew_work_lock(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, QueueError>;

    /// Gives the lock `name` up if `holder` has it (anyone else's lock stays as it is).
    async fn unlock_work(&self, name: &str, holder: &str) -> Result<(), QueueError>;
}

/// What the record of a job taken back from a worker that stopped renewing its lease says went
/// wrong (both backends write it; people read it).
pub const RECLAIMED_ERROR: &str = "the worker stopped responding (lease expired)";

/// A client's idempotency key, distinct from every other client's (client ids never contain
/// `#`).
fn scoped_key(client: &str, key: &str) -> String {
    format!("{client}#{key}")
}

/// A duration in whole milliseconds, as the backends store times.
fn millis(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

/// This host's clock, for what a read decides by time (whether a result has expired, when to
/// poll again).
pub fn system_now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_millis(millis(since_epoch))
}

/// A fresh lease token: 128 random bits, so tokens never repeat across workers or restarts.
pub fn new_lease_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}
