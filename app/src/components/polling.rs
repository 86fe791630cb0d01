//! When a row asks for its job's state next.
//!
//! The seed design polls every 2 s. The server may stretch that: each answer about an unfinished
//! job says in `Retry-After` when another poll is worth it (longer while the job waits far back
//! or for a retry), and the row waits that long, never less than 2 s. When the API stops
//! answering, every open tab polling at full rate would hammer it the moment it comes back, so
//! failures back off exponentially (2 s, 4 s, 8 s … capped at 30 s) and the first answer brings
//! the rate back. A finished job is not polled, except once when its file is due to expire.
//! Browsers slow the timers of hidden tabs down to one a minute; when the tab is shown again
//! every unfinished row polls at once (see `App`).

/// The normal (and shortest) wait between two status requests of one row.
pub const POLL_INTERVAL_MS: u32 = crate::api::POLL_INTERVAL_SECS as u32 * 1_000;

/// The longest wait between two status requests while the API is unreachable.
pub const MAX_BACKOFF_MS: u32 = 30_000;

/// The longest wait a server's hint can ask for, so a row never looks frozen for minutes.
pub const MAX_HINTED_MS: u32 = 60_000;

/// The wait before the next request, after `consecutive_failures` requests in a row got no usable
/// answer (0 when the last one succeeded, whose `Retry-After` was `hint_secs`).
pub fn next_poll_delay_ms(consecutive_failures: u32, hint_secs: Option<u32>) -> u32 {
    match consecutive_failures {
        0 => hint_secs
            .map_or(POLL_INTERVAL_MS, |secs| secs.saturating_mul(1_000))
            .clamp(POLL_INTERVAL_MS, MAX_HINTED_MS),
        n => POLL_INTERVAL_MS
            .saturating_mul(2u32.saturating_pow(n - 1))
            .min(MAX_BACKOFF_MS),
    }
}

/// When a completed row asks once more, to learn that its file was removed (due at
/// `expires_at_ms` by the server's clock): a second after that, or — when the server still said
/// "completed" after that time by this browser's clock, whose clock is then ahead — a minute
/// later, so a skewed clock never turns into fast polling.
pub fn expiry_check_delay_ms(expires_at_ms: u64, now_ms: u64) -> u32 {
    match expires_at_ms.checked_sub(now_ms).filter(|until| *until > 0) {
        // setTimeout takes at most 2^31 - 1 ms (about 24 days).
        Some(until) => until.saturating_add(1_000).min(i32::MAX as u64) as u32,
        None => MAX_HINTED_MS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_doubling_up_to_thirty_seconds() {
        let waits: Vec<u32> = (0..8).map(|n| next_poll_delay_ms(n, None)).collect();
        assert_eq!(
            waits,
            [2_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(next_poll_delay_ms(u32::MAX, None), MAX_BACKOFF_MS);
    }

    #[test]
    fn a_completed_row_asks_again_just_after_its_file_expires_and_never_fast() {
        assert_eq!(expiry_check_delay_ms(10_000, 4_000), 7_000);
        assert_eq!(expiry_check_delay_ms(4_000, 4_000), MAX_HINTED_MS);
        assert_eq!(expiry_check_delay_ms(0, 4_000), MAX_HINTED_MS);
        assert_eq!(expiry_check_delay_ms(u64::MAX, 0), i32::MAX as u32);
    }

    #[test]
    fn the_servers_hint_is_honoured_but_never_below_two_seconds() {
        assert_eq!(next_poll_delay_ms(0, Some(0)), 2_000);
        assert_eq!(next_poll_delay_ms(0, Some(1)), 2_000);
        assert_eq!(next_poll_delay_ms(0, Some(8)), 8_000);
        assert_eq!(next_poll_delay_ms(0, Some(3_600)), MAX_HINTED_MS);
        // A failure's backoff does not depend on an earlier hint.
        assert_eq!(next_poll_delay_ms(2, Some(8)), 4_000);
    }
}
