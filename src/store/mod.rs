//! The store: the only module that knows sled.
//!
//! State lives in sled trees (see [`keys`] for their layouts); values are versioned bincode
//! records (see [`codec`]). Every change that touches more than one key (a parcel and its order
//! index, a carrier report and the notifications it causes) runs in one sled transaction over
//! all trees, so after a crash either all of it is there or none of it.
//!
//! The rest of the daemon sees [`Store`] ([`facade`]): `async` calls with typed keys
//! ([`ParcelKey`](crate::domain::parcel::ParcelKey), [`ShopId`](crate::domain::shop::ShopId)),
//! each run on tokio's blocking pool. Under it, [`SyncStore`] holds the trees and the blocking
//! calls, one area per file; it is the crate's own, for the group commit ([`commit`]) and the
//! bulk steps that make many calls on one blocking thread ([`Store::in_one_step`]).

mod carriers;
pub mod codec;
mod commit;
mod facade;
mod flush;
pub mod keys;
mod lanes;
mod legacy;
mod lookups;
mod manual;
mod offices;
mod optouts;
mod outage;
mod outbox;
mod outbox_counts;
mod page;
mod parcels;
mod polling;
mod receipts;
mod recipients;
mod shopdata;
pub(crate) mod shops;
mod templates;
mod unmapped;
mod webhooks;

pub use carriers::{CarrierPause, Spend, Ticket, TicketItem};
pub use keys::DueKind;
pub use optouts::OptOutOutcome;
pub use outbox::{Claim, OutboxStats};
pub use page::PageFacts;
pub use parcels::{Admission, ParcelFilter, ParcelPage, Revived, Stored};
pub use polling::{DueItem, Report, ReportFor, ReportOutcome};
pub use unmapped::UnmappedCode;
pub use webhooks::{DeadHook, EndpointInfo, HookClaim, HookError, HookFinished, Hooks};

pub use commit::Committer;
pub use facade::Store;
pub use lookups::{LOOKUP_PRIORITY, Listing, Lookup, ParcelCard, ParcelCards};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use std::path::{Path, PathBuf};

/// How many parcels a transaction over many of them takes at most. A transaction spans every
/// tree, a fixed cost the parcels of a chunk share; sled lets no reader in while one runs, so a
/// chunk ends sooner when a customer's lookup waits ([`TX_BUDGET`]).
pub const TX_CHUNK: usize = 32;

/// How long a transaction over many parcels goes on taking more while a customer's lookup is in
/// progress ([`SyncStore::tx_each`]). Once the parcels are larger than sled's cache, a parcel's
/// reads come from the disk, and 32 of them kept lookups waiting for 8 ms on average.
pub const TX_BUDGET: std::time::Duration = std::time::Duration::from_millis(1);

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &[u8] = b"schema_version";

/// Record versions of the stored types.
pub(crate) mod versions {
    pub const OUTBOX: u8 = 2;
    pub const OFFICE: u8 = 1;
    pub const TICKET: u8 = 1;
    pub const PAUSE: u8 = 1;
    pub const TEMPLATE: u8 = 1;
    pub const OPTOUT: u8 = 1;
}

/// Something went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption).
    #[error("store: {}", sled_message(.0))]
    Sled(#[from] sled::Error),
    /// A record cannot be decoded.
    #[error("store: record {key} in tree {tree} cannot be read: {source}")]
    Codec {
        /// The tree.
        tree: &'static str,
        /// The key, printable.
        key: String,
        /// Why.
        source: codec::CodecError,
    },
    /// The store was written by a parceld with another schema.
    #[error(
        "the store at {path} has schema version {found}, but this parceld understands version {expected}; {hint}"
    )]
    Schema {
        /// The store's directory.
        path: PathBuf,
        /// What the store says.
        found: u32,
        /// What this build reads.
        expected: u32,
        /// What to do.
        hint: &'static str,
    },
    /// The directory holds data that is not a parceld store.
    #[error("{path} holds data but no parceld schema version; it is not a parceld store")]
    Foreign {
        /// The directory.
        path: PathBuf,
    },
    /// The store cannot be opened.
    #[error("cannot open the store at {}: {}", path.display(), sled_message(source))]
    Open {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: sled::Error,
    },
    /// Another process holds the store (sled locks its files).
    #[error(
        "the store at {} is locked by another process: is another parceld running with the same daemon.state_dir?",
        path.display()
    )]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// Something with that key exists already.
    #[error("{0} already exists")]
    Exists(String),
    /// Nothing with that key exists.
    #[error("{0} not found")]
    NotFound(String),
}

