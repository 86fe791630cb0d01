//! Defaults, bounds and messages of every variable.

use super::variables::{Kind, OTEL_EXPORTER_OTLP_ENDPOINT, VARIABLES};
use super::*;
use crate::origin::simulated::SimulatedSettings;
use std::collections::HashMap;
use std::collections::HashSet;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_follow_the_design() {
    let c = config(&[]).unwrap();
    // QueueSettings::default() and SimulatedSettings::default() are these same declared
    // defaults, so the design's figures are spelled out here.
    assert_eq!(
        c.queue,
        QueueSettings {
            max_attempts: 4,
            retry_backoff_base: Duration::from_millis(1_000),
            lease_ttl: Duration::from_millis(4_000),
            result_ttl: Duration::from_secs(86_400),
            expired_record_ttl: Duration::from_secs(7 * 86_400),
            finished_record_ttl: Duration::from_secs(3_600),
            max_active_per_client: 20,
        }
    );
    assert_eq!(c.worker.concurrency, 5);
    assert_eq!(c.presign_ttl, Duration::from_secs(3_600));
    assert_eq!(c.shutdown_grace, Duration::from_secs(10));
    let OriginSettings::Simulated(simulated) = c.origin else {
        panic!("the simulated origin is the default");
    };
    assert_eq!(
        simulated,
        SimulatedSettings {
            delay_ms: (10_000, 120_000),
            failure_rate: 0.0,
            failing_file_ids: HashSet::new(),
            file_bytes: 64 * 1024,
        }
    );
    assert_eq!(c.worker.max_job_bytes, 10 * 1024 * 1024 * 1024);
    assert_eq!(c.worker.max_files_per_job, 1000);
}

#[test]
fn the_parser_reads_exactly_the_declared_variables() {
    let read = std::cell::RefCell::new(HashSet::new());
    // With a bucket set, the S3 branch is read too; each origin reads its own.
    for origin in ["simulated", "s3", "http"] {
        Config::from_lookup(|name| {
            read.borrow_mut().insert(name.to_owned());
            match name {
                "S3_BUCKET_NAME" => Some("downloads".to_owned()),
                "ORIGIN" => Some(origin.to_owned()),
                "ORIGIN_S3_BUCKET" => Some("files".to_owned()),
                "ORIGIN_URL_TEMPLATE" => Some("http://files.internal/{file_id}".to_owned()),
                "ADMIN_TOKEN" => Some("sixteen-characters".to_owned()),
                _ => None,
            }
        })
        .unwrap();
    }
    let read = read.into_inner();
    let declared: HashSet<String> = VARIABLES
        .iter()
        // Others' variables, and LOG_FORMAT and OTEL_EXPORTER_OTLP_ENDPOINT, which logging and
        // traces read before the configuration.
        .filter(|var| {
            !matches!(var.kind, Kind::ReadBy { .. })
                && var.name != LOG_FORMAT.name
                && var.name != OTEL_EXPORTER_OTLP_ENDPOINT.name
        })
        .map(|var| var.name.to_owned())
        .collect();
    assert_eq!(read, declared);
}

#[test]
fn every_declared_default_is_allowed_by_its_own_bounds() {
    for var in VARIABLES {
        let value = var.default_value();
        let single = Config::from_lookup(|name| (name == var.name).then(|| value.clone()));
        assert!(single.is_ok(), "{}={value}: {single:?}", var.name);
    }
    assert_eq!(
        VARIABLES
            .iter()
            .map(|v| v.name)
            .collect::<HashSet<_>>()
            .len(),
        VARIABLES.len(),
        "each variable is declared once"
    );
}

