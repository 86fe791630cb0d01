//! The production queue: job records and queue state in Redis, every state change one Lua script.
//!
//! Key layout, all under the hash tag `{<QUEUE_PREFIX>}` so every key lives in one Redis Cluster
//! slot (scripts declare their fixed keys and derive per-job keys from the same prefix):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{p}:job:<id>` | hash | the job record a status poll reads with one `HGETALL` |
//! | `{p}:wait:<client>` | list | one client's claimable job ids, oldest first (released and reclaimed jobs in front) |
//! | `{p}:turns` | list | each client with claimable jobs once, the next to be served first |
//! | `{p}:waiting` | string | claimable jobs in all lines (for the depth) |
//! | `{p}:unfinished:<client>` | set | the client's unfinished job ids (for `MAX_ACTIVE_JOBS_PER_CLIENT`) |
//! | `{p}:active` | sorted set | processing job ids by lease deadline (ms) |
//! | `{p}:delayed` | sorted set | retrying job ids by next attempt time (ms) |
//! | `{p}:idem:<client>#<key>` | string | the job a client's idempotency key created |
//! | `{p}:wake` | list | one entry per enqueued job, popped by idle instances to wake up |
//! | `{p}:lock:<name>` | string | the holder of a work lock (expires unless renewed) |
//! | `{p}:instances` | sorted set | instance ids by the time their last heartbeat runs out |
//! | `{p}:instance:<id>` | hash | one instance: host, concurrency, running job ids, start, last heartbeat, how the origin answered its last request (`originState`, `originAt`, `originError`); expires with the heartbeat |
//! | `{p}:paused` | string | present while the queue is paused: claims hand out nothing |
//! | `{p}:minute:<n>` | hash | jobs finished in minute `n` since the epoch, by phase (`completed`, `failed`, `cancelled`), and the minute's last depth sample (`waiting`, `processing`), for the console; expires after two hours |
//! | `{p}:state:<phase>` | sorted set | the console's job list: the job ids in each stored phase, scored by [`super::listed_at`]; finished phases trimmed to their retention |
//! | `{p}:attempts:<id>` | list | the console's attempt history of a job: one JSON entry per attempt (number, worker, start, end, outcome, error), expiring with the record |
//!
//! Finished job records and their idempotency keys get a Redis expiry (a completed record
//! `result_ttl + expired_record_ttl`, reading as expired after its `resultExpiresAt`, and its key
//! `result_ttl`; `finished_record_ttl` for the rest), so nothing grows without bound.
//! Timestamps come from Redis' `TIME`.
//!
//! **When Redis is full** (`maxmemory` with `noeviction`), it refuses writes. Only
//! [`JobQueue::enqueue`] is refused then (`QueueError::OutOfMemory`): every other script carries
//! the `allow-oom` flag, so jobs already accepted still run, finish and expire, which is what frees
//! the memory again.

mod connection;
mod record;
mod scripts;

pub use connection::{redacted, RedisTarget};

use super::{
    backoff, millis, new_lease_token, scoped_key, system_now, ActivityInMinute, AdminOutcome,
    Attempt, CancelOutcome, Claimed, Enqueued, FailOutcome, FailureKind, Instance, JobFilter,
    JobPage, JobQueue, JobRecord, JobResult, Lease, ListCursor, NewJob, Progress, QueueDepth,
    QueueError, QueueSettings, Upload, WorkLock, ACTIVITY_KEPT_MINUTES, ATTEMPTS_KEPT,
    LIST_PAGE_MAX, LIST_SCAN_BUDGET, RECLAIMED_ERROR,
};
use app::api::{JobId, Timestamp};
use async_trait::async_trait;
use connection::{Connection, Connector};
use scripts::Scripts;
use std::{future::Future, sync::Arc, time::Duration};
use tokio::sync::Notify;

