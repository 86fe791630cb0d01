//! `GET /`: the page for people, a JSON description of the service for everything else.
//!
//! Clients of the service Ferry replaces probe `/` and parse the answer; an HTML page would stop
//! them at their first check. Which answer a request gets follows its `Accept` header
//! ([`prefers_html`], also what the 404 fallback goes by); both carry `Vary: Accept` so a cache
//! never hands one to the other.

use super::AppState;
use app::api::ServiceDescription;
use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

/// Whether a request asks for HTML before JSON: it names `text/html` (or XHTML) itself, with a
/// quality at least that of the best range JSON would match. A bare `*/*` (curl, fetch, most
/// HTTP libraries) and a missing header are answered with JSON; browsers name `text/html` first.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut html = None::<f32>;
    let mut json = 0f32;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => {
                html = Some(html.map_or(quality, |h| h.max(quality)));
            }
            "application/json" | "application/*" | "*/*" => json = json.max(quality),
            _ => {}
        }
    }
    html.is_some_and(|html| html > 0.0 && html >= json)
}

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
    let mut response = if prefers_html(request.headers()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_get_html_and_everything_else_json() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(prefers_html(&accepts(chromium)));
        assert!(prefers_html(&accepts(firefox)));
        assert!(prefers_html(&accepts("text/html")));
        assert!(!prefers_html(&HeaderMap::new()));
        assert!(!prefers_html(&accepts("*/*")));
        assert!(!prefers_html(&accepts("application/json")));
        assert!(!prefers_html(&accepts("application/json, text/html;q=0.5")));
        assert!(!prefers_html(&accepts("text/html;q=0")));
        assert!(!prefers_html(&accepts("text/plain")));
    }
}
