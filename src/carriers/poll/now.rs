//! An operator's "poll now" (`POST /v1/poll`): everything due (or, with `all`, every live
//! parcel), of one shop or of all, leased in the store so that the scheduler does not hand the
//! same parcels out meanwhile, polled by the pollers of their carriers, and answered once done.
//! Parcels whose poll was already in flight are waited for too: until the store says their
//! lease ended ([`Store::lease_changes`]), or a deadline.
//!
//! The scheduler actor calls [`poll_now`] with a way to reach its pollers; the rest is here.

use super::{PollError, PollSummary};
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::ParcelKey;
use crate::domain::shop::ShopId;
use crate::store::{DueItem, DueKind, Store, StoreError};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// What an operator asked to poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollNowAsk {
    /// Only this shop's parcels.
    pub shop: Option<ShopId>,
    /// Every live parcel, not only those due.
    pub all: bool,
}

/// Where a carrier's parcels are polled, and for how long their leases hold.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    /// The poller (by its carrier) of each carrier's parcels: its own, or Russian Post's for
    /// EMS.
    pub pollers: HashMap<CarrierId, CarrierId>,
    /// Until when a carrier's parcels are leased, for the carriers whose poller runs.
    pub leases: HashMap<CarrierId, Timestamp>,
}

/// The polls leased for an operator's request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leased {
    /// Due items by the poller that polls them.
    pub by_poller: BTreeMap<CarrierId, Vec<DueItem>>,
    /// Parcels whose poll was in flight already.
    pub busy: Vec<ParcelKey>,
}

/// Leases what `ask` names at `now`: every live parcel with `all` (those already in flight
/// are listed as busy), otherwise the polls due by then.
pub async fn lease(
    store: &Store,
    ask: PollNowAsk,
    now: Timestamp,
    routes: Routes,
) -> Result<Leased, StoreError> {
    // Many parcels, a transaction per chunk: one step on one blocking thread.
    store
        .in_one_step(move |st| {
            let mut by_poller: BTreeMap<CarrierId, Vec<DueItem>> = BTreeMap::new();
            if ask.all {
                let live = st.lease_live(ask.shop.as_ref(), |c| routes.leases.get(&c).copied())?;
                for item in live.leased {
                    if let Some(&poller) = routes.pollers.get(&item.carrier) {
                        by_poller.entry(poller).or_default().push(item);
                    }
                }
                return Ok(Leased {
                    by_poller,
                    busy: live.busy,
                });
            }
            // Due polls by poller, leased in chunks: a carrier's lease is its poller's.
            let mut due: BTreeMap<CarrierId, (Timestamp, Vec<DueItem>)> = BTreeMap::new();
            for item in st.due_items(now, usize::MAX)? {
                if item.kind != DueKind::Poll
                    || ask.shop.as_ref().is_some_and(|s| s != &item.parcel.shop)
                {
                    continue;
                }
                let (Some(&until), Some(&poller)) = (
                    routes.leases.get(&item.carrier),
                    routes.pollers.get(&item.carrier),
                ) else {
                    continue;
                };
                due.entry(poller)
                    .or_insert_with(|| (until, Vec::new()))
                    .1
                    .push(item);
            }
            for (poller, (until, items)) in due {
                let leased = st.lease_polls(&items, until)?;
                if !leased.is_empty() {
                    by_poller.insert(poller, leased);
                }
            }
            Ok(Leased {
                by_poller,
                busy: Vec::new(),
            })
        })
        .await
}

