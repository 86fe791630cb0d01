//! This process in the queue's instance registry: who it is, how many jobs it runs at once and
//! which ones it runs now, renewed by a heartbeat so that the console lists the instances alive
//! and an instance that dies drops out by itself. The heartbeat's answer also says whether the
//! queue is paused, which status answers report without a round trip of their own.

use crate::{
    origin::watched::OriginWatch,
    queue::{system_now, Instance, JobQueue},
};
use app::api::{JobId, Timestamp};
use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// How often this process renews its entry.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// How long an entry outlives its last heartbeat: three missed beats, so one slow Redis answer
/// does not make an instance blink out of the list.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(15);

/// The jobs this process's workers hold now, which its heartbeat reports.
#[derive(Debug, Clone, Default)]
pub struct RunningJobs(Arc<Mutex<BTreeSet<JobId>>>);

impl RunningJobs {
    /// Marks `job_id` as running here until the returned guard is dropped.
    pub fn track(&self, job_id: JobId) -> RunningGuard {
        self.lock().insert(job_id);
        RunningGuard {
            jobs: self.clone(),
            job_id,
        }
    }

    /// The jobs running now, oldest id first.
    pub fn now(&self) -> Vec<JobId> {
        self.lock().iter().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<JobId>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether the queue is paused, as this process last learnt it (at most a heartbeat ago): what
/// status answers tell the owners of queued jobs.
#[derive(Debug, Clone, Default)]
pub struct QueuePaused(Arc<AtomicBool>);

impl QueuePaused {
    /// Whether the queue was paused when this process last learnt it.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// What the heartbeat learnt, or what this process just did (the console's pause).
    pub fn set(&self, paused: bool) {
        self.0.store(paused, Ordering::Relaxed);
    }
}

/// Takes its job out of [`RunningJobs`] when dropped, however the attempt ends.
pub struct RunningGuard {
    jobs: RunningJobs,
    job_id: JobId,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.jobs.lock().remove(&self.job_id);
    }
}

/// A name for this process: its host, its pid and a random part (pids repeat across hosts and
/// restarts).
pub fn instance_id(host: &str) -> String {
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// The machine's name, as the console shows it.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// What this process tells the registry, and where.
struct Heartbeat {
    queue: Arc<dyn JobQueue>,
    id: String,
    host: String,
    concurrency: u32,
    started_at: Timestamp,
    running: RunningJobs,
    paused: QueuePaused,
    origin: OriginWatch,
}

impl Heartbeat {
    /// Renews the entry; a failure only waits for the next beat (the entry outlives a few).
    async fn beat(&self) {
        let instance = Instance {
            id: self.id.clone(),
            host: self.host.clone(),
            concurrency: self.concurrency,
            running: self.running.now(),
            started_at: self.started_at,
            seen_at: self.started_at,
            origin: self.origin.now(),
        };
        match self.queue.heartbeat(&instance, HEARTBEAT_TTL).await {
            Ok(paused) => self.paused.set(paused),
            Err(error) => {
                tracing::debug!(%error, "heartbeat not recorded; trying again at the next one");
            }
        }
    }
}

/// This process as the registry and the attempts it runs name it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Unique among every process that ever shared the queue (see [`instance_id`]).
    pub id: String,
    /// The machine's name (see [`host_name`]).
    pub host: String,
}

impl Identity {
    /// A fresh identity on this host (see [`instance_id`]).
    pub fn of_this_process() -> Self {
        let host = host_name();
        Self {
            id: instance_id(&host),
            host,
        }
    }
}

/// What the heartbeat reports and updates.
pub struct Presence {
    /// Who this process is.
    pub identity: Identity,
    /// Jobs this process runs at once.
    pub concurrency: u32,
    /// The jobs its workers hold now.
    pub running: RunningJobs,
    /// Where the heartbeat leaves what it learnt about the queue's pause.
    pub paused: QueuePaused,
    /// How the origin has been answering this process.
    pub origin: OriginWatch,
}

/// Enters this process in the registry (before returning, so it is listed as soon as it
/// serves), then renews the entry every [`HEARTBEAT_INTERVAL`] until `shutdown`, and then takes
/// it out.
pub async fn start_heartbeat(
    queue: Arc<dyn JobQueue>,
    presence: Presence,
    shutdown: CancellationToken,
) {
    let heartbeat = Heartbeat {
        id: presence.identity.id,
        host: presence.identity.host,
        queue,
        concurrency: presence.concurrency,
        started_at: system_now(),
        running: presence.running,
        paused: presence.paused,
        origin: presence.origin,
    };
    heartbeat.beat().await;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(HEARTBEAT_INTERVAL) => {}
                _ = shutdown.cancelled() => break,
            }
            heartbeat.beat().await;
        }
        if let Err(error) = heartbeat.queue.leave(&heartbeat.id).await {
            tracing::debug!(%error, "could not leave the instance registry; the entry expires");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_running_until_its_guard_drops() {
        let running = RunningJobs::default();
        let (one, two) = (JobId::generate(), JobId::generate());
        let first = running.track(one);
        let second = running.track(two);
        let mut both = vec![one, two];
        both.sort();
        assert_eq!(running.now(), both);
        drop(first);
        assert_eq!(running.now(), vec![two]);
        drop(second);
        assert!(running.now().is_empty());
    }
}
