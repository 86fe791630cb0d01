//! The embedded result store: archives in a local directory, downloaded through Ferry itself.
//!
//! Links are signed like S3 presigned URLs: an HMAC-SHA256 over the key and the expiry time, so a
//! link cannot be altered to reach another file or to live longer. The signing secret comes from
//! `LOCAL_STORAGE_SECRET`, or is drawn at start-up (links then stop working after a restart, as do
//! the in-memory jobs that refer to them).

use super::{
    ArchiveBody, ObjectKey, PresignedUrl, ResultStore, StorageError, StoredArchive, UploadJournal,
};
use app::api::Timestamp;
use async_trait::async_trait;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::{
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::io::AsyncWriteExt;

type HmacSha256 = Hmac<Sha256>;

/// Path prefix under which [`LocalStore`] links are served.
pub const FILES_ROUTE_PREFIX: &str = "/v1/files/";

/// Files are written here first and renamed into place, so a reader never sees half an archive.
const INCOMING_DIR: &str = ".incoming";
/// Where single files' archives live (`ObjectKey::for_file`).
const DOWNLOADS_DIR: &str = "downloads";
/// Where bundles live, each in a folder of its own (`ObjectKey::for_new_bundle`).
const BUNDLES_DIR: &str = "bundles";

/// Why a download link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the download link is invalid (it was altered or is incomplete)")]
    Invalid,
    #[error("the download link has expired")]
    Expired,
}

/// A directory of archives plus the key that signs links to them.
pub struct LocalStore {
    root: PathBuf,
    signing_key: Vec<u8>,
}

fn unix_secs_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl LocalStore {
    /// Opens (creating if needed) the directory `root`. Without `secret`, a random one is drawn.
    pub async fn open(root: PathBuf, secret: Option<&str>) -> Result<Self, StorageError> {
        tokio::fs::create_dir_all(root.join(INCOMING_DIR)).await?;
        let signing_key = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        Ok(Self { root, signing_key })
    }

    fn signature(&self, key: &str, expires_secs: u64) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.signing_key).expect("HMAC accepts keys of any length");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires_secs.to_string().as_bytes());
        mac
    }

    /// The link for `key`, valid until `expires_secs` (Unix seconds).
    pub fn signed_path(&self, key: &ObjectKey, expires_secs: u64) -> String {
        let signature = hex::encode(
            self.signature(key.as_str(), expires_secs)
                .finalize()
                .into_bytes(),
        );
        format!("{FILES_ROUTE_PREFIX}{key}?expires={expires_secs}&signature={signature}")
    }

    /// Checks a link's parts and returns the file it grants, if the link is intact and current.
    pub fn verify(
        &self,
        raw_key: &str,
        expires: Option<&str>,
        signature: Option<&str>,
    ) -> Result<(ObjectKey, PathBuf), LinkError> {
        let key = ObjectKey::parse(raw_key).ok_or(LinkError::Invalid)?;
        let expires_secs: u64 = expires
            .and_then(|e| e.parse().ok())
            .ok_or(LinkError::Invalid)?;
        let signature = signature
            .and_then(|s| hex::decode(s).ok())
            .ok_or(LinkError::Invalid)?;
        // Constant-time comparison: the signature must not be guessable byte by byte.
        self.signature(key.as_str(), expires_secs)
            .verify_slice(&signature)
            .map_err(|_| LinkError::Invalid)?;
        if expires_secs <= unix_secs_now() {
            return Err(LinkError::Expired);
        }
        let path = self.path_of(&key);
        Ok((key, path))
    }

    fn path_of(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    /// Deletes Ferry's own files (archives under `downloads/` and `bundles/`, abandoned partial
    /// uploads in `.incoming/`) last written more than `max_age` ago, and the bundle folders
    /// they leave empty; returns how many files it deleted. This is the local counterpart of an
    /// S3 lifecycle rule: with `max_age` at least the job retention plus the link lifetime, no
    /// live job or link can point at a deleted file, because every completion rewrites its
    /// archive. Anything else in the directory is left alone, and a file that cannot be read or
    /// deleted is logged and skipped: one bad entry does not stop the sweep.
    pub async fn sweep(&self, max_age: Duration) -> std::io::Result<usize> {
        let cutoff = SystemTime::now().checked_sub(max_age).unwrap_or(UNIX_EPOCH);
        let mut deleted = 0;
        for area in [DOWNLOADS_DIR, BUNDLES_DIR, INCOMING_DIR] {
            let mut directories = vec![self.root.join(area)];
            while let Some(directory) = directories.pop() {
                // Read before deleting anything in it (which makes it look new).
                let folder_is_old = modified_before(&directory, cutoff).await;
                let mut entries = match tokio::fs::read_dir(&directory).await {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        tracing::warn!(directory = %directory.display(), error = %e, "sweep: cannot list");
                        continue;
                    }
                };
                let mut left = 0usize;
                while let Some(entry) = entries.next_entry().await.transpose() {
                    let entry = match entry {
                        Ok(entry) => entry,
                        Err(e) => {
                            tracing::warn!(directory = %directory.display(), error = %e, "sweep: cannot read an entry");
                            left += 1;
                            break;
                        }
                    };
                    match self.sweep_entry(&entry, area, cutoff).await {
                        Swept::Deleted => deleted += 1,
                        Swept::Directory => directories.push(entry.path()),
                        Swept::Kept => left += 1,
                    }
                }
                // A bundle's own folder goes with its last archive — once it is old too: a new
                // one is empty while its archive is still being written in `.incoming/`.
                let in_bundles = directory.parent() == Some(&self.root.join(BUNDLES_DIR));
                if left == 0 && in_bundles && folder_is_old {
                    let _ = tokio::fs::remove_dir(&directory).await;
                }
            }
        }
        Ok(deleted)
    }

    /// Deletes one entry of `area` if it is Ferry's and old enough.
    async fn sweep_entry(
        &self,
        entry: &tokio::fs::DirEntry,
        area: &str,
        cutoff: SystemTime,
    ) -> Swept {
        let path = entry.path();
        let meta = match entry.metadata().await {
            Ok(meta) => meta,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "sweep: cannot read");
                return Swept::Kept;
            }
        };
        if meta.is_dir() {
            return if area == BUNDLES_DIR {
                Swept::Directory
            } else {
                Swept::Kept
            };
        }
        let ours =
            area == INCOMING_DIR || path.extension().is_some_and(|extension| extension == "zip");
        let old = meta.modified().is_ok_and(|modified| modified < cutoff);
        if !ours || !old || !meta.is_file() {
            return Swept::Kept;
        }
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Swept::Deleted,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Swept::Deleted,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "sweep: cannot delete");
                Swept::Kept
            }
        }
    }
}