/// Waits until none of `parcels` is being polled any more, or until `deadline`: woken by the
/// store each time a lease ends, never on a timer. Returns whether all were released in time.
pub async fn wait_released(
    store: &Store,
    parcels: &[ParcelKey],
    deadline: Instant,
) -> Result<bool, StoreError> {
    // Subscribed before looking, so that a lease that ends in between is not missed.
    let mut bell = store.lease_changes();
    for parcel in parcels {
        loop {
            bell.mark_unchanged();
            if !store.is_leased(parcel).await? {
                break;
            }
            tokio::select! {
                changed = bell.changed() => {
                    if changed.is_err() {
                        return Ok(false);
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Ok(false),
            }
        }
    }
    Ok(true)
}

/// Polls what `ask` names now: leases it, hands each poller its parcels through `poll` (all
/// at once) and adds up their summaries; parcels already in flight count as polled once their
/// poll ended, waited for at most `wait` after the others.
pub async fn poll_now<F, Fut>(
    store: &Store,
    ask: PollNowAsk,
    now: Timestamp,
    routes: Routes,
    wait: Duration,
    poll: F,
) -> Result<PollSummary, PollError>
where
    F: Fn(CarrierId, Vec<DueItem>) -> Fut,
    Fut: Future<Output = Result<PollSummary, PollError>>,
{
    let leased = lease(store, ask, now, routes).await?;
    let runs = leased
        .by_poller
        .into_iter()
        .map(|(poller, items)| poll(poller, items));
    let mut total = PollSummary::default();
    for r in futures_util::future::join_all(runs).await {
        total.add(r?);
    }
    wait_released(store, &leased.busy, Instant::now() + wait).await?;
    total.polled += leased.busy.len();
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{pk, sid, store_with_parcel, t};
    use std::sync::Mutex;

    /// The sandbox carrier's parcels, polled by its own poller and leased until `t(100_000)`.
    fn sandbox() -> Routes {
        Routes {
            pollers: [(CarrierId::Sandbox, CarrierId::Sandbox)].into(),
            leases: [(CarrierId::Sandbox, t(100_000))].into(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_is_due_is_leased_and_handed_to_its_poller() {
        let (_d, sync) = store_with_parcel();
        let store = Store::from_sync(sync);
        let key = pk("acme", "SANDBOX-ARRIVED-1");
        let handed: Mutex<Vec<(CarrierId, Vec<ParcelKey>)>> = Mutex::default();
        let poll = |poller: CarrierId, items: Vec<DueItem>| {
            let parcels: Vec<ParcelKey> = items.iter().map(|i| i.parcel.clone()).collect();
            let n = parcels.len();
            handed.lock().unwrap().push((poller, parcels));
            async move {
                Ok(PollSummary {
                    polled: n,
                    ..PollSummary::default()
                })
            }
        };
        let other = PollNowAsk {
            shop: Some(sid("other")),
            all: false,
        };
        let wait = Duration::from_secs(1);
        let none = poll_now(&store, other, t(10), sandbox(), wait, poll).await;
        assert_eq!(none.unwrap(), PollSummary::default(), "another shop's");
        assert!(handed.lock().unwrap().is_empty());
        let acme = PollNowAsk {
            shop: Some(sid("acme")),
            all: false,
        };
        let summary = poll_now(&store, acme, t(10), sandbox(), wait, poll).await;
        assert_eq!(summary.unwrap().polled, 1);
        assert_eq!(
            *handed.lock().unwrap(),
            [(CarrierId::Sandbox, vec![key.clone()])]
        );
        assert!(store.is_leased(&key).await.unwrap(), "leased while polled");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_poll_in_flight_is_waited_for_until_the_store_says_its_lease_ended() {
        let (_d, sync) = store_with_parcel();
        let store = Store::from_sync(sync);
        let key = pk("acme", "SANDBOX-ARRIVED-1");
        let live = store.lease_live(None, |_| Some(t(100_000))).await.unwrap();
        assert_eq!(live.leased.len(), 1);
        // Past its deadline, a poll that did not end is given up on.
        let passed = tokio::time::Instant::now();
        let released = wait_released(&store, std::slice::from_ref(&key), passed).await;
        assert!(!released.unwrap());
        // The poll ends while the wait is on: the store's signal ends the wait.
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        let (released, ()) = tokio::join!(
            wait_released(&store, std::slice::from_ref(&key), far),
            async {
                store.defer_poll(&key, Some(t(5))).await.unwrap();
            }
        );
        assert!(released.unwrap());
        // With `all`, a parcel whose poll is in flight is not polled twice: it is waited for
        // (here not at all), and counted.
        let live = store.lease_live(None, |_| Some(t(100_000))).await.unwrap();
        assert_eq!(live.leased.len(), 1);
        let ask = PollNowAsk {
            shop: None,
            all: true,
        };
        let summary = poll_now(&store, ask, t(10), sandbox(), Duration::ZERO, |_, items| {
            assert!(items.is_empty(), "{items:?}");
            async { Ok(PollSummary::default()) }
        })
        .await;
        assert_eq!(summary.unwrap().polled, 1);
    }
}
