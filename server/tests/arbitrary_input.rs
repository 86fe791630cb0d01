//! Property tests: whatever bytes or JSON a client sends to initiate and check, the answer is never
//! a 5xx, and every 4xx carries the JSON error shape.

mod common;

use axum::{
    body::Body,
    http::{Method, Request},
};
use common::{spawn_app, Reply, TestApp};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

/// One runtime and one application for all cases: starting an application per case would
/// measure start-up, not input handling.
fn shared() -> &'static (Runtime, TestApp) {
    static SHARED: OnceLock<(Runtime, TestApp)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = Runtime::new().unwrap();
        let app = runtime.block_on(spawn_app(&[
            ("WORKER_CONCURRENCY", "0"),
            ("RATE_LIMIT_MAX_REQUESTS", "1000000"),
            ("MAX_QUEUE_DEPTH", "1000000"),
        ]));
        (runtime, app)
    })
}

fn post(path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let (runtime, app) = shared();
    let mut request = Request::builder().method(Method::POST).uri(path);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    runtime.block_on(app.send(request.body(Body::from(body)).unwrap()))
}

fn assert_well_behaved(reply: &Reply, sent: &str) {
    assert!(
        !reply.status.is_server_error(),
        "{} for {sent}: {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    if reply.status.is_client_error() {
        // Panics with a precise message unless the body is {"error","message","requestId"}.
        reply.error_name();
    }
}

/// JSON values of any shape, biased towards the fields and id range the endpoints look at.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        (10_000u64..=100_000_000).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("file_id".to_owned()),
            Just("file_ids".to_owned()),
            any::<String>(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn endpoint() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("/v1/download/initiate"), Just("/v1/download/check")]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_json_never_gets_a_server_error(path in endpoint(), value in any_json()) {
        let body = value.to_string();
        let reply = post(path, Some("application/json"), body.clone().into_bytes());
        assert_well_behaved(&reply, &body);
    }

    #[test]
    fn arbitrary_bytes_never_get_a_server_error(
        path in endpoint(),
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        content_type in prop_oneof![
            Just(None),
            Just(Some("application/json")),
            Just(Some("application/json; charset=utf-8")),
            Just(Some("text/plain")),
        ],
    ) {
        let reply = post(path, content_type, bytes.clone());
        assert_well_behaved(&reply, &format!("{} bytes as {content_type:?}", bytes.len()));
    }
}
