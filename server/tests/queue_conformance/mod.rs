//! The queue conformance suite: the rules of docs/ARCHITECTURE.md ("A job's states"), checked against any
//! [`JobQueue`] backend. A backend's test file instantiates it with
//! `queue_conformance::suite!(make_queue)`, where `make_queue(settings)` returns a fresh, empty
//! queue (its own key prefix for shared servers).
//!
//! Time-based rules (lease expiry, backoff, retention) use short settings and wait for the
//! deadline to pass; polls are bounded so a broken backend fails instead of hanging.

#![allow(dead_code)]

use app::api::{FileId, JobId, JobPhase, OriginHealth, OriginState, Timestamp};
use ferry_server::queue::{
    ActivityInMinute, AdminOutcome, AttemptOutcome, CancelOutcome, Claimed, ClaimedJob,
    FailOutcome, FailureKind, Instance, JobFilter, JobQueue, JobRecord, JobResult, ListCursor,
    NewJob, Progress, QueueDepth, QueueError, QueueSettings, Upload, WorkLock,
    ACTIVITY_KEPT_MINUTES,
};
use ferry_server::storage::ObjectKey;
use std::{collections::HashSet, future::Future, sync::Arc, time::Duration};

/// Makes a fresh, empty queue with the given settings: what a backend's test file provides.
pub trait MakeQueue {
    fn make(&self, settings: QueueSettings) -> impl Future<Output = Arc<dyn JobQueue>>;
}

impl<F, Fut> MakeQueue for F
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = Arc<dyn JobQueue>>,
{
    fn make(&self, settings: QueueSettings) -> impl Future<Output = Arc<dyn JobQueue>> {
        self(settings)
    }
}

/// Short timings so time-based rules can be observed in well under a second each.
pub fn fast_settings() -> QueueSettings {
    QueueSettings {
        max_attempts: 4,
        retry_backoff_base: Duration::from_millis(100),
        lease_ttl: Duration::from_millis(300),
        result_ttl: Duration::from_secs(1),
        finished_record_ttl: Duration::from_secs(1),
        // Records go with their result unless a check says otherwise.
        expired_record_ttl: Duration::ZERO,
        // The suite's own checks of the cap set it lower.
        max_active_per_client: 10_000,
    }
}

/// The name every backend's test file gives its queue: attempts record it as their worker.
pub const WORKER: &str = "conformance-worker";

/// The client most checks queue jobs for.
const CLIENT: &str = "203.0.113.7";

fn new_job(file_id: u64) -> NewJob {
    job_for(CLIENT, file_id)
}

fn job_for(client: &str, file_id: u64) -> NewJob {
    NewJob {
        client: client.to_owned(),
        file_ids: vec![FileId::new(file_id).unwrap()],
        origin_params: r#"{"delayMs":1000}"#.to_owned(),
        trace_parent: None,
    }
}

/// The time by the clock the embedded queue runs on in this suite (tokio's, which stands still
/// under paused time), and real time for Redis.
fn now_ms() -> u64 {
    ferry_server::queue::clock::tokio_now().unix_millis()
}

async fn enqueue(queue: &Arc<dyn JobQueue>, file_id: u64) -> JobId {
    queue
        .enqueue(new_job(file_id), None)
        .await
        .unwrap()
        .record
        .id
}

async fn claim_one(queue: &Arc<dyn JobQueue>) -> Option<ClaimedJob> {
    let mut jobs = queue.claim(1).await.unwrap().jobs;
    assert!(jobs.len() <= 1);
    jobs.pop()
}

/// Claims until a job comes back or `within` passes.
async fn claim_within(queue: &Arc<dyn JobQueue>, within: Duration) -> Option<ClaimedJob> {
    claims_within(queue, within).await.and_then(Claimed::first)
}

/// The first claim of one job within `within` that hands one out, with what it reports.
async fn claims_within(queue: &Arc<dyn JobQueue>, within: Duration) -> Option<Claimed> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let claimed = queue.claim(1).await.unwrap();
        assert!(claimed.jobs.len() <= 1);
        if !claimed.jobs.is_empty() {
            return Some(claimed);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn phase(queue: &Arc<dyn JobQueue>, job_id: JobId) -> Option<JobPhase> {
    queue.status(job_id).await.unwrap().map(|r| r.phase)
}

fn result() -> JobResult {
    JobResult {
        key: ObjectKey::for_file(FileId::new(12345).unwrap()),
        size: 42,
    }
}

pub async fn a_new_job_is_queued_with_its_first_attempt(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let before = now_ms();
    let enqueued = queue.enqueue(new_job(12345), None).await.unwrap();
    assert!(enqueued.created);
    let record = queue.status(enqueued.record.id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Queued);
    assert_eq!(record.attempt, 1);
    assert_eq!(record.max_attempts, 4);
    assert_eq!(record.progress.percent, 0);
    assert_eq!(record.file_ids, vec![FileId::new(12345).unwrap()]);
    assert_eq!(record.origin_params, r#"{"delayMs":1000}"#);
    assert_eq!(record.client, CLIENT);
    let created = record.created_at.unix_millis();
    assert!(created + 1_000 >= before && created <= now_ms() + 1_000);
}

pub async fn unknown_jobs_have_no_status(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    assert_eq!(queue.status(JobId::generate()).await.unwrap(), None);
    assert_eq!(
        queue.cancel(JobId::generate()).await.unwrap(),
        CancelOutcome::NotFound
    );
}

pub async fn jobs_are_claimed_oldest_first(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let first = enqueue(&queue, 10_001).await;
    let second = enqueue(&queue, 10_002).await;
    let third = enqueue(&queue, 10_003).await;
    let claimed: Vec<JobId> = queue
        .claim(2)
        .await
        .unwrap()
        .jobs
        .into_iter()
        .map(|j| j.lease.job_id)
        .collect();
    assert_eq!(claimed, vec![first, second]);
    let job = claim_one(&queue).await.unwrap();
    assert_eq!(job.lease.job_id, third);
    assert_eq!(job.lease.attempt, 1);
    assert_eq!(phase(&queue, third).await, Some(JobPhase::Processing));
    assert!(claim_one(&queue).await.is_none());
}

pub async fn racing_workers_complete_every_job_exactly_once(make: impl MakeQueue) {
    // Leases and finished records outlive the whole race: on a loaded machine 500 jobs take
    // seconds, and the suite's 1 s record lifetime would let the first finished records go
    // before the last phase check reads them.
    let queue = make
        .make(QueueSettings {
            lease_ttl: Duration::from_secs(30),
            result_ttl: Duration::from_secs(60),
            finished_record_ttl: Duration::from_secs(60),
            ..fast_settings()
        })
        .await;
    let mut expected = HashSet::new();
    for n in 0..500 {
        expected.insert(enqueue(&queue, 20_000 + n).await);
    }
    let workers = (0..4).map(|_| {
        let queue = queue.clone();
        tokio::spawn(async move {
            let mut completed = Vec::new();
            while let Some(job) = claim_one(&queue).await {
                queue
                    .progress(&job.lease, &Progress::percent(50))
                    .await
                    .unwrap();
                queue.complete(&job.lease, result()).await.unwrap();
                completed.push(job.lease.job_id);
            }
            completed
        })
    });
    let mut completed = Vec::new();
    for worker in workers.collect::<Vec<_>>() {
        completed.extend(worker.await.unwrap());
    }
    assert_eq!(completed.len(), 500, "no job was handed to two workers");
    assert_eq!(completed.iter().copied().collect::<HashSet<_>>(), expected);
    for job_id in expected {
        assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Completed));
    }
}

