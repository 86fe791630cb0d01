//! One job, from claim to completion: look the files up at the origin, stream them into the
//! archive and the archive into the result store, or reuse an archive that is already stored.
//!
//! While the work runs, progress reports extend the lease, and a heartbeat renews it when they
//! have been quiet for a third of its length ([`super::lease`]). The work stops as
//! soon as the lease is lost (the job was cancelled, or taken over after this worker stalled), so
//! a worker never keeps going on a job it no longer owns — and the queue's fencing would reject
//! its writes anyway.
//!
//! A job for one file whose origin names a version is keyed by that file: if the store holds an
//! archive of the same version, the job completes at once; if another job (on any instance) is
//! preparing it right now, this one waits for that archive instead of fetching the file again.

use super::{
    lease::{keep_lease, LeaseExtended, Renewal},
    WorkerContext,
};
use crate::{
    archive::{source_fingerprint, ArchiveWriter},
    metrics::{self, AttemptOutcome},
    origin::{names::ArchiveNames, OriginError, SourceFile},
    queue::{
        ClaimedJob, FailOutcome, FailureKind, JobQueue, JobResult, Lease, Progress, QueueError,
        Upload, WorkLock,
    },
    storage::{ArchiveBody, ObjectKey, StorageError, UploadJournal},
};
use app::units::format_bytes;
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tracing::Instrument;

/// Progress is reported at most this often, so every 2 s poll sees it move without a queue
/// write per chunk.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
/// Progress stops here until the archive is stored: the last percent is the upload's end.
const STREAMED_PERCENT: u64 = 99;
/// Files looked up at the origin at once.
const CONCURRENT_LOOKUPS: usize = 8;
/// Archive pieces waiting for the store: with chunks of at most a few hundred KiB, a few MiB.
const PIPE_DEPTH: usize = 8;
/// The shortest life of a work lock without a renewal. The lock only spares other jobs a
/// second fetch of the same file, and a crashed holder's own retry takes it back at once (the
/// holder is the job), so it need not end as soon as a lease: a longer one is renewed less often.
const WORK_LOCK_TTL: Duration = Duration::from_secs(15);
/// How often a job waiting for another's archive of the same file looks again.
const SHARED_WAIT_POLL: Duration = Duration::from_millis(250);

/// Why an attempt did not produce an archive.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error("the files add up to {total} bytes, more than MAX_JOB_BYTES ({limit})")]
    TooLarge { total: u64, limit: u64 },
    #[error("the job has {files} files, more than MAX_FILES_PER_JOB ({limit})")]
    TooManyFiles { files: usize, limit: usize },
    #[error("could not build the archive: {0}")]
    Archive(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the job queue is unavailable: {0}")]
    Queue(QueueError),
    /// The job is no longer ours: nothing to report.
    #[error("lease lost")]
    LeaseLost,
}

impl JobError {
    /// Whether another attempt could succeed.
    fn kind(&self) -> FailureKind {
        match self {
            Self::Origin(error) if error.is_permanent() => FailureKind::Permanent,
            Self::TooLarge { .. } | Self::TooManyFiles { .. } => FailureKind::Permanent,
            _ => FailureKind::Transient,
        }
    }

    /// What the job's record says, for the person waiting: a plain sentence. The detail is in
    /// the log, next to the job id.
    fn user_message(&self) -> String {
        match self {
            Self::Origin(error) => error.user_message(),
            Self::TooLarge { total, limit } => format!(
                "These files add up to {}, more than the {} one download may hold.",
                format_bytes(*total),
                format_bytes(*limit)
            ),
            Self::TooManyFiles { files, limit } => {
                format!("This download has {files} files; one download may hold at most {limit}.")
            }
            Self::Archive(_) => "Ferry could not build the archive.".into(),
            Self::Storage(error) => error.to_string(),
            Self::Queue(_) => "Ferry's job queue could not be reached.".into(),
            Self::LeaseLost => "The job was taken over by another worker.".into(),
        }
    }
}

/// How many file ids a job's log span lists before it abbreviates.
const LOGGED_FILE_IDS: usize = 10;

