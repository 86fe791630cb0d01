//! What time it is, for the embedded queue.
//!
//! Redis keeps time itself (`TIME`); the in-memory queue asks a [`Clock`]. In production that is
//! the system clock. The conformance suite gives it [`TokioClock`], which follows tokio's clock:
//! under `tokio::time::pause()` (`#[tokio::test(start_paused = true)]`) time stands still until
//! the runtime advances it past the next timer, so leases, backoffs and retention are checked in
//! milliseconds, with no real sleeping and nothing to flake.

use app::api::Timestamp;
use std::{
    sync::OnceLock,
    time::{Instant, SystemTime},
};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The host's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        super::system_now()
    }
}

/// Wall-clock time that moves with tokio's clock (see the module docs).
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        tokio_now()
    }
}

/// The wall-clock time of tokio's current instant: the system time when first asked, plus how
/// far tokio's clock has moved since. Outside a paused runtime it follows real time.
pub fn tokio_now() -> Timestamp {
    static START: OnceLock<(SystemTime, Instant)> = OnceLock::new();
    let (wall, instant) =
        START.get_or_init(|| (SystemTime::now(), tokio::time::Instant::now().into_std()));
    let elapsed = tokio::time::Instant::now()
        .into_std()
        .saturating_duration_since(*instant);
    let since_epoch = (*wall + elapsed)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_unix_millis(super::millis(since_epoch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_moves_only_when_tokio_time_does() {
        let before = TokioClock.now();
        tokio::time::sleep(Duration::from_secs(3_600)).await;
        let after = TokioClock.now();
        assert_eq!(after.unix_millis() - before.unix_millis(), 3_600_000);
    }
}
