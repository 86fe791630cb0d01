//! The polling contract of the export APIs clients know: conditional polls (`ETag`,
//! `If-None-Match`, `304`) that cost a quarter of a full answer, `Retry-After` hints per state, a
//! stable download link (`302` to a fresh signature, `409` before, `410` after), the `expired`
//! state, and a JSON answer at `/` for clients that do not ask for HTML.

mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{spawn_app, Reply, TestApp};
use serde_json::Value;
use std::time::Duration;

fn get(uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("host", "ferry.test")
}

async fn poll(app: &TestApp, job_id: &str, etag: Option<&str>) -> Reply {
    let mut request = get(&format!("/v1/download/status/{job_id}"));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

fn retry_after(reply: &Reply) -> Option<u64> {
    header(reply, "retry-after").map(|v| v.parse().expect("Retry-After is whole seconds"))
}

/// The path of an absolute URL on the host the tests use.
fn on_test_host(url: &str) -> String {
    url.strip_prefix("http://ferry.test")
        .unwrap_or_else(|| panic!("an absolute link for the host the client used: {url}"))
        .to_owned()
}

#[tokio::test]
async fn an_unchanged_job_answers_an_empty_304_and_any_change_changes_the_tag() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "1"),
        ("DOWNLOAD_DELAY_MIN_MS", "3000"),
        ("DOWNLOAD_DELAY_MAX_MS", "3000"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;

    let first = poll(&app, &job_id, None).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(header(&first, "content-encoding"), None);
    assert_eq!(header(&first, "cache-control"), Some("no-store"));
    let tag = header(&first, "etag").expect("an ETag").to_owned();
    assert!(
        tag.starts_with('"') && tag.ends_with('"'),
        "a strong tag: {tag}"
    );

    // Progress moves every 500 ms here: poll until the tag is still current once.
    let (tag, seen, unchanged) = loop {
        let current = poll(&app, &job_id, None).await;
        let tag = header(&current, "etag").unwrap().to_owned();
        let again = poll(&app, &job_id, Some(&tag)).await;
        if again.status == StatusCode::NOT_MODIFIED {
            break (tag, current.json(), again);
        }
        assert_eq!(again.status, StatusCode::OK);
    };
    assert!(unchanged.body.is_empty(), "a 304 has no body");
    assert_eq!(header(&unchanged, "etag"), Some(tag.as_str()));
    assert_eq!(
        retry_after(&unchanged),
        Some(2),
        "a 304 still says when to ask again"
    );
    assert!(header(&unchanged, "x-request-id").is_some());

    // Any change (progress, bytes, state) is a new tag, and the old tag gets the full answer.
    app.wait_for(&job_id, Duration::from_secs(10), |s| *s != seen)
        .await;
    let fresh = poll(&app, &job_id, Some(&tag)).await;
    assert_eq!(fresh.status, StatusCode::OK, "the job changed since {tag}");
    assert_ne!(header(&fresh, "etag"), Some(tag.as_str()));
    assert_ne!(fresh.json(), seen);
}

#[tokio::test]
async fn a_client_that_accepts_gzip_gets_it_under_a_tag_of_its_own() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    let plain = poll(&app, &job_id, None).await;
    let plain_tag = header(&plain, "etag").unwrap().to_owned();
    let gzipped = |etag: Option<&str>| {
        let mut request = get(&format!("/v1/download/status/{job_id}"))
            .header("accept-encoding", "gzip, deflate, br");
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        app.send(request.body(Body::empty()).unwrap())
    };
    let encoded = gzipped(None).await;
    assert_eq!(header(&encoded, "content-encoding"), Some("gzip"));
    assert_eq!(header(&encoded, "vary"), Some("accept-encoding"));
    let encoded_tag = header(&encoded, "etag").unwrap().to_owned();
    assert_eq!(
        encoded_tag,
        format!("{}-gzip\"", plain_tag.trim_end_matches('"')),
        "a strong tag names one encoding"
    );
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(encoded.body.as_slice()),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, plain.body, "the same content");
    // Either tag of the same content is a 304, whichever coding is asked for now.
    assert_eq!(
        gzipped(Some(&plain_tag)).await.status,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        poll(&app, &job_id, Some(&encoded_tag)).await.status,
        StatusCode::NOT_MODIFIED
    );
}