/// No queue operation may wait longer than this on Redis: an API request must get its 503 fast.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(1);
/// How long an idle instance blocks on the wake-up list before looking again.
const WAKE_POLL: Duration = Duration::from_secs(1);
/// Wake this much after a deadline, so the claim that follows finds it passed.
const DUE_MARGIN: Duration = Duration::from_millis(2);
/// The shortest blocking pop (a timeout of zero would mean "forever").
const MIN_BLOCK: Duration = Duration::from_millis(10);

/// Names of the queue's keys for one prefix.
#[derive(Debug, Clone)]
struct Keys {
    /// `{<prefix>}:` — the braces are the Redis Cluster hash tag.
    prefix: String,
}

impl Keys {
    fn new(queue_prefix: &str) -> Self {
        Self {
            prefix: format!("{{{queue_prefix}}}:"),
        }
    }
    fn job(&self, id: JobId) -> String {
        format!("{}job:{id}", self.prefix)
    }
    fn turns(&self) -> String {
        format!("{}turns", self.prefix)
    }
    fn waiting(&self) -> String {
        format!("{}waiting", self.prefix)
    }
    fn unfinished(&self, client: &str) -> String {
        format!("{}unfinished:{client}", self.prefix)
    }
    fn active(&self) -> String {
        format!("{}active", self.prefix)
    }
    fn delayed(&self) -> String {
        format!("{}delayed", self.prefix)
    }
    fn instances(&self) -> String {
        format!("{}instances", self.prefix)
    }
    fn paused(&self) -> String {
        format!("{}paused", self.prefix)
    }
    fn wake(&self) -> String {
        format!("{}wake", self.prefix)
    }
    fn idempotency(&self, scoped_key: &str) -> String {
        format!("{}idem:{scoped_key}", self.prefix)
    }
    fn lock(&self, name: &str) -> String {
        format!("{}lock:{name}", self.prefix)
    }
    fn attempts(&self, id: JobId) -> String {
        format!("{}attempts:{id}", self.prefix)
    }
}

/// [`JobQueue`] on Redis.
pub struct RedisQueue {
    settings: QueueSettings,
    keys: Keys,
    scripts: Scripts,
    /// Multiplexed connection for every operation; reconnects by itself with backoff.
    connector: Connector,
    /// A second connection, only for the blocking pop on the wake-up list (a blocking command
    /// would stall every other request on the multiplexed connection).
    blocking: tokio::sync::Mutex<Connector>,
    /// Wakes this process' idle workers at once when it enqueues a job itself.
    work_available: Arc<Notify>,
    /// The instance whose workers claim through this queue, as attempts record it.
    worker_name: String,
}

fn unavailable(error: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(error.to_string())
}

/// Parses what the claim scripts answer: the number of leases taken back, then the fields of
/// each claimed job.
fn claimed_jobs(reply: &[String]) -> Result<Claimed, QueueError> {
    let (reclaimed, jobs) = reply
        .split_first()
        .ok_or_else(|| unavailable("empty reply from a claim script"))?;
    Ok(Claimed {
        leases_reclaimed: reclaimed.parse().map_err(unavailable)?,
        jobs: jobs
            .chunks(record::CLAIMED_FIELDS)
            .map(|job| record::claimed(job).map_err(unavailable))
            .collect::<Result<_, _>>()?,
    })
}

/// Reads what the console's job actions answer: `ok`, `not_found` or `phase:<phase>`.
fn admin_outcome(reply: &str) -> Result<AdminOutcome, QueueError> {
    match (reply, reply.strip_prefix("phase:")) {
        ("ok", _) => Ok(AdminOutcome::Done),
        ("not_found", _) => Ok(AdminOutcome::NotFound),
        (_, Some(phase)) => Ok(AdminOutcome::WrongPhase(
            record::phase(phase).map_err(unavailable)?,
        )),
        (other, None) => Err(unavailable(format!("unexpected reply {other:?}"))),
    }
}

/// Runs a Redis operation with the operation timeout, mapping every failure to `Unavailable`.
async fn bounded<T>(
    operation: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, QueueError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) if error.code() == Some("OOM") => {
            Err(QueueError::OutOfMemory(error.to_string()))
        }
        Ok(Err(error)) => Err(unavailable(error)),
        Err(_) => Err(unavailable("Redis did not answer in time")),
    }
}

