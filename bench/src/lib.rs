//! What the bench binaries share: command-line flags and the measurement of a timed section.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};
use tokio::{sync::mpsc, task::JoinSet};

/// `--name value` flags, parsed once.
pub struct Flags(HashMap<String, String>);

impl Flags {
    /// Parses `--name value` pairs from the process arguments (after any positional ones).
    pub fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut flags = HashMap::new();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let value = rest
                    .next()
                    .unwrap_or_else(|| panic!("--{name} needs a value"));
                flags.insert(name.to_owned(), value.clone());
            }
        }
        Self(flags)
    }

    /// A flag that must be given.
    pub fn required(&self, name: &str) -> &str {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("--{name} is required"))
    }

    /// A number flag with a default.
    pub fn number(&self, name: &str, default: usize) -> usize {
        self.0.get(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("--{name} must be a number"))
        })
    }
}

/// CPU seconds (user + system) this process has used so far.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// A running measurement of wall time and this process's CPU time.
pub struct Clock {
    started: Instant,
    cpu: f64,
}

/// What a timed section took.
pub struct Measured {
    pub seconds: f64,
    pub cpu_seconds: f64,
}

impl Clock {
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    pub fn stop(self) -> Measured {
        Measured {
            seconds: self.started.elapsed().as_secs_f64(),
            cpu_seconds: cpu_seconds() - self.cpu,
        }
    }
}

/// Prints the one JSON line the orchestrator (`bench/run.py`) reads.
pub fn report(
    implementation: &str,
    scenario: &str,
    jobs: usize,
    concurrency: Option<usize>,
    m: &Measured,
) {
    println!(
        "{}",
        serde_json::json!({
            "impl": implementation,
            "scenario": scenario,
            "jobs": jobs,
            "concurrency": concurrency,
            "seconds": m.seconds,
            "cpuSeconds": m.cpu_seconds,
        })
    );
}

/// Pickup latency: for each job, the time from just before its add until a worker starts it.
/// Cloned into the worker, which notes each start by the job's index.
#[derive(Clone)]
pub struct Pickup(Arc<PickupTimes>);

struct PickupTimes {
    added: Vec<OnceLock<Instant>>,
    waited: Vec<OnceLock<Duration>>,
}

impl Pickup {
    /// Room for `jobs` jobs, indexed 0..jobs.
    pub fn new(jobs: usize) -> Self {
        Self(Arc::new(PickupTimes {
            added: (0..jobs).map(|_| OnceLock::new()).collect(),
            waited: (0..jobs).map(|_| OnceLock::new()).collect(),
        }))
    }

    /// A worker started job `index` now.
    pub fn started(&self, index: usize) {
        let added = self.0.added[index]
            .get()
            .expect("a job starts after its add");
        let _ = self.0.waited[index].set(added.elapsed());
    }

    /// Adds every job with `add`: one at a time (`rate` 0: the next add waits until `done`
    /// has heard of the last job), or `rate` jobs a second on a fixed schedule, each add in
    /// flight on its own. Returns once `done` has heard of every job.
    pub async fn produce<F, Fut>(&self, rate: usize, done: &mut mpsc::UnboundedReceiver<()>, add: F)
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let jobs = self.0.added.len();
        if rate == 0 {
            for index in 0..jobs {
                self.0.added[index].set(Instant::now()).unwrap();
                add(index).await;
                done.recv().await.expect("the worker runs");
            }
            return;
        }
        let mut schedule = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        let mut adds = JoinSet::new();
        for index in 0..jobs {
            schedule.tick().await;
            self.0.added[index].set(Instant::now()).unwrap();
            adds.spawn(add(index));
        }
        while let Some(added) = adds.join_next().await {
            added.expect("an add succeeds");
        }
        for _ in 0..jobs {
            done.recv().await.expect("the worker runs");
        }
    }

    /// Prints the JSON line `bench/run.py` reads: latency percentiles in milliseconds.
    pub fn report(&self, implementation: &str, rate: usize) {
        let mut waited: Vec<f64> = self
            .0
            .waited
            .iter()
            .map(|w| w.get().expect("every job started").as_secs_f64() * 1e3)
            .collect();
        waited.sort_by(f64::total_cmp);
        let at =
            |q: f64| waited[((waited.len() as f64 * q).ceil() as usize).clamp(1, waited.len()) - 1];
        println!(
            "{}",
            serde_json::json!({
                "impl": implementation,
                "scenario": "pickup",
                "jobs": waited.len(),
                "rate": rate,
                "p50Ms": at(0.5),
                "p99Ms": at(0.99),
                "maxMs": at(1.0),
            })
        );
    }
}
