//! Results in S3 (or any S3-compatible store: MinIO, SeaweedFS, R2 …) through `aws-sdk-s3`.
//!
//! Uploads stream as the archive is produced: one `PutObject` for an archive smaller than one
//! part, a multipart upload in [`PART_SIZE`] parts otherwise, [`PARTS_IN_FLIGHT`] sent while the next one
//! fills (aborted on failure, so no orphaned parts linger). Memory use does not grow with the
//! archive: no temporary file, at most three parts in memory. Download links are presigned `GET`s, signed
//! for `S3_PUBLIC_ENDPOINT` when the browser reaches S3 under another name than the server does.

use super::{
    ArchiveBody, ObjectKey, PresignedUrl, ResultStore, StorageError, StoredArchive, UploadJournal,
    UPLOAD_ID_UNKNOWN,
};
use crate::config::S3Settings;
use app::api::Timestamp;
use async_trait::async_trait;
use aws_sdk_s3::{
    config::{Credentials, Region},
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    presigning::PresigningConfig,
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
    Client,
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::task::JoinSet;
use tracing::Instrument;

/// Part size of multipart uploads (S3's minimum is 5 MiB for all but the last part).
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// Parts sent at once while the next one fills: a pipeline's throughput for the memory of three
/// parts, whatever the archive's size.
pub const PARTS_IN_FLIGHT: usize = 2;
/// S3's limit on the parts of one upload (80 GB at [`PART_SIZE`]).
const MAX_PARTS: i32 = 10_000;
/// The object metadata key (`x-amz-meta-…`) holding the source fingerprint.
const FINGERPRINT_METADATA: &str = "ferry-source";
/// A health check or connection attempt that takes longer counts as a failure.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// One S3 request (a whole `PutObject` or one part) that takes longer is abandoned and retried by
/// the SDK: a store that accepts the connection but never answers must not hold a worker forever.
/// At 8 MiB per request this still allows links as slow as ~150 KB/s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// [`ResultStore`] on an S3 bucket.
pub struct S3Store {
    /// Talks to `S3_ENDPOINT` for uploads and checks.
    client: Client,
    /// Signs download links for the endpoint browsers reach (`S3_PUBLIC_ENDPOINT`).
    presigner: Client,
    bucket: String,
    endpoint: String,
}

fn unavailable<E: std::error::Error + 'static>(error: E) -> StorageError {
    StorageError::Unavailable(DisplayErrorContext(error).to_string())
}

/// S3's answer in words. A refusal names S3's error code and message ("AccessDenied (Access
/// Denied.)") so a person can act on it; no answer at all keeps the whole error chain.
fn s3_error<E, R>(error: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let answer = service.err();
            let code = answer.code().unwrap_or("an unnamed error");
            StorageError::Refused(match answer.message() {
                Some(message) => format!("{code} ({message})"),
                None => code.to_owned(),
            })
        }
        _ => unavailable(error),
    }
}

/// A client for `endpoint` with the settings' region and credentials; the S3 origin uses it too.
pub async fn client_for(settings: &S3Settings, endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(CHECK_TIMEOUT)
                .operation_attempt_timeout(REQUEST_TIMEOUT)
                .build(),
        );
    if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            id,
            secret.expose(),
            None,
            None,
            "ferry-environment",
        ));
    }
    let shared = loader.load().await;
    let mut config =
        aws_sdk_s3::config::Builder::from(&shared).force_path_style(settings.force_path_style);
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

impl S3Store {
    /// Builds the clients (static credentials when given, else the standard AWS chain).
    pub async fn connect(settings: &S3Settings) -> Self {
        let client = client_for(settings, settings.endpoint.as_deref()).await;
        let public = settings
            .public_endpoint
            .as_deref()
            .or(settings.endpoint.as_deref());
        let presigner = client_for(settings, public).await;
        Self {
            client,
            presigner,
            bucket: settings.bucket.clone(),
            endpoint: settings
                .endpoint
                .clone()
                .unwrap_or_else(|| "AWS".to_owned()),
        }
    }