impl RedisQueue {
    /// How long until a lease expires or a retry falls due (`None`: neither, or Redis is away).
    async fn next_due(&self) -> Option<Duration> {
        let invocation = scripts::NextDue {
            active_key: &self.keys.active(),
            delayed_key: &self.keys.delayed(),
        }
        .invocation(&self.scripts.next_due);
        let mut connection = self.connection().await.ok()?;
        let millis: i64 = bounded(invocation.invoke_async(&mut connection))
            .await
            .ok()?;
        u64::try_from(millis).ok().map(Duration::from_millis)
    }

    /// Connects lazily to the server at `url`: Ferry starts even while Redis is down, answers
    /// 503 until it is reachable, and recovers by itself.
    pub fn connect(
        url: &str,
        queue_prefix: &str,
        settings: QueueSettings,
    ) -> Result<Self, QueueError> {
        Self::connect_to(&RedisTarget::Server(url.to_owned()), queue_prefix, settings)
    }

    /// Connects lazily to a server or a cluster.
    pub fn connect_to(
        target: &RedisTarget,
        queue_prefix: &str,
        settings: QueueSettings,
    ) -> Result<Self, QueueError> {
        let connector = Connector::new(target, OPERATION_TIMEOUT).map_err(unavailable)?;
        // The blocking pop waits up to WAKE_POLL; give its responses that much more time.
        let blocking =
            Connector::new(target, OPERATION_TIMEOUT + WAKE_POLL).map_err(unavailable)?;
        Ok(Self {
            settings,
            keys: Keys::new(queue_prefix),
            scripts: Scripts::load(),
            connector,
            blocking: tokio::sync::Mutex::new(blocking),
            work_available: Arc::new(Notify::new()),
            worker_name: "unnamed".into(),
        })
    }

    /// The same queue, recording `name` as the worker of the attempts it hands out (the
    /// instance id the console lists).
    pub fn named(self, name: impl Into<String>) -> Self {
        Self {
            worker_name: name.into(),
            ..self
        }
    }

    /// A connection for one operation, within the operation timeout.
    async fn connection(&self) -> Result<Connection, QueueError> {
        bounded(self.connector.get()).await
    }

    /// Redis' eviction policy. Anything but `noeviction` can silently drop job records under
    /// memory pressure, which is why start-up warns about it.
    pub async fn eviction_policy(&self) -> Result<String, QueueError> {
        let mut connection = self.connection().await?;
        let reply: Vec<String> = bounded(
            redis::cmd("CONFIG")
                .arg("GET")
                .arg("maxmemory-policy")
                .query_async(&mut connection),
        )
        .await?;
        Ok(reply.get(1).cloned().unwrap_or_default())
    }

    fn lease_ms(&self) -> u64 {
        millis(self.settings.lease_ttl)
    }

    /// How long a completed job's result (and its idempotency key) is kept.
    fn result_retention_ms(&self) -> u64 {
        millis(self.settings.result_ttl).max(1)
    }

    /// How long a completed record outlives its result.
    fn expired_retention_ms(&self) -> u64 {
        millis(self.settings.expired_record_ttl)
    }

    /// How long a cancelled or failed record is kept.
    fn finished_retention_ms(&self) -> u64 {
        millis(self.settings.finished_record_ttl).max(1)
    }