pub async fn progress_from_the_lease_holder_is_visible(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    queue
        .progress(&job.lease, &Progress::percent(45))
        .await
        .unwrap();
    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Processing);
    assert_eq!(record.progress.percent, 45);
    assert!(record.started_at.is_some());
}

pub async fn lease_expiry_hands_the_job_to_another_claimer(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let crashed = claim_one(&queue).await.unwrap();
    assert_eq!(
        queue.claim(1).await.unwrap(),
        Claimed::default(),
        "a live lease is exclusive, and nothing was taken back"
    );
    let claimed = claims_within(&queue, Duration::from_secs(3))
        .await
        .expect("the expired lease is handed to another claimer");
    assert_eq!(
        claimed.leases_reclaimed, 1,
        "the claim reports what it took back"
    );
    let taken_over = claimed.first().unwrap();
    assert_eq!(taken_over.lease.job_id, job_id);
    assert_ne!(taken_over.lease.token, crashed.lease.token);
    assert_eq!(
        taken_over.lease.attempt, 2,
        "a lost lease uses up its attempt"
    );
}

pub async fn a_stale_lease_cannot_write_progress_or_complete(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let zombie = claim_one(&queue).await.unwrap();
    let current = claim_within(&queue, Duration::from_secs(3)).await.unwrap();
    queue
        .progress(&current.lease, &Progress::percent(30))
        .await
        .unwrap();

    let lost = Err(QueueError::LeaseLost(job_id));
    assert_eq!(
        queue.progress(&zombie.lease, &Progress::percent(99)).await,
        lost
    );
    assert_eq!(queue.complete(&zombie.lease, result()).await, lost);
    assert_eq!(
        queue
            .fail(&zombie.lease, "zombie", FailureKind::Transient)
            .await
            .map(|_| ()),
        lost
    );
    assert_eq!(queue.release(&zombie.lease).await, lost);
    assert_eq!(
        queue
            .renew(std::slice::from_ref(&zombie.lease))
            .await
            .unwrap(),
        vec![job_id]
    );

    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Processing);
    assert_eq!(
        record.progress.percent, 30,
        "the zombie's progress was not recorded"
    );
    assert_eq!(record.attempt, 2);
    queue.complete(&current.lease, result()).await.unwrap();
    assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Completed));
}

fn upload(key: &str, id: &str) -> Upload {
    Upload {
        key: ObjectKey::parse(key).expect("a safe key"),
        id: id.to_owned(),
    }
}

pub async fn an_unfinished_upload_is_handed_to_the_next_attempt(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let first = claim_one(&queue).await.unwrap();
    assert_eq!(first.abandoned_upload, None);
    queue
        .note_upload(&first.lease, Some(&upload("bundles/a/1.zip", "upload-1")))
        .await
        .unwrap();

    // The first holder dies mid-upload: the next attempt learns which upload to abort.
    let second = claim_within(&queue, Duration::from_secs(3)).await.unwrap();
    assert_eq!(
        second.abandoned_upload,
        Some(upload("bundles/a/1.zip", "upload-1")),
        "the next attempt learns the upload and where it went"
    );
    assert_eq!(
        queue
            .note_upload(&first.lease, Some(&upload("bundles/z.zip", "zombie")))
            .await,
        Err(QueueError::LeaseLost(job_id)),
        "only the lease holder notes uploads"
    );

    // A noted upload that was finished (or aborted) is forgotten.
    queue
        .note_upload(&second.lease, Some(&upload("bundles/b/2.zip", "upload-2")))
        .await
        .unwrap();
    queue.note_upload(&second.lease, None).await.unwrap();
    let third = claim_within(&queue, Duration::from_secs(3)).await.unwrap();
    assert_eq!(third.abandoned_upload, None);

    // An upload still noted at completion does not stop the job from completing.
    queue
        .note_upload(&third.lease, Some(&upload("bundles/c/3.zip", "upload-3")))
        .await
        .unwrap();
    queue.complete(&third.lease, result()).await.unwrap();
    assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Completed));
}

pub async fn renewing_keeps_a_lease_alive(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    // Three lease lengths pass; renewing at a third of the lease keeps it.
    for _ in 0..9 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let lost = queue.renew(std::slice::from_ref(&job.lease)).await.unwrap();
        assert!(lost.is_empty());
        assert!(claim_one(&queue).await.is_none());
    }
    queue
        .progress(&job.lease, &Progress::percent(50))
        .await
        .unwrap();
    assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Processing));
}

pub async fn a_failed_attempt_is_retried_after_its_backoff(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            retry_backoff_base: Duration::from_millis(400),
            ..fast_settings()
        })
        .await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    let before = now_ms();
    let outcome = queue
        .fail(&job.lease, "origin timed out", FailureKind::Transient)
        .await
        .unwrap();
    let after = now_ms();
    let FailOutcome::Retrying {
        attempt,
        next_attempt_at,
    } = outcome
    else {
        panic!("expected a retry, got {outcome:?}");
    };
    assert_eq!(attempt, 2);
    let wait = next_attempt_at.unix_millis();
    assert!(
        wait >= before + 320 - 5 && wait <= after + 480 + 5,
        "400 ms ± 20 %"
    );

    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Retrying);
    assert_eq!(record.attempt, 2);
    assert_eq!(record.error.as_deref(), Some("origin timed out"));
    assert_eq!(record.next_attempt_at, Some(next_attempt_at));
    assert!(claim_one(&queue).await.is_none(), "not before its time");

    let retry = claim_within(&queue, Duration::from_secs(3)).await.unwrap();
    assert!(now_ms() + 5 >= wait, "claimed only once the backoff passed");
    assert_eq!(retry.lease.job_id, job_id);
    assert_eq!(retry.lease.attempt, 2);
}

pub async fn every_attempt_of_a_job_carries_its_trace(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = NewJob {
        trace_parent: Some(parent.to_owned()),
        ..new_job(12345)
    };
    let enqueued = queue.enqueue(traced, None).await.unwrap();
    assert_eq!(enqueued.record.trace_parent.as_deref(), Some(parent));
    let job_id = enqueued.record.id;
    let first = claim_one(&queue).await.unwrap();
    assert_eq!(first.trace_parent.as_deref(), Some(parent));
    queue
        .fail(&first.lease, "origin timed out", FailureKind::Transient)
        .await
        .unwrap();
    let retry = claim_within(&queue, Duration::from_secs(3)).await.unwrap();
    assert_eq!((retry.lease.job_id, retry.lease.attempt), (job_id, 2));
    assert_eq!(
        retry.trace_parent.as_deref(),
        Some(parent),
        "the retry joins it too"
    );
    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.trace_parent.as_deref(), Some(parent));
    queue.complete(&retry.lease, result()).await.unwrap();

    // Without traces nothing is stored (not an empty value).
    let untraced = enqueue(&queue, 23456).await;
    assert_eq!(claim_one(&queue).await.unwrap().trace_parent, None);
    assert_eq!(
        queue.status(untraced).await.unwrap().unwrap().trace_parent,
        None
    );
    // A job of another trace keeps its own.
    let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let second = NewJob {
        trace_parent: Some(other.to_owned()),
        ..new_job(34567)
    };
    let second = queue.enqueue(second, None).await.unwrap().record.id;
    assert_eq!(
        claim_one(&queue).await.unwrap().trace_parent.as_deref(),
        Some(other)
    );
    assert_eq!(
        queue
            .status(second)
            .await
            .unwrap()
            .unwrap()
            .trace_parent
            .as_deref(),
        Some(other)
    );
}