/// Runs `job` to its end and records the outcome in the queue, inside a `job` span (job id, file
/// ids, attempt) so every line the attempt logs says which job it is about. With traces on, the
/// span is a child of the initiate request's span (the job's stored trace parent), whichever
/// instance runs the attempt and however many attempts came before: a child rather than a link,
/// so the click's one trace id finds every attempt, and a trace UI draws them on one timeline
/// (see [`app::trace_context`]). Returns the next job when recording a completion also claimed
/// one.
pub async fn run(context: &WorkerContext, job: ClaimedJob) -> Option<ClaimedJob> {
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
        otel.name = "job attempt",
        job_id = %job.lease.job_id,
        attempt = job.lease.attempt,
        file_ids = %file_ids,
        outcome = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    crate::telemetry::join_trace(&span, job.trace_parent.as_deref());
    run_attempt(context, job).instrument(span).await
}

/// Says on the attempt's span how it ended (and, for a trace UI, whether that is an error).
fn record_outcome(span: &tracing::Span, outcome: &'static str, error: bool) {
    span.record("outcome", outcome);
    if error {
        span.record("otel.status_code", "error");
    }
}

async fn run_attempt(context: &WorkerContext, job: ClaimedJob) -> Option<ClaimedJob> {
    // The attempt's own span (`run` instruments this future with it), taken before any other.
    let attempt_span = tracing::Span::current();
    let outcome_is = |outcome, error| record_outcome(&attempt_span, outcome, error);
    let started = Instant::now();
    let lease = job.lease.clone();
    let job_id = lease.job_id;
    let _running = context.running.track(job_id);
    tracing::info!(%job_id, attempt = job.lease.attempt, files = job.file_ids.len(), "job started");
    let extended = LeaseExtended::new();
    let outcome = tokio::select! {
        biased;
        _ = context.shutdown.cancelled() => None,
        _ = renew_lease(context, &lease, &extended) => Some(Err(JobError::LeaseLost)),
        result = prepare(context, &job, &extended) => Some(result),
    };
    let queue = &context.queue;
    let mut next = None;
    match outcome {
        None => match queue.release(&lease).await {
            Ok(()) => {
                outcome_is("released", false);
                tracing::info!(%job_id, "job released for another worker (shutting down)")
            }
            Err(error) => {
                outcome_is("not released", true);
                tracing::warn!(%job_id, %error, "could not release job on shutdown")
            }
        },
        // A worker that is not shutting down takes its next job in the same step.
        Some(Ok(result)) => match complete(context, &lease, result).await {
            Ok(claimed) => {
                metrics::job_attempt_ended(AttemptOutcome::Completed, started.elapsed());
                outcome_is("completed", false);
                tracing::info!(%job_id, "job completed");
                next = claimed;
            }
            Err(QueueError::LeaseLost(_)) => {
                outcome_is("abandoned", false);
                tracing::info!(%job_id, "job finished after it was cancelled or taken over; result not recorded");
            }
            Err(error) => {
                outcome_is("completion not recorded", true);
                tracing::warn!(%job_id, %error, "could not record completion")
            }
        },
        Some(Err(JobError::LeaseLost)) => {
            outcome_is("abandoned", false);
            tracing::info!(%job_id, "job abandoned: cancelled or taken over by another worker");
        }
        Some(Err(error)) => match queue
            .fail(&lease, &error.user_message(), error.kind())
            .await
        {
            Ok(FailOutcome::Retrying {
                attempt,
                next_attempt_at,
            }) => {
                metrics::job_attempt_ended(AttemptOutcome::Retried, started.elapsed());
                outcome_is("retrying", true);
                tracing::warn!(%job_id, %error, attempt, %next_attempt_at, "attempt failed; will retry")
            }
            Ok(FailOutcome::Failed) => {
                metrics::job_attempt_ended(AttemptOutcome::Failed, started.elapsed());
                outcome_is("failed", true);
                match error.kind() {
                    FailureKind::Permanent => {
                        tracing::error!(%job_id, %error, "job failed: retrying cannot help")
                    }
                    FailureKind::Transient => {
                        tracing::error!(%job_id, %error, "job failed after its last attempt")
                    }
                }
            }
            Err(queue_error) => {
                outcome_is("failure not recorded", true);
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
) -> Result<Option<ClaimedJob>, QueueError> {
    if context.shutdown.is_cancelled() {
        context.queue.complete(lease, result).await.map(|()| None)
    } else {
        let claimed = context.queue.complete_and_claim(lease, result).await?;
        super::count_reclaims(&claimed);
        Ok(claimed.first())
    }
}

/// Renews the lease whenever progress reports have not extended it lately, until it is lost;
/// returns only then.
async fn renew_lease(context: &WorkerContext, lease: &Lease, extended: &LeaseExtended) {
    keep_lease(context.queue.lease_ttl(), extended, || async move {
        match context.queue.renew(std::slice::from_ref(lease)).await {
            Ok(lost) if lost.contains(&lease.job_id) => Renewal::Lost,
            Ok(_) => Renewal::Held,
            Err(error) => {
                tracing::warn!(job_id = %lease.job_id, %error, "lease renewal failed");
                Renewal::Failed
            }
        }
    })
    .await
}

/// Counts what an attempt has fetched and reports it to the queue now and then.
struct ProgressReporter<'a> {
    context: &'a WorkerContext,
    lease: &'a Lease,
    /// Every recorded report extends the lease: the heartbeat then has nothing to do.
    extended: &'a LeaseExtended,
    files_total: u64,
    progress: Progress,
    last_report: Option<Instant>,
}

impl<'a> ProgressReporter<'a> {
    fn new(
        context: &'a WorkerContext,
        lease: &'a Lease,
        extended: &'a LeaseExtended,
        files: &[SourceFile],
    ) -> Self {
        let bytes_total = files.iter().map(|file| file.size).sum::<Option<u64>>();
        Self {
            context,
            lease,
            extended,
            files_total: files.len() as u64,
            progress: Progress {
                bytes_total,
                ..Progress::default()
            },
            last_report: None,
        }
    }

    /// Percent from bytes when the total is known, else from files; it only grows, because the
    /// counts only grow.
    fn percent(&self) -> u8 {
        let Progress {
            bytes_done,
            bytes_total,
            files_done,
            ..
        } = self.progress;
        let percent = match bytes_total {
            Some(total) if total > 0 => bytes_done.saturating_mul(STREAMED_PERCENT) / total,
            _ => u64::from(files_done) * STREAMED_PERCENT / self.files_total.max(1),
        };
        percent.min(STREAMED_PERCENT) as u8
    }

    async fn add_bytes(&mut self, bytes: u64) -> Result<(), JobError> {
        self.progress.bytes_done += bytes;
        self.report(false).await
    }

    async fn file_done(&mut self) -> Result<(), JobError> {
        self.progress.files_done += 1;
        self.report(false).await
    }

    /// Sends the counts, unless one was sent less than [`PROGRESS_INTERVAL`] ago (`force`
    /// sends anyway). A lost lease ends the attempt, an unreachable queue does not.
    async fn report(&mut self, force: bool) -> Result<(), JobError> {
        if !force
            && self
                .last_report
                .is_some_and(|at| at.elapsed() < PROGRESS_INTERVAL)
        {
            return Ok(());
        }
        self.last_report = Some(Instant::now());
        self.progress.percent = self.percent();
        match self
            .context
            .queue
            .progress(self.lease, &self.progress)
            .await
        {
            Ok(()) => {
                self.extended.extended_now();
                Ok(())
            }
            Err(QueueError::LeaseLost(_)) => Err(JobError::LeaseLost),
            Err(error) => {
                tracing::warn!(job_id = %self.lease.job_id, %error, "progress not recorded");
                Ok(())
            }
        }
    }
}

/// What the origin says about every file of the job, looked up a few at a time.
async fn look_up(context: &WorkerContext, job: &ClaimedJob) -> Result<Vec<SourceFile>, JobError> {
    // Owned futures: a stream of futures borrowing the job would not be `Send` for every
    // lifetime, which the worker task needs.
    let lookups: Vec<_> = job
        .file_ids
        .iter()
        .map(|file_id| {
            let (origin, params, file_id) = (
                Arc::clone(&context.origin),
                job.origin_params.clone(),
                *file_id,
            );
            async move { origin.stat(file_id, &params).await }
        })
        .collect();
    futures::stream::iter(lookups)
        .buffered(CONCURRENT_LOOKUPS)
        .map(|looked| looked.map_err(JobError::from))
        .collect::<Vec<_>>()
        .instrument(tracing::info_span!(
            "origin.lookup",
            files = job.file_ids.len()
        ))
        .await
        .into_iter()
        .collect()
}

/// Gives a work lock up when the attempt ends, however it ends (a dropped attempt cannot wait,
/// so the unlock runs as a task of its own).
struct WorkLockGuard {
    queue: Arc<dyn JobQueue>,
    /// How long the lock lives without a renewal (the lease's length, at least
    /// [`WORK_LOCK_TTL`]).
    ttl: Duration,
    name: String,
    holder: String,
}

impl WorkLockGuard {
    /// Renews the lock at a third of the lease until the attempt ends; never returns.
    async fn keep(&self) {
        loop {
            tokio::time::sleep(self.ttl / 3).await;
            match self
                .queue
                .renew_work_lock(&self.name, &self.holder, self.ttl)
                .await
            {
                Ok(true) => {}
                // Another job may fetch the same file now: wasteful, never wrong.
                Ok(false) => tracing::warn!(lock = %self.name, "work lock lost"),
                Err(error) => tracing::warn!(lock = %self.name, %error, "work lock not renewed"),
            }
        }
    }
}

impl Drop for WorkLockGuard {
    fn drop(&mut self) {
        // Without a runtime (the process is ending) the lock simply expires.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let queue = Arc::clone(&self.queue);
        let (name, holder) = (
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.holder),
        );
        runtime.spawn(async move {
            if let Err(error) = queue.unlock_work(&name, &holder).await {
                tracing::warn!(lock = %name, %error, "work lock not given up; it expires by itself");
            }
        });
    }
}

/// The outcome of looking for an archive of this exact file version.
enum Shared {
    /// The store holds it: the job is done.
    Stored(JobResult),
    /// Nobody has it or is making it: this attempt makes it, holding the lock.
    Make(WorkLockGuard),
}

/// The stored archive of `key`, if it was made from this exact file version.
async fn stored_version(
    context: &WorkerContext,
    job: &ClaimedJob,
    key: &ObjectKey,
    fingerprint: &str,
) -> Result<Option<JobResult>, JobError> {
    let Some(stored) = context.store.stored(key).await? else {
        return Ok(None);
    };
    if stored.source_fingerprint.as_deref() != Some(fingerprint) {
        return Ok(None);
    }
    metrics::archive_reused();
    tracing::info!(job_id = %job.lease.job_id, %key, "reusing the stored archive of this file version");
    Ok(Some(JobResult {
        key: key.clone(),
        size: stored.size,
    }))
}

/// Reuses the stored archive of this file version, or waits while another job prepares it,
/// or takes the lock to prepare it here.
async fn reuse_or_lock(
    context: &WorkerContext,
    job: &ClaimedJob,
    key: &ObjectKey,
    fingerprint: &str,
) -> Result<Shared, JobError> {
    if let Some(result) = stored_version(context, job, key, fingerprint).await? {
        return Ok(Shared::Stored(result));
    }
    let holder = job.lease.job_id.to_string();
    let ttl = context.queue.lease_ttl().max(WORK_LOCK_TTL);
    let mut waited = false;
    loop {
        match context.queue.lock_work(key.as_str(), &holder, ttl).await {
            Ok(WorkLock::Acquired) => {
                let guard = WorkLockGuard {
                    queue: Arc::clone(&context.queue),
                    ttl,
                    name: key.as_str().to_owned(),
                    holder,
                };
                // The job this one waited for has just given the lock up: its archive is stored
                // unless it failed or was cancelled (then the guard gives the lock up again).
                if waited {
                    if let Some(result) = stored_version(context, job, key, fingerprint).await? {
                        return Ok(Shared::Stored(result));
                    }
                }
                return Ok(Shared::Make(guard));
            }
            Ok(WorkLock::HeldBy(other)) => {
                if !waited {
                    tracing::info!(job_id = %job.lease.job_id, %key, other_job = %other, "another job is preparing this file; waiting for its archive");
                    waited = true;
                }
                tokio::time::sleep(SHARED_WAIT_POLL).await;
            }
            Err(QueueError::LeaseLost(_)) => return Err(JobError::LeaseLost),
            // The queue is away: waiting on it would hold the job for nothing.
            Err(error) => return Err(JobError::Queue(error)),
        }
    }
}

async fn prepare(
    context: &WorkerContext,
    job: &ClaimedJob,
    extended: &LeaseExtended,
) -> Result<JobResult, JobError> {
    let lease = &job.lease;
    let limit = context.settings.max_files_per_job;
    if job.file_ids.len() > limit {
        return Err(JobError::TooManyFiles {
            files: job.file_ids.len(),
            limit,
        });
    }
    let files = look_up(context, job).await?;
    let mut progress = ProgressReporter::new(context, lease, extended, &files);
    let limit = context.settings.max_job_bytes;
    if let Some(total) = progress.progress.bytes_total.filter(|total| *total > limit) {
        return Err(JobError::TooLarge { total, limit });
    }
    progress.report(true).await?;

    let key = ObjectKey::for_job(&job.file_ids);
    // A single file's archive is shared by every job for the same version of the file.
    let fingerprint = match files.as_slice() {
        [single] => single
            .version
            .as_deref()
            .map(|version| source_fingerprint(&context.origin.describe(), version)),
        _ => None,
    };
    let lock = match &fingerprint {
        Some(fingerprint) => match reuse_or_lock(context, job, &key, fingerprint).await? {
            Shared::Stored(result) => return Ok(result),
            Shared::Make(guard) => Some(guard),
        },
        None => None,
    };

    if let Some(abandoned) = &job.abandoned_upload {
        // An earlier attempt died mid-upload: its parts would stay in the bucket for good.
        abort_abandoned_upload(context, job, abandoned).await;
    }
    tracing::info!(job_id = %lease.job_id, %key, files = files.len(), bytes_total = ?progress.progress.bytes_total, "streaming the files into the archive");
    let size = {
        let stream = stream_archive(
            context,
            job,
            &files,
            &key,
            fingerprint.as_deref(),
            &mut progress,
        );
        match &lock {
            Some(lock) => tokio::select! {
                biased;
                size = stream => size?,
                _ = lock.keep() => unreachable!("keeping a lock never ends"),
            },
            None => stream.await?,
        }
    };
    tracing::info!(job_id = %lease.job_id, %key, size, "archive uploaded");
    tokio::time::sleep(context.settings.completion_delay).await;
    Ok(JobResult {
        key: key.clone(),
        size,
    })
}

/// Zips the files as they stream from the origin and stores the archive as it is produced;
/// returns its size.
async fn stream_archive(
    context: &WorkerContext,
    job: &ClaimedJob,
    files: &[SourceFile],
    key: &ObjectKey,
    fingerprint: Option<&str>,
    progress: &mut ProgressReporter<'_>,
) -> Result<u64, JobError> {
    let (pieces, received) = mpsc::channel::<std::io::Result<Bytes>>(PIPE_DEPTH);
    let body: ArchiveBody<'_> = Box::pin(futures::stream::unfold(received, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    }));
    let journal = LeaseJournal {
        context,
        lease: &job.lease,
        key,
    };
    let produce = async {
        let produced = produce_archive(context, job, files, fingerprint, &pieces, progress).await;
        if let Err(error) = &produced {
            // The store must see an error, not an end: it stores nothing of a broken archive.
            let _ = pieces
                .send(Err(std::io::Error::other(error.to_string())))
                .await;
        }
        drop(pieces);
        produced
    };
    let store = context.store.put_stream(key, fingerprint, body, &journal);
    // Building and storing run side by side: two sibling spans under the attempt's.
    let produce = produce.instrument(tracing::info_span!("archive.build", files = files.len()));
    let store = store.instrument(tracing::info_span!("storage.upload", %key));
    match tokio::join!(produce, store) {
        (Ok(()), Ok(size)) => Ok(size),
        // The store gave up first (S3 away …): its error is the cause.
        (Err(JobError::Storage(StorageError::Interrupted(_))), Err(stored)) => Err(stored.into()),
        (Err(produced), _) => Err(produced),
        (Ok(()), Err(stored)) => Err(stored.into()),
    }
}

/// Reads each file from the origin into the archive, sending the archive's bytes to `pieces`.
async fn produce_archive(
    context: &WorkerContext,
    job: &ClaimedJob,
    files: &[SourceFile],
    fingerprint: Option<&str>,
    pieces: &mpsc::Sender<std::io::Result<Bytes>>,
    progress: &mut ProgressReporter<'_>,
) -> Result<(), JobError> {
    let mut archive = ArchiveWriter::new(fingerprint)?;
    let mut names = ArchiveNames::default();
    for file in files {
        let span = tracing::info_span!(
            "origin.fetch",
            file_id = %file.file_id,
            bytes = tracing::field::Empty
        );
        let file_into_archive = FileIntoArchive {
            context,
            job,
            file,
            pieces,
        };
        file_into_archive
            .add(&mut archive, &mut names, progress)
            .instrument(span)
            .await?;
    }
    send(pieces, archive.finish()?).await?;
    progress.report(true).await
}

/// One file of the archive, read from the origin (one `origin.fetch` span).
struct FileIntoArchive<'a> {
    context: &'a WorkerContext,
    job: &'a ClaimedJob,
    file: &'a SourceFile,
    pieces: &'a mpsc::Sender<std::io::Result<Bytes>>,
}

