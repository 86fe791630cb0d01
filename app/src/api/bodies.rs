//! The requests and responses of the API, route by route.

use super::{FileId, JobId, Timestamp, FILE_ID_MAX, FILE_ID_MIN};
use serde::{Deserialize, Deserializer, Serialize};
use std::str::FromStr;

/// A bundle job zips at most this many files, so one request cannot occupy a worker for hours.
pub const MAX_FILE_IDS_PER_JOB: usize = 1000;

/// How often a client polls a job that a worker is running (the seed design's 2 s): the page's
/// loop and the server's `Retry-After` hint both come from here.
pub const POLL_INTERVAL_SECS: u64 = 2;

/// Why an initiate request cannot become a job. Each message tells the caller what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    #[error("file id {0} is out of range: use an integer from {FILE_ID_MIN} to {FILE_ID_MAX}")]
    FileIdOutOfRange(u64),
    #[error("the body names no file: send {{\"file_id\": <id>}} or {{\"file_ids\": [<id>, ...]}}")]
    NoFileId,
    #[error("send either \"file_id\" or \"file_ids\", not both")]
    BothFileIdForms,
    #[error("\"file_ids\" is empty: list between 1 and {MAX_FILE_IDS_PER_JOB} file ids")]
    EmptyBundle,
    #[error("\"file_ids\" lists {0} ids: at most {MAX_FILE_IDS_PER_JOB} fit in one bundle")]
    BundleTooLarge(usize),
    #[error("file id {0} is listed twice in \"file_ids\": list each file once")]
    DuplicateFileId(FileId),
}

/// Body of `POST /v1/download/initiate`: one file (`file_id`) or a bundle (`file_ids`).
///
/// Both fields are optional on the wire so the server can say precisely what is missing; call
/// [`InitiateRequest::file_ids`] to get the validated list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitiateRequest {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub file_id: Option<FileId>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub file_ids: Option<Vec<FileId>>,
}

/// A field that may be absent but, when present, must hold a value: `"file_ids": null` is an
/// error, not a quiet "absent", so a client's mistake is reported instead of guessed around.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

impl InitiateRequest {
    /// A request for one file, or a bundle when `ids` has more than one.
    pub fn for_files(ids: &[FileId]) -> Self {
        match ids {
            [single] => Self {
                file_id: Some(*single),
                file_ids: None,
            },
            many => Self {
                file_id: None,
                file_ids: Some(many.to_vec()),
            },
        }
    }

    /// The files the job will prepare, in request order, once the body's shape is known to be right.
    pub fn file_ids(&self) -> Result<Vec<FileId>, InvalidRequest> {
        match (&self.file_id, &self.file_ids) {
            (Some(_), Some(_)) => Err(InvalidRequest::BothFileIdForms),
            (None, None) => Err(InvalidRequest::NoFileId),
            (Some(id), None) => Ok(vec![*id]),
            (None, Some(ids)) if ids.is_empty() => Err(InvalidRequest::EmptyBundle),
            (None, Some(ids)) if ids.len() > MAX_FILE_IDS_PER_JOB => {
                Err(InvalidRequest::BundleTooLarge(ids.len()))
            }
            (None, Some(ids)) => {
                let mut seen = std::collections::HashSet::with_capacity(ids.len());
                if let Some(duplicate) = ids.iter().find(|id| !seen.insert(**id)) {
                    return Err(InvalidRequest::DuplicateFileId(*duplicate));
                }
                Ok(ids.clone())
            }
        }
    }
}

/// The name of a job's state, as the `status` field spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobPhase {
    Queued,
    Processing,
    Retrying,
    Completed,
    Failed,
    Cancelled,
    /// Completed, but its file has been removed from storage: prepare it again to download it.
    /// Never stored: the queue reports it for a completed record read after its result expired.
    Expired,
}

/// A name that is not a job phase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a job phase")]
pub struct UnknownPhase(pub String);

