//! Fault injection against real processes: the server binary, its own `redis-server` (AOF) and
//! its own S3 server (SeaweedFS). Each test injects one fault — a killed or frozen worker, Redis
//! or S3 going away, S3 refusing writes, skewed host clocks — and then checks the end state:
//! no job lost, none completed twice, no orphaned multipart upload, every status readable.

mod common;

use common::{
    ferry_process::{http, job_id_of, post_json, signal, start, Log, RunningServer},
    redis_server::RedisServer,
    s3_server::S3Server,
};
use serde_json::Value;
use std::{
    collections::HashSet,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

const BUCKET: &str = "ferry-faults";

/// One Redis, one S3 server and a scratch directory, shared by the Ferry instances of a test.
struct Stack {
    redis: RedisServer,
    s3: S3Server,
    dir: tempfile::TempDir,
}

/// A running Ferry instance.
struct Instance {
    server: RunningServer,
    log: Log,
    addr: String,
}

impl Stack {
    fn start() -> Self {
        Self {
            redis: RedisServer::start(),
            s3: S3Server::start(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts an instance on this stack with the S3 identity `s3_env` and `extra` settings.
    fn ferry_with(&self, s3_env: Vec<(String, String)>, extra: &[(&str, &str)]) -> Instance {
        let redis_url = self.redis.url();
        let mut vars: Vec<(&str, &str)> = s3_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        vars.extend([
            ("REDIS_URL", redis_url.as_str()),
            ("QUEUE_PREFIX", "faults"),
            ("RATE_LIMIT_MAX_REQUESTS", "1000000"),
            ("INITIATE_RATE_LIMIT_MAX_REQUESTS", "1000000"),
            ("MAX_ACTIVE_JOBS_PER_CLIENT", "1000000"),
        ]);
        vars.extend_from_slice(extra);
        let (server, log, addr) = start(self.dir.path(), &vars);
        Instance { server, log, addr }
    }

    fn ferry(&self, extra: &[(&str, &str)]) -> Instance {
        self.ferry_with(self.s3.env(BUCKET), extra)
    }
}

fn initiate(addr: &str, file_id: u64) -> String {
    let (status, body) = post_json(
        addr,
        "/v1/download/initiate",
        &format!(r#"{{"file_id": {file_id}}}"#),
    );
    assert_eq!(status, 202, "{body}");
    job_id_of(&body)
}

fn status(addr: &str, job_id: &str) -> (u16, Value) {
    let (code, body) = http(addr, "GET", &format!("/v1/download/status/{job_id}"), "");
    let value = serde_json::from_str(&body)
        .unwrap_or_else(|_| panic!("status {code} is not JSON: {body:?}"));
    (code, value)
}

/// The jobs that were started more than once, according to the logs.
fn rerun_jobs(logs: &[String]) -> HashSet<String> {
    logs.iter()
        .filter(|line| line.contains("job started") && !line.contains("attempt=1 "))
        .filter_map(|line| line.split("job_id=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn is_finished(record: &Value) -> bool {
    matches!(
        record["status"].as_str(),
        Some("completed" | "failed" | "cancelled")
    )
}

/// Polls until every job is finished; returns their final records, in the order given. While a
/// fault lasts a status may answer 503; once the jobs are done every one must answer 200.
fn wait_until_finished(addr: &str, jobs: &[String], within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let records: Vec<Value> = jobs
            .iter()
            .map(|job| {
                let (code, record) = status(addr, job);
                assert!(
                    code == 200 || code == 503,
                    "a status is a record or a 503 while a dependency is away: {code} {record}"
                );
                record
            })
            .collect();
        if records.iter().all(is_finished) {
            return records;
        }
        let open: Vec<&Value> = records.iter().filter(|r| !is_finished(r)).collect();
        assert!(
            Instant::now() < deadline,
            "{} jobs not finished, e.g. {}",
            open.len(),
            open[0]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every job completed, its archive is in the bucket with the recorded size, no multipart
/// upload is left behind, and no job's completion was accepted twice (each accepted completion
/// logs one "job completed" line; `logs` holds every line of every instance, killed ones too).
fn assert_all_completed_once(stack: &Stack, records: &[Value], logs: &[String]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = stack.s3.client();
    for record in records {
        assert_eq!(record["status"], "completed", "{record}");
        let job_id = record["jobId"].as_str().unwrap();
        let completions = logs
            .iter()
            .filter(|line| line.contains("job completed") && line.contains(job_id))
            .count();
        assert!(completions <= 1, "{job_id} completed {completions} times");
        let file_id = record["fileIds"][0].as_u64().unwrap();
        let head = runtime
            .block_on(
                client
                    .head_object()
                    .bucket(BUCKET)
                    .key(format!("downloads/{file_id}.zip"))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("{job_id}'s archive is missing: {e:?}"));
        assert_eq!(
            head.content_length().map(|n| n as u64),
            record["size"].as_u64(),
            "{record}"
        );
    }
    let uploads = runtime
        .block_on(client.list_multipart_uploads().bucket(BUCKET).send())
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "orphaned multipart uploads: {:?}",
        uploads.uploads()
    );
}

fn in_progress_uploads(stack: &Stack, runtime: &tokio::runtime::Runtime) -> HashSet<String> {
    let listing = runtime.block_on(
        stack
            .s3
            .client()
            .list_multipart_uploads()
            .bucket(BUCKET)
            .send(),
    );
    listing
        .map(|l| {
            l.uploads()
                .iter()
                .filter_map(|u| u.upload_id().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The multipart uploads that job records name as in flight (`QUEUE_PREFIX=faults`).
fn noted_uploads(stack: &Stack) -> HashSet<String> {
    let mut redis = redis::Client::open(stack.redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("{faults}:job:*")
        .query(&mut redis)
        .unwrap();
    keys.iter()
        .filter_map(|key| {
            redis::cmd("HGET")
                .arg(key)
                .arg("upload")
                .query::<Option<String>>(&mut redis)
                .unwrap()
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Moment {
    /// While the simulated download runs.
    Processing,
    /// While a multipart upload to S3 is in flight.
    Uploading,
    /// After the archive is in S3, before the completion is recorded.
    BeforeCompletion,
}

#[test]
fn workers_killed_mid_job_mid_upload_and_before_completion_lose_nothing() {
    let stack = Stack::start();
    let worker_settings = [
        ("WORKER_CONCURRENCY", "4"),
        ("DOWNLOAD_DELAY_MIN_MS", "300"),
        ("DOWNLOAD_DELAY_MAX_MS", "900"),
        // 12 MiB archives go up in two parts: an upload is a multipart upload.
        ("SIMULATED_FILE_SIZE_BYTES", "12582912"),
        // A window between the upload and the completion to kill the worker in.
        ("SIMULATED_COMPLETION_DELAY_MS", "1500"),
        ("LEASE_TTL_MS", "2000"),
        ("JOB_MAX_ATTEMPTS", "20"),
        ("RETRY_BACKOFF_BASE_MS", "200"),
    ];
    // Delays and attempts are fixed when a job is initiated: the API instance has them too.
    let mut api_settings = worker_settings.to_vec();
    api_settings.push(("WORKER_CONCURRENCY", "0"));
    let api = stack.ferry(&api_settings);
    let jobs: Vec<String> = (0..50).map(|i| initiate(&api.addr, 30_000 + i)).collect();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut logs = Vec::new();
    for round in 0..5 {
        for moment in [
            Moment::Processing,
            Moment::Uploading,
            Moment::BeforeCompletion,
        ] {
            let known_uploads = in_progress_uploads(&stack, &runtime);
            let mut worker = stack.ferry(&worker_settings);
            match moment {
                Moment::Processing => {
                    worker.log.wait_for("job started");
                }
                Moment::Uploading => {
                    // A new multipart upload is in flight, and the job's record knows it.
                    let deadline = Instant::now() + Duration::from_secs(60);
                    loop {
                        let new: HashSet<String> = in_progress_uploads(&stack, &runtime)
                            .difference(&known_uploads)
                            .cloned()
                            .collect();
                        if !new.is_disjoint(&noted_uploads(&stack)) {
                            break;
                        }
                        assert!(Instant::now() < deadline, "round {round}: no upload began");
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                Moment::BeforeCompletion => {
                    worker.log.wait_for("archive uploaded");
                }
            }
            signal(&worker.server, "KILL");
            logs.extend(worker.log.all_lines());
        }
    }

    let survivor = stack.ferry(&worker_settings);
    let records = wait_until_finished(&api.addr, &jobs, Duration::from_secs(240));
    signal(&survivor.server, "KILL");
    logs.extend(survivor.log.all_lines());
    assert_all_completed_once(&stack, &records, &logs);
    let rerun = rerun_jobs(&logs).len();
    assert!(
        rerun >= 15,
        "every killed attempt ran again: {rerun} jobs rerun"
    );
}

#[test]
fn a_redis_restart_mid_run_loses_no_job() {
    let mut stack = Stack::start();
    let mut ferry = stack.ferry(&[
        ("WORKER_CONCURRENCY", "3"),
        ("DOWNLOAD_DELAY_MIN_MS", "500"),
        ("DOWNLOAD_DELAY_MAX_MS", "1500"),
        ("LEASE_TTL_MS", "3000"),
    ]);
    let jobs: Vec<String> = (0..12).map(|i| initiate(&ferry.addr, 31_000 + i)).collect();
    ferry.log.wait_for("job started");

    // SIGTERM: Redis writes its AOF and exits, as in an operator's restart.
    stack.redis.stop();
    stack.redis.start_again();

    let records = wait_until_finished(&ferry.addr, &jobs, Duration::from_secs(120));
    signal(&ferry.server, "KILL");
    assert_all_completed_once(&stack, &records, &ferry.log.all_lines());
}

#[test]
fn redis_away_for_ten_seconds_gives_503s_then_recovers_alone() {
    let mut stack = Stack::start();
    let mut ferry = stack.ferry(&[
        ("WORKER_CONCURRENCY", "2"),
        ("DOWNLOAD_DELAY_MIN_MS", "500"),
        ("DOWNLOAD_DELAY_MAX_MS", "800"),
        ("LEASE_TTL_MS", "3000"),
    ]);
    let jobs: Vec<String> = (0..6).map(|i| initiate(&ferry.addr, 32_000 + i)).collect();
    ferry.log.wait_for("job started");

    stack.redis.stop();
    let away = Instant::now();
    let (code, body) = status(&ferry.addr, &jobs[0]);
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"], "QueueUnavailable", "{body}");
    let (code, reply) = post_json(
        &ferry.addr,
        "/v1/download/initiate",
        r#"{"file_id": 32999}"#,
    );
    assert_eq!(code, 503, "{reply}");
    let (code, _) = http(&ferry.addr, "GET", "/health", "");
    assert_eq!(code, 503);
    // The outage itself: ten seconds without Redis.
    std::thread::sleep(Duration::from_secs(10).saturating_sub(away.elapsed()));
    stack.redis.start_again();

    // Nobody restarts Ferry: it reconnects by itself.
    let records = wait_until_finished(&ferry.addr, &jobs, Duration::from_secs(120));
    let (code, _) = http(&ferry.addr, "GET", "/health", "");
    assert_eq!(code, 200);
    signal(&ferry.server, "KILL");
    assert_all_completed_once(&stack, &records, &ferry.log.all_lines());
}

#[test]
fn s3_away_for_ten_seconds_jobs_retry_then_complete() {
    let mut stack = Stack::start();
    let mut ferry = stack.ferry(&[
        ("WORKER_CONCURRENCY", "3"),
        ("DOWNLOAD_DELAY_MIN_MS", "200"),
        ("DOWNLOAD_DELAY_MAX_MS", "400"),
        ("RETRY_BACKOFF_BASE_MS", "1000"),
        ("JOB_MAX_ATTEMPTS", "6"),
    ]);
    stack.s3.stop();
    let away = Instant::now();
    let jobs: Vec<String> = (0..6).map(|i| initiate(&ferry.addr, 33_000 + i)).collect();
    ferry.log.wait_for("attempt failed; will retry");
    // The outage itself: ten seconds without S3.
    std::thread::sleep(Duration::from_secs(10).saturating_sub(away.elapsed()));
    stack.s3.start_again();

    let records = wait_until_finished(&ferry.addr, &jobs, Duration::from_secs(120));
    signal(&ferry.server, "KILL");
    let logs = ferry.log.all_lines();
    assert_all_completed_once(&stack, &records, &logs);
    for record in &records {
        let job_id = record["jobId"].as_str().unwrap();
        assert!(
            logs.iter()
                .any(|l| l.contains("attempt failed; will retry") && l.contains(job_id)),
            "{job_id} was retried while S3 was away"
        );
    }
}

#[test]
fn s3_refusing_writes_fails_jobs_with_a_clear_message_after_the_last_attempt() {
    let stack = Stack::start();
    // The bucket exists, but Ferry's identity may only read it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(stack.s3.client().create_bucket().bucket(BUCKET).send())
        .unwrap();
    let ferry = stack.ferry_with(
        stack.s3.env_read_only(BUCKET),
        &[
            ("WORKER_CONCURRENCY", "2"),
            ("DOWNLOAD_DELAY_MIN_MS", "100"),
            ("DOWNLOAD_DELAY_MAX_MS", "200"),
            ("RETRY_BACKOFF_BASE_MS", "100"),
            ("JOB_MAX_ATTEMPTS", "3"),
        ],
    );
    // Single archives go up with one PutObject, bundles this big too: both are refused.
    let jobs: Vec<String> = (0..3).map(|i| initiate(&ferry.addr, 34_000 + i)).collect();
    let records = wait_until_finished(&ferry.addr, &jobs, Duration::from_secs(60));
    for record in &records {
        assert_eq!(record["status"], "failed", "{record}");
        assert_eq!(record["attempt"], 3, "every attempt was used: {record}");
        let error = record["error"].as_str().unwrap();
        assert!(
            error.contains("storage refused the request: AccessDenied"),
            "a message naming the refusal: {error}"
        );
    }
    signal(&ferry.server, "KILL");
}

#[test]
fn a_frozen_worker_s_late_writes_are_rejected_and_the_new_holder_s_record_stands() {
    let stack = Stack::start();
    let settings = [
        ("WORKER_CONCURRENCY", "1"),
        ("DOWNLOAD_DELAY_MIN_MS", "300"),
        ("DOWNLOAD_DELAY_MAX_MS", "300"),
        ("SIMULATED_COMPLETION_DELAY_MS", "500"),
        ("LEASE_TTL_MS", "2000"),
    ];
    let mut frozen = stack.ferry(&settings);
    let job_id = initiate(&frozen.addr, 35_000);
    // Frozen with the archive in S3 and the completion not yet recorded.
    frozen.log.wait_for("archive uploaded");
    signal(&frozen.server, "STOP");

    let mut holder = stack.ferry(&settings);
    holder
        .log
        .wait_for(&format!("job started job_id={job_id} attempt=2"));
    let records = wait_until_finished(
        &holder.addr,
        std::slice::from_ref(&job_id),
        Duration::from_secs(60),
    );
    let final_record = records[0].clone();
    holder
        .log
        .wait_for(&format!("job completed job_id={job_id}"));

    signal(&frozen.server, "CONT");
    // Its next write (progress, renewal or completion) is refused: it learns it lost the job.
    let rejected = frozen
        .log
        .wait_for_any(&["result not recorded", "job abandoned"]);
    assert!(rejected.contains(&job_id), "{rejected}");
    let (_, after) = status(&holder.addr, &job_id);
    let stored = |record: &Value| {
        let mut record = record.clone();
        // Links are signed afresh on every read.
        record.as_object_mut().unwrap().remove("url");
        record.as_object_mut().unwrap().remove("urlExpiresAt");
        record
    };
    assert_eq!(
        stored(&after),
        stored(&final_record),
        "the late worker changed nothing"
    );
    signal(&frozen.server, "KILL");
    signal(&holder.server, "KILL");
    let mut logs = frozen.log.all_lines();
    assert!(
        !logs.iter().any(|l| l.contains("job completed")),
        "the frozen worker's completion was refused"
    );
    logs.extend(holder.log.all_lines());
    assert_all_completed_once(&stack, &records, &logs);
}

fn libfaketime() -> String {
    let path = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
    assert!(
        std::path::Path::new(path).exists(),
        "libfaketime is missing: apt-get install faketime (scripts/test installs it)"
    );
    path.to_owned()
}

fn unix_millis(timestamp: &Value) -> u64 {
    timestamp
        .as_str()
        .unwrap()
        .parse::<app::api::Timestamp>()
        .unwrap()
        .unix_millis()
}

#[test]
fn hosts_with_skewed_clocks_and_other_time_zones_agree_on_redis_time() {
    let stack = Stack::start();
    let faketime = libfaketime();
    let shared = [
        ("WORKER_CONCURRENCY", "2"),
        ("DOWNLOAD_DELAY_MIN_MS", "100"),
        ("DOWNLOAD_DELAY_MAX_MS", "300"),
        ("LD_PRELOAD", faketime.as_str()),
        // Only the wall clock is skewed; timers keep running at the real pace.
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ];
    // Five minutes either way: inside what S3 signatures tolerate, far outside what ordering does.
    let mut ahead_settings = shared.to_vec();
    ahead_settings.extend([("FAKETIME", "+300s"), ("TZ", "Pacific/Kiritimati")]);
    let mut behind_settings = shared.to_vec();
    behind_settings.extend([("FAKETIME", "-300s"), ("TZ", "America/Los_Angeles")]);
    let ahead = stack.ferry(&ahead_settings);
    let behind = stack.ferry(&behind_settings);

    let real_now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let began = real_now();
    let jobs: Vec<String> = (0..20)
        .map(|i| {
            let host = if i % 2 == 0 { &ahead } else { &behind };
            initiate(&host.addr, 36_000 + i)
        })
        .collect();
    let records = wait_until_finished(&ahead.addr, &jobs, Duration::from_secs(120));
    let ended = real_now();

    let mut previous_created = 0;
    for record in &records {
        assert_eq!(record["status"], "completed", "{record}");
        let created = unix_millis(&record["createdAt"]);
        let completed = unix_millis(&record["completedAt"]);
        assert!(
            previous_created <= created,
            "created in the order initiated: {records:#?}"
        );
        assert!(created <= completed, "{record}");
        // Redis's clock, not a host's: within a second of the real time of the run.
        assert!(
            began.saturating_sub(1_000) <= created && completed <= ended + 1_000,
            "a host's skewed clock leaked into {record}"
        );
        previous_created = created;
    }
    // Both hosts did work, so both clocks had their chance to leak.
    signal(&ahead.server, "KILL");
    signal(&behind.server, "KILL");
    for host in [ahead, behind] {
        let lines = host.log.all_lines();
        assert!(lines.iter().any(|l| l.contains("job completed")));
    }
}
