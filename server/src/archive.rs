//! The zip format of Ferry's results, written as a stream.
//!
//! [`ArchiveWriter`] zips entries as their bytes arrive and hands the output out in pieces, so an
//! archive of any size goes from the origin to the result store through a bounded buffer: no
//! temporary file, no whole file in memory. Entries are stored, not deflated (most files people
//! download in bulk are compressed already, and storing keeps the worker at the network's
//! speed); sizes and checksums follow each entry in a data descriptor, which every unzip tool
//! reads.
//!
//! The archive comment records the fingerprint of the source it was made from
//! ([`source_fingerprint`]), so a store can tell, from the archive alone, whether it may be reused
//! for a later job.

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use std::{
    cell::RefCell,
    io::{self, Write},
    path::Path,
};
use zip::{
    write::{SimpleFileOptions, StreamWriter},
    CompressionMethod, ZipWriter,
};

/// How the archive comment introduces the source fingerprint.
const FINGERPRINT_COMMENT_PREFIX: &str = "ferry-source=";

/// A short, header- and file-safe fingerprint of one version of one file at one origin: equal
/// fingerprints mean an archive made earlier holds exactly what the origin would send now.
pub fn source_fingerprint(origin: &str, file_version: &str) -> String {
    let digest = Sha256::new()
        .chain_update(origin.as_bytes())
        .chain_update(b"\n")
        .chain_update(file_version.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// The fingerprint an archive comment records, if any.
pub fn fingerprint_from_comment(comment: &[u8]) -> Option<String> {
    std::str::from_utf8(comment)
        .ok()?
        .strip_prefix(FINGERPRINT_COMMENT_PREFIX)
        .map(str::to_owned)
}

/// The fingerprint recorded in the archive at `path` (`None` when it records none or is not a
/// readable zip). Blocking: reads the end of the file.
pub fn read_fingerprint(path: &Path) -> io::Result<Option<String>> {
    let file = std::fs::File::open(path)?;
    Ok(zip::ZipArchive::new(file)
        .ok()
        .and_then(|archive| fingerprint_from_comment(archive.comment())))
}

/// Collects what the zip writer writes until the caller takes it.
struct Output(RefCell<BytesMut>);

impl Write for Output {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.get_mut().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A zip archive written as a stream (see the module docs).
pub struct ArchiveWriter {
    zip: ZipWriter<StreamWriter<Output>>,
}

fn zip_error(error: zip::result::ZipError) -> io::Error {
    match error {
        zip::result::ZipError::Io(error) => error,
        other => io::Error::other(other),
    }
}

impl ArchiveWriter {
    /// An empty archive; `source_fingerprint` goes into its comment.
    pub fn new(source_fingerprint: Option<&str>) -> io::Result<Self> {
        let mut zip = ZipWriter::new_stream(Output(RefCell::new(BytesMut::new())));
        if let Some(fingerprint) = source_fingerprint {
            zip.set_comment(format!("{FINGERPRINT_COMMENT_PREFIX}{fingerprint}"))
                .map_err(zip_error)?;
        }
        Ok(Self { zip })
    }

    /// Starts the next entry. `size` is what the origin announced: entries of 4 GiB and more,
    /// or of unknown size, carry the zip64 extension.
    pub fn start_entry(&mut self, name: &str, size: Option<u64>) -> io::Result<()> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(size.is_none_or(|size| size >= u64::from(u32::MAX)))
            .unix_permissions(0o644);
        self.zip.start_file(name, options).map_err(zip_error)
    }

    /// Adds bytes to the current entry.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.zip.write_all(data)
    }

    /// The archive bytes written since the last call.
    pub fn take_output(&mut self) -> Bytes {
        self.zip
            .get_ref()
            .map(|stream| stream.get_ref().0.take().freeze())
            .unwrap_or_default()
    }

    /// Ends the archive (central directory, comment) and returns its last bytes.
    pub fn finish(mut self) -> io::Result<Bytes> {
        let written = self.take_output();
        let tail = self
            .zip
            .finish()
            .map_err(zip_error)?
            .into_inner()
            .0
            .into_inner();
        let mut rest = BytesMut::with_capacity(written.len() + tail.len());
        rest.extend_from_slice(&written);
        rest.extend_from_slice(&tail);
        Ok(rest.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_streamed_archive_reads_back_entry_by_entry_with_its_fingerprint() {
        let mut writer = ArchiveWriter::new(Some("abc123")).unwrap();
        let mut archive = Vec::new();
        let entries: [(&str, Vec<u8>); 3] = [
            ("a.txt", b"hello".to_vec()),
            ("empty", Vec::new()),
            (
                "big.bin",
                (0..300_000u32).map(|i| (i % 251) as u8).collect(),
            ),
        ];
        for (name, content) in &entries {
            writer
                .start_entry(name, Some(content.len() as u64))
                .unwrap();
            for chunk in content.chunks(7_777) {
                writer.write(chunk).unwrap();
                archive.extend_from_slice(&writer.take_output());
            }
        }
        archive.extend_from_slice(&writer.finish().unwrap());

        let mut read = zip::ZipArchive::new(io::Cursor::new(archive)).unwrap();
        assert_eq!(
            fingerprint_from_comment(read.comment()),
            Some("abc123".into())
        );
        assert_eq!(read.len(), 3);
        for (name, content) in &entries {
            let mut entry = read.by_name(name).unwrap();
            let mut back = Vec::new();
            entry.read_to_end(&mut back).unwrap();
            assert_eq!(&back, content, "{name}");
        }
    }

    #[test]
    fn fingerprints_differ_by_origin_and_version() {
        let a = source_fingerprint("HTTP http://a/{file_id}", "\"v1\"");
        assert_eq!(a.len(), 32);
        assert_eq!(a, source_fingerprint("HTTP http://a/{file_id}", "\"v1\""));
        assert_ne!(a, source_fingerprint("HTTP http://a/{file_id}", "\"v2\""));
        assert_ne!(a, source_fingerprint("HTTP http://b/{file_id}", "\"v1\""));
        assert_eq!(fingerprint_from_comment(b"something else"), None);
    }
}
