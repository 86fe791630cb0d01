//! The HTTP API's request and response bodies.
//!
//! The axum handlers serialize these and the WASM client deserializes the very same types, so a
//! field can never be renamed on one side only. Nothing in this module depends on Leptos: it is the
//! wire contract of `DESIGN.md` written down as types, and its tests pin the JSON shapes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{
    fmt,
    str::FromStr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use ulid::Ulid;

/// Smallest file id the download service we replace ever issued.
pub const FILE_ID_MIN: u64 = 10_000;
/// Largest file id the download service we replace ever issued.
pub const FILE_ID_MAX: u64 = 100_000_000;
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

/// A file id known to be inside the range the download service accepts.
///
/// Its only constructor checks the range, so code holding a `FileId` never re-validates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FileId(u64);

/// In the OpenAPI document a file id is an integer with the service's range.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for FileId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(FILE_ID_MIN as f64))
            .maximum(Some(FILE_ID_MAX as f64))
            .examples([serde_json::json!(12345)])
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for FileId {}

impl FileId {
    /// Checks `raw` against `FILE_ID_MIN..=FILE_ID_MAX`.
    pub fn new(raw: u64) -> Result<Self, InvalidRequest> {
        if (FILE_ID_MIN..=FILE_ID_MAX).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(InvalidRequest::FileIdOutOfRange(raw))
        }
    }

    /// The numeric id, for keys and file names.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Accepts any JSON number with an integral value (`12345` and `12345.0` alike, as JSON Schema's
/// `integer` and the JavaScript service Ferry replaces do), then checks the range.
impl<'de> Deserialize<'de> for FileId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntegralNumber;

        impl serde::de::Visitor<'_> for IntegralNumber {
            type Value = u64;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an integer from {FILE_ID_MIN} to {FILE_ID_MAX}")
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<u64, E> {
                Ok(value)
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<u64, E> {
                u64::try_from(value).map_err(|_| {
                    E::custom(format!("file id {value} is out of range: use an integer from {FILE_ID_MIN} to {FILE_ID_MAX}"))
                })
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<u64, E> {
                if value.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&value) {
                    Ok(value as u64)
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Float(value), &self))
                }
            }
        }

        let raw = deserializer.deserialize_any(IntegralNumber)?;
        FileId::new(raw).map_err(serde::de::Error::custom)
    }
}

/// A job's identity: a ULID, so ids sort by creation time and are safe in keys and URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(
        value_type = String,
        pattern = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$",
        example = "01HQ3Z8M5X7Y9A2B4C6D8E0F1G"
    )
)]
#[serde(transparent)]
pub struct JobId(Ulid);

impl JobId {
    /// A fresh id. Only the server creates ids (it needs a clock and randomness).
    pub fn generate() -> Self {
        Self(Ulid::new())
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a string is not a job id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a job id: job ids are 26-character ULIDs such as 01HQ3Z8M5X7Y9A2B4C6D8E0F1G")]
pub struct InvalidJobId(pub String);

impl FromStr for JobId {
    type Err = InvalidJobId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(s)
            .map(JobId)
            .map_err(|_| InvalidJobId(s.chars().take(64).collect()))
    }
}

/// An instant, carried as milliseconds since the Unix epoch and written as RFC 3339 UTC.
///
/// Milliseconds keep arithmetic (deadlines, elapsed time) trivial on both sides; the string form
/// is what DESIGN.md promises to API clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "ssr",
    derive(utoipa::ToSchema),
    schema(value_type = String, format = DateTime, example = "2026-11-29T10:15:30.123Z")
)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> u64 {
        self.0
    }

    /// The instant `ms` milliseconds later.
    pub fn plus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    fn as_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_rfc3339_millis(self.as_system_time()).fmt(f)
    }
}

impl FromStr for Timestamp {
    type Err = humantime::TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let time = humantime::parse_rfc3339(s)?;
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ok(Self(millis))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
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

/// In the OpenAPI document: an object with `file_id` or `file_ids` — exactly one of them.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for InitiateRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder};
        let fields = ObjectBuilder::new()
            .property("file_id", FileId::schema())
            .property(
                "file_ids",
                ArrayBuilder::new()
                    .items(FileId::schema())
                    .min_items(Some(1))
                    .max_items(Some(MAX_FILE_IDS_PER_JOB))
                    .unique_items(true),
            );
        let exactly_one = OneOfBuilder::new()
            .item(ObjectBuilder::new().required("file_id"))
            .item(ObjectBuilder::new().required("file_ids"));
        AllOfBuilder::new()
            .item(fields)
            .item(exactly_one)
            .description(Some(
                "One file (`file_id`) or one zip of several (`file_ids`, 1–1000 distinct ids).",
            ))
            .examples([serde_json::json!({"file_id": 12345})])
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for InitiateRequest {}

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

impl JobPhase {
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
}

/// `200` body of `GET /v1/download/status/:jobId`: what a poll learns about a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub job_id: JobId,
    pub file_ids: Vec<FileId>,
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub state: JobState,
}

