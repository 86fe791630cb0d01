//! How the origin has been answering this process: every look-up and read goes through
//! [`WatchedOrigin`], which notes whether the origin answered (a missing or forbidden file is an
//! answer) or failed (no answer, a 5xx, a cut-off body). The heartbeat reports it, so the console
//! shows each instance's view of the origin without probing it.

use super::{ByteStream, OpenedFile, Origin, OriginError, SourceFile};
use crate::queue::system_now;
use app::api::{FileId, OriginHealth, OriginState};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::{Arc, Mutex};

/// What this process last learnt about the origin, shared by the origin wrapper and the
/// heartbeat.
#[derive(Debug, Clone, Default)]
pub struct OriginWatch(Arc<Mutex<OriginHealth>>);

impl OriginWatch {
    /// The origin's health as last seen.
    pub fn now(&self) -> OriginHealth {
        self.lock().clone()
    }

    /// Notes what one request to the origin came to.
    fn saw<T>(&self, outcome: &Result<T, OriginError>) {
        let failure = match outcome {
            Err(error @ (OriginError::Unavailable { .. } | OriginError::Truncated { .. })) => {
                Some(error.to_string())
            }
            _ => None,
        };
        let mut health = self.lock();
        health.at = Some(system_now());
        health.state = match failure {
            Some(_) => OriginState::Failing,
            None => OriginState::Answering,
        };
        health.error = failure;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OriginHealth> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An origin whose answers are noted in an [`OriginWatch`].
pub struct WatchedOrigin {
    inner: Arc<dyn Origin>,
    watch: OriginWatch,
}

impl WatchedOrigin {
    /// `inner`, with its answers noted in `watch`.
    pub fn new(inner: Arc<dyn Origin>, watch: OriginWatch) -> Self {
        Self { inner, watch }
    }
}

#[async_trait]
impl Origin for WatchedOrigin {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn job_params(&self, file_ids: &[FileId]) -> String {
        self.inner.job_params(file_ids)
    }

    async fn stat(&self, file_id: FileId, params: &str) -> Result<SourceFile, OriginError> {
        let outcome = self.inner.stat(file_id, params).await;
        self.watch.saw(&outcome);
        outcome
    }

    async fn open(&self, file: &SourceFile, params: &str) -> Result<OpenedFile, OriginError> {
        let outcome = self.inner.open(file, params).await;
        self.watch.saw(&outcome);
        let opened = outcome?;
        // A body that breaks off is the origin failing too.
        let watch = self.watch.clone();
        let bytes: ByteStream = opened
            .bytes
            .inspect(move |piece| {
                if piece.is_err() {
                    watch.saw(piece);
                }
            })
            .boxed();
        Ok(OpenedFile {
            file: opened.file,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::simulated::{SimulatedOrigin, SimulatedSettings};

    fn id(n: u64) -> FileId {
        FileId::new(n).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn answers_and_failures_of_the_origin_are_noted() {
        let inner: Arc<dyn Origin> = Arc::new(SimulatedOrigin::new(SimulatedSettings {
            delay_ms: (100, 100),
            failing_file_ids: [id(66666)].into(),
            ..SimulatedSettings::default()
        }));
        let watch = OriginWatch::default();
        let origin = WatchedOrigin::new(inner, watch.clone());
        assert_eq!(watch.now().state, OriginState::Unknown, "nothing asked yet");
        let params = origin.job_params(&[id(66666)]);
        let file = origin.stat(id(66666), &params).await.unwrap();
        let seen = watch.now();
        assert_eq!((seen.state, seen.error), (OriginState::Answering, None));
        assert!(seen.at.is_some());

        // The simulated origin breaks this file's body off halfway.
        let mut bytes = origin.open(&file, &params).await.unwrap().bytes;
        while let Some(Ok(_)) = bytes.next().await {}
        let seen = watch.now();
        assert_eq!(seen.state, OriginState::Failing);
        assert!(seen.error.unwrap().contains("66666"));

        // The next answer clears the failure.
        let ok_params = origin.job_params(&[id(12345)]);
        origin.stat(id(12345), &ok_params).await.unwrap();
        assert_eq!(watch.now().state, OriginState::Answering);
    }
}
