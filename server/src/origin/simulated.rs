//! The default origin: generated files, served slowly, with failures on request.
//!
//! It needs no infrastructure, so `./scripts/run` and the tests show the whole flow — progress,
//! retries, failures — without a file server. Each job's download time is drawn once at initiate
//! from `DOWNLOAD_DELAY_MIN_MS..=DOWNLOAD_DELAY_MAX_MS` and spread over its files. The content of
//! each file is deterministic per id (a seeded pseudo-random stream), so tests and people can
//! check that what they downloaded is what was prepared. Simulated files have no version: every
//! job simulates a fresh slow download, which is what a demo wants.

use super::{OpenedFile, Origin, OriginError, SourceFile};
use app::api::FileId;
use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::{collections::HashSet, time::Duration};

/// Default size of each generated file (`SIMULATED_FILE_SIZE_BYTES`).
pub const DEFAULT_FILE_BYTES: u64 = 64 * 1024;

/// Bytes are generated and sent this much at a time, so memory stays flat for any size.
const CHUNK_BYTES: u64 = 64 * 1024;
/// The download advances about this often, so every 2 s poll sees it move.
const STEP_MS: u64 = 500;
/// At most this many pauses per file.
const MAX_STEPS: u64 = 90;

/// How the simulation behaves, from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedSettings {
    /// Range from which each job's download time is drawn, inclusive (ms).
    pub delay_ms: (u64, u64),
    /// Probability that an attempt fails on purpose (demos, chaos tests).
    pub failure_rate: f64,
    /// Files whose every attempt fails on purpose, halfway through (demos, tests).
    pub failing_file_ids: HashSet<FileId>,
    /// Size of each generated file.
    pub file_bytes: u64,
}

/// The settings of an unconfigured server: the declared defaults, so they are written once.
impl Default for SimulatedSettings {
    fn default() -> Self {
        match crate::config::Config::defaults().origin {
            crate::config::OriginSettings::Simulated(settings) => settings,
            _ => unreachable!("the simulated origin is the default"),
        }
    }
}

/// A job's parameters: how long its whole download takes, shared by its files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct JobParams {
    delay_ms: u64,
    files: u64,
}

/// Name of a generated file, inside the archive too.
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

/// [`Origin`] of generated files.
pub struct SimulatedOrigin {
    settings: SimulatedSettings,
}

impl SimulatedOrigin {
    pub fn new(settings: SimulatedSettings) -> Self {
        Self { settings }
    }

    /// The byte (if any) after which this read fails on purpose, and the reason.
    fn planned_failure(&self, file_id: FileId, files_in_job: u64) -> Option<(u64, String)> {
        let size = self.settings.file_bytes;
        if self.settings.failing_file_ids.contains(&file_id) {
            return Some((
                size / 2,
                "simulated failure (SIMULATED_FAILURE_FILE_IDS)".into(),
            ));
        }
        // Per file, so that a whole attempt fails with SIMULATED_FAILURE_RATE.
        let rate = self.settings.failure_rate;
        let per_file = 1.0 - (1.0 - rate).powf(1.0 / files_in_job.max(1) as f64);
        (rate > 0.0 && rand::random::<f64>() < per_file).then(|| {
            (
                rand::random_range(0..size.max(1)),
                "the connection dropped (simulated failure, SIMULATED_FAILURE_RATE)".into(),
            )
        })
    }
}

/// Where a simulated read is.
struct Reading {
    file_id: FileId,
    content: ContentStream,
    sent: u64,
    size: u64,
    /// Bytes per pause, and the pause.
    step_bytes: u64,
    step: Duration,
    failure: Option<(u64, String)>,
}

impl Reading {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, OriginError>, Self)> {
        if self.sent >= self.size {
            return None;
        }
        if self.sent % self.step_bytes == 0 {
            tokio::time::sleep(self.step).await;
        }
        if let Some((at, reason)) = &self.failure {
            if self.sent >= *at {
                let error = OriginError::Unavailable {
                    file_id: self.file_id,
                    detail: reason.clone(),
                };
                // Nothing follows an error.
                self.sent = self.size;
                return Some((Err(error), self));
            }
        }
        let step_end = (self.sent / self.step_bytes + 1) * self.step_bytes;
        let mut end = (self.sent + CHUNK_BYTES).min(step_end).min(self.size);
        if let Some((at, _)) = &self.failure {
            if *at > self.sent {
                end = end.min(*at);
            }
        }
        let mut chunk = vec![0; (end - self.sent) as usize];
        self.content.fill(&mut chunk);
        self.sent = end;
        Some((Ok(Bytes::from(chunk)), self))
    }
}

