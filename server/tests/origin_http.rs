//! The HTTP origin against a real HTTP server the test starts (see `common::origin_server`):
//! files streamed into the zip byte for byte, progress in bytes, hostile names, errors that fail
//! at once or are retried, reuse of prepared archives, one fetch for concurrent jobs — also
//! across instances sharing Redis — and credentials that never follow a redirect elsewhere.

mod common;

use axum::http::StatusCode;
use common::{
    content, link_path,
    origin_server::{Behaviour, OriginServer},
    spawn_app, terminal, zip_entries, TestApp,
};
use serde_json::Value;
use std::{collections::HashMap, time::Duration};

const WAIT: Duration = Duration::from_secs(20);

async fn app_for(origin: &OriginServer, extra: &[(&str, &str)]) -> TestApp {
    let template = origin.url_template();
    let mut vars = vec![
        ("ORIGIN", "http"),
        ("ORIGIN_URL_TEMPLATE", template.as_str()),
        ("ORIGIN_READ_TIMEOUT_MS", "3000"),
        ("JOB_MAX_ATTEMPTS", "3"),
        // Tests poll often, all from one address.
        ("RATE_LIMIT_MAX_REQUESTS", "100000"),
    ];
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

/// The zip behind a completed job, as entry name → content.
async fn archive(app: &TestApp, done: &Value) -> HashMap<String, Vec<u8>> {
    let reply = app.get(&link_path(done)).await;
    assert_eq!(reply.status, StatusCode::OK);
    zip_entries(reply.body)
}

#[tokio::test]
async fn a_bundle_streams_byte_for_byte_with_byte_progress_and_safe_names() {
    let origin = OriginServer::start().await;
    let slow = content(1, 600_000);
    origin.set(
        20001,
        Behaviour::file(slow.clone(), Some("../../etc/passwd"))
            .slowly(6, Duration::from_millis(300)),
    );
    origin.set(
        20002,
        Behaviour::file(content(2, 1_000), Some("report.pdf")),
    );
    origin.set(
        20003,
        Behaviour::file(content(3, 2_000), Some("REPORT.pdf")),
    );
    origin.set(20004, Behaviour::file(content(4, 0), None));
    let app = app_for(&origin, &[]).await;
    let job_id = app
        .initiate(r#"{"file_ids": [20001, 20002, 20003, 20004]}"#)
        .await;

    let mut seen = Vec::new();
    let done = loop {
        let status = app.status(&job_id).await;
        if status["status"] == "processing" {
            assert_eq!(status["bytesTotal"], 603_000);
            assert_eq!(status["filesTotal"], 4);
            seen.push((
                status["bytesDone"].as_u64().unwrap(),
                status["progress"].as_u64().unwrap(),
                status["filesDone"].as_u64().unwrap(),
            ));
        }
        if terminal(&status) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        seen.windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1 && w[0].2 <= w[1].2),
        "bytes, percent and files only grow within the attempt: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(bytes, percent, _)| *bytes > 0 && *bytes < 600_000 && *percent > 0),
        "the slow file's bytes were visible as they arrived: {seen:?}"
    );

    let entries = archive(&app, &done).await;
    let expected: HashMap<String, Vec<u8>> = [
        ("passwd".to_owned(), slow),
        ("report.pdf".to_owned(), content(2, 1_000)),
        ("REPORT (2).pdf".to_owned(), content(3, 2_000)),
        ("file-20004".to_owned(), Vec::new()),
    ]
    .into_iter()
    .collect();
    assert_eq!(entries.len(), expected.len(), "{:?}", entries.keys());
    for (name, bytes) in &expected {
        assert!(
            entries.get(name) == Some(bytes),
            "entry {name:?} matches its source"
        );
    }
    for id in [20001, 20002, 20003, 20004] {
        assert_eq!(origin.gets(id), 1, "file {id} fetched once");
    }

    let check = app
        .post_json("/v1/download/check", r#"{"file_id": 20002}"#)
        .await
        .json();
    assert_eq!(check["sourceExists"], true);
    assert_eq!(check["sourceSize"], 1_000);
    assert_eq!(check["available"], false, "only the bundle was prepared");
    let missing = app
        .post_json("/v1/download/check", r#"{"file_id": 20404}"#)
        .await
        .json();
    assert_eq!(missing["sourceExists"], false);
    assert_eq!(missing["sourceSize"], Value::Null);
}

#[tokio::test]
async fn missing_and_forbidden_files_fail_at_once_without_spending_retries() {
    let origin = OriginServer::start().await;
    origin.set(20403, Behaviour::Status(403));
    origin.set(20410, Behaviour::Status(410));
    let app = app_for(&origin, &[]).await;
    let cases = [
        (20404, "File 20404 does not exist."),
        (20410, "File 20410 does not exist."),
        (
            20403,
            "Ferry is not allowed to read file 20403; ask the file's owner for access.",
        ),
    ];
    for (id, message) in cases {
        let job_id = app.initiate(&format!(r#"{{"file_id": {id}}}"#)).await;
        let done = app.wait_for(&job_id, WAIT, terminal).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["attempt"], 1, "no retry spent: {done}");
        assert_eq!(done["error"], message);
        assert_eq!(origin.gets(id), 0, "nothing was fetched");
    }
    // A file in a bundle does not exist: the whole job fails at once too.
    origin.set(20002, Behaviour::file(content(2, 10), None));
    let job_id = app.initiate(r#"{"file_ids": [20002, 20404]}"#).await;
    let done = app.wait_for(&job_id, WAIT, terminal).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["attempt"], 1);
    assert_eq!(done["error"], "File 20404 does not exist.");
    assert_eq!(
        origin.gets(20002),
        0,
        "no byte fetched before every file was found"
    );
}

#[tokio::test]
async fn server_errors_dropped_connections_and_short_bodies_are_retried() {
    let origin = OriginServer::start().await;
    let recovering = content(5, 5_000);
    origin.set(
        20503,
        Behaviour::FailFirst {
            times: 2,
            status: 503,
            content: recovering.clone(),
        },
    );
    origin.set(20500, Behaviour::Status(500));
    origin.set(
        20600,
        Behaviour::DropAfter {
            content: content(6, 300_000),
            after: 100_000,
        },
    );
    origin.set(
        20700,
        Behaviour::ShortBody {
            content: content(7, 1_000),
            announced: 5_000,
        },
    );
    let app = app_for(&origin, &[]).await;

    // Two 503s, then the file: completed on a later attempt, with the right bytes.
    let job_id = app.initiate(r#"{"file_id": 20503}"#).await;
    let retrying = app
        .wait_for(&job_id, WAIT, |s| s["status"] == "retrying")
        .await;
    assert_eq!(
        retrying["error"],
        "File 20503 could not be fetched from the file server."
    );
    let done = app.wait_for(&job_id, WAIT, terminal).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(archive(&app, &done).await["file-20503"], recovering);

    // Always failing in a way that may pass: every attempt is spent.
    for (id, message) in [
        (
            20500,
            "File 20500 could not be fetched from the file server.",
        ),
        (
            20600,
            "File 20600 could not be fetched from the file server.",
        ),
        (
            20700,
            "File 20700 could not be fetched from the file server.",
        ),
    ] {
        let job_id = app.initiate(&format!(r#"{{"file_id": {id}}}"#)).await;
        let done = app.wait_for(&job_id, WAIT, terminal).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["attempt"], 3, "every attempt was spent: {done}");
        assert_eq!(done["error"], message);
        let check = app
            .post_json("/v1/download/check", &format!(r#"{{"file_id": {id}}}"#))
            .await;
        if id == 20500 {
            // The origin answers 500 to the check's look too: Ferry says so.
            assert_eq!(check.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(check.error_name(), "OriginUnavailable");
        } else {
            assert_eq!(
                check.json()["available"],
                false,
                "nothing of a broken file was stored"
            );
        }
    }
    assert_eq!(origin.gets(20600), 3, "one fetch per attempt");
}

#[tokio::test]
async fn a_prepared_file_is_reused_and_concurrent_jobs_fetch_it_once() {
    let origin = OriginServer::start().await;
    let first_version = content(10, 200_000);
    origin.set(
        20010,
        Behaviour::file(first_version.clone(), Some("data.csv"))
            .slowly(4, Duration::from_millis(250)),
    );
    let app = app_for(&origin, &[]).await;

    // Two jobs at once: one fetch; the second waits for the first's archive.
    let a = app.initiate(r#"{"file_id": 20010}"#).await;
    let b = app.initiate(r#"{"file_id": 20010}"#).await;
    let done_a = app.wait_for(&a, WAIT, terminal).await;
    let done_b = app.wait_for(&b, WAIT, terminal).await;
    assert_eq!(done_a["status"], "completed", "{done_a}");
    assert_eq!(done_b["status"], "completed", "{done_b}");
    assert_eq!(origin.gets(20010), 1, "two concurrent jobs, one fetch");
    assert_eq!(archive(&app, &done_b).await["data.csv"], first_version);

    // Later, the same unchanged file: ready without fetching, by the page's first 2 s poll.
    let heads_before = origin.heads(20010);
    let c = app.initiate(r#"{"file_id": 20010}"#).await;
    let done_c = app.wait_for(&c, Duration::from_secs(2), terminal).await;
    assert_eq!(done_c["status"], "completed", "{done_c}");
    assert_eq!(origin.gets(20010), 1, "reused, not fetched again");
    assert!(
        origin.heads(20010) > heads_before,
        "the version was checked"
    );
    let metrics = String::from_utf8(app.get("/metrics").await.body).unwrap();
    let counted = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(counted("ferry_archives_reused_total ") >= 2.0, "{metrics}");
    assert!(
        counted("ferry_origin_bytes_total ") >= 200_000.0,
        "{metrics}"
    );

    // The file changes at the origin: the next job fetches the new version.
    let second_version = content(11, 1_000);
    origin.set(
        20010,
        Behaviour::file(second_version.clone(), Some("data.csv")),
    );
    let d = app.initiate(r#"{"file_id": 20010}"#).await;
    let done_d = app.wait_for(&d, WAIT, terminal).await;
    assert_eq!(done_d["status"], "completed", "{done_d}");
    assert_eq!(origin.gets(20010), 2);
    assert_eq!(archive(&app, &done_d).await["data.csv"], second_version);
}

#[tokio::test]
async fn a_job_waiting_for_another_fetches_itself_when_that_one_is_cancelled() {
    let origin = OriginServer::start().await;
    let bytes = content(12, 100_000);
    origin.set(
        20012,
        Behaviour::file(bytes.clone(), None).slowly(10, Duration::from_millis(300)),
    );
    let app = app_for(&origin, &[]).await;
    let first = app.initiate(r#"{"file_id": 20012}"#).await;
    app.wait_for(&first, WAIT, |s| s["bytesDone"].as_u64() > Some(0))
        .await;
    let second = app.initiate(r#"{"file_id": 20012}"#).await;
    app.wait_for(&second, WAIT, |s| s["status"] == "processing")
        .await;
    assert_eq!(
        app.delete(&format!("/v1/download/{first}")).await.status,
        StatusCode::OK
    );
    let done = app.wait_for(&second, WAIT, terminal).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(archive(&app, &done).await["file-20012"], bytes);
    assert_eq!(
        origin.gets(20012),
        2,
        "the cancelled job's fetch, then the waiting job's own"
    );
}

#[tokio::test]
async fn instances_sharing_redis_fetch_a_file_once() {
    let origin = OriginServer::start().await;
    let bytes = content(13, 100_000);
    origin.set(
        20013,
        Behaviour::file(bytes.clone(), None).slowly(4, Duration::from_millis(250)),
    );
    let shared_dir = tempfile::tempdir().unwrap();
    let results = shared_dir.path().display().to_string();
    let prefix = format!("ferry-test-origin-{}", std::process::id());
    let shared = [
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("QUEUE_PREFIX", prefix.as_str()),
        ("LOCAL_STORAGE_DIR", results.as_str()),
        ("WORKER_CONCURRENCY", "1"),
    ];
    let one = app_for(&origin, &shared).await;
    let two = app_for(&origin, &shared).await;
    let jobs = [
        one.initiate(r#"{"file_id": 20013}"#).await,
        two.initiate(r#"{"file_id": 20013}"#).await,
    ];
    for job in &jobs {
        let done = one.wait_for(job, WAIT, terminal).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(archive(&two, &done).await["file-20013"], bytes);
    }
    assert_eq!(origin.gets(20013), 1, "one fetch for both instances");
}

#[tokio::test]
async fn credentials_are_sent_and_never_follow_a_redirect_to_another_host() {
    let origin = OriginServer::start().await;
    origin.require_header("x-origin-key", "k-123");
    origin.set(20020, Behaviour::file(content(20, 500), None));
    // Same server, other host name: credentials must not go there.
    origin.set(
        20021,
        Behaviour::Redirect {
            location: format!("http://localhost:{}/files/20020", origin.port),
        },
    );
    origin.set(
        20022,
        Behaviour::Redirect {
            location: format!("http://127.0.0.1:{}/files/20020", origin.port),
        },
    );
    let app = app_for(&origin, &[("ORIGIN_AUTH_HEADER", "X-Origin-Key: k-123")]).await;
    for id in [20020, 20022] {
        let job_id = app.initiate(&format!(r#"{{"file_id": {id}}}"#)).await;
        let done = app.wait_for(&job_id, WAIT, terminal).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(archive(&app, &done).await.len(), 1);
    }
    let job_id = app.initiate(r#"{"file_id": 20021}"#).await;
    let done = app.wait_for(&job_id, WAIT, terminal).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempt"], 1);
    assert_eq!(done["error"], "The file server refused to send file 20021.");

    let without = app_for(&origin, &[]).await;
    let job_id = without.initiate(r#"{"file_id": 20020}"#).await;
    let done = without.wait_for(&job_id, WAIT, terminal).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["attempt"], 1, "access denied is permanent");
}
