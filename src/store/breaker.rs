//! Failing fast while a store does not answer: after a call times out (or
//! cannot connect), the store's next calls fail at once for a pause, then
//! one call tries again.
//! So an outage costs one storage timeout per pause, not one per call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long calls fail at once after a timeout before one tries again.
pub const PAUSE: Duration = Duration::from_secs(2);

/// The state of one store's calls.
#[derive(Debug)]
pub struct Breaker {
    epoch: Instant,
    /// Milliseconds since `epoch` before which calls fail at once; 0: the
    /// store answers.
    retry_at: AtomicU64,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            retry_at: AtomicU64::new(0),
        }
    }
}

impl Breaker {
    /// Whether a call may go to the store now. After a timeout, the first
    /// caller past the pause is let through, and the pause starts again
    /// for the others.
    pub fn admit(&self) -> bool {
        let at = self.retry_at.load(Ordering::Acquire);
        if at == 0 {
            return true;
        }
        let now = self.now();
        now >= at
            && self
                .retry_at
                .compare_exchange(at, self.later(now), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// The store answered (whatever it said).
    pub fn answered(&self) {
        self.retry_at.store(0, Ordering::Release);
    }

    /// A call timed out.
    pub fn timed_out(&self) {
        self.retry_at.store(self.later(self.now()), Ordering::Release);
    }

    /// Whether calls fail at once now.
    #[cfg(test)]
    fn is_open(&self) -> bool {
        let at = self.retry_at.load(Ordering::Acquire);
        at != 0 && self.now() < at
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn later(&self, now: u64) -> u64 {
        // Never 0, which means closed.
        now.saturating_add(u64::try_from(PAUSE.as_millis()).unwrap_or(u64::MAX))
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_fails_calls_until_one_tries_again_after_the_pause() {
        let breaker = Breaker::default();
        assert!(breaker.admit() && breaker.admit() && !breaker.is_open());
        breaker.timed_out();
        assert!(breaker.is_open() && !breaker.admit());
        // Past the pause: one trial, the others still wait.
        breaker.retry_at.store(1, Ordering::Release);
        std::thread::sleep(Duration::from_millis(2));
        assert!(breaker.admit());
        assert!(!breaker.admit() && breaker.is_open());
        breaker.answered();
        assert!(breaker.admit() && !breaker.is_open());
    }
}