#[async_trait]
impl Origin for SimulatedOrigin {
    fn describe(&self) -> String {
        format!(
            "simulated ({} bytes per file, {}–{} ms per job; set ORIGIN for real files)",
            self.settings.file_bytes, self.settings.delay_ms.0, self.settings.delay_ms.1
        )
    }

    fn job_params(&self, file_ids: &[FileId]) -> String {
        let (min, max) = self.settings.delay_ms;
        let delay_ms = rand::random_range(min..=max);
        let params = JobParams {
            delay_ms,
            files: file_ids.len() as u64,
        };
        serde_json::to_string(&params).expect("plain numbers serialize")
    }

    async fn stat(&self, file_id: FileId, _params: &str) -> Result<SourceFile, OriginError> {
        Ok(SourceFile {
            file_id,
            name: Some(entry_name(file_id)),
            size: Some(self.settings.file_bytes),
            version: None,
        })
    }

    async fn open(&self, file: &SourceFile, params: &str) -> Result<OpenedFile, OriginError> {
        // Records queued before a restart with other settings still run, without the pause.
        let params: JobParams = serde_json::from_str(params).unwrap_or_default();
        let files_in_job = params.files.max(1);
        let per_file_ms = params.delay_ms / files_in_job;
        let size = self.settings.file_bytes;
        let steps = (per_file_ms / STEP_MS).clamp(1, MAX_STEPS);
        let reading = Reading {
            file_id: file.file_id,
            content: ContentStream::new(file.file_id),
            sent: 0,
            size,
            // Chunk boundaries on whole words keep the content the same however it is cut.
            step_bytes: size.div_ceil(steps).next_multiple_of(8),
            step: Duration::from_millis(per_file_ms / steps),
            failure: self
                .planned_failure(file.file_id, files_in_job)
                .map(|(at, reason)| (at - at % 8, reason)),
        };
        Ok(OpenedFile {
            file: file.clone(),
            bytes: Box::pin(futures::stream::unfold(reading, Reading::next_chunk)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn id(raw: u64) -> FileId {
        FileId::new(raw).unwrap()
    }

    #[test]
    fn content_is_deterministic_and_distinct_per_id() {
        let size = DEFAULT_FILE_BYTES as usize;
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

    async fn read_all(origin: &SimulatedOrigin, file_id: FileId) -> Result<Vec<u8>, OriginError> {
        let params = origin.job_params(&[file_id]);
        let file = origin.stat(file_id, &params).await?;
        let mut stream = origin.open(&file, &params).await?.bytes;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(bytes)
    }

    #[tokio::test(start_paused = true)]
    async fn a_file_streams_its_generated_content_over_the_drawn_delay() {
        let origin = SimulatedOrigin::new(SimulatedSettings {
            delay_ms: (3_000, 3_000),
            file_bytes: 3 * CHUNK_BYTES + 5,
            ..SimulatedSettings::default()
        });
        let started = tokio::time::Instant::now();
        let bytes = read_all(&origin, id(12345)).await.unwrap();
        assert!(bytes == generated_content(id(12345), bytes.len()));
        assert_eq!(bytes.len() as u64, 3 * CHUNK_BYTES + 5);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(2_990) && took <= Duration::from_millis(3_010),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_id_fails_halfway_and_is_worth_a_retry() {
        let origin = SimulatedOrigin::new(SimulatedSettings {
            delay_ms: (1_000, 1_000),
            failing_file_ids: [id(66666)].into(),
            ..SimulatedSettings::default()
        });
        let params = origin.job_params(&[id(66666)]);
        let file = origin.stat(id(66666), &params).await.unwrap();
        let mut stream = origin.open(&file, &params).await.unwrap().bytes;
        let mut received = 0;
        let error = loop {
            match stream.next().await.expect("the stream ends with an error") {
                Ok(chunk) => received += chunk.len() as u64,
                Err(error) => break error,
            }
        };
        assert_eq!(received, DEFAULT_FILE_BYTES / 2);
        assert!(!error.is_permanent());
        assert!(stream.next().await.is_none());
        assert!(read_all(&origin, id(12345)).await.is_ok());
    }
}
