//! The console's calls to `/admin/api/…`, built on the shared bodies. The session cookie goes
//! with every request by itself (same origin); changes carry the session's CSRF token.

use crate::{
    api::{
        AdminJobAction, AdminJobDetail, AdminJobPage, AdminOverview, AdminQueueState,
        AdminRetryAll, AdminSession, AdminSignIn, JobId,
    },
    client::{parse, send, ClientError},
};
use gloo_net::http::Request;

/// Where the console's API lives.
const API: &str = "/admin/api";

/// Whether an error means the session is gone (expired, signed out elsewhere, token changed):
/// the console then asks to sign in again.
pub fn is_signed_out(error: &ClientError) -> bool {
    matches!(error, ClientError::Refused(body) if body.error == "SignInRequired")
}

/// The current session (after a reload), or `SignInRequired`.
pub async fn session() -> Result<AdminSession, ClientError> {
    send(Request::get(&format!("{API}/session")).build()).await
}

/// Signs in with the deployment's token.
pub async fn sign_in(token: String) -> Result<AdminSession, ClientError> {
    send(Request::post(&format!("{API}/session")).json(&AdminSignIn { token })).await
}

/// Signs out: the server clears the cookie (its `204` has no body).
pub async fn sign_out(csrf: &str) -> Result<(), ClientError> {
    let response = Request::post(&format!("{API}/sign-out"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    if response.ok() {
        return Ok(());
    }
    // The error body says why (a session that ended, a CSRF token that no longer matches).
    parse::<serde_json::Value>(response).await.map(drop)
}

/// The queue now: counts, per-minute activity, timings, instances, health.
pub async fn overview() -> Result<AdminOverview, ClientError> {
    send(Request::get(&format!("{API}/overview")).build()).await
}

/// The list's filters as the page's form holds them (empty: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    pub state: String,
    pub client: String,
    pub file_id: String,
}

/// One page of the job list, after `cursor` when given.
pub async fn jobs(query: &JobQuery, cursor: Option<&str>) -> Result<AdminJobPage, ClientError> {
    let mut params = vec![("limit", "50")];
    for (name, value) in [
        ("state", query.state.as_str()),
        ("client", query.client.as_str()),
        ("fileId", query.file_id.as_str()),
    ] {
        if !value.trim().is_empty() {
            params.push((name, value.trim()));
        }
    }
    if let Some(cursor) = cursor {
        params.push(("cursor", cursor));
    }
    send(Request::get(&format!("{API}/jobs")).query(params).build()).await
}

/// One job with its attempts.
pub async fn job(job_id: JobId) -> Result<AdminJobDetail, ClientError> {
    send(Request::get(&format!("{API}/jobs/{job_id}")).build()).await
}

/// A change: a POST with the CSRF token and no body.
async fn change<T: serde::de::DeserializeOwned>(path: &str, csrf: &str) -> Result<T, ClientError> {
    send(
        Request::post(&format!("{API}/{path}"))
            .header("x-csrf-token", csrf)
            .build(),
    )
    .await
}

/// What the job page can do to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    Retry,
    Cancel,
    Delete,
}

impl JobAction {
    fn path(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Cancel => "cancel",
            Self::Delete => "delete",
        }
    }
}

/// Does `action` to a job.
pub async fn act(
    job_id: JobId,
    action: JobAction,
    csrf: &str,
) -> Result<AdminJobAction, ClientError> {
    change(&format!("jobs/{job_id}/{}", action.path()), csrf).await
}

/// Pauses (`true`) or resumes the queue.
pub async fn set_paused(paused: bool, csrf: &str) -> Result<AdminQueueState, ClientError> {
    change(
        if paused {
            "queue/pause"
        } else {
            "queue/resume"
        },
        csrf,
    )
    .await
}

pub async fn retry_all_failed(csrf: &str) -> Result<AdminRetryAll, ClientError> {
    change("jobs/retry-failed", csrf).await
}
