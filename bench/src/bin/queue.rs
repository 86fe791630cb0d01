//! Queue throughput, one scenario per run, for Ferry's Redis queue or the BullMQ Rust port:
//!
//! `queue --impl ferry|bullmq-rs --redis URL --scenario add-one|add-bulk|fill|process|status
//!        --jobs N [--concurrency C] [--bulk-size 1000]`
//!
//! - `add-one`: N adds, each awaited before the next.
//! - `add-bulk`: N adds in chunks of `--bulk-size`. BullMQ has `addBulk`; Ferry has no bulk call,
//!   so its chunk is that many adds in flight at once on its one multiplexed connection — which
//!   is also how the Rust port's `add_bulk` sends its chunk.
//! - `fill`: `add-bulk`, as the set-up of `process`.
//! - `process`: C concurrent no-op consumers take the N filled jobs to completion. Ferry's
//!   consumer is its worker loop without the work: claim a job, then record each one completed
//!   while claiming the next in the same step.
//! - `status` (Ferry only): N status reads of one job, one after the other — what the console's
//!   commands-per-read check counts (`INFO commandstats` around it).
//! - `pickup`: the time from just before an add until a worker starts the job, for N jobs added
//!   one at a time (`--rate 0`: the next add waits until the job is done) or at `--rate` jobs a
//!   second. Ferry's worker is another `RedisQueue` than the producer's, so the wake-up crosses
//!   Redis as it does between instances (an instance's own initiate wakes its workers in
//!   process, which is faster). Adds `p50Ms`, `p99Ms` and `maxMs` to the line.
//!
//! Job records are kept on both sides (Ferry for `RESULT_TTL_SECS`, BullMQ by default). Prints
//! one JSON line: wall seconds and this process's CPU seconds of the timed section.

use app::api::FileId;
use bullmq::{
    options::RedisConnectionOptions, BulkJob, Job, Queue, QueueOptions, Worker, WorkerOptions,
};
use ferry_bench::{report, Clock, Flags, Measured, Pickup};
use ferry_server::queue::{redis::RedisQueue, JobQueue, JobResult, NewJob, QueueSettings};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::sync::mpsc;

/// The Ferry key prefix the benchmark uses (Redis is flushed between runs).
const FERRY_PREFIX: &str = "bench";
/// The BullMQ queue name.
const QUEUE: &str = "bench";

/// Jobs come from 100 clients (fair turns are part of what is measured); none hits the
/// per-client cap.
fn new_job(i: usize) -> NewJob {
    NewJob {
        client: format!("198.51.100.{}", i % 100),
        file_ids: vec![FileId::new(10_000 + i as u64).unwrap()],
        origin_params: String::new(),
        trace_parent: None,
    }
}

fn bullmq_data(i: usize) -> serde_json::Value {
    serde_json::json!({ "fileIds": [10_000 + i], "delayMs": 0 })
}

fn ferry_queue(redis: &str) -> Arc<RedisQueue> {
    Arc::new(
        RedisQueue::connect(
            redis,
            FERRY_PREFIX,
            QueueSettings {
                max_active_per_client: u32::MAX,
                ..QueueSettings::default()
            },
        )
        .expect("a Redis URL"),
    )
}

/// The index `new_job` gave a job, from its one file id.
fn job_index(file_ids: &[FileId]) -> usize {
    (file_ids[0].get() - 10_000) as usize
}

fn done_result() -> JobResult {
    JobResult {
        key: ferry_server::storage::ObjectKey::parse("downloads/bench.zip").unwrap(),
        size: 0,
    }
}

