//! What the bench binaries share: command-line flags and the measurement of a timed section.

use std::{collections::HashMap, time::Instant};

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
