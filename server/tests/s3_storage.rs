//! Results in a real S3 server (SeaweedFS): keys, types and sizes in the bucket, presigned links
//! that serve the exact bytes and refuse tampering and expiry, multipart for large results, and
//! an outage that the job's retries ride out.

mod common;

use axum::http::StatusCode;
use common::{http_get, s3_server::S3Server, spawn_app, TestApp};
use ferry_server::origin::simulated::{entry_name, generated_content, DEFAULT_FILE_BYTES};
use serde_json::Value;
use std::{io::Read, time::Duration};

async fn app_on(s3: &S3Server, extra: &[(&str, &str)]) -> TestApp {
    let env = s3.env("ferry-results");
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.extend_from_slice(extra);
    spawn_app(&vars).await
}

async fn bucket_client(s3: &S3Server) -> aws_sdk_s3::Client {
    s3.client()
}

fn open_zip(body: Vec<u8>) -> zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    zip::ZipArchive::new(std::io::Cursor::new(body)).expect("a valid zip")
}

fn entry(archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, id: u64) -> Vec<u8> {
    let mut content = Vec::new();
    archive
        .by_name(&entry_name(app::api::FileId::new(id).unwrap()))
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    content
}

async fn completed(app: &TestApp, job_id: &str) -> Value {
    app.wait_for(job_id, Duration::from_secs(60), |s| {
        s["status"] == "completed"
    })
    .await
}

