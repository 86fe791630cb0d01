//! The operator console's API (`/admin/api/…`): signing in and out, and what the console shows.
//!
//! It exists only when `ADMIN_TOKEN` is set; otherwise every `/admin` path is the plain 404 any
//! unknown path gets. [`Guard`] decides who gets through, in one place: signing in needs nothing
//! but the sign-in allowance of the rate limit, everything else a valid session cookie, and every
//! request that is not a read also the session's CSRF token. Every sign-in and every action is
//! logged under the target `ferry::audit`, with who (the client), when and what.

pub mod jobs;
pub mod session;

use super::{around::Around, client::Caller, json::ApiJson, AppState};
use crate::{
    config::Secret,
    error::AppError,
    queue::{system_now, AdminOutcome, JobFilter, JobRecord},
};
use app::api::{
    AdminJobAction, AdminOverview, AdminQueueState, AdminSession, AdminSignIn, ErrorBody, JobId,
    JobPhase, Timestamp, Timings,
};
use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderMap, HeaderValue, Method},
    response::{IntoResponse, Response},
    Extension, Json,
};
use session::{AdminKeys, Session, COOKIE, CSRF_HEADER};
use std::time::Duration;

/// Where the console's API lives.
pub const API_PREFIX: &str = "/admin/api/";
/// Where an operator signs in.
pub const SESSION_PATH: &str = "/admin/api/session";

/// What signing in checks against, present when `ADMIN_TOKEN` is set.
#[derive(Debug, Clone)]
pub struct AdminAccess {
    token: Secret,
    keys: AdminKeys,
}

impl AdminAccess {
    /// Access for `token`, with sessions that last `session_lifetime`.
    pub fn new(token: Secret, session_lifetime: Duration) -> Self {
        Self {
            keys: AdminKeys::new(&token, session_lifetime),
            token,
        }
    }
}

fn now_secs() -> u64 {
    system_now().unix_millis() / 1_000
}

/// The value of the session cookie among a request's `Cookie` headers.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Lets a request to the console through, or answers it: `404` for anything under `/admin`
/// while the console is off, and for the API `401` without a valid session (except to sign in)
/// and `403` for a change without the CSRF token. Other requests pass untouched.
#[derive(Clone)]
pub struct Guard(pub Option<AdminAccess>);

impl Around for Guard {
    type Carry = ();

    fn before(&self, request: &mut Request) -> Result<(), Response> {
        let path = request.uri().path();
        if !(path == "/admin" || path.starts_with("/admin/")) {
            return Ok(());
        }
        let Some(access) = self.0.as_ref() else {
            return Err(AppError::RouteNotFound.into_response());
        };
        // Console routes take only GET and POST: any other method gets the router's 405 (or
        // 404), which says nothing a signed-out client should not know.
        let console_method = [Method::GET, Method::HEAD, Method::POST].contains(request.method());
        if !path.starts_with(API_PREFIX) || !console_method {
            return Ok(());
        }
        if path == SESSION_PATH && request.method() == Method::POST {
            return Ok(());
        }
        let Some(session) =
            session_cookie(request.headers()).and_then(|c| access.keys.verify(c, now_secs()))
        else {
            return Err(AppError::AdminSignInRequired.into_response());
        };
        let reads = [Method::GET, Method::HEAD];
        if !reads.contains(request.method()) {
            let offered = request
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !access.keys.csrf_matches(&session, offered) {
                return Err(AppError::CsrfTokenInvalid.into_response());
            }
        }
        request.extensions_mut().insert(session);
        Ok(())
    }

    fn after((): (), response: Response) -> Response {
        response
    }
}