    /// Creates the bucket if it does not exist (another instance winning the race is fine).
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        if self.ping().await.is_ok() {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error.as_service_error().is_some_and(|e| {
                    e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                }) =>
            {
                Ok(())
            }
            Err(error) => Err(s3_error(error)),
        }
    }

    fn disposition(key: &ObjectKey) -> String {
        format!("attachment; filename=\"{}\"", key.file_name())
    }

    async fn put_multipart(
        &self,
        key: &ObjectKey,
        source_fingerprint: Option<&str>,
        first_part: BytesMut,
        parts: &mut PartReader<'_, '_>,
        journal: &dyn UploadJournal,
    ) -> Result<u64, StorageError> {
        // Written down before it exists, so a crash between its creation and the entry of its id
        // still leaves a trace the next attempt acts on.
        journal.started(UPLOAD_ID_UNKNOWN).await?;
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type("application/zip")
            .content_disposition(Self::disposition(key))
            .set_metadata(Self::metadata(source_fingerprint))
            .send()
            .await;
        let upload = match created {
            Ok(upload) => upload,
            Err(error) => {
                journal.finished().await;
                return Err(s3_error(error));
            }
        };
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| StorageError::Unavailable("S3 returned no upload id".into()))?
            .to_owned();
        // Parts of an unfinished upload are billed and invisible: never leave them behind. An
        // error aborts the upload here; a cancelled attempt (lease lost, shutdown) drops this
        // future mid-part, and the guard aborts it then; a killed process leaves it in the
        // journal for the next attempt.
        let guard = AbortOnDrop {
            upload: Some(OpenUpload {
                client: self.client.clone(),
                bucket: self.bucket.clone(),
                key: key.clone(),
                upload_id: upload_id.clone(),
            }),
        };
        let uploaded = match journal.started(&upload_id).await {
            Ok(()) => self.upload_parts(key, &upload_id, first_part, parts).await,
            Err(error) => Err(error),
        };
        let upload = guard.disarm();
        match &uploaded {
            Ok(_) => journal.finished().await,
            Err(_) => match upload.abort().await {
                Ok(()) => journal.finished().await,
                Err(error) => tracing::warn!(%key, %error, "could not abort multipart upload"),
            },
        }
        uploaded
    }

    /// Sends the parts as the body produces them, [`PARTS_IN_FLIGHT`] at a time while the next
    /// one fills, then completes the upload; returns the size.
    async fn upload_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        first_part: BytesMut,
        reader: &mut PartReader<'_, '_>,
    ) -> Result<u64, StorageError> {
        // Dropping the set (an error, a cancelled attempt) stops every part still being sent.
        let mut sending: JoinSet<Result<SentPart, StorageError>> = JoinSet::new();
        let mut parts = Vec::new();
        // Buffers of parts already sent, filled again: a few allocations per upload, not one per
        // part (the allocator would keep the freed ones around and the process would grow).
        let mut spare = Vec::new();
        let mut size = 0u64;
        let mut next = Some(first_part);
        let mut part_number = 0i32;
        while let Some(part) = next.take() {
            if part.is_empty() {
                break;
            }
            part_number = part_number
                .checked_add(1)
                .filter(|n| *n <= MAX_PARTS)
                .ok_or_else(|| StorageError::Refused("the archive needs too many parts".into()))?;
            size += part.len() as u64;
            // In the upload's span: each part's S3 call joins the job's trace and log lines.
            sending.spawn(
                send_part(
                    self.client.clone(),
                    self.bucket.clone(),
                    key.as_str().to_owned(),
                    upload_id.to_owned(),
                    part_number,
                    part.freeze(),
                )
                .in_current_span(),
            );
            while sending.len() >= PARTS_IN_FLIGHT {
                let sent = joined(sending.join_next().await)?;
                spare.extend(sent.buffer);
                parts.push(sent.part);
            }
            if reader.finished() {
                break;
            }
            next = Some(reader.next_part(spare.pop()).await?);
        }
        while let Some(sent) = sending.join_next().await {
            parts.push(joined(Some(sent))?.part);
        }
        parts.sort_by_key(|part| part.part_number());
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(s3_error)?;
        Ok(size)
    }

    /// The object metadata that records the source an archive was made from.
    fn metadata(source_fingerprint: Option<&str>) -> Option<HashMap<String, String>> {
        source_fingerprint.map(|fingerprint| {
            HashMap::from([(FINGERPRINT_METADATA.to_owned(), fingerprint.to_owned())])
        })
    }
}