/// Per-state fields of a [`JobStatus`]; `status` names the variant, exactly as in DESIGN.md.
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
/// request id that finds the request in the server's logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job_id() -> JobId {
        "01HQ3Z8M5X7Y9A2B4C6D8E0F1G".parse().unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn file_ids_outside_the_service_range_are_refused() {
        assert!(FileId::new(9_999).is_err());
        assert!(FileId::new(10_000).is_ok());
        assert!(FileId::new(100_000_000).is_ok());
        assert_eq!(
            FileId::new(100_000_001),
            Err(InvalidRequest::FileIdOutOfRange(100_000_001))
        );
    }

    #[test]
    fn a_single_file_request_parses() {
        let request: InitiateRequest = serde_json::from_value(json!({"file_id": 12345})).unwrap();
        assert_eq!(
            request.file_ids().unwrap(),
            vec![FileId::new(12345).unwrap()]
        );
    }

    #[test]
    fn wrong_types_and_out_of_range_ids_fail_to_parse() {
        for body in [
            json!({"file_id": "12345"}),
            json!({"file_id": -1}),
            json!({"file_id": 1.5}),
            json!({"file_id": 5}),
            json!({"file_ids": [12345, 7]}),
            json!({"file_ids": "12345"}),
        ] {
            assert!(
                serde_json::from_value::<InitiateRequest>(body.clone()).is_err(),
                "{body} should not parse"
            );
        }
    }

    #[test]
    fn the_shape_of_a_request_is_checked() {
        let parse = |v| {
            serde_json::from_value::<InitiateRequest>(v)
                .unwrap()
                .file_ids()
        };
        assert_eq!(parse(json!({})), Err(InvalidRequest::NoFileId));
        assert_eq!(
            parse(json!({"file_id": 12345, "file_ids": [12346]})),
            Err(InvalidRequest::BothFileIdForms)
        );
        assert_eq!(
            parse(json!({"file_ids": []})),
            Err(InvalidRequest::EmptyBundle)
        );
        let too_many: Vec<u64> = (10_000..10_000 + 1001).collect();
        assert_eq!(
            parse(json!({ "file_ids": too_many })),
            Err(InvalidRequest::BundleTooLarge(1001))
        );
        assert_eq!(
            parse(json!({"file_ids": [12345, 23456, 12345]})),
            Err(InvalidRequest::DuplicateFileId(FileId(12345)))
        );
        let thousand: Vec<u64> = (10_000..11_000).collect();
        assert_eq!(parse(json!({ "file_ids": thousand })).unwrap().len(), 1000);
        // Present means a value: null is refused, not read as "absent".
        for null_field in [
            json!({"file_id": 12345, "file_ids": null}),
            json!({"file_id": null}),
        ] {
            assert!(serde_json::from_value::<InitiateRequest>(null_field).is_err());
        }
        // Integral numbers are integers, however they are written.
        assert_eq!(
            parse(json!({"file_id": 19_310_440.0})),
            Ok(vec![FileId(19_310_440)])
        );
        assert!(serde_json::from_value::<InitiateRequest>(json!({"file_id": 12345.5})).is_err());
    }

    #[test]
    fn for_files_round_trips_through_file_ids() {
        let ids = [FileId(12345), FileId(23456)];
        assert_eq!(InitiateRequest::for_files(&ids).file_ids().unwrap(), ids);
        assert_eq!(
            serde_json::to_value(InitiateRequest::for_files(&ids[..1])).unwrap(),
            json!({"file_id": 12345})
        );
    }

    #[test]
    fn job_ids_must_be_ulids() {
        assert!("not-a-ulid".parse::<JobId>().is_err());
        assert!("01HQ3Z8M5X7Y9A2B4C6D8E0F1".parse::<JobId>().is_err());
        assert_eq!(job_id().to_string(), "01HQ3Z8M5X7Y9A2B4C6D8E0F1G");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_millis() {
        let t = Timestamp::from_unix_millis(1_700_000_000_123);
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(at("2023-11-14T22:13:20.123Z"), t);
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    #[test]
    fn initiate_response_matches_the_contract() {
        let body = InitiateResponse {
            job_id: job_id(),
            status: JobPhase::Queued,
            total_file_ids: 1,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"jobId": "01HQ3Z8M5X7Y9A2B4C6D8E0F1G", "status": "queued", "totalFileIds": 1})
        );
    }

    fn status(state: JobState) -> serde_json::Value {
        let status = JobStatus {
            job_id: job_id(),
            file_ids: vec![FileId(12345)],
            created_at: at("2026-01-01T00:00:00.000Z"),
            state,
        };
        let value = serde_json::to_value(&status).unwrap();
        let back: JobStatus = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(back, status, "status JSON must round-trip");
        value
    }

    #[test]
    fn every_status_shape_matches_the_contract() {
        let common = |extra: serde_json::Value| {
            let mut v = json!({
                "jobId": "01HQ3Z8M5X7Y9A2B4C6D8E0F1G",
                "fileIds": [12345],
                "createdAt": "2026-01-01T00:00:00.000Z",
            });
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        assert_eq!(
            status(JobState::Queued {
                progress: 0,
                attempt: 1,
                max_attempts: 4,
                bytes_done: 0,
                bytes_total: None,
                files_done: 0,
                files_total: 1,
            }),
            common(
                json!({"status": "queued", "progress": 0, "attempt": 1, "maxAttempts": 4,
                "bytesDone": 0, "bytesTotal": null, "filesDone": 0, "filesTotal": 1})
            )
        );
        assert_eq!(
            status(JobState::Processing {
                progress: 45,
                attempt: 1,
                max_attempts: 4,
                started_at: at("2026-01-01T00:00:01.000Z"),
                bytes_done: 45_000_000,
                bytes_total: Some(100_000_000),
                files_done: 0,
                files_total: 1,
            }),
            common(json!({"status": "processing", "progress": 45, "attempt": 1,
                "maxAttempts": 4, "startedAt": "2026-01-01T00:00:01.000Z",
                "bytesDone": 45_000_000, "bytesTotal": 100_000_000, "filesDone": 0,
                "filesTotal": 1}))
        );
        assert_eq!(
            status(JobState::Retrying {
                progress: 0,
                attempt: 2,
                max_attempts: 4,
                error: "boom".into(),
                next_attempt_at: at("2026-01-01T00:00:02.000Z"),
                bytes_done: 0,
                bytes_total: None,
                files_done: 0,
                files_total: 1,
            }),
            common(
                json!({"status": "retrying", "progress": 0, "attempt": 2, "maxAttempts": 4,
                "error": "boom", "nextAttemptAt": "2026-01-01T00:00:02.000Z",
                "bytesDone": 0, "bytesTotal": null, "filesDone": 0, "filesTotal": 1})
            )
        );
        assert_eq!(
            status(JobState::Completed {
                progress: 100,
                url: "https://example.test/f.zip".into(),
                url_expires_at: at("2026-01-01T01:00:00.000Z"),
                download_url: "https://ferry.test/v1/download/01HQ3Z8M5X7Y9A2B4C6D8E0F1G/file"
                    .into(),
                completed_at: at("2026-01-01T00:00:03.000Z"),
                expires_at: at("2026-01-02T00:00:03.000Z"),
                size: 123
            }),
            common(json!({"status": "completed", "progress": 100,
                "url": "https://example.test/f.zip", "urlExpiresAt": "2026-01-01T01:00:00.000Z",
                "downloadUrl": "https://ferry.test/v1/download/01HQ3Z8M5X7Y9A2B4C6D8E0F1G/file",
                "completedAt": "2026-01-01T00:00:03.000Z",
                "expiresAt": "2026-01-02T00:00:03.000Z", "size": 123}))
        );
        assert_eq!(
            status(JobState::Failed {
                error: "boom".into(),
                attempt: 4,
                max_attempts: 4,
                failed_at: at("2026-01-01T00:00:04.000Z")
            }),
            common(
                json!({"status": "failed", "error": "boom", "attempt": 4, "maxAttempts": 4,
                "failedAt": "2026-01-01T00:00:04.000Z"})
            )
        );
        assert_eq!(
            status(JobState::Cancelled {
                cancelled_at: at("2026-01-01T00:00:05.000Z")
            }),
            common(json!({"status": "cancelled", "cancelledAt": "2026-01-01T00:00:05.000Z"}))
        );
        assert_eq!(
            status(JobState::Expired {
                completed_at: at("2026-01-01T00:00:03.000Z"),
                expired_at: at("2026-01-02T00:00:03.000Z"),
            }),
            common(
                json!({"status": "expired", "completedAt": "2026-01-01T00:00:03.000Z",
                "expiredAt": "2026-01-02T00:00:03.000Z"})
            )
        );
    }

    #[test]
    fn phase_names_match_their_json() {
        for phase in [
            JobPhase::Queued,
            JobPhase::Processing,
            JobPhase::Retrying,
            JobPhase::Completed,
            JobPhase::Failed,
            JobPhase::Cancelled,
            JobPhase::Expired,
        ] {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
    }

    #[test]
    fn check_bodies_match_the_contract() {
        let request: CheckRequest = serde_json::from_value(json!({"file_id": 12345})).unwrap();
        assert_eq!(request.file_id, FileId(12345));
        let response = CheckResponse {
            file_id: FileId(12345),
            available: true,
            s3_key: Some("downloads/12345.zip".into()),
            size: Some(7),
            source_exists: Some(true),
            source_size: Some(5),
        };
        assert_eq!(
            serde_json::to_value(response).unwrap(),
            json!({"file_id": 12345, "available": true, "s3Key": "downloads/12345.zip", "size": 7,
                "sourceExists": true, "sourceSize": 5})
        );
    }

    #[test]
    fn error_body_matches_the_contract() {
        let body = ErrorBody {
            error: "InvalidRequest".into(),
            message: "m".into(),
            request_id: "r".into(),
        };
        assert_eq!(
            serde_json::to_value(body).unwrap(),
            json!({"error": "InvalidRequest", "message": "m", "requestId": "r"})
        );
    }
}
