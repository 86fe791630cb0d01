//! Test helpers: a real [`Application`] on a free port with its own storage directory and short
//! timings, plus request helpers that go through the full router.

#![allow(dead_code)]

pub mod ferry_process;
pub mod origin_server;
pub mod redis_cluster;
pub mod redis_server;
pub mod s3_server;

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
    Router,
};
use ferry_server::{application::Application, config::Config};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use serde_json::Value;
use std::{collections::HashMap, time::Duration};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What Chromium sends as `Accept` when it loads a page.
pub const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8";

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub router: Router,
    /// Where the application listens, for tests that need real connections.
    pub addr: std::net::SocketAddr,
    pub shutdown: CancellationToken,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub storage_dir: tempfile::TempDir,
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts the documented error shape and returns the error's short name.
    pub fn error_name(&self) -> String {
        let body = self.json();
        let request_id = self.headers["x-request-id"].to_str().unwrap();
        assert_eq!(
            body["requestId"], request_id,
            "error body carries the request id"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| m.len() > 10),
            "a message a person can act on: {body}"
        );
        assert_eq!(self.headers["content-type"], "application/json");
        body["error"].as_str().unwrap().to_owned()
    }
}

/// The path of a completed job's local download link (requests say `host: ferry.test`).
pub fn link_path(status: &Value) -> String {
    let url = status["url"].as_str().expect("a completed job has a url");
    url.strip_prefix("http://ferry.test")
        .unwrap_or_else(|| panic!("an absolute link for the host the client used: {url}"))
        .to_owned()
}

/// Distinct, incompressible-looking content for a test file of an origin.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A zip archive's entries, name → content.
pub fn zip_entries(archive: Vec<u8>) -> HashMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("a valid zip");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_owned(), bytes)
        })
        .collect()
}

/// Whether a status says the job has ended.
pub fn terminal(status: &Value) -> bool {
    matches!(
        status["status"].as_str(),
        Some("completed" | "failed" | "cancelled" | "expired")
    )
}

/// Starts the application with test timings; `overrides` replace any variable.
pub async fn spawn_app(overrides: &[(&str, &str)]) -> TestApp {
    let storage_dir = tempfile::tempdir().unwrap();
    let mut vars: HashMap<String, String> = [
        ("DOWNLOAD_DELAY_MIN_MS", "300"),
        ("DOWNLOAD_DELAY_MAX_MS", "500"),
        ("RETRY_BACKOFF_BASE_MS", "100"),
        ("LEASE_TTL_MS", "1000"),
        ("WORKER_CONCURRENCY", "2"),
        ("SHUTDOWN_GRACE_MS", "3000"),
        ("LOCAL_STORAGE_SECRET", "test-secret"),
        // Every in-process request comes from one client (loopback): tests of the per-client
        // limits set these lower.
        ("INITIATE_RATE_LIMIT_MAX_REQUESTS", "100000"),
        ("MAX_ACTIVE_JOBS_PER_CLIENT", "100000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.insert(
        "LOCAL_STORAGE_DIR".into(),
        storage_dir.path().join("results").display().to_string(),
    );
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("test config is valid");
    let leptos_options = LeptosOptions::builder()
        .output_name("ferry")
        .site_root(storage_dir.path().join("site").display().to_string())
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .build();
    let application = Application::build(config, leptos_options).await.unwrap();
    let router = application.router();
    let addr = application.local_addr();
    let shutdown = application.shutdown_handle();
    let server = tokio::spawn(application.run_until_stopped(std::future::pending()));
    TestApp {
        router,
        addr,
        shutdown,
        server,
        storage_dir,
    }
}

impl TestApp {
    /// Sends a request through the whole router (middleware included).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(
            Request::get(uri)
                .header("host", "ferry.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// A GET as a browser sends it (asking for HTML first), for the page.
    pub async fn get_page(&self, uri: &str) -> Reply {
        self.send(
            Request::get(uri)
                .header("host", "ferry.test")
                .header("accept", BROWSER_ACCEPT)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.send(Request::delete(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_json(&self, uri: &str, body: &str) -> Reply {
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
    }

    /// Starts a job and returns its id.
    pub async fn initiate(&self, body: &str) -> String {
        let reply = self.post_json("/v1/download/initiate", body).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.json());
        reply.json()["jobId"].as_str().unwrap().to_owned()
    }

    pub async fn status(&self, job_id: &str) -> Value {
        let reply = self.get(&format!("/v1/download/status/{job_id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
        reply.json()
    }

    /// Polls the job until `done` holds for its status, failing after `within`.
    pub async fn wait_for(
        &self,
        job_id: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let status = self.status(job_id).await;
            if done(&status) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {job_id} did not reach the expected state; last status: {status}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Stops the application as a signal would and waits for it to finish.
    pub async fn stop(self) -> Router {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .expect("shutdown finishes within its grace period")
            .unwrap()
            .unwrap();
        self.router
    }
}

/// A GET of an absolute URL as a browser following a download link sends it: no signing of its
/// own, no redirects followed (a link that redirects is a finding, not something to hide).
pub async fn http_get(url: &str) -> Reply {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(url).send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        headers.append(
            axum::http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            axum::http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let body = response.bytes().await.unwrap().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}