/// Cuts the archive body into parts of [`PART_SIZE`] bytes (the last one shorter): each part is
/// one buffer of its final size, filled once and never regrown, whatever sizes the body's pieces
/// come in.
struct PartReader<'a, 'b> {
    body: &'a mut ArchiveBody<'b>,
    /// What is left of the last piece after the previous part was full.
    carry: Bytes,
    /// The body has ended (it must not be read again).
    ended: bool,
}

impl<'a, 'b> PartReader<'a, 'b> {
    fn new(body: &'a mut ArchiveBody<'b>) -> Self {
        Self {
            body,
            carry: Bytes::new(),
            ended: false,
        }
    }

    /// The next part, in `buffer` if one is given: full unless the body ended; empty once
    /// everything was read.
    async fn next_part(&mut self, buffer: Option<BytesMut>) -> Result<BytesMut, StorageError> {
        let size = PART_SIZE as usize;
        let mut part = buffer.unwrap_or_else(|| BytesMut::with_capacity(size));
        part.clear();
        while part.len() < size {
            if self.carry.is_empty() {
                if self.ended {
                    break;
                }
                match self.body.next().await {
                    None => {
                        self.ended = true;
                        break;
                    }
                    Some(Ok(piece)) => self.carry = piece,
                    Some(Err(error)) => return Err(StorageError::Interrupted(error.to_string())),
                }
            }
            let take = (size - part.len()).min(self.carry.len());
            part.extend_from_slice(&self.carry.split_to(take));
        }
        Ok(part)
    }

    /// True when nothing is left to read.
    fn finished(&self) -> bool {
        self.ended && self.carry.is_empty()
    }
}

/// A part S3 has, and its buffer back for the next part when nothing else holds it any more.
struct SentPart {
    part: CompletedPart,
    buffer: Option<BytesMut>,
}

/// One part of a multipart upload.
async fn send_part(
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    part_number: i32,
    bytes: Bytes,
) -> Result<SentPart, StorageError> {
    let length = bytes.len() as i64;
    let part = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(part_number)
        .content_length(length)
        .body(ByteStream::from(bytes.clone()))
        .send()
        .await
        .map_err(s3_error)?;
    Ok(SentPart {
        part: CompletedPart::builder()
            .part_number(part_number)
            .set_e_tag(part.e_tag().map(str::to_owned))
            .build(),
        buffer: bytes.try_into_mut().ok(),
    })
}

/// The outcome of a part's task.
fn joined(
    outcome: Option<Result<Result<SentPart, StorageError>, tokio::task::JoinError>>,
) -> Result<SentPart, StorageError> {
    match outcome {
        Some(Ok(part)) => part,
        Some(Err(error)) => Err(StorageError::Unavailable(format!(
            "a part upload stopped: {error}"
        ))),
        None => Err(StorageError::Unavailable(
            "no part upload was running".into(),
        )),
    }
}

/// Aborts a multipart upload; one that is already gone is fine.
async fn abort(
    client: &Client,
    bucket: &str,
    key: &ObjectKey,
    upload_id: &str,
) -> Result<(), StorageError> {
    match client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key.as_str())
        .upload_id(upload_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(e))
            if e.err().is_no_such_upload() || e.raw().status().as_u16() == 404 =>
        {
            Ok(())
        }
        Err(error) => Err(s3_error(error)),
    }
}

