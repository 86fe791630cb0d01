//! The whole service on the Redis queue: downloads complete, an outage answers 503 quickly, and
//! Ferry recovers by itself when Redis comes back, without losing jobs.

mod common;

use app::api::JobId;
use axum::http::StatusCode;
use common::{redis_server::RedisServer, spawn_app};
use std::time::{Duration, Instant};

fn shared_redis_url() -> String {
    std::env::var("FERRY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique_prefix() -> String {
    format!("ferry-test-{}", JobId::generate())
}

#[tokio::test]
async fn a_download_completes_on_the_redis_queue() {
    let (url, prefix) = (shared_redis_url(), unique_prefix());
    let app = spawn_app(&[("REDIS_URL", &url), ("QUEUE_PREFIX", &prefix)]).await;
    let job_id = app.initiate(r#"{"file_ids": [12345, 23456]}"#).await;
    let done = app
        .wait_for(&job_id, Duration::from_secs(15), |s| {
            s["status"] == "completed"
        })
        .await;
    assert_eq!(done["fileIds"], serde_json::json!([12345, 23456]));
    let zip = app.get(&common::link_path(&done)).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.body.len() as u64, done["size"].as_u64().unwrap());

    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn a_redis_outage_answers_503_quickly_and_the_service_recovers_alone() {
    let mut redis = RedisServer::start();
    let app = spawn_app(&[
        ("REDIS_URL", &redis.url()),
        ("DOWNLOAD_DELAY_MIN_MS", "1500"),
        ("DOWNLOAD_DELAY_MAX_MS", "1500"),
    ])
    .await;
    let before = app.initiate(r#"{"file_id": 12345}"#).await;

    redis.stop();
    let started = Instant::now();
    let refused = app
        .post_json("/v1/download/initiate", r#"{"file_id": 23456}"#)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(refused.error_name(), "QueueUnavailable");
    assert!(refused.headers.contains_key("retry-after"));
    let status = app.get(&format!("/v1/download/status/{before}")).await;
    assert_eq!(status.status, StatusCode::SERVICE_UNAVAILABLE);
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["checks"]["queue"], "error");

    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    let after = loop {
        let reply = app
            .post_json("/v1/download/initiate", r#"{"file_id": 23456}"#)
            .await;
        if reply.status == StatusCode::ACCEPTED {
            break reply.json()["jobId"].as_str().unwrap().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "Ferry did not recover: {}",
            reply.json()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for job_id in [before, after] {
        app.wait_for(&job_id, Duration::from_secs(30), |s| {
            s["status"] == "completed"
        })
        .await;
    }
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_redis_restart_mid_run_loses_no_job() {
    let mut redis = RedisServer::start();
    let app = spawn_app(&[
        ("REDIS_URL", &redis.url()),
        ("WORKER_CONCURRENCY", "3"),
        ("DOWNLOAD_DELAY_MIN_MS", "400"),
        ("DOWNLOAD_DELAY_MAX_MS", "800"),
    ])
    .await;
    let mut jobs = Vec::new();
    for n in 0..12 {
        jobs.push(
            app.initiate(&format!(r#"{{"file_id": {}}}"#, 30_000 + n))
                .await,
        );
    }
    // Restart while some jobs are queued and some are running.
    app.wait_for(&jobs[0], Duration::from_secs(10), |s| {
        s["status"] == "processing"
    })
    .await;
    redis.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.start_again();

    for job_id in &jobs {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reply = app.get(&format!("/v1/download/status/{job_id}")).await;
            if reply.status == StatusCode::OK && reply.json()["status"] == "completed" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "job {job_id} never completed: {}",
                String::from_utf8_lossy(&reply.body)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `INFO memory`'s `used_memory` of the server at `url`, in bytes.
async fn used_memory(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut connection)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO memory has used_memory")
}

async fn set_maxmemory(url: &str, bytes: u64) {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(bytes)
        .query_async(&mut connection)
        .await
        .unwrap();
}

/// Keys in the server's database, but for the per-minute counts of finished jobs (the console's
/// throughput: one small hash per minute, at most 120, each expiring after two hours).
async fn key_count(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let all: u64 = redis::cmd("DBSIZE")
        .query_async(&mut connection)
        .await
        .unwrap();
    let minutes: Vec<String> = redis::cmd("KEYS")
        .arg("*:minute:*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(minutes.len() <= 120, "{} minute counters", minutes.len());
    all - minutes.len() as u64
}

/// `count` jobs created and cancelled, from 200 clients, each with an idempotency key.
async fn create_and_cancel(
    queue: &ferry_server::queue::redis::RedisQueue,
    count: u64,
    mut sample: impl FnMut(),
) {
    use ferry_server::queue::{JobQueue, NewJob};
    for n in 0..count {
        let job = NewJob {
            client: format!("198.51.100.{}", n % 200),
            file_ids: vec![app::api::FileId::new(10_000 + n).unwrap()],
            origin_params: String::new(),
            trace_parent: None,
        };
        let key = format!("key-{n}");
        let id = queue.enqueue(job, Some(&key)).await.unwrap().record.id;
        queue.cancel(id).await.unwrap();
        if n % 500 == 0 {
            sample();
        }
    }
}

/// Waits until the server holds at most `keys` keys again (records expiring).
async fn until_keys_at_most(url: &str, keys: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = key_count(url).await;
        if now <= keys {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{now} keys left, {keys} expected: cancelled records did not expire"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// 10,000 jobs created and cancelled: their records go after `FINISHED_RECORD_TTL_SECS`, so
/// Redis comes back to the keys and memory it had, instead of holding 10,000 records for a day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_and_cancel_flood_leaves_redis_memory_bounded() {
    use ferry_server::queue::{redis::RedisQueue, QueueSettings};
    let redis = RedisServer::start();
    let url = redis.url();
    let queue = RedisQueue::connect(
        &url,
        "flood",
        QueueSettings {
            finished_record_ttl: Duration::from_secs(1),
            ..QueueSettings::default()
        },
    )
    .unwrap();
    // Warm up (scripts loaded, the capped wake-up list full), then measure from there.
    create_and_cancel(&queue, 1_000, || {}).await;
    until_keys_at_most(&url, 1).await;
    let baseline_keys = key_count(&url).await;
    let baseline = used_memory(&url).await;

    let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = {
        let samples = samples.clone();
        let url = url.clone();
        tokio::spawn(async move {
            loop {
                let memory = used_memory(&url).await;
                samples.lock().unwrap().push(memory);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let started = Instant::now();
    create_and_cancel(&queue, 10_000, || {}).await;
    let flood_time = started.elapsed();
    sampler.abort();
    let peak = samples
        .lock()
        .unwrap()
        .iter()
        .copied()
        .max()
        .unwrap_or(baseline);
    until_keys_at_most(&url, baseline_keys).await;
    let settled = used_memory(&url).await;
    println!(
        "create+cancel x10000 in {flood_time:?}: used_memory {baseline} B before, peak {peak} B \
         (+{} KiB), {settled} B after; keys {baseline_keys} before and after",
        peak.saturating_sub(baseline) / 1024
    );
    assert!(
        peak < baseline + 16 * 1024 * 1024,
        "the flood held {} bytes at its peak",
        peak - baseline
    );
    assert!(
        settled < baseline + 512 * 1024,
        "memory did not come back: {settled} bytes, {baseline} before the flood"
    );
}

/// A Redis at its `maxmemory` refuses new jobs with a clear 503 while the jobs it already holds
/// run to completion; once memory is available again, Ferry accepts jobs by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_redis_refuses_new_jobs_with_a_503_and_finishes_accepted_ones() {
    let redis = RedisServer::start();
    let app = spawn_app(&[
        ("REDIS_URL", &redis.url()),
        ("DOWNLOAD_DELAY_MIN_MS", "1000"),
        ("DOWNLOAD_DELAY_MAX_MS", "1000"),
        ("WORKER_CONCURRENCY", "2"),
    ])
    .await;
    let mut accepted = Vec::new();
    for file_id in [12345, 23456, 34567] {
        accepted.push(app.initiate(&format!(r#"{{"file_id": {file_id}}}"#)).await);
    }
    // Full: the limit is below what Redis already uses.
    set_maxmemory(&redis.url(), used_memory(&redis.url()).await / 2).await;
    {
        use ferry_server::queue::{redis::RedisQueue, JobQueue, NewJob, QueueError};
        let queue = RedisQueue::connect(&redis.url(), "direct", Default::default()).unwrap();
        let job = NewJob {
            client: "203.0.113.7".into(),
            file_ids: vec![app::api::FileId::new(45678).unwrap()],
            origin_params: String::new(),
            trace_parent: None,
        };
        let depth = queue.depth().await;
        assert!(depth.is_ok(), "reads go on while Redis is full: {depth:?}");
        let refused = queue.enqueue(job, None).await;
        assert!(
            matches!(refused, Err(QueueError::OutOfMemory(_))),
            "{refused:?}"
        );
    }
    let refused = app
        .post_json("/v1/download/initiate", r#"{"file_id": 45678}"#)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.error_name(), "QueueOutOfMemory");
    assert!(refused.headers.contains_key("retry-after"));
    let message = refused.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("Try again"), "{message}");
    for job_id in &accepted {
        app.wait_for(job_id, Duration::from_secs(30), |s| {
            s["status"] == "completed"
        })
        .await;
    }
    set_maxmemory(&redis.url(), 0).await;
    let again = app
        .post_json("/v1/download/initiate", r#"{"file_id": 45678}"#)
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.json());
}
