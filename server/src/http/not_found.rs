//! Addresses nothing answers: a JSON error for API clients, a page for people.

use crate::error::AppError;
use std::sync::Arc;

use axum::{
    http::{header, HeaderMap, Method, StatusCode},
    response::{Html, IntoResponse, Response},
};

/// The fallback of the router (after the static files): browsers asking for HTML get a page with
/// a way back; everything else gets the JSON error.
pub async fn not_found(method: Method, headers: HeaderMap, page: Arc<str>) -> Response {
    let wants_html =
        matches!(method, Method::GET | Method::HEAD) && super::negotiate::prefers_html(&headers);
    if wants_html {
        (
            StatusCode::NOT_FOUND,
            [(
                header::CONTENT_SECURITY_POLICY,
                super::content_security::STATIC_PAGE_POLICY,
            )],
            Html(page.to_string()),
        )
            .into_response()
    } else {
        AppError::RouteNotFound.into_response()
    }
}

/// The page's own 404, styled like the page (`stylesheet` is the page's stylesheet address).
pub fn page(stylesheet: &str) -> String {
    PAGE.replace("{stylesheet}", stylesheet)
}

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found — Ferry</title>
<link rel="stylesheet" href="{stylesheet}">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
<main class="page">
<header class="page-header"><h1>Page not found</h1></header>
<p>There is nothing at this address. Your downloads are on the <a href="/">Ferry home page</a>.</p>
</main>
</body>
</html>
"#;
