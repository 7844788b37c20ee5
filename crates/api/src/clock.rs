//! The time the API's rules read (contest windows, posting limits, escalation): the system
//! clock, or a manual one a test moves.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tradecraft_types::Timestamp;

/// Milliseconds since the epoch from the system, or from a value a test sets.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands at `start_ms` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn manual(start_ms: i64) -> Self {
        Self { manual: Some(Arc::new(AtomicI64::new(start_ms))) }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.manual {
            Some(at) => at.load(Ordering::SeqCst),
            None => crate::auth::now_ms(),
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.now_ms())
    }

    /// Moves a manual clock to `at_ms` (the system clock is not moved).
    pub fn set(&self, at_ms: i64) {
        if let Some(at) = &self.manual {
            at.store(at_ms, Ordering::SeqCst);
        }
    }

    /// Moves a manual clock on by `by_ms`.
    pub fn advance(&self, by_ms: i64) {
        if let Some(at) = &self.manual {
            at.fetch_add(by_ms, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let clock = Clock::manual(1_000);
        let copy = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        copy.advance(500);
        assert_eq!(clock.now_ms(), 1_500);
        clock.set(10);
        assert_eq!(copy.now_ms(), 10);
        let system = Clock::system();
        system.set(10);
        assert!(system.now_ms() > 1_700_000_000_000);
    }
}