    /// Runs a fencing script that answers `ok` or `lost`.
    async fn fenced(
        &self,
        lease: &Lease,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<(), QueueError> {
        let mut connection = self.connection().await?;
        let reply: String = bounded(invocation.invoke_async(&mut connection)).await?;
        match reply.as_str() {
            "ok" => Ok(()),
            _ => Err(QueueError::LeaseLost(lease.job_id)),
        }
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    fn describe(&self) -> String {
        format!("redis (keys {}*)", self.keys.prefix)
    }

    fn lease_ttl(&self) -> Duration {
        self.settings.lease_ttl
    }

    async fn enqueue(
        &self,
        job: NewJob,
        idempotency_key: Option<&str>,
    ) -> Result<Enqueued, QueueError> {
        let id = JobId::generate();
        let scoped = scoped_key(&job.client, idempotency_key.unwrap_or_default());
        let mut connection = self.connection().await?;
        let invocation = scripts::Enqueue {
            turns_key: &self.keys.turns(),
            job_key: &self.keys.job(id),
            idempotency_key: &self.keys.idempotency(&scoped),
            wake_key: &self.keys.wake(),
            unfinished_key: &self.keys.unfinished(&job.client),
            prefix: &self.keys.prefix,
            job_id: &id.to_string(),
            file_ids: &record::file_ids_field(&job.file_ids),
            origin_params: &job.origin_params,
            max_attempts: &self.settings.max_attempts,
            has_idempotency_key: &if idempotency_key.is_some() { "1" } else { "0" },
            scoped_key: &scoped,
            client: &job.client,
            max_unfinished: &self.settings.max_active_per_client,
            trace_parent: &job.trace_parent.as_deref().unwrap_or_default(),
        }
        .invocation(&self.scripts.enqueue);
        let reply: Vec<String> = bounded(invocation.invoke_async(&mut connection)).await?;
        let (outcome, fields) = reply
            .split_first()
            .ok_or_else(|| unavailable("empty reply"))?;
        let created = match outcome.as_str() {
            "created" => true,
            "existing" => false,
            "conflict" => return Err(QueueError::IdempotencyConflict),
            "too_many" => {
                return Err(QueueError::TooManyActiveJobs {
                    limit: self.settings.max_active_per_client,
                })
            }
            other => return Err(unavailable(format!("unexpected enqueue reply {other:?}"))),
        };
        if created {
            self.work_available.notify_one();
        }
        Ok(Enqueued {
            record: record::parse(record::pairs(fields)).map_err(unavailable)?,
            created,
        })
    }

    async fn claim(&self, max: usize) -> Result<Claimed, QueueError> {
        let mut invocation = scripts::Claim {
            turns_key: &self.keys.turns(),
            active_key: &self.keys.active(),
            delayed_key: &self.keys.delayed(),
            prefix: &self.keys.prefix,
            lease_ms: &self.lease_ms(),
            retention_ms: &self.finished_retention_ms(),
            max: &max,
            reclaimed_error: &RECLAIMED_ERROR,
            worker: &self.worker_name,
            attempts_kept: &ATTEMPTS_KEPT,
        }
        .invocation(&self.scripts.claim);
        for _ in 0..max {
            invocation.arg(new_lease_token());
        }
        let mut connection = self.connection().await?;
        let reply: Vec<String> = bounded(invocation.invoke_async(&mut connection)).await?;
        claimed_jobs(&reply)
    }

    async fn renew(&self, leases: &[Lease]) -> Result<Vec<JobId>, QueueError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = scripts::Renew {
            active_key: &self.keys.active(),
            prefix: &self.keys.prefix,
            lease_ms: &self.lease_ms(),
        }
        .invocation(&self.scripts.renew);
        for lease in leases {
            invocation.arg(lease.job_id.to_string()).arg(&lease.token);
        }
        let mut connection = self.connection().await?;
        let lost: Vec<String> = bounded(invocation.invoke_async(&mut connection)).await?;
        lost.iter()
            .map(|id| id.parse().map_err(unavailable))
            .collect()
    }

    async fn progress(&self, lease: &Lease, progress: &Progress) -> Result<(), QueueError> {
        let invocation = scripts::Progress {
            job_key: &self.keys.job(lease.job_id),
            active_key: &self.keys.active(),
            job_id: &lease.job_id.to_string(),
            token: &lease.token,
            percent: &progress.percent.min(100),
            lease_ms: &self.lease_ms(),
            bytes_done: &progress.bytes_done,
            bytes_total: &progress
                .bytes_total
                .map(|n| n.to_string())
                .unwrap_or_default(),
            files_done: &progress.files_done,
        }
        .invocation(&self.scripts.progress);
        self.fenced(lease, invocation).await
    }

    async fn note_upload(&self, lease: &Lease, upload: Option<&Upload>) -> Result<(), QueueError> {
        let invocation = scripts::NoteUpload {
            job_key: &self.keys.job(lease.job_id),
            token: &lease.token,
            upload_id: &upload.map_or("", |u| u.id.as_str()),
            upload_key: &upload.map_or("", |u| u.key.as_str()),
        }
        .invocation(&self.scripts.note_upload);
        self.fenced(lease, invocation).await
    }

    async fn complete(&self, lease: &Lease, result: JobResult) -> Result<(), QueueError> {
        let invocation = scripts::Complete {
            job_key: &self.keys.job(lease.job_id),
            active_key: &self.keys.active(),
            prefix: &self.keys.prefix,
            job_id: &lease.job_id.to_string(),
            token: &lease.token,
            result_key: &result.key.as_str(),
            result_size: &result.size,
            result_retention_ms: &self.result_retention_ms(),
            expired_retention_ms: &self.expired_retention_ms(),
        }
        .invocation(&self.scripts.complete);
        self.fenced(lease, invocation).await
    }

    async fn complete_and_claim(
        &self,
        lease: &Lease,
        result: JobResult,
    ) -> Result<Claimed, QueueError> {
        let invocation = scripts::CompleteClaim {
            job_key: &self.keys.job(lease.job_id),
            turns_key: &self.keys.turns(),
            active_key: &self.keys.active(),
            delayed_key: &self.keys.delayed(),
            prefix: &self.keys.prefix,
            job_id: &lease.job_id.to_string(),
            token: &lease.token,
            result_key: &result.key.as_str(),
            result_size: &result.size,
            result_retention_ms: &self.result_retention_ms(),
            lease_ms: &self.lease_ms(),
            fresh_token: &new_lease_token(),
            retention_ms: &self.finished_retention_ms(),
            expired_retention_ms: &self.expired_retention_ms(),
            reclaimed_error: &RECLAIMED_ERROR,
            worker: &self.worker_name,
            attempts_kept: &ATTEMPTS_KEPT,
        }
        .invocation(&self.scripts.complete_claim);
        let mut connection = self.connection().await?;
        let reply: Vec<String> = bounded(invocation.invoke_async(&mut connection)).await?;
        match reply.split_first() {
            Some((outcome, claim)) if outcome == "ok" => claimed_jobs(claim),
            _ => Err(QueueError::LeaseLost(lease.job_id)),
        }
    }

    async fn fail(
        &self,
        lease: &Lease,
        error: &str,
        kind: FailureKind,
    ) -> Result<FailOutcome, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Fail {
            job_key: &self.keys.job(lease.job_id),
            active_key: &self.keys.active(),
            delayed_key: &self.keys.delayed(),
            prefix: &self.keys.prefix,
            job_id: &lease.job_id.to_string(),
            token: &lease.token,
            error_message: &error,
            wait_ms: &millis(backoff::random_retry_delay(
                self.settings.retry_backoff_base,
                lease.attempt,
            )),
            retention_ms: &self.finished_retention_ms(),
            permanent: &match kind {
                FailureKind::Permanent => "1",
                FailureKind::Transient => "0",
            },
        }
        .invocation(&self.scripts.fail);
        let reply: Vec<String> = bounded(invocation.invoke_async(&mut connection)).await?;
        match reply.as_slice() {
            [outcome] if outcome == "failed" => Ok(FailOutcome::Failed),
            [outcome, attempt, next] if outcome == "retrying" => Ok(FailOutcome::Retrying {
                attempt: attempt.parse().map_err(unavailable)?,
                next_attempt_at: Timestamp::from_unix_millis(next.parse().map_err(unavailable)?),
            }),
            _ => Err(QueueError::LeaseLost(lease.job_id)),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), QueueError> {
        let invocation = scripts::Release {
            job_key: &self.keys.job(lease.job_id),
            active_key: &self.keys.active(),
            turns_key: &self.keys.turns(),
            job_id: &lease.job_id.to_string(),
            token: &lease.token,
            prefix: &self.keys.prefix,
        }
        .invocation(&self.scripts.release);
        self.fenced(lease, invocation).await?;
        self.work_available.notify_one();
        Ok(())
    }

    async fn cancel(&self, job_id: JobId) -> Result<CancelOutcome, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Cancel {
            job_key: &self.keys.job(job_id),
            turns_key: &self.keys.turns(),
            active_key: &self.keys.active(),
            delayed_key: &self.keys.delayed(),
            prefix: &self.keys.prefix,
            job_id: &job_id.to_string(),
            retention_ms: &self.finished_retention_ms(),
        }
        .invocation(&self.scripts.cancel);
        let reply: String = bounded(invocation.invoke_async(&mut connection)).await?;
        match (reply.as_str(), reply.strip_prefix("finished:")) {
            ("ok", _) => Ok(CancelOutcome::Cancelled),
            ("not_found", _) => Ok(CancelOutcome::NotFound),
            (_, Some(phase)) => Ok(CancelOutcome::AlreadyFinished(
                record::phase(phase).map_err(unavailable)?,
            )),
            (other, None) => Err(unavailable(format!("unexpected cancel reply {other:?}"))),
        }
    }

