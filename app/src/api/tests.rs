//! The JSON shapes of the contract, pinned.

use super::*;
use serde_json::json;

fn job_id() -> JobId {
    "01HQ3Z8M5X7Y9A2B4C6D8E0F1G".parse().unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn file_ids_outside_the_service_range_are_refused() {
    assert!(FileId::new(9_999).is_err());
    assert!(FileId::new(10_000).is_ok());
    assert!(FileId::new(100_000_000).is_ok());
    assert_eq!(
        FileId::new(100_000_001),
        Err(InvalidRequest::FileIdOutOfRange(100_000_001))
    );
}

#[test]
fn a_single_file_request_parses() {
    let request: InitiateRequest = serde_json::from_value(json!({"file_id": 12345})).unwrap();
    assert_eq!(
        request.file_ids().unwrap(),
        vec![FileId::new(12345).unwrap()]
    );
}

#[test]
fn wrong_types_and_out_of_range_ids_fail_to_parse() {
    for body in [
        json!({"file_id": "12345"}),
        json!({"file_id": -1}),
        json!({"file_id": 1.5}),
        json!({"file_id": 5}),
        json!({"file_ids": [12345, 7]}),
        json!({"file_ids": "12345"}),
    ] {
        assert!(
            serde_json::from_value::<InitiateRequest>(body.clone()).is_err(),
            "{body} should not parse"
        );
    }
}

#[test]
fn the_shape_of_a_request_is_checked() {
    let parse = |v| {
        serde_json::from_value::<InitiateRequest>(v)
            .unwrap()
            .file_ids()
    };
    assert_eq!(parse(json!({})), Err(InvalidRequest::NoFileId));
    assert_eq!(
        parse(json!({"file_id": 12345, "file_ids": [12346]})),
        Err(InvalidRequest::BothFileIdForms)
    );
    assert_eq!(
        parse(json!({"file_ids": []})),
        Err(InvalidRequest::EmptyBundle)
    );
    let too_many: Vec<u64> = (10_000..10_000 + 1001).collect();
    assert_eq!(
        parse(json!({ "file_ids": too_many })),
        Err(InvalidRequest::BundleTooLarge(1001))
    );
    assert_eq!(
        parse(json!({"file_ids": [12345, 23456, 12345]})),
        Err(InvalidRequest::DuplicateFileId(FileId::new(12345).unwrap()))
    );
    let thousand: Vec<u64> = (10_000..11_000).collect();
    assert_eq!(parse(json!({ "file_ids": thousand })).unwrap().len(), 1000);
    // Present means a value: null is refused, not read as "absent".
    for null_field in [
        json!({"file_id": 12345, "file_ids": null}),
        json!({"file_id": null}),
    ] {
        assert!(serde_json::from_value::<InitiateRequest>(null_field).is_err());
    }
    // Integral numbers are integers, however they are written.
    assert_eq!(
        parse(json!({"file_id": 19_310_440.0})),
        Ok(vec![FileId::new(19_310_440).unwrap()])
    );
    assert!(serde_json::from_value::<InitiateRequest>(json!({"file_id": 12345.5})).is_err());
}

#[test]
fn for_files_round_trips_through_file_ids() {
    let ids = [FileId::new(12345).unwrap(), FileId::new(23456).unwrap()];
    assert_eq!(InitiateRequest::for_files(&ids).file_ids().unwrap(), ids);
    assert_eq!(
        serde_json::to_value(InitiateRequest::for_files(&ids[..1])).unwrap(),
        json!({"file_id": 12345})
    );
}

#[test]
fn job_ids_must_be_ulids() {
    assert!("not-a-ulid".parse::<JobId>().is_err());
    assert!("01HQ3Z8M5X7Y9A2B4C6D8E0F1".parse::<JobId>().is_err());
    assert_eq!(job_id().to_string(), "01HQ3Z8M5X7Y9A2B4C6D8E0F1G");
}

#[test]
fn timestamps_are_rfc3339_utc_with_millis() {
    let t = Timestamp::from_unix_millis(1_700_000_000_123);
    assert_eq!(t.to_string(), "2023-11-14T22:13:20.123Z");
    assert_eq!(at("2023-11-14T22:13:20.123Z"), t);
    assert!("yesterday".parse::<Timestamp>().is_err());
}

#[test]
fn initiate_response_matches_the_contract() {
    let body = InitiateResponse {
        job_id: job_id(),
        status: JobPhase::Queued,
        total_file_ids: 1,
        trace: JobTrace::default(),
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"jobId": "01HQ3Z8M5X7Y9A2B4C6D8E0F1G", "status": "queued", "totalFileIds": 1})
    );
}

