//! A quick no-op throughput check of a queue backend (the full side-by-side benchmarks live in
//! `bench/`): enqueue N jobs, then `concurrency` workers claim and complete them.
//!
//! `cargo run -p server --release --example queue_throughput -- [redis|memory] [jobs] [concurrency]`
//! Redis is `REDIS_URL` or 127.0.0.1:6379; the keys use a fresh prefix and expire after a minute.

use app::api::{FileId, JobId};
use ferry_server::queue::{
    memory::MemoryQueue, redis::RedisQueue, JobQueue, JobResult, NewJob, QueueSettings,
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = args.first().map_or("redis", String::as_str);
    let jobs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let settings = QueueSettings {
        result_ttl: Duration::from_secs(60),
        max_active_per_client: u32::MAX,
        ..QueueSettings::default()
    };
    let queue: Arc<dyn JobQueue> = match backend {
        "memory" => Arc::new(MemoryQueue::new(settings)),
        _ => {
            let url =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
            let prefix = format!("ferry-bench-{}", JobId::generate());
            Arc::new(RedisQueue::connect(&url, &prefix, settings).expect("valid REDIS_URL"))
        }
    };

    let started = Instant::now();
    let per_task = jobs.div_ceil(concurrency);
    let adders: Vec<_> = (0..concurrency)
        .map(|task| {
            let queue = queue.clone();
            tokio::spawn(async move {
                for n in 0..per_task.min(jobs.saturating_sub(task * per_task)) {
                    let file_id = FileId::new(10_000 + ((task * per_task + n) as u64)).unwrap();
                    let job = NewJob {
                        client: format!("198.51.100.{}", task % 100),
                        file_ids: vec![file_id],
                        origin_params: String::new(),
                        trace_parent: None,
                    };
                    queue.enqueue(job, None).await.unwrap();
                }
            })
        })
        .collect();
    for adder in adders {
        adder.await.unwrap();
    }
    let enqueue_time = started.elapsed();

    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut done = 0usize;
                // As the worker pool does: claim once, then each completion claims the next job.
                let mut next = queue.claim(1).await.unwrap().first();
                while let Some(job) = next {
                    let result = JobResult {
                        key: ferry_server::storage::ObjectKey::parse("downloads/bench.zip")
                            .unwrap(),
                        size: 0,
                    };
                    next = queue
                        .complete_and_claim(&job.lease, result)
                        .await
                        .unwrap()
                        .first();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut processed = 0;
    for worker in workers {
        processed += worker.await.unwrap();
    }
    let process_time = started.elapsed();
    assert_eq!(processed, jobs, "every job processed exactly once");
    println!(
        "{backend}: {jobs} jobs, concurrency {concurrency}: enqueue {:.0} jobs/s, claim+complete {:.0} jobs/s",
        jobs as f64 / enqueue_time.as_secs_f64(),
        jobs as f64 / process_time.as_secs_f64()
    );
}
