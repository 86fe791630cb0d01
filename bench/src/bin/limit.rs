//! The limit of a status route: a minimal axum handler that reads a job record with one
//! `HGETALL` over a multiplexed redis-rs connection and returns it as JSON — the Redis round trip
//! every status read needs, and nothing else (no middleware, no signing, no conditional answers).
//! What Ferry's status route is measured against (issue 18's "the limit").
//!
//! `limit --port P --redis URL --prefix QUEUE_PREFIX`

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Router,
};
use ferry_bench::Flags;
use redis::AsyncCommands;
use std::collections::HashMap;

#[derive(Clone)]
struct Limit {
    redis: redis::aio::MultiplexedConnection,
    /// Ferry's key prefix: `{QUEUE_PREFIX}:`.
    prefix: String,
}

async fn status(State(limit): State<Limit>, Path(id): Path<String>) -> axum::response::Response {
    // Read the id like a real handler would.
    if id.len() != 26 {
        return (StatusCode::BAD_REQUEST, "bad id").into_response();
    }
    let mut redis = limit.redis.clone();
    let record: HashMap<String, String> =
        match redis.hgetall(format!("{}job:{id}", limit.prefix)).await {
            Ok(record) => record,
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        };
    if record.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&record).unwrap_or_default(),
    )
        .into_response()
}

#[tokio::main]
async fn main() {
    let flags = Flags::from_args();
    let port = flags.number("port", 3901);
    let client = redis::Client::open(flags.required("redis")).unwrap();
    let redis = client.get_multiplexed_async_connection().await.unwrap();
    let prefix = format!("{{{}}}:", flags.required("prefix"));
    let app = Router::new()
        .route("/v1/download/status/{id}", get(status))
        .with_state(Limit { redis, prefix });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16))
        .await
        .unwrap();
    eprintln!("limit listening on {}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
