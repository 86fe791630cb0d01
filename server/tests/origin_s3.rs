//! The S3 origin against a real S3 server (SeaweedFS): objects seeded by the test — small,
//! 100 MiB, missing, and one the configured identity may not read — streamed into a result in
//! the S3 result bucket (multipart, no temporary file), byte for byte, with byte progress.

mod common;

use axum::http::StatusCode;
use common::{
    content, http_get,
    s3_server::{S3Server, STRANGER_ACCESS_KEY, STRANGER_SECRET_KEY},
    spawn_app, terminal, zip_entries, TestApp,
};
use std::time::Duration;

const SOURCE: &str = "ferry-source";
const RESULTS: &str = "ferry-results";
const MIB: usize = 1024 * 1024;

async fn seed(s3: &S3Server, files: &[(u64, &[u8])]) {
    let client = s3.client();
    client.create_bucket().bucket(SOURCE).send().await.unwrap();
    for (id, bytes) in files {
        client
            .put_object()
            .bucket(SOURCE)
            .key(format!("files/{id}"))
            .body(bytes.to_vec().into())
            .send()
            .await
            .unwrap();
    }
}

async fn app_on(s3: &S3Server, extra: &[(&str, &str)]) -> TestApp {
    let env = s3.env(RESULTS);
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.extend_from_slice(&[
        ("ORIGIN", "s3"),
        ("ORIGIN_S3_BUCKET", SOURCE),
        ("JOB_MAX_ATTEMPTS", "3"),
        // Tests poll often, all from one address.
        ("RATE_LIMIT_MAX_REQUESTS", "100000"),
    ]);
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

#[tokio::test]
async fn objects_stream_from_the_source_bucket_into_the_result_bucket() {
    let s3 = S3Server::start();
    let small = content(1, 1_000);
    let large = content(2, 100 * MIB);
    seed(&s3, &[(30001, &small), (30002, &large)]).await;
    let app = app_on(&s3, &[]).await;

    let job_id = app.initiate(r#"{"file_ids": [30001, 30002]}"#).await;
    let mut seen = Vec::new();
    let done = loop {
        let status = app.status(&job_id).await;
        if status["status"] == "processing" {
            assert_eq!(status["bytesTotal"], 1_000 + 100 * MIB as u64);
            seen.push(status["bytesDone"].as_u64().unwrap());
        }
        if terminal(&status) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");

    let download = http_get(done["url"].as_str().unwrap()).await;
    assert_eq!(download.status, StatusCode::OK);
    let files = zip_entries(download.body);
    assert_eq!(files.len(), 2);
    assert!(files["30001"] == small, "the small object, byte for byte");
    assert!(files["30002"] == large, "the 100 MiB object, byte for byte");
    let uploads = s3
        .client()
        .list_multipart_uploads()
        .bucket(RESULTS)
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "no multipart upload left behind"
    );
}

#[tokio::test]
async fn a_single_object_is_reused_while_its_etag_holds() {
    let s3 = S3Server::start();
    seed(&s3, &[(30001, &content(1, 1_000))]).await;
    let app = app_on(&s3, &[]).await;
    let first = app.initiate(r#"{"file_id": 30001}"#).await;
    let done = app
        .wait_for(&first, Duration::from_secs(30), terminal)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let head = s3
        .client()
        .head_object()
        .bucket(RESULTS)
        .key("downloads/30001.zip")
        .send()
        .await
        .unwrap();
    let fingerprint = head.metadata().and_then(|m| m.get("ferry-source")).cloned();
    assert!(
        fingerprint.is_some(),
        "the result records its source: {:?}",
        head.metadata()
    );

    let check = app
        .post_json("/v1/download/check", r#"{"file_id": 30001}"#)
        .await
        .json();
    assert_eq!(check["available"], true);
    assert_eq!(check["sourceExists"], true);
    assert_eq!(check["sourceSize"], 1_000);

    // The object is replaced: the next job makes a new archive of the new bytes.
    let replaced = content(9, 2_000);
    s3.client()
        .put_object()
        .bucket(SOURCE)
        .key("files/30001")
        .body(replaced.clone().into())
        .send()
        .await
        .unwrap();
    let second = app.initiate(r#"{"file_id": 30001}"#).await;
    let done = app
        .wait_for(&second, Duration::from_secs(30), terminal)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let download = http_get(done["url"].as_str().unwrap()).await;
    assert!(zip_entries(download.body)["30001"] == replaced);
}

#[tokio::test]
async fn missing_and_unreadable_objects_fail_at_once() {
    let s3 = S3Server::start();
    seed(&s3, &[(30001, &content(1, 1_000))]).await;
    let app = app_on(&s3, &[]).await;
    let job_id = app.initiate(r#"{"file_id": 30404}"#).await;
    let done = app
        .wait_for(&job_id, Duration::from_secs(30), terminal)
        .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempt"], 1, "no retry spent");
    assert_eq!(done["error"], "File 30404 does not exist.");
    let check = app
        .post_json("/v1/download/check", r#"{"file_id": 30404}"#)
        .await
        .json();
    assert_eq!(check["sourceExists"], false);

    let stranger = app_on(
        &s3,
        &[
            ("ORIGIN_S3_ACCESS_KEY_ID", STRANGER_ACCESS_KEY),
            ("ORIGIN_S3_SECRET_ACCESS_KEY", STRANGER_SECRET_KEY),
        ],
    )
    .await;
    let job_id = stranger.initiate(r#"{"file_id": 30001}"#).await;
    let done = stranger
        .wait_for(&job_id, Duration::from_secs(30), terminal)
        .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempt"], 1, "no retry spent");
    assert_eq!(
        done["error"],
        "Ferry is not allowed to read file 30001; ask the file's owner for access."
    );
}
