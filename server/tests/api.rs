//! The HTTP contract of docs/ARCHITECTURE.md, request by request, through the full router.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use common::spawn_app;
use serde_json::json;

fn is_ulid(text: &str) -> bool {
    text.parse::<app::api::JobId>().is_ok()
}

#[tokio::test]
async fn initiate_answers_202_with_a_job_id_and_its_status_location() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let reply = app
        .post_json("/v1/download/initiate", r#"{"file_id": 12345}"#)
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let body = reply.json();
    let job_id = body["jobId"].as_str().unwrap();
    assert!(is_ulid(job_id), "{job_id}");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["totalFileIds"], 1);
    assert_eq!(
        reply.headers["location"],
        format!("/v1/download/status/{job_id}").as_str()
    );

    let status = app.status(job_id).await;
    assert_eq!(status["status"], "queued");
    assert_eq!(status["progress"], 0);
    assert_eq!(status["attempt"], 1);
    assert_eq!(status["maxAttempts"], 4);
    assert_eq!(status["fileIds"], json!([12345]));
    assert!(status["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_bundle_request_counts_its_files() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let reply = app
        .post_json(
            "/v1/download/initiate",
            r#"{"file_ids": [12345, 23456, 34567]}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.json()["totalFileIds"], 3);
}

#[tokio::test]
async fn bad_bodies_get_a_json_error_never_a_5xx() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let too_many: Vec<u64> = (10_000..11_001).collect();
    let too_many = json!({ "file_ids": too_many }).to_string();
    let huge = format!(
        r#"{{"file_id": 12345, "padding": "{}"}}"#,
        "x".repeat(70_000)
    );
    let cases: Vec<(&str, &str, StatusCode, &str)> = vec![
        (
            r#"{"file_id": "12345"}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_id": 12345.5}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_id": -12345}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_id": 9999}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_id": 100000001}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_id": null}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_ids": []}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_ids": [12345, 12345]}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            &too_many,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_id": 12345, "file_ids": [23456]}"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"[12345]"#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
        ),
        (
            r#"{"file_id": "#,
            "application/json",
            StatusCode::BAD_REQUEST,
            "MalformedJson",
        ),
        (
            "",
            "application/json",
            StatusCode::BAD_REQUEST,
            "MalformedJson",
        ),
        (
            r#"{"file_id": 12345}"#,
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
        ),
        (
            &huge,
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
        ),
    ];
    for (body, content_type, expected_status, expected_error) in cases {
        let reply = app
            .send(
                Request::post("/v1/download/initiate")
                    .header("content-type", content_type)
                    .body(Body::from(body.to_owned()))
                    .unwrap(),
            )
            .await;
        let shown: String = body.chars().take(60).collect();
        assert_eq!(reply.status, expected_status, "body {shown:?}");
        assert_eq!(reply.error_name(), expected_error, "body {shown:?}");
    }

    let no_content_type = app
        .send(
            Request::post("/v1/download/initiate")
                .body(Body::from(r#"{"file_id": 12345}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(no_content_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(no_content_type.error_name(), "UnsupportedMediaType");
}

#[tokio::test]
async fn messages_say_what_to_send_instead() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let reply = app
        .post_json("/v1/download/initiate", r#"{"file_id": 5}"#)
        .await;
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("10000") && message.contains("100000000"),
        "{message}"
    );
}

#[tokio::test]
async fn status_rejects_malformed_ids_and_reports_unknown_ones() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let malformed = app.get("/v1/download/status/not-a-job").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.error_name(), "InvalidJobId");

    let unknown = app
        .get("/v1/download/status/01HQ3Z8M5X7Y9A2B4C6D8E0F1G")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_name(), "JobNotFound");
}

#[tokio::test]
async fn cancel_follows_the_job_lifecycle() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;

    let cancelled = app.delete(&format!("/v1/download/{job_id}")).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(
        cancelled.json(),
        json!({"jobId": job_id, "status": "cancelled"})
    );
    let status = app.status(&job_id).await;
    assert_eq!(status["status"], "cancelled");
    assert!(status["cancelledAt"].is_string());

    let again = app.delete(&format!("/v1/download/{job_id}")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_name(), "JobAlreadyFinished");

    let unknown = app.delete("/v1/download/01HQ3Z8M5X7Y9A2B4C6D8E0F1G").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = app.delete("/v1/download/12345").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.error_name(), "InvalidJobId");
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_job() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let request = |body: &'static str, key: &str| {
        Request::post("/v1/download/initiate")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(body))
            .unwrap()
    };
    let first = app.send(request(r#"{"file_id": 12345}"#, "k-1")).await;
    let second = app.send(request(r#"{"file_id": 12345}"#, "k-1")).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(second.status, StatusCode::ACCEPTED);
    assert_eq!(first.json()["jobId"], second.json()["jobId"]);

    let conflict = app.send(request(r#"{"file_id": 23456}"#, "k-1")).await;
    assert_eq!(conflict.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(conflict.error_name(), "IdempotencyConflict");

    let too_long = "k".repeat(256);
    let invalid = app.send(request(r#"{"file_id": 12345}"#, &too_long)).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert_eq!(invalid.error_name(), "InvalidIdempotencyKey");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let missing = app.get("/v1/nothing-here").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_name(), "NotFound");

    let wrong_method = app.get("/v1/download/initiate").await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.error_name(), "MethodNotAllowed");

    let post_to_missing = app.post_json("/v1/nothing-here", "{}").await;
    assert_eq!(post_to_missing.status, StatusCode::NOT_FOUND);
    assert_eq!(post_to_missing.error_name(), "NotFound");
}

#[tokio::test]
async fn a_client_request_id_is_echoed_in_header_and_error_body() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let reply = app
        .send(
            Request::get("/v1/download/status/nope")
                .header("x-request-id", "trace-me-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.headers["x-request-id"], "trace-me-123");
    assert_eq!(reply.json()["requestId"], "trace-me-123");

    let generated = app.get("/health").await;
    let id = generated.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID v4: {id}");
}

#[tokio::test]
async fn health_reports_every_dependency() {
    let app = spawn_app(&[]).await;
    let reply = app.get("/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"status": "healthy", "checks": {"storage": "ok", "queue": "ok"}})
    );

    std::fs::remove_dir_all(app.storage_dir.path().join("results")).unwrap();
    let broken = app.get("/health").await;
    assert_eq!(broken.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        broken.json(),
        json!({"status": "unhealthy", "checks": {"storage": "error", "queue": "ok"}})
    );
}

#[tokio::test]
async fn the_page_is_rendered_on_the_server() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let reply = app.get_page("/").await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = String::from_utf8(reply.body).unwrap();
    assert!(
        html.contains("<label for=\"file-id\">File ID</label>"),
        "{html}"
    );
    assert!(html.contains(">Download</button>"), "{html}");
    assert!(
        html.contains("/pkg/ferry.js"),
        "hydration script is linked: {html}"
    );
    assert!(html.contains("/pkg/ferry.css"), "{html}");
}
