//! Fault points, so tests can make the real daemon fail where it matters (an actor's store call,
//! a panic in the middle of a poll) and check that it recovers.
//!
//! Armed by the `PARCELD_FAULTS` environment variable (comma-separated names), and only in debug
//! builds: in release builds [`hit`] is always false and the checks compile away.
//!
//! | name               | effect                                                     |
//! |--------------------|------------------------------------------------------------|
//! | `sender.fail_once` | a sender's first drain fails as if the store had failed     |
//! | `poller.panic`     | the poller panics before asking the carrier (the process aborts) |
//! | `shop_erase.abort` | the process aborts right after a shop's erasure started      |
//! | `sender.crash_after_send` | the process aborts right after a provider accepted a message, before the receipt is written (the crash window) |

/// Whether the fault point `name` fires now. Points ending in `_once` fire once per process.
pub fn hit(name: &str) -> bool {
    #[cfg(debug_assertions)]
    {
        use std::collections::HashSet;
        use std::sync::Mutex;
        static FIRED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
        let armed = std::env::var("PARCELD_FAULTS")
            .map(|v| v.split(',').any(|f| f.trim() == name))
            .unwrap_or(false);
        if !armed {
            return false;
        }
        if name.ends_with("_once") {
            let mut fired = FIRED.lock().unwrap_or_else(|p| p.into_inner());
            return fired
                .get_or_insert_with(HashSet::new)
                .insert(name.to_string());
        }
        true
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = name;
        false
    }
}
