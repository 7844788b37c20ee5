//! Waiting between retries of work the log refused as `Unavailable`.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Exponential backoff with jitter: the bound doubles from `first` to `max` with each
/// failure, and each wait is drawn from the upper half of it, so processes that lost the
/// same broker do not all come back at the same instant. `reset` after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    bound: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { first, max: max.max(first), bound: first }
    }

    /// How long to wait before the next try; the one after waits up to twice as long.
    pub fn next_wait(&mut self) -> Duration {
        let bound = self.bound;
        self.bound = (self.bound * 2).min(self.max);
        // A fresh random seed per call (std's hasher keys are random per instance).
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let half = bound / 2;
        half + Duration::from_nanos(random % (half.as_nanos().max(1) as u64 + 1))
    }

    /// After a success: the next failure waits from `first` again.
    pub fn reset(&mut self) {
        self.bound = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_its_bound_with_jitter_and_resets() {
        let (first, max) = (Duration::from_millis(100), Duration::from_millis(1_000));
        let mut backoff = Backoff::new(first, max);
        let mut bounds = Vec::new();
        for _ in 0..6 {
            let wait = backoff.next_wait();
            bounds.push(wait);
        }
        for (wait, bound) in bounds.iter().zip([100, 200, 400, 800, 1_000, 1_000]) {
            let bound = Duration::from_millis(bound);
            assert!(*wait >= bound / 2 && *wait <= bound, "{wait:?} outside half of {bound:?}");
        }
        let spread: std::collections::BTreeSet<Duration> = (0..20).map(|_| Backoff::new(first, max).next_wait()).collect();
        assert!(spread.len() > 1, "jitter: twenty first waits were all {spread:?}");
        backoff.reset();
        assert!(backoff.next_wait() <= first);
    }
}
