//! The conformance suite against the Redis queue, on a real `redis-server` (the one at
//! 127.0.0.1:6379 unless `FERRY_TEST_REDIS_URL` says otherwise). Every queue gets its own key
//! prefix, so tests never see each other's jobs.

mod queue_conformance;

use app::api::JobId;
use ferry_server::queue::{redis::RedisQueue, JobQueue, QueueSettings};
use std::sync::Arc;

fn redis_url() -> String {
    std::env::var("FERRY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn redis_queue(settings: QueueSettings) -> Arc<dyn JobQueue> {
    let prefix = format!("ferry-test-{}", JobId::generate());
    Arc::new(RedisQueue::connect(&redis_url(), &prefix, settings).expect("valid Redis URL"))
}

queue_conformance::suite!(redis_queue);