pub async fn backoff_doubles_with_each_attempt(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    for (failed_attempt, nominal_ms) in [(1u32, 100u64), (2, 200), (3, 400)] {
        let job = claim_within(&queue, Duration::from_secs(3)).await.unwrap();
        assert_eq!(job.lease.attempt, failed_attempt);
        let before = now_ms();
        let outcome = queue
            .fail(&job.lease, "boom", FailureKind::Transient)
            .await
            .unwrap();
        let after = now_ms();
        let FailOutcome::Retrying {
            next_attempt_at, ..
        } = outcome
        else {
            panic!("attempt {failed_attempt} should be retried");
        };
        let at = next_attempt_at.unix_millis();
        let (low, high) = (nominal_ms * 8 / 10, nominal_ms * 12 / 10);
        assert!(
            at + 5 >= before + low && at <= after + high + 5,
            "after attempt {failed_attempt}: wait {} ms, expected {low}..={high}",
            at.saturating_sub(before)
        );
    }
    let last = claim_within(&queue, Duration::from_secs(3)).await.unwrap();
    assert_eq!(last.lease.attempt, 4);
    assert_eq!(
        queue
            .fail(&last.lease, "boom", FailureKind::Transient)
            .await
            .unwrap(),
        FailOutcome::Failed
    );
    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Failed);
    assert_eq!(record.attempt, 4);
    assert_eq!(record.error.as_deref(), Some("boom"));
    assert!(record.finished_at.is_some());
}

pub async fn a_lost_lease_on_the_last_attempt_fails_the_job(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            max_attempts: 1,
            ..fast_settings()
        })
        .await;
    let job_id = enqueue(&queue, 12345).await;
    let _crashed = claim_one(&queue).await.unwrap();
    assert!(claim_within(&queue, Duration::from_millis(800))
        .await
        .is_none());
    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Failed);
    assert!(record.error.unwrap().contains("lease expired"));
}

pub async fn completion_records_the_result(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    queue.complete(&job.lease, result()).await.unwrap();
    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Completed);
    assert_eq!(record.progress.percent, 100);
    assert_eq!(record.result, Some(result()));
    assert!(record.finished_at.is_some());
    assert_eq!(
        queue.complete(&job.lease, result()).await,
        Err(QueueError::LeaseLost(job_id)),
        "a job completes once"
    );
}

pub async fn completing_can_claim_the_next_job_in_the_same_step(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let first = enqueue(&queue, 12345).await;
    let second = enqueue(&queue, 23456).await;
    let job = claim_one(&queue).await.unwrap();
    assert_eq!(job.lease.job_id, first);

    let next = queue
        .complete_and_claim(&job.lease, result())
        .await
        .unwrap()
        .first()
        .expect("the waiting job is handed over");
    let record = queue.status(first).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Completed);
    assert_eq!(record.result, Some(result()));
    assert_eq!(next.lease.job_id, second);
    assert_eq!(next.lease.attempt, 1);
    assert_ne!(next.lease.token, job.lease.token);
    assert_eq!(phase(&queue, second).await, Some(JobPhase::Processing));

    // A refused completion claims nothing.
    let third = enqueue(&queue, 34567).await;
    assert_eq!(
        queue.complete_and_claim(&job.lease, result()).await,
        Err(QueueError::LeaseLost(first)),
        "a job completes once"
    );
    assert_eq!(phase(&queue, third).await, Some(JobPhase::Queued));

    // The handed-over lease is a real one; with nothing else waiting, nothing comes back.
    queue
        .progress(&next.lease, &Progress::percent(50))
        .await
        .unwrap();
    let last = queue
        .complete_and_claim(&next.lease, result())
        .await
        .unwrap()
        .first()
        .expect("the third job");
    assert_eq!(last.lease.job_id, third);
    assert_eq!(
        queue
            .complete_and_claim(&last.lease, result())
            .await
            .unwrap()
            .first(),
        None
    );
    assert_eq!(phase(&queue, third).await, Some(JobPhase::Completed));
}

pub async fn release_returns_the_job_to_the_front_without_using_an_attempt(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let first = enqueue(&queue, 10_001).await;
    let _second = enqueue(&queue, 10_002).await;
    let job = claim_one(&queue).await.unwrap();
    assert_eq!(job.lease.job_id, first);
    queue
        .progress(&job.lease, &Progress::percent(60))
        .await
        .unwrap();
    queue.release(&job.lease).await.unwrap();
    let record = queue.status(first).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Queued);
    assert_eq!(record.progress.percent, 0);
    let again = claim_one(&queue).await.unwrap();
    assert_eq!(again.lease.job_id, first, "released jobs go first");
    assert_eq!(again.lease.attempt, 1, "a release does not use an attempt");
}

pub async fn cancelling_a_queued_job_takes_it_out_of_the_queue(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    assert_eq!(
        queue.cancel(job_id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Cancelled);
    assert!(record.finished_at.is_some());
    assert!(claim_one(&queue).await.is_none());
    assert_eq!(
        queue.cancel(job_id).await.unwrap(),
        CancelOutcome::AlreadyFinished(JobPhase::Cancelled)
    );
}

pub async fn cancelling_a_running_job_fences_its_worker(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    assert_eq!(
        queue.cancel(job_id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        queue.progress(&job.lease, &Progress::percent(50)).await,
        Err(QueueError::LeaseLost(job_id))
    );
    assert_eq!(
        queue.complete(&job.lease, result()).await,
        Err(QueueError::LeaseLost(job_id))
    );
    assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Cancelled));
    // Nor does the job come back when its old lease would have expired.
    assert!(claim_within(&queue, Duration::from_millis(600))
        .await
        .is_none());
}

pub async fn a_retrying_job_can_be_cancelled(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    queue
        .fail(&job.lease, "boom", FailureKind::Transient)
        .await
        .unwrap();
    assert_eq!(
        queue.cancel(job_id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    assert!(claim_within(&queue, Duration::from_millis(500))
        .await
        .is_none());
    assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Cancelled));
}

pub async fn finished_jobs_cannot_be_cancelled(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    queue.complete(&job.lease, result()).await.unwrap();
    assert_eq!(
        queue.cancel(job_id).await.unwrap(),
        CancelOutcome::AlreadyFinished(JobPhase::Completed)
    );
    assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Completed));
}

pub async fn an_idempotency_key_returns_the_job_it_created(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let first = queue.enqueue(new_job(12345), Some("key-1")).await.unwrap();
    let again = queue.enqueue(new_job(12345), Some("key-1")).await.unwrap();
    assert!(first.created);
    assert!(!again.created);
    assert_eq!(again.record.id, first.record.id);
    assert_eq!(
        queue.enqueue(new_job(23456), Some("key-1")).await,
        Err(QueueError::IdempotencyConflict)
    );
    let other = queue.enqueue(new_job(12345), Some("key-2")).await.unwrap();
    assert_ne!(other.record.id, first.record.id);
    assert_eq!(
        queue.claim(10).await.unwrap().jobs.len(),
        2,
        "no duplicate job was queued"
    );
}

pub async fn finished_records_expire_after_the_retention_period(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let first = queue
        .enqueue(new_job(12345), Some("retained"))
        .await
        .unwrap();
    let job_id = first.record.id;
    let job = claim_one(&queue).await.unwrap();
    queue.complete(&job.lease, result()).await.unwrap();
    let unfinished = enqueue(&queue, 23456).await;
    assert!(queue.status(job_id).await.unwrap().is_some());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while queue.status(job_id).await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "record must expire");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        phase(&queue, unfinished).await,
        Some(JobPhase::Queued),
        "unfinished jobs never expire"
    );
    let again = queue
        .enqueue(new_job(23456), Some("retained"))
        .await
        .unwrap();
    assert!(again.created, "the idempotency key expired with its job");
}

