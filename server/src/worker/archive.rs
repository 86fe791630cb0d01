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

/// Default size of each generated file inside the archive (`SIMULATED_FILE_SIZE_BYTES`).
pub const DEFAULT_GENERATED_FILE_BYTES: usize = 64 * 1024;

/// Files are generated and written this much at a time, so memory stays flat for any size.
const CHUNK_BYTES: usize = 64 * 1024;

/// Name of a file's entry inside the archive.
pub fn entry_name(file_id: FileId) -> String {
    format!("file-{file_id}.bin")
}

/// The pseudo-random byte stream of one file: xorshift64*, seeded from the id. It looks like
/// real data, never compresses, and is the same for the same id however it is chunked.
struct ContentStream {
    state: u64,
}

impl ContentStream {
    fn new(file_id: FileId) -> Self {
        Self {
            state: file_id.get().wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// Fills `buffer`; every call but the last must use a length divisible by 8.
    fn fill(&mut self, buffer: &mut [u8]) {
        for word in buffer.chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let bytes = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
    }
}

/// The generated content of `file_id`, `len` bytes long: the same bytes every time.
pub fn generated_content(file_id: FileId, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    ContentStream::new(file_id).fill(&mut bytes);
    bytes
}

/// Writes the archive for `file_ids` (each file `file_bytes` long) to `path` and returns its
/// size. Blocking: run it on a blocking thread. Memory use is one chunk, whatever the sizes.
pub fn write_archive(file_ids: &[FileId], file_bytes: usize, path: &Path) -> io::Result<u64> {
    let file = File::create(path)?;
    let mut zip = ZipWriter::new(BufWriter::new(file));
    // The generated data is incompressible: storing it saves CPU for nothing lost. Large files
    // need the zip64 extension.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(file_bytes as u64 >= u64::from(u32::MAX))
        .unix_permissions(0o644);
    let mut chunk = vec![0; CHUNK_BYTES];
    for file_id in file_ids {
        zip.start_file(entry_name(*file_id), options)?;
        let mut content = ContentStream::new(*file_id);
        let mut left = file_bytes;
        while left > 0 {
            let part = &mut chunk[..left.min(CHUNK_BYTES)];
            content.fill(part);
            zip.write_all(part)?;
            left -= part.len();
        }
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
        let size = DEFAULT_GENERATED_FILE_BYTES;
        assert_eq!(
            generated_content(id(12345), size),
            generated_content(id(12345), size)
        );
        assert_ne!(
            generated_content(id(12345), size),
            generated_content(id(12346), size)
        );
        assert_eq!(generated_content(id(12345), 1001).len(), 1001);
        assert_eq!(
            generated_content(id(12345), 1001)[..],
            generated_content(id(12345), 200_000)[..1001]
        );
    }

    #[test]
    fn the_archive_holds_one_entry_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let ids = [id(12345), id(23456), id(34567)];
        let file_bytes = 3 * CHUNK_BYTES + 5;
        let size = write_archive(&ids, file_bytes, &path).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());

        let mut archive = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(archive.len(), 3);
        for file_id in ids {
            let mut entry = archive.by_name(&entry_name(file_id)).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            assert_eq!(content, generated_content(file_id, file_bytes));
        }
    }
}
