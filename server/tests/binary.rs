//! The server binary as an operator runs it: configuration errors stop it with a message, and
//! SIGTERM releases running jobs before it exits.

mod common;

use common::{
    ferry_process::{
        http, job_id_of, post_json, request, server_command, start, wait_until_completed, Log,
        RunningServer,
    },
    redis_server::RedisServer,
};
use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn redis_env() -> (String, String) {
    let url =
        std::env::var("FERRY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("ferry-test-{}", app::api::JobId::generate());
    (url, prefix)
}

#[test]
fn a_bad_value_stops_the_server_with_a_message_naming_it() {
    let storage = tempfile::tempdir().unwrap();
    let output = server_command(storage.path(), &[("WORKER_CONCURRENCY", "lots")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("WORKER_CONCURRENCY=\"lots\" is invalid"),
        "{log}"
    );
}

#[test]
fn sigterm_releases_running_jobs_and_exits_cleanly() {
    let storage = tempfile::tempdir().unwrap();
    let (mut server, mut lines, addr) = start(
        storage.path(),
        &[
            ("DOWNLOAD_DELAY_MIN_MS", "60000"),
            ("DOWNLOAD_DELAY_MAX_MS", "60000"),
            ("SHUTDOWN_GRACE_MS", "5000"),
        ],
    );
    let child = &mut server.0;

    let (status, body) = post_json(&addr, "/v1/download/initiate", r#"{"file_id": 12345}"#);
    assert_eq!(status, 202, "{body}");
    lines.wait_for("job started");

    let stopped_at = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    lines.wait_for("received SIGTERM");
    lines.wait_for("job released for another worker");
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(5),
            "the server exits within SHUTDOWN_GRACE_MS"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn a_killed_instance_s_job_runs_on_another_once_its_lease_expires() {
    let storage = tempfile::tempdir().unwrap();
    let (url, prefix) = redis_env();
    let settings = [
        ("REDIS_URL", url.as_str()),
        ("QUEUE_PREFIX", prefix.as_str()),
        ("LEASE_TTL_MS", "5000"),
        ("DOWNLOAD_DELAY_MIN_MS", "2000"),
        ("DOWNLOAD_DELAY_MAX_MS", "2000"),
        ("WORKER_CONCURRENCY", "1"),
    ];
    let (mut first, mut first_log, first_addr) = start(storage.path(), &settings);
    let (status, body) = post_json(
        &first_addr,
        "/v1/download/initiate",
        r#"{"file_id": 12345}"#,
    );
    assert_eq!(status, 202, "{body}");
    let job_id = job_id_of(&body);
    first_log.wait_for("job started");

    first.0.kill().unwrap(); // SIGKILL: no chance to release anything
    first.0.wait().unwrap();
    let killed_at = Instant::now();

    let (_second, mut second_log, second_addr) = start(storage.path(), &settings);
    let rerun = second_log.wait_for(&format!("job started job_id={job_id} attempt=2"));
    let recovery = killed_at.elapsed();
    eprintln!("SIGKILL to the job running again: {recovery:?} (LEASE_TTL_MS=5000): {rerun}");
    assert!(
        recovery >= Duration::from_millis(4_000),
        "not before the lease expired"
    );
    assert!(
        recovery <= Duration::from_millis(7_000),
        "soon after the lease expired"
    );
    wait_until_completed(&second_addr, &job_id);
    let (_, metrics) = http(&second_addr, "GET", "/metrics", "");
    assert!(
        metrics.contains("ferry_lease_reclaims_total 1"),
        "the takeover is counted: {metrics}"
    );
}

#[test]
fn sigterm_hands_running_jobs_to_the_next_instance_at_once() {
    let storage = tempfile::tempdir().unwrap();
    let (url, prefix) = redis_env();
    let settings = [
        ("REDIS_URL", url.as_str()),
        ("QUEUE_PREFIX", prefix.as_str()),
        ("LEASE_TTL_MS", "30000"),
        ("DOWNLOAD_DELAY_MIN_MS", "2000"),
        ("DOWNLOAD_DELAY_MAX_MS", "2000"),
        ("WORKER_CONCURRENCY", "2"),
    ];
    let (mut first, mut first_log, first_addr) = start(storage.path(), &settings);
    let mut jobs = Vec::new();
    for file_id in [12345, 23456] {
        let (status, body) = post_json(
            &first_addr,
            "/v1/download/initiate",
            &format!(r#"{{"file_id": {file_id}}}"#),
        );
        assert_eq!(status, 202, "{body}");
        jobs.push(job_id_of(&body));
    }
    first_log.wait_for("job started");
    first_log.wait_for("job started");
    Command::new("kill")
        .args(["-TERM", &first.0.id().to_string()])
        .status()
        .unwrap();
    assert!(first.0.wait().unwrap().success());
    let stopped_at = Instant::now();

    let (_second, mut second_log, second_addr) = start(storage.path(), &settings);
    for _ in &jobs {
        let line = second_log.wait_for("job started");
        assert!(
            line.contains("attempt=1"),
            "a release uses no attempt: {line}"
        );
    }
    assert!(
        stopped_at.elapsed() < Duration::from_secs(10),
        "picked up long before the 30 s lease would expire"
    );
    for job_id in &jobs {
        wait_until_completed(&second_addr, job_id);
    }
}

#[test]
fn start_up_warns_when_redis_may_evict_job_records() {
    let redis = RedisServer::start();
    let set = Command::new("redis-cli")
        .args([
            "-u",
            &redis.url(),
            "config",
            "set",
            "maxmemory-policy",
            "allkeys-lru",
        ])
        .output()
        .unwrap();
    assert!(set.status.success());
    let storage = tempfile::tempdir().unwrap();
    let (_server, mut log, _) = start(storage.path(), &[("REDIS_URL", &redis.url())]);
    let warning = log.wait_for("maxmemory-policy is not noeviction");
    assert!(
        warning.contains("WARN") && warning.contains("allkeys-lru"),
        "{warning}"
    );
}

#[test]
fn json_logs_name_the_request_and_the_job_on_every_line_and_never_a_secret() {
    let storage = tempfile::tempdir().unwrap();
    let secret = "do-not-log-this-secret-7f3a";
    let mut server = RunningServer(
        server_command(
            storage.path(),
            &[
                ("LOG_FORMAT", "json"),
                ("RUST_LOG", "info,tower_http=debug"),
                ("DOWNLOAD_DELAY_MIN_MS", "200"),
                ("DOWNLOAD_DELAY_MAX_MS", "200"),
                ("LOCAL_STORAGE_SECRET", secret),
            ],
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let mut log = Log::of(&mut server.0);
    let parse = |line: String| -> serde_json::Value {
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
    };
    let listening = parse(log.wait_for("\"listening\""));
    let addr = listening["addr"]
        .as_str()
        .expect("the address is a field")
        .to_owned();

    let response = request(
        &addr,
        "POST",
        "/v1/download/initiate",
        r#"{"file_id": 12345}"#,
        &[("x-request-id", "trace-me-42")],
    );
    assert_eq!(response.status(), 202);
    // Answers keep their size (a browser shows a download's progress from it).
    assert!(response.headers().contains_key("content-length"));

    // The handler's line sits in the request's span, which carries the client's request id.
    let queued = parse(log.wait_for("\"job queued\""));
    let request_span = queued["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "request"))
        .unwrap_or_else(|| panic!("no request span: {queued}"));
    assert_eq!(request_span["request_id"], "trace-me-42");

    // The worker's lines sit in the job attempt's span.
    let completed = parse(log.wait_for("\"job completed\""));
    let job_span = completed["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "job"))
        .unwrap_or_else(|| panic!("no job span: {completed}"));
    assert_eq!(job_span["job_id"], queued["job_id"]);
    assert_eq!(job_span["attempt"], 1);
    assert_eq!(job_span["file_ids"], "12345");

    // Fetching the download link logs the request, but not the link's signature.
    let job_id = queued["job_id"].as_str().unwrap();
    let (_, status) = http(&addr, "GET", &format!("/v1/download/status/{job_id}"), "");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let url = status["url"].as_str().unwrap();
    let link = &url[url.find("/v1/files/").unwrap()..];
    let signature = link.split("signature=").nth(1).unwrap().to_owned();
    let archive = request(&addr, "GET", link, "", &[]);
    assert_eq!(archive.status(), 200, "the link serves the archive");
    assert!(archive.headers().contains_key("content-length"));
    // The request's lines name its path (without the query).
    let served = parse(log.wait_for(r#""path":"/v1/files/downloads/12345.zip""#));
    assert_eq!(
        served["target"]
            .as_str()
            .map(|t| t.starts_with("tower_http")),
        Some(true)
    );

    for line in log.lines_so_far() {
        parse(line.to_owned());
        assert!(!line.contains(secret), "a secret was logged: {line}");
        assert!(
            !line.contains(&signature),
            "a link signature was logged: {line}"
        );
    }
}

#[test]
fn a_bad_log_format_stops_the_server_with_a_message_naming_it() {
    let storage = tempfile::tempdir().unwrap();
    let output = server_command(storage.path(), &[("LOG_FORMAT", "xml")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("LOG_FORMAT=\"xml\" is invalid"), "{log}");
}

#[test]
fn print_config_keys_lists_every_variable_and_healthcheck_asks_the_running_server() {
    let storage = tempfile::tempdir().unwrap();
    let keys = server_command(storage.path(), &[])
        .arg("--print-config-keys")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(keys.status.success());
    let keys = String::from_utf8(keys.stdout).unwrap();
    for name in [
        "LEPTOS_SITE_ADDR",
        "REDIS_URL",
        "S3_PUBLIC_ENDPOINT",
        "WORKER_CONCURRENCY",
    ] {
        assert!(keys.lines().any(|line| line == name), "{name} in {keys}");
    }

    let (_server, _log, addr) = start(storage.path(), &[]);
    let healthy = server_command(storage.path(), &[("LEPTOS_SITE_ADDR", &addr)])
        .arg("--healthcheck")
        .status()
        .unwrap();
    assert!(healthy.success());

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = free.local_addr().unwrap().to_string();
    drop(free);
    let unhealthy = server_command(storage.path(), &[("LEPTOS_SITE_ADDR", &nobody)])
        .arg("--healthcheck")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!unhealthy.success());
}

#[test]
fn instances_sharing_redis_and_s3_split_the_work_and_an_api_only_one_does_none() {
    let s3 = common::s3_server::S3Server::start();
    let (url, prefix) = redis_env();
    let mut settings: Vec<(String, String)> = s3.env("ferry-scale");
    settings.extend(
        [
            ("REDIS_URL", url.as_str()),
            ("QUEUE_PREFIX", prefix.as_str()),
            ("DOWNLOAD_DELAY_MIN_MS", "600"),
            ("DOWNLOAD_DELAY_MAX_MS", "900"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let with = |concurrency: &'static str| {
        let mut all: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.push(("WORKER_CONCURRENCY", concurrency));
        all
    };
    let storage = tempfile::tempdir().unwrap();
    let (_a, mut a_log, a_addr) = start(storage.path(), &with("2"));
    let (_b, mut b_log, b_addr) = start(storage.path(), &with("2"));
    let (_api, mut api_log, api_addr) = start(storage.path(), &with("0"));

    // Everything goes in through the API-only instance.
    let jobs: Vec<String> = (0..8)
        .map(|i| {
            let body = format!(r#"{{"file_id": {}}}"#, 20_000 + i);
            let (status, reply) = post_json(&api_addr, "/v1/download/initiate", &body);
            assert_eq!(status, 202, "{reply}");
            job_id_of(&reply)
        })
        .collect();
    for job_id in &jobs {
        wait_until_completed(&api_addr, job_id);
    }

    // Every instance reads every job the same way.
    for job_id in &jobs {
        let path = format!("/v1/download/status/{job_id}");
        let reads: Vec<serde_json::Value> = [&a_addr, &b_addr, &api_addr]
            .iter()
            .map(|addr| serde_json::from_str(&http(addr, "GET", &path, "").1).unwrap())
            .collect();
        for read in &reads {
            assert_eq!(read["status"], "completed");
            assert_eq!(read["size"], reads[0]["size"]);
            assert_eq!(read["completedAt"], reads[0]["completedAt"]);
        }
    }

    // Both workers took part; the API-only instance started nothing.
    let started = |log: &mut Log| {
        log.read_until_quiet(Duration::from_millis(300));
        log.lines_so_far()
            .filter(|line| line.contains("job started"))
            .count()
    };
    let (on_a, on_b, on_api) = (
        started(&mut a_log),
        started(&mut b_log),
        started(&mut api_log),
    );
    assert_eq!(on_a + on_b, 8, "each job ran once: {on_a} + {on_b}");
    assert!(
        on_a > 0 && on_b > 0,
        "both worker instances took jobs: {on_a}, {on_b}"
    );
    assert_eq!(on_api, 0, "the API-only instance ran nothing");
}