async fn ferry(
    redis: &str,
    scenario: &str,
    jobs: usize,
    concurrency: usize,
    bulk: usize,
) -> Measured {
    let queue = ferry_queue(redis);
    queue.ping().await.expect("Redis answers");
    match scenario {
        "add-one" => {
            let clock = Clock::start();
            for i in 0..jobs {
                queue.enqueue(new_job(i), None).await.unwrap();
            }
            clock.stop()
        }
        "add-bulk" | "fill" => {
            let clock = Clock::start();
            for start in (0..jobs).step_by(bulk) {
                let chunk = (start..(start + bulk).min(jobs)).map(|i| {
                    let queue = queue.clone();
                    async move { queue.enqueue(new_job(i), None).await.map(|_| ()) }
                });
                for added in futures::future::join_all(chunk).await {
                    added.unwrap();
                }
            }
            clock.stop()
        }
        "process" => {
            let depth = queue.depth().await.unwrap();
            assert!(depth.waiting as usize >= jobs, "fill the queue first");
            let done = Arc::new(AtomicUsize::new(0));
            let clock = Clock::start();
            let consumers: Vec<_> = (0..concurrency)
                .map(|_| {
                    let queue = queue.clone();
                    let done = done.clone();
                    tokio::spawn(async move {
                        while done.load(Ordering::Relaxed) < jobs {
                            let Some(job) = queue.claim(1).await.unwrap().first() else {
                                queue.wait_for_work(Duration::from_millis(50)).await;
                                continue;
                            };
                            // As the worker pool does: completing a job claims the next one.
                            let mut next = Some(job);
                            while let Some(job) = next {
                                next = queue
                                    .complete_and_claim(&job.lease, done_result())
                                    .await
                                    .unwrap()
                                    .first();
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    })
                })
                .collect();
            for consumer in consumers {
                consumer.await.unwrap();
            }
            let measured = clock.stop();
            assert_eq!(done.load(Ordering::Relaxed), jobs, "each job exactly once");
            measured
        }
        "status" => {
            let job = queue.enqueue(new_job(0), None).await.unwrap().record.id;
            let clock = Clock::start();
            for _ in 0..jobs {
                queue.status(job).await.unwrap().expect("the job exists");
            }
            clock.stop()
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// `pickup` for Ferry: one consumer as the worker pool runs it (claim; when nothing waits, wait
/// for work for up to the pool's idle poll), on a queue of its own.
async fn ferry_pickup(redis: &str, jobs: usize, rate: usize) -> Pickup {
    let producer = ferry_queue(redis);
    let consumer = ferry_queue(redis);
    producer.ping().await.expect("Redis answers");
    consumer.ping().await.expect("Redis answers");
    let pickup = Pickup::new(jobs);
    let (done, mut done_rx) = mpsc::unbounded_channel();
    let worker = {
        let pickup = pickup.clone();
        tokio::spawn(async move {
            let mut seen = 0;
            while seen < jobs {
                let Some(job) = consumer.claim(1).await.unwrap().first() else {
                    consumer.wait_for_work(Duration::from_millis(500)).await;
                    continue;
                };
                let mut next = Some(job);
                while let Some(job) = next {
                    let index = job_index(&job.file_ids);
                    pickup.started(index);
                    seen += 1;
                    next = consumer
                        .complete_and_claim(&job.lease, done_result())
                        .await
                        .unwrap()
                        .first();
                    done.send(()).unwrap();
                }
            }
        })
    };
    // Let the consumer reach its wait before the first add.
    tokio::time::sleep(Duration::from_millis(200)).await;
    pickup
        .produce(rate, &mut done_rx, |i| {
            let producer = producer.clone();
            async move {
                producer.enqueue(new_job(i), None).await.unwrap();
            }
        })
        .await;
    worker.await.unwrap();
    pickup
}

fn bullmq_connection(redis: &str) -> RedisConnectionOptions {
    RedisConnectionOptions {
        url: redis.to_owned(),
        ..RedisConnectionOptions::default()
    }
}

async fn bullmq_rs(
    redis: &str,
    scenario: &str,
    jobs: usize,
    concurrency: usize,
    bulk: usize,
) -> Measured {
    let options = QueueOptions {
        connection: bullmq_connection(redis),
        ..QueueOptions::default()
    };
    let queue = Queue::with_options(QUEUE, options)
        .await
        .expect("Redis answers");
    match scenario {
        "add-one" => {
            let clock = Clock::start();
            for i in 0..jobs {
                queue.add("download", bullmq_data(i)).await.unwrap();
            }
            clock.stop()
        }
        "add-bulk" | "fill" => {
            let clock = Clock::start();
            for start in (0..jobs).step_by(bulk) {
                let chunk = (start..(start + bulk).min(jobs))
                    .map(|i| BulkJob::new("download", bullmq_data(i)))
                    .collect();
                queue.add_bulk(chunk).await.unwrap();
            }
            clock.stop()
        }
        "process" => {
            let waiting = queue.get_waiting_count().await.unwrap();
            assert!(waiting as usize >= jobs, "fill the queue first");
            let options = WorkerOptions {
                connection: bullmq_connection(redis),
                concurrency,
                ..WorkerOptions::default()
            };
            let clock = Clock::start();
            let worker = Worker::with_options(
                QUEUE,
                |_job: Job, _token| async move { Ok(serde_json::Value::Null) },
                options,
            )
            .await
            .unwrap();
            let mut completed = 0;
            while completed < jobs {
                match worker.next_event().await {
                    Some(bullmq::worker::WorkerEvent::Completed { .. }) => completed += 1,
                    Some(bullmq::worker::WorkerEvent::Failed { job_id, error }) => {
                        panic!("job {job_id} failed: {error}")
                    }
                    Some(_) => {}
                    None => panic!("the worker stopped after {completed} jobs"),
                }
            }
            let measured = clock.stop();
            worker.close(5_000).await.unwrap();
            measured
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// `pickup` for the Rust port: its `Worker` with default options, the processor noting when it
/// starts a job.
async fn bullmq_rs_pickup(redis: &str, jobs: usize, rate: usize) -> Pickup {
    let options = QueueOptions {
        connection: bullmq_connection(redis),
        ..QueueOptions::default()
    };
    let queue = Arc::new(
        Queue::with_options(QUEUE, options)
            .await
            .expect("Redis answers"),
    );
    let pickup = Pickup::new(jobs);
    let options = WorkerOptions {
        connection: bullmq_connection(redis),
        ..WorkerOptions::default()
    };
    let worker = {
        let pickup = pickup.clone();
        Arc::new(
            Worker::with_options(
                QUEUE,
                move |job: Job, _token| {
                    let pickup = pickup.clone();
                    async move {
                        let index = job.data()["index"].as_u64().unwrap() as usize;
                        pickup.started(index);
                        Ok(serde_json::Value::Null)
                    }
                },
                options,
            )
            .await
            .unwrap(),
        )
    };
    // A job is done when the worker says it completed.
    let (done, mut done_rx) = mpsc::unbounded_channel();
    let events = {
        let worker = worker.clone();
        tokio::spawn(async move {
            let mut completed = 0;
            while completed < jobs {
                match worker.next_event().await {
                    Some(bullmq::worker::WorkerEvent::Completed { .. }) => {
                        completed += 1;
                        done.send(()).unwrap();
                    }
                    Some(bullmq::worker::WorkerEvent::Failed { job_id, error }) => {
                        panic!("job {job_id} failed: {error}")
                    }
                    Some(_) => {}
                    None => panic!("the worker stopped after {completed} jobs"),
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    pickup
        .produce(rate, &mut done_rx, |i| {
            let queue = queue.clone();
            async move {
                let mut data = bullmq_data(i);
                data["index"] = i.into();
                queue.add("download", data).await.unwrap();
            }
        })
        .await;
    events.await.unwrap();
    worker.close(5_000).await.unwrap();
    pickup
}

#[tokio::main]
async fn main() {
    let flags = Flags::from_args();
    let implementation = flags.required("impl").to_owned();
    let redis = flags.required("redis").to_owned();
    let scenario = flags.required("scenario").to_owned();
    let jobs = flags.number("jobs", 20_000);
    let concurrency = flags.number("concurrency", 1);
    let bulk = flags.number("bulk-size", 1_000);
    if scenario == "pickup" {
        let rate = flags.number("rate", 0);
        let pickup = match implementation.as_str() {
            "ferry" => ferry_pickup(&redis, jobs, rate).await,
            "bullmq-rs" => bullmq_rs_pickup(&redis, jobs, rate).await,
            other => panic!("unknown --impl {other}"),
        };
        pickup.report(&implementation, rate);
        return;
    }
    let measured = match implementation.as_str() {
        "ferry" => ferry(&redis, &scenario, jobs, concurrency, bulk).await,
        "bullmq-rs" => bullmq_rs(&redis, &scenario, jobs, concurrency, bulk).await,
        other => panic!("unknown --impl {other}"),
    };
    let concurrency = (scenario == "process").then_some(concurrency);
    report(&implementation, &scenario, jobs, concurrency, &measured);
}
