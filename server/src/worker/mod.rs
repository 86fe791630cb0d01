//! The worker pool: `WORKER_CONCURRENCY` tasks in the server process that claim jobs, stream
//! their files from the origin into archives and store them.
//!
//! Each task runs one job at a time ([`job::run`]). On shutdown the tasks stop claiming and
//! release the jobs they hold back to the queue at once, so another instance (or this one after a
//! restart) picks them up without waiting for a lease to expire.

pub mod job;
pub mod lease;

use crate::{
    origin::Origin,
    queue::{Claimed, JobQueue},
    storage::ResultStore,
};
use std::{sync::Arc, time::Duration};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long an idle worker waits for a wake-up before looking again (retries that became due
/// and expired leases do not send a wake-up).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Pause after a failed claim, so an unavailable queue is not hammered.
const CLAIM_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// How the workers behave, from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSettings {
    /// Jobs processed at once by this instance; 0 makes an API-only instance.
    pub concurrency: usize,
    /// The most bytes one job may fetch from the origin (`MAX_JOB_BYTES`).
    pub max_job_bytes: u64,
    /// The most files one job may hold (`MAX_FILES_PER_JOB`).
    pub max_files_per_job: usize,
    /// A pause between storing the archive and recording completion, to rehearse a crash in
    /// that window (fault tests, chaos drills); zero otherwise.
    pub completion_delay: Duration,
}

/// What every worker task shares.
#[derive(Clone)]
pub struct WorkerContext {
    pub queue: Arc<dyn JobQueue>,
    pub store: Arc<dyn ResultStore>,
    pub origin: Arc<dyn Origin>,
    pub settings: Arc<WorkerSettings>,
    /// The jobs this process holds now, for its heartbeat.
    pub running: crate::presence::RunningJobs,
    /// Cancelled when the process is asked to stop.
    pub shutdown: CancellationToken,
}

/// The running worker tasks.
pub struct WorkerPool {
    tasks: JoinSet<()>,
}

impl WorkerPool {
    /// Starts `settings.concurrency` worker tasks.
    pub fn spawn(context: WorkerContext) -> Self {
        let mut tasks = JoinSet::new();
        for index in 0..context.settings.concurrency {
            let worker_name = format!("worker-{}-{index}", std::process::id());
            tasks.spawn(work_loop(context.clone(), worker_name));
        }
        Self { tasks }
    }

    /// Waits for every task to finish (after shutdown was requested).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Counts the leases a claim took back from workers that stopped renewing them.
pub(crate) fn count_reclaims(claimed: &Claimed) {
    crate::metrics::leases_reclaimed(claimed.leases_reclaimed);
}

async fn work_loop(context: WorkerContext, worker_name: String) {
    tracing::debug!(worker = %worker_name, "worker started");
    while !context.shutdown.is_cancelled() {
        match context.queue.claim(1).await.inspect(count_reclaims) {
            Ok(claimed) if claimed.jobs.is_empty() => {
                tokio::select! {
                    _ = context.queue.wait_for_work(IDLE_POLL) => {}
                    _ = context.shutdown.cancelled() => {}
                }
            }
            Ok(claimed) => {
                for claimed in claimed.jobs {
                    // Finishing a job may hand over the next one (see `JobQueue::complete_and_claim`).
                    let mut next = Some(claimed);
                    while let Some(job) = next {
                        next = job::run(&context, job).await;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(worker = %worker_name, %error, "could not claim jobs; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(CLAIM_ERROR_PAUSE) => {}
                    _ = context.shutdown.cancelled() => {}
                }
            }
        }
    }
    tracing::debug!(worker = %worker_name, "worker stopped");
}