pub async fn an_enqueue_wakes_a_waiting_worker(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let waiter = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.wait_for_work(Duration::from_secs(30)).await })
    };
    tokio::task::yield_now().await;
    enqueue(&queue, 12345).await;
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the waiting worker wakes up well before its 30 s timeout")
        .unwrap();
}

pub async fn an_expiring_lease_wakes_a_waiting_worker(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let _crashed = claim_one(&queue).await.unwrap();
    // An idle worker's loop: wait, claim. The 300 ms lease ends long before a 30 s wait would.
    let rerun = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            queue.wait_for_work(Duration::from_secs(30)).await;
            if let Some(job) = claim_one(&queue).await {
                return job;
            }
        }
    })
    .await
    .expect("the waiting worker wakes up when the lease expires");
    assert_eq!(rerun.lease.job_id, job_id);
}

pub async fn timestamps_are_consistent(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    queue.complete(&job.lease, result()).await.unwrap();
    let record = queue.status(job_id).await.unwrap().unwrap();
    let created: Timestamp = record.created_at;
    let started = record.started_at.unwrap();
    let finished = record.finished_at.unwrap();
    assert!(created <= started && started <= finished);
}

pub async fn byte_progress_is_recorded_and_reset_by_a_new_attempt(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    let unknown_total = Progress {
        percent: 0,
        bytes_done: 1_000,
        bytes_total: None,
        files_done: 0,
    };
    queue.progress(&job.lease, &unknown_total).await.unwrap();
    assert_eq!(
        queue.status(job_id).await.unwrap().unwrap().progress,
        unknown_total
    );
    let known_total = Progress {
        percent: 40,
        bytes_done: 4_000_000_000,
        bytes_total: Some(10_000_000_000),
        files_done: 3,
    };
    queue.progress(&job.lease, &known_total).await.unwrap();
    assert_eq!(
        queue.status(job_id).await.unwrap().unwrap().progress,
        known_total
    );
    queue
        .fail(
            &job.lease,
            "the origin dropped the connection",
            FailureKind::Transient,
        )
        .await
        .unwrap();
    assert_eq!(
        queue.status(job_id).await.unwrap().unwrap().progress,
        Progress::default(),
        "a retrying job starts its next attempt from nothing"
    );
}

pub async fn a_permanent_failure_spends_no_retries(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let job_id = enqueue(&queue, 12345).await;
    let job = claim_one(&queue).await.unwrap();
    assert_eq!(job.lease.attempt, 1);
    let outcome = queue
        .fail(
            &job.lease,
            "File 12345 does not exist.",
            FailureKind::Permanent,
        )
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::Failed);
    let record = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Failed);
    assert_eq!(record.attempt, 1);
    assert_eq!(record.error.as_deref(), Some("File 12345 does not exist."));
    assert!(claim_one(&queue).await.is_none());
}

pub async fn a_work_lock_has_one_holder_until_it_is_given_up_or_expires(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let ttl = Duration::from_millis(300);
    let name = format!("downloads/{}.zip", now_ms());
    assert_eq!(
        queue.lock_work(&name, "a", ttl).await.unwrap(),
        WorkLock::Acquired
    );
    assert_eq!(
        queue.lock_work(&name, "a", ttl).await.unwrap(),
        WorkLock::Acquired,
        "the holder may take it again"
    );
    assert_eq!(
        queue.lock_work(&name, "b", ttl).await.unwrap(),
        WorkLock::HeldBy("a".into())
    );
    assert!(!queue.renew_work_lock(&name, "b", ttl).await.unwrap());
    assert!(queue.renew_work_lock(&name, "a", ttl).await.unwrap());
    // Only the holder can give it up.
    queue.unlock_work(&name, "b").await.unwrap();
    assert_eq!(
        queue.lock_work(&name, "b", ttl).await.unwrap(),
        WorkLock::HeldBy("a".into())
    );
    queue.unlock_work(&name, "a").await.unwrap();
    assert_eq!(
        queue.lock_work(&name, "b", ttl).await.unwrap(),
        WorkLock::Acquired
    );
    // A holder that stops renewing loses it after the ttl.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(!queue.renew_work_lock(&name, "b", ttl).await.unwrap());
    assert_eq!(
        queue.lock_work(&name, "c", ttl).await.unwrap(),
        WorkLock::Acquired
    );
}

pub async fn depth_counts_unfinished_jobs_by_state(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            retry_backoff_base: Duration::from_secs(60),
            ..fast_settings()
        })
        .await;
    assert_eq!(queue.depth().await.unwrap(), QueueDepth::default());
    for file_id in [10001, 10002, 10003, 10004] {
        enqueue(&queue, file_id).await;
    }
    let running = claim_one(&queue).await.unwrap();
    let failing = claim_one(&queue).await.unwrap();
    queue
        .fail(&failing.lease, "try later", FailureKind::Transient)
        .await
        .unwrap();
    let cancelled = enqueue(&queue, 10005).await;
    queue.cancel(cancelled).await.unwrap();
    let depth = queue.depth().await.unwrap();
    assert_eq!(
        depth,
        QueueDepth {
            waiting: 2,
            retrying: 1,
            processing: 1
        }
    );
    assert_eq!(depth.unstarted(), 3);
    queue.complete(&running.lease, result()).await.unwrap();
    assert_eq!(queue.depth().await.unwrap().processing, 0);
}

/// The fairness guarantee: a client's job waits behind at most one job of each other client with
/// waiting jobs, however many they queued. A queues 200 jobs, then B one, then C one: B's job is
/// among the first two claims, C's among the first three; A's jobs keep their order.
pub async fn clients_take_turns_so_one_client_cannot_starve_another(make: impl MakeQueue) {
    // Leases outlive the 202 claims however busy the machine is: an expired one would hand its
    // job out again and blur the order this check reads.
    let queue = make
        .make(QueueSettings {
            lease_ttl: Duration::from_secs(30),
            ..fast_settings()
        })
        .await;
    let mut a_jobs = Vec::new();
    for n in 0..200 {
        let job = queue
            .enqueue(job_for("198.51.100.1", 30_000 + n), None)
            .await;
        a_jobs.push(job.unwrap().record.id);
    }
    let b_job = queue
        .enqueue(job_for("198.51.100.2", 40_000), None)
        .await
        .unwrap()
        .record
        .id;
    let c_job = queue
        .enqueue(job_for("2001:db8:1:2::/64", 40_001), None)
        .await
        .unwrap()
        .record
        .id;
    let mut order = Vec::new();
    while let Some(job) = claim_one(&queue).await {
        order.push(job.lease.job_id);
    }
    assert_eq!(order.len(), 202, "every job is claimed once");
    let position = |id: JobId| order.iter().position(|j| *j == id).unwrap();
    assert!(
        position(b_job) < 2,
        "B waited behind {} jobs",
        position(b_job)
    );
    assert!(
        position(c_job) < 3,
        "C waited behind {} jobs",
        position(c_job)
    );
    let a_order: Vec<JobId> = order
        .iter()
        .copied()
        .filter(|id| *id != b_job && *id != c_job)
        .collect();
    assert_eq!(a_order, a_jobs, "one client's jobs run oldest first");
    assert_eq!(queue.depth().await.unwrap().waiting, 0);
}

