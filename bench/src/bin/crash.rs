//! Crash recovery with the BullMQ Rust port and its default lock and stall settings:
//!
//! - `crash worker --redis URL --name A`: a worker (concurrency 1) whose jobs take 10 s; prints a
//!   JSON line when ready and when it starts or completes a job.
//! - `crash add --redis URL`: adds one job and exits.
//!
//! `bench/run.py` kills a worker 2 s into its job and times how long until another starts it.

use bullmq::{options::RedisConnectionOptions, Job, Queue, QueueOptions, Worker, WorkerOptions};
use ferry_bench::Flags;
use std::{
    io::Write,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const QUEUE: &str = "crash";

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn event(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}").unwrap();
    out.flush().unwrap();
}

#[tokio::main]
async fn main() {
    let role = std::env::args().nth(1).expect("worker or add");
    let flags = Flags::from_args();
    let connection = RedisConnectionOptions {
        url: flags.required("redis").to_owned(),
        ..RedisConnectionOptions::default()
    };
    match role.as_str() {
        "add" => {
            let options = QueueOptions {
                connection,
                ..QueueOptions::default()
            };
            let queue = Queue::with_options(QUEUE, options).await.unwrap();
            let job = queue
                .add(
                    "download",
                    serde_json::json!({"fileIds": [12345], "delayMs": 10_000}),
                )
                .await
                .unwrap();
            event(serde_json::json!({"event": "added", "jobId": job.id(), "t": now_ms() as u64}));
        }
        "worker" => {
            let name = flags.required("name").to_owned();
            let options = WorkerOptions {
                connection,
                concurrency: 1,
                ..WorkerOptions::default()
            };
            let worker_name = name.clone();
            let worker = Worker::with_options(
                QUEUE,
                move |job: Job, _token| {
                    let name = worker_name.clone();
                    async move {
                        event(serde_json::json!({
                            "event": "started", "worker": name, "jobId": job.id(),
                            "t": now_ms() as u64,
                        }));
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        Ok(serde_json::Value::Null)
                    }
                },
                options,
            )
            .await
            .unwrap();
            event(serde_json::json!({"event": "ready", "worker": name, "t": now_ms() as u64}));
            while let Some(happened) = worker.next_event().await {
                if let bullmq::worker::WorkerEvent::Completed { job_id, .. } = happened {
                    event(serde_json::json!({
                        "event": "completed", "worker": name, "jobId": job_id,
                        "t": now_ms() as u64,
                    }));
                }
            }
        }
        other => panic!("unknown role {other}"),
    }
}
