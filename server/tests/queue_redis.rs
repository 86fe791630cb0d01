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
    Arc::new(
        RedisQueue::connect(&redis_url(), &prefix, settings)
            .expect("valid Redis URL")
            .named(queue_conformance::WORKER),
    )
}

queue_conformance::suite!(redis_queue);

/// Keys under `prefix`, found with SCAN (never KEYS on a shared server).
async fn keys_under(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{{{prefix}}}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

#[tokio::test]
async fn finished_jobs_leave_no_keys_behind_after_retention() {
    let prefix = format!("ferry-test-{}", JobId::generate());
    let queue = RedisQueue::connect(
        &redis_url(),
        &prefix,
        QueueSettings {
            result_ttl: std::time::Duration::from_secs(1),
            ..queue_conformance::fast_settings()
        },
    )
    .unwrap();
    for n in 0..200u64 {
        let job = ferry_server::queue::NewJob {
            client: "203.0.113.7".into(),
            file_ids: vec![app::api::FileId::new(40_000 + n).unwrap()],
            origin_params: String::new(),
            trace_parent: None,
        };
        queue.enqueue(job, Some(&format!("key-{n}"))).await.unwrap();
    }
    loop {
        let batch = queue.claim(50).await.unwrap().jobs;
        if batch.is_empty() {
            break;
        }
        for claimed in batch {
            let result = ferry_server::queue::JobResult {
                key: ferry_server::storage::ObjectKey::parse("downloads/x.zip").unwrap(),
                size: 1,
            };
            queue.complete(&claimed.lease, result).await.unwrap();
        }
    }
    assert!(
        keys_under(&prefix).await.len() >= 400,
        "200 records and 200 idempotency keys"
    );

    // Redis expires keys actively within moments of their deadline; allow a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = keys_under(&prefix).await;
        // Only the bounded wake-up list may remain, and the per-minute counts of finished jobs,
        // which expire on their own (checked below).
        if left
            .iter()
            .all(|k| k.ends_with(":wake") || k.contains(":minute:"))
        {
            let client = redis::Client::open(redis_url()).unwrap();
            let mut connection = client.get_multiplexed_async_connection().await.unwrap();
            for key in left.iter().filter(|k| k.contains(":minute:")) {
                let ttl: i64 = redis::cmd("TTL")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert!((1..=7_200).contains(&ttl), "{key} expires: {ttl}");
            }
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} keys left after retention, e.g. {:?}",
            left.len(),
            left.first()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A client's unfinished set can hold ids no longer unfinished (left by an older Ferry sharing
/// the prefix during a rolling upgrade, or by records lost): the cap drops them instead of
/// refusing the client for good.
#[tokio::test]
async fn the_per_client_cap_heals_from_stale_entries() {
    use ferry_server::queue::{NewJob, QueueError};
    let prefix = format!("ferry-test-{}", JobId::generate());
    let queue = RedisQueue::connect(
        &redis_url(),
        &prefix,
        QueueSettings {
            max_active_per_client: 2,
            ..queue_conformance::fast_settings()
        },
    )
    .unwrap();
    let job = || NewJob {
        client: "203.0.113.7".into(),
        file_ids: vec![app::api::FileId::new(12345).unwrap()],
        origin_params: String::new(),
        trace_parent: None,
    };
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SADD")
        .arg(format!("{{{prefix}}}:unfinished:203.0.113.7"))
        .arg(JobId::generate().to_string())
        .arg(JobId::generate().to_string())
        .query_async(&mut connection)
        .await
        .unwrap();
    queue.enqueue(job(), None).await.unwrap();
    queue.enqueue(job(), None).await.unwrap();
    assert_eq!(
        queue.enqueue(job(), None).await,
        Err(QueueError::TooManyActiveJobs { limit: 2 }),
        "the two real jobs still count"
    );
}

/// A filter that matches few jobs among many: each page reads a bounded stretch of the index
/// (and may come back short, with a cursor), yet following the cursors finds every match once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rare_match_is_found_across_bounded_pages() {
    use ferry_server::queue::{JobFilter, LIST_SCAN_BUDGET};
    let queue = redis_queue(queue_conformance::fast_settings()).await;
    let rare = "192.0.2.44";
    let mut expected = Vec::new();
    let total = LIST_SCAN_BUDGET * 2 + 300;
    for n in 0..total {
        let client = if n % 900 == 0 { rare } else { "203.0.113.7" };
        let job = ferry_server::queue::NewJob {
            client: client.into(),
            file_ids: vec![app::api::FileId::new(10_000 + n as u64 % 80_000).unwrap()],
            origin_params: String::new(),
            trace_parent: None,
        };
        let id = queue.enqueue(job, None).await.unwrap().record.id;
        if client == rare {
            expected.push(id);
        }
    }
    let filter = JobFilter {
        client: Some(rare.into()),
        ..JobFilter::default()
    };
    let (mut found, mut cursor, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = queue.list_jobs(&filter, cursor, 50).await.unwrap();
        pages += 1;
        found.extend(page.jobs.iter().map(|r| r.id));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert!(pages > 1, "the budget split the scan into pages");
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
}

/// The same across phases: when two indexes both run out of their budget on one page, the page
/// ends where the newer one stopped, so the older one's unread entries come on a later page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rare_match_in_several_long_indexes_is_found_across_pages() {
    use ferry_server::queue::{JobFilter, LIST_SCAN_BUDGET};
    // Cancelled records (and their index entries) last longer than the test.
    let queue = redis_queue(ferry_server::queue::QueueSettings {
        finished_record_ttl: std::time::Duration::from_secs(120),
        result_ttl: std::time::Duration::from_secs(120),
        ..queue_conformance::fast_settings()
    })
    .await;
    let rare = "192.0.2.45";
    let per_phase = LIST_SCAN_BUDGET + 200;
    let mut expected = Vec::new();
    let enqueue = |n: usize| {
        let queue = queue.clone();
        async move {
            // Spread out, and one among the oldest queued jobs: past where the queued index's
            // budget runs out on the first page.
            let client = if n % 700 == 0 || n == per_phase + 50 {
                rare
            } else {
                "203.0.113.7"
            };
            let job = ferry_server::queue::NewJob {
                client: client.into(),
                file_ids: vec![app::api::FileId::new(10_000 + n as u64).unwrap()],
                origin_params: String::new(),
                trace_parent: None,
            };
            (
                queue.enqueue(job, None).await.unwrap().record.id,
                client == rare,
            )
        }
    };
    // The older half is cancelled (the cancelled index), the newer half stays queued.
    let mut cancelled = Vec::new();
    for n in 0..per_phase {
        let (id, is_rare) = enqueue(n).await;
        cancelled.push(id);
        if is_rare {
            expected.push(id);
        }
    }
    for id in &cancelled {
        queue.cancel(*id).await.unwrap();
    }
    for n in per_phase..2 * per_phase {
        let (id, is_rare) = enqueue(n).await;
        if is_rare {
            expected.push(id);
        }
    }
    let filter = JobFilter {
        client: Some(rare.into()),
        ..JobFilter::default()
    };
    let (mut found, mut cursor) = (Vec::new(), None);
    for _ in 0..100 {
        let page = queue.list_jobs(&filter, cursor, 50).await.unwrap();
        found.extend(page.jobs.iter().map(|r| r.id));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "the list ends");
    found.sort();
    expected.sort();
    assert_eq!(found, expected, "every rare job once, from both indexes");
}

/// A job an older Ferry moved on without the console's indexes (a rolling upgrade) is not listed
/// under the phase it left, and its stale entry is dropped when a list meets it.
#[tokio::test]
async fn a_job_moved_on_without_its_index_is_not_listed_under_its_old_phase() {
    use ferry_server::queue::{JobFilter, NewJob};
    let prefix = format!("ferry-test-{}", JobId::generate());
    let queue =
        RedisQueue::connect(&redis_url(), &prefix, queue_conformance::fast_settings()).unwrap();
    let job = NewJob {
        client: "203.0.113.7".into(),
        file_ids: vec![app::api::FileId::new(12345).unwrap()],
        origin_params: String::new(),
        trace_parent: None,
    };
    let id = queue.enqueue(job, None).await.unwrap().record.id;
    let queued = JobFilter {
        phase: Some(app::api::JobPhase::Queued),
        ..JobFilter::default()
    };
    assert_eq!(
        queue.list_jobs(&queued, None, 10).await.unwrap().jobs.len(),
        1
    );
    // What an older instance's cancel did: the record's phase, not the index.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let job_key = format!("{{{prefix}}}:job:{id}");
    let index = format!("{{{prefix}}}:state:queued");
    let _: () = redis::cmd("HSET")
        .arg(&job_key)
        .arg("phase")
        .arg("cancelled")
        .query_async(&mut connection)
        .await
        .unwrap();
    let page = queue.list_jobs(&queued, None, 10).await.unwrap();
    assert_eq!((page.jobs.len(), page.next), (0, None));
    let left: Option<f64> = redis::cmd("ZSCORE")
        .arg(&index)
        .arg(id.to_string())
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(left, None, "the stale entry is gone");
}