/// A retried or cancelled job leaves its client's line consistent: the other clients' turns go
/// on, and a cancelled job is never claimed.
pub async fn turns_survive_cancels_and_retries(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            retry_backoff_base: Duration::from_millis(50),
            ..fast_settings()
        })
        .await;
    let a1 = queue
        .enqueue(job_for("a", 10001), None)
        .await
        .unwrap()
        .record
        .id;
    let a2 = queue
        .enqueue(job_for("a", 10002), None)
        .await
        .unwrap()
        .record
        .id;
    let b1 = queue
        .enqueue(job_for("b", 10003), None)
        .await
        .unwrap()
        .record
        .id;
    // B's only job is cancelled: B has no line any more.
    queue.cancel(b1).await.unwrap();
    let first = claim_one(&queue).await.unwrap();
    assert_eq!(first.lease.job_id, a1);
    queue
        .fail(&first.lease, "try again", FailureKind::Transient)
        .await
        .unwrap();
    let b2 = queue
        .enqueue(job_for("b", 10004), None)
        .await
        .unwrap()
        .record
        .id;
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.push(
            claim_within(&queue, Duration::from_secs(2))
                .await
                .unwrap()
                .lease
                .job_id,
        );
    }
    assert_eq!(rest.len(), 3);
    assert!(rest.contains(&a1) && rest.contains(&a2) && rest.contains(&b2));
    assert!(!rest.contains(&b1), "a cancelled job is never claimed");
    assert!(claim_one(&queue).await.is_none());
    assert_eq!(queue.depth().await.unwrap().waiting, 0);
}

/// `max_active_per_client` unfinished jobs, then `TooManyActiveJobs` for that client only,
/// until one of its jobs finishes; an idempotent repeat is still answered.
pub async fn a_client_may_have_only_so_many_unfinished_jobs(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            max_active_per_client: 3,
            ..fast_settings()
        })
        .await;
    let mut jobs = Vec::new();
    for n in 0..3 {
        let key = format!("key-{n}");
        jobs.push(
            queue
                .enqueue(new_job(10_100 + n), Some(&key))
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        queue.enqueue(new_job(10_200), None).await,
        Err(QueueError::TooManyActiveJobs { limit: 3 })
    );
    let repeat = queue.enqueue(new_job(10_100), Some("key-0")).await.unwrap();
    assert!(
        !repeat.created,
        "a repeat of an accepted request is not a new job"
    );
    assert!(
        queue
            .enqueue(job_for("198.51.100.9", 10_200), None)
            .await
            .is_ok(),
        "other clients are not affected"
    );
    // One running, one completed, one cancelled: two are no longer unfinished.
    let running = claim_one(&queue).await.unwrap();
    assert_eq!(
        queue.enqueue(new_job(10_201), None).await,
        Err(QueueError::TooManyActiveJobs { limit: 3 }),
        "running jobs count too"
    );
    queue.complete(&running.lease, result()).await.unwrap();
    queue.cancel(jobs[2].record.id).await.unwrap();
    queue.enqueue(new_job(10_202), None).await.unwrap();
    queue.enqueue(new_job(10_203), None).await.unwrap();
    assert_eq!(
        queue.enqueue(new_job(10_204), None).await,
        Err(QueueError::TooManyActiveJobs { limit: 3 })
    );
}

/// Another client's equal idempotency key is another key: it neither returns nor conflicts with
/// the first client's job.
pub async fn idempotency_keys_belong_to_their_client(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let mine = queue
        .enqueue(job_for("198.51.100.1", 12345), Some("shared-key"))
        .await
        .unwrap();
    let theirs = queue
        .enqueue(job_for("198.51.100.2", 12345), Some("shared-key"))
        .await
        .unwrap();
    assert!(theirs.created);
    assert_ne!(theirs.record.id, mine.record.id);
    let other_files = queue
        .enqueue(job_for("198.51.100.3", 99_999), Some("shared-key"))
        .await;
    assert!(other_files.unwrap().created, "no conflict across clients");
    let again = queue
        .enqueue(job_for("198.51.100.1", 12345), Some("shared-key"))
        .await
        .unwrap();
    assert_eq!(again.record.id, mine.record.id);
}

/// Cancelled and failed records go after `finished_record_ttl`; completed ones stay for
/// `result_ttl` (their link is what the user came for).
pub async fn cancelled_and_failed_records_expire_before_completed_ones(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            result_ttl: Duration::from_secs(60),
            finished_record_ttl: Duration::from_millis(500),
            ..fast_settings()
        })
        .await;
    let completed = enqueue(&queue, 10_001).await;
    let job = claim_one(&queue).await.unwrap();
    queue.complete(&job.lease, result()).await.unwrap();
    let failed = enqueue(&queue, 10_002).await;
    let job = claim_one(&queue).await.unwrap();
    queue
        .fail(&job.lease, "gone", FailureKind::Permanent)
        .await
        .unwrap();
    let cancelled = enqueue(&queue, 10_003).await;
    queue.cancel(cancelled).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while queue.status(failed).await.unwrap().is_some()
        || queue.status(cancelled).await.unwrap().is_some()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cancelled and failed records must expire"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(phase(&queue, completed).await, Some(JobPhase::Completed));
}

