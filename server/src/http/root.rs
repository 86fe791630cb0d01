//! `GET /`: the page for people, a JSON description of the service for everything else.
//!
//! Clients of the service Ferry replaces probe `/` and parse the answer; an HTML page would stop
//! them at their first check. Which answer a request gets follows its `Accept` header
//! ([`super::negotiate::prefers_html`], also what the 404 fallback goes by); both carry `Vary: Accept` so a cache
//! never hands one to the other.

use super::{around::Around, AppState};
use app::api::ServiceDescription;
use axum::{
    extract::Request,
    http::{header, HeaderValue, Method},
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
#[derive(Clone)]
pub struct AnswerApiClients;

impl Around for AnswerApiClients {
    /// Whether the request is for the page at `/` (its answer then depends on `Accept`).
    type Carry = bool;

    fn before(&self, request: &mut Request) -> Result<bool, Response> {
        let is_root =
            request.uri().path() == "/" && matches!(*request.method(), Method::GET | Method::HEAD);
        if !is_root {
            return Ok(false);
        }
        if super::negotiate::prefers_html(request.headers()) {
            Ok(true)
        } else {
            Err(vary_on_accept(Json(description()).into_response()))
        }
    }

    fn after(is_root: bool, response: Response) -> Response {
        if is_root {
            vary_on_accept(response)
        } else {
            response
        }
    }
}

fn vary_on_accept(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// The service, for people or programs.
///
/// Documentation only: the page is rendered by Leptos and the JSON by [`AnswerApiClients`],
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
