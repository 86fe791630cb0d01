//! The OpenAPI document and the API routes, built together (`utoipa-axum`): a route is added to
//! the router and to the document by the same line, so neither can miss the other.

use super::{
    admin, cancel, check, download_link, files, health, initiate, operations, root, status,
    AppState,
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
    modifiers(&AdminSessionScheme),
    tags(
        (name = "downloads", description = "Start, follow, cancel and fetch downloads"),
        (name = "operations", description = "Health, metrics and this document"),
        (name = "admin", description = "The operator console (only with ADMIN_TOKEN set; a 404 otherwise). Sign in for the session cookie; changes also send its CSRF token in x-csrf-token"),
    )
)]
struct ApiDoc;

/// The console's security scheme: the `HttpOnly` session cookie signing in sets.
struct AdminSessionScheme;

impl utoipa::Modify for AdminSessionScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "admin_session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(admin::session::COOKIE))),
            );
    }
}

/// Every route of the document: the public API and the console's.
pub fn api_routes() -> OpenApiRouter<AppState> {
    public_routes().merge(admin_routes())
}

/// The console's routes; the router puts [`admin::Guard`] in front of them.
pub fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin::sign_in, admin::current_session))
        .routes(routes!(admin::sign_out))
        .routes(routes!(admin::overview))
        .routes(routes!(admin::pause))
        .routes(routes!(admin::resume))
        .routes(routes!(admin::retry))
        .routes(routes!(admin::cancel))
        .routes(routes!(admin::delete))
        .routes(routes!(admin::jobs::list))
        .routes(routes!(admin::jobs::detail))
        .routes(routes!(admin::jobs::retry_all_failed))
}

/// The public API's routes, each registered with its OpenAPI operation.
pub fn public_routes() -> OpenApiRouter<AppState> {
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