    async fn status(&self, job_id: JobId) -> Result<Option<JobRecord>, QueueError> {
        let mut connection = self.connection().await?;
        let fields: record::Fields = bounded(
            redis::cmd("HGETALL")
                .arg(self.keys.job(job_id))
                .query_async(&mut connection),
        )
        .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let record = record::parse(fields).map_err(unavailable)?;
        Ok(Some(record.seen_at(system_now())))
    }

    async fn wait_for_work(&self, max_wait: Duration) {
        // Sleep no longer than until a lease expires or a retry falls due: a crashed worker's job
        // then runs again the moment its lease ends, not up to a poll interval later.
        let max_wait = match self.next_due().await {
            Some(due) => max_wait.min(due + DUE_MARGIN),
            None => max_wait,
        };
        let local = self.work_available.notified();
        // One idle worker per process blocks on the shared wake-up list; the others wait for
        // it (or a local enqueue) to notify them.
        let remote = async {
            let Ok(connector) = self.blocking.try_lock() else {
                return std::future::pending().await;
            };
            let popped: redis::RedisResult<Option<(String, String)>> = match connector.get().await {
                Ok(mut connection) => {
                    redis::cmd("BLPOP")
                        .arg(self.keys.wake())
                        // Never 0, which would block for good.
                        .arg(max_wait.clamp(MIN_BLOCK, WAKE_POLL).as_secs_f64())
                        .query_async(&mut connection)
                        .await
                }
                Err(error) => Err(error),
            };
            match popped {
                Ok(Some(_)) => self.work_available.notify_waiters(),
                Ok(None) => {}
                // Redis is down: do not spin; the claim that follows reports the outage.
                Err(_) => tokio::time::sleep(max_wait).await,
            }
        };
        let _ = tokio::time::timeout(max_wait, async {
            tokio::select! {
                _ = local => {}
                _ = remote => {}
            }
        })
        .await;
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Depth {
            waiting_key: &self.keys.waiting(),
            delayed_key: &self.keys.delayed(),
            active_key: &self.keys.active(),
        }
        .invocation(&self.scripts.depth);
        let (waiting, retrying, processing): (u64, u64, u64) =
            bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(QueueDepth {
            waiting,
            retrying,
            processing,
        })
    }