#[tokio::test]
async fn a_result_lands_in_the_bucket_and_its_presigned_link_serves_the_exact_bytes() {
    let s3 = S3Server::start();
    let app = app_on(&s3, &[]).await;
    assert_eq!(app.get("/health").await.json()["checks"]["storage"], "ok");

    let before = app
        .post_json("/v1/download/check", r#"{"file_id": 12345}"#)
        .await
        .json();
    assert_eq!(before["available"], false);

    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    let done = completed(&app, &job_id).await;
    let url = done["url"].as_str().unwrap();
    assert!(url.starts_with(&s3.endpoint()), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");

    let head = bucket_client(&s3)
        .await
        .head_object()
        .bucket("ferry-results")
        .key("downloads/12345.zip")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/zip"));
    assert_eq!(head.content_length(), done["size"].as_i64());
    assert_eq!(
        head.content_disposition(),
        Some("attachment; filename=\"12345.zip\"")
    );

    let download = http_get(url).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.len() as u64, done["size"].as_u64().unwrap());
    let mut archive = open_zip(download.body);
    assert_eq!(
        entry(&mut archive, 12345),
        generated_content(
            app::api::FileId::new(12345).unwrap(),
            DEFAULT_FILE_BYTES as usize
        )
    );

    let check = app
        .post_json("/v1/download/check", r#"{"file_id": 12345}"#)
        .await
        .json();
    assert_eq!(check["available"], true);
    assert_eq!(check["s3Key"], "downloads/12345.zip");
    assert_eq!(check["size"], done["size"]);
}

#[tokio::test]
async fn the_s3_server_refuses_tampered_and_expired_links_and_the_stable_link_signs_anew() {
    let s3 = S3Server::start();
    let app = app_on(&s3, &[("PRESIGN_TTL_SECS", "1")]).await;
    let job_id = app.initiate(r#"{"file_id": 23456}"#).await;
    let done = completed(&app, &job_id).await;
    let url = done["url"].as_str().unwrap().to_owned();

    let tampered = url.replace("23456.zip", "12345.zip");
    assert_eq!(http_get(&tampered).await.status, StatusCode::FORBIDDEN);

    // The link lives one second: wait until the server calls it expired.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = http_get(&url).await.status;
        if status == StatusCode::FORBIDDEN {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(std::time::Instant::now() < deadline, "link never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A fresh poll signs a fresh link.
    let fresh = app.status(&job_id).await;
    assert_eq!(
        http_get(fresh["url"].as_str().unwrap()).await.status,
        StatusCode::OK
    );

    // So does the job's stable link, every time it is followed: 302 to a new presigned URL.
    let file = format!("/v1/download/{job_id}/file");
    assert_eq!(done["downloadUrl"], format!("http://ferry.test{file}"));
    let redirect = app.get(&file).await;
    assert_eq!(redirect.status, StatusCode::FOUND);
    let location = redirect.headers["location"].to_str().unwrap();
    assert!(location.starts_with(&s3.endpoint()), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert_ne!(location, url);
    let download = http_get(location).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.len() as u64, done["size"].as_u64().unwrap());

    // Once the object is gone (a lifecycle rule, an operator), the link says so: 410.
    bucket_client(&s3)
        .await
        .delete_object()
        .bucket("ferry-results")
        .key("downloads/23456.zip")
        .send()
        .await
        .unwrap();
    let gone = app.get(&file).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert_eq!(gone.error_name(), "ResultExpired");
}

#[tokio::test]
async fn a_64_mib_bundle_goes_up_in_parts_and_leaves_no_upload_behind() {
    const MIB: usize = 1024 * 1024;
    let s3 = S3Server::start();
    let app = app_on(&s3, &[("SIMULATED_FILE_SIZE_BYTES", "1048576")]).await;
    let ids: Vec<u64> = (50_000..50_065).collect();
    let job_id = app
        .initiate(&serde_json::json!({ "file_ids": ids }).to_string())
        .await;
    let done = completed(&app, &job_id).await;
    assert!(done["size"].as_u64().unwrap() > 64 * 1024 * 1024);

    let client = bucket_client(&s3).await;
    // The key is in the (path-style) link: bundles/<random>/ferry-65-files.zip.
    let url = done["url"].as_str().unwrap();
    let path = url.split('?').next().unwrap();
    let key = &path[path.find("bundles/").expect("a bundle key")..];
    assert!(
        key.ends_with("/ferry-65-files.zip") && !key.contains(&job_id),
        "{key}"
    );
    let head = client
        .head_object()
        .bucket("ferry-results")
        .key(key)
        .send()
        .await
        .unwrap();
    assert!(
        head.e_tag().unwrap_or_default().contains('-'),
        "a multipart ETag: {:?}",
        head.e_tag()
    );
    let uploads = client
        .list_multipart_uploads()
        .bucket("ferry-results")
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "no orphaned multipart uploads"
    );

    let download = http_get(done["url"].as_str().unwrap()).await;
    assert_eq!(download.status, StatusCode::OK);
    let mut archive = open_zip(download.body);
    assert_eq!(archive.len(), 65);
    for id in [50_000, 50_032, 50_064] {
        assert_eq!(
            entry(&mut archive, id),
            generated_content(app::api::FileId::new(id).unwrap(), MIB)
        );
    }
}

#[tokio::test]
async fn a_storage_outage_is_reported_and_ridden_out_by_retries() {
    let mut s3 = S3Server::start();
    let app = app_on(
        &s3,
        &[("RETRY_BACKOFF_BASE_MS", "1000"), ("JOB_MAX_ATTEMPTS", "8")],
    )
    .await;
    s3.stop();
    let health = app.get("/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["checks"]["storage"], "error");

    let job_id = app.initiate(r#"{"file_id": 34567}"#).await;
    let retrying = app
        .wait_for(&job_id, Duration::from_secs(60), |s| {
            s["status"] == "retrying"
        })
        .await;
    assert!(
        retrying["error"]
            .as_str()
            .unwrap()
            .starts_with("storage unavailable"),
        "{retrying}"
    );

    s3.start_again();
    completed(&app, &job_id).await;
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn links_are_signed_for_the_endpoint_browsers_reach() {
    let s3 = S3Server::start();
    // The server talks to 127.0.0.1; browsers are told to use "localhost" (as with a container
    // name inside compose and localhost outside).
    let public = s3.endpoint().replace("127.0.0.1", "localhost");
    let app = app_on(&s3, &[("S3_PUBLIC_ENDPOINT", &public)]).await;
    let job_id = app.initiate(r#"{"file_id": 45678}"#).await;
    let done = completed(&app, &job_id).await;
    let url = done["url"].as_str().unwrap();
    assert!(url.starts_with(&public), "{url}");
    // The signature covers the host: under the public name S3 serves the file …
    let download = http_get(url).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body.len() as u64, done["size"].as_u64().unwrap());
    // … and under another name it refuses the same link.
    let renamed = http_get(&url.replace("localhost", "127.0.0.1")).await;
    assert_eq!(renamed.status, StatusCode::FORBIDDEN);
}
