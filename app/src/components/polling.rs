//! When a row asks for its job's state next.
//!
//! The seed design polls every 2 s. When the API stops answering, every open tab polling at that
//! rate would hammer it the moment it comes back, so failures back off exponentially (2 s, 4 s,
//! 8 s … capped at 30 s) and the first answer brings the rate back to 2 s. A finished job is not
//! polled at all; its link is renewed when it is followed, if it is about to expire.

/// The normal wait between two status requests of one row.
pub const POLL_INTERVAL_MS: u32 = 2_000;

/// The longest wait between two status requests while the API is unreachable.
pub const MAX_BACKOFF_MS: u32 = 30_000;

/// A link this close to its expiry is renewed before it is followed, so the click cannot land on
/// an "expired" error page of the object store.
const LINK_RENEWAL_MARGIN_MS: u64 = 15_000;

/// The wait before the next request, after `consecutive_failures` requests in a row got no usable
/// answer (0 when the last one succeeded).
pub fn next_poll_delay_ms(consecutive_failures: u32) -> u32 {
    match consecutive_failures {
        0 => POLL_INTERVAL_MS,
        n => POLL_INTERVAL_MS
            .saturating_mul(2u32.saturating_pow(n - 1))
            .min(MAX_BACKOFF_MS),
    }
}

/// Whether a completed job's link, valid until `expires_at_ms`, must be renewed (by asking for the
/// job's status again) before it is followed at `now_ms`. Rows stop polling when their job
/// completes, and a tab may stay open for longer than a link lives.
pub fn link_needs_renewal(expires_at_ms: u64, now_ms: u64) -> bool {
    now_ms.saturating_add(LINK_RENEWAL_MARGIN_MS) >= expires_at_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_doubling_up_to_thirty_seconds() {
        let waits: Vec<u32> = (0..8).map(next_poll_delay_ms).collect();
        assert_eq!(
            waits,
            [2_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(next_poll_delay_ms(u32::MAX), MAX_BACKOFF_MS);
    }

    #[test]
    fn links_are_renewed_shortly_before_they_expire() {
        let now = 1_000_000;
        assert!(!link_needs_renewal(now + 3_600_000, now));
        assert!(!link_needs_renewal(now + 15_001, now));
        assert!(link_needs_renewal(now + 15_000, now));
        assert!(link_needs_renewal(now - 1, now));
        assert!(link_needs_renewal(0, u64::MAX));
    }
}
