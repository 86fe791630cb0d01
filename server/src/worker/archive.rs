//! Builds the zip archive of a job: one generated file per file id.
//!
//! The content of each file is deterministic per id (a seeded pseudo-random stream), so tests and
//! people can check that what they downloaded is what was prepared.

use app::api::FileId;
use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
};
use zip::{write::SimpleFileOptions, CompressionMethod, ZipWriter};

/// Size of each generated file inside the archive.
pub const GENERATED_FILE_BYTES: usize = 64 * 1024;

/// Name of a file's entry inside the archive.
pub fn entry_name(file_id: FileId) -> String {
    format!("file-{file_id}.bin")
}

/// The generated content of `file_id`: the same bytes every time.
pub fn generated_content(file_id: FileId) -> Vec<u8> {
    // xorshift64*, seeded from the id; good enough to look like real data and never compress.
    let mut state = file_id.get().wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(GENERATED_FILE_BYTES);
    while bytes.len() < GENERATED_FILE_BYTES {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes.truncate(GENERATED_FILE_BYTES);
    bytes
}

/// Writes the archive for `file_ids` to `path` and returns its size. Blocking: run it on a
/// blocking thread. Memory use is one generated file at a time, whatever the bundle size.
pub fn write_archive(file_ids: &[FileId], path: &Path) -> io::Result<u64> {
    let file = File::create(path)?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    // The generated data is incompressible: storing it saves CPU for nothing lost.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o644);
    for file_id in file_ids {
        zip.start_file(entry_name(*file_id), options)?;
        zip.write_all(&generated_content(*file_id))?;
    }
    let mut writer = zip.finish()?;
    writer.flush()?;
    let file = writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn id(raw: u64) -> FileId {
        FileId::new(raw).unwrap()
    }

    #[test]
    fn content_is_deterministic_and_distinct_per_id() {
        assert_eq!(generated_content(id(12345)), generated_content(id(12345)));
        assert_ne!(generated_content(id(12345)), generated_content(id(12346)));
        assert_eq!(generated_content(id(12345)).len(), GENERATED_FILE_BYTES);
    }

    #[test]
    fn the_archive_holds_one_entry_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let ids = [id(12345), id(23456), id(34567)];
        let size = write_archive(&ids, &path).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());

        let mut archive = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(archive.len(), 3);
        for file_id in ids {
            let mut entry = archive.by_name(&entry_name(file_id)).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            assert_eq!(content, generated_content(file_id));
        }
    }
}
