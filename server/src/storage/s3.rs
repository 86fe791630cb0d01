//! Results in S3 (or any S3-compatible store: MinIO, SeaweedFS, R2 …) through `aws-sdk-s3`.
//!
//! Uploads stream from the archive file on disk: one `PutObject` up to [`MULTIPART_THRESHOLD`],
//! a multipart upload in [`PART_SIZE`] parts above it (aborted on failure, so no orphaned parts
//! linger). Memory use does not grow with the file. Download links are presigned `GET`s, signed
//! for `S3_PUBLIC_ENDPOINT` when the browser reaches S3 under another name than the server does.

use super::{ObjectKey, PresignedUrl, ResultStore, StorageError};
use crate::config::S3Settings;
use app::api::Timestamp;
use async_trait::async_trait;
use aws_sdk_s3::{
    config::{Credentials, Region},
    error::{DisplayErrorContext, SdkError},
    presigning::PresigningConfig,
    primitives::{ByteStream, Length},
    types::{CompletedMultipartUpload, CompletedPart},
    Client,
};
use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Files up to this size go up in one request.
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;
/// Part size of multipart uploads (S3's minimum is 5 MiB for all but the last part).
pub const PART_SIZE: u64 = 8 * 1024 * 1024;
/// A health check or connection attempt that takes longer counts as a failure.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

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

async fn client_for(settings: &S3Settings, endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(CHECK_TIMEOUT)
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
        if self.check().await.is_ok() {
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
            Err(error) => Err(unavailable(error)),
        }
    }

    fn disposition(key: &ObjectKey) -> String {
        format!("attachment; filename=\"{}\"", key.file_name())
    }

    async fn put_multipart(
        &self,
        key: &ObjectKey,
        source: &Path,
        size: u64,
    ) -> Result<(), StorageError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type("application/zip")
            .content_disposition(Self::disposition(key))
            .send()
            .await
            .map_err(unavailable)?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| StorageError::Unavailable("S3 returned no upload id".into()))?
            .to_owned();
        let uploaded = self.upload_parts(key, source, size, &upload_id).await;
        if uploaded.is_err() {
            // Parts of an unfinished upload are billed and invisible: never leave them behind.
            if let Err(error) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::warn!(%key, error = %DisplayErrorContext(error), "could not abort multipart upload");
            }
        }
        uploaded
    }

    async fn upload_parts(
        &self,
        key: &ObjectKey,
        source: &Path,
        size: u64,
        upload_id: &str,
    ) -> Result<(), StorageError> {
        let mut parts = Vec::new();
        for (index, offset) in (0..size).step_by(PART_SIZE as usize).enumerate() {
            let part_number = i32::try_from(index + 1)
                .map_err(|_| StorageError::Unavailable("too many parts".into()))?;
            let length = PART_SIZE.min(size - offset);
            let body = ByteStream::read_from()
                .path(source)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|e| StorageError::Unavailable(e.to_string()))?;
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(upload_id)
                .part_number(part_number)
                .content_length(length as i64)
                .body(body)
                .send()
                .await
                .map_err(unavailable)?;
            parts.push(
                CompletedPart::builder()
                    .part_number(part_number)
                    .set_e_tag(part.e_tag().map(str::to_owned))
                    .build(),
            );
        }
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
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl ResultStore for S3Store {
    fn describe(&self) -> String {
        format!("S3 bucket {} at {}", self.bucket, self.endpoint)
    }

    async fn put_file(&self, key: &ObjectKey, source: &Path) -> Result<u64, StorageError> {
        let size = tokio::fs::metadata(source).await?.len();
        if size > MULTIPART_THRESHOLD {
            self.put_multipart(key, source, size).await?;
            return Ok(size);
        }
        let body = ByteStream::from_path(source)
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type("application/zip")
            .content_disposition(Self::disposition(key))
            .content_length(size as i64)
            .body(body)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(size)
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

    async fn size_of(&self, key: &ObjectKey) -> Result<Option<u64>, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(head) => Ok(head.content_length().map(|n| n.max(0) as u64)),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn check(&self) -> Result<(), StorageError> {
        let probe = self.client.head_bucket().bucket(&self.bucket).send();
        match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(unavailable(error)),
            Err(_) => Err(StorageError::Unavailable(
                "S3 did not answer in time".into(),
            )),
        }
    }
}
