//! The conformance suite against the embedded in-memory queue.

mod queue_conformance;

use ferry_server::queue::{memory::MemoryQueue, JobQueue, QueueSettings};
use std::sync::Arc;

async fn memory_queue(settings: QueueSettings) -> Arc<dyn JobQueue> {
    Arc::new(MemoryQueue::new(settings))
}

queue_conformance::suite!(memory_queue);
