//! The HTTP baseline: a bare axum server that answers the status and initiate routes with the
//! same JSON Ferry sends, from memory, with no middleware. What Ferry's hot path is compared to.
//!
//! `baseline --port P --status-body FILE --initiate-body FILE`

use axum::{
    body::Bytes,
    extract::Path,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Router,
};
use ferry_bench::Flags;
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let flags = Flags::from_args();
    let port = flags.number("port", 3900);
    let status_body: Arc<str> = std::fs::read_to_string(flags.required("status-body"))
        .unwrap()
        .into();
    let initiate_body: Arc<str> = std::fs::read_to_string(flags.required("initiate-body"))
        .unwrap()
        .into();
    let app = Router::new()
        .route(
            "/v1/download/status/{id}",
            get(move |Path(id): Path<String>| {
                let body = status_body.clone();
                async move {
                    // Read the id like a real handler would, then answer from memory.
                    if id.len() != 26 {
                        return (StatusCode::BAD_REQUEST, "bad id").into_response();
                    }
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        body.to_string(),
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/v1/download/initiate",
            post(move |body: Bytes| {
                let reply = initiate_body.clone();
                async move {
                    // Parse the request like a real handler would, then answer from memory.
                    match serde_json::from_slice::<serde_json::Value>(&body) {
                        Ok(_) => (
                            StatusCode::ACCEPTED,
                            [(header::CONTENT_TYPE, "application/json")],
                            reply.to_string(),
                        )
                            .into_response(),
                        Err(_) => (StatusCode::BAD_REQUEST, "bad json").into_response(),
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16))
        .await
        .unwrap();
    eprintln!("baseline listening on {}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