/// A completed record outlives its result by `expired_record_ttl`, reading as expired; the
/// idempotency key goes with the result, so repeating the request prepares the file again.
pub async fn a_completed_job_reads_as_expired_once_its_result_is_removed(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            result_ttl: Duration::from_millis(400),
            finished_record_ttl: Duration::from_millis(400),
            expired_record_ttl: Duration::from_secs(60),
            ..fast_settings()
        })
        .await;
    let first = queue.enqueue(new_job(12345), Some("again")).await.unwrap();
    let job_id = first.record.id;
    let job = claim_one(&queue).await.unwrap();
    queue.complete(&job.lease, result()).await.unwrap();
    let completed = queue.status(job_id).await.unwrap().unwrap();
    assert_eq!(completed.phase, JobPhase::Completed);
    let finished = completed.finished_at.unwrap().unix_millis();
    let expires = completed
        .result_expires_at
        .expect("a completed job says when its result goes")
        .unix_millis();
    assert_eq!(expires - finished, 400);
    let same = queue.enqueue(new_job(12345), Some("again")).await.unwrap();
    assert!(
        !same.created,
        "the key names the job while its result lasts"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    let expired = loop {
        let record = queue
            .status(job_id)
            .await
            .unwrap()
            .expect("the record stays");
        if record.phase == JobPhase::Expired {
            break record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the result must expire"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(now_ms() >= expires);
    assert_eq!(expired.file_ids, completed.file_ids);
    assert_eq!(expired.result_expires_at, completed.result_expires_at);
    assert_eq!(
        queue.cancel(job_id).await.unwrap(),
        CancelOutcome::AlreadyFinished(JobPhase::Expired)
    );
    let again = queue.enqueue(new_job(12345), Some("again")).await.unwrap();
    assert!(again.created, "the key went with the result");
    assert_ne!(again.record.id, job_id);
    // The old record still reads as expired, and the key names the new job from now on.
    assert_eq!(phase(&queue, job_id).await, Some(JobPhase::Expired));
    let repeat = queue.enqueue(new_job(12345), Some("again")).await.unwrap();
    assert_eq!(repeat.record.id, again.record.id);
}

/// Instantiates every check above as a `#[tokio::test]` for the backend made by `$make`: on
/// tokio's paused clock for a backend that tells time by it (`suite!(paused: make)`), so the
/// time-based checks take no real time; on two real threads for the others.
/// Every finished job counts once in the minute it finished, by how it finished; the counts come
/// as consecutive whole minutes ending with the current one.
pub async fn finished_jobs_are_counted_per_minute(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let before = queue.activity_per_minute(60).await.unwrap();
    assert_eq!(before.len(), 60);
    assert!(before
        .iter()
        .all(|m| m.completed + m.failed + m.cancelled == 0));
    assert_eq!(before[0].minute.unix_millis() % 60_000, 0, "whole minutes");
    for pair in before.windows(2) {
        assert_eq!(
            pair[1].minute.unix_millis() - pair[0].minute.unix_millis(),
            60_000
        );
    }
    let last = before.last().unwrap().minute.unix_millis();
    assert!(last.abs_diff(now_ms()) < 120_000, "ends now: {last}");

    enqueue(&queue, 10001).await;
    enqueue(&queue, 10002).await;
    let cancelled = enqueue(&queue, 10003).await;
    let completing = claim_one(&queue).await.unwrap();
    queue.complete(&completing.lease, result()).await.unwrap();
    let failing = claim_one(&queue).await.unwrap();
    queue
        .fail(&failing.lease, "gone", FailureKind::Permanent)
        .await
        .unwrap();
    queue.cancel(cancelled).await.unwrap();
    // A job still running counts nowhere.
    enqueue(&queue, 10004).await;
    claim_one(&queue).await.unwrap();
    enqueue(&queue, 10005).await;
    assert!(
        before
            .iter()
            .all(|m| m.waiting.is_none() && m.processing.is_none()),
        "no depth sampled before a heartbeat"
    );
    // A heartbeat samples the depth into its minute.
    queue
        .heartbeat(&instance("a", vec![]), Duration::from_secs(60))
        .await
        .unwrap();

    let after = queue.activity_per_minute(60).await.unwrap();
    let sampled: Vec<_> = after
        .iter()
        .filter_map(|m| Some((m.waiting?, m.processing?)))
        .collect();
    assert_eq!(sampled, vec![(1, 1)], "one waiting, one processing");
    let total = |count: fn(&ActivityInMinute) -> u64| after.iter().map(count).sum::<u64>();
    assert_eq!(
        (
            total(|m| m.completed),
            total(|m| m.failed),
            total(|m| m.cancelled)
        ),
        (1, 1, 1)
    );
    assert_eq!(queue.activity_per_minute(0).await.unwrap().len(), 1);
    assert_eq!(
        queue.activity_per_minute(10_000).await.unwrap().len(),
        ACTIVITY_KEPT_MINUTES as usize,
        "no more than are kept"
    );
}

/// The console's pause: no claim hands out a job, running jobs still finish, and resuming lets
/// the waiting jobs out in their order.
pub async fn a_paused_queue_hands_out_no_job_until_resumed(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    assert!(!queue.is_paused().await.unwrap());
    enqueue(&queue, 10001).await;
    let second = enqueue(&queue, 10002).await;
    let third = enqueue(&queue, 10003).await;
    let running = claim_one(&queue).await.unwrap();

    let beat = |queue: Arc<dyn JobQueue>| async move {
        queue
            .heartbeat(&instance("a", vec![]), Duration::from_secs(60))
            .await
            .unwrap()
    };
    assert!(!beat(queue.clone()).await, "a heartbeat says not paused");
    queue.set_paused(true).await.unwrap();
    assert!(queue.is_paused().await.unwrap());
    assert!(beat(queue.clone()).await, "a heartbeat says paused");
    assert!(
        claim_one(&queue).await.is_none(),
        "paused: nothing is handed out"
    );
    let handed = queue
        .complete_and_claim(&running.lease, result())
        .await
        .unwrap();
    assert!(
        handed.jobs.is_empty(),
        "a finishing worker gets nothing either"
    );
    assert_eq!(
        phase(&queue, running.lease.job_id).await,
        Some(JobPhase::Completed)
    );
    assert_eq!(phase(&queue, second).await, Some(JobPhase::Queued));
    queue.set_paused(true).await.unwrap();
    assert!(queue.is_paused().await.unwrap(), "pausing twice is pausing");

    queue.set_paused(false).await.unwrap();
    assert!(!queue.is_paused().await.unwrap());
    let next = claim_one(&queue).await.unwrap();
    assert_eq!(next.lease.job_id, second, "the line kept its order");
    assert_eq!(claim_one(&queue).await.unwrap().lease.job_id, third);
}

/// An instance as a heartbeat describes it.
fn instance(id: &str, running: Vec<JobId>) -> Instance {
    Instance {
        id: id.into(),
        host: "host-a".into(),
        concurrency: 5,
        running,
        started_at: Timestamp::from_unix_millis(1_700_000_000_000),
        seen_at: Timestamp::from_unix_millis(0),
        origin: OriginHealth::default(),
    }
}

/// Instances announce themselves with heartbeats; one whose heartbeat runs out, or that leaves,
/// is no longer listed, and the newest heartbeat's view of an instance is the one shown.
pub async fn instances_are_listed_until_their_heartbeat_runs_out(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    assert_eq!(queue.instances().await.unwrap(), vec![]);
    let job = enqueue(&queue, 10001).await;
    queue
        .heartbeat(&instance("a", vec![]), Duration::from_secs(60))
        .await
        .unwrap();
    queue
        .heartbeat(&instance("a", vec![job]), Duration::from_secs(60))
        .await
        .unwrap();
    let failing = OriginHealth {
        state: OriginState::Failing,
        at: Some(Timestamp::from_unix_millis(1_700_000_000_500)),
        error: Some("the origin is unavailable for file 12345: 503".into()),
    };
    queue
        .heartbeat(
            &Instance {
                origin: failing.clone(),
                ..instance("b", vec![])
            },
            Duration::from_millis(300),
        )
        .await
        .unwrap();
    let alive = queue.instances().await.unwrap();
    let ids: Vec<&str> = alive.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    let a = &alive[0];
    assert_eq!(
        (a.host.as_str(), a.concurrency, &a.running, a.started_at),
        ("host-a", 5, &vec![job], instance("a", vec![]).started_at),
        "the newest heartbeat wins"
    );
    assert!(
        a.seen_at.unix_millis().abs_diff(now_ms()) < 60_000,
        "seen now"
    );
    assert_eq!(a.origin, OriginHealth::default());
    assert_eq!(
        alive[1].origin, failing,
        "each instance's view of the origin"
    );

    // b's heartbeat runs out; a leaves.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while queue.instances().await.unwrap().len() > 1 {
        assert!(tokio::time::Instant::now() < deadline, "b is still listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    queue.leave("a").await.unwrap();
    assert_eq!(queue.instances().await.unwrap(), vec![]);
}

/// The console's retry: a failed job waits again as its next attempt (allowed one more if it
/// had used them all), keeps its record until it finishes anew, and counts as its client's.
pub async fn a_failed_job_retried_from_the_console_runs_again_as_its_next_attempt(
    make: impl MakeQueue,
) {
    let queue = make
        .make(QueueSettings {
            max_attempts: 1,
            max_active_per_client: 1,
            finished_record_ttl: Duration::from_millis(300),
            ..fast_settings()
        })
        .await;
    let job = enqueue(&queue, 10001).await;
    let claimed = claim_one(&queue).await.unwrap();
    let outcome = queue
        .fail(&claimed.lease, "the origin said no", FailureKind::Transient)
        .await
        .unwrap();
    assert_eq!(outcome, FailOutcome::Failed);
    assert_eq!(
        queue.retry_failed(JobId::generate()).await,
        Ok(AdminOutcome::NotFound)
    );

    assert_eq!(queue.retry_failed(job).await, Ok(AdminOutcome::Done));
    let record = queue.status(job).await.unwrap().unwrap();
    assert_eq!(record.phase, JobPhase::Queued);
    assert_eq!((record.attempt, record.max_attempts), (2, 2));
    assert_eq!(record.finished_at, None);
    assert_eq!(
        queue.retry_failed(job).await,
        Ok(AdminOutcome::WrongPhase(JobPhase::Queued)),
        "only a failed job is retried"
    );
    assert_eq!(
        queue.enqueue(new_job(10002), None).await.map(|_| ()),
        Err(QueueError::TooManyActiveJobs { limit: 1 }),
        "the retried job is its client's unfinished job again"
    );
    // Its record no longer expires as a failed one would have by now.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = claim_one(&queue)
        .await
        .expect("the retried job is handed out");
    assert_eq!((again.lease.job_id, again.lease.attempt), (job, 2));
    queue.complete(&again.lease, result()).await.unwrap();
    assert_eq!(phase(&queue, job).await, Some(JobPhase::Completed));
}

/// The console's delete removes a finished record (and the idempotency key naming it), and
/// refuses an unfinished one.
pub async fn only_finished_records_can_be_deleted(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    let keyed = queue
        .enqueue(new_job(10001), Some("report"))
        .await
        .unwrap()
        .record
        .id;
    let waiting = enqueue(&queue, 10002).await;
    let running = claim_one(&queue).await.unwrap();
    assert_eq!(running.lease.job_id, keyed);
    assert_eq!(
        queue.delete(keyed).await,
        Ok(AdminOutcome::WrongPhase(JobPhase::Processing))
    );
    assert_eq!(
        queue.delete(waiting).await,
        Ok(AdminOutcome::WrongPhase(JobPhase::Queued))
    );
    queue.complete(&running.lease, result()).await.unwrap();
    assert_eq!(queue.delete(keyed).await, Ok(AdminOutcome::Done));
    assert_eq!(queue.status(keyed).await.unwrap(), None);
    assert_eq!(queue.delete(keyed).await, Ok(AdminOutcome::NotFound));
    let again = queue.enqueue(new_job(10001), Some("report")).await.unwrap();
    assert!(
        again.created,
        "the key named the deleted job: it makes a new one"
    );
    queue.cancel(waiting).await.unwrap();
    assert_eq!(queue.delete(waiting).await, Ok(AdminOutcome::Done));
}

/// Every page of the list for `filter`, `limit` jobs at a time, checking that each page follows
/// the one before in the list's order.
async fn list_all(queue: &Arc<dyn JobQueue>, filter: &JobFilter, limit: usize) -> Vec<JobRecord> {
    let mut all: Vec<JobRecord> = Vec::new();
    let mut cursor = None;
    for _ in 0..1_000 {
        let page = queue.list_jobs(filter, cursor, limit).await.unwrap();
        assert!(page.jobs.len() <= limit, "a page holds at most its limit");
        all.extend(page.jobs);
        cursor = page.next;
        if cursor.is_none() {
            return all;
        }
    }
    panic!("the list never ended");
}

/// The place of each record in the list, which must fall strictly from job to job.
fn assert_newest_first(records: &[JobRecord]) {
    let places: Vec<ListCursor> = records.iter().map(ListCursor::after).collect();
    for pair in places.windows(2) {
        assert!(pair[0] > pair[1], "out of order: {pair:?}");
    }
}

fn ids(records: &[JobRecord]) -> Vec<JobId> {
    records.iter().map(|r| r.id).collect()
}

/// The console's list: every job once, newest first by where the list places it, a page at a
/// time, filtered by phase (expired told apart from completed), client and file.
pub async fn the_job_list_pages_through_jobs_newest_first_with_filters(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            result_ttl: Duration::from_secs(60),
            finished_record_ttl: Duration::from_secs(60),
            ..fast_settings()
        })
        .await;
    let mut created = Vec::new();
    for n in 0..23 {
        created.push(enqueue(&queue, 20_001 + n).await);
    }
    let other = "198.51.100.9";
    for n in 0..4 {
        created.push(
            queue
                .enqueue(job_for(other, 30_001 + n), None)
                .await
                .unwrap()
                .record
                .id,
        );
    }
    let two_files = NewJob {
        file_ids: vec![FileId::new(40_001).unwrap(), FileId::new(20_003).unwrap()],
        ..job_for(other, 40_002)
    };
    created.push(queue.enqueue(two_files, None).await.unwrap().record.id);
    // Move some along: two complete, one fails, one retries, two run, one is cancelled.
    let mut claimed = Vec::new();
    for _ in 0..6 {
        claimed.push(claim_one(&queue).await.unwrap());
    }
    queue.complete(&claimed[0].lease, result()).await.unwrap();
    queue.complete(&claimed[1].lease, result()).await.unwrap();
    queue
        .fail(&claimed[2].lease, "no", FailureKind::Permanent)
        .await
        .unwrap();
    queue
        .fail(&claimed[3].lease, "later", FailureKind::Transient)
        .await
        .unwrap();
    let bundle = *created.last().unwrap();
    queue.cancel(created[20]).await.unwrap();

    let everything = JobFilter::default();
    let all = list_all(&queue, &everything, 7).await;
    assert_newest_first(&all);
    let mut listed = ids(&all);
    listed.sort();
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(listed, expected, "every job, once");
    for record in &all {
        assert_eq!(
            Some(record),
            queue.status(record.id).await.unwrap().as_ref(),
            "as status reads it"
        );
    }
    assert_eq!(
        ids(&list_all(&queue, &everything, 1).await),
        ids(&all),
        "any page size, one order"
    );
    let first = queue.list_jobs(&everything, None, 3).await.unwrap();
    assert_eq!(ids(&first.jobs), ids(&all[..3]));
    assert_eq!(first.next, Some(ListCursor::after(&all[2])));
    let last = queue
        .list_jobs(&everything, Some(ListCursor::after(&all[all.len() - 2])), 5)
        .await
        .unwrap();
    assert_eq!(
        (ids(&last.jobs), last.next),
        (vec![all[all.len() - 1].id], None)
    );

    let count = |phase: JobPhase| {
        let queue = queue.clone();
        async move {
            let filter = JobFilter {
                phase: Some(phase),
                ..JobFilter::default()
            };
            let jobs = list_all(&queue, &filter, 4).await;
            assert!(jobs.iter().all(|r| r.phase == phase), "only {phase:?}");
            assert_newest_first(&jobs);
            jobs.len()
        }
    };
    assert_eq!(count(JobPhase::Queued).await, 28 - 6 - 1);
    assert_eq!(count(JobPhase::Processing).await, 2);
    assert_eq!(count(JobPhase::Retrying).await, 1);
    assert_eq!(count(JobPhase::Completed).await, 2);
    assert_eq!(count(JobPhase::Failed).await, 1);
    assert_eq!(count(JobPhase::Cancelled).await, 1);
    assert_eq!(count(JobPhase::Expired).await, 0);

    let theirs = JobFilter {
        client: Some(other.into()),
        ..JobFilter::default()
    };
    let jobs = list_all(&queue, &theirs, 2).await;
    assert_eq!(jobs.len(), 5);
    assert!(jobs.iter().all(|r| r.client == other));
    let with_file = JobFilter {
        file_id: Some(FileId::new(20_003).unwrap()),
        ..JobFilter::default()
    };
    let mut jobs = ids(&list_all(&queue, &with_file, 10).await);
    jobs.sort();
    let mut expected = vec![created[2], bundle];
    expected.sort();
    assert_eq!(
        jobs, expected,
        "the single file's job and the bundle with it"
    );
    let both = JobFilter {
        phase: Some(JobPhase::Queued),
        client: Some(other.into()),
        file_id: Some(FileId::new(40_001).unwrap()),
    };
    assert_eq!(ids(&list_all(&queue, &both, 10).await), vec![bundle]);

    // Deleted jobs leave the list; a retried one moves to the queued.
    queue.delete(claimed[0].lease.job_id).await.unwrap();
    queue.retry_failed(claimed[2].lease.job_id).await.unwrap();
    assert_eq!(count(JobPhase::Completed).await, 1);
    assert_eq!(count(JobPhase::Failed).await, 0);
    assert_eq!(count(JobPhase::Queued).await, 28 - 6 - 1 + 1);
    assert_eq!(list_all(&queue, &everything, 50).await.len(), 27);
}

/// A completed job whose result is gone is listed as expired, not as completed.
pub async fn the_job_list_tells_expired_jobs_from_completed_ones(make: impl MakeQueue) {
    let queue = make
        .make(QueueSettings {
            result_ttl: Duration::from_millis(200),
            expired_record_ttl: Duration::from_secs(60),
            ..fast_settings()
        })
        .await;
    enqueue(&queue, 10001).await;
    let claimed = claim_one(&queue).await.unwrap();
    queue.complete(&claimed.lease, result()).await.unwrap();
    let only = |phase| JobFilter {
        phase: Some(phase),
        ..JobFilter::default()
    };
    let listed = |phase| {
        let queue = queue.clone();
        async move { ids(&list_all(&queue, &only(phase), 10).await) }
    };
    assert_eq!(
        listed(JobPhase::Completed).await,
        vec![claimed.lease.job_id]
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(listed(JobPhase::Completed).await, vec![]);
    assert_eq!(listed(JobPhase::Expired).await, vec![claimed.lease.job_id]);
    let all = list_all(&queue, &JobFilter::default(), 10).await;
    assert_eq!(
        all.iter().map(|r| r.phase).collect::<Vec<_>>(),
        vec![JobPhase::Expired]
    );
}

/// Every attempt is recorded with its worker, start, end and outcome, and the record says when
/// the job first started and, while it runs, when its lease runs out.
pub async fn each_attempt_is_recorded_with_its_worker_and_outcome(make: impl MakeQueue) {
    let queue = make.make(fast_settings()).await;
    assert_eq!(queue.attempts(JobId::generate()).await, Ok(vec![]));
    let job = enqueue(&queue, 10001).await;
    assert_eq!(queue.attempts(job).await, Ok(vec![]));
    let first = claim_one(&queue).await.unwrap();
    let record = queue.status(job).await.unwrap().unwrap();
    assert_eq!(record.first_started_at, record.started_at);
    let deadline = record
        .lease_deadline
        .expect("a running job has a lease deadline");
    assert!(deadline > record.started_at.unwrap());
    let running = queue.attempts(job).await.unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!((running[0].number, running[0].worker.as_str()), (1, WORKER));
    assert_eq!((running[0].ended_at, running[0].outcome), (None, None));
    assert_eq!(Some(running[0].started_at), record.started_at);

    queue
        .fail(&first.lease, "the origin timed out", FailureKind::Transient)
        .await
        .unwrap();
    assert_eq!(
        queue.status(job).await.unwrap().unwrap().lease_deadline,
        None
    );
    let second = claim_within(&queue, Duration::from_secs(2)).await.unwrap();
    queue.release(&second.lease).await.unwrap();
    let third = claim_one(&queue).await.unwrap();
    // Its worker stops renewing: the lease runs out and the next claim takes it back.
    let fourth = claim_within(&queue, Duration::from_secs(2)).await.unwrap();
    assert_eq!(fourth.lease.job_id, job);
    assert_ne!(third.lease.token, fourth.lease.token);
    queue.complete(&fourth.lease, result()).await.unwrap();

    let attempts = queue.attempts(job).await.unwrap();
    let summary: Vec<_> = attempts
        .iter()
        .map(|a| (a.number, a.outcome, a.error.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                1,
                Some(AttemptOutcome::Failed),
                Some("the origin timed out")
            ),
            (2, Some(AttemptOutcome::Released), None),
            (
                2,
                Some(AttemptOutcome::LeaseExpired),
                Some(ferry_server::queue::RECLAIMED_ERROR)
            ),
            (3, Some(AttemptOutcome::Completed), None),
        ]
    );
    for attempt in &attempts {
        assert_eq!(attempt.worker, WORKER);
        assert!(attempt.ended_at.unwrap() >= attempt.started_at);
    }
    for pair in attempts.windows(2) {
        assert!(
            pair[1].started_at >= pair[0].ended_at.unwrap(),
            "one after the other"
        );
    }
    let record = queue.status(job).await.unwrap().unwrap();
    assert_eq!(
        record.first_started_at,
        Some(attempts[0].started_at),
        "the first start stays"
    );
    assert_eq!(record.started_at, Some(attempts[3].started_at));

    // Cancelling a running job ends its attempt as cancelled.
    let cancelled = enqueue(&queue, 10002).await;
    claim_one(&queue).await.unwrap();
    queue.cancel(cancelled).await.unwrap();
    let attempts = queue.attempts(cancelled).await.unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(),
        vec![Some(AttemptOutcome::Cancelled)]
    );
    // A deleted job's attempts go with it.
    queue.delete(cancelled).await.unwrap();
    assert_eq!(queue.attempts(cancelled).await, Ok(vec![]));
}

