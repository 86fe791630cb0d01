//! The OpenAPI document and the API routes, built together (`utoipa-axum`): a route is added to
//! the router and to the document by the same line, so neither can miss the other.

use super::{
    cancel, check, download_link, files, health, initiate, operations, root, status, AppState,
};
use std::sync::OnceLock;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ferry",
        description = "Slow downloads as asynchronous jobs: initiate answers 202 with a job id, status reports progress and finally a download link. Every error is `{\"error\", \"message\", \"requestId\"}`; every response carries `x-request-id` and the `ratelimit-*` headers.",
        license(name = "MIT"),
    ),
    paths(root::root),
    tags(
        (name = "downloads", description = "Start, follow, cancel and fetch downloads"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

/// Every API route, each registered with its OpenAPI operation.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(initiate::initiate))
        .routes(routes!(status::status))
        .routes(routes!(download_link::follow))
        .routes(routes!(cancel::cancel))
        .routes(routes!(check::check))
        .routes(routes!(files::download))
        .routes(routes!(files::download_bundle))
        .routes(routes!(health::health))
        .routes(routes!(operations::metrics))
        .routes(routes!(operations::openapi_json))
}

/// The document `/openapi.json` serves, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| api_routes().split_for_parts().1)
}