/// The `Set-Cookie` value for a session (or, with `None`, one that removes it).
fn set_cookie(access: &AdminAccess, session: Option<&Session>, caller: &Caller) -> HeaderValue {
    let (value, max_age) = match session {
        Some(session) => (
            access.keys.cookie_value(session),
            access.keys.lifetime().as_secs(),
        ),
        None => (String::new(), 0),
    };
    // Secure whenever the client reached Ferry over https (directly or through a trusted proxy);
    // over plain http a browser would drop a Secure cookie.
    let secure = if caller.origin.scheme == "https" {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("the cookie is printable ASCII")
}

fn describe(access: &AdminAccess, session: &Session) -> AdminSession {
    AdminSession {
        csrf_token: access.keys.csrf_token(session),
        expires_at: Timestamp::from_unix_millis(session.expires_at.saturating_mul(1_000)),
    }
}

/// Signs an operator in with the deployment's token.
#[utoipa::path(
    post,
    path = "/admin/api/session",
    tag = "admin",
    request_body = AdminSignIn,
    responses(
        (status = 200, description = "Signed in: the session cookie is set", body = AdminSession),
        (status = 400, description = "Not a sign-in body", body = ErrorBody),
        (status = 401, description = "Not the token", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "Too many sign-in attempts", body = ErrorBody),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<AdminSignIn>,
) -> Result<Response, AppError> {
    let access = state.admin.as_ref().ok_or(AppError::RouteNotFound)?;
    if !access.keys.token_matches(&body.token, &access.token) {
        tracing::warn!(target: "ferry::audit", client = %caller.client, action = "sign-in", outcome = "refused");
        return Err(AppError::AdminTokenRejected);
    }
    let session = access.keys.open(now_secs());
    tracing::info!(target: "ferry::audit", client = %caller.client, action = "sign-in", outcome = "signed in");
    let mut response = Json(describe(access, &session)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(access, Some(&session), &caller),
    );
    Ok(response)
}

/// The current session, so the console can learn its CSRF token after a reload.
#[utoipa::path(
    get,
    path = "/admin/api/session",
    tag = "admin",
    security(("admin_session" = [])),
    responses(
        (status = 200, description = "Signed in", body = AdminSession),
        (status = 401, description = "Not signed in, or the session ended", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    )
)]
pub async fn current_session(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Json<AdminSession>, AppError> {
    let access = state.admin.as_ref().ok_or(AppError::RouteNotFound)?;
    Ok(Json(describe(access, &session)))
}

/// Signs the operator out: the browser forgets the cookie.
#[utoipa::path(
    post,
    path = "/admin/api/sign-out",
    tag = "admin",
    security(("admin_session" = [])),
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Without the session's CSRF token", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    )
)]
pub async fn sign_out(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let access = state.admin.as_ref().ok_or(AppError::RouteNotFound)?;
    tracing::info!(target: "ferry::audit", client = %caller.client, action = "sign-out");
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(access, None, &caller));
    Ok(response)
}

/// Minutes of finished-job counts the overview shows: the last hour.
const OVERVIEW_MINUTES: u32 = 60;

/// How many of the most recently completed jobs the overview's wait and run times describe.
const TIMED_JOBS: usize = 200;

/// The value below which `share` (0 to 1) of `sorted` lies (nearest rank); `None` when empty.
fn percentile(sorted: &[u64], share: f64) -> Option<u64> {
    let rank = (share * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

/// Median and 95th percentile of how long `records` (finished jobs) waited for their first
/// attempt and how long their last attempt ran.
fn timings(records: &[JobRecord]) -> Timings {
    let span = |from: Option<Timestamp>, to: Option<Timestamp>| {
        Some(to?.unix_millis().saturating_sub(from?.unix_millis()))
    };
    let mut waits: Vec<u64> = records
        .iter()
        .filter_map(|r| span(Some(r.created_at), r.first_started_at))
        .collect();
    let mut runs: Vec<u64> = records
        .iter()
        .filter_map(|r| span(r.started_at, r.finished_at))
        .collect();
    waits.sort_unstable();
    runs.sort_unstable();
    Timings {
        jobs: u32::try_from(records.len()).unwrap_or(u32::MAX),
        wait_median_ms: percentile(&waits, 0.5),
        wait_p95_ms: percentile(&waits, 0.95),
        run_median_ms: percentile(&runs, 0.5),
        run_p95_ms: percentile(&runs, 0.95),
    }
}

/// The unfinished jobs by state, what happened per minute over the last hour, how long recent
/// jobs waited and ran, whether the queue is paused, the instances alive, and whether the queue
/// and storage answer.
#[utoipa::path(
    get,
    path = "/admin/api/overview",
    tag = "admin",
    security(("admin_session" = [])),
    responses(
        (status = 200, description = "The queue now", body = AdminOverview),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn overview(State(state): State<AppState>) -> Result<Json<AdminOverview>, AppError> {
    let depth = state.queue.depth().await?;
    let minutes = state.queue.activity_per_minute(OVERVIEW_MINUTES).await?;
    let completed = JobFilter {
        phase: Some(JobPhase::Completed),
        ..JobFilter::default()
    };
    let recent = state.queue.list_jobs(&completed, None, TIMED_JOBS).await?;
    Ok(Json(AdminOverview {
        queued: depth.waiting,
        retrying: depth.retrying,
        processing: depth.processing,
        paused: state.queue.is_paused().await?,
        activity_per_minute: minutes,
        timings: timings(&recent.jobs),
        instances: state.queue.instances().await?,
        health: super::health::check_dependencies(&state).await,
    }))
}

/// Pauses or resumes the queue for every instance, and logs who did.
async fn set_paused(
    state: &AppState,
    caller: &Caller,
    paused: bool,
) -> Result<Json<AdminQueueState>, AppError> {
    state.queue.set_paused(paused).await?;
    state.paused.set(paused);
    let action = if paused { "pause" } else { "resume" };
    tracing::info!(target: "ferry::audit", client = %caller.client, action, "queue {action}d");
    Ok(Json(AdminQueueState { paused }))
}

/// Pauses the queue: workers start no job until it is resumed; running jobs finish.
#[utoipa::path(
    post,
    path = "/admin/api/queue/pause",
    tag = "admin",
    security(("admin_session" = [])),
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "Paused", body = AdminQueueState),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Without the session's CSRF token", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn pause(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<AdminQueueState>, AppError> {
    set_paused(&state, &caller, true).await
}

/// Resumes the queue: workers take the waiting jobs again, in their order.
#[utoipa::path(
    post,
    path = "/admin/api/queue/resume",
    tag = "admin",
    security(("admin_session" = [])),
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "Resumed", body = AdminQueueState),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Without the session's CSRF token", body = ErrorBody),
        (status = 404, description = "The console is off (no ADMIN_TOKEN)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<AdminQueueState>, AppError> {
    set_paused(&state, &caller, false).await
}