#[test]
fn a_traced_job_says_which_trace_and_where_to_see_it() {
    let trace = JobTrace {
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        trace_url: Some("http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736".into()),
    };
    let body = InitiateResponse {
        job_id: job_id(),
        status: JobPhase::Queued,
        total_file_ids: 1,
        trace: trace.clone(),
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"jobId": "01HQ3Z8M5X7Y9A2B4C6D8E0F1G", "status": "queued", "totalFileIds": 1,
            "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            "traceUrl": "http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"})
    );
    let traced = JobStatus {
        job_id: job_id(),
        file_ids: vec![FileId::new(12345).unwrap()],
        created_at: at("2026-01-01T00:00:00.000Z"),
        trace,
        state: JobState::Cancelled {
            cancelled_at: at("2026-01-01T00:00:01.000Z"),
        },
    };
    let value = serde_json::to_value(&traced).unwrap();
    assert_eq!(value["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(value["status"], "cancelled");
    let back: JobStatus = serde_json::from_value(value).unwrap();
    assert_eq!(back, traced, "a traced status must round-trip");
}

fn status(state: JobState) -> serde_json::Value {
    let status = JobStatus {
        job_id: job_id(),
        file_ids: vec![FileId::new(12345).unwrap()],
        created_at: at("2026-01-01T00:00:00.000Z"),
        trace: JobTrace::default(),
        state,
    };
    let value = serde_json::to_value(&status).unwrap();
    let back: JobStatus = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(back, status, "status JSON must round-trip");
    value
}

#[test]
fn every_status_shape_matches_the_contract() {
    let common = |extra: serde_json::Value| {
        let mut v = json!({
            "jobId": "01HQ3Z8M5X7Y9A2B4C6D8E0F1G",
            "fileIds": [12345],
            "createdAt": "2026-01-01T00:00:00.000Z",
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    assert_eq!(
        status(JobState::Queued {
            progress: 0,
            attempt: 1,
            max_attempts: 4,
            paused: false,
            bytes_done: 0,
            bytes_total: None,
            files_done: 0,
            files_total: 1,
        }),
        common(
            json!({"status": "queued", "progress": 0, "attempt": 1, "maxAttempts": 4,
            "paused": false, "bytesDone": 0, "bytesTotal": null, "filesDone": 0, "filesTotal": 1})
        )
    );
    assert_eq!(
        status(JobState::Processing {
            progress: 45,
            attempt: 1,
            max_attempts: 4,
            started_at: at("2026-01-01T00:00:01.000Z"),
            bytes_done: 45_000_000,
            bytes_total: Some(100_000_000),
            files_done: 0,
            files_total: 1,
        }),
        common(json!({"status": "processing", "progress": 45, "attempt": 1,
            "maxAttempts": 4, "startedAt": "2026-01-01T00:00:01.000Z",
            "bytesDone": 45_000_000, "bytesTotal": 100_000_000, "filesDone": 0,
            "filesTotal": 1}))
    );
    assert_eq!(
        status(JobState::Retrying {
            progress: 0,
            attempt: 2,
            max_attempts: 4,
            error: "boom".into(),
            next_attempt_at: at("2026-01-01T00:00:02.000Z"),
            bytes_done: 0,
            bytes_total: None,
            files_done: 0,
            files_total: 1,
        }),
        common(
            json!({"status": "retrying", "progress": 0, "attempt": 2, "maxAttempts": 4,
            "error": "boom", "nextAttemptAt": "2026-01-01T00:00:02.000Z",
            "bytesDone": 0, "bytesTotal": null, "filesDone": 0, "filesTotal": 1})
        )
    );
    assert_eq!(
        status(JobState::Completed {
            progress: 100,
            url: "https://example.test/f.zip".into(),
            url_expires_at: at("2026-01-01T01:00:00.000Z"),
            download_url: "https://ferry.test/v1/download/01HQ3Z8M5X7Y9A2B4C6D8E0F1G/file".into(),
            completed_at: at("2026-01-01T00:00:03.000Z"),
            expires_at: at("2026-01-02T00:00:03.000Z"),
            size: 123
        }),
        common(json!({"status": "completed", "progress": 100,
            "url": "https://example.test/f.zip", "urlExpiresAt": "2026-01-01T01:00:00.000Z",
            "downloadUrl": "https://ferry.test/v1/download/01HQ3Z8M5X7Y9A2B4C6D8E0F1G/file",
            "completedAt": "2026-01-01T00:00:03.000Z",
            "expiresAt": "2026-01-02T00:00:03.000Z", "size": 123}))
    );
    assert_eq!(
        status(JobState::Failed {
            error: "boom".into(),
            attempt: 4,
            max_attempts: 4,
            failed_at: at("2026-01-01T00:00:04.000Z")
        }),
        common(
            json!({"status": "failed", "error": "boom", "attempt": 4, "maxAttempts": 4,
            "failedAt": "2026-01-01T00:00:04.000Z"})
        )
    );
    assert_eq!(
        status(JobState::Cancelled {
            cancelled_at: at("2026-01-01T00:00:05.000Z")
        }),
        common(json!({"status": "cancelled", "cancelledAt": "2026-01-01T00:00:05.000Z"}))
    );
    assert_eq!(
        status(JobState::Expired {
            completed_at: at("2026-01-01T00:00:03.000Z"),
            expired_at: at("2026-01-02T00:00:03.000Z"),
        }),
        common(
            json!({"status": "expired", "completedAt": "2026-01-01T00:00:03.000Z",
            "expiredAt": "2026-01-02T00:00:03.000Z"})
        )
    );
}

#[test]
fn phase_names_match_their_json_and_parse_back() {
    for phase in JobPhase::ALL {
        assert_eq!(phase.as_str().parse::<JobPhase>(), Ok(phase));
        assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
    }
    assert!("done".parse::<JobPhase>().is_err());
}

#[test]
fn check_bodies_match_the_contract() {
    let request: CheckRequest = serde_json::from_value(json!({"file_id": 12345})).unwrap();
    assert_eq!(request.file_id, FileId::new(12345).unwrap());
    let response = CheckResponse {
        file_id: FileId::new(12345).unwrap(),
        available: true,
        s3_key: Some("downloads/12345.zip".into()),
        size: Some(7),
        source_exists: Some(true),
        source_size: Some(5),
    };
    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"file_id": 12345, "available": true, "s3Key": "downloads/12345.zip", "size": 7,
            "sourceExists": true, "sourceSize": 5})
    );
}

#[test]
fn error_body_matches_the_contract() {
    let body = ErrorBody {
        error: "InvalidRequest".into(),
        message: "m".into(),
        request_id: "r".into(),
        trace_id: None,
    };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"error": "InvalidRequest", "message": "m", "requestId": "r"})
    );
    let traced = ErrorBody {
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        ..body
    };
    assert_eq!(
        serde_json::to_value(traced).unwrap(),
        json!({"error": "InvalidRequest", "message": "m", "requestId": "r",
            "traceId": "4bf92f3577b34da6a3ce929d0e0e4736"})
    );
}