impl StoreError {
    /// The failure a fault point stands in for: the store failed (see [`crate::faults`]).
    pub fn fault(point: &str) -> StoreError {
        StoreError::Sled(sled::Error::Unsupported(format!("fault point {point}")))
    }

    /// Whether the disk refused a write (read-only, full): worth reporting as such.
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            StoreError::Sled(sled::Error::Io(_))
                | StoreError::Open {
                    source: sled::Error::Io(_),
                    ..
                }
        )
    }
}

/// sled's error in words: for I/O errors the operating system's own ("No space left on
/// device (os error 28)") instead of sled's debug dump of it.
fn sled_message(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => format!("disk I/O failed: {}", io_message(io)),
        e => e.to_string(),
    }
}

/// An I/O error as the operating system says it. sled hands out copies of the error that hold
/// the original's debug text (`Os { code: 28, kind: StorageFull, message: "No space left on
/// device" }`), and a copy of a copy holds that text escaped inside another; those are read
/// back into "No space left on device (os error 28)".
fn io_message(io: &std::io::Error) -> String {
    if io.raw_os_error().is_some() {
        return io.to_string();
    }
    let text = io.to_string().replace('\\', "");
    let after = |key: &str| text.split_once(key).map(|(_, rest)| rest);
    let code = after("code: ").and_then(|r| r.split(',').next());
    let message = after("message: \"").and_then(|r| r.split('"').next());
    match (code, message) {
        (Some(code), Some(message)) => format!("{message} (os error {code})"),
        _ => text,
    }
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn unwrap_tx<T>(r: Result<T, TransactionError<StoreError>>) -> Result<T, StoreError> {
    r.map_err(|e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    })
}

fn printable(key: &[u8]) -> String {
    key.iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

fn decode<T: serde::de::DeserializeOwned>(
    tree: &'static str,
    version: u8,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    codec::decode(version, bytes).map_err(|source| StoreError::Codec {
        tree,
        key: printable(key),
        source,
    })
}

/// Decodes a record of a type that has older versions (see [`legacy`]).
fn decode_record<T: legacy::Record>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    T::decode(bytes).map_err(|source| StoreError::Codec {
        tree: T::TREE,
        key: printable(key),
        source,
    })
}

/// Encodes a record of a type that has older versions, in today's version.
fn encode_record<T: legacy::Record>(key: &[u8], value: &T) -> Result<Vec<u8>, StoreError> {
    encode(T::TREE, T::VERSION, key, value)
}

fn encode<T: serde::Serialize>(
    tree: &'static str,
    version: u8,
    key: &[u8],
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    codec::encode(version, value).map_err(|source| StoreError::Codec {
        tree,
        key: printable(key),
        source,
    })
}

/// The open store's blocking internals: every call may wait for sled's lock, a transaction's
/// turn or the disk. Reached through [`Store`].
#[derive(Clone)]
pub(crate) struct SyncStore {
    db: sled::Db,
    path: PathBuf,
    t: Trees,
    all: std::sync::Arc<Vec<sled::Tree>>,
    meta: sled::Tree,
    /// Open batch tickets ([`carriers`]), written outside transactions.
    tickets: sled::Tree,
    writer: std::sync::Arc<std::sync::Mutex<()>>,
    /// Customers' lookups in progress, which transactions let go first.
    lookups: lookups::Lookups,
    flusher: std::sync::Arc<flush::GroupFlush>,
    /// Rung after a transaction that queued a message commits ([`Store::outbox_changes`]).
    outbox_bell: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Rung after a transaction that ended a poll's lease commits ([`Store::lease_changes`]).
    lease_bell: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Rung after a transaction that made a webhook delivery due commits
    /// ([`Store::hook_changes`]).
    hook_bell: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

/// What a transaction did that someone waits for: set by the attempt that commits.
#[derive(Default)]
struct Rings {
    /// It queued a message to send.
    queued: std::cell::Cell<bool>,
    /// It ended a poll's lease.
    released: std::cell::Cell<bool>,
    /// It made a webhook delivery due.
    hooked: std::cell::Cell<bool>,
}

/// Declares the trees that transactions span: the plain trees, their transactional views, and
/// the order the two agree on. A new tree is one more name in the list.
macro_rules! trees {
    ($($name:ident),* $(,)?) => {
        /// The store's trees.
        #[derive(Clone)]
        struct Trees {
            $($name: sled::Tree,)*
        }

        impl Trees {
            fn open(db: &sled::Db) -> sled::Result<Trees> {
                Ok(Trees { $($name: db.open_tree(stringify!($name))?,)* })
            }

            fn all(&self) -> Vec<sled::Tree> {
                vec![$(self.$name.clone(),)*]
            }
        }

        /// The trees inside a transaction.
        struct Tx<'a> {
            $($name: &'a TransactionalTree,)*
            /// What it did that someone waits for.
            rings: &'a Rings,
        }

        impl<'a> Tx<'a> {
            /// Names the views sled hands a transaction, in the order of [`Trees::all`].
            fn view(v: &'a [TransactionalTree], rings: &'a Rings) -> Option<Tx<'a>> {
                let mut it = v.iter();
                Some(Tx { $($name: it.next()?,)* rings })
            }
        }
    };
}

