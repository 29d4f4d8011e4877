//! The store as the rest of the daemon sees it: [`Store`], a cheap handle whose calls are
//! `async` and take typed keys. Every call that touches sled runs on tokio's blocking pool
//! (sled may wait for its lock, a transaction's turn or the disk); the hop happens here, once,
//! in [`Store::hop`], over the blocking internals ([`SyncStore`]).
//!
//! The blocking internals stay reachable inside the crate for the few places that must make
//! many store calls on one blocking thread as one logical step: the group commit
//! ([`super::Committer`]) and the bulk steps that run through [`Store::in_one_step`] (handing
//! parcels over, a scheduler tick's leases, a report's scan, the night's budget plan).
//! Start-up, before the runtime runs, uses them directly through [`Store::sync`].

use super::{StoreError, SyncStore};
use std::path::Path;

/// The open store: a cheap handle to clone and share.
#[derive(Clone)]
pub struct Store {
    sync: SyncStore,
}

impl Store {
    /// Opens (or creates) the store in `path` with a page cache of `cache_bytes`, and checks its
    /// schema version. Blocks: call it at start-up, before the runtime runs.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        SyncStore::open(path, cache_bytes).map(Store::from_sync)
    }

    /// The handle over blocking internals that are open already.
    pub(crate) fn from_sync(sync: SyncStore) -> Store {
        Store { sync }
    }

    /// The blocking internals, for code that runs on a thread of its own (the group commit)
    /// or before the runtime starts. Never call them on an async task.
    pub(crate) fn sync(&self) -> &SyncStore {
        &self.sync
    }

    /// Runs `f` over the blocking internals on tokio's blocking pool: the one place where store
    /// work leaves the async threads.
    async fn hop<T, E>(
        &self,
        f: impl FnOnce(&SyncStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let sync = self.sync.clone();
        tokio::task::spawn_blocking(move || f(&sync))
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Sled(sled::Error::ReportableBug(e.to_string())).into())
            })
    }

    /// Runs one store call (a closure over one blocking method) off the async threads.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SyncStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.hop(f).await
    }

    /// Runs `f`, which makes many store calls in a row as one logical step (handing thousands
    /// of parcels over, leasing a scheduler tick's polls, scanning every parcel for a report),
    /// on one blocking thread: one hop for the step instead of one per call. Its error type may
    /// be the caller's own.
    pub(crate) async fn in_one_step<T, E>(
        &self,
        f: impl FnOnce(&SyncStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.hop(f).await
    }

    /// Marks a customer's lookup in progress until the guard is dropped: transactions let it
    /// make its reads first (see [`super::Lookup`]). Take it before the lookup's first read.
    pub fn lookup(&self) -> super::Lookup {
        self.sync.lookups.enter()
    }

    /// Writes everything written so far to disk (sled's flush). Concurrent callers share
    /// flushes; returns the bytes written by the flush this caller ran, 0 if it shared
    /// another's.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        self.run(SyncStore::flush).await
    }

    /// Checks that the store still takes writes: sled remembers the first I/O error of a
    /// background write (a full or read-only disk) and refuses every later write and flush
    /// with it until the store is opened again.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        self.run(SyncStore::check_writable).await
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        self.sync.path()
    }

    /// Bytes the store occupies on disk.
    pub async fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.run(SyncStore::size_on_disk).await
    }

    /// Changes each time a committed transaction queued a message to send (or made one due
    /// again): senders wait on it to go at once instead of at their next timer.
    pub fn outbox_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.sync.outbox_changes()
    }

    /// Changes each time a committed transaction ended a poll's lease (the poll settled, was
    /// deferred or failed, the parcel went): those waiting for a poll in flight to end look
    /// again instead of asking the store on a timer.
    pub fn lease_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.sync.lease_changes()
    }
}
