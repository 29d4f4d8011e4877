//! Group commit: callers that flush at the same time share one flush of sled's log.
//!
//! A flush makes durable what was written before it started. A caller may return once a flush
//! that started after its call has finished: when one is running, later callers wait for it to
//! end and then one of them starts the next, for all of them. API handlers, pollers and the
//! senders' commit thread ([`super::commit`]) flushing at the same moment then cost a few
//! flushes, not one each (each is a write, a `sync_file_range` and a handful of thread switches
//! inside sled).

use std::sync::{Condvar, Mutex};

#[derive(Debug, Default)]
struct State {
    /// Flushes started so far.
    started: u64,
    /// The last flush that finished and succeeded.
    done: u64,
    /// A flush is running.
    running: bool,
}

/// Flushes shared by concurrent callers.
#[derive(Debug, Default)]
pub(super) struct GroupFlush {
    state: Mutex<State>,
    finished: Condvar,
}

impl GroupFlush {
    /// Returns once a flush (`flush`) that started after this call has finished, running it
    /// if no one else does (its answer; the default for callers who shared another's). A failed
    /// flush fails the caller that ran it; the others wait for the next.
    pub(super) fn flush<T: Default, E>(&self, flush: impl Fn() -> Result<T, E>) -> Result<T, E> {
        let lock = || self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = lock();
        // The first flush to start from now on covers everything written before this call.
        let needed = s.started + 1;
        loop {
            if s.done >= needed {
                return Ok(T::default());
            }
            if !s.running {
                s.running = true;
                s.started += 1;
                let epoch = s.started;
                drop(s);
                let r = flush();
                let mut s = lock();
                s.running = false;
                if r.is_ok() {
                    s.done = s.done.max(epoch);
                }
                self.finished.notify_all();
                return r;
            }
            s = self.finished.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn concurrent_callers_share_flushes_and_each_sees_one_that_started_after_it() {
        let g = Arc::new(GroupFlush::default());
        let flushes = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (g, flushes) = (g.clone(), flushes.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let before = flushes.load(Ordering::SeqCst);
                        g.flush(|| {
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            flushes.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, ()>(())
                        })
                        .unwrap();
                        // A flush finished after this caller came.
                        assert!(flushes.load(Ordering::SeqCst) > before);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = flushes.load(Ordering::SeqCst);
        assert!(n < 16 * 50, "shared: {n} flushes for 800 calls");
    }

    #[test]
    fn a_failed_flush_fails_its_caller_and_the_next_flushes_again() {
        let g = GroupFlush::default();
        assert_eq!(g.flush(|| Err::<(), _>("disk full")), Err("disk full"));
        let ran = AtomicU32::new(0);
        g.flush(|| {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, &str>(())
        })
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