    async fn heartbeat(&self, instance: &Instance, ttl: Duration) -> Result<bool, QueueError> {
        let running = instance
            .running
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut connection = self.connection().await?;
        let invocation = scripts::Heartbeat {
            instances_key: &self.keys.instances(),
            waiting_key: &self.keys.waiting(),
            delayed_key: &self.keys.delayed(),
            active_key: &self.keys.active(),
            paused_key: &self.keys.paused(),
            prefix: &self.keys.prefix,
            instance_id: &instance.id,
            host: &instance.host,
            concurrency: &instance.concurrency,
            running: &running,
            started_at: &instance.started_at.unix_millis(),
            ttl_ms: &millis(ttl).max(1),
            origin_state: &record::origin_state_field(instance.origin.state),
            origin_at: &instance
                .origin
                .at
                .map(|at| at.unix_millis().to_string())
                .unwrap_or_default(),
            origin_error: &instance.origin.error.as_deref().unwrap_or_default(),
        }
        .invocation(&self.scripts.heartbeat);
        let paused: i64 = bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(paused == 1)
    }

    async fn leave(&self, instance_id: &str) -> Result<(), QueueError> {
        let mut connection = self.connection().await?;
        let _: () = bounded(
            redis::pipe()
                .atomic()
                .zrem(self.keys.instances(), instance_id)
                .ignore()
                .del(format!("{}instance:{instance_id}", self.keys.prefix))
                .ignore()
                .query_async(&mut connection),
        )
        .await?;
        Ok(())
    }

