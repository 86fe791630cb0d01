//! The conformance suite against the embedded in-memory queue, on tokio's paused clock.

mod queue_conformance;

use ferry_server::queue::{clock::TokioClock, memory::MemoryQueue, JobQueue, QueueSettings};
use std::sync::Arc;

async fn memory_queue(settings: QueueSettings) -> Arc<dyn JobQueue> {
    Arc::new(
        MemoryQueue::with_clock(settings, Arc::new(TokioClock)).named(queue_conformance::WORKER),
    )
}

queue_conformance::suite!(paused: memory_queue);
