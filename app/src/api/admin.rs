//! The operator console's bodies (`/admin/api/…`), shared by the server and the console page.

use super::{HealthChecks, JobId, Timestamp};
use serde::{Deserialize, Serialize};

/// Body of `POST /admin/api/session`: signing in with the deployment's `ADMIN_TOKEN`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminSignIn {
    pub token: String,
}

/// Never prints the token (request logs, panics).
impl std::fmt::Debug for AdminSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminSignIn { token: *** }")
    }
}

/// A signed-in session, as `POST` and `GET /admin/api/session` describe it: the CSRF token every
/// state-changing request must send in `x-csrf-token`, and when the session ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminSession {
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// `200` body of `GET /admin/api/overview`: the unfinished jobs by state, and the jobs finished
/// in each minute of the last hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminOverview {
    /// Waiting for a worker.
    pub queued: u64,
    /// Waiting for their next attempt.
    pub retrying: u64,
    /// Held by a worker now.
    pub processing: u64,
    /// Paused from the console: no worker starts a job until it is resumed.
    pub paused: bool,
    /// The last 60 minutes, oldest first, ending with the current one.
    pub finished_per_minute: Vec<FinishedInMinute>,
    /// The instances alive (their heartbeat has not run out), by id.
    pub instances: Vec<Instance>,
    /// Whether the queue and storage answer this instance, as `/health` reports them.
    pub health: HealthChecks,
}

/// One running Ferry process, as its heartbeat describes it (and the queue's registry stores it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: String,
    pub host: String,
    /// Jobs it processes at once (0: API only).
    pub concurrency: u32,
    /// The jobs it is processing now.
    pub running: Vec<JobId>,
    pub started_at: Timestamp,
    /// Its last heartbeat.
    pub seen_at: Timestamp,
}

/// `200` body of `POST /admin/api/queue/pause` and `…/resume`: the queue's state afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AdminQueueState {
    pub paused: bool,
}

/// `200` body of the console's job actions (`POST /admin/api/jobs/{jobId}/retry`, `…/cancel`,
/// `…/delete`): which job, and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminJobAction {
    pub job_id: JobId,
    /// `retried`, `cancelled` or `deleted`.
    pub done: String,
}

/// The jobs that finished within one minute, by how they finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FinishedInMinute {
    /// When the minute began.
    pub minute: Timestamp,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
}