/// The phase named as [`JobPhase::as_str`] spells it: how stored records and script replies
/// are read back.
impl FromStr for JobPhase {
    type Err = UnknownPhase;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        JobPhase::ALL
            .into_iter()
            .find(|phase| phase.as_str() == name)
            .ok_or_else(|| UnknownPhase(name.chars().take(32).collect()))
    }
}

impl JobPhase {
    /// Every phase, in the order a job may pass through them.
    pub const ALL: [JobPhase; 7] = [
        Self::Queued,
        Self::Processing,
        Self::Retrying,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
        Self::Expired,
    ];

    /// The name as the API spells it (`"queued"`, `"completed"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Retrying => "retrying",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Terminal phases never change again (but the one that expires later): polling can stop.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Cancelled | Self::Expired
        )
    }
}

/// `202` body of `POST /v1/download/initiate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InitiateResponse {
    pub job_id: JobId,
    pub status: JobPhase,
    pub total_file_ids: usize,
    /// The trace the job belongs to, when the server records traces.
    #[serde(flatten)]
    pub trace: JobTrace,
}

/// The trace a job belongs to, when the server exports traces (absent otherwise): the id the
/// initiate request's trace has, which every attempt of the job joins, and where a trace UI
/// shows it (`TRACE_UI_URL_TEMPLATE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobTrace {
    /// 32 lower-case hex digits (W3C trace context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The trace in the operator's trace UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_url: Option<String>,
}

/// `200` body of `GET /v1/download/status/:jobId`: what a poll learns about a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub job_id: JobId,
    pub file_ids: Vec<FileId>,
    pub created_at: Timestamp,
    /// The trace the job belongs to, when the server records traces.
    #[serde(flatten)]
    pub trace: JobTrace,
    #[serde(flatten)]
    pub state: JobState,
}

/// Per-state fields of a [`JobStatus`]; `status` names the variant, exactly as in docs/ARCHITECTURE.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker. `attempt` is the attempt it will run as.
    #[serde(rename_all = "camelCase")]
    Queued {
        progress: u8,
        attempt: u32,
        max_attempts: u32,
        /// The operator has paused the queue: no job starts until it is resumed.
        #[serde(default)]
        paused: bool,
        /// Bytes of the files read from the origin so far in this attempt.
        bytes_done: u64,
        /// The files' total size, `null` while the origin has not announced every size.
        bytes_total: Option<u64>,
        /// Files read completely in this attempt.
        files_done: u32,
        files_total: u32,
    },
    /// A worker holds the job; `progress` rises from 0 to 100 (from bytes when their total is
    /// known, from files otherwise) and never goes back within an attempt.
    #[serde(rename_all = "camelCase")]
    Processing {
        progress: u8,
        attempt: u32,
        max_attempts: u32,
        started_at: Timestamp,
        /// Bytes of the files read from the origin so far in this attempt.
        bytes_done: u64,
        /// The files' total size, `null` while the origin has not announced every size.
        bytes_total: Option<u64>,
        /// Files read completely in this attempt.
        files_done: u32,
        files_total: u32,
    },
    /// The last attempt failed; attempt `attempt` starts at `next_attempt_at`.
    #[serde(rename_all = "camelCase")]
    Retrying {
        progress: u8,
        attempt: u32,
        max_attempts: u32,
        error: String,
        next_attempt_at: Timestamp,
        /// Bytes of the files read from the origin so far in this attempt.
        bytes_done: u64,
        /// The files' total size, `null` while the origin has not announced every size.
        bytes_total: Option<u64>,
        /// Files read completely in this attempt.
        files_done: u32,
        files_total: u32,
    },
    /// The file is ready until `expires_at`. `url` is signed for this answer and works until
    /// `url_expires_at`; `download_url` is Ferry's own address for the file, which redirects to a
    /// freshly signed link whenever it is followed, so it never expires before the file does.
    #[serde(rename_all = "camelCase")]
    Completed {
        progress: u8,
        url: String,
        url_expires_at: Timestamp,
        download_url: String,
        completed_at: Timestamp,
        /// When the file is removed from storage (the job then reads as `expired`).
        expires_at: Timestamp,
        size: u64,
    },
    /// Every attempt failed; `error` is the last attempt's reason.
    #[serde(rename_all = "camelCase")]
    Failed {
        error: String,
        attempt: u32,
        max_attempts: u32,
        failed_at: Timestamp,
    },
    /// Someone cancelled the job before it finished.
    #[serde(rename_all = "camelCase")]
    Cancelled { cancelled_at: Timestamp },
    /// The job completed at `completed_at`, and its file was removed at `expired_at`; a new job
    /// for the same `fileIds` prepares it again.
    #[serde(rename_all = "camelCase")]
    Expired {
        completed_at: Timestamp,
        expired_at: Timestamp,
    },
}

