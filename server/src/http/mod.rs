//! The HTTP surface: the JSON API, the local download links, and the server-rendered page.
//!
//! [`app`] builds the whole router; tests drive it with `oneshot` and the binary serves it.
//! Request path of a download: [`initiate`] → queue → worker → storage → [`status`].

pub mod cancel;
pub mod check;
pub mod error_body;
pub mod files;
pub mod health;
pub mod initiate;
pub mod json;
pub mod status;

use crate::{
    error::AppError,
    queue::JobQueue,
    storage::{local::LocalStore, ResultStore},
};
use axum::{
    body::Body,
    extract::{DefaultBodyLimit, FromRef},
    handler::HandlerWithoutStateExt,
    http::Request,
    middleware,
    routing::{delete, get, post},
    Router,
};
use leptos::prelude::LeptosOptions;
use leptos_axum::LeptosRoutes;
use std::{sync::Arc, time::Duration};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    trace::TraceLayer,
};

/// Largest request body accepted (a 1000-id bundle request is about 10 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub queue: Arc<dyn JobQueue>,
    pub store: Arc<dyn ResultStore>,
    /// Present when results live in the local directory: it serves `/v1/files/…` links.
    pub local_files: Option<Arc<LocalStore>>,
    /// Range the simulated download time of a new job is drawn from, inclusive.
    pub download_delay_ms: (u64, u64),
    /// Validity of the download links handed out by `status`.
    pub presign_ttl: Duration,
    /// Where the page's assets are and how the page is rendered.
    pub leptos_options: LeptosOptions,
}

/// Leptos finds its options in the router state through this.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application router.
pub fn app(state: AppState) -> Router {
    let site_root = state.leptos_options.site_root.to_string();
    let page_options = state.leptos_options.clone();
    // Static assets (the WASM bundle, CSS, favicon); anything else is a JSON 404.
    let assets = ServeDir::new(site_root)
        .call_fallback_on_method_not_allowed(true)
        .fallback(route_not_found.into_service());

    let routes = Router::new()
        .route("/v1/download/initiate", post(initiate::initiate))
        .route("/v1/download/status/{job_id}", get(status::status))
        .route("/v1/download/check", post(check::check))
        .route("/v1/download/{job_id}", delete(cancel::cancel))
        .route("/v1/files/{*key}", get(files::download))
        .route("/health", get(health::health))
        // The page: Leptos lists its routes (just "/") and renders them with the shell.
        .leptos_routes(
            &state,
            leptos_axum::generate_route_list(app::App),
            move || app::shell(page_options.clone()),
        )
        .fallback_service(assets)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);

    // Outermost first: the request id exists before anything logs, every response carries it,
    // and error bodies are rendered last, when the id is known.
    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id)
            }))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn(error_body::render)),
    )
}

async fn route_not_found() -> AppError {
    AppError::RouteNotFound
}

async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
