//! Every way a request can fail, and the one place where each becomes an HTTP status.
//!
//! Handlers return `Result<_, AppError>` and use `?`. [`AppError::into_response`] only picks the
//! status and the short name; [`crate::http::error_body`] then writes the JSON body
//! `{"error", "message", "requestId"}`, because only the middleware knows the request id.
//! Internal details travel with the error (the `detail` of the dependency failures) and are
//! logged there, once, beside the request id; they are never sent. Conversions from the
//! backends' errors only translate.

use crate::{
    queue::QueueError,
    storage::{local::LinkError, StorageError},
};
use app::api::{InvalidJobId, InvalidRequest, JobId, JobPhase, Timestamp};
use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: &str = "5";

/// A failed request, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    InvalidRequest(#[from] InvalidRequest),
    #[error("the request body does not match the expected shape: {0}")]
    InvalidBody(String),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("send the body as JSON with the header 'content-type: application/json'")]
    UnsupportedMediaType,
    #[error("the request body is too large: the limit is {0} bytes")]
    PayloadTooLarge(usize),
    #[error("\"file_ids\" lists {requested} ids: this server puts at most {limit} files in one download")]
    TooManyFiles { requested: usize, limit: usize },
    #[error("the Idempotency-Key header must be 1 to 255 printable ASCII characters")]
    InvalidIdempotencyKey,
    #[error("this Idempotency-Key was already used with a different body: use a new key")]
    IdempotencyConflict,
    #[error(transparent)]
    InvalidJobId(#[from] InvalidJobId),
    #[error("there is no job {0}: it never existed or its record has expired")]
    JobNotFound(JobId),
    #[error("job {0} is already {phase}: only queued or running jobs can be cancelled", phase = .1.as_str())]
    JobAlreadyFinished(JobId, JobPhase),
    #[error("{}", not_ready_message(*.0, *.1))]
    JobNotReady(JobId, JobPhase),
    #[error("{}", expired_message(*.0, *.1))]
    ResultExpired(JobId, Option<Timestamp>),
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("the file behind this link no longer exists: start the download again")]
    ResultGone,
    #[error("the job queue is unavailable: try again in a few seconds")]
    QueueUnavailable { detail: String },
    #[error("the job queue is full ({0} jobs waiting): try again in a few seconds")]
    QueueFull(u64),
    #[error("too many requests from your address: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("you already have {limit} downloads waiting or running, the most one client may have: wait for one to finish or cancel one, then try again")]
    TooManyActiveJobs { limit: u32 },
    #[error("Ferry cannot take new downloads right now because its job queue is full; downloads already started go on. Try again in a few minutes")]
    QueueOutOfMemory { detail: String },

    #[error("file storage is unavailable: try again in a few seconds")]
    StorageUnavailable { detail: String },
    #[error("the file server is unavailable: try again in a few seconds")]
    OriginUnavailable,
    #[error("there is nothing at this address: see /openapi.json for the API")]
    RouteNotFound,
    #[error("this address does not accept that method")]
    MethodNotAllowed,
    #[error("job {0} is {phase}: only a failed job can be retried", phase = .1.as_str())]
    CannotRetry(JobId, JobPhase),
    #[error("job {0} is {phase}: only a finished job can be deleted; cancel it first", phase = .1.as_str())]
    CannotDelete(JobId, JobPhase),
    #[error("{0}")]
    InvalidJobQuery(String),
    #[error("sign in to the operator console first")]
    AdminSignInRequired,
    #[error("that is not this deployment's admin token")]
    AdminTokenRejected,
    #[error("this change needs the console session's CSRF token in the x-csrf-token header: reload the console and try again")]
    CsrfTokenInvalid,
    #[error("something went wrong on our side; quote the request id when reporting it")]
    Internal { detail: String },
}

