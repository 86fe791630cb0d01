//! The console's jobs: the list (filtered, newest first, a page at a time), one job with its
//! attempts, and retrying every failed job at once.

use super::acted_on;
use crate::{
    error::AppError,
    http::{client::Caller, AppState},
    queue::{listed_at, AdminOutcome, JobFilter, JobRecord, ListCursor, LIST_PAGE_MAX},
    telemetry::TraceUi,
};
use app::api::{
    AdminJob, AdminJobDetail, AdminJobPage, AdminRetryAll, ErrorBody, FileId, JobId, JobPhase,
};
use axum::{
    extract::{Path, Query, State},
    Extension, Json,
};
use serde::Deserialize;

/// Jobs on a page when the request does not say.
const DEFAULT_PAGE: usize = 50;

/// Most failed jobs one "retry all failed" retries: a bounded amount of work per request (the
/// answer says whether more remain, and the console asks again).
pub const RETRY_ALL_MAX: usize = 500;

/// The job list's query, every part optional and checked by [`ListQuery::parse`] so that a bad
/// value gets a sentence saying which.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only jobs in this state (`queued`, `processing`, `retrying`, `completed`, `failed`,
    /// `cancelled` or `expired`).
    state: Option<String>,
    /// Only this client's jobs (as the list shows clients).
    client: Option<String>,
    /// Only jobs with this file among theirs.
    file_id: Option<String>,
    /// Where to continue: a previous page's `nextCursor`.
    cursor: Option<String>,
    /// Jobs per page, 1 to 200 (50 when absent).
    limit: Option<String>,
}

/// A query value that says something (present and not blank).
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ListQuery {
    fn parse(&self) -> Result<(JobFilter, Option<ListCursor>, usize), AppError> {
        let invalid = |message: String| AppError::InvalidJobQuery(message);
        let phase = given(&self.state)
            .map(|name| {
                name.parse::<JobPhase>().map_err(|_| {
                    invalid(format!(
                        "\"state\" must be one of {}",
                        JobPhase::ALL.map(JobPhase::as_str).join(", ")
                    ))
                })
            })
            .transpose()?;
        let file_id = given(&self.file_id)
            .map(|raw| {
                raw.parse::<u64>()
                    .ok()
                    .and_then(|n| FileId::new(n).ok())
                    .ok_or_else(|| {
                        invalid("\"fileId\" must be a file id (a positive number)".into())
                    })
            })
            .transpose()?;
        let cursor = given(&self.cursor)
            .map(|raw| {
                raw.parse::<ListCursor>().map_err(|_| {
                    invalid("\"cursor\" must be a nextCursor this list handed out".into())
                })
            })
            .transpose()?;
        let limit = given(&self.limit)
            .map(|raw| {
                raw.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=LIST_PAGE_MAX).contains(n))
                    .ok_or_else(|| invalid(format!("\"limit\" must be 1 to {LIST_PAGE_MAX}")))
            })
            .transpose()?
            .unwrap_or(DEFAULT_PAGE);
        let client = given(&self.client).map(str::to_owned);
        Ok((
            JobFilter {
                phase,
                client,
                file_id,
            },
            cursor,
            limit,
        ))
    }
}

/// A record as the console shows it, with its trace linked through `trace_ui`.
pub fn admin_job(record: &JobRecord, trace_ui: &TraceUi) -> AdminJob {
    AdminJob {
        job_id: record.id,
        phase: record.phase,
        client: record.client.clone(),
        file_ids: record.file_ids.clone(),
        attempt: record.attempt,
        max_attempts: record.max_attempts,
        percent: record.progress.percent,
        created_at: record.created_at,
        first_started_at: record.first_started_at,
        started_at: record.started_at,
        lease_deadline: record.lease_deadline,
        next_attempt_at: record.next_attempt_at,
        finished_at: record.finished_at,
        error: record.error.clone(),
        listed_at: app::api::Timestamp::from_unix_millis(listed_at(record)),
        result_key: record.result.as_ref().map(|r| r.key.as_str().to_owned()),
        result_size: record.result.as_ref().map(|r| r.size),
        result_expires_at: record.result_expires_at,
        trace: trace_ui.job_trace(record.trace_parent.as_deref()),
    }
}

/// One page of the job list, newest first.
#[utoipa::path(
    get,
    path = "/admin/api/jobs",
    tag = "admin",
    security(("admin_session" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of jobs", body = AdminJobPage),
        (status = 400, description = "A filter, cursor or limit that is not valid", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<AdminJobPage>, AppError> {
    let (filter, cursor, limit) = query.parse()?;
    let page = state.queue.list_jobs(&filter, cursor, limit).await?;
    Ok(Json(AdminJobPage {
        jobs: page
            .jobs
            .iter()
            .map(|record| admin_job(record, &state.trace_ui))
            .collect(),
        next_cursor: page.next.map(|cursor| cursor.to_string()),
    }))
}

/// One job, with each of its attempts.
#[utoipa::path(
    get,
    path = "/admin/api/jobs/{job_id}",
    tag = "admin",
    security(("admin_session" = [])),
    params(("job_id" = JobId, Path, description = "The job")),
    responses(
        (status = 200, description = "The job", body = AdminJobDetail),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Unknown job, or the console is off", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn detail(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<AdminJobDetail>, AppError> {
    let job_id: JobId = job_id.parse()?;
    let record = state
        .queue
        .status(job_id)
        .await?
        .ok_or(AppError::JobNotFound(job_id))?;
    Ok(Json(AdminJobDetail {
        job: admin_job(&record, &state.trace_ui),
        attempts: state.queue.attempts(job_id).await?,
    }))
}

/// Gives every failed job (up to [`RETRY_ALL_MAX`] at once) one more attempt.
#[utoipa::path(
    post,
    path = "/admin/api/jobs/retry-failed",
    tag = "admin",
    security(("admin_session" = [])),
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "How many were retried", body = AdminRetryAll),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Without the session's CSRF token", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn retry_all_failed(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<AdminRetryAll>, AppError> {
    let failed = JobFilter {
        phase: Some(JobPhase::Failed),
        ..JobFilter::default()
    };
    let mut retried = 0;
    let mut cursor = None;
    let more = loop {
        let page = state
            .queue
            .list_jobs(&failed, cursor, LIST_PAGE_MAX.min(RETRY_ALL_MAX - retried))
            .await?;
        for record in &page.jobs {
            // A job retried by someone else meanwhile is no longer failed: nothing to do.
            if state.queue.retry_failed(record.id).await? == AdminOutcome::Done {
                acted_on(&caller, record.id, "retried");
                retried += 1;
            }
        }
        cursor = page.next;
        if cursor.is_none() {
            break false;
        }
        // Stopped at the cap with a cursor left: more may remain (or none, if the last page
        // happened to end exactly there; the console's next click then retries nothing).
        if retried >= RETRY_ALL_MAX {
            break true;
        }
    };
    Ok(Json(AdminRetryAll {
        retried: u32::try_from(retried).unwrap_or(u32::MAX),
        more,
    }))
}
