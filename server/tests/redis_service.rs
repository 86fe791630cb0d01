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
