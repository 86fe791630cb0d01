//! `GET /`: the page for people, a JSON description of the service for everything else.
//!
//! Clients of the service Ferry replaces probe `/` and parse the answer; an HTML page would stop
//! them at their first check. Which answer a request gets follows its `Accept` header
//! ([`super::negotiate::prefers_html`], also what the 404 fallback goes by); both carry `Vary: Accept` so a cache
//! never hands one to the other.

use super::AppState;
use app::api::ServiceDescription;
use axum::{
    extract::Request,
    http::{header, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

/// What `/` says to a client that does not ask for HTML.
fn description() -> ServiceDescription {
    ServiceDescription {
        message: "Ferry prepares slow downloads in the background: POST /v1/download/initiate starts one and answers 202 with a job id, GET /v1/download/status/{jobId} follows it until it is completed with a download link.".into(),
        name: "Ferry".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        docs: "/openapi.json".into(),
    }
}

/// Answers `GET /` with the JSON description unless the request prefers HTML, and marks both
/// answers as depending on `Accept`.
pub async fn answer_api_clients(request: Request, next: Next) -> Response {
    let is_root =
        request.uri().path() == "/" && matches!(*request.method(), Method::GET | Method::HEAD);
    if !is_root {
        return next.run(request).await;
    }
    let mut response = if super::negotiate::prefers_html(request.headers()) {
        next.run(request).await
    } else {
        Json(description()).into_response()
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// The service, for people or programs.
///
/// Documentation only: the page is rendered by Leptos and the JSON by [`answer_api_clients`],
/// which runs before it.
#[utoipa::path(
    get,
    path = "/",
    tag = "operations",
    responses(
        (status = 200, description = "JSON describing the service, unless `Accept` prefers HTML; then the download page",
            content(
                (ServiceDescription = "application/json"),
                (String = "text/html"),
            )),
    )
)]
#[allow(dead_code)]
pub async fn root(_state: axum::extract::State<AppState>) {}
