//! The embedded queue: everything in process memory behind one mutex.
//!
//! It is the default when no `REDIS_URL` is set and follows every rule of the Redis backend (the
//! conformance suite runs against both). Each operation takes the mutex once and finishes before
//! releasing it, which is what makes every state change atomic; no `.await` happens under it.
//! Jobs do not survive a restart of the process: that is what the Redis backend is for.

use super::{
    backoff,
    clock::{Clock, SystemClock},
    millis, new_lease_token,
    round_robin::RoundRobin,
    scoped_key, ActivityInMinute, AdminOutcome, Attempt, AttemptOutcome, CancelOutcome, Claimed,
    ClaimedJob, Enqueued, FailOutcome, FailureKind, Instance, JobFilter, JobPage, JobQueue,
    JobRecord, JobResult, Lease, ListCursor, NewJob, Progress, QueueDepth, QueueError,
    QueueSettings, Upload, WorkLock, ACTIVITY_KEPT_MINUTES, ATTEMPTS_KEPT, LIST_PAGE_MAX,
    RECLAIMED_ERROR,
};
use app::api::{JobId, JobPhase, Timestamp};
use async_trait::async_trait;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::Notify;

/// In-process [`JobQueue`].
pub struct MemoryQueue {
    settings: QueueSettings,
    /// What time it is (the system clock, or tokio's in tests: see [`super::clock`]).
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Wakes an idle worker when a job becomes claimable.
    work_available: Notify,
    /// The instance whose workers claim through this queue, as attempts record it.
    worker_name: String,
}

/// A job record plus the bookkeeping that never leaves the queue.
struct StoredJob {
    record: JobRecord,
    /// Token and deadline (ms) of the lease, while processing.
    lease: Option<(String, u64)>,
    /// The scoped key (see [`scoped_key`]) this job was created with.
    idempotency_key: Option<String>,
    /// The multipart upload the current or last holder started and did not finish.
    upload: Option<Upload>,
    /// When a finished record is dropped (ms).
    expires_at: Option<u64>,
    /// When a finished job's idempotency key stops naming it (ms).
    idempotency_expires_at: Option<u64>,
    /// Each attempt, first first (the last [`ATTEMPTS_KEPT`]).
    attempts: Vec<Attempt>,
}

impl StoredJob {
    /// Whether the record is still kept at `now` (its retention has not ended; expired records
    /// are dropped by the next write that purges them, but no read may see them before that).
    fn is_kept_at(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// The record as a reader at `now` sees it, with the lease deadline of a held job.
    fn view(&self, now: u64) -> JobRecord {
        let mut record = self
            .record
            .clone()
            .seen_at(Timestamp::from_unix_millis(now));
        record.lease_deadline = self
            .lease
            .as_ref()
            .map(|(_, deadline)| Timestamp::from_unix_millis(*deadline));
        record
    }

    /// Records how the running attempt ended (an attempt that has ended stays as it is).
    fn end_attempt(&mut self, outcome: AttemptOutcome, error: Option<&str>, now: u64) {
        if let Some(attempt) = self.attempts.last_mut().filter(|a| a.ended_at.is_none()) {
            attempt.ended_at = Some(Timestamp::from_unix_millis(now));
            attempt.outcome = Some(outcome);
            attempt.error = error.map(str::to_owned);
        }
    }
}

#[derive(Default)]
struct State {
    jobs: HashMap<JobId, StoredJob>,
    /// Claimable jobs, one line per client, served in turn.
    waiting: RoundRobin,
    /// Unfinished jobs per client (clients with none are absent).
    unfinished: HashMap<String, u32>,
    /// Retrying jobs by the time (ms) they become claimable.
    delayed: BTreeSet<(u64, JobId)>,
    /// Processing jobs by lease deadline (ms).
    active: BTreeSet<(u64, JobId)>,
    /// Finished jobs by the time (ms) their record expires.
    expiring: BTreeSet<(u64, JobId)>,
    /// Scoped idempotency key → job it created.
    idempotency: HashMap<String, JobId>,
    /// Work locks: name → holder and deadline (ms).
    locks: HashMap<String, (String, u64)>,
    /// What happened in each minute (since the epoch); the last
    /// [`ACTIVITY_KEPT_MINUTES`] only.
    minutes: BTreeMap<u64, MinuteCounts>,
    /// Paused by the console: claims hand out nothing.
    paused: bool,
    /// The instances alive, with the time (ms) their last heartbeat runs out.
    instances: HashMap<String, (Instance, u64)>,
}

/// One minute's counts: jobs finished (completed, failed, cancelled) and the last depth sample
/// (waiting, processing).
#[derive(Debug, Clone, Copy, Default)]
struct MinuteCounts {
    finished: [u64; 3],
    depth: Option<(u64, u64)>,
}

/// The counts of the minute `now` falls in, forgetting minutes older than the ones kept.
fn minute_at(minutes: &mut BTreeMap<u64, MinuteCounts>, now: u64) -> &mut MinuteCounts {
    let minute = now / 60_000;
    let kept_from = minute.saturating_sub(u64::from(ACTIVITY_KEPT_MINUTES) - 1);
    while minutes
        .first_key_value()
        .is_some_and(|(&oldest, _)| oldest < kept_from)
    {
        minutes.pop_first();
    }
    minutes.entry(minute).or_default()
}

impl MemoryQueue {
    /// An empty queue enforcing `settings`, on the system clock.
    pub fn new(settings: QueueSettings) -> Self {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// An empty queue enforcing `settings` that tells time by `clock`.
    pub fn with_clock(settings: QueueSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            clock,
            state: Mutex::new(State::default()),
            work_available: Notify::new(),
            worker_name: "unnamed".into(),
        }
    }

