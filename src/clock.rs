//! The clock every part of the daemon asks for the time, so that tests can move time instead of
//! waiting for it.

use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time: the system clock, optionally shifted by an offset that tests
/// can advance.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::default()
    }

    /// The system clock shifted by `offset`.
    pub fn shifted(offset: SignedDuration) -> Self {
        let c = Clock::default();
        c.advance(offset);
        c
    }

    /// Now.
    // The one place that reads the system clock (clippy.toml's disallowed methods).
    #[allow(clippy::disallowed_methods)]
    pub fn now(&self) -> Timestamp {
        let offset = SignedDuration::from_millis(self.offset_ms.load(Ordering::Relaxed));
        Timestamp::now()
            .checked_add(offset)
            .unwrap_or_else(|_| Timestamp::now())
    }

    /// Moves this clock (and its clones) forward.
    pub fn advance(&self, by: SignedDuration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let c = Clock::system();
        let c2 = c.clone();
        let before = c2.now();
        c.advance(SignedDuration::from_hours(48));
        assert!(c2.now().duration_since(before) >= SignedDuration::from_hours(48));
    }
}
