//! The browser's side of the HTTP API, built on the shared [`crate::api`] types.
//!
//! Only event handlers and effects call these functions, so they only ever run in the browser.

use crate::{
    api::{CancelResponse, ErrorBody, InitiateRequest, InitiateResponse, JobId, JobStatus},
    trace_context::{self, random_bytes},
};
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

/// A started job, and the click's `traceparent` when the server recorded that trace (its polls
/// then send the same one, so they are spans of the click's trace).
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub job: InitiateResponse,
    pub traceparent: Option<String>,
}

/// Starts a job: `POST /v1/download/initiate`, as a new trace (a click on Download or Retry is
/// where a download's trace starts; see [`crate::trace_context`]).
pub async fn initiate(request: &InitiateRequest) -> Result<Started, ClientError> {
    let traceparent = random_bytes().and_then(trace_context::new_trace);
    let mut builder = Request::post("/v1/download/initiate");
    if let Some(traceparent) = &traceparent {
        builder = builder.header(trace_context::TRACEPARENT, traceparent);
    }
    let job: InitiateResponse = send(builder.json(request)).await?;
    // A server without traces, or one whose sampler dropped this trace, names none.
    let recorded = |sent: &String| {
        job.trace.trace_id.is_some()
            && job.trace.trace_id.as_deref() == trace_context::trace_id_of(sent)
    };
    let traceparent = traceparent.filter(recorded);
    Ok(Started { job, traceparent })
}

/// One status poll's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReply {
    /// The job's state, or `None` when it is unchanged since the answer tagged `etag` was sent
    /// (a `304`).
    pub status: Option<JobStatus>,
    /// The answer's tag, to send back with the next poll.
    pub etag: Option<String>,
    /// Seconds until the server thinks another poll is worth it (`Retry-After`).
    pub retry_after_secs: Option<u32>,
    /// The answer's `x-request-id`, which finds it in the server's logs.
    pub request_id: Option<String>,
}

/// Reads a job's state: `GET /v1/download/status/:jobId`, conditional on `etag` (the tag of the
/// last answer) so an unchanged job costs an empty `304`; with the `traceparent` of the click
/// that started the job, the poll is a span of the click's trace.
pub async fn status(
    job_id: JobId,
    etag: Option<&str>,
    traceparent: Option<&str>,
) -> Result<StatusReply, ClientError> {
    let unreachable = |e: gloo_net::Error| ClientError::Unreachable(e.to_string());
    let mut request = Request::get(&format!("/v1/download/status/{job_id}"));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    if let Some(traceparent) = traceparent {
        request = request.header(trace_context::TRACEPARENT, traceparent);
    }
    let response = request.send().await.map_err(unreachable)?;
    let header = |name: &str| response.headers().get(name);
    let etag = header("etag");
    let retry_after_secs = header("retry-after").and_then(|v| v.trim().parse().ok());
    let request_id = header("x-request-id");
    let status = if response.status() == 304 {
        None
    } else {
        Some(parse(response).await?)
    };
    Ok(StatusReply {
        status,
        etag,
        retry_after_secs,
        request_id,
    })
}

/// Cancels a job: `DELETE /v1/download/:jobId`.
pub async fn cancel(job_id: JobId) -> Result<CancelResponse, ClientError> {
    send(Request::delete(&format!("/v1/download/{job_id}")).build()).await
}

/// Sends a built request and reads the answer as `T` or as the API's error body.
pub(crate) async fn send<T: serde::de::DeserializeOwned>(
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

/// Reads an answer as `T`, or as the API's error body worded for people.
pub(crate) async fn parse<T: serde::de::DeserializeOwned>(
    response: Response,
) -> Result<T, ClientError> {
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
