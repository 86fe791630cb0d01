//! The HTTP surface: the JSON API, the local download links, and the server-rendered page.
//!
//! [`app()`](fn@app) builds the whole router; tests drive it with `oneshot` and the binary serves it.
//! Request path of a download: [`initiate`] → queue → worker → storage → [`status`].

pub mod admin;
pub mod around;
pub mod cancel;
pub mod check;
pub mod client;
pub mod conditional;
pub mod content_security;
pub mod cors;
pub mod download_link;
pub mod error_body;
pub mod files;
pub mod health;
pub mod initiate;
pub mod json;
pub mod negotiate;
pub mod not_found;
pub mod openapi;
pub mod operations;
pub mod rate_limit;
pub mod request_id;
pub mod root;
pub mod serve;
pub mod status;
pub mod trace_context;

use crate::{
    queue::JobQueue,
    storage::{local::LocalStore, ResultStore},
};
use around::AroundLayer;
use axum::{
    extract::{DefaultBodyLimit, FromRef},
    handler::HandlerWithoutStateExt,
    http::{HeaderValue, Request, StatusCode},
    middleware, Router,
};
use leptos::prelude::LeptosOptions;
use leptos_axum::LeptosRoutes;
use metrics_exporter_prometheus::PrometheusHandle;
use rate_limit::ClientRateLimit;
use std::{sync::Arc, time::Duration};
use tower::ServiceBuilder;
use tower_http::{
    compression::{
        predicate::{DefaultPredicate, NotForContentType, Predicate},
        CompressionLayer,
    },
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

/// Largest request body accepted (a 1000-id bundle request is about 10 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request not answered by then gets a 503: nginx in front gives up at 30 s
/// (`proxy_read_timeout`), and a client is better served by a clear error before that. Streaming
/// a download is not limited (the timeout ends when the response starts).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(25);

/// `strict-transport-security`: browsers keep to HTTPS for two years once they saw it over HTTPS
/// (they ignore it over plain HTTP, so local use is unaffected).
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// What the handlers share, behind one `Arc`: axum clones the state for every request that
/// extracts it, so a clone must cost a reference count, not a copy of every setting.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct SharedState {
    pub queue: Arc<dyn JobQueue>,
    pub store: Arc<dyn ResultStore>,
    /// Present when results live in the local directory: it serves `/v1/files/…` links.
    pub local_files: Option<Arc<LocalStore>>,
    /// Where files come from: initiate asks it for a new job's parameters, check for a file.
    pub origin: Arc<dyn crate::origin::Origin>,
    /// Files one job may hold (`MAX_FILES_PER_JOB`).
    pub max_files_per_job: usize,
    /// Validity of the download links handed out by `status`.
    pub presign_ttl: Duration,
    /// Where the page's assets are and how the page is rendered.
    pub leptos_options: LeptosOptions,
    /// Per-client request allowance (`RATE_LIMIT_*`), shared by every request.
    pub rate_limit: ClientRateLimit,
    /// CORS, backpressure (`max_queue_depth`) and the other HTTP policies.
    pub http: crate::config::HttpSettings,
    /// Renders the Prometheus metrics for `/metrics`.
    pub metrics: PrometheusHandle,
    /// The pages' Content-Security-Policy (its nonce is drawn per response).
    pub content_security: content_security::ContentSecurityPolicy,
    /// The operator console's access; `None` (no `ADMIN_TOKEN`) turns the console off.
    pub admin: Option<admin::AdminAccess>,
    /// Whether the queue is paused, as the heartbeat last learnt it: status answers say so
    /// without asking the queue.
    pub paused: crate::presence::QueuePaused,
    /// Where jobs' answers link their trace.
    pub trace_ui: crate::telemetry::TraceUi,
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
    let content_security = state.content_security.clone();
    let stylesheet = app::stylesheet_href(&page_options);
    let missing_page: Arc<str> = not_found::page(&stylesheet).into();
    // Static assets (the WASM bundle, CSS, favicon); anything else is a 404 (a page for
    // browsers, JSON for the rest).
    let assets = ServeDir::new(site_root)
        .call_fallback_on_method_not_allowed(true)
        .fallback(
            (move |method, headers| not_found::not_found(method, headers, missing_page.clone()))
                .into_service(),
        );
    let (api, _) = openapi::public_routes().split_for_parts();
    let (console_api, _) = openapi::admin_routes().split_for_parts();

    let routes = Router::new()
        .merge(api)
        .merge(console_api)
        // The pages: Leptos lists its routes (the download page and the console's) and renders
        // them with the shell; the admin guard below keeps the console's a 404 while it is off.
        .leptos_routes(
            &state,
            leptos_axum::generate_route_list(app::App),
            move || {
                content_security.apply_to_render();
                app::shell(page_options.clone(), stylesheet.clone())
            },
        )
        .fallback_service(assets)
        .method_not_allowed_fallback(method_not_allowed);

    // Zip archives are compressed already; everything else (HTML, JSON, JS, WASM, CSS) shrinks.
    // Tagged status answers arrive encoded already (see `conditional`), and are left alone.
    let compressible = DefaultPredicate::new().and(NotForContentType::new("application/zip"));
    let header = |name, value| {
        SetResponseHeaderLayer::overriding(
            axum::http::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };

    // Outermost first. The request id exists before anything logs and is on every response;
    // the client is identified before anything counts it; the security headers, metrics and
    // rate-limit headers wrap everything, including the
    // preflights CORS answers and the errors rendered inside; CORS wraps the error bodies so a
    // browser can read them; the rate limit is enforced inside the error renderer so a 429 has
    // the JSON body. Innermost, around each route and the fallbacks, are the console's guard and
    // the JSON answer of `/`.
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(request_id::RandomRequestId))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            // The path only: a query may hold a download link's signature, which must not
            // reach the logs.
            let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id, trace_id = tracing::field::Empty, span_id = tracing::field::Empty);
            trace_context::continue_trace(&span, request.headers());
            span
        }))
        // Only with traces on: off, the hot paths carry no layer for them.
        .option_layer(
            crate::telemetry::traces_on().then(|| middleware::from_fn(trace_context::answer_trace)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("strict-transport-security", HSTS))
        .layer(header("referrer-policy", "no-referrer"))
        .layer(AroundLayer::new(operations::RecordRequest))
        .layer(AroundLayer::new(client::Identify(client::TrustedProxies::new(
            &state.http.trusted_proxies,
        ))))
        .layer(AroundLayer::new(rate_limit::Decide(state.rate_limit.clone())))
        .layer(AroundLayer::new(cors::PreflightNoContent))
        .layer(cors::layer(&state.http))
        .layer(AroundLayer::new(error_body::RenderErrors))
        .layer(AroundLayer::new(rate_limit::Enforce))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(CompressionLayer::new().compress_when(compressible))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Around every route and fallback, so that any /admin request (a method or a path no
        // console route takes included) is a 404 while the console is off.
        .layer(AroundLayer::new(admin::Guard(state.admin.clone())))
        .layer(AroundLayer::new(root::AnswerApiClients));
    // One `layer` call: each call wraps every route in another boxed service, which is cloned
    // and boxed again for every request.
    routes.layer(layers).with_state(state)
}

async fn method_not_allowed() -> crate::error::AppError {
    crate::error::AppError::MethodNotAllowed
}