trees!(
    shops, tokens, parcels, by_order, due, outbox, queue, leases, usage, reports, tombstones,
    offices, templates, optouts, receipts, recipients, counts, webhooks, unmapped, lanes
);

impl SyncStore {
    /// Opens (or creates) the store in `path` with a page cache of `cache_bytes`, and checks its
    /// schema version.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<SyncStore, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()
            .map_err(|source| match source {
                // sled words it "could not acquire lock on …: Os { code: 11, … }".
                sled::Error::Io(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.to_string().contains("could not acquire lock") =>
                {
                    StoreError::Locked {
                        path: path.to_path_buf(),
                    }
                }
                source => StoreError::Open {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        let open = |name: &str| db.open_tree(name);
        let t = Trees::open(&db)?;
        let store = SyncStore {
            all: std::sync::Arc::new(t.all()),
            t,
            meta: open("meta")?,
            tickets: open("tickets")?,
            path: path.to_path_buf(),
            writer: std::sync::Arc::default(),
            lookups: lookups::Lookups::default(),
            flusher: std::sync::Arc::default(),
            outbox_bell: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            lease_bell: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            hook_bell: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            db,
        };
        store.check_schema()?;
        store.migrate_optouts_per_shop()?;
        store.ensure_outbox_counts()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.meta.get(SCHEMA_KEY)? {
            Some(v) => {
                let found = v
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::Schema {
                        path: self.path.clone(),
                        found,
                        expected: SCHEMA_VERSION,
                        hint: if found > SCHEMA_VERSION {
                            "it was written by a newer parceld; run that version, or restore a backup"
                        } else {
                            "no migration from that version exists; export it with the parceld that wrote it"
                        },
                    });
                }
                Ok(())
            }
            None => {
                let empty = [&self.t.shops, &self.t.parcels, &self.t.outbox]
                    .iter()
                    .all(|t| t.is_empty());
                if !empty {
                    return Err(StoreError::Foreign {
                        path: self.path.clone(),
                    });
                }
                self.meta
                    .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                self.db.flush()?;
                Ok(())
            }
        }
    }

    /// Writes everything written so far to disk (sled's flush; the periodic flusher also
    /// fsyncs). Concurrent callers share flushes ([`flush`]); returns the bytes written by the
    /// flush this caller ran, 0 if it shared another's.
    pub fn flush(&self) -> Result<usize, StoreError> {
        Ok(self.flusher.flush(|| self.db.flush())?)
    }

    /// Checks that the store still takes writes: sled remembers the first I/O error of a
    /// background write (a full or read-only disk) and refuses every later write and flush with
    /// it until the store is opened again.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Runs `f` once in the store's life (a step after an upgrade): the first time it is asked
    /// for under `name`, remembered in `meta` once `f` succeeded and the store is flushed.
    /// Returns what `f` returned, or `None` when it ran before.
    pub fn once(
        &self,
        name: &str,
        f: impl FnOnce(&SyncStore) -> Result<usize, StoreError>,
    ) -> Result<Option<usize>, StoreError> {
        let key = format!("once/{name}");
        if self.meta.contains_key(key.as_bytes())? {
            return Ok(None);
        }
        let n = f(self)?;
        self.meta.insert(key.as_bytes(), &[])?;
        self.flush()?;
        Ok(Some(n))
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// A new store-wide unique id.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Runs `f` in one transaction over every tree. `f` may be run more than once.
    ///
    /// sled runs one transaction at a time and keeps readers out while it runs; a reader that
    /// comes while writers queue for sled's lock waits for all of them. So transactions take
    /// turns here first, and a reader waits for at most the one running. A transaction also
    /// lets customers' lookups in progress finish first ([`lookups`]).
    fn tx<T>(&self, f: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<T, StoreError> {
        let _turn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.lookups.wait_idle(LOOKUP_PRIORITY);
        let rings = Rings::default();
        let r = unwrap_tx(self.all.as_slice().transaction(|views| {
            // A conflict runs the closure again: only the attempt that commits counts.
            rings.queued.set(false);
            rings.released.set(false);
            rings.hooked.set(false);
            match Tx::view(views, &rings) {
                Some(tx) => f(&tx),
                None => abort(StoreError::Sled(sled::Error::ReportableBug(
                    "a transaction got fewer views than trees".into(),
                ))),
            }
        }));
        if r.is_ok() {
            for (rung, bell) in [
                (rings.queued.get(), &self.outbox_bell),
                (rings.released.get(), &self.lease_bell),
                (rings.hooked.get(), &self.hook_bell),
            ] {
                if rung {
                    bell.send_modify(|n| *n = n.wrapping_add(1));
                }
            }
        }
        r
    }

    /// Runs `each` over `items` in order, as few transactions as it takes: one takes items until
    /// it has [`TX_CHUNK`] of them, or has run for [`TX_BUDGET`] while a customer's lookup is in
    /// progress (one item at least), and the next goes on from there. Each item's change is
    /// whole; a failure stops at the transaction that failed, those before it stored. Returns
    /// what `each` returned, in order.
    fn tx_each<I, T>(
        &self,
        items: &[I],
        each: impl Fn(&Tx<'_>, &I) -> TxResult<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.tx_each_within(items, TX_BUDGET, each)
    }

    /// [`SyncStore::tx_each`] for a change that may or may not apply to an item: returns for how
    /// many items `each` said it did.
    fn tx_count<I>(
        &self,
        items: &[I],
        each: impl Fn(&Tx<'_>, &I) -> TxResult<bool>,
    ) -> Result<usize, StoreError> {
        Ok(self
            .tx_each(items, each)?
            .into_iter()
            .filter(|done| *done)
            .count())
    }

    /// [`SyncStore::tx_each`] with the budget given: [`TX_BUDGET`], or another in tests.
    fn tx_each_within<I, T>(
        &self,
        items: &[I],
        budget: std::time::Duration,
        each: impl Fn(&Tx<'_>, &I) -> TxResult<T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::with_capacity(items.len());
        while let Some(rest) = items.get(out.len()..).filter(|r| !r.is_empty()) {
            let done = self.tx(|t| {
                let started = std::time::Instant::now();
                let mut done = Vec::new();
                for item in rest.iter().take(TX_CHUNK) {
                    done.push(each(t, item)?);
                    if started.elapsed() >= budget && self.lookups.in_progress() {
                        break;
                    }
                }
                Ok(done)
            })?;
            out.extend(done);
        }
        Ok(out)
    }

    /// See [`Store::outbox_changes`].
    pub fn outbox_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.outbox_bell.subscribe()
    }

    /// See [`Store::lease_changes`].
    pub fn lease_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lease_bell.subscribe()
    }
}

impl Tx<'_> {
    /// Ends a poll's lease on a parcel, if it has one; those waiting for it
    /// ([`Store::lease_changes`]) look again once the transaction commits.
    fn end_lease(&self, key: Vec<u8>) -> TxResult<()> {
        if self.leases.remove(key)?.is_some() {
            self.rings.released.set(true);
        }
        Ok(())
    }

    /// Keeps a due entry in step with a parcel's schedule; `retag` rewrites it even at the same
    /// time (the parcel moved to another carrier).
    #[allow(clippy::too_many_arguments)]
    fn put_due(
        &self,
        old: Option<jiff::Timestamp>,
        new: Option<jiff::Timestamp>,
        kind: DueKind,
        shop: &str,
        track: &str,
        carrier_tag: &[u8],
        retag: bool,
    ) -> TxResult<()> {
        if old == new && !retag {
            return Ok(());
        }
        if let Some(at) = old {
            self.due.remove(keys::due(at, kind, shop, track))?;
        }
        if let Some(at) = new {
            self.due
                .insert(keys::due(at, kind, shop, track), carrier_tag)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A store in a fresh temporary directory.
    pub fn temp_store() -> (tempfile::TempDir, SyncStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SyncStore::open(&dir.path().join("db"), 8 * 1024 * 1024).expect("open");
        (dir, store)
    }

    /// The key of a parcel, from test literals.
    pub fn pk(shop: &str, track: &str) -> crate::domain::parcel::ParcelKey {
        crate::domain::parcel::ParcelKey::new(
            crate::domain::shop::ShopId::from_trusted(shop),
            crate::domain::track::TrackNumber::from_trusted(track),
        )
    }

    /// A shop's id, from test literals.
    pub fn sid(shop: &str) -> crate::domain::shop::ShopId {
        crate::domain::shop::ShopId::from_trusted(shop)
    }

    /// A fixed moment plus `s` seconds.
    pub fn t(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_741_000_000 + s).unwrap()
    }

    /// Marks a claimed message sent, as the file transport accepts it, at `at`.
    pub fn sent_by_file(
        store: &SyncStore,
        key: &crate::domain::outbox::OutboxKey,
        at: jiff::Timestamp,
    ) {
        store
            .finish(key, |e| {
                e.succeed(
                    crate::domain::outbox::Acceptance {
                        provider: "file".into(),
                        ..Default::default()
                    },
                    at,
                )
            })
            .unwrap();
    }

    /// A store with the shop `acme` and its parcel `SANDBOX-ARRIVED-1` (a phone, no e-mail),
    /// handed over at `t(0)`.
    pub fn store_with_parcel() -> (tempfile::TempDir, SyncStore) {
        let (d, store) = temp_store();
        store
            .create_shop(&crate::store::shops::tests::shop("acme", "h"))
            .unwrap();
        hand_over(&store, "SANDBOX-ARRIVED-1");
        (d, store)
    }

    /// [`store_with_parcel`] after its parcel arrived at an office at `t(5)`: one SMS is due.
    pub fn arrived_store() -> (tempfile::TempDir, SyncStore) {
        arrived_parcels(1)
    }

    /// Like [`arrived_store`] with `n` parcels, `SANDBOX-ARRIVED-1` to `-n`: `n` SMS are due.
    pub fn arrived_parcels(n: usize) -> (tempfile::TempDir, SyncStore) {
        let (d, store) = store_with_parcel();
        for i in 2..=n {
            hand_over(&store, &format!("SANDBOX-ARRIVED-{i}"));
        }
        for i in 1..=n {
            arrive(&store, &format!("SANDBOX-ARRIVED-{i}"));
        }
        (d, store)
    }

    /// Hands `track` (a phone, no e-mail) over to `acme` at `t(0)`.
    fn hand_over(store: &SyncStore, track: &str) {
        let v = crate::domain::intake::validate(&crate::domain::intake::ParcelDraft {
            track: track.into(),
            phone: crate::domain::intake::Patch::Set("+79123456789".into()),
            ..Default::default()
        })
        .unwrap();
        store
            .intake(
                &crate::domain::shop::ShopId::from_trusted("acme"),
                &v,
                t(0),
                t(0),
            )
            .unwrap();
    }

    /// `acme`'s `track` arrived at an office at `t(5)`, as the carrier said at `t(10)`.
    fn arrive(store: &SyncStore, track: &str) {
        let window = crate::domain::schedule::DailyWindow::ALWAYS;
        let report = Report {
            events: vec![crate::domain::parcel::CarrierEvent {
                at: t(5),
                status: crate::domain::status::Status::ArrivedAtPickup,
                code: "8/2".into(),
                description: String::new(),
                office: Some(crate::domain::parcel::Office::default()),
                storage: None,
                presence: false,
            }],
            ..Report::default()
        };
        store
            .apply_report(
                &pk("acme", track),
                &report,
                t(10),
                &crate::domain::lifecycle::Rules::default(),
                t(99_999),
                &crate::domain::outbox::SendTiming { window: &window },
            )
            .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::temp_store;
    use super::*;
    use std::time::Duration;

    #[test]
    fn schema_is_written_and_checked() {
        let (dir, store) = temp_store();
        store
            .meta
            .insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        store.flush().unwrap();
        drop(store);
        let err = SyncStore::open(&dir.path().join("db"), 8 << 20)
            .err()
            .expect("refused");
        let msg = err.to_string();
        assert!(msg.contains("schema version 2"), "{msg}");
        assert!(msg.contains("newer parceld"), "{msg}");
    }

    /// Writes item `i` to the `usage` tree, and fails at `fail`; returns the items stored.
    fn each_until(store: &SyncStore, n: u32, fail: u32, budget: Duration) -> Vec<u32> {
        let items: Vec<u32> = (0..n).collect();
        let r = store.tx_each_within(&items, budget, |t, i| {
            if *i == fail {
                return abort(StoreError::Sled(sled::Error::Unsupported("item".into())));
            }
            t.usage.insert(&i.to_be_bytes(), &[])?;
            Ok(*i)
        });
        if fail < n {
            assert!(r.is_err(), "item {fail} fails");
        } else {
            assert_eq!(r.unwrap(), items, "every item, in order");
        }
        store
            .t
            .usage
            .iter()
            .keys()
            .map(|k| u32::from_be_bytes(k.unwrap().as_ref().try_into().unwrap()))
            .collect()
    }

    #[test]
    fn transactions_over_many_items_take_a_chunk_or_a_budget_of_them() {
        let hour = Duration::from_secs(3600);
        // Within the budget, a transaction takes a whole chunk, even for a lookup in progress:
        // a failure in it undoes the chunk and the chunks before it stay.
        let (_dir, store) = temp_store();
        let chunk = TX_CHUNK as u32;
        let lookup = store.lookups.enter();
        assert_eq!(
            each_until(&store, chunk * 2, chunk + 3, hour),
            (0..chunk).collect::<Vec<_>>()
        );
        drop(lookup);
        // Spent, it ends a transaction only for a lookup in progress.
        let (_dir, store) = temp_store();
        assert!(each_until(&store, chunk * 2, 5, Duration::ZERO).is_empty());
        // Then a transaction ends after the item it is on.
        let (_dir, store) = temp_store();
        let lookup = store.lookups.enter();
        assert_eq!(
            each_until(&store, chunk * 2, 5, Duration::ZERO),
            (0..5).collect::<Vec<_>>()
        );
        drop(lookup);
        // Without a failure, every item is stored, across transactions.
        let (_dir, store) = temp_store();
        let lookup = store.lookups.enter();
        assert_eq!(
            each_until(&store, chunk * 3 + 1, u32::MAX, Duration::ZERO).len(),
            TX_CHUNK * 3 + 1
        );
        drop(lookup);
        let (_dir, store) = temp_store();
        assert_eq!(
            each_until(&store, chunk * 3 + 1, u32::MAX, hour).len(),
            TX_CHUNK * 3 + 1
        );
        // Nothing to do is no transaction and no error.
        let (_dir, store) = temp_store();
        assert!(each_until(&store, 0, u32::MAX, hour).is_empty());
    }

    #[test]
    fn io_errors_read_as_the_system_says_them() {
        let os = std::io::Error::from_raw_os_error(28);
        assert_eq!(io_message(&os), "No space left on device (os error 28)");
        let copied = std::io::Error::new(os.kind(), format!("{os:?}"));
        assert_eq!(io_message(&copied), "No space left on device (os error 28)");
        let twice = std::io::Error::new(copied.kind(), format!("{copied:?}"));
        assert_eq!(io_message(&twice), "No space left on device (os error 28)");
        let plain = std::io::Error::other("something else");
        assert_eq!(io_message(&plain), "something else");
        let e = StoreError::Sled(sled::Error::Io(copied));
        assert!(e.is_io());
        assert_eq!(
            e.to_string(),
            "store: disk I/O failed: No space left on device (os error 28)"
        );
    }

    #[test]
    fn a_store_in_use_is_refused_as_locked() {
        let (dir, _store) = temp_store();
        let err = SyncStore::open(&dir.path().join("db"), 8 << 20)
            .err()
            .expect("refused");
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(
            err.to_string().contains("locked by another process"),
            "{err}"
        );
    }

    #[test]
    fn foreign_data_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path().join("db")).unwrap();
            db.open_tree("shops").unwrap().insert("x", "y").unwrap();
            db.flush().unwrap();
        }
        let err = SyncStore::open(&dir.path().join("db"), 8 << 20)
            .err()
            .expect("refused");
        assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    }
}