    async fn instances(&self) -> Result<Vec<Instance>, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Instances {
            instances_key: &self.keys.instances(),
            prefix: &self.keys.prefix,
        }
        .invocation(&self.scripts.instances);
        let reply: Vec<String> = bounded(invocation.invoke_async(&mut connection)).await?;
        let mut instances = Vec::new();
        let mut rest = reply.as_slice();
        while let Some((count, tail)) = rest.split_first() {
            let count: usize = count.parse().map_err(unavailable)?;
            let (fields, tail) = tail.split_at(count.min(tail.len()));
            instances.push(record::instance(&record::pairs(fields)).map_err(unavailable)?);
            rest = tail;
        }
        instances.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(instances)
    }

    async fn retry_failed(&self, job_id: JobId) -> Result<AdminOutcome, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::RetryFailed {
            job_key: &self.keys.job(job_id),
            wake_key: &self.keys.wake(),
            prefix: &self.keys.prefix,
            job_id: &job_id.to_string(),
        }
        .invocation(&self.scripts.retry_failed);
        let reply: String = bounded(invocation.invoke_async(&mut connection)).await?;
        let outcome = admin_outcome(&reply)?;
        if outcome == AdminOutcome::Done {
            self.work_available.notify_one();
        }
        Ok(outcome)
    }

    async fn delete(&self, job_id: JobId) -> Result<AdminOutcome, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Delete {
            job_key: &self.keys.job(job_id),
            prefix: &self.keys.prefix,
            job_id: &job_id.to_string(),
        }
        .invocation(&self.scripts.delete);
        let reply: String = bounded(invocation.invoke_async(&mut connection)).await?;
        admin_outcome(&reply)
    }

    async fn set_paused(&self, paused: bool) -> Result<(), QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Pause {
            paused_key: &self.keys.paused(),
            wake_key: &self.keys.wake(),
            paused: &if paused { "1" } else { "0" },
        }
        .invocation(&self.scripts.pause);
        let _: String = bounded(invocation.invoke_async(&mut connection)).await?;
        if !paused {
            self.work_available.notify_waiters();
        }
        Ok(())
    }

    async fn is_paused(&self) -> Result<bool, QueueError> {
        let mut connection = self.connection().await?;
        bounded(
            redis::cmd("EXISTS")
                .arg(self.keys.paused())
                .query_async(&mut connection),
        )
        .await
    }

    async fn activity_per_minute(&self, minutes: u32) -> Result<Vec<ActivityInMinute>, QueueError> {
        let minutes = minutes.clamp(1, ACTIVITY_KEPT_MINUTES);
        let mut connection = self.connection().await?;
        let invocation = scripts::ActivityPerMinute {
            turns_key: &self.keys.turns(),
            prefix: &self.keys.prefix,
            minutes: &minutes,
        }
        .invocation(&self.scripts.activity_per_minute);
        let reply: Vec<i64> = bounded(invocation.invoke_async(&mut connection)).await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let sample = |n: i64| u64::try_from(n).ok();
        Ok(reply
            .chunks_exact(6)
            .map(|c| ActivityInMinute {
                minute: Timestamp::from_unix_millis(count(c[0])),
                completed: count(c[1]),
                failed: count(c[2]),
                cancelled: count(c[3]),
                waiting: sample(c[4]),
                processing: sample(c[5]),
            })
            .collect())
    }

    async fn list_jobs(
        &self,
        filter: &JobFilter,
        after: Option<ListCursor>,
        limit: usize,
    ) -> Result<JobPage, QueueError> {
        let phases = match filter.phase {
            Some(phase) => phase.as_str(),
            None => "queued,processing,retrying,completed+expired,failed,cancelled",
        };
        let (after_score, after_id) = after
            .map(|c| (c.listed_at.to_string(), c.job_id.to_string()))
            .unwrap_or_default();
        let mut connection = self.connection().await?;
        let invocation = scripts::ListJobs {
            turns_key: &self.keys.turns(),
            prefix: &self.keys.prefix,
            phases: &phases,
            after_score: &after_score,
            after_id: &after_id,
            limit: &limit.clamp(1, LIST_PAGE_MAX),
            client: &filter.client.as_deref().unwrap_or_default(),
            file_id: &filter.file_id.map(|f| f.to_string()).unwrap_or_default(),
            budget: &LIST_SCAN_BUDGET,
        }
        .invocation(&self.scripts.list_jobs);
        let (next_score, next_id, now, jobs): (String, String, u64, Vec<Vec<String>>) =
            bounded(invocation.invoke_async(&mut connection)).await?;
        // Expired is told from completed by the clock the script filtered by.
        let now = Timestamp::from_unix_millis(now);
        let jobs = jobs
            .iter()
            .map(|fields| record::parse(record::pairs(fields)).map(|r| r.seen_at(now)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        let next = match next_score.is_empty() {
            true => None,
            false => Some(ListCursor {
                listed_at: next_score.parse().map_err(unavailable)?,
                job_id: next_id.parse().map_err(unavailable)?,
            }),
        };
        Ok(JobPage { jobs, next })
    }

    async fn attempts(&self, job_id: JobId) -> Result<Vec<Attempt>, QueueError> {
        let mut connection = self.connection().await?;
        let entries: Vec<String> = bounded(
            redis::cmd("LRANGE")
                .arg(self.keys.attempts(job_id))
                .arg(0)
                .arg(-1)
                .query_async(&mut connection),
        )
        .await?;
        entries
            .iter()
            .map(|entry| record::attempt(entry).map_err(unavailable))
            .collect()
    }

    async fn ping(&self) -> Result<(), QueueError> {
        let mut connection = self.connection().await?;
        let _: String = bounded(redis::cmd("PING").query_async(&mut connection)).await?;
        Ok(())
    }

    async fn lock_work(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<WorkLock, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Lock {
            lock_key: &self.keys.lock(name),
            holder: &holder,
            ttl_ms: &millis(ttl).max(1),
        }
        .invocation(&self.scripts.lock);
        let reply: String = bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(if reply == "ok" {
            WorkLock::Acquired
        } else {
            WorkLock::HeldBy(reply)
        })
    }

    async fn renew_work_lock(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::RenewLock {
            lock_key: &self.keys.lock(name),
            holder: &holder,
            ttl_ms: &millis(ttl).max(1),
        }
        .invocation(&self.scripts.renew_lock);
        let renewed: i64 = bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(renewed == 1)
    }

    async fn unlock_work(&self, name: &str, holder: &str) -> Result<(), QueueError> {
        let mut connection = self.connection().await?;
        let invocation = scripts::Unlock {
            lock_key: &self.keys.lock(name),
            holder: &holder,
        }
        .invocation(&self.scripts.unlock);
        let _: i64 = bounded(invocation.invoke_async(&mut connection)).await?;
        Ok(())
    }
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("keys", &self.keys)
            .finish()
    }
}