#[tokio::test]
async fn a_304_costs_a_quarter_of_a_full_answer() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("RATE_LIMIT_MAX_REQUESTS", "2"),
        ("RATE_LIMIT_WINDOW_MS", "3600000"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    // A queued job with no worker never changes: every conditional poll is a 304.
    let full = poll(&app, &job_id, None).await;
    assert_eq!(header(&full, "ratelimit-remaining"), Some("1"));
    let tag = header(&full, "etag").unwrap().to_owned();
    // If-None-Match compares weakly and may list several tags, or `*`.
    for if_none_match in [
        tag.clone(),
        format!("W/{tag}"),
        format!("\"0123\", {tag}"),
        "*".to_owned(),
    ] {
        let not_modified = poll(&app, &job_id, Some(&if_none_match)).await;
        assert_eq!(
            not_modified.status,
            StatusCode::NOT_MODIFIED,
            "{if_none_match}"
        );
    }
    // One full answer (four cells) and four 304s (one cell each) spent the two requests.
    let refused = poll(&app, &job_id, Some(&tag)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_name(), "RateLimited");

    // Without tags, the same allowance is two answers.
    let other = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("RATE_LIMIT_MAX_REQUESTS", "2"),
        ("RATE_LIMIT_WINDOW_MS", "3600000"),
    ])
    .await;
    let job_id = other.initiate(r#"{"file_id": 12345}"#).await;
    assert_eq!(poll(&other, &job_id, None).await.status, StatusCode::OK);
    assert_eq!(poll(&other, &job_id, None).await.status, StatusCode::OK);
    assert_eq!(
        poll(&other, &job_id, None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A made-up tag buys no discount: the full answer is charged in full.
    let third = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("RATE_LIMIT_MAX_REQUESTS", "2"),
        ("RATE_LIMIT_WINDOW_MS", "3600000"),
    ])
    .await;
    let job_id = third.initiate(r#"{"file_id": 12345}"#).await;
    let made_up = Some("\"0123456789abcdef0123456789abcdef\"");
    assert_eq!(poll(&third, &job_id, made_up).await.status, StatusCode::OK);
    assert_eq!(poll(&third, &job_id, made_up).await.status, StatusCode::OK);
    assert_eq!(
        poll(&third, &job_id, made_up).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn hostile_conditional_and_accept_headers_get_a_plain_full_answer() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    let tag = header(&poll(&app, &job_id, None).await, "etag")
        .unwrap()
        .to_owned();
    let status = format!("/v1/download/status/{job_id}");
    let raw = |name: &str, value: &[u8]| {
        get(&status)
            .header(name, axum::http::HeaderValue::from_bytes(value).unwrap())
            .body(Body::empty())
            .unwrap()
    };
    let near_misses: Vec<Vec<u8>> = vec![
        // Not valid UTF-8 around the real tag: unreadable, so no match.
        [b"\xff".as_slice(), tag.as_bytes()].concat(),
        tag.trim_matches('"').as_bytes().to_vec(),
        format!("{tag}x").into_bytes(),
        ",".repeat(8_000).into_bytes(),
        "W/".as_bytes().to_vec(),
    ];
    for value in &near_misses {
        let reply = app.send(raw("if-none-match", value)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{:?}",
            String::from_utf8_lossy(value)
        );
        assert_eq!(header(&reply, "etag"), Some(tag.as_str()));
    }
    // Garbage in Accept-Encoding is no reason to encode, nor to refuse.
    let reply = app.send(raw("accept-encoding", b"gzip;q=nan, \xfe")).await;
    assert_eq!(reply.status, StatusCode::OK);
    // A hostile Accept at / gets the JSON description, never an error or the page.
    for accept in [&b"text/html;q=-1, */*"[..], b"\xff\xfe", b";;;,,,text/htm"] {
        let root = app
            .send(
                get("/")
                    .header(
                        "accept",
                        axum::http::HeaderValue::from_bytes(accept).unwrap(),
                    )
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(root.status, StatusCode::OK);
        assert_eq!(header(&root, "content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn retry_after_says_when_polling_again_is_worth_it() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "1"),
        ("DOWNLOAD_DELAY_MIN_MS", "2000"),
        ("DOWNLOAD_DELAY_MAX_MS", "2000"),
        ("SIMULATED_FAILURE_FILE_IDS", "66666"),
        ("JOB_MAX_ATTEMPTS", "2"),
        ("RETRY_BACKOFF_BASE_MS", "20000"),
    ])
    .await;
    let running = app.initiate(r#"{"file_id": 12345}"#).await;
    // The one worker is busy: this one waits.
    let queued = app.initiate(r#"{"file_id": 23456}"#).await;
    app.wait_for(&running, Duration::from_secs(10), |s| {
        s["status"] == "processing"
    })
    .await;
    let reply = poll(&app, &running, None).await;
    assert_eq!(reply.json()["status"], "processing");
    assert_eq!(retry_after(&reply), Some(2));
    let reply = poll(&app, &queued, None).await;
    assert_eq!(reply.json()["status"], "queued");
    assert_eq!(retry_after(&reply), Some(2), "a job queued just now");

    let completed = app
        .wait_for(&running, Duration::from_secs(20), |s| {
            s["status"] == "completed"
        })
        .await;
    assert_eq!(retry_after(&poll(&app, &running, None).await), None);
    assert!(completed["expiresAt"].is_string());

    // A retry 20 s (± 20 %) away is not worth asking about for that long.
    let failing = app.initiate(r#"{"file_id": 66666}"#).await;
    app.wait_for(&failing, Duration::from_secs(30), |s| {
        s["status"] == "retrying"
    })
    .await;
    let reply = poll(&app, &failing, None).await;
    let hint = retry_after(&reply).unwrap();
    assert!(
        (14..=24).contains(&hint),
        "Retry-After {hint} for a retry in about 20 s"
    );
}

#[tokio::test]
async fn the_stable_link_redirects_to_a_fresh_signature_only_while_the_file_exists() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "1"),
        ("DOWNLOAD_DELAY_MIN_MS", "1500"),
        ("DOWNLOAD_DELAY_MAX_MS", "1500"),
        ("SIMULATED_FAILURE_FILE_IDS", "66666"),
        ("JOB_MAX_ATTEMPTS", "1"),
        ("PRESIGN_TTL_SECS", "1"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    let file = format!("/v1/download/{job_id}/file");
    let early = app.get(&file).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.error_name(), "JobNotReady");

    let done = app
        .wait_for(&job_id, Duration::from_secs(20), |s| {
            s["status"] == "completed"
        })
        .await;
    assert_eq!(done["downloadUrl"], format!("http://ferry.test{file}"));
    let signed = on_test_host(done["url"].as_str().unwrap());
    // The link the status carried expires (1 s); the stable one still works.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.get(&signed).await.status != StatusCode::FORBIDDEN {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the signed link expires"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let redirect = app.get(&file).await;
    assert_eq!(redirect.status, StatusCode::FOUND);
    assert_eq!(header(&redirect, "cache-control"), Some("no-store"));
    let location = on_test_host(header(&redirect, "location").unwrap());
    assert_ne!(location, signed, "signed anew");
    let archive = app.get(&location).await;
    assert_eq!(archive.status, StatusCode::OK);
    assert_eq!(archive.body.len() as u64, done["size"].as_u64().unwrap());

    // A failed job has no file.
    let failed = app.initiate(r#"{"file_id": 66666}"#).await;
    app.wait_for(&failed, Duration::from_secs(20), |s| {
        s["status"] == "failed"
    })
    .await;
    let reply = app.get(&format!("/v1/download/{failed}/file")).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains("start the download again"));

    // A file removed behind the record's back is gone, not a link to an error page.
    let stored = app.storage_dir.path().join("results/downloads/12345.zip");
    std::fs::remove_file(&stored).unwrap();
    let gone = app.get(&file).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert_eq!(gone.error_name(), "ResultExpired");

    let unknown = app
        .get("/v1/download/01HQ3Z8M5X7Y9A2B4C6D8E0F1G/file")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = app.get("/v1/download/not-a-job/file").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_completed_job_reads_as_expired_once_its_file_is_removed() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "1"),
        ("RESULT_TTL_SECS", "1"),
        ("FINISHED_RECORD_TTL_SECS", "1"),
        ("EXPIRED_RECORD_TTL_SECS", "60"),
    ])
    .await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    let done = app
        .wait_for(&job_id, Duration::from_secs(20), |s| {
            s["status"] == "completed"
        })
        .await;
    let expired: Value = app
        .wait_for(&job_id, Duration::from_secs(5), |s| {
            s["status"] == "expired"
        })
        .await;
    assert_eq!(expired["expiredAt"], done["expiresAt"]);
    assert_eq!(expired["completedAt"], done["completedAt"]);
    assert_eq!(expired["fileIds"], done["fileIds"]);
    assert!(
        expired.get("url").is_none(),
        "no link to a removed file: {expired}"
    );
    let reply = app.get(&format!("/v1/download/{job_id}/file")).await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert_eq!(reply.error_name(), "ResultExpired");
    assert!(reply.json()["message"]
        .as_str()
        .unwrap()
        .contains(done["expiresAt"].as_str().unwrap()));
    // Cancelling it says what it is.
    let cancel = app.delete(&format!("/v1/download/{job_id}")).await;
    assert_eq!(cancel.status, StatusCode::CONFLICT);
    assert!(cancel.json()["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

async fn root(app: &TestApp, accept: Option<&str>) -> Reply {
    let mut request = get("/");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_root_describes_the_service_to_api_clients_and_shows_browsers_the_page() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let pkg = app.storage_dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("ferry.css"), "body { margin: 0 }").unwrap();

    for accept in [None, Some("*/*"), Some("application/json")] {
        let reply = root(&app, accept).await;
        assert_eq!(reply.status, StatusCode::OK, "{accept:?}");
        assert_eq!(header(&reply, "content-type"), Some("application/json"));
        assert_eq!(header(&reply, "vary"), Some("accept"));
        let body = reply.json();
        assert_eq!(body["name"], "Ferry");
        assert_eq!(body["docs"], "/openapi.json");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("/v1/download/initiate"));
    }
    let browser =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
    let page = root(&app, Some(browser)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(header(&page, "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(header(&page, "vary"), Some("accept"));
    assert!(String::from_utf8_lossy(&page.body).contains("<title>"));
}