    /// The same queue, recording `name` as the worker of the attempts it hands out (the
    /// instance id the console lists).
    pub fn named(self, name: impl Into<String>) -> Self {
        Self {
            worker_name: name.into(),
            ..self
        }
    }

    /// Milliseconds since the Unix epoch, by the queue's clock.
    fn now_ms(&self) -> u64 {
        self.clock.now().unix_millis()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every step completes before
        // any call that could panic), so a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// The job's record if it is still kept at `now` (what every read of one job sees).
    fn kept(&self, job_id: JobId, now: u64) -> Option<&StoredJob> {
        self.jobs.get(&job_id).filter(|job| job.is_kept_at(now))
    }

    /// Drops finished records whose retention ended, with their idempotency keys.
    fn purge_expired(&mut self, now: u64) {
        while let Some(&(expires_at, job_id)) = self.expiring.first() {
            if expires_at > now {
                break;
            }
            self.expiring.pop_first();
            if let Some(job) = self.jobs.remove(&job_id) {
                // Unless the key has named a newer job since this one's result expired.
                if let Some(key) = job.idempotency_key {
                    if self.idempotency.get(&key) == Some(&job_id) {
                        self.idempotency.remove(&key);
                    }
                }
            }
        }
    }

    /// Moves retries whose time has come to the back of the waiting line.
    fn promote_due_retries(&mut self, now: u64) {
        while let Some(&(due, job_id)) = self.delayed.first() {
            if due > now {
                break;
            }
            self.delayed.pop_first();
            if let Some(job) = self.jobs.get_mut(&job_id) {
                job.record.phase = JobPhase::Queued;
                job.record.next_attempt_at = None;
                self.waiting.push_back(&job.record.client, job_id);
            }
        }
    }

    /// Takes back jobs whose holder stopped renewing: each runs again as its next attempt, or
    /// fails if it has none left. Returns how many it took back.
    fn reclaim_expired_leases(&mut self, now: u64, settings: &QueueSettings) -> u64 {
        let before = self.active.len();
        let mut reclaimed = Vec::new();
        while let Some(&(deadline, job_id)) = self.active.first() {
            if deadline > now {
                break;
            }
            self.active.pop_first();
            reclaimed.push(job_id);
        }
        let count = (before - self.active.len()) as u64;
        for job_id in reclaimed.into_iter().rev() {
            let Some(job) = self.jobs.get_mut(&job_id) else {
                continue;
            };
            job.lease = None;
            job.end_attempt(AttemptOutcome::LeaseExpired, Some(RECLAIMED_ERROR), now);
            job.record.started_at = None;
            job.record.progress = Progress::default();
            job.record.error = Some(RECLAIMED_ERROR.into());
            if job.record.attempt < job.record.max_attempts {
                job.record.attempt += 1;
                job.record.phase = JobPhase::Queued;
                self.waiting.push_front(&job.record.client, job_id);
            } else {
                self.finish(job_id, JobPhase::Failed, now, settings);
            }
        }
        count
    }

    /// Puts a job in a terminal phase and starts its retention clock.
    fn finish(&mut self, job_id: JobId, phase: JobPhase, now: u64, settings: &QueueSettings) {
        let Some(job) = self.jobs.get_mut(&job_id) else {
            return;
        };
        if let Some((_, deadline)) = job.lease.take() {
            self.active.remove(&(deadline, job_id));
        }
        if phase == JobPhase::Cancelled {
            job.end_attempt(AttemptOutcome::Cancelled, None, now);
        }
        if let Some(next) = job.record.next_attempt_at.take() {
            self.delayed.remove(&(next.unix_millis(), job_id));
        }
        self.waiting.remove(&job.record.client, job_id);
        if let Some(count) = self.unfinished.get_mut(&job.record.client) {
            *count -= 1;
            if *count == 0 {
                self.unfinished.remove(&job.record.client);
            }
        }
        job.record.phase = phase;
        job.record.finished_at = Some(Timestamp::from_unix_millis(now));
        let counts = &mut minute_at(&mut self.minutes, now).finished;
        match phase {
            JobPhase::Completed => counts[0] += 1,
            JobPhase::Failed => counts[1] += 1,
            _ => counts[2] += 1,
        }
        if phase == JobPhase::Completed {
            job.record.result_expires_at = Some(Timestamp::from_unix_millis(
                now.saturating_add(millis(settings.result_ttl)),
            ));
        }
        let expires_at = now.saturating_add(millis(settings.retention(phase)));
        job.expires_at = Some(expires_at);
        job.idempotency_expires_at =
            Some(now.saturating_add(millis(settings.idempotency_retention(phase))));
        self.expiring.insert((expires_at, job_id));
    }

    /// The job if `lease` is its current lease; the fencing check of every worker write.
    fn held(&mut self, lease: &Lease) -> Result<&mut StoredJob, QueueError> {
        match self.jobs.get_mut(&lease.job_id) {
            Some(job)
                if job.record.phase == JobPhase::Processing
                    && job.lease.as_ref().is_some_and(|(t, _)| *t == lease.token) =>
            {
                Ok(job)
            }
            _ => Err(QueueError::LeaseLost(lease.job_id)),
        }
    }

    /// Moves the lease deadline of a held job to `now + ttl`.
    fn extend_lease(&mut self, job_id: JobId, now: u64, ttl: Duration) {
        if let Some(job) = self.jobs.get_mut(&job_id) {
            if let Some((_, deadline)) = job.lease.as_mut() {
                self.active.remove(&(*deadline, job_id));
                *deadline = now.saturating_add(millis(ttl));
                self.active.insert((*deadline, job_id));
            }
        }
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    fn describe(&self) -> String {
        "in-memory (jobs are lost when the process stops; set REDIS_URL for durability)".into()
    }

    fn lease_ttl(&self) -> Duration {
        self.settings.lease_ttl
    }

    async fn enqueue(
        &self,
        job: NewJob,
        idempotency_key: Option<&str>,
    ) -> Result<Enqueued, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.purge_expired(now);
        let idempotency_key = idempotency_key.map(|key| scoped_key(&job.client, key));
        if let Some(key) = &idempotency_key {
            let existing = state.idempotency.get(key).and_then(|id| state.jobs.get(id));
            let result_gone =
                existing.is_some_and(|job| job.idempotency_expires_at.is_some_and(|at| at <= now));
            if result_gone {
                // The key went with the job's result: this request prepares the file again.
                state.idempotency.remove(key);
            } else if let Some(existing) = existing {
                return if existing.record.file_ids == job.file_ids {
                    Ok(Enqueued {
                        record: existing.record.clone(),
                        created: false,
                    })
                } else {
                    Err(QueueError::IdempotencyConflict)
                };
            }
        }
        let limit = self.settings.max_active_per_client;
        if state.unfinished.get(&job.client).copied().unwrap_or(0) >= limit {
            return Err(QueueError::TooManyActiveJobs { limit });
        }
        let record = JobRecord::queued(
            job,
            self.settings.max_attempts,
            Timestamp::from_unix_millis(now),
        );
        if let Some(key) = &idempotency_key {
            state.idempotency.insert(key.clone(), record.id);
        }
        state.waiting.push_back(&record.client, record.id);
        *state.unfinished.entry(record.client.clone()).or_default() += 1;
        state.jobs.insert(
            record.id,
            StoredJob {
                record: record.clone(),
                lease: None,
                idempotency_key,
                upload: None,
                expires_at: None,
                idempotency_expires_at: None,
                attempts: Vec::new(),
            },
        );
        drop(state);
        self.work_available.notify_one();
        Ok(Enqueued {
            record,
            created: true,
        })
    }

    async fn claim(&self, max: usize) -> Result<Claimed, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.purge_expired(now);
        state.promote_due_retries(now);
        let leases_reclaimed = state.reclaim_expired_leases(now, &self.settings);
        let max = if state.paused { 0 } else { max };
        let mut claimed = Vec::new();
        while claimed.len() < max {
            let Some(job_id) = state.waiting.pop() else {
                break;
            };
            let Some(job) = state.jobs.get_mut(&job_id) else {
                continue;
            };
            let token = new_lease_token();
            let deadline = now.saturating_add(millis(self.settings.lease_ttl));
            job.lease = Some((token.clone(), deadline));
            job.record.phase = JobPhase::Processing;
            job.record.progress = Progress::default();
            let started_at = Timestamp::from_unix_millis(now);
            job.record.started_at = Some(started_at);
            job.record.first_started_at.get_or_insert(started_at);
            if job.attempts.len() == ATTEMPTS_KEPT {
                job.attempts.remove(0);
            }
            job.attempts.push(Attempt {
                number: job.record.attempt,
                worker: self.worker_name.clone(),
                started_at,
                ended_at: None,
                outcome: None,
                error: None,
            });
            claimed.push(ClaimedJob {
                lease: Lease {
                    job_id,
                    token,
                    attempt: job.record.attempt,
                },
                file_ids: job.record.file_ids.clone(),
                origin_params: job.record.origin_params.clone(),
                trace_parent: job.record.trace_parent.clone(),
                max_attempts: job.record.max_attempts,
                abandoned_upload: job.upload.clone(),
            });
            state.active.insert((deadline, job_id));
        }
        Ok(Claimed {
            jobs: claimed,
            leases_reclaimed,
        })
    }

