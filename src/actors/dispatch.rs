//! What one scheduler tick hands out: the due polls of each carrier it has room for, leased in
//! the store in chunks (one transaction each), cut into messages for the carrier's poller, and
//! the due reminders; and when to look again.
//!
//! - A carrier that answers in batch tickets gets full tickets: parcels that came due wait until
//!   a ticket's worth (`batch_size`) is due, or until the oldest has waited `ticket_gather`.
//!   Parcels are spread over the night window, so without this a ticket would carry the few
//!   parcels that came due since the last tick.
//! - Other carriers get their share in two or more messages, so that the poller still has work
//!   while the scheduler leases the next.
//! - A tick that could hand out nothing (pollers full, tickets filling) does not look again at
//!   once; a poller finishing, the next due time or a ticket's gather time wakes it.

use super::earliest;
use crate::carriers::poll::stages::{self, Stage};
use crate::domain::carrier::CarrierId;
use crate::store::{DueItem, DueKind, StoreError, SyncStore};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How many due keys one tick looks at: at least two full tickets (3000 numbers each).
pub const SCAN_LIMIT: usize = 6_000;
/// How many reminders one tick fires.
const REMINDER_BATCH: usize = 500;

/// A carrier's share of one tick.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    /// How many more items it may take.
    pub room: usize,
    /// Until when they are leased.
    pub lease_until: Timestamp,
    /// Items per message to its poller.
    pub chunk: usize,
    /// For carriers that ask in tickets: the ticket size, and how long due parcels wait for
    /// more to fill one.
    pub gather: Option<(usize, Duration)>,
}

/// What one tick decided.
#[derive(Debug, Default)]
pub struct Dispatch {
    /// Messages for each poller, leased already.
    pub polls: BTreeMap<CarrierId, Vec<Vec<DueItem>>>,
    /// Reminders to fire.
    pub reminders: Vec<DueItem>,
    /// More is due and this tick made progress: look again at once.
    pub more: bool,
    /// When to look again otherwise: the next due time, or when parcels waiting for a ticket
    /// have waited long enough.
    pub wake_at: Option<Timestamp>,
}