/// Whether `path` was last modified before `cutoff` (false when that cannot be read).
async fn modified_before(path: &std::path::Path, cutoff: SystemTime) -> bool {
    tokio::fs::metadata(path)
        .await
        .and_then(|meta| meta.modified())
        .is_ok_and(|modified| modified < cutoff)
}

/// What the sweep did with one directory entry.
enum Swept {
    Deleted,
    Directory,
    Kept,
}

#[async_trait]
impl ResultStore for LocalStore {
    fn describe(&self) -> String {
        format!(
            "local directory {} (set S3_ENDPOINT and S3_BUCKET_NAME for S3)",
            self.root.display()
        )
    }

    /// Written into a file beside the store's directories and renamed into place once whole:
    /// no copy, nothing to journal, and nothing of an interrupted archive is ever visible.
    async fn put_stream(
        &self,
        key: &ObjectKey,
        _source_fingerprint: Option<&str>,
        mut body: ArchiveBody<'_>,
        _journal: &dyn UploadJournal,
    ) -> Result<u64, StorageError> {
        let destination = self.path_of(key);
        if let Some(parent) = destination.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let incoming = self
            .root
            .join(INCOMING_DIR)
            .join(format!("{:032x}", rand::random::<u128>()));
        let written = async {
            let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&incoming).await?);
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| StorageError::Interrupted(e.to_string()))?;
                file.write_all(&chunk).await?;
                size += chunk.len() as u64;
            }
            file.flush().await?;
            file.get_ref().sync_all().await?;
            tokio::fs::rename(&incoming, &destination).await?;
            Ok::<_, StorageError>(size)
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&incoming).await;
        }
        written
    }

    async fn abort_upload(&self, _key: &ObjectKey, _upload_id: &str) -> Result<(), StorageError> {
        Ok(())
    }

    async fn presign_download(
        &self,
        key: &ObjectKey,
        ttl: Duration,
    ) -> Result<PresignedUrl, StorageError> {
        let expires_secs = unix_secs_now().saturating_add(ttl.as_secs().max(1));
        Ok(PresignedUrl {
            url: self.signed_path(key, expires_secs),
            expires_at: Timestamp::from_unix_millis(expires_secs.saturating_mul(1000)),
        })
    }

    /// The fingerprint is read from the archive's own comment, so it can never disagree with
    /// the archive it describes.
    async fn stored(&self, key: &ObjectKey) -> Result<Option<StoredArchive>, StorageError> {
        let path = self.path_of(key);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => {
                let fingerprint =
                    tokio::task::spawn_blocking(move || crate::archive::read_fingerprint(&path))
                        .await
                        .map_err(|e| StorageError::Unavailable(e.to_string()))?;
                match fingerprint {
                    Ok(source_fingerprint) => Ok(Some(StoredArchive {
                        size: meta.len(),
                        source_fingerprint,
                    })),
                    // Swept between the two looks.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn ping(&self) -> Result<(), StorageError> {
        let meta = tokio::fs::metadata(self.root.join(INCOMING_DIR)).await?;
        if meta.is_dir() && !meta.permissions().readonly() {
            Ok(())
        } else {
            Err(StorageError::Unavailable(format!(
                "{} is not a writable directory",
                self.root.display()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Unjournaled;

    async fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path().to_path_buf(), Some("test-secret"))
            .await
            .unwrap();
        (dir, store)
    }

    fn split(path: &str) -> (String, String, String) {
        let (key, query) = path
            .strip_prefix(FILES_ROUTE_PREFIX)
            .unwrap()
            .split_once('?')
            .unwrap();
        let mut expires = String::new();
        let mut signature = String::new();
        for pair in query.split('&') {
            match pair.split_once('=').unwrap() {
                ("expires", v) => expires = v.into(),
                ("signature", v) => signature = v.into(),
                _ => {}
            }
        }
        (key.into(), expires, signature)
    }

    #[tokio::test]
    async fn a_presigned_link_verifies_and_tampering_is_refused() {
        let (_dir, store) = store().await;
        let key = ObjectKey::parse("downloads/12345.zip").unwrap();
        let link = store
            .presign_download(&key, Duration::from_secs(60))
            .await
            .unwrap();
        let (k, e, s) = split(&link.url);
        assert_eq!(store.verify(&k, Some(&e), Some(&s)).unwrap().0, key);

        let later = (e.parse::<u64>().unwrap() + 3600).to_string();
        assert_eq!(
            store.verify(&k, Some(&later), Some(&s)),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            store.verify("downloads/23456.zip", Some(&e), Some(&s)),
            Err(LinkError::Invalid)
        );
        let mut flipped = s.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            store.verify(&k, Some(&e), Some(&flipped)),
            Err(LinkError::Invalid)
        );
        assert_eq!(store.verify(&k, None, Some(&s)), Err(LinkError::Invalid));
    }

    #[tokio::test]
    async fn an_expired_link_is_refused() {
        let (_dir, store) = store().await;
        let key = ObjectKey::parse("downloads/12345.zip").unwrap();
        let past = unix_secs_now() - 1;
        let (k, e, s) = split(&store.signed_path(&key, past));
        assert_eq!(
            store.verify(&k, Some(&e), Some(&s)),
            Err(LinkError::Expired)
        );
    }

    fn body(chunks: &[&'static [u8]]) -> ArchiveBody<'static> {
        let items: Vec<std::io::Result<bytes::Bytes>> = chunks
            .iter()
            .map(|c| Ok(bytes::Bytes::from_static(c)))
            .collect();
        Box::pin(futures::stream::iter(items))
    }

    async fn size_of(store: &LocalStore, key: &ObjectKey) -> Option<u64> {
        store.stored(key).await.unwrap().map(|archive| archive.size)
    }

    #[tokio::test]
    async fn sweeping_deletes_only_files_older_than_the_limit() {
        let (dir, store) = store().await;
        let old = ObjectKey::parse("downloads/10001.zip").unwrap();
        let fresh = ObjectKey::parse("bundles/fresh.zip").unwrap();
        for key in [&old, &fresh] {
            store
                .put_stream(key, None, body(&[b"zip"]), &Unjournaled)
                .await
                .unwrap();
        }
        let old_bundle = ObjectKey::parse("bundles/0123abcd/ferry-2-files.zip").unwrap();
        store
            .put_stream(&old_bundle, None, body(&[b"zip"]), &Unjournaled)
            .await
            .unwrap();
        let abandoned = dir.path().join(INCOMING_DIR).join("partial");
        std::fs::write(&abandoned, b"half").unwrap();
        // Not Ferry's: never touched, however old.
        let foreign = dir.path().join("notes.txt");
        std::fs::write(&foreign, b"mine").unwrap();
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 86_400);
        for path in [
            dir.path().join(old.as_str()),
            dir.path().join(old_bundle.as_str()),
            abandoned.clone(),
            foreign.clone(),
        ] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(two_days_ago)
                .unwrap();
        }

        std::fs::File::open(dir.path().join("bundles/0123abcd"))
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
        // A bundle whose archive is still being written: its folder is new and empty.
        std::fs::create_dir_all(dir.path().join("bundles/being-written")).unwrap();

        let deleted = store.sweep(Duration::from_secs(86_400)).await.unwrap();
        assert_eq!(deleted, 3);
        assert!(
            dir.path().join("bundles/being-written").exists(),
            "a new bundle folder stays while its archive is written"
        );
        assert_eq!(size_of(&store, &old).await, None);
        assert_eq!(size_of(&store, &old_bundle).await, None);
        assert!(
            !dir.path().join("bundles/0123abcd").exists(),
            "an emptied bundle folder goes too"
        );
        assert!(!abandoned.exists());
        assert!(foreign.exists(), "files Ferry did not write are left alone");
        assert_eq!(size_of(&store, &fresh).await, Some(3));
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn a_streamed_archive_appears_whole_under_its_key_or_not_at_all() {
        let (dir, store) = store().await;
        let key = ObjectKey::parse("bundles/abc.zip").unwrap();
        assert_eq!(size_of(&store, &key).await, None);
        assert_eq!(
            store
                .put_stream(&key, None, body(&[b"archive ", b"bytes"]), &Unjournaled)
                .await
                .unwrap(),
            13
        );
        assert_eq!(size_of(&store, &key).await, Some(13));
        assert_eq!(
            std::fs::read(dir.path().join("bundles/abc.zip")).unwrap(),
            b"archive bytes"
        );

        let broken = ObjectKey::parse("bundles/broken.zip").unwrap();
        let failing: ArchiveBody<'static> = Box::pin(futures::stream::iter(vec![
            Ok(bytes::Bytes::from_static(b"half")),
            Err(std::io::Error::other("the origin went away")),
        ]));
        let error = store
            .put_stream(&broken, None, failing, &Unjournaled)
            .await
            .unwrap_err();
        assert!(matches!(error, StorageError::Interrupted(_)), "{error}");
        assert_eq!(size_of(&store, &broken).await, None);
        let leftovers = std::fs::read_dir(dir.path().join(INCOMING_DIR))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0, "an interrupted archive leaves nothing behind");
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn the_fingerprint_is_read_from_the_archive_itself() {
        let (_dir, store) = store().await;
        let key = ObjectKey::parse("downloads/12345.zip").unwrap();
        let mut writer = crate::archive::ArchiveWriter::new(Some("f1")).unwrap();
        writer.start_entry("a.txt", Some(1)).unwrap();
        writer.write(b"a").unwrap();
        let mut bytes = writer.take_output().to_vec();
        bytes.extend_from_slice(&writer.finish().unwrap());
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        store
            .put_stream(&key, Some("f1"), body(&[bytes]), &Unjournaled)
            .await
            .unwrap();
        let stored = store.stored(&key).await.unwrap().unwrap();
        assert_eq!(stored.source_fingerprint.as_deref(), Some("f1"));
        assert_eq!(stored.size, bytes.len() as u64);
    }
}
