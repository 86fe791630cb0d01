//! The operator console's API: off without `ADMIN_TOKEN`, a session cookie after signing in with
//! it, the CSRF token on every change, and a small sign-in allowance.

mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{spawn_app, Reply, TestApp};

const TOKEN: &str = "a-console-token-for-tests";

async fn console() -> TestApp {
    spawn_app(&[("ADMIN_TOKEN", TOKEN), ("WORKER_CONCURRENCY", "0")]).await
}

/// A console request, with the session cookie and CSRF token when given.
async fn send(
    app: &TestApp,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: Option<String>,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "ferry.test");
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("theme=dark; ferry_admin={cookie}"));
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body)),
        None => request.body(Body::empty()),
    };
    app.send(request.unwrap()).await
}

async fn sign_in_with(app: &TestApp, token: &str) -> Reply {
    let body = serde_json::json!({ "token": token }).to_string();
    send(
        app,
        Method::POST,
        "/admin/api/session",
        None,
        None,
        Some(body),
    )
    .await
}

/// Signs in; returns the cookie's value and the CSRF token.
async fn sign_in(app: &TestApp) -> (String, String) {
    let reply = sign_in_with(app, TOKEN).await;
    assert_eq!(reply.status, StatusCode::OK);
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
    let value = set_cookie
        .strip_prefix("ferry_admin=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    let csrf = reply.json()["csrfToken"].as_str().unwrap().to_owned();
    (value, csrf)
}

#[tokio::test]
async fn without_admin_token_every_console_route_is_a_plain_404() {
    let app = spawn_app(&[]).await;
    let body = serde_json::json!({ "token": TOKEN }).to_string();
    for (method, uri, body) in [
        (Method::POST, "/admin/api/session", Some(body)),
        (Method::GET, "/admin/api/session", None),
        (Method::GET, "/admin/api/overview", None),
        (Method::POST, "/admin/api/sign-out", None),
        // A method no console route takes says nothing about the console either.
        (Method::PUT, "/admin/api/session", None),
        (Method::GET, "/admin/api/no-such-thing", None),
        (Method::GET, "/admin/api/jobs", None),
        (Method::POST, "/admin/api/jobs/retry-failed", None),
        (Method::DELETE, "/admin", None),
        // The console's pages too.
        (Method::GET, "/admin", None),
        (Method::GET, "/admin/jobs/01HQ3Z8M5X7Y9A2B4C6D8E0F1G", None),
    ] {
        let reply = send(&app, method, uri, Some("1.2.3"), Some("x"), body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(reply.error_name(), "NotFound", "{uri}");
        assert!(!reply.headers.contains_key("set-cookie"));
    }
}

#[tokio::test]
async fn signing_in_takes_the_token_and_sets_a_strict_http_only_cookie() {
    let app = console().await;
    for wrong in ["", "a-console-token-for-test", "A-CONSOLE-TOKEN-FOR-TESTS"] {
        let reply = sign_in_with(&app, wrong).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert_eq!(reply.error_name(), "WrongAdminToken");
        assert!(!reply.headers.contains_key("set-cookie"));
    }
    let reply = sign_in_with(&app, TOKEN).await;
    assert_eq!(reply.status, StatusCode::OK);
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let body = reply.json();
    assert!(body["csrfToken"].as_str().unwrap().len() >= 32, "{body}");
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'), "{body}");

    // Behind the (trusted) proxy that terminates https, the cookie is Secure.
    let request = Request::post("/admin/api/session")
        .header("host", "ferry.test")
        .header("x-forwarded-proto", "https")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({ "token": TOKEN }).to_string(),
        ))
        .unwrap();
    let reply = app.send(request).await;
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn reads_need_the_session_and_changes_its_csrf_token() {
    let app = console().await;
    for _ in 0..3 {
        app.initiate(r#"{"file_id": 12345}"#).await;
    }
    let overview = "/admin/api/overview";
    let reply = send(&app, Method::GET, overview, None, None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_name(), "SignInRequired");

    let (cookie, csrf) = sign_in(&app).await;
    // A cookie of another token, a longer life or a changed nonce is no session.
    let (expires, rest) = cookie.split_once('.').unwrap();
    let later = format!("{}.{rest}", expires.parse::<u64>().unwrap() + 86_400);
    for forged in [later.as_str(), "1.2.3", "", &cookie[..cookie.len() - 1]] {
        let reply = send(&app, Method::GET, overview, Some(forged), None, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{forged:?}");
    }

    let cancelled = app.initiate(r#"{"file_id": 23456}"#).await;
    assert_eq!(
        app.delete(&format!("/v1/download/{cancelled}"))
            .await
            .status,
        StatusCode::OK
    );
    let reply = send(&app, Method::GET, overview, Some(&cookie), None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(
        (&body["queued"], &body["retrying"], &body["processing"]),
        (
            &serde_json::json!(3),
            &serde_json::json!(0),
            &serde_json::json!(0)
        ),
        "{body}"
    );
    assert_eq!(
        body["health"],
        serde_json::json!({"storage": "ok", "queue": "ok"})
    );
    // This process announced itself: no workers (WORKER_CONCURRENCY=0), nothing running.
    let instances = body["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1, "{body}");
    assert_eq!(instances[0]["concurrency"], 0);
    assert_eq!(instances[0]["running"], serde_json::json!([]));
    let minutes = body["activityPerMinute"].as_array().unwrap();
    assert_eq!(minutes.len(), 60);
    let cancelled_in_the_hour: u64 = minutes
        .iter()
        .map(|m| m["cancelled"].as_u64().unwrap())
        .sum();
    assert_eq!(cancelled_in_the_hour, 1);
    let reply = send(
        &app,
        Method::GET,
        "/admin/api/session",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(reply.json()["csrfToken"], csrf.as_str());

    let sign_out = "/admin/api/sign-out";
    for offered in [None, Some("wrong"), Some(&csrf[..csrf.len() - 2])] {
        let reply = send(&app, Method::POST, sign_out, Some(&cookie), offered, None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{offered:?}");
        assert_eq!(reply.error_name(), "CsrfTokenInvalid");
    }
    let reply = send(
        &app,
        Method::POST,
        sign_out,
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let cleared = reply.headers["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("ferry_admin=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn sign_in_attempts_have_their_own_small_allowance() {
    let app = console().await;
    for attempt in 1..=5 {
        let reply = sign_in_with(&app, "guess").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // The sixth is refused before the token is looked at, right or wrong.
    let reply = sign_in_with(&app, TOKEN).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error_name(), "RateLimited");
    assert!(reply.headers.contains_key("retry-after"));
    // Reading is another allowance.
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn pausing_from_the_console_holds_new_jobs_until_it_resumes() {
    let app = spawn_app(&[("ADMIN_TOKEN", TOKEN), ("WORKER_CONCURRENCY", "1")]).await;
    let (cookie, csrf) = sign_in(&app).await;
    let pause = "/admin/api/queue/pause";
    let reply = send(&app, Method::POST, pause, Some(&cookie), None, None).await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "a change needs the CSRF token"
    );
    let reply = send(&app, Method::POST, pause, Some(&cookie), Some(&csrf), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!({"paused": true}));

    let job = app.initiate(r#"{"file_id": 12345}"#).await;
    let overview = send(
        &app,
        Method::GET,
        "/admin/api/overview",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(overview.json()["paused"], true);
    assert_eq!(overview.json()["queued"], 1);
    // The worker is idle, but a paused queue gives it nothing; the job's owner is told why.
    let status = app.status(&job).await;
    assert_eq!(
        (&status["status"], &status["paused"]),
        (&"queued".into(), &true.into())
    );

    let resume = "/admin/api/queue/resume";
    let reply = send(&app, Method::POST, resume, Some(&cookie), Some(&csrf), None).await;
    assert_eq!(reply.json(), serde_json::json!({"paused": false}));
    let done = app
        .wait_for(&job, std::time::Duration::from_secs(10), common::terminal)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
}

#[tokio::test]
async fn failed_jobs_are_retried_and_finished_ones_deleted_from_the_console() {
    let app = spawn_app(&[
        ("ADMIN_TOKEN", TOKEN),
        ("WORKER_CONCURRENCY", "1"),
        ("JOB_MAX_ATTEMPTS", "1"),
        ("SIMULATED_FAILURE_FILE_IDS", "66666"),
    ])
    .await;
    let (cookie, csrf) = sign_in(&app).await;
    let act = |job: &str, action: &str| format!("/admin/api/jobs/{job}/{action}");
    let within = std::time::Duration::from_secs(10);

    let failing = app.initiate(r#"{"file_id": 66666}"#).await;
    let failed = app.wait_for(&failing, within, common::terminal).await;
    assert_eq!(
        (&failed["status"], &failed["attempt"]),
        (&"failed".into(), &1.into())
    );
    let reply = send(
        &app,
        Method::POST,
        &act(&failing, "retry"),
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "CSRF first");
    let reply = send(
        &app,
        Method::POST,
        &act(&failing, "retry"),
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["done"], "retried");
    // The new attempt runs (and, the file failing always, fails again as attempt 2).
    let again = app
        .wait_for(&failing, within, |s| {
            s["status"] == "failed" && s["attempt"] == 2
        })
        .await;
    assert_eq!(again["maxAttempts"], 2, "{again}");

    let done = app.initiate(r#"{"file_id": 12345}"#).await;
    app.wait_for(&done, within, common::terminal).await;
    let reply = send(
        &app,
        Method::POST,
        &act(&done, "retry"),
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.error_name(), "JobNotFailed");
    let reply = send(
        &app,
        Method::POST,
        &act(&done, "cancel"),
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.error_name(), "JobAlreadyFinished");
    let reply = send(
        &app,
        Method::POST,
        &act(&done, "delete"),
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.json()["done"], "deleted");
    assert_eq!(
        app.get(&format!("/v1/download/status/{done}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Paused, a new job waits: it cannot be deleted, only cancelled.
    let pause = "/admin/api/queue/pause";
    send(&app, Method::POST, pause, Some(&cookie), Some(&csrf), None).await;
    let waiting = app.initiate(r#"{"file_id": 23456}"#).await;
    let reply = send(
        &app,
        Method::POST,
        &act(&waiting, "delete"),
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.error_name(), "JobNotFinished");
    let reply = send(
        &app,
        Method::POST,
        &act(&waiting, "cancel"),
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.json()["done"], "cancelled");
    assert_eq!(app.status(&waiting).await["status"], "cancelled");
    let unknown = act("01HQ3Z8M5X7Y9A2B4C6D8E0F1G", "retry");
    let reply = send(
        &app,
        Method::POST,
        &unknown,
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.error_name(), "JobNotFound");
    let reply = send(
        &app,
        Method::POST,
        &act("nope", "retry"),
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

/// Reads a console route as the signed-in operator and returns its JSON.
async fn read(app: &TestApp, cookie: &str, uri: &str) -> serde_json::Value {
    let reply = send(app, Method::GET, uri, Some(cookie), None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.json());
    reply.json()
}

#[tokio::test]
async fn the_job_list_pages_through_a_thousand_jobs_and_filters_them() {
    let app = spawn_app(&[
        ("ADMIN_TOKEN", TOKEN),
        ("WORKER_CONCURRENCY", "0"),
        ("MAX_ACTIVE_JOBS_PER_CLIENT", "2000"),
        ("INITIATE_RATE_LIMIT_MAX_REQUESTS", "2000"),
        ("RATE_LIMIT_MAX_REQUESTS", "5000"),
    ])
    .await;
    let (cookie, _) = sign_in(&app).await;
    let reply = send(&app, Method::GET, "/admin/api/jobs", None, None, None).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "the list needs a session"
    );

    let mut created = Vec::new();
    for n in 0..1_000u64 {
        created.push(
            app.initiate(&format!(r#"{{"file_id": {}}}"#, 20_000 + n % 7))
                .await,
        );
    }
    let cancelled = &created[10];
    assert_eq!(
        app.delete(&format!("/v1/download/{cancelled}"))
            .await
            .status,
        StatusCode::OK
    );

    let (mut listed, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let uri = match &cursor {
            Some(cursor) => format!("/admin/api/jobs?limit=200&cursor={cursor}"),
            None => "/admin/api/jobs?limit=200".to_owned(),
        };
        let page = read(&app, &cookie, &uri).await;
        pages += 1;
        listed.extend(page["jobs"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    let mut ids: Vec<&str> = listed
        .iter()
        .map(|j| j["jobId"].as_str().unwrap())
        .collect();
    // Newest first: a queued job placed by its creation, the cancelled one by its end (ties by
    // id, newest first; RFC 3339 UTC times with milliseconds sort as text).
    let place = |job: &serde_json::Value| {
        let at = match job["phase"].as_str().unwrap() {
            "queued" => &job["createdAt"],
            _ => &job["finishedAt"],
        };
        assert_eq!(
            &job["listedAt"], at,
            "the list's place, as the body states it"
        );
        (
            at.as_str().unwrap().to_owned(),
            job["jobId"].as_str().unwrap().to_owned(),
        )
    };
    for pair in listed.windows(2) {
        assert!(place(&pair[0]) > place(&pair[1]), "{pair:?}");
    }
    ids.sort();
    let mut expected: Vec<&str> = created.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(ids, expected, "every job once");

    let first = read(&app, &cookie, "/admin/api/jobs").await;
    assert_eq!(first["jobs"].as_array().unwrap().len(), 50, "50 by default");
    let job = &first["jobs"][0];
    assert_eq!(job["client"], "127.0.0.1");

    let only = |query: &str| format!("/admin/api/jobs?limit=200&{query}");
    let count = |body: &serde_json::Value| body["jobs"].as_array().unwrap().len();
    let page = read(&app, &cookie, &only("state=cancelled")).await;
    assert_eq!(
        (count(&page), &page["nextCursor"]),
        (1, &serde_json::Value::Null)
    );
    let page = read(&app, &cookie, &only("state=queued&fileId=20003")).await;
    assert_eq!(
        count(&page),
        142,
        "1000 jobs over 7 files: 142 have file 20003"
    );
    assert!(page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|j| j["fileIds"] == serde_json::json!([20003])));
    let page = read(&app, &cookie, &only("client=198.51.100.1")).await;
    assert_eq!(count(&page), 0);
    let page = read(&app, &cookie, &only("client=127.0.0.1&state=failed")).await;
    assert_eq!(count(&page), 0);

    for bad in [
        "state=stuck",
        "fileId=abc",
        "cursor=nope",
        "limit=0",
        "limit=201",
    ] {
        let reply = send(
            &app,
            Method::GET,
            &only(bad).replace("limit=200&", ""),
            Some(&cookie),
            None,
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.error_name(), "InvalidRequest", "{bad}");
    }

    let detail = read(&app, &cookie, &format!("/admin/api/jobs/{cancelled}")).await;
    assert_eq!(detail["job"]["phase"], "cancelled");
    assert_eq!(
        detail["attempts"],
        serde_json::json!([]),
        "it never started"
    );
    let reply = send(
        &app,
        Method::GET,
        &format!("/admin/api/jobs/{}", app::api::JobId::generate()),
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_job_page_shows_its_attempts_and_retry_all_retries_every_failed_job() {
    let app = spawn_app(&[
        ("ADMIN_TOKEN", TOKEN),
        ("WORKER_CONCURRENCY", "2"),
        ("JOB_MAX_ATTEMPTS", "1"),
        ("SIMULATED_FAILURE_FILE_IDS", "66666,77777"),
    ])
    .await;
    let (cookie, csrf) = sign_in(&app).await;
    let within = std::time::Duration::from_secs(10);
    let mut failing = Vec::new();
    for file in [66666, 77777] {
        let job = app.initiate(&format!(r#"{{"file_id": {file}}}"#)).await;
        app.wait_for(&job, within, common::terminal).await;
        failing.push(job);
    }
    let done = app.initiate(r#"{"file_id": 12345}"#).await;
    app.wait_for(&done, within, common::terminal).await;

    let detail = read(&app, &cookie, &format!("/admin/api/jobs/{}", failing[0])).await;
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{detail}");
    assert_eq!(
        (&attempts[0]["number"], &attempts[0]["outcome"]),
        (&1.into(), &"failed".into())
    );
    assert!(
        attempts[0]["error"].as_str().unwrap().len() > 10,
        "{detail}"
    );
    let instances = read(&app, &cookie, "/admin/api/overview").await["instances"].clone();
    assert_eq!(
        attempts[0]["worker"], instances[0]["id"],
        "the instance that ran it"
    );
    let completed = read(&app, &cookie, &format!("/admin/api/jobs/{done}")).await;
    assert_eq!(completed["job"]["resultKey"], "downloads/12345.zip");
    assert!(completed["job"]["resultSize"].as_u64().unwrap() > 0);
    assert_eq!(completed["attempts"][0]["outcome"], "completed");
    let overview = read(&app, &cookie, "/admin/api/overview").await;
    assert_eq!(overview["timings"]["jobs"], 1, "{overview}");
    assert!(
        overview["timings"]["runMedianMs"].as_u64().is_some(),
        "{overview}"
    );

    let retry_all = "/admin/api/jobs/retry-failed";
    let reply = send(&app, Method::POST, retry_all, Some(&cookie), None, None).await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "a change needs the CSRF token"
    );
    let reply = send(
        &app,
        Method::POST,
        retry_all,
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        serde_json::json!({"retried": 2, "more": false})
    );
    for job in &failing {
        let again = app
            .wait_for(job, within, |s| {
                s["status"] == "failed" && s["attempt"] == 2
            })
            .await;
        assert_eq!(again["maxAttempts"], 2, "{again}");
    }
    let detail = read(&app, &cookie, &format!("/admin/api/jobs/{}", failing[1])).await;
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 2, "{detail}");
}