#[test]
fn console_bodies_match_the_contract_and_hide_the_token() {
    let sign_in: AdminSignIn = serde_json::from_value(json!({"token": "s3cret-token"})).unwrap();
    assert_eq!(sign_in.token, "s3cret-token");
    assert!(!format!("{sign_in:?}").contains("s3cret"));
    let session = AdminSession {
        csrf_token: "ab12".into(),
        expires_at: at("2026-12-01T12:00:00.000Z"),
    };
    assert_eq!(
        serde_json::to_value(session).unwrap(),
        json!({"csrfToken": "ab12", "expiresAt": "2026-12-01T12:00:00.000Z"})
    );
    let overview = AdminOverview {
        queued: 3,
        retrying: 1,
        processing: 2,
        paused: false,
        activity_per_minute: vec![ActivityInMinute {
            minute: at("2026-12-01T12:00:00.000Z"),
            completed: 4,
            failed: 1,
            cancelled: 0,
            waiting: Some(7),
            processing: None,
        }],
        timings: Timings {
            jobs: 5,
            wait_median_ms: Some(12),
            wait_p95_ms: Some(40),
            run_median_ms: Some(1_500),
            run_p95_ms: Some(2_900),
        },
        instances: vec![Instance {
            id: "web-1-12-ab12".into(),
            host: "web-1".into(),
            concurrency: 5,
            running: vec![job_id()],
            started_at: at("2026-12-01T11:00:00.000Z"),
            seen_at: at("2026-12-01T12:00:01.000Z"),
            origin: OriginHealth {
                state: OriginState::Answering,
                at: Some(at("2026-12-01T11:59:58.000Z")),
                error: None,
            },
        }],
        health: HealthChecks {
            storage: CheckResult::Ok,
            queue: CheckResult::Ok,
        },
    };
    assert_eq!(
        serde_json::to_value(overview).unwrap(),
        json!({"queued": 3, "retrying": 1, "processing": 2, "paused": false, "activityPerMinute": [
            {"minute": "2026-12-01T12:00:00.000Z", "completed": 4, "failed": 1, "cancelled": 0,
                "waiting": 7, "processing": null}
        ], "timings": {"jobs": 5, "waitMedianMs": 12, "waitP95Ms": 40, "runMedianMs": 1500,
            "runP95Ms": 2900},
        "instances": [{"id": "web-1-12-ab12", "host": "web-1", "concurrency": 5,
            "running": ["01HQ3Z8M5X7Y9A2B4C6D8E0F1G"], "startedAt": "2026-12-01T11:00:00.000Z",
            "seenAt": "2026-12-01T12:00:01.000Z", "origin": {"state": "answering",
                "at": "2026-12-01T11:59:58.000Z", "error": null}}],
            "health": {"storage": "ok", "queue": "ok"}})
    );
}
