//! One job, from claim to completion: the simulated slow download, the archive, the upload.
//!
//! While the work runs, a heartbeat renews the lease at a third of its length. The work stops as
//! soon as the lease is lost (the job was cancelled, or taken over after this worker stalled), so
//! a worker never keeps going on a job it no longer owns — and the queue's fencing would reject
//! its writes anyway.

use super::{archive, WorkerContext};
use crate::{
    metrics::{self, AttemptOutcome},
    queue::{ClaimedJob, FailOutcome, JobResult, Lease, QueueError},
    storage::{ObjectKey, StorageError, UploadJournal},
};
use async_trait::async_trait;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Progress is reported about this often, so every 2 s poll sees it move.
const PROGRESS_STEP_MS: u64 = 500;
/// At most this many progress reports per attempt (one per percent of the download part).
const MAX_PROGRESS_STEPS: u64 = 90;
/// Progress when the simulated download is done; archiving and uploading cover the rest.
const DOWNLOADED_PERCENT: u64 = 90;
/// Progress once the archive is built, before the upload.
const ARCHIVED_PERCENT: u8 = 95;

/// Why an attempt did not produce an archive.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Injected by `SIMULATED_FAILURE_RATE` / `SIMULATED_FAILURE_FILE_IDS`.
    #[error("{0}")]
    Simulated(String),
    #[error("could not build the archive: {0}")]
    Archive(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The job is no longer ours: nothing to report.
    #[error("lease lost")]
    LeaseLost,
}

/// How many file ids a job's log span lists before it abbreviates.
const LOGGED_FILE_IDS: usize = 10;

/// Runs `job` to its end and records the outcome in the queue, inside a `job` span (job id, file
/// ids, attempt) so every line the attempt logs says which job it is about. Returns the next job
/// when recording a completion also claimed one for `worker_name`.
pub async fn run(
    context: &WorkerContext,
    worker_name: &str,
    job: ClaimedJob,
) -> Option<ClaimedJob> {
    let mut file_ids = job
        .file_ids
        .iter()
        .take(LOGGED_FILE_IDS)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if job.file_ids.len() > LOGGED_FILE_IDS {
        file_ids.push_str(",…");
    }
    let span = tracing::info_span!(
        "job",
        job_id = %job.lease.job_id,
        attempt = job.attempt,
        file_ids = %file_ids,
    );
    run_attempt(context, worker_name, job)
        .instrument(span)
        .await
}

async fn run_attempt(
    context: &WorkerContext,
    worker_name: &str,
    job: ClaimedJob,
) -> Option<ClaimedJob> {
    let started = Instant::now();
    let lease = job.lease.clone();
    let job_id = lease.job_id;
    tracing::info!(%job_id, attempt = job.attempt, files = job.file_ids.len(), "job started");
    let outcome = tokio::select! {
        biased;
        _ = context.shutdown.cancelled() => None,
        _ = keep_lease(context, &lease) => Some(Err(JobError::LeaseLost)),
        result = prepare(context, &job) => Some(result),
    };
    let queue = &context.queue;
    let mut next = None;
    match outcome {
        None => match queue.release(&lease).await {
            Ok(()) => tracing::info!(%job_id, "job released for another worker (shutting down)"),
            Err(error) => tracing::warn!(%job_id, %error, "could not release job on shutdown"),
        },
        // A worker that is not shutting down takes its next job in the same step.
        Some(Ok(result)) => match complete(context, &lease, result, worker_name).await {
            Ok(claimed) => {
                metrics::job_attempt_ended(AttemptOutcome::Completed, started.elapsed());
                tracing::info!(%job_id, "job completed");
                next = claimed;
            }
            Err(QueueError::LeaseLost(_)) => {
                tracing::info!(%job_id, "job finished after it was cancelled or taken over; result not recorded");
            }
            Err(error) => tracing::warn!(%job_id, %error, "could not record completion"),
        },
        Some(Err(JobError::LeaseLost)) => {
            tracing::info!(%job_id, "job abandoned: cancelled or taken over by another worker");
        }
        Some(Err(error)) => match queue.fail(&lease, &error.to_string()).await {
            Ok(FailOutcome::Retrying {
                attempt,
                next_attempt_at,
            }) => {
                metrics::job_attempt_ended(AttemptOutcome::Retried, started.elapsed());
                tracing::warn!(%job_id, %error, attempt, %next_attempt_at, "attempt failed; will retry")
            }
            Ok(FailOutcome::Failed) => {
                metrics::job_attempt_ended(AttemptOutcome::Failed, started.elapsed());
                tracing::error!(%job_id, %error, "job failed after its last attempt")
            }
            Err(queue_error) => {
                tracing::warn!(%job_id, %error, %queue_error, "could not record failure")
            }
        },
    }
    next
}

/// Records the completion, and claims the next job with it unless the process is stopping.
async fn complete(
    context: &WorkerContext,
    lease: &Lease,
    result: JobResult,
    worker_name: &str,
) -> Result<Option<ClaimedJob>, QueueError> {
    if context.shutdown.is_cancelled() {
        context.queue.complete(lease, result).await.map(|()| None)
    } else {
        context
            .queue
            .complete_and_claim(lease, result, worker_name)
            .await
    }
}

