//! How long a failed job waits before its next attempt.

use std::time::Duration;

/// Longest wait between attempts, however many attempts a deployment allows.
pub const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(300);

/// Fraction by which a wait is randomly shortened or lengthened, so jobs that failed together
/// (an outage) do not all retry in the same instant.
pub const JITTER_FRACTION: f64 = 0.2;

/// Wait before the attempt after failed attempt `failed_attempt` (1-based):
/// `base · 2^(failed_attempt-1)`, capped at [`MAX_RETRY_BACKOFF`], scaled by `1 + 0.2·jitter`.
///
/// `jitter` is in `-1.0..=1.0`; callers pass a random value, tests pass fixed ones.
pub fn retry_delay(base: Duration, failed_attempt: u32, jitter: f64) -> Duration {
    let exponent = failed_attempt.saturating_sub(1).min(31);
    let nominal = base.saturating_mul(1u32 << exponent).min(MAX_RETRY_BACKOFF);
    nominal.mul_f64(1.0 + JITTER_FRACTION * jitter.clamp(-1.0, 1.0))
}

/// [`retry_delay`] with a random jitter.
pub fn random_retry_delay(base: Duration, failed_attempt: u32) -> Duration {
    retry_delay(base, failed_attempt, rand::random_range(-1.0..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_default_schedule_is_one_two_four_seconds() {
        assert_eq!(retry_delay(SECOND, 1, 0.0), SECOND);
        assert_eq!(retry_delay(SECOND, 2, 0.0), 2 * SECOND);
        assert_eq!(retry_delay(SECOND, 3, 0.0), 4 * SECOND);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        assert_eq!(retry_delay(SECOND, 2, -1.0), Duration::from_millis(1_600));
        assert_eq!(retry_delay(SECOND, 2, 1.0), Duration::from_millis(2_400));
        assert_eq!(retry_delay(SECOND, 2, 7.0), Duration::from_millis(2_400));
        for _ in 0..1_000 {
            let d = random_retry_delay(SECOND, 3);
            assert!(d >= Duration::from_millis(3_200) && d <= Duration::from_millis(4_800));
        }
    }

    #[test]
    fn waits_are_capped() {
        assert_eq!(retry_delay(SECOND, 40, 0.0), MAX_RETRY_BACKOFF);
        assert_eq!(retry_delay(SECOND, u32::MAX, 0.0), MAX_RETRY_BACKOFF);
    }
}