impl FileIntoArchive<'_> {
    /// Streams the file into `archive` as its next entry, named by `names`, checking it against
    /// the size the origin announced and the job against `MAX_JOB_BYTES`.
    async fn add(
        self,
        archive: &mut ArchiveWriter,
        names: &mut ArchiveNames,
        progress: &mut ProgressReporter<'_>,
    ) -> Result<(), JobError> {
        let Self {
            context,
            job,
            file,
            pieces,
        } = self;
        let max_job_bytes = context.settings.max_job_bytes;
        let file_id = file.file_id;
        let opened = context.origin.open(file, &job.origin_params).await?;
        let announced = opened.file.size;
        let name = names.assign(opened.file.name.as_deref(), file_id);
        archive.start_entry(&name, announced)?;
        let mut bytes = opened.bytes;
        let mut received = 0u64;
        while let Some(chunk) = bytes.next().await {
            let chunk = chunk?;
            received += chunk.len() as u64;
            if let Some(announced) = announced.filter(|announced| received > *announced) {
                return Err(OriginError::Changed {
                    file_id,
                    detail: format!("more than the {announced} bytes announced arrived"),
                }
                .into());
            }
            let total = progress.progress.bytes_done + chunk.len() as u64;
            if total > max_job_bytes {
                return Err(JobError::TooLarge {
                    total,
                    limit: max_job_bytes,
                });
            }
            archive.write(&chunk)?;
            metrics::origin_bytes(chunk.len() as u64);
            send(pieces, archive.take_output()).await?;
            progress.add_bytes(chunk.len() as u64).await?;
        }
        tracing::Span::current().record("bytes", received);
        if let Some(announced) = announced.filter(|announced| received < *announced) {
            return Err(OriginError::Truncated {
                file_id,
                announced,
                received,
            }
            .into());
        }
        progress.file_done().await
    }
}

