//! Customers' lookups: they go first, and in one hop.
//!
//! sled lets no reader in while a transaction runs, and a customer's lookup (a parcel by its
//! number or its order, the tracking page and its order form) makes several reads in a row:
//! the shop, the parcel, its messages, the opt-outs, the carriers' state. During a nightly cycle a
//! transaction could start between any two of them, so a lookup waited for one transaction per
//! read. A lookup in progress now holds a [`Lookup`]; a transaction waits, before it takes
//! sled's lock, until no lookup is in progress or [`LOOKUP_PRIORITY`] has passed, whichever
//! comes first. A lookup then waits for at most the transaction that was running when it came,
//! and a writer is delayed by no more than the bound however many lookups come, or however
//! long one takes (a shop's filtered list may read many parcels).
//!
//! A transaction over many parcels also ends early, once it has run for
//! [`TX_BUDGET`](super::TX_BUDGET), when a lookup is in progress: at a million parcels a
//! parcel's reads come from the disk, and a transaction of 32 of them ran for 8 ms on average.
//!
//! A lookup's reads also run together, in one hop to the blocking pool ([`Store::parcel_card`],
//! [`Store::parcel_cards`]), instead of one hop each: under a busy cycle each hop is a thread to
//! wake on two busy cores.

use super::{ParcelFilter, ParcelPage, Store, StoreError, SyncStore};
use crate::domain::carrier::CarrierId;
use crate::domain::lifecycle::ShopTerms;
use crate::domain::optout::{OptOut, OptOutScope};
use crate::domain::outage::Stall;
use crate::domain::outbox::OutboxEntry;
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::shop::ShopId;
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// How long a transaction waits for lookups in progress before it goes anyway.
pub const LOOKUP_PRIORITY: Duration = Duration::from_millis(5);

/// Counts the lookups in progress. Cheap to clone: clones share the count.
#[derive(Clone, Default)]
pub(crate) struct Lookups {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    active: Mutex<usize>,
    idle: Condvar,
}

/// A lookup in progress: transactions wait for it (up to [`LOOKUP_PRIORITY`]) until it is
/// dropped.
#[must_use = "a lookup counts only while its guard is held"]
pub struct Lookup {
    inner: Arc<Inner>,
}

impl Lookups {
    /// Marks a lookup in progress until the guard is dropped.
    pub fn enter(&self) -> Lookup {
        *self
            .inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        Lookup {
            inner: self.inner.clone(),
        }
    }

    /// Waits until no lookup is in progress, or `most` has passed. Returns whether it had to
    /// wait at all.
    pub fn wait_idle(&self, most: Duration) -> bool {
        let active = self
            .inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *active == 0 {
            return false;
        }
        let _ = self
            .inner
            .idle
            .wait_timeout_while(active, most, |n| *n > 0)
            .unwrap_or_else(PoisonError::into_inner);
        true
    }

    /// Whether a lookup is in progress: a transaction over many parcels ends early for it
    /// ([`SyncStore::tx_each`](super::SyncStore)).
    pub fn in_progress(&self) -> bool {
        self.active() > 0
    }