/// A multipart upload that has been created and not completed: what aborting it takes.
struct OpenUpload {
    client: Client,
    bucket: String,
    key: ObjectKey,
    upload_id: String,
}

impl OpenUpload {
    async fn abort(&self) -> Result<(), StorageError> {
        abort(&self.client, &self.bucket, &self.key, &self.upload_id).await
    }
}

/// Aborts a multipart upload whose future was dropped before it finished (the attempt was
/// cancelled mid-part), from a task of its own since `Drop` cannot wait.
struct AbortOnDrop {
    upload: Option<OpenUpload>,
}

impl AbortOnDrop {
    /// The upload ran to its end (completed or failed): the caller deals with it.
    fn disarm(mut self) -> OpenUpload {
        self.upload.take().expect("armed until disarmed")
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            tokio::spawn(
                async move {
                    let key = &upload.key;
                    match upload.abort().await {
                        Ok(()) => tracing::info!(%key, "aborted the upload of a cancelled attempt"),
                        Err(error) => {
                            tracing::warn!(%key, %error, "could not abort multipart upload")
                        }
                    }
                }
                .in_current_span(),
            );
        }
    }
}

#[async_trait]
impl ResultStore for S3Store {
    fn describe(&self) -> String {
        format!("S3 bucket {} at {}", self.bucket, self.endpoint)
    }

    async fn put_stream(
        &self,
        key: &ObjectKey,
        source_fingerprint: Option<&str>,
        mut body: ArchiveBody<'_>,
        journal: &dyn UploadJournal,
    ) -> Result<u64, StorageError> {
        let mut parts = PartReader::new(&mut body);
        let first = parts.next_part(None).await?;
        if !parts.finished() {
            return self
                .put_multipart(key, source_fingerprint, first, &mut parts, journal)
                .await;
        }
        let size = first.len() as u64;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type("application/zip")
            .content_disposition(Self::disposition(key))
            .set_metadata(Self::metadata(source_fingerprint))
            .content_length(size as i64)
            .body(ByteStream::from(first.freeze()))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(size)
    }

    async fn abort_upload(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StorageError> {
        if upload_id != UPLOAD_ID_UNKNOWN {
            return abort(&self.client, &self.bucket, key, upload_id).await;
        }
        // The attempt died while creating the upload: abort whatever unfinished upload the key
        // has. (Another job for the same file that is uploading right now loses its attempt
        // and retries; both write the same bytes, so nothing is lost.)
        let listing = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(key.as_str())
            .send()
            .await
            .map_err(s3_error)?;
        for upload in listing.uploads() {
            if let (Some(k), Some(id)) = (upload.key(), upload.upload_id()) {
                if k == key.as_str() {
                    abort(&self.client, &self.bucket, key, id).await?;
                }
            }
        }
        Ok(())
    }

    async fn presign_download(
        &self,
        key: &ObjectKey,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError> {
        let signed_at = SystemTime::now();
        let config = PresigningConfig::builder()
            .start_time(signed_at)
            .expires_in(ttl)
            .build()
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        let request = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(config)
            .await
            .map_err(unavailable)?;
        let expires_at = (signed_at + ttl)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ok(PresignedUrl {
            url: request.uri().to_owned(),
            expires_at: Timestamp::from_unix_millis(expires_at),
        })
    }

    async fn stored(&self, key: &ObjectKey) -> Result<Option<StoredArchive>, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(head) => Ok(Some(StoredArchive {
                size: head.content_length().map_or(0, |n| n.max(0) as u64),
                source_fingerprint: head
                    .metadata()
                    .and_then(|m| m.get(FINGERPRINT_METADATA))
                    .cloned(),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(error) => Err(s3_error(error)),
        }
    }

    async fn ping(&self) -> Result<(), StorageError> {
        let probe = self.client.head_bucket().bucket(&self.bucket).send();
        match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(s3_error(error)),
            Err(_) => Err(StorageError::Unavailable(
                "S3 did not answer in time".into(),
            )),
        }
    }
}