impl JobState {
    /// Bytes read and their total (if known), while the job is unfinished.
    pub fn transfer(&self) -> Option<(u64, Option<u64>)> {
        match self {
            Self::Queued {
                bytes_done,
                bytes_total,
                ..
            }
            | Self::Processing {
                bytes_done,
                bytes_total,
                ..
            }
            | Self::Retrying {
                bytes_done,
                bytes_total,
                ..
            } => Some((*bytes_done, *bytes_total)),
            _ => None,
        }
    }

    /// The state's name, as `status` spells it.
    pub fn phase(&self) -> JobPhase {
        match self {
            Self::Queued { .. } => JobPhase::Queued,
            Self::Processing { .. } => JobPhase::Processing,
            Self::Retrying { .. } => JobPhase::Retrying,
            Self::Completed { .. } => JobPhase::Completed,
            Self::Failed { .. } => JobPhase::Failed,
            Self::Cancelled { .. } => JobPhase::Cancelled,
            Self::Expired { .. } => JobPhase::Expired,
        }
    }

    /// Percent done, for the progress bar (0 where a state has no progress).
    pub fn progress(&self) -> u8 {
        match self {
            Self::Queued { progress, .. }
            | Self::Processing { progress, .. }
            | Self::Retrying { progress, .. }
            | Self::Completed { progress, .. } => *progress,
            Self::Failed { .. } | Self::Cancelled { .. } | Self::Expired { .. } => 0,
        }
    }
}

/// `200` body of `DELETE /v1/download/:jobId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CancelResponse {
    pub job_id: JobId,
    pub status: JobPhase,
}

/// Body of `POST /v1/download/check`: is this file's archive already in storage?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckRequest {
    pub file_id: FileId,
}

/// `200` body of `POST /v1/download/check` (field names as the service we replace spelled them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckResponse {
    pub file_id: FileId,
    /// Whether a prepared archive of the file is stored.
    pub available: bool,
    /// The storage key, when the archive exists.
    #[serde(rename = "s3Key")]
    pub s3_key: Option<String>,
    /// Archive size in bytes, when it exists.
    pub size: Option<u64>,
    /// Whether the file exists at the origin; `null` when the origin refused to say (access
    /// denied).
    #[serde(rename = "sourceExists")]
    pub source_exists: Option<bool>,
    /// The file's size at the origin, when it exists and the origin announces it.
    #[serde(rename = "sourceSize")]
    pub source_size: Option<u64>,
}

/// Overall verdict of `GET /health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

/// Outcome of one dependency check in `GET /health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CheckResult {
    Ok,
    Error,
}

/// One entry per dependency the service cannot work without.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HealthChecks {
    pub storage: CheckResult,
    pub queue: CheckResult,
}

/// Body of `GET /health` (200 when healthy, 503 otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HealthResponse {
    pub status: HealthStatus,
    pub checks: HealthChecks,
}

/// `GET /` for a client that does not ask for HTML: what this service is and where its API is
/// described, so a client probing the root gets something it can parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServiceDescription {
    pub message: String,
    pub name: String,
    pub version: String,
    /// Where the OpenAPI document is.
    pub docs: String,
}

/// Body of every error response: a stable short name, a sentence a person can act on, and the
/// request id that finds the request in the server's logs (and, when the server exports traces,
/// the trace id that finds it in the trace UI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    pub request_id: String,
    /// The request's trace, when the server records traces: finds it in the trace UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}
