//! Keeping an attempt's lease alive without writing to the queue more than needed.
//!
//! A lease is short (`LEASE_TTL_MS`, 4 s by default), so a crashed worker's job runs again
//! within seconds. Every progress report already extends it, and a download reports progress
//! every [`PROGRESS_INTERVAL`](super::job) while bytes flow; the heartbeat here renews the
//! lease only when no extension came for a third of its length (the origin is slow to answer,
//! the job waits for another's archive). A short lease therefore costs no more queue writes
//! than a long one did: a streaming job sends none from here at all.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};
use tokio::time::Instant;

/// When this attempt's lease was last extended (claimed, renewed, or by a progress report),
/// shared between the heartbeat and the progress reporter of one attempt.
#[derive(Debug)]
pub struct LeaseExtended {
    claimed_at: Instant,
    /// Milliseconds after `claimed_at` of the latest extension.
    latest_ms: AtomicU64,
}

impl LeaseExtended {
    /// The lease was granted now (the claim).
    pub fn new() -> Self {
        Self {
            claimed_at: Instant::now(),
            latest_ms: AtomicU64::new(0),
        }
    }

    /// The queue has just extended the lease.
    pub fn extended_now(&self) {
        let since = self.claimed_at.elapsed().as_millis();
        self.latest_ms
            .fetch_max(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// When the latest extension happened.
    pub fn latest(&self) -> Instant {
        self.claimed_at + Duration::from_millis(self.latest_ms.load(Ordering::Relaxed))
    }
}

impl Default for LeaseExtended {
    fn default() -> Self {
        Self::new()
    }
}

/// What one renewal of the lease found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The lease is extended.
    Held,
    /// Another holder has the job (it was cancelled, or taken over after this worker stalled).
    Lost,
    /// The queue did not answer; try again a period later.
    Failed,
}

/// Renews the lease with `renew` whenever a third of `lease_ttl` has passed without an
/// extension; returns only when the lease is lost.
pub async fn keep_lease<F, Fut>(lease_ttl: Duration, extended: &LeaseExtended, mut renew: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Renewal>,
{
    let period = lease_ttl / 3;
    let mut due = extended.latest() + period;
    loop {
        tokio::time::sleep_until(due).await;
        let latest = extended.latest();
        if latest + period > Instant::now() {
            // A progress report extended the lease meanwhile.
            due = latest + period;
            continue;
        }
        match renew().await {
            Renewal::Held => extended.extended_now(),
            Renewal::Lost => return,
            Renewal::Failed => {}
        }
        due = Instant::now() + period;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        cell::{Cell, RefCell},
        rc::Rc,
    };

    /// A third of it is a whole number of milliseconds, the timer's resolution.
    const LEASE: Duration = Duration::from_millis(3_000);

    /// Runs the heartbeat for `run_for` while `progress` extends the lease at the given times
    /// (after the claim); returns when each renewal was sent, after the claim.
    async fn renewals(run_for: Duration, progress: &[u64], answer: Renewal) -> Vec<Duration> {
        let extended = LeaseExtended::new();
        let start = Instant::now();
        let sent = RefCell::new(Vec::new());
        let heartbeat = keep_lease(LEASE, &extended, || {
            sent.borrow_mut().push(start.elapsed());
            async move { answer }
        });
        let reports = async {
            for at in progress {
                tokio::time::sleep_until(start + Duration::from_millis(*at)).await;
                extended.extended_now();
            }
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = heartbeat => {}
            _ = reports => {}
            _ = tokio::time::sleep(run_for) => {}
        }
        sent.into_inner()
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_attempt_renews_at_a_third_of_the_lease() {
        let sent = renewals(Duration::from_millis(9_500), &[], Renewal::Held).await;
        let expected: Vec<Duration> = (1..=9).map(|k| LEASE / 3 * k).collect();
        assert_eq!(sent, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_reports_take_the_place_of_renewals() {
        // A report every 500 ms for 10 s: the lease never goes a third of its length without
        // an extension, so the heartbeat sends nothing.
        let reports: Vec<u64> = (1..=20).map(|i| i * 500).collect();
        let sent = renewals(Duration::from_millis(10_000), &reports, Renewal::Held).await;
        assert!(sent.is_empty(), "renewals sent: {sent:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn renewals_resume_a_third_of_the_lease_after_the_last_report() {
        let sent = renewals(Duration::from_millis(3_500), &[500, 1_000], Renewal::Held).await;
        let at: Vec<u128> = sent.iter().map(Duration::as_millis).collect();
        assert_eq!(at, [2_000, 3_000]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_renewal_is_tried_again_a_period_later_not_at_once() {
        let sent = renewals(Duration::from_millis(3_500), &[], Renewal::Failed).await;
        let at: Vec<u128> = sent.iter().map(Duration::as_millis).collect();
        assert_eq!(at, [1_000, 2_000, 3_000]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_heartbeat_ends_when_the_lease_is_lost() {
        let extended = LeaseExtended::new();
        let calls = Rc::new(Cell::new(0));
        let counted = calls.clone();
        let ended = tokio::time::timeout(
            Duration::from_secs(60),
            keep_lease(LEASE, &extended, move || {
                counted.set(counted.get() + 1);
                async { Renewal::Lost }
            }),
        )
        .await;
        assert!(
            ended.is_ok(),
            "the heartbeat kept going after the lease was lost"
        );
        assert_eq!(calls.get(), 1);
    }
}
