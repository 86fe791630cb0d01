//! `POST /v1/download/initiate`: validates the request, queues a job, answers `202` at once.

use super::{client::Caller, json::ApiJson, AppState};
use crate::{
    error::AppError,
    queue::{NewJob, QueueError},
};
use app::api::{ErrorBody, InitiateRequest, InitiateResponse};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::IntoResponse,
    Extension, Json,
};

/// Where initiate is served: the rate limiter gives it its own budget.
pub const PATH: &str = "/v1/download/initiate";

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Queues a job for the requested files, as the calling client's. With an `Idempotency-Key`, a
/// repeated request of the same client returns the job the first one created instead of starting
/// another (keys are per client: another client's equal key is another key).
#[utoipa::path(
    post,
    path = "/v1/download/initiate",
    tag = "downloads",
    description = "Starts one job: `file_id` for one file, or `file_ids` (1–1000 distinct ids) for one zip of all of them. Send exactly one of the two.",
    request_body = InitiateRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
            description = "Repeating a request with the same key returns the job your first one created (1–255 printable ASCII characters; keys are per client)"),
    ),
    responses(
        (status = 202, description = "Job queued", body = InitiateResponse,
            headers(("location" = String, description = "The job's status URL"))),
        (status = 400, description = "Invalid body, file ids or idempotency key", body = ErrorBody),
        (status = 413, description = "Body larger than 64 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Idempotency key reused with another body", body = ErrorBody),
        (status = 429, description = "Rate limited (`RateLimited`, with `retry-after`), or the client already has `MAX_ACTIVE_JOBS_PER_CLIENT` unfinished jobs (`TooManyActiveJobs`)", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait (RateLimited)"))),
        (status = 503, description = "Queue unavailable, full or out of memory", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn initiate(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<InitiateRequest>,
) -> Result<impl IntoResponse, AppError> {
    let file_ids = request.file_ids()?;
    if file_ids.len() > state.max_files_per_job {
        return Err(AppError::TooManyFiles {
            requested: file_ids.len(),
            limit: state.max_files_per_job,
        });
    }
    let idempotency_key = idempotency_key(&headers)?;
    // Backpressure: refuse new work rather than let the backlog grow without bound. The check
    // and the enqueue are two steps, so concurrent requests may overshoot by a few jobs.
    let unstarted = state.queue.depth().await?.unstarted();
    if unstarted >= state.http.max_queue_depth {
        tracing::warn!(
            unstarted,
            limit = state.http.max_queue_depth,
            "queue full: initiate refused"
        );
        return Err(AppError::QueueFull(unstarted));
    }
    let origin_params = state.origin.job_params(&file_ids);
    let total_file_ids = file_ids.len();
    let enqueued = state
        .queue
        .enqueue(
            NewJob {
                client: caller.client.to_string(),
                file_ids,
                origin_params,
                // Every attempt's span joins the trace of this request's span.
                trace_parent: crate::telemetry::recorded_trace_parent_of(&tracing::Span::current()),
            },
            idempotency_key,
        )
        .await
        .inspect_err(|error| {
            if matches!(error, QueueError::TooManyActiveJobs { .. }) {
                crate::metrics::active_job_cap_refused();
            }
        })?;
    let job_id = enqueued.record.id;
    if enqueued.created {
        crate::metrics::job_enqueued();
        tracing::info!(%job_id, client = %caller.client, files = total_file_ids, "job queued");
    }
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/download/status/{job_id}"))],
        Json(InitiateResponse {
            job_id,
            status: enqueued.record.phase,
            total_file_ids: enqueued.record.file_ids.len(),
            trace: state
                .trace_ui
                .job_trace(enqueued.record.trace_parent.as_deref()),
        }),
    ))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| AppError::InvalidIdempotencyKey)?;
    let valid = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(Some(key))
    } else {
        Err(AppError::InvalidIdempotencyKey)
    }
}
