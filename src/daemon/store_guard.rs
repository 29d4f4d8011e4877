//! Watches whether the store's disk takes writes, and gets the daemon going again when it does.
//!
//! sled remembers the first I/O error of a write (a full disk, a file system remounted
//! read-only) and refuses every later write and flush with it until the store is opened again.
//! The daemon keeps serving what it can meanwhile: reads work, writes are refused with 503
//! `unavailable` naming the cause, and nothing is acknowledged that is not on disk (every
//! acknowledgement follows a flush). The guard notices the refusal (it asks the store every
//! `every`), reports it once (an ERROR line, `store_error` and `degraded` in `GET /v1/health`,
//! `parceld_store_writable` 0), then probes the state directory with a file of
//! [`PROBE_BYTES`]; when the probe is written and synced, the disk takes writes again and the
//! guard returns, so that the daemon stops in order and starts afresh, reopening the store.

use crate::clock::Clock;
use crate::health::Health;
use crate::store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How much the probe writes: two of sled's log segments, so that a store reopened on a disk
/// with less room than that does not fail again at once.
pub const PROBE_BYTES: usize = 1 << 20;

const PROBE_NAME: &str = ".parceld-write-probe";

/// Whether `dir` takes a write of [`PROBE_BYTES`] now (written, synced and removed again).
pub fn probe(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(PROBE_NAME);
    let written = (|| {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_all()
    })();
    let removed = std::fs::remove_file(&path);
    written?;
    match removed {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What the guard watches.
pub struct StoreGuard {
    /// The store.
    pub store: Store,
    /// The health board, told when the disk refuses writes.
    pub health: Arc<Health>,
    /// The clock.
    pub clock: Clock,
    /// The state directory, where the probe goes.
    pub state_dir: PathBuf,
    /// How often the store is asked.
    pub every: Duration,
}

impl StoreGuard {
    /// Returns once the store refused a write and the disk takes writes again: the store must
    /// then be reopened. Never returns while the store works.
    pub async fn wait_until_reopen_needed(self) {
        let mut reported = false;
        let mut probe_error = String::new();
        loop {
            tokio::time::sleep(self.every).await;
            let error = match self.store.check_writable().await {
                Err(e) if e.is_io() => e,
                _ => continue,
            };
            if !reported {
                reported = true;
                metrics::gauge!("parceld_store_writable").set(0.0);
                self.health
                    .store_unwritable(self.clock.now(), error.to_string());
                tracing::error!(
                    error = %error,
                    state_dir = %self.state_dir.display(),
                    "The store's disk refuses writes; serving reads only and refusing changes until it takes writes again (free space or make it writable; parceld resumes by itself)"
                );
            }
            let dir = self.state_dir.clone();
            match tokio::task::spawn_blocking(move || probe(&dir)).await {
                Ok(Ok(())) => {
                    tracing::warn!(
                        state_dir = %self.state_dir.display(),
                        "The disk takes writes again; restarting to reopen the store"
                    );
                    return;
                }
                Ok(Err(e)) => {
                    let e = e.to_string();
                    if e != probe_error {
                        tracing::info!(error = %e, "The disk still refuses writes");
                        probe_error = e;
                    }
                }
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        probe(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(probe(&dir.path().join("missing")).is_err());
    }
}