/// `.env.example` and the README's table are what the declarations generate; with
/// `FERRY_WRITE_CONFIG_REFERENCE=1` the test rewrites them instead of failing.
#[test]
fn env_example_and_the_readme_table_are_generated_from_the_declarations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let write = std::env::var_os("FERRY_WRITE_CONFIG_REFERENCE").is_some();
    let env_path = root.join(".env.example");
    let readme_path = root.join("README.md");
    let env_example = reference::env_example();
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (start, end) = (
        readme
            .find(reference::README_TABLE_START)
            .expect("the README marks the table's start"),
        readme
            .find(reference::README_TABLE_END)
            .expect("the README marks the table's end")
            + reference::README_TABLE_END.len(),
    );
    let regenerated = format!(
        "{}{}{}",
        &readme[..start],
        reference::readme_table(),
        &readme[end..]
    );
    if write {
        std::fs::write(&env_path, &env_example).unwrap();
        std::fs::write(&readme_path, &regenerated).unwrap();
    }
    let hint = "run FERRY_WRITE_CONFIG_REFERENCE=1 cargo test -p server --lib config";
    assert!(
        std::fs::read_to_string(&env_path).unwrap() == env_example,
        ".env.example is stale: {hint}"
    );
    assert!(
        readme == regenerated || write,
        "README's configuration table is stale: {hint}"
    );
}

#[test]
fn a_cluster_is_named_by_its_nodes_and_excludes_a_single_server_url() {
    let c = config(&[(
        "REDIS_CLUSTER_NODES",
        "10.0.0.1:7000, redis://10.0.0.2:7001",
    )])
    .unwrap();
    assert_eq!(
        c.redis,
        Some(RedisTarget::Cluster(vec![
            "redis://10.0.0.1:7000".into(),
            "redis://10.0.0.2:7001".into()
        ]))
    );
    let both = config(&[
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("REDIS_CLUSTER_NODES", "10.0.0.1:7000"),
    ]);
    assert!(both
        .unwrap_err()
        .to_string()
        .starts_with("REDIS_CLUSTER_NODES"));
    assert!(config(&[("REDIS_CLUSTER_NODES", " , ")]).is_err());
}

#[test]
fn http_policies_default_to_open_cors_and_generous_limits() {
    let c = config(&[]).unwrap().http;
    assert_eq!(c.cors_origins, None);
    assert_eq!(c.rate_limit.max_requests, 600);
    assert_eq!(c.rate_limit.window, Duration::from_secs(60));
    assert_eq!(c.initiate_rate_limit.max_requests, 30);
    assert_eq!(c.initiate_rate_limit.window, Duration::from_secs(60));
    assert_eq!(c.max_queue_depth, 10_000);
    // Only this host is trusted by default: not the private ranges.
    let trusted = |a: &str| {
        let address: std::net::IpAddr = a.parse().unwrap();
        c.trusted_proxies.iter().any(|net| net.contains(&address))
    };
    assert!(trusted("127.0.0.1") && trusted("::1"));
    assert!(!trusted("10.1.2.3") && !trusted("192.168.0.1") && !trusted("fd00::1"));

    let c = config(&[
        ("CORS_ORIGINS", "https://a.example/, https://b.example"),
        ("TRUSTED_PROXIES", "none"),
    ])
    .unwrap()
    .http;
    assert_eq!(
        c.cors_origins,
        Some(vec!["https://a.example".into(), "https://b.example".into()])
    );
    assert!(c.trusted_proxies.is_empty());
}

#[test]
fn a_redis_password_never_reaches_an_error_or_debug_output() {
    let bad = config(&[("REDIS_URL", "redis://:hunter2@cache.internal:notaport")])
        .unwrap_err()
        .to_string();
    assert!(
        bad.starts_with("REDIS_URL") && !bad.contains("hunter2"),
        "{bad}"
    );
    assert!(bad.contains("redis://:***@cache.internal"), "{bad}");
    let good = config(&[("REDIS_URL", "redis://ferry:hunter2@cache.internal:6379/0")]).unwrap();
    let shown = format!("{:?}", good.redis);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("redis://ferry:***@cache.internal:6379/0"),
        "{shown}"
    );
}