    async fn renew(&self, leases: &[Lease]) -> Result<Vec<JobId>, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        let mut lost = Vec::new();
        for lease in leases {
            if state.held(lease).is_ok() {
                state.extend_lease(lease.job_id, now, self.settings.lease_ttl);
            } else {
                lost.push(lease.job_id);
            }
        }
        Ok(lost)
    }

    async fn progress(&self, lease: &Lease, progress: &Progress) -> Result<(), QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.held(lease)?.record.progress = Progress {
            percent: progress.percent.min(100),
            ..*progress
        };
        state.extend_lease(lease.job_id, now, self.settings.lease_ttl);
        Ok(())
    }

    async fn note_upload(&self, lease: &Lease, upload: Option<&Upload>) -> Result<(), QueueError> {
        self.lock().held(lease)?.upload = upload.cloned();
        Ok(())
    }

    async fn complete(&self, lease: &Lease, result: JobResult) -> Result<(), QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        let job = state.held(lease)?;
        job.upload = None;
        job.end_attempt(AttemptOutcome::Completed, None, now);
        job.record.progress.percent = 100;
        job.record.error = None;
        job.record.result = Some(result);
        state.finish(lease.job_id, JobPhase::Completed, now, &self.settings);
        Ok(())
    }

    async fn fail(
        &self,
        lease: &Lease,
        error: &str,
        kind: FailureKind,
    ) -> Result<FailOutcome, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        let job = state.held(lease)?;
        job.record.error = Some(error.to_owned());
        job.end_attempt(AttemptOutcome::Failed, Some(error), now);
        job.record.progress = Progress::default();
        if kind == FailureKind::Permanent || job.record.attempt >= job.record.max_attempts {
            state.finish(lease.job_id, JobPhase::Failed, now, &self.settings);
            return Ok(FailOutcome::Failed);
        }
        let failed_attempt = job.record.attempt;
        let wait = backoff::random_retry_delay(self.settings.retry_backoff_base, failed_attempt);
        let next_attempt_at = Timestamp::from_unix_millis(now.saturating_add(millis(wait)));
        job.record.attempt += 1;
        job.record.phase = JobPhase::Retrying;
        job.record.next_attempt_at = Some(next_attempt_at);
        job.record.started_at = None;
        if let Some((_, deadline)) = job.lease.take() {
            state.active.remove(&(deadline, lease.job_id));
        }
        state
            .delayed
            .insert((next_attempt_at.unix_millis(), lease.job_id));
        Ok(FailOutcome::Retrying {
            attempt: failed_attempt + 1,
            next_attempt_at,
        })
    }

    async fn release(&self, lease: &Lease) -> Result<(), QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        let job = state.held(lease)?;
        job.end_attempt(AttemptOutcome::Released, None, now);
        job.record.phase = JobPhase::Queued;
        job.record.progress = Progress::default();
        job.record.started_at = None;
        let client = job.record.client.clone();
        if let Some((_, deadline)) = job.lease.take() {
            state.active.remove(&(deadline, lease.job_id));
        }
        state.waiting.push_front(&client, lease.job_id);
        drop(state);
        self.work_available.notify_one();
        Ok(())
    }

    async fn cancel(&self, job_id: JobId) -> Result<CancelOutcome, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.purge_expired(now);
        let Some(job) = state.jobs.get(&job_id) else {
            return Ok(CancelOutcome::NotFound);
        };
        if job.record.phase.is_terminal() {
            let seen = job.record.clone().seen_at(Timestamp::from_unix_millis(now));
            return Ok(CancelOutcome::AlreadyFinished(seen.phase));
        }
        state.finish(job_id, JobPhase::Cancelled, now, &self.settings);
        Ok(CancelOutcome::Cancelled)
    }

    async fn status(&self, job_id: JobId) -> Result<Option<JobRecord>, QueueError> {
        let now = self.now_ms();
        Ok(self.lock().kept(job_id, now).map(|job| job.view(now)))
    }

    async fn wait_for_work(&self, max_wait: Duration) {
        // No longer than until a lease expires or a retry falls due.
        let max_wait = {
            let state = self.lock();
            let due = [state.active.first(), state.delayed.first()]
                .into_iter()
                .flatten()
                .map(|(at, _)| *at)
                .min();
            due.map_or(max_wait, |at| {
                // A millisecond late, so the claim that follows finds the deadline passed.
                max_wait.min(Duration::from_millis(at.saturating_sub(self.now_ms()) + 1))
            })
        };
        let _ = tokio::time::timeout(max_wait, self.work_available.notified()).await;
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let state = self.lock();
        Ok(QueueDepth {
            waiting: state.waiting.len() as u64,
            retrying: state.delayed.len() as u64,
            processing: state.active.len() as u64,
        })
    }

    async fn heartbeat(&self, instance: &Instance, ttl: Duration) -> Result<bool, QueueError> {
        let now = self.now_ms();
        let seen = Instance {
            seen_at: Timestamp::from_unix_millis(now),
            ..instance.clone()
        };
        let mut state = self.lock();
        state.instances.retain(|_, (_, until)| *until > now);
        state.instances.insert(
            instance.id.clone(),
            (seen, now.saturating_add(millis(ttl).max(1))),
        );
        let waiting = (state.waiting.len() + state.delayed.len()) as u64;
        let processing = state.active.len() as u64;
        minute_at(&mut state.minutes, now).depth = Some((waiting, processing));
        Ok(state.paused)
    }

    async fn leave(&self, instance_id: &str) -> Result<(), QueueError> {
        self.lock().instances.remove(instance_id);
        Ok(())
    }

    async fn instances(&self) -> Result<Vec<Instance>, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.instances.retain(|_, (_, until)| *until > now);
        let mut alive: Vec<Instance> = state.instances.values().map(|(i, _)| i.clone()).collect();
        alive.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(alive)
    }

    async fn retry_failed(&self, job_id: JobId) -> Result<AdminOutcome, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.purge_expired(now);
        let state = &mut *state;
        let Some(job) = state.jobs.get_mut(&job_id) else {
            return Ok(AdminOutcome::NotFound);
        };
        if job.record.phase != JobPhase::Failed {
            return Ok(AdminOutcome::WrongPhase(job.record.phase));
        }
        if let Some(expires_at) = job.expires_at.take() {
            state.expiring.remove(&(expires_at, job_id));
        }
        job.idempotency_expires_at = None;
        job.record.attempt += 1;
        job.record.max_attempts = job.record.max_attempts.max(job.record.attempt);
        job.record.phase = JobPhase::Queued;
        job.record.finished_at = None;
        job.record.progress = Progress::default();
        *state
            .unfinished
            .entry(job.record.client.clone())
            .or_default() += 1;
        state.waiting.push_back(&job.record.client, job_id);
        self.work_available.notify_one();
        Ok(AdminOutcome::Done)
    }

    async fn delete(&self, job_id: JobId) -> Result<AdminOutcome, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.purge_expired(now);
        let Some(job) = state.jobs.get(&job_id) else {
            return Ok(AdminOutcome::NotFound);
        };
        if !job.record.phase.is_terminal() {
            return Ok(AdminOutcome::WrongPhase(job.record.phase));
        }
        if let Some(expires_at) = job.expires_at {
            state.expiring.remove(&(expires_at, job_id));
        }
        if let Some(job) = state.jobs.remove(&job_id) {
            if let Some(key) = job.idempotency_key {
                if state.idempotency.get(&key) == Some(&job_id) {
                    state.idempotency.remove(&key);
                }
            }
        }
        Ok(AdminOutcome::Done)
    }

    async fn set_paused(&self, paused: bool) -> Result<(), QueueError> {
        self.lock().paused = paused;
        if !paused {
            self.work_available.notify_waiters();
        }
        Ok(())
    }

    async fn is_paused(&self) -> Result<bool, QueueError> {
        Ok(self.lock().paused)
    }

    async fn activity_per_minute(&self, minutes: u32) -> Result<Vec<ActivityInMinute>, QueueError> {
        let this_minute = self.now_ms() / 60_000;
        let minutes = u64::from(minutes.clamp(1, ACTIVITY_KEPT_MINUTES));
        let state = self.lock();
        Ok((this_minute.saturating_sub(minutes - 1)..=this_minute)
            .map(|minute| {
                let counts = state.minutes.get(&minute).copied().unwrap_or_default();
                let [completed, failed, cancelled] = counts.finished;
                ActivityInMinute {
                    minute: Timestamp::from_unix_millis(minute * 60_000),
                    completed,
                    failed,
                    cancelled,
                    waiting: counts.depth.map(|(waiting, _)| waiting),
                    processing: counts.depth.map(|(_, processing)| processing),
                }
            })
            .collect())
    }

    async fn list_jobs(
        &self,
        filter: &JobFilter,
        after: Option<ListCursor>,
        limit: usize,
    ) -> Result<JobPage, QueueError> {
        let now = self.now_ms();
        let limit = limit.clamp(1, LIST_PAGE_MAX);
        let state = self.lock();
        let mut listed: Vec<(ListCursor, JobRecord)> = state
            .jobs
            .values()
            .filter(|job| job.is_kept_at(now))
            .map(|job| job.view(now))
            .filter(|record| filter.matches(record))
            .map(|record| (ListCursor::after(&record), record))
            .filter(|(cursor, _)| after.is_none_or(|after| *cursor < after))
            .collect();
        drop(state);
        listed.sort_by_key(|(cursor, _)| std::cmp::Reverse(*cursor));
        let more = listed.len() > limit;
        listed.truncate(limit);
        Ok(JobPage {
            next: more
                .then(|| listed.last().map(|(cursor, _)| *cursor))
                .flatten(),
            jobs: listed.into_iter().map(|(_, record)| record).collect(),
        })
    }

    async fn attempts(&self, job_id: JobId) -> Result<Vec<Attempt>, QueueError> {
        let now = self.now_ms();
        Ok(self
            .lock()
            .kept(job_id, now)
            .map(|job| job.attempts.clone())
            .unwrap_or_default())
    }

    async fn ping(&self) -> Result<(), QueueError> {
        Ok(())
    }

    async fn lock_work(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<WorkLock, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        state.locks.retain(|_, (_, deadline)| *deadline > now);
        match state.locks.get(name) {
            Some((current, deadline)) if *deadline > now && current != holder => {
                Ok(WorkLock::HeldBy(current.clone()))
            }
            _ => {
                let deadline = now.saturating_add(millis(ttl));
                state
                    .locks
                    .insert(name.to_owned(), (holder.to_owned(), deadline));
                Ok(WorkLock::Acquired)
            }
        }
    }

    async fn renew_work_lock(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, QueueError> {
        let now = self.now_ms();
        let mut state = self.lock();
        match state.locks.get_mut(name) {
            Some((current, deadline)) if *deadline > now && current == holder => {
                *deadline = now.saturating_add(millis(ttl));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn unlock_work(&self, name: &str, holder: &str) -> Result<(), QueueError> {
        let mut state = self.lock();
        if state
            .locks
            .get(name)
            .is_some_and(|(current, _)| current == holder)
        {
            state.locks.remove(name);
        }
        Ok(())
    }
}