macro_rules! suite {
    (paused: $make:path) => {
        $crate::queue_conformance::suite!(@each $make; (start_paused = true));
    };
    ($make:path) => {
        $crate::queue_conformance::suite!(@each $make; (flavor = "multi_thread", worker_threads = 2));
    };
    (@each $make:path; $flavor:tt) => {
        $crate::queue_conformance::suite!(@tests $make; $flavor;
            a_new_job_is_queued_with_its_first_attempt,
            unknown_jobs_have_no_status,
            jobs_are_claimed_oldest_first,
            racing_workers_complete_every_job_exactly_once,
            progress_from_the_lease_holder_is_visible,
            lease_expiry_hands_the_job_to_another_claimer,
            a_stale_lease_cannot_write_progress_or_complete,
            an_unfinished_upload_is_handed_to_the_next_attempt,
            renewing_keeps_a_lease_alive,
            a_failed_attempt_is_retried_after_its_backoff,
            every_attempt_of_a_job_carries_its_trace,
            backoff_doubles_with_each_attempt,
            a_lost_lease_on_the_last_attempt_fails_the_job,
            completion_records_the_result,
            completing_can_claim_the_next_job_in_the_same_step,
            release_returns_the_job_to_the_front_without_using_an_attempt,
            cancelling_a_queued_job_takes_it_out_of_the_queue,
            cancelling_a_running_job_fences_its_worker,
            a_retrying_job_can_be_cancelled,
            finished_jobs_cannot_be_cancelled,
            an_idempotency_key_returns_the_job_it_created,
            finished_records_expire_after_the_retention_period,
            an_enqueue_wakes_a_waiting_worker,
            an_expiring_lease_wakes_a_waiting_worker,
            timestamps_are_consistent,
            depth_counts_unfinished_jobs_by_state,
            byte_progress_is_recorded_and_reset_by_a_new_attempt,
            a_permanent_failure_spends_no_retries,
            a_work_lock_has_one_holder_until_it_is_given_up_or_expires,
            clients_take_turns_so_one_client_cannot_starve_another,
            turns_survive_cancels_and_retries,
            a_client_may_have_only_so_many_unfinished_jobs,
            idempotency_keys_belong_to_their_client,
            cancelled_and_failed_records_expire_before_completed_ones,
            a_completed_job_reads_as_expired_once_its_result_is_removed,
            finished_jobs_are_counted_per_minute,
            a_paused_queue_hands_out_no_job_until_resumed,
            instances_are_listed_until_their_heartbeat_runs_out,
            a_failed_job_retried_from_the_console_runs_again_as_its_next_attempt,
            only_finished_records_can_be_deleted,
            the_job_list_pages_through_jobs_newest_first_with_filters,
            the_job_list_tells_expired_jobs_from_completed_ones,
            each_attempt_is_recorded_with_its_worker_and_outcome,
        );
    };
    (@tests $make:path; $flavor:tt; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test $flavor]
            async fn $check() {
                $crate::queue_conformance::$check($make).await;
            }
        )*
    };
}
pub(crate) use suite;