#[test]
fn bad_values_name_the_variable() {
    let cases = [
        ("WORKER_CONCURRENCY", "five"),
        ("CORS_ORIGINS", "example.com"),
        ("RATE_LIMIT_MAX_REQUESTS", "0"),
        ("RATE_LIMIT_WINDOW_MS", "0"),
        ("INITIATE_RATE_LIMIT_MAX_REQUESTS", "0"),
        ("INITIATE_RATE_LIMIT_WINDOW_MS", "-1"),
        ("MAX_ACTIVE_JOBS_PER_CLIENT", "0"),
        ("HTTP_HEADER_TIMEOUT_MS", "5"),
        ("HTTP_MAX_CONNECTIONS", "0"),
        ("FINISHED_RECORD_TTL_SECS", "0"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("MAX_QUEUE_DEPTH", "0"),
        ("JOB_MAX_ATTEMPTS", "0"),
        ("SIMULATED_FAILURE_RATE", "1.5"),
        ("SIMULATED_FAILURE_FILE_IDS", "12345,abc"),
        ("SIMULATED_FAILURE_FILE_IDS", "5"),
        ("LEASE_TTL_MS", "-1"),
    ];
    for (name, value) in cases {
        let error = config(&[(name, value)]).unwrap_err();
        assert!(error.to_string().starts_with(name), "{error}");
    }
    let error = config(&[
        ("DOWNLOAD_DELAY_MIN_MS", "500"),
        ("DOWNLOAD_DELAY_MAX_MS", "100"),
    ])
    .unwrap_err();
    assert!(
        error.to_string().contains("DOWNLOAD_DELAY_MAX_MS"),
        "{error}"
    );
}

#[test]
fn failing_ids_are_parsed() {
    let c = config(&[("SIMULATED_FAILURE_FILE_IDS", "66666, 77777")]).unwrap();
    let OriginSettings::Simulated(simulated) = c.origin else {
        panic!("the simulated origin is the default");
    };
    assert_eq!(simulated.failing_file_ids.len(), 2);
}

#[test]
fn s3_settings_are_read_and_secrets_never_print() {
    assert!(config(&[]).unwrap().s3.is_none());
    let c = config(&[
        ("S3_ENDPOINT", "http://127.0.0.1:9000"),
        ("S3_ACCESS_KEY_ID", "minioadmin"),
        ("S3_SECRET_ACCESS_KEY", "very-secret"),
    ])
    .unwrap();
    let s3 = c.s3.unwrap();
    assert_eq!(s3.bucket, "downloads");
    assert_eq!(s3.region, "us-east-1");
    assert!(s3.force_path_style);
    assert!(!format!("{s3:?}").contains("very-secret"));
    for (name, value) in [
        ("S3_ENDPOINT", "127.0.0.1:9000"),
        ("S3_BUCKET_NAME", "Bad_Bucket"),
        ("S3_FORCE_PATH_STYLE", "maybe"),
    ] {
        let error = config(&[("S3_BUCKET_NAME", "downloads"), (name, value)]).unwrap_err();
        assert!(error.to_string().starts_with(name), "{error}");
    }
    let half = config(&[("S3_BUCKET_NAME", "downloads"), ("S3_ACCESS_KEY_ID", "x")]);
    assert!(half.is_err());
}

#[test]
fn origins_are_chosen_and_validated() {
    let c = config(&[
        ("S3_ENDPOINT", "http://127.0.0.1:9000"),
        ("S3_ACCESS_KEY_ID", "results"),
        ("S3_SECRET_ACCESS_KEY", "results-secret"),
        ("ORIGIN", "s3"),
        ("ORIGIN_S3_BUCKET", "source-files"),
    ])
    .unwrap();
    let OriginSettings::S3(s3) = c.origin else {
        panic!("ORIGIN=s3");
    };
    assert_eq!(s3.s3.bucket, "source-files");
    assert_eq!(s3.key_template, "files/{file_id}");
    assert_eq!(s3.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(s3.s3.access_key_id.as_deref(), Some("results"));
    assert!(s3.s3.force_path_style);

    let c = config(&[
        ("ORIGIN", "http"),
        ("ORIGIN_URL_TEMPLATE", "https://files.internal/v1/{file_id}"),
        ("ORIGIN_AUTH_HEADER", "Authorization: Bearer top-secret"),
    ])
    .unwrap();
    let OriginSettings::Http(http) = c.origin else {
        panic!("ORIGIN=http");
    };
    let (name, value) = http.auth_header.clone().unwrap();
    assert_eq!(
        (name.as_str(), value.expose()),
        ("Authorization", "Bearer top-secret")
    );
    assert!(!format!("{http:?}").contains("top-secret"));
    assert_eq!(http.max_redirects, 5);

    let cases: &[(&str, &[(&str, &str)])] = &[
        ("ORIGIN", &[("ORIGIN", "ftp")]),
        ("ORIGIN_S3_BUCKET", &[("ORIGIN", "s3")]),
        (
            "ORIGIN_S3_KEY_TEMPLATE",
            &[
                ("ORIGIN", "s3"),
                ("ORIGIN_S3_BUCKET", "files"),
                ("ORIGIN_S3_KEY_TEMPLATE", "files/all"),
            ],
        ),
        ("ORIGIN_URL_TEMPLATE", &[("ORIGIN", "http")]),
        (
            "ORIGIN_URL_TEMPLATE",
            &[
                ("ORIGIN", "http"),
                ("ORIGIN_URL_TEMPLATE", "file:///{file_id}"),
            ],
        ),
        (
            "ORIGIN_URL_TEMPLATE",
            &[("ORIGIN", "http"), ("ORIGIN_URL_TEMPLATE", "http://files/")],
        ),
        (
            "ORIGIN_AUTH_HEADER",
            &[
                ("ORIGIN", "http"),
                ("ORIGIN_URL_TEMPLATE", "http://f/{file_id}"),
                ("ORIGIN_AUTH_HEADER", "just-a-token"),
            ],
        ),
        (
            "ORIGIN_READ_TIMEOUT_MS",
            &[
                ("ORIGIN", "http"),
                ("ORIGIN_URL_TEMPLATE", "http://f/{file_id}"),
                ("ORIGIN_READ_TIMEOUT_MS", "0"),
            ],
        ),
        ("MAX_JOB_BYTES", &[("MAX_JOB_BYTES", "0")]),
        ("MAX_FILES_PER_JOB", &[("MAX_FILES_PER_JOB", "1001")]),
    ];
    for (name, vars) in cases {
        let error = config(vars).unwrap_err();
        assert!(error.to_string().starts_with(name), "{error}");
        assert!(!error.to_string().contains("just-a-token"), "{error}");
    }
}

#[test]
fn redis_settings_are_validated() {
    let c = config(&[("REDIS_URL", "redis://127.0.0.1:6379/2")]).unwrap();
    assert_eq!(
        c.redis,
        Some(RedisTarget::Server("redis://127.0.0.1:6379/2".into()))
    );
    assert_eq!(c.queue_prefix, "ferry");
    for (name, value) in [("REDIS_URL", "http://nope"), ("QUEUE_PREFIX", "a}b")] {
        let error = config(&[(name, value)]).unwrap_err();
        assert!(error.to_string().starts_with(name), "{error}");
    }
}

#[test]
fn the_console_is_off_without_a_token_and_refuses_a_short_one() {
    assert!(config(&[]).unwrap().admin.is_none());
    let admin = config(&[("ADMIN_TOKEN", "a-long-enough-token")])
        .unwrap()
        .admin
        .unwrap();
    assert_eq!(admin.token.expose(), "a-long-enough-token");
    assert_eq!(admin.session_ttl, Duration::from_secs(12 * 3_600));
    assert!(!format!("{admin:?}").contains("a-long-enough-token"));
    let error = config(&[("ADMIN_TOKEN", "hunter2")])
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("ADMIN_TOKEN"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn a_trace_ui_template_must_be_a_url_with_the_trace_id_in_it() {
    let parent = Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    let none = config(&[]).unwrap().trace_ui.job_trace(parent);
    assert_eq!(
        none.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(none.trace_url, None);
    let jaeger = config(&[(
        "TRACE_UI_URL_TEMPLATE",
        "http://localhost:16686/trace/{traceId}",
    )])
    .unwrap()
    .trace_ui;
    assert_eq!(
        jaeger.job_trace(parent).trace_url.as_deref(),
        Some("http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(jaeger.job_trace(None), app::api::JobTrace::default());
    assert_eq!(
        jaeger.job_trace(Some("00-zz-yy-01")),
        app::api::JobTrace::default(),
        "a stored parent that is not well formed shows nothing"
    );
    for bad in [
        "http://localhost:16686/trace/",
        "localhost:16686/trace/{traceId}",
        "javascript:alert('{traceId}')",
    ] {
        let error = config(&[("TRACE_UI_URL_TEMPLATE", bad)])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("TRACE_UI_URL_TEMPLATE"), "{error}");
    }
}
