//! Where finished archives live and how a browser downloads them.
//!
//! [`ResultStore`] is the contract, shaped like S3 (put an object, presign a GET);
//! [`s3::S3Store`] keeps results in a bucket that browsers download from directly, and
//! [`local::LocalStore`] is the embedded backend (a directory, served by Ferry itself through
//! signed, expiring links).

pub mod local;
pub mod s3;

use app::api::{FileId, Timestamp};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::{fmt, time::Duration};

/// A storage key known to be safe as an S3 key and as a relative path: ASCII letters, digits,
/// `-`, `_`, `.` and `/`-separated segments, none of them empty, `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Where a job's archive goes: a single file's at its file's key (shared by every job for
    /// the file, and what `check` looks at), a bundle's at a fresh key of its own.
    pub fn for_job(file_ids: &[FileId]) -> Self {
        match file_ids {
            [single] => Self::for_file(*single),
            many => Self::for_new_bundle(many.len()),
        }
    }

    /// Where a single file's archive goes; `POST /v1/download/check` looks here.
    pub fn for_file(file_id: FileId) -> Self {
        Self(format!("downloads/{file_id}.zip"))
    }

    /// A fresh place for a bundle's archive: bundles are per job, not per file. The folder is
    /// 128 random bits and the key holds nothing about the job, so a download link (which
    /// contains the key) gives nobody the job id — with it they could follow or cancel the job.
    pub fn for_new_bundle(files: usize) -> Self {
        Self(format!(
            "bundles/{:032x}/ferry-{files}-files.zip",
            rand::random::<u128>()
        ))
    }

    /// Checks an untrusted key (from a URL) against the safe alphabet.
    pub fn parse(raw: &str) -> Option<Self> {
        let safe_segment = |segment: &str| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        (raw.len() <= 512 && raw.split('/').all(safe_segment)).then(|| Self(raw.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment, which is also the name the browser saves the file under.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A time-limited download link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    /// Absolute (`https://…`) or, for the local store, a path on this server (`/v1/files/…`).
    pub url: String,
    pub expires_at: Timestamp,
}

/// An archive's bytes as they are produced. An `Err` item means the producer failed: the store
/// must drop what it received and store nothing.
pub type ArchiveBody<'a> = BoxStream<'a, std::io::Result<Bytes>>;

/// What the store knows about an archive it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArchive {
    pub size: u64,
    /// The fingerprint of the source it was made from (see `archive::source_fingerprint`), so a
    /// job for an unchanged file can reuse it.
    pub source_fingerprint: Option<String>,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The backend cannot be reached or refused the operation; retrying later may help.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The backend answered and said no (access denied, no such bucket …): retrying rarely
    /// helps, and the message says what an operator has to fix.
    #[error("storage refused the request: {0}")]
    Refused(String),
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The archive's producer failed mid-way: nothing was stored.
    #[error("the archive was not finished: {0}")]
    Interrupted(String),
}

/// The journal's entry while an upload is being created and its id is not known yet. An attempt
/// that dies then leaves this behind, and the next one aborts every unfinished upload of the key.
pub const UPLOAD_ID_UNKNOWN: &str = "*";

/// Where an upload in several requests is written down while it runs, so that if this process
/// dies the next attempt can abort it (S3 keeps an unfinished upload's parts, billed and
/// invisible, until someone does). The worker records it in the job's queue record.
#[async_trait]
pub trait UploadJournal: Send + Sync {
    /// Called with [`UPLOAD_ID_UNKNOWN`] before the multipart upload is created, then with its
    /// id before any part is sent. An error stops the upload (and aborts it): an upload nobody
    /// could find again must not go ahead.
    async fn started(&self, upload_id: &str) -> Result<(), StorageError>;

    /// Called once the upload is completed or aborted.
    async fn finished(&self);
}

/// A journal that writes nothing down: for uploads no job record follows (tests, tools).
pub struct Unjournaled;

#[async_trait]
impl UploadJournal for Unjournaled {
    async fn started(&self, _upload_id: &str) -> Result<(), StorageError> {
        Ok(())
    }

    async fn finished(&self) {}
}

/// An object store for finished archives.
#[async_trait]
pub trait ResultStore: Send + Sync + 'static {
    /// A short description for the start-up log.
    fn describe(&self) -> String;

    /// Stores the archive `body` under `key` while it is produced, holding a bounded amount of
    /// it in memory whatever its size, and returns its size in bytes. Nothing becomes visible
    /// under `key` unless the whole body arrived; an upload in several requests is written down
    /// in `journal` while it runs. `source_fingerprint` is kept with it (see [`StoredArchive`]).
    async fn put_stream(
        &self,
        key: &ObjectKey,
        source_fingerprint: Option<&str>,
        body: ArchiveBody<'_>,
        journal: &dyn UploadJournal,
    ) -> Result<u64, StorageError>;

    /// Aborts an upload to `key` that an earlier attempt started and never finished (every
    /// unfinished upload of `key` for [`UPLOAD_ID_UNKNOWN`]). One that is already gone
    /// (finished, aborted, expired) is not an error.
    async fn abort_upload(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StorageError>;

    /// A link that downloads `key` until `ttl` from now.
    async fn presign_download(
        &self,
        key: &ObjectKey,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError>;

    /// The archive stored under `key`, or `None` if there is none.
    async fn stored(&self, key: &ObjectKey) -> Result<Option<StoredArchive>, StorageError>;

    /// Cheap real round trip for `/health`.
    async fn ping(&self) -> Result<(), StorageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_urls_cannot_escape_the_store() {
        assert!(ObjectKey::parse("downloads/12345.zip").is_some());
        for bad in [
            "../etc/passwd",
            "downloads/../../x",
            "/abs",
            "a//b",
            "a/./b",
            "a b",
            "",
            "a\\b",
        ] {
            assert!(ObjectKey::parse(bad).is_none(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn a_single_file_shares_its_files_key_and_a_bundle_gets_its_own() {
        let one = FileId::new(12345).unwrap();
        assert_eq!(ObjectKey::for_job(&[one]), ObjectKey::for_file(one));
        let two = [one, FileId::new(23456).unwrap()];
        let first = ObjectKey::for_job(&two);
        assert!(first.as_str().starts_with("bundles/"));
        assert_eq!(first.file_name(), "ferry-2-files.zip");
        assert_ne!(first, ObjectKey::for_job(&two), "every bundle is new");
    }

    #[test]
    fn file_name_is_the_last_segment() {
        let key = ObjectKey::for_file(FileId::new(12345).unwrap());
        assert_eq!(key.as_str(), "downloads/12345.zip");
        assert_eq!(key.file_name(), "12345.zip");
    }
}