/// Hands a piece of the archive to the store.
async fn send(pieces: &mpsc::Sender<std::io::Result<Bytes>>, piece: Bytes) -> Result<(), JobError> {
    if piece.is_empty() {
        return Ok(());
    }
    pieces.send(Ok(piece)).await.map_err(|_| {
        JobError::Storage(StorageError::Interrupted(
            "the store stopped reading".into(),
        ))
    })
}

/// Aborts the upload an earlier attempt left, at the key that attempt wrote to.
async fn abort_abandoned_upload(context: &WorkerContext, job: &ClaimedJob, abandoned: &Upload) {
    let lease = &job.lease;
    let key = &abandoned.key;
    let upload_id = abandoned.id.as_str();
    match context.store.abort_upload(key, upload_id).await {
        Ok(()) => {
            tracing::info!(job_id = %lease.job_id, %key, upload_id, "aborted the upload an earlier attempt left unfinished")
        }
        Err(error) => {
            tracing::warn!(job_id = %lease.job_id, %key, %error, "could not abort an earlier attempt's upload")
        }
    }
}

/// Writes the attempt's multipart upload (and where it goes) into the job's record, under its
/// lease.
struct LeaseJournal<'a> {
    context: &'a WorkerContext,
    lease: &'a Lease,
    key: &'a ObjectKey,
}

#[async_trait]
impl UploadJournal for LeaseJournal<'_> {
    async fn started(&self, upload_id: &str) -> Result<(), StorageError> {
        self.context
            .queue
            .note_upload(
                self.lease,
                Some(&Upload {
                    key: self.key.clone(),
                    id: upload_id.to_owned(),
                }),
            )
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
