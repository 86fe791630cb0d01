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
//! - **Retention.** Finished records (and their idempotency keys) disappear after `result_ttl`.
//! - Every state change is one atomic step.

pub mod backoff;
pub mod memory;
pub mod redis;

use app::api::{FileId, JobId, JobPhase, Timestamp};
use async_trait::async_trait;
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
    /// How long finished job records (and their idempotency keys) are kept.
    pub result_ttl: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            retry_backoff_base: Duration::from_millis(1_000),
            lease_ttl: Duration::from_millis(15_000),
            result_ttl: Duration::from_secs(86_400),
        }
    }
}

/// What a new job needs: the files, and how long the simulated download takes (drawn once at
/// initiate so every attempt of a job behaves alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub file_ids: Vec<FileId>,
    pub delay_ms: u64,
}

/// Where a finished job's archive lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// Storage key of the archive (`downloads/12345.zip`, `bundles/<jobId>.zip`).
    pub key: String,
    /// Archive size in bytes.
    pub size: u64,
}

/// A job's full record as one status read returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: JobId,
    pub file_ids: Vec<FileId>,
    pub delay_ms: u64,
    pub phase: JobPhase,
    /// Percent done within the current attempt.
    pub progress: u8,
    /// The attempt running now, or the one that will run next.
    pub attempt: u32,
    pub max_attempts: u32,
    pub created_at: Timestamp,
    /// When the current attempt was claimed.
    pub started_at: Option<Timestamp>,
    /// Why the last attempt failed (retrying, failed).
    pub error: Option<String>,
    /// When a retrying job becomes claimable.
    pub next_attempt_at: Option<Timestamp>,
    /// When the job reached its terminal phase.
    pub finished_at: Option<Timestamp>,
    /// The archive, once completed.
    pub result: Option<JobResult>,
}

/// The right to work on one job: only requests carrying the current token are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lease {
    pub job_id: JobId,
    pub token: String,
}

/// A job handed to a worker by [`JobQueue::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub lease: Lease,
    pub file_ids: Vec<FileId>,
    pub delay_ms: u64,
    pub attempt: u32,
    pub max_attempts: u32,
    /// A multipart upload an earlier attempt started and never finished (it crashed or froze):
    /// abort it before uploading again, or its parts stay in the bucket, billed and invisible.
    pub abandoned_upload: Option<String>,
}

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

/// Why a queue operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The caller's lease expired, was taken over, or the job was cancelled: stop working on it.
    #[error("the lease on job {0} is no longer held")]
    LeaseLost(JobId),
    /// The idempotency key belongs to a job with other files.
    #[error("idempotency key already used for a different request")]
    IdempotencyConflict,
    /// The backend cannot be reached; the operation may succeed later.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// A durable job queue with leases, fencing, retries and retention (see the module docs).
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// A short description for the start-up log ("in-memory", "redis at …").
    fn describe(&self) -> String;

    /// Adds a job, or returns the job an earlier request with the same idempotency key created.
    async fn enqueue(
        &self,
        job: NewJob,
        idempotency_key: Option<&str>,
    ) -> Result<Enqueued, QueueError>;

    /// Hands out up to `max` jobs to `worker`, first promoting due retries and taking back jobs
    /// whose lease expired.
    async fn claim(&self, worker: &str, max: usize) -> Result<Vec<ClaimedJob>, QueueError>;

    /// Extends each lease still held; returns the jobs whose lease is gone (abort them).
    async fn renew(&self, leases: &[Lease]) -> Result<Vec<JobId>, QueueError>;

    /// Records progress (0–100) and extends the lease.
    async fn progress(&self, lease: &Lease, percent: u8) -> Result<(), QueueError>;

    /// Remembers the multipart upload the holder has started, or forgets it (`None`) once it is
    /// finished or aborted; a later attempt receives it as [`ClaimedJob::abandoned_upload`].
    async fn note_upload(&self, lease: &Lease, upload_id: Option<&str>) -> Result<(), QueueError>;

    /// Marks the job completed with its archive (which also forgets any noted upload).
    async fn complete(&self, lease: &Lease, result: JobResult) -> Result<(), QueueError>;

    /// Completes the job like [`JobQueue::complete`] and claims the next waiting job for `worker`
    /// in the same step (`None`: nothing waits), so a busy worker spends one round trip per job.
    /// A completion that is refused is an error and claims nothing.
    async fn complete_and_claim(
        &self,
        lease: &Lease,
        result: JobResult,
        worker: &str,
    ) -> Result<Option<ClaimedJob>, QueueError> {
        self.complete(lease, result).await?;
        match self.claim(worker, 1).await {
            Ok(mut jobs) => Ok(jobs.pop()),
            // The completion stands; the worker's loop claims again.
            Err(error) => {
                tracing::warn!(%error, "job completed, but the next one could not be claimed");
                Ok(None)
            }
        }
    }

    /// Records a failed attempt: schedules the next one, or fails the job for good.
    async fn fail(&self, lease: &Lease, error: &str) -> Result<FailOutcome, QueueError>;

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

    /// Cheap round trip for `/health`.
    async fn ping(&self) -> Result<(), QueueError>;
}

/// A fresh lease token: 128 random bits, so tokens never repeat across workers or restarts.
pub fn new_lease_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}