    /// How many lookups are in progress.
    fn active(&self) -> usize {
        *self
            .inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Lookup {
    fn drop(&mut self) {
        let mut active = self
            .inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *active = active.saturating_sub(1);
        if *active == 0 {
            self.inner.idle.notify_all();
        }
    }
}

/// What a lookup of one parcel shows, read in one hop.
#[derive(Debug)]
pub struct ParcelCard {
    /// The shop's terms: its own, or the defaults for a shop erased meanwhile.
    pub terms: ShopTerms,
    /// The parcel.
    pub parcel: Parcel,
    /// Its messages.
    pub entries: Vec<OutboxEntry>,
    /// The customer's opt-outs that apply to it.
    pub optouts: Vec<(OptOutScope, OptOut)>,
    /// The carriers whose answers stalled.
    pub stalled: BTreeMap<CarrierId, Stall>,
}

/// Which of a shop's parcels a list shows.
#[derive(Debug, Clone)]
pub enum Listing {
    /// Those with this order number.
    Order(String),
    /// A page of those that pass the filter.
    Filter(Box<ParcelFilter>),
}

/// What a list of a shop's parcels shows, read in one hop.
#[derive(Debug)]
pub struct ParcelCards {
    /// The shop's terms, as in [`ParcelCard::terms`].
    pub terms: ShopTerms,
    /// The parcels, and where the next page starts.
    pub page: ParcelPage,
    /// The carriers whose answers stalled.
    pub stalled: BTreeMap<CarrierId, Stall>,
}

/// The shop's terms, or the defaults for a shop erased meanwhile.
fn terms(s: &SyncStore, shop: &ShopId) -> Result<ShopTerms, StoreError> {
    Ok(s.shop(shop)?
        .map_or_else(ShopTerms::default, |sh| ShopTerms::of(&sh)))
}

impl Store {
    /// Everything a lookup of one parcel shows, or `None` if there is no such parcel.
    pub async fn parcel_card(&self, key: &ParcelKey) -> Result<Option<ParcelCard>, StoreError> {
        let key = key.clone();
        self.run(move |s| {
            let Some(parcel) = s.parcel(&key)? else {
                return Ok(None);
            };
            Ok(Some(ParcelCard {
                terms: terms(s, &key.shop)?,
                entries: s.parcel_entries(&key)?,
                optouts: s.customer_optouts(&parcel)?,
                stalled: s.stalled_carriers()?,
                parcel,
            }))
        })
        .await
    }

    /// Everything a list of a shop's parcels shows.
    pub async fn parcel_cards(
        &self,
        shop: &ShopId,
        listing: Listing,
    ) -> Result<ParcelCards, StoreError> {
        let shop = shop.clone();
        self.run(move |s| {
            let page = match &listing {
                Listing::Order(order) => ParcelPage {
                    parcels: s.parcels_by_order(&shop, order)?,
                    next: None,
                },
                Listing::Filter(filter) => s.list_parcels(&shop, filter)?,
            };
            Ok(ParcelCards {
                terms: terms(s, &shop)?,
                page,
                stalled: s.stalled_carriers()?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::shops::tests::shop;
    use crate::store::test_support::{arrived_store, pk, sid, store_with_parcel};
    use std::time::Instant;

    #[test]
    fn a_writer_does_not_wait_when_no_lookup_is_in_progress() {
        let l = Lookups::default();
        assert!(!l.wait_idle(Duration::from_secs(5)));
        drop(l.enter());
        assert!(!l.wait_idle(Duration::from_secs(5)));
        assert_eq!(l.active(), 0);
    }

    #[test]
    fn a_writer_goes_as_soon_as_the_last_lookup_ends() {
        let l = Lookups::default();
        let (a, b) = (l.enter(), l.enter());
        assert_eq!(l.active(), 2);
        let (ready, set) = std::sync::mpsc::channel();
        let started = Instant::now();
        let writer = {
            let l = l.clone();
            std::thread::spawn(move || {
                let _ = ready.send(());
                let waited = l.wait_idle(Duration::from_secs(30));
                (waited, started.elapsed())
            })
        };
        // The lookups end once the writer is about to wait (a loaded machine may start it late).
        set.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(a);
        std::thread::sleep(Duration::from_millis(20));
        drop(b);
        let (waited, took) = writer.join().unwrap();
        assert!(waited);
        // It waited for both lookups, and not for its 30 s bound.
        assert!(took >= Duration::from_millis(40), "{took:?}");
        assert!(took < Duration::from_secs(30), "{took:?}");
    }

    #[test]
    fn a_transaction_lets_a_lookup_in_progress_go_first() {
        let (_d, store) = store_with_parcel();
        let lookup = store.lookups.enter();
        let started = Instant::now();
        store.create_shop(&shop("other", "h2")).unwrap();
        // The lookup never ended, so the transaction went once the bound had passed.
        assert!(
            started.elapsed() >= LOOKUP_PRIORITY,
            "{:?}",
            started.elapsed()
        );
        drop(lookup);
        assert_eq!(store.lookups.active(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_card_holds_what_the_reads_one_by_one_give() {
        let (_d, sync) = arrived_store();
        let store = Store::from_sync(sync.clone());
        let key = pk("acme", "SANDBOX-ARRIVED-1");
        let card = store.parcel_card(&key).await.unwrap().unwrap();
        assert_eq!(card.parcel, sync.parcel(&key).unwrap().unwrap());
        // The SMS that the arrival queued.
        assert_eq!(card.entries.len(), 1);
        assert_eq!(card.entries, sync.parcel_entries(&key).unwrap());
        assert!(card.optouts.is_empty() && card.stalled.is_empty());
        let missing = pk("acme", "SANDBOX-ARRIVED-2");
        assert!(store.parcel_card(&missing).await.unwrap().is_none());

        let all = Listing::Filter(Box::new(ParcelFilter {
            limit: 10,
            ..ParcelFilter::default()
        }));
        let cards = store.parcel_cards(&sid("acme"), all).await.unwrap();
        assert_eq!(cards.page.parcels, vec![card.parcel.clone()]);
        let by_order = Listing::Order("no such order".into());
        let cards = store.parcel_cards(&sid("acme"), by_order).await.unwrap();
        assert!(cards.page.parcels.is_empty());
        assert_eq!(cards.page.next, None);
    }

    #[test]
    fn a_lookup_that_never_ends_delays_a_writer_by_the_bound_only() {
        let l = Lookups::default();
        let _stuck = l.enter();
        let started = Instant::now();
        assert!(l.wait_idle(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(l.active(), 1);
    }
}