impl AppError {
    /// Status and stable short name of the error.
    pub fn status_and_name(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "InvalidRequest"),
            Self::InvalidBody(_) | Self::TooManyFiles { .. } | Self::InvalidJobQuery(_) => {
                (StatusCode::BAD_REQUEST, "InvalidRequest")
            }
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, "MalformedJson"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            Self::InvalidIdempotencyKey => (StatusCode::BAD_REQUEST, "InvalidIdempotencyKey"),
            Self::IdempotencyConflict => (StatusCode::UNPROCESSABLE_ENTITY, "IdempotencyConflict"),
            Self::InvalidJobId(_) => (StatusCode::BAD_REQUEST, "InvalidJobId"),
            Self::JobNotFound(_) => (StatusCode::NOT_FOUND, "JobNotFound"),
            Self::JobAlreadyFinished(..) => (StatusCode::CONFLICT, "JobAlreadyFinished"),
            Self::JobNotReady(..) => (StatusCode::CONFLICT, "JobNotReady"),
            Self::ResultExpired(..) => (StatusCode::GONE, "ResultExpired"),
            Self::Link(LinkError::Invalid) => (StatusCode::FORBIDDEN, "LinkInvalid"),
            Self::Link(LinkError::Expired) => (StatusCode::FORBIDDEN, "LinkExpired"),
            Self::ResultGone => (StatusCode::NOT_FOUND, "ResultGone"),
            Self::QueueUnavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "QueueUnavailable"),
            Self::StorageUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "StorageUnavailable")
            }
            Self::OriginUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "OriginUnavailable"),
            Self::QueueFull(_) => (StatusCode::SERVICE_UNAVAILABLE, "QueueFull"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RateLimited"),
            Self::TooManyActiveJobs { .. } => (StatusCode::TOO_MANY_REQUESTS, "TooManyActiveJobs"),
            Self::QueueOutOfMemory { .. } => (StatusCode::SERVICE_UNAVAILABLE, "QueueOutOfMemory"),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, "NotFound"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            Self::CannotRetry(..) => (StatusCode::CONFLICT, "JobNotFailed"),
            Self::CannotDelete(..) => (StatusCode::CONFLICT, "JobNotFinished"),
            Self::AdminSignInRequired => (StatusCode::UNAUTHORIZED, "SignInRequired"),
            Self::AdminTokenRejected => (StatusCode::UNAUTHORIZED, "WrongAdminToken"),
            Self::CsrfTokenInvalid => (StatusCode::FORBIDDEN, "CsrfTokenInvalid"),
            Self::Internal { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        }
    }
}

/// Why a job that has not completed has no file, and what to do about it.
fn not_ready_message(job_id: JobId, phase: JobPhase) -> String {
    match phase {
        JobPhase::Failed => {
            format!("job {job_id} failed, so it has no file: start the download again")
        }
        JobPhase::Cancelled => {
            format!("job {job_id} was cancelled, so it has no file: start the download again")
        }
        phase => format!(
            "job {job_id} is {}: its file is not ready yet; follow this link once its status is completed",
            phase.as_str()
        ),
    }
}

/// The file of a completed job is gone: when, and what to do about it.
fn expired_message(job_id: JobId, expired_at: Option<Timestamp>) -> String {
    match expired_at {
        Some(at) => format!(
            "the file of job {job_id} was removed at {at}, as every prepared file is after a while: start the download again to prepare it anew"
        ),
        None => format!(
            "the file of job {job_id} is no longer stored: start the download again to prepare it anew"
        ),
    }
}

impl From<QueueError> for AppError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::IdempotencyConflict => Self::IdempotencyConflict,
            QueueError::TooManyActiveJobs { limit } => Self::TooManyActiveJobs { limit },
            QueueError::OutOfMemory(detail) => Self::QueueOutOfMemory {
                detail: format!(
                    "queue out of memory, new jobs refused until records expire: {detail}"
                ),
            },
            QueueError::Unavailable(detail) => Self::QueueUnavailable { detail },
            // A handler never holds a lease: this is a bug, reported as one.
            QueueError::LeaseLost(job_id) => Self::Internal {
                detail: format!("the lease of job {job_id} reached an HTTP handler"),
            },
        }
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        Self::StorageUnavailable {
            detail: error.to_string(),
        }
    }
}

impl AppError {
    /// What went wrong inside, for the log: never shown to the client.
    pub fn internal_detail(&self) -> Option<&str> {
        match self {
            Self::QueueUnavailable { detail }
            | Self::QueueOutOfMemory { detail }
            | Self::StorageUnavailable { detail }
            | Self::Internal { detail } => Some(detail),
            _ => None,
        }
    }
}

/// The part of an error response the middleware turns into the JSON body (and the log line).
#[derive(Debug, Clone)]
pub struct ErrorReply {
    pub name: &'static str,
    pub message: String,
    /// What went wrong inside, logged beside the request id and never sent.
    pub detail: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, name) = self.status_and_name();
        let mut response = status.into_response();
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => {
                Some(header::HeaderValue::from(*retry_after_secs))
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                Some(header::HeaderValue::from_static(RETRY_AFTER_SECS))
            }
            _ => None,
        };
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response.extensions_mut().insert(ErrorReply {
            name,
            message: self.to_string(),
            detail: self.internal_detail().map(str::to_owned),
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_goes_to_the_log_never_to_the_client() {
        let error = AppError::from(QueueError::Unavailable(
            "connection refused (os error 111) at redis://:hunter2@10.0.0.5".into(),
        ));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let reply = response.extensions().get::<ErrorReply>().unwrap();
        assert_eq!(reply.name, "QueueUnavailable");
        assert!(!reply.message.contains("10.0.0.5"), "{}", reply.message);
        assert!(reply.detail.as_deref().unwrap().contains("os error 111"));
        // Refusals a client caused carry no hidden detail.
        let refused = AppError::TooManyActiveJobs { limit: 20 }.into_response();
        assert_eq!(
            refused.extensions().get::<ErrorReply>().unwrap().detail,
            None
        );
    }
}