/// Logs what an action did to a job, with who asked for it.
fn acted_on(caller: &Caller, job_id: JobId, done: &str) {
    tracing::info!(target: "ferry::audit", client = %caller.client, %job_id, action = done, "job {done}");
}

/// What an action did, logged.
fn acted(caller: &Caller, job_id: JobId, done: &str) -> Json<AdminJobAction> {
    acted_on(caller, job_id, done);
    Json(AdminJobAction {
        job_id,
        done: done.to_owned(),
    })
}

/// Gives a failed job one more attempt.
#[utoipa::path(
    post,
    path = "/admin/api/jobs/{job_id}/retry",
    tag = "admin",
    security(("admin_session" = [])),
    params(
        ("job_id" = JobId, Path, description = "The job"),
        ("x-csrf-token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "Queued again as its next attempt", body = AdminJobAction),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Without the session's CSRF token", body = ErrorBody),
        (status = 404, description = "Unknown job, or the console is off", body = ErrorBody),
        (status = 409, description = "The job has not failed", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> Result<Json<AdminJobAction>, AppError> {
    let job_id: JobId = job_id.parse()?;
    match state.queue.retry_failed(job_id).await? {
        AdminOutcome::Done => Ok(acted(&caller, job_id, "retried")),
        AdminOutcome::WrongPhase(phase) => Err(AppError::CannotRetry(job_id, phase)),
        AdminOutcome::NotFound => Err(AppError::JobNotFound(job_id)),
    }
}

/// Cancels a queued, running or retrying job.
#[utoipa::path(
    post,
    path = "/admin/api/jobs/{job_id}/cancel",
    tag = "admin",
    security(("admin_session" = [])),
    params(
        ("job_id" = JobId, Path, description = "The job"),
        ("x-csrf-token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "Cancelled", body = AdminJobAction),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Without the session's CSRF token", body = ErrorBody),
        (status = 404, description = "Unknown job, or the console is off", body = ErrorBody),
        (status = 409, description = "The job already finished", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> Result<Json<AdminJobAction>, AppError> {
    let job_id: JobId = job_id.parse()?;
    super::cancel::cancel_job(&state, job_id).await?;
    Ok(acted(&caller, job_id, "cancelled"))
}

/// Removes a finished job's record.
#[utoipa::path(
    post,
    path = "/admin/api/jobs/{job_id}/delete",
    tag = "admin",
    security(("admin_session" = [])),
    params(
        ("job_id" = JobId, Path, description = "The job"),
        ("x-csrf-token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 200, description = "Deleted", body = AdminJobAction),
        (status = 400, description = "Not a job id", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Without the session's CSRF token", body = ErrorBody),
        (status = 404, description = "Unknown job, or the console is off", body = ErrorBody),
        (status = 409, description = "The job has not finished", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "Queue unavailable", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> Result<Json<AdminJobAction>, AppError> {
    let job_id: JobId = job_id.parse()?;
    match state.queue.delete(job_id).await? {
        AdminOutcome::Done => Ok(acted(&caller, job_id, "deleted")),
        AdminOutcome::WrongPhase(phase) => Err(AppError::CannotDelete(job_id, phase)),
        AdminOutcome::NotFound => Err(AppError::JobNotFound(job_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::NewJob;
    use app::api::FileId;

    fn finished(created: u64, first_start: u64, start: u64, end: u64) -> JobRecord {
        let at = Timestamp::from_unix_millis;
        let job = NewJob {
            client: "c".into(),
            file_ids: vec![FileId::new(12345).unwrap()],
            origin_params: String::new(),
            trace_parent: None,
        };
        JobRecord {
            first_started_at: Some(at(first_start)),
            started_at: Some(at(start)),
            finished_at: Some(at(end)),
            ..JobRecord::queued(job, 3, at(created))
        }
    }

    #[test]
    fn timings_are_nearest_rank_percentiles_of_waits_and_runs() {
        // Waits 1..=20 ms, runs 100, 200, ... 2000 ms.
        let records: Vec<JobRecord> = (1..=20)
            .map(|n| finished(1_000, 1_000 + n, 5_000, 5_000 + 100 * n))
            .collect();
        let t = timings(&records);
        assert_eq!(t.jobs, 20);
        assert_eq!((t.wait_median_ms, t.wait_p95_ms), (Some(10), Some(19)));
        assert_eq!((t.run_median_ms, t.run_p95_ms), (Some(1_000), Some(1_900)));
        assert_eq!(timings(&[]), Timings::default());
        assert_eq!(percentile(&[7], 0.95), Some(7));
    }
}