/// Renews the lease until it is lost; returns only then.
async fn keep_lease(context: &WorkerContext, lease: &Lease) {
    let period = context.settings.lease_ttl / 3;
    loop {
        tokio::time::sleep(period).await;
        match context.queue.renew(std::slice::from_ref(lease)).await {
            Ok(lost) if lost.contains(&lease.job_id) => return,
            Ok(_) => {}
            Err(error) => tracing::warn!(job_id = %lease.job_id, %error, "lease renewal failed"),
        }
    }
}

/// Reports progress; a lost lease ends the attempt, an unreachable queue does not.
async fn report(context: &WorkerContext, lease: &Lease, percent: u8) -> Result<(), JobError> {
    match context.queue.progress(lease, percent).await {
        Ok(()) => Ok(()),
        Err(QueueError::LeaseLost(_)) => Err(JobError::LeaseLost),
        Err(error) => {
            tracing::warn!(job_id = %lease.job_id, %error, "progress not recorded");
            Ok(())
        }
    }
}

/// The step (if any) at which this attempt fails on purpose.
fn planned_failure(context: &WorkerContext, job: &ClaimedJob, steps: u64) -> Option<(u64, String)> {
    let settings = &context.settings;
    if let Some(id) = job
        .file_ids
        .iter()
        .find(|id| settings.failing_file_ids.contains(id))
    {
        return Some((
            steps / 2,
            format!("file {id} could not be fetched from the origin (simulated failure)"),
        ));
    }
    (settings.failure_rate > 0.0 && rand::random::<f64>() < settings.failure_rate).then(|| {
        (
            rand::random_range(0..steps),
            "the origin connection dropped (simulated failure)".to_owned(),
        )
    })
}

async fn prepare(context: &WorkerContext, job: &ClaimedJob) -> Result<JobResult, JobError> {
    let lease = &job.lease;
    let steps = (job.delay_ms / PROGRESS_STEP_MS).clamp(1, MAX_PROGRESS_STEPS);
    let failure = planned_failure(context, job, steps);
    let step = Duration::from_millis(job.delay_ms / steps);
    report(context, lease, 0).await?;
    for done in 1..=steps {
        tokio::time::sleep(step).await;
        if let Some((at, message)) = &failure {
            if done > *at {
                return Err(JobError::Simulated(message.clone()));
            }
        }
        report(context, lease, (done * DOWNLOADED_PERCENT / steps) as u8).await?;
    }

    let key = match job.file_ids.as_slice() {
        [single] => ObjectKey::for_file(*single),
        _ => ObjectKey::for_bundle(lease.job_id),
    };
    let scratch = tempfile::NamedTempFile::new()?;
    let scratch_path = scratch.path().to_path_buf();
    let file_ids = job.file_ids.clone();
    let file_bytes = context.settings.generated_file_bytes;
    tokio::task::spawn_blocking(move || {
        archive::write_archive(&file_ids, file_bytes, &scratch_path)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))??;
    report(context, lease, ARCHIVED_PERCENT).await?;

    if let Some(upload_id) = &job.abandoned_upload {
        // An earlier attempt died mid-upload: its parts would stay in the bucket for good.
        match context.store.abort_upload(&key, upload_id).await {
            Ok(()) => {
                tracing::info!(job_id = %lease.job_id, %key, upload_id, "aborted the upload an earlier attempt left unfinished")
            }
            Err(error) => {
                tracing::warn!(job_id = %lease.job_id, %key, %error, "could not abort an earlier attempt's upload")
            }
        }
    }
    tracing::info!(job_id = %lease.job_id, %key, "archive built; uploading");
    let journal = LeaseJournal { context, lease };
    let size = context
        .store
        .put_file(&key, scratch.path(), &journal)
        .await?;
    tracing::info!(job_id = %lease.job_id, %key, size, "archive uploaded");
    tokio::time::sleep(context.settings.completion_delay).await;
    Ok(JobResult {
        key: key.as_str().to_owned(),
        size,
    })
}

/// Writes the attempt's multipart upload into the job's record, under its lease.
struct LeaseJournal<'a> {
    context: &'a WorkerContext,
    lease: &'a Lease,
}

#[async_trait]
impl UploadJournal for LeaseJournal<'_> {
    async fn started(&self, upload_id: &str) -> Result<(), StorageError> {
        self.context
            .queue
            .note_upload(self.lease, Some(upload_id))
            .await
            .map_err(|error| {
                StorageError::Unavailable(format!("the upload could not be recorded: {error}"))
            })
    }

    async fn finished(&self) {
        if let Err(error) = self.context.queue.note_upload(self.lease, None).await {
            // Harmless: the next attempt (if any) aborts an upload that is already gone.
            tracing::debug!(job_id = %self.lease.job_id, %error, "upload not cleared from the record");
        }
    }
}
