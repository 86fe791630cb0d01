//! The browser's side of the HTTP API, built on the shared [`crate::api`] types.
//!
//! Only event handlers and effects call these functions, so they only ever run in the browser.

use crate::api::{CancelResponse, ErrorBody, InitiateRequest, InitiateResponse, JobId, JobStatus};
use gloo_net::http::{Request, Response};

/// What went wrong talking to the API, worded for the person looking at the page.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// No HTTP answer at all (network down, server stopped) or a 5xx: worth retrying.
    #[error("connection lost: {0}")]
    Unreachable(String),
    /// The job is unknown to the server, usually because its record expired.
    #[error("this download is no longer known to the server (it may have expired)")]
    NotFound,
    /// The API refused the request and said why.
    #[error("{}", .0.message)]
    Refused(ErrorBody),
}

impl ClientError {
    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }
}

/// Starts a job: `POST /v1/download/initiate`.
pub async fn initiate(request: &InitiateRequest) -> Result<InitiateResponse, ClientError> {
    send(Request::post("/v1/download/initiate").json(request)).await
}

/// Reads a job's state: `GET /v1/download/status/:jobId`.
pub async fn status(job_id: JobId) -> Result<JobStatus, ClientError> {
    send(Request::get(&format!("/v1/download/status/{job_id}")).build()).await
}

/// Cancels a job: `DELETE /v1/download/:jobId`.
pub async fn cancel(job_id: JobId) -> Result<CancelResponse, ClientError> {
    send(Request::delete(&format!("/v1/download/{job_id}")).build()).await
}

/// Sends a built request and reads the answer as `T` or as the API's error body.
async fn send<T: serde::de::DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<T, ClientError> {
    let unreachable = |e: gloo_net::Error| ClientError::Unreachable(e.to_string());
    let response = request
        .map_err(unreachable)?
        .send()
        .await
        .map_err(unreachable)?;
    parse(response).await
}

async fn parse<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let status = response.status();
    if response.ok() {
        return response
            .json()
            .await
            .map_err(|e| ClientError::Unreachable(format!("unreadable answer: {e}")));
    }
    if status == 404 {
        return Err(ClientError::NotFound);
    }
    match response.json::<ErrorBody>().await {
        Ok(body) if status < 500 => Err(ClientError::Refused(body)),
        Ok(body) => Err(ClientError::Unreachable(body.message)),
        Err(_) => Err(ClientError::Unreachable(format!(
            "the server answered {status}"
        ))),
    }
}
