//! Files that are objects in a source bucket (`ORIGIN=s3`), through `aws-sdk-s3`.
//!
//! `HeadObject` tells the size and the ETag (the version); `GetObject` streams the body with
//! `If-Match` on that ETag, so a file replaced between the look and the read is noticed
//! ([`OriginError::Changed`]) instead of mixing two versions into one attempt. The SDK's stalled
//! stream protection ends a body that stops arriving.

use super::{OpenedFile, Origin, OriginError, SourceFile};
use crate::{config::S3Settings, storage::s3::client_for};
use app::api::FileId;
use async_trait::async_trait;
use aws_sdk_s3::{
    config::http::HttpResponse,
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    Client,
};

/// Settings of the S3 origin.
#[derive(Debug, Clone)]
pub struct S3OriginSettings {
    /// Endpoint, region, credentials (defaulting to the result store's) and the source bucket.
    pub s3: S3Settings,
    /// Where a file's object is: `{file_id}` is replaced by the id (`files/{file_id}`).
    pub key_template: String,
}

/// The placeholder of key and URL templates.
pub const FILE_ID_PLACEHOLDER: &str = "{file_id}";

/// [`Origin`] on a source bucket.
pub struct S3Origin {
    client: Client,
    bucket: String,
    key_template: String,
    endpoint: String,
}

/// What S3's answer means for the file.
fn origin_error<E>(file_id: FileId, error: SdkError<E, HttpResponse>) -> OriginError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let detail = match &error {
        SdkError::ServiceError(service) => {
            let answer = service.err();
            format!(
                "{} ({})",
                answer.code().unwrap_or("no error code"),
                answer.message().unwrap_or("no message")
            )
        }
        _ => DisplayErrorContext(&error).to_string(),
    };
    let detail = match status {
        Some(status) => format!("HTTP {status}: {detail}"),
        None => detail,
    };
    match status {
        Some(404) => OriginError::NotFound { file_id, detail },
        Some(401 | 403) => OriginError::AccessDenied { file_id, detail },
        Some(412) => OriginError::Changed { file_id, detail },
        Some(408 | 429) | Some(500..) | None => OriginError::Unavailable { file_id, detail },
        Some(_) => OriginError::Refused { file_id, detail },
    }
}

impl S3Origin {
    /// Builds the client (static credentials when given, else the standard AWS chain).
    pub async fn connect(settings: &S3OriginSettings) -> Self {
        Self {
            client: client_for(&settings.s3, settings.s3.endpoint.as_deref()).await,
            bucket: settings.s3.bucket.clone(),
            key_template: settings.key_template.clone(),
            endpoint: settings
                .s3
                .endpoint
                .clone()
                .unwrap_or_else(|| "AWS".to_owned()),
        }
    }

    /// The object key of a file.
    pub fn key_of(&self, file_id: FileId) -> String {
        self.key_template
            .replace(FILE_ID_PLACEHOLDER, &file_id.to_string())
    }
}

#[async_trait]
impl Origin for S3Origin {
    fn describe(&self) -> String {
        format!(
            "S3 bucket {} at {} (keys {})",
            self.bucket, self.endpoint, self.key_template
        )
    }

    fn job_params(&self, _file_ids: &[FileId]) -> String {
        String::new()
    }

    async fn stat(&self, file_id: FileId, _params: &str) -> Result<SourceFile, OriginError> {
        let key = self.key_of(file_id);
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| origin_error(file_id, e))?;
        Ok(SourceFile {
            file_id,
            name: key.rsplit('/').next().map(str::to_owned),
            size: head.content_length().and_then(|n| u64::try_from(n).ok()),
            version: head.e_tag().map(str::to_owned),
        })
    }

    async fn open(&self, file: &SourceFile, _params: &str) -> Result<OpenedFile, OriginError> {
        let file_id = file.file_id;
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key_of(file_id))
            .set_if_match(file.version.clone())
            .send()
            .await
            .map_err(|e| origin_error(file_id, e))?;
        let bytes = futures::stream::unfold(object.body, move |mut body| async move {
            let chunk = body.next().await?;
            let chunk = chunk.map_err(|e| OriginError::Unavailable {
                file_id,
                detail: DisplayErrorContext(&e).to_string(),
            });
            Some((chunk, body))
        });
        Ok(OpenedFile {
            file: SourceFile {
                size: object
                    .content_length
                    .and_then(|n| u64::try_from(n).ok())
                    .or(file.size),
                ..file.clone()
            },
            bytes: Box::pin(bytes),
        })
    }
}
