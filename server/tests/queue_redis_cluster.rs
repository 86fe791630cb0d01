//! The queue conformance suite and a download round trip on a real three-master Redis Cluster:
//! the queue's single hash tag keeps every script on one slot.

mod common;
mod queue_conformance;

use common::{redis_cluster::RedisCluster, spawn_app};
use ferry_server::queue::{
    redis::{RedisQueue, RedisTarget},
    JobQueue, QueueSettings,
};
use std::{sync::Arc, time::Duration};

async fn make_queue(settings: QueueSettings) -> Arc<dyn JobQueue> {
    let target = RedisTarget::Cluster(RedisCluster::shared().nodes.clone());
    let prefix = format!("ferry-test-{}", app::api::JobId::generate());
    Arc::new(
        RedisQueue::connect_to(&target, &prefix, settings)
            .expect("valid cluster nodes")
            .named(queue_conformance::WORKER),
    )
}

queue_conformance::suite!(make_queue);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_completes_with_the_queue_on_a_cluster() {
    let nodes = RedisCluster::shared()
        .nodes
        .iter()
        .map(|n| n.trim_start_matches("redis://"))
        .collect::<Vec<_>>()
        .join(",");
    let prefix = format!("ferry-test-{}", app::api::JobId::generate());
    let app = spawn_app(&[("REDIS_CLUSTER_NODES", &nodes), ("QUEUE_PREFIX", &prefix)]).await;
    assert_eq!(app.get("/health").await.json()["checks"]["queue"], "ok");
    let job_id = app.initiate(r#"{"file_ids": [12345, 23456]}"#).await;
    let done = app
        .wait_for(&job_id, Duration::from_secs(15), |s| {
            s["status"] == "completed"
        })
        .await;
    assert!(done["size"].as_u64().unwrap() > 0);
    let metrics = String::from_utf8(app.get("/metrics").await.body).unwrap();
    assert!(
        metrics.contains("ferry_queue_jobs{state=\"waiting\"}"),
        "{metrics}"
    );
}
