//! `GET /health`: whether this instance can serve downloads right now.

use super::AppState;
use app::api::{CheckResult, ErrorBody, HealthChecks, HealthResponse, HealthStatus};
use axum::{extract::State, http::StatusCode, Json};
use std::{future::Future, time::Duration};

/// A dependency that does not answer within this time counts as down: a load balancer polling
/// `/health` must get an answer quickly.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a dependency's `ping` succeeds within [`CHECK_TIMEOUT`]; a failure is logged.
async fn answers_in_time<E: std::fmt::Display>(
    name: &str,
    probe: impl Future<Output = Result<(), E>>,
) -> CheckResult {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => CheckResult::Ok,
        Ok(Err(error)) => {
            tracing::warn!(check = name, %error, "health check failed");
            CheckResult::Error
        }
        Err(_) => {
            tracing::warn!(check = name, "health check timed out");
            CheckResult::Error
        }
    }
}

/// Whether the queue and storage answer, each within [`CHECK_TIMEOUT`], asked at once: for
/// `/health` and the console's overview.
pub async fn check_dependencies(state: &AppState) -> HealthChecks {
    let (queue, storage) = tokio::join!(
        answers_in_time("queue", state.queue.ping()),
        answers_in_time("storage", state.store.ping())
    );
    HealthChecks { storage, queue }
}

/// 200 when the queue and storage both answer, 503 otherwise; the body says which failed.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "Queue and storage answer", body = HealthResponse),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "A dependency does not answer; `checks` says which", body = HealthResponse),
    )
)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let checks = check_dependencies(&state).await;
    let healthy = checks.queue == CheckResult::Ok && checks.storage == CheckResult::Ok;
    let (code, status) = if healthy {
        (StatusCode::OK, HealthStatus::Healthy)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, HealthStatus::Unhealthy)
    };
    (code, Json(HealthResponse { status, checks }))
}
