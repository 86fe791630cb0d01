//! Whole downloads through the running application: queue, workers, archive, storage, links.

mod common;

use axum::http::StatusCode;
use common::{link_path, spawn_app, TestApp};
use ferry_server::origin::simulated::{entry_name, generated_content, DEFAULT_FILE_BYTES};
use serde_json::Value;
use std::{io::Read, time::Duration};

fn file_id(raw: u64) -> app::api::FileId {
    app::api::FileId::new(raw).unwrap()
}

/// Fetches a completed job's link (through the router) and opens it as a zip.
async fn download(app: &TestApp, status: &Value) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    let reply = app.get(&link_path(status)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/zip");
    assert!(reply.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
    assert_eq!(reply.body.len() as u64, status["size"].as_u64().unwrap());
    zip::ZipArchive::new(std::io::Cursor::new(reply.body)).expect("a valid zip")
}

fn entry(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, id: u64) -> Vec<u8> {
    let mut content = Vec::new();
    archive
        .by_name(&entry_name(file_id(id)))
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    content
}

#[tokio::test]
async fn a_download_progresses_completes_and_its_link_serves_the_zip() {
    let app = spawn_app(&[
        ("DOWNLOAD_DELAY_MIN_MS", "1000"),
        ("DOWNLOAD_DELAY_MAX_MS", "1000"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;

    let mut progress_seen = Vec::new();
    let mut bytes_seen = Vec::new();
    let done = app
        .wait_for(&job_id, Duration::from_secs(15), |s| {
            s["status"] == "completed"
        })
        .await;
    // Progress is visible while processing: poll a second job to watch it rise.
    let second = app.initiate(r#"{"file_id": 23456}"#).await;
    let finished = loop {
        let s = app.status(&second).await;
        if s["status"] == "processing" {
            progress_seen.push(s["progress"].as_u64().unwrap());
            bytes_seen.push(s["bytesDone"].as_u64().unwrap());
            assert!(s["startedAt"].is_string());
            assert_eq!(s["bytesTotal"], DEFAULT_FILE_BYTES);
            assert_eq!(s["filesTotal"], 1);
        }
        if s["status"] == "completed" {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        progress_seen.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {progress_seen:?}"
    );
    assert!(
        progress_seen.iter().any(|p| *p > 0 && *p < 100),
        "intermediate progress was visible: {progress_seen:?}"
    );
    assert!(
        bytes_seen.windows(2).all(|w| w[0] <= w[1]),
        "bytes never go back: {bytes_seen:?}"
    );
    assert!(
        bytes_seen.iter().any(|b| *b > 0 && *b < DEFAULT_FILE_BYTES),
        "bytes were counted as they arrived: {bytes_seen:?}"
    );
    assert_eq!(finished["progress"], 100);

    assert_eq!(done["progress"], 100);
    assert!(done["completedAt"].as_str().unwrap().ends_with('Z'));
    assert!(done["urlExpiresAt"].is_string());
    let check = app
        .post_json("/v1/download/check", r#"{"file_id": 12345}"#)
        .await;
    assert_eq!(check.status, StatusCode::OK);
    assert_eq!(
        check.json(),
        serde_json::json!({"file_id": 12345, "available": true,
            "s3Key": "downloads/12345.zip", "size": done["size"],
            "sourceExists": true, "sourceSize": DEFAULT_FILE_BYTES})
    );
    let unknown = app
        .post_json("/v1/download/check", r#"{"file_id": 99999}"#)
        .await
        .json();
    assert_eq!(unknown["available"], false);
    assert_eq!(unknown["s3Key"], Value::Null);

    let mut archive = download(&app, &done).await;
    assert_eq!(archive.len(), 1);
    assert_eq!(
        entry(&mut archive, 12345),
        generated_content(file_id(12345), DEFAULT_FILE_BYTES as usize)
    );
}

#[tokio::test]
async fn a_bundle_downloads_one_zip_with_every_file() {
    let app = spawn_app(&[]).await;
    let job_id = app.initiate(r#"{"file_ids": [12345, 23456, 34567]}"#).await;
    let done = app
        .wait_for(&job_id, Duration::from_secs(15), |s| {
            s["status"] == "completed"
        })
        .await;
    let url = done["url"].as_str().unwrap();
    assert!(
        url.contains("/bundles/") && url.contains("/ferry-3-files.zip"),
        "{url}"
    );
    assert!(
        !url.contains(&job_id),
        "a download link does not give away the job id: {url}"
    );
    let mut archive = download(&app, &done).await;
    assert_eq!(archive.len(), 3);
    for id in [12345, 23456, 34567] {
        assert_eq!(
            entry(&mut archive, id),
            generated_content(file_id(id), DEFAULT_FILE_BYTES as usize)
        );
    }
}

#[tokio::test]
async fn a_failing_file_is_retried_with_backoff_then_fails() {
    let app = spawn_app(&[
        ("SIMULATED_FAILURE_FILE_IDS", "66666"),
        ("JOB_MAX_ATTEMPTS", "3"),
        ("RETRY_BACKOFF_BASE_MS", "300"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 66666}"#).await;
    let retrying = app
        .wait_for(&job_id, Duration::from_secs(15), |s| {
            s["status"] == "retrying"
        })
        .await;
    assert_eq!(retrying["attempt"], 2);
    assert_eq!(retrying["maxAttempts"], 3);
    assert!(retrying["nextAttemptAt"].is_string());
    assert!(retrying["error"].as_str().unwrap().contains("66666"));

    let failed = app
        .wait_for(&job_id, Duration::from_secs(20), |s| {
            s["status"] == "failed"
        })
        .await;
    assert_eq!(failed["attempt"], 3);
    assert!(failed["error"]
        .as_str()
        .unwrap()
        .contains("could not be fetched"));
    assert!(failed["failedAt"].is_string());
}

#[tokio::test]
async fn cancelling_a_running_job_stops_it_for_good() {
    let app = spawn_app(&[
        ("DOWNLOAD_DELAY_MIN_MS", "3000"),
        ("DOWNLOAD_DELAY_MAX_MS", "3000"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    app.wait_for(&job_id, Duration::from_secs(10), |s| {
        s["status"] == "processing" && s["progress"].as_u64() > Some(0)
    })
    .await;
    let reply = app.delete(&format!("/v1/download/{job_id}")).await;
    assert_eq!(reply.status, StatusCode::OK);

    // The worker notices at its next step and must not overwrite the cancellation: watch for
    // longer than the job would have taken.
    for _ in 0..40 {
        let status = app.status(&job_id).await;
        assert_eq!(status["status"], "cancelled", "{status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_altered_or_expired_link_is_refused() {
    let app = spawn_app(&[("PRESIGN_TTL_SECS", "1")]).await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    let done = app
        .wait_for(&job_id, Duration::from_secs(15), |s| {
            s["status"] == "completed"
        })
        .await;
    let path = link_path(&done);

    let other_file = path.replace("12345.zip", "23456.zip");
    let tampered = app.get(&other_file).await;
    assert_eq!(tampered.status, StatusCode::FORBIDDEN);
    assert_eq!(tampered.error_name(), "LinkInvalid");

    let unsigned = app.get(path.split('?').next().unwrap()).await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);

    // The link lives one second; wait until it has expired.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let expired = loop {
        let reply = app.get(&path).await;
        if reply.status != StatusCode::OK {
            break reply;
        }
        assert!(tokio::time::Instant::now() < deadline, "link never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert_eq!(expired.error_name(), "LinkExpired");

    // Every status read signs a fresh link, so the job's link works again.
    let fresh = app.status(&job_id).await;
    assert_eq!(app.get(&link_path(&fresh)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn shutdown_releases_running_jobs_without_using_an_attempt() {
    let app = spawn_app(&[
        ("DOWNLOAD_DELAY_MIN_MS", "20000"),
        ("DOWNLOAD_DELAY_MAX_MS", "20000"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    app.wait_for(&job_id, Duration::from_secs(10), |s| {
        s["status"] == "processing"
    })
    .await;
    let shutdown = app.shutdown.clone();
    let router = app.router.clone();
    let stopped = app.stop();
    let router_after = tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("shutdown does not wait for the 20 s job");
    assert!(shutdown.is_cancelled());
    drop(router);

    // The queue lives on in the router's state: the job is back in line, attempt unused.
    use tower::ServiceExt;
    let response = router_after
        .oneshot(
            axum::http::Request::get(format!("/v1/download/status/{job_id}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let status: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status["status"], "queued");
    assert_eq!(status["attempt"], 1);
}
