//! The HTTP contract every response keeps: request ids, security headers, CORS, rate limits and
//! the other per-client limits, backpressure, error shapes, metrics and the OpenAPI document.

mod common;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, StatusCode},
};
use common::{spawn_app, Reply, TestApp};
use serde_json::Value;
use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

/// The headers docs/ARCHITECTURE.md promises on every response.
fn assert_contract_headers(reply: &Reply, what: &str) {
    let id = reply.headers.get("x-request-id");
    assert!(id.is_some_and(|v| !v.is_empty()), "{what}: x-request-id");
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ),
        ("referrer-policy", "no-referrer"),
        ("access-control-allow-origin", "*"),
    ] {
        assert_eq!(
            reply.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{what}: {name}"
        );
    }
    for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        let value = reply.headers.get(name).and_then(|v| v.to_str().ok());
        assert!(
            value.is_some_and(|v| v.parse::<u64>().is_ok()),
            "{what}: {name} = {value:?}"
        );
    }
}

fn request(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

async fn app_with_site(overrides: &[(&str, &str)]) -> TestApp {
    let app = spawn_app(overrides).await;
    let pkg = app.storage_dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("ferry.css"), "body { margin: 0 }").unwrap();
    app
}

#[tokio::test]
async fn every_kind_of_response_carries_the_contract_headers() {
    let app = app_with_site(&[("WORKER_CONCURRENCY", "0")]).await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    let tag = app
        .get(&format!("/v1/download/status/{job_id}"))
        .await
        .headers["etag"]
        .clone();
    let cases = [
        (
            "initiate 202",
            app.post_json("/v1/download/initiate", r#"{"file_id": 23456}"#)
                .await,
        ),
        (
            "status 200",
            app.get(&format!("/v1/download/status/{job_id}")).await,
        ),
        (
            "check 200",
            app.post_json("/v1/download/check", r#"{"file_id": 12345}"#)
                .await,
        ),
        ("health", app.get("/health").await),
        ("metrics", app.get("/metrics").await),
        ("openapi", app.get("/openapi.json").await),
        (
            "status 304",
            app.send(
                request(Method::GET, &format!("/v1/download/status/{job_id}"))
                    .header("if-none-match", tag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await,
        ),
        ("page", app.get_page("/").await),
        ("service description", app.get("/").await),
        ("static file", app.get("/pkg/ferry.css").await),
        (
            "400",
            app.post_json("/v1/download/initiate", r#"{"file_id": 1}"#)
                .await,
        ),
        ("404 api", app.get("/v1/nothing").await),
        (
            "404 status",
            app.get("/v1/download/status/01HQ3Z8M5X7Y9A2B4C6D8E0F1G")
                .await,
        ),
        ("405", app.get("/v1/download/initiate").await),
        (
            "415",
            app.send(
                request(Method::POST, "/v1/download/initiate")
                    .body(Body::from("x"))
                    .unwrap(),
            )
            .await,
        ),
        (
            "413",
            app.post_json("/v1/download/initiate", &" ".repeat(70 * 1024))
                .await,
        ),
    ];
    for (what, reply) in &cases {
        assert_contract_headers(reply, what);
        if reply.status.is_client_error() {
            reply.error_name();
        }
    }
    let statuses: Vec<u16> = cases.iter().map(|(_, r)| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [202, 200, 200, 200, 200, 200, 304, 200, 200, 200, 400, 404, 404, 405, 415, 413]
    );
}

#[tokio::test]
async fn browsers_get_a_page_for_unknown_addresses_and_clients_get_json() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let page = app
        .send(
            request(Method::GET, "/no/such/page")
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(
        html.contains("Page not found") && html.contains(r#"href="/""#),
        "{html}"
    );
    assert_contract_headers(&page, "html 404");

    let api = app.get("/no/such/page").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.error_name(), "NotFound");
}

#[tokio::test]
async fn cors_allows_any_origin_by_default_and_answers_preflights_with_204() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let preflight = app
        .send(
            request(Method::OPTIONS, "/v1/download/initiate")
                .header("origin", "https://elsewhere.example")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,idempotency-key",
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_contract_headers(&preflight, "preflight");
    let methods = preflight.headers["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let headers = preflight.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(headers.contains("idempotency-key"), "{headers}");

    let with_origin = app
        .send(
            request(Method::GET, "/health")
                .header("origin", "https://elsewhere.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(with_origin.headers["access-control-allow-origin"], "*");
    let exposed = with_origin.headers["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-request-id") && exposed.contains("ratelimit-remaining"));
}

#[tokio::test]
async fn cors_origins_limits_which_sites_may_read_answers() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("CORS_ORIGINS", "https://app.example, https://admin.example"),
    ])
    .await;
    let from = |origin: &'static str| {
        request(Method::GET, "/health")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app.send(from("https://admin.example")).await;
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://admin.example"
    );
    let other = app.send(from("https://evil.example")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

/// A request as if it arrived on a socket from `peer` (what the server's `ConnectInfo` says).
fn from_peer(peer: &str, mut request: Request<Body>) -> Request<Body> {
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn initiate_request(body: &str, idempotency_key: Option<&str>) -> Request<Body> {
    let mut builder =
        request(Method::POST, "/v1/download/initiate").header("content-type", "application/json");
    if let Some(key) = idempotency_key {
        builder = builder.header("idempotency-key", key);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn a_client_over_its_limit_gets_429_with_retry_after_and_others_are_unaffected() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("RATE_LIMIT_MAX_REQUESTS", "3"),
        ("RATE_LIMIT_WINDOW_MS", "60000"),
    ])
    .await;
    // A client connecting directly: whatever X-Forwarded-For it sends, it is its own address.
    let from = |peer: &str, forged: &str| {
        from_peer(
            peer,
            request(Method::GET, "/health")
                .header("x-forwarded-for", forged)
                .body(Body::empty())
                .unwrap(),
        )
    };
    let mut remaining = Vec::new();
    for forged in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let reply = app.send(from("203.0.113.7:5000", forged)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers["ratelimit-limit"], "3");
        remaining.push(
            reply.headers["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        remaining,
        ["2", "1", "0"],
        "forged addresses change nothing"
    );

    let refused = app.send(from("203.0.113.7:5001", "198.51.100.4")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_name(), "RateLimited");
    assert_contract_headers(&refused, "429");
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=20).contains(&retry_after),
        "one request refills in 20 s: {retry_after}"
    );
    assert_eq!(refused.headers["ratelimit-remaining"], "0");

    // The victim whose address was forged still has its whole allowance.
    let victim = app.send(from("198.51.100.1:6000", "")).await;
    assert_eq!(victim.status, StatusCode::OK);
    assert_eq!(victim.headers["ratelimit-remaining"], "2");
    // An IPv6 client is its /64: another address in it is the same client.
    for _ in 0..3 {
        app.send(from("[2001:db8:1:2::1]:5000", "")).await;
    }
    let same_64 = app.send(from("[2001:db8:1:2::ffff]:5000", "")).await;
    assert_eq!(same_64.status, StatusCode::TOO_MANY_REQUESTS);
    let next_64 = app.send(from("[2001:db8:1:3::1]:5000", "")).await;
    assert_eq!(next_64.status, StatusCode::OK);
}

#[tokio::test]
async fn starting_jobs_has_its_own_smaller_budget() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("RATE_LIMIT_MAX_REQUESTS", "100"),
        ("INITIATE_RATE_LIMIT_MAX_REQUESTS", "2"),
    ])
    .await;
    let peer = "203.0.113.7:5000";
    let mut job_id = String::new();
    for n in 0..2 {
        let reply = app
            .send(from_peer(
                peer,
                initiate_request(&format!(r#"{{"file_id": {}}}"#, 10_100 + n), None),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        assert_eq!(reply.headers["ratelimit-limit"], "2");
        job_id = reply.json()["jobId"].as_str().unwrap().to_owned();
    }
    let refused = app
        .send(from_peer(
            peer,
            initiate_request(r#"{"file_id": 10200}"#, None),
        ))
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_name(), "RateLimited");
    // Reading is another budget: polling goes on.
    let status = app
        .send(from_peer(
            peer,
            request(Method::GET, &format!("/v1/download/status/{job_id}"))
                .body(Body::empty())
                .unwrap(),
        ))
        .await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.headers["ratelimit-limit"], "100");
    assert_eq!(status.headers["ratelimit-remaining"], "99");
}

#[tokio::test]
async fn a_client_may_have_only_so_many_unfinished_jobs() {
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("MAX_ACTIVE_JOBS_PER_CLIENT", "2"),
    ])
    .await;
    let a = "203.0.113.7:5000";
    let mut jobs = Vec::new();
    for n in 0..2 {
        let body = format!(r#"{{"file_id": {}}}"#, 10_100 + n);
        let reply = app.send(from_peer(a, initiate_request(&body, None))).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        jobs.push(reply.json()["jobId"].as_str().unwrap().to_owned());
    }
    let refused = app
        .send(from_peer(
            a,
            initiate_request(r#"{"file_id": 10300}"#, None),
        ))
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_name(), "TooManyActiveJobs");
    let message = refused.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("you already have 2 downloads"),
        "{message}"
    );
    assert!(refused.headers.get("retry-after").is_none());
    let b = app
        .send(from_peer(
            "198.51.100.9:5000",
            initiate_request(r#"{"file_id": 10300}"#, None),
        ))
        .await;
    assert_eq!(
        b.status,
        StatusCode::ACCEPTED,
        "other clients are not affected"
    );
    // Cancelling one frees a place.
    assert_eq!(
        app.delete(&format!("/v1/download/{}", jobs[0]))
            .await
            .status,
        StatusCode::OK
    );
    let again = app
        .send(from_peer(
            a,
            initiate_request(r#"{"file_id": 10300}"#, None),
        ))
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    let metrics = String::from_utf8(app.get("/metrics").await.body).unwrap();
    assert!(
        metrics.contains("ferry_active_job_cap_refusals_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn idempotency_keys_belong_to_the_client_that_used_them() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0")]).await;
    let body = r#"{"file_id": 12345}"#;
    let send =
        |peer: &'static str| app.send(from_peer(peer, initiate_request(body, Some("order-42"))));
    let mine = send("203.0.113.7:5000").await.json()["jobId"].clone();
    let theirs = send("198.51.100.9:5000").await.json()["jobId"].clone();
    assert_ne!(
        mine, theirs,
        "another client's equal key does not return my job"
    );
    let again = send("203.0.113.7:5001").await.json()["jobId"].clone();
    assert_eq!(again, mine);
}

#[tokio::test]
async fn a_full_queue_refuses_new_jobs_with_503_and_retry_after() {
    let app = spawn_app(&[("WORKER_CONCURRENCY", "0"), ("MAX_QUEUE_DEPTH", "2")]).await;
    app.initiate(r#"{"file_id": 10001}"#).await;
    app.initiate(r#"{"file_id": 10002}"#).await;
    let refused = app
        .post_json("/v1/download/initiate", r#"{"file_id": 10003}"#)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.error_name(), "QueueFull");
    assert!(refused.headers.contains_key("retry-after"));
    // Nothing was queued for the refused request.
    let metrics = String::from_utf8(app.get("/metrics").await.body).unwrap();
    assert!(
        metrics.contains(r#"ferry_queue_jobs{state="waiting"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn metrics_count_requests_jobs_and_queue_depth() {
    let app = spawn_app(&[]).await;
    let job_id = app.initiate(r#"{"file_id": 12345}"#).await;
    app.wait_for(&job_id, Duration::from_secs(10), |s| {
        s["status"] == "completed"
    })
    .await;
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(reply.body).unwrap();
    for expected in [
        r#"ferry_http_requests_total{method="POST",route="/v1/download/initiate",status="202"}"#,
        r#"ferry_http_requests_total{method="GET",route="/v1/download/status/{job_id}",status="200"}"#,
        "ferry_http_request_duration_seconds_bucket",
        "ferry_jobs_enqueued_total",
        "ferry_jobs_completed_total",
        r#"ferry_job_duration_seconds_bucket{outcome="completed""#,
        r#"ferry_queue_jobs{state="processing"}"#,
        r#"ferry_queue_jobs{state="retrying"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }

    // Body bytes are counted as they are sent (other tests of this binary add to the counter).
    let status_bytes = |text: &str| -> u64 {
        let series = r#"ferry_http_response_body_bytes_total{method="GET",route="/v1/download/status/{job_id}"}"#;
        text.lines()
            .find_map(|line| line.strip_prefix(series))
            .map_or(0, |value| value.trim().parse().unwrap())
    };
    let before = status_bytes(&text);
    let answer = app.get(&format!("/v1/download/status/{job_id}")).await;
    let after = status_bytes(&String::from_utf8(app.get("/metrics").await.body).unwrap());
    assert!(
        after >= before + answer.body.len() as u64 && answer.body.len() > 100,
        "{before} + {} <= {after}",
        answer.body.len()
    );
}

/// Every operation of the contract, as (method, OpenAPI path).
const CONTRACT: &[(&str, &str)] = &[
    ("get", "/"),
    ("post", "/v1/download/initiate"),
    ("get", "/v1/download/status/{job_id}"),
    ("get", "/v1/download/{job_id}/file"),
    ("delete", "/v1/download/{job_id}"),
    ("post", "/v1/download/check"),
    ("get", "/v1/files/{folder}/{name}"),
    ("get", "/v1/files/bundles/{folder}/{name}"),
    ("get", "/health"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("post", "/admin/api/session"),
    ("get", "/admin/api/session"),
    ("post", "/admin/api/sign-out"),
    ("get", "/admin/api/overview"),
    ("post", "/admin/api/queue/pause"),
    ("post", "/admin/api/queue/resume"),
    ("post", "/admin/api/jobs/{job_id}/retry"),
    ("post", "/admin/api/jobs/{job_id}/cancel"),
    ("post", "/admin/api/jobs/{job_id}/delete"),
    ("get", "/admin/api/jobs"),
    ("get", "/admin/api/jobs/{job_id}"),
    ("post", "/admin/api/jobs/retry-failed"),
];

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_each_route_exists() {
    // With the console on, so that its routes answer (a 404 while it is off).
    let app = spawn_app(&[
        ("WORKER_CONCURRENCY", "0"),
        ("ADMIN_TOKEN", "a-console-token-for-tests"),
    ])
    .await;
    let document: Value = app.get("/openapi.json").await.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let scheme = &document["components"]["securitySchemes"]["admin_session"];
    assert_eq!(
        (
            scheme["type"].as_str(),
            scheme["in"].as_str(),
            scheme["name"].as_str()
        ),
        (Some("apiKey"), Some("cookie"), Some("ferry_admin")),
        "{scheme}"
    );

    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = CONTRACT
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, expected);

    // Each documented operation is really routed: it never falls through to "no such address"
    // or "wrong method".
    for (method, path) in CONTRACT {
        let uri = path
            .replace("{job_id}", "01HQ3Z8M5X7Y9A2B4C6D8E0F1G")
            .replace("{folder}", "downloads")
            .replace("{name}", "12345.zip");
        let reply = app
            .send(
                request(method.to_uppercase().parse().unwrap(), &uri)
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
        let name = reply
            .body
            .starts_with(b"{")
            .then(|| reply.json()["error"].as_str().map(str::to_owned))
            .flatten();
        assert!(
            !matches!(name.as_deref(), Some("NotFound" | "MethodNotAllowed")),
            "{method} {uri} is documented but not routed"
        );
    }

    // Every 4xx an operation documents uses the error shape.
    for (method, path) in CONTRACT {
        let responses = &document["paths"][path][method]["responses"];
        for (status, response) in responses.as_object().unwrap() {
            if status.starts_with('4') {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
}