/// Decides one tick at `now`: `allowances` by poller, `routes` from a parcel's carrier to the
/// poller that polls it. One logical step of many store calls: run it through
/// [`Store::in_one_step`](crate::store::Store::in_one_step).
pub(crate) fn plan(
    store: &SyncStore,
    now: Timestamp,
    allowances: &HashMap<CarrierId, Allowance>,
    routes: &HashMap<CarrierId, CarrierId>,
) -> Result<Dispatch, StoreError> {
    let items = store.due_items(now, SCAN_LIMIT)?;
    let full = items.len() == SCAN_LIMIT;
    let mut d = Dispatch::default();
    let mut wanted: BTreeMap<CarrierId, Vec<DueItem>> = BTreeMap::new();
    let mut disabled: Vec<DueItem> = Vec::new();
    let mut reminders_left = false;
    for item in items {
        match item.kind {
            DueKind::Reminder if d.reminders.len() < REMINDER_BATCH => d.reminders.push(item),
            DueKind::Reminder => reminders_left = true,
            DueKind::Poll => match routes
                .get(&item.carrier)
                .filter(|p| allowances.contains_key(p))
            {
                Some(&poller) => wanted.entry(poller).or_default().push(item),
                None => disabled.push(item),
            },
        }
    }
    let mut progress = !d.reminders.is_empty();
    if !disabled.is_empty() {
        // The carrier is not enabled: look again in an hour.
        let mut per: BTreeMap<CarrierId, usize> = BTreeMap::new();
        for i in &disabled {
            *per.entry(i.carrier).or_default() += 1;
        }
        for (carrier, parcels) in per {
            tracing::warn!(
                carrier = carrier.as_str(),
                parcels,
                "Parcels of a carrier that is not enabled wait an hour; enable it under [carriers]"
            );
        }
        store.lease_polls(&disabled, now + Duration::from_secs(3600))?;
        progress = true;
    }
    for (poller, items) in wanted {
        let Some(a) = allowances.get(&poller) else {
            continue;
        };
        let mut take = items.len().min(a.room);
        if let Some((size, wait)) = a.gather {
            // Items are in due order: the first has waited longest.
            let ready_at = items[0].at + wait;
            if now < ready_at {
                take = take / size.max(1) * size.max(1);
                d.wake_at = earliest(d.wake_at, Some(ready_at));
            }
        }
        if take == 0 {
            continue;
        }
        let started = Instant::now();
        let leased = store.lease_polls(&items[..take], a.lease_until)?;
        stages::record(poller, Stage::Store, started.elapsed());
        if !leased.is_empty() {
            progress = true;
            d.polls.insert(
                poller,
                leased.chunks(a.chunk.max(1)).map(<[_]>::to_vec).collect(),
            );
        }
    }
    d.more = progress && (full || reminders_left);
    d.wake_at = earliest(d.wake_at, store.next_due_after(now)?);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::domain::shop::ShopId;
    use crate::store::test_support::{t, temp_store};

    /// A store with `n` Russian Post parcels due at `t(0)`, `t(1)`, …
    fn store_with(n: usize) -> (tempfile::TempDir, SyncStore) {
        let (d, store) = temp_store();
        let shop = ShopId::from_trusted("acme");
        for i in 0..n {
            let digits: Vec<u8> = format!("1{i:012}").bytes().map(|b| b - b'0').collect();
            let check = crate::domain::track::domestic_check_digit(&digits);
            let v = validate(&ParcelDraft {
                track: format!("1{i:012}{check}"),
                ..ParcelDraft::default()
            })
            .unwrap();
            store.intake(&shop, &v, t(0), t(i as i64)).unwrap();
        }
        (d, store)
    }

    fn rp() -> HashMap<CarrierId, CarrierId> {
        [(CarrierId::RussianPost, CarrierId::RussianPost)].into()
    }

    fn allowance(room: usize, chunk: usize, gather: Option<(usize, Duration)>) -> Allowance {
        Allowance {
            room,
            lease_until: t(100_000),
            chunk,
            gather,
        }
    }

    #[test]
    fn tickets_wait_to_fill_up_then_go_when_the_oldest_waited_long_enough() {
        let (_d, store) = store_with(5);
        let a = [(
            CarrierId::RussianPost,
            allowance(100, 4, Some((4, Duration::from_secs(60)))),
        )]
        .into();
        // Five due, tickets of four: one full ticket goes, one parcel waits.
        let d = plan(&store, t(10), &a, &rp()).unwrap();
        let msgs = &d.polls[&CarrierId::RussianPost];
        assert_eq!(msgs.iter().map(Vec::len).collect::<Vec<_>>(), [4]);
        assert_eq!(
            d.wake_at,
            Some(t(60)),
            "the first parcel has waited 60 s then"
        );
        assert!(!d.more);
        // Nothing new before then.
        let d = plan(&store, t(30), &a, &rp()).unwrap();
        assert!(d.polls.is_empty());
        assert_eq!(
            d.wake_at,
            Some(t(64)),
            "the waiting parcel came due at t(4)"
        );
        let d = plan(&store, t(64), &a, &rp()).unwrap();
        assert_eq!(d.polls[&CarrierId::RussianPost][0].len(), 1);
        assert_eq!(store.due_items(t(1000), 10).unwrap().len(), 0);
    }

    #[test]
    fn a_full_poller_is_not_asked_again_until_it_has_room() {
        let (_d, store) = store_with(7);
        let a = [(CarrierId::RussianPost, allowance(5, 2, None))].into();
        let d = plan(&store, t(10), &a, &rp()).unwrap();
        let sizes: Vec<usize> = d.polls[&CarrierId::RussianPost]
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [2, 2, 1], "cut into messages");
        let full = [(CarrierId::RussianPost, allowance(0, 2, None))].into();
        let d = plan(&store, t(10), &full, &rp()).unwrap();
        assert!(d.polls.is_empty());
        assert!(!d.more, "no progress: no tick at once");
        // Nothing else is due later than the leases in flight; a poller finishing wakes it.
        assert_eq!(d.wake_at, Some(t(100_000)));
    }
}
