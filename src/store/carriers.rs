//! What the pollers keep about each carrier so that a restart changes nothing: the day's request
//! count against the daily budget, a pause after refused credentials or an exhausted limit,
//! which budget period was already planned, and batch tickets the carrier is still preparing.
//!
//! Budgets, pauses and plans are small `meta` keys (`budget/<carrier>`, `pause/<carrier>`,
//! `plan/<carrier>`); tickets have their own tree, keyed by carrier tag and ticket id. While a
//! ticket is open, its parcels' poll leases point at it, so a restart resumes the ticket instead
//! of making the parcels due again (which would ask for a new one).

use super::{Store, StoreError, SyncStore, decode, encode, keys, versions};
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::shop::ShopId;
use crate::domain::track::TrackNumber;
use crate::store::DueItem;
use crate::store::keys::DueKind;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A carrier's polling is paused until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierPause {
    /// When polling may resume.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub until: Timestamp,
    /// Why it paused (the carrier's words).
    pub reason: String,
    /// A fingerprint of the credentials that were refused: new credentials lift the pause.
    pub fingerprint: String,
}

/// One parcel in a batch ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketItem {
    /// The parcel's shop.
    pub shop: ShopId,
    /// The parcel's track number (its key in the shop).
    pub track: TrackNumber,
    /// The number asked for.
    pub asked: TrackNumber,
    /// Whether cash is due on delivery.
    pub has_cod: bool,
}

impl TicketItem {
    /// The parcel it is.
    pub fn parcel(&self) -> ParcelKey {
        ParcelKey::new(self.shop.clone(), self.track.clone())
    }
}

/// A batch request the carrier is preparing an answer to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The carrier (the poller's).
    pub carrier: CarrierId,
    /// The carrier's ticket id.
    pub id: String,
    /// The parcels asked about, in request order.
    pub items: Vec<TicketItem>,
    /// When the carrier issued it.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub issued_at: Timestamp,
    /// When to ask for the answer next.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub ask_at: Timestamp,
    /// Answers asked for so far.
    pub asks: u32,
}

/// What spending one request of a daily budget found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// The request may go out; `used` requests were made this day, this one included.
    Allowed {
        /// Requests of the day so far.
        used: u32,
    },
    /// The day's budget is spent; nothing was counted.
    Exhausted {
        /// Requests of the day.
        used: u32,
    },
}

fn meta_key(kind: &str, carrier: CarrierId) -> Vec<u8> {
    format!("{kind}/{}", carrier.as_str()).into_bytes()
}

fn day_number(day: Date) -> u32 {
    (day.year().max(0) as u32) * 10_000 + (day.month() as u32) * 100 + day.day() as u32
}

fn read_budget(v: Option<&[u8]>, today: u32) -> u32 {
    let Some(v) = v else { return 0 };
    let (Some(d), Some(n)) = (v.get(..4), v.get(4..8)) else {
        return 0;
    };
    let day = u32::from_be_bytes(d.try_into().unwrap_or_default());
    if day == today {
        u32::from_be_bytes(n.try_into().unwrap_or_default())
    } else {
        0
    }
}

fn budget_value(day: u32, used: u32) -> Vec<u8> {
    let mut v = day.to_be_bytes().to_vec();
    v.extend_from_slice(&used.to_be_bytes());
    v
}

fn ticket_key(carrier: CarrierId, id: &str) -> Vec<u8> {
    let mut k = vec![carrier.tag()];
    k.extend_from_slice(id.as_bytes());
    k
}

/// The lease value of a parcel held by a ticket: the lease end, a marker and the ticket key.
fn ticket_lease(until: Timestamp, carrier: CarrierId, id: &str) -> Vec<u8> {
    let mut v = keys::time(until).to_vec();
    v.push(b'T');
    v.extend_from_slice(&ticket_key(carrier, id));
    v
}

/// The ticket key a lease value points at, if it is a ticket lease.
pub(super) fn lease_ticket(value: &[u8]) -> Option<&[u8]> {
    value.get(8..)?.strip_prefix(b"T")
}

impl SyncStore {
    /// Counts one request against `carrier`'s budget for `day`, unless `limit` is reached.
    pub fn spend_budget(
        &self,
        carrier: CarrierId,
        day: Date,
        limit: Option<u32>,
    ) -> Result<Spend, StoreError> {
        let today = day_number(day);
        let key = meta_key("budget", carrier);
        let before = self.meta.fetch_and_update(&key, |old| {
            let used = read_budget(old, today);
            match limit {
                Some(l) if used >= l => old.map(<[u8]>::to_vec),
                _ => Some(budget_value(today, used.saturating_add(1))),
            }
        })?;
        let used = read_budget(before.as_deref(), today);
        Ok(match limit {
            Some(l) if used >= l => Spend::Exhausted { used },
            _ => Spend::Allowed { used: used + 1 },
        })
    }

    /// Requests counted against `carrier`'s budget on `day`.
    pub fn budget_used(&self, carrier: CarrierId, day: Date) -> Result<u32, StoreError> {
        let v = self.meta.get(meta_key("budget", carrier))?;
        Ok(read_budget(v.as_deref(), day_number(day)))
    }

    /// Records that `carrier` is paused.
    pub fn set_pause(&self, carrier: CarrierId, pause: &CarrierPause) -> Result<(), StoreError> {
        let key = meta_key("pause", carrier);
        let v = encode("meta", versions::PAUSE, &key, pause)?;
        self.meta.insert(key, v)?;
        Ok(())
    }

    /// Lifts `carrier`'s pause.
    pub fn clear_pause(&self, carrier: CarrierId) -> Result<(), StoreError> {
        self.meta.remove(meta_key("pause", carrier))?;
        Ok(())
    }

    /// `carrier`'s pause, if any.
    pub fn pause(&self, carrier: CarrierId) -> Result<Option<CarrierPause>, StoreError> {
        let key = meta_key("pause", carrier);
        match self.meta.get(&key)? {
            None => Ok(None),
            Some(v) => decode("meta", versions::PAUSE, &key, &v).map(Some),
        }
    }

    /// Marks the budget period starting at `start` as planned for `carrier`. Returns false if
    /// it already was (by another poll, or before a restart).
    pub fn claim_plan(&self, carrier: CarrierId, start: Timestamp) -> Result<bool, StoreError> {
        let key = meta_key("plan", carrier);
        let new = keys::time(start);
        let old = self.meta.get(&key)?;
        if old.as_deref() == Some(&new[..]) {
            return Ok(false);
        }
        Ok(self
            .meta
            .compare_and_swap(&key, old, Some(&new[..]))?
            .is_ok())
    }

    /// Poll items of the carriers tagged `tags` due before `until`, oldest first.
    pub fn due_polls_until(
        &self,
        tags: &[u8],
        until: Timestamp,
    ) -> Result<Vec<DueItem>, StoreError> {
        let end = keys::time(until);
        let mut out = Vec::new();
        for kv in self.t.due.range(..end.to_vec()) {
            let (k, v) = kv?;
            let Some(d) = keys::read_due(&k) else {
                continue;
            };
            let Some(&tag) = v.first() else { continue };
            if d.kind != DueKind::Poll || !tags.contains(&tag) {
                continue;
            }
            let Some(carrier) = CarrierId::from_tag(tag) else {
                continue;
            };
            out.push(DueItem {
                kind: d.kind,
                at: d.at,
                parcel: d.parcel,
                carrier,
            });
        }
        Ok(out)
    }

    /// Moves a parcel's next poll to `at` (or stops polling it with `None`) and ends any lease
    /// on it, without counting a failure. Returns the parcel as it was.
    pub fn defer_poll(
        &self,
        parcel: &ParcelKey,
        at: Option<Timestamp>,
    ) -> Result<Option<Parcel>, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        self.tx(|t| {
            let Some(old) = t.get_parcel(shop, track)? else {
                return Ok(None);
            };
            let mut p = old.clone();
            p.next_poll_at = at;
            t.put_parcel(Some(&old), &p)?;
            t.end_lease(keys::parcel(shop, track))?;
            Ok(Some(old))
        })
    }

    /// Moves a parcel's next poll from `from` to `to`, if it is still scheduled at `from` and
    /// not being polled. Returns whether it moved.
    pub fn reschedule_poll(
        &self,
        parcel: &ParcelKey,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<bool, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        self.tx(|t| {
            let Some(old) = t.get_parcel(shop, track)? else {
                return Ok(false);
            };
            if old.next_poll_at != Some(from) || t.leases.get(keys::parcel(shop, track))?.is_some()
            {
                return Ok(false);
            }
            let mut p = old.clone();
            p.next_poll_at = Some(to);
            t.put_parcel(Some(&old), &p)?;
            Ok(true)
        })
    }

    /// Stores a new ticket and leases its parcels to it until `lease_until`, so that nothing
    /// else polls them while the carrier prepares the answer.
    pub fn open_ticket(&self, ticket: &Ticket, lease_until: Timestamp) -> Result<(), StoreError> {
        let key = ticket_key(ticket.carrier, &ticket.id);
        let value = encode("tickets", versions::TICKET, &key, ticket)?;
        let lease = ticket_lease(lease_until, ticket.carrier, &ticket.id);
        // A ticket holds thousands of parcels, and sled lets no reader in while a transaction
        // runs: they are leased in chunks, one transaction each, and the ticket is stored
        // after the last. After a crash in between, their leases name a ticket that is not
        // open, and the next start releases them like any other lease.
        self.tx_each(&ticket.items, |t, item| {
            let Some(old) = t.get_parcel(item.shop.as_str(), item.track.as_str())? else {
                return Ok(());
            };
            let key = keys::parcel(item.shop.as_str(), item.track.as_str());
            match old.next_poll_at {
                // Leased for longer already (the scheduler leases a ticket carrier's parcels for
                // a ticket's whole life): the lease only names the ticket, with the time the
                // parcel comes due, and the parcel is not written again.
                Some(at) if at >= lease_until => {
                    t.leases
                        .insert(key, ticket_lease(at, ticket.carrier, &ticket.id))?;
                }
                _ => {
                    let mut p = old.clone();
                    p.next_poll_at = Some(lease_until);
                    t.put_parcel(Some(&old), &p)?;
                    t.leases.insert(key, lease.clone())?;
                }
            }
            Ok(())
        })?;
        self.tickets.insert(key, value)?;
        Ok(())
    }

    /// Saves a ticket's progress (next ask, asks made).
    pub fn update_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let key = ticket_key(ticket.carrier, &ticket.id);
        let value = encode("tickets", versions::TICKET, &key, ticket)?;
        self.tickets.insert(key, value)?;
        Ok(())
    }

    /// Forgets a ticket; parcels still leased to it are released (their next poll is what
    /// they were leased until, unless something rescheduled them).
    pub fn close_ticket(&self, carrier: CarrierId, id: &str) -> Result<(), StoreError> {
        let key = ticket_key(carrier, id);
        // The ticket is removed first, then its leases in chunks, as when it was opened; after
        // a crash in between, the leases left name a closed ticket and the next start
        // releases them.
        let Some(v) = self.tickets.remove(&key)? else {
            return Ok(());
        };
        let Ok(ticket) = decode::<Ticket>("tickets", versions::TICKET, &key, &v) else {
            return Ok(());
        };
        self.tx_each(&ticket.items, |t, item| {
            let lk = keys::parcel(item.shop.as_str(), item.track.as_str());
            if let Some(lease) = t.leases.get(&lk)?
                && lease_ticket(&lease) == Some(&key[..])
            {
                t.end_lease(lk)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// `carrier`'s open tickets.
    pub fn open_tickets(&self, carrier: CarrierId) -> Result<Vec<Ticket>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tickets.scan_prefix([carrier.tag()]) {
            let (k, v) = kv?;
            out.push(decode("tickets", versions::TICKET, &k, &v)?);
        }
        Ok(out)
    }

    /// Whether a ticket is still open.
    pub(super) fn ticket_open(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.tickets.contains_key(key)?)
    }

    /// The shops that have a parcel with this key and carrier (a carrier's push names only
    /// the number).
    pub fn shops_with_parcel(
        &self,
        track: &TrackNumber,
        carrier: CarrierId,
    ) -> Result<Vec<ShopId>, StoreError> {
        let mut out = Vec::new();
        for kv in self.t.shops.iter() {
            let (k, _) = kv?;
            let Ok(shop) = std::str::from_utf8(&k) else {
                continue;
            };
            let key = ParcelKey::new(ShopId::from_trusted(shop), track.clone());
            if let Some(p) = self.parcel(&key)?
                && p.carrier == carrier
            {
                out.push(key.shop);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Counts one request against `carrier`'s budget for `day`, unless `limit` is reached.
    pub async fn spend_budget(
        &self,
        carrier: CarrierId,
        day: Date,
        limit: Option<u32>,
    ) -> Result<Spend, StoreError> {
        self.run(move |s| s.spend_budget(carrier, day, limit)).await
    }

    /// Requests counted against `carrier`'s budget on `day`.
    pub async fn budget_used(&self, carrier: CarrierId, day: Date) -> Result<u32, StoreError> {
        self.run(move |s| s.budget_used(carrier, day)).await
    }

    /// Records that `carrier` is paused.
    pub async fn set_pause(
        &self,
        carrier: CarrierId,
        pause: &CarrierPause,
    ) -> Result<(), StoreError> {
        let pause = pause.clone();
        self.run(move |s| s.set_pause(carrier, &pause)).await
    }

    /// Lifts `carrier`'s pause.
    pub async fn clear_pause(&self, carrier: CarrierId) -> Result<(), StoreError> {
        self.run(move |s| s.clear_pause(carrier)).await
    }

    /// `carrier`'s pause, if any.
    pub async fn pause(&self, carrier: CarrierId) -> Result<Option<CarrierPause>, StoreError> {
        self.run(move |s| s.pause(carrier)).await
    }

    /// Marks the budget period starting at `start` as planned for `carrier`. Returns false if
    /// it already was (by another poll, or before a restart).
    pub async fn claim_plan(
        &self,
        carrier: CarrierId,
        start: Timestamp,
    ) -> Result<bool, StoreError> {
        self.run(move |s| s.claim_plan(carrier, start)).await
    }

    /// Moves a parcel's next poll to `at` (or stops polling it with `None`) and ends any lease
    /// on it, without counting a failure. Returns the parcel as it was.
    pub async fn defer_poll(
        &self,
        parcel: &ParcelKey,
        at: Option<Timestamp>,
    ) -> Result<Option<Parcel>, StoreError> {
        let parcel = parcel.clone();
        self.run(move |s| s.defer_poll(&parcel, at)).await
    }

    /// Stores a new ticket and leases its parcels to it until `lease_until`, so that nothing
    /// else polls them while the carrier prepares the answer.
    pub async fn open_ticket(
        &self,
        ticket: &Ticket,
        lease_until: Timestamp,
    ) -> Result<(), StoreError> {
        let ticket = ticket.clone();
        self.run(move |s| s.open_ticket(&ticket, lease_until)).await
    }

    /// Saves a ticket's progress (next ask, asks made).
    pub async fn update_ticket(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let ticket = ticket.clone();
        self.run(move |s| s.update_ticket(&ticket)).await
    }

    /// Forgets a ticket; parcels still leased to it are released.
    pub async fn close_ticket(&self, carrier: CarrierId, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.run(move |s| s.close_ticket(carrier, &id)).await
    }

    /// `carrier`'s open tickets.
    pub async fn open_tickets(&self, carrier: CarrierId) -> Result<Vec<Ticket>, StoreError> {
        self.run(move |s| s.open_tickets(carrier)).await
    }

    /// The shops that have a parcel with this track number and carrier (a carrier's push
    /// names only the number).
    pub async fn shops_with_parcel(
        &self,
        track: &TrackNumber,
        carrier: CarrierId,
    ) -> Result<Vec<ShopId>, StoreError> {
        let track = track.clone();
        self.run(move |s| s.shops_with_parcel(&track, carrier))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::domain::shop::ShopId;
    use crate::store::test_support::{pk, sid};
    use crate::store::test_support::{t, temp_store};

    #[test]
    fn budgets_count_per_day_and_stop_at_the_limit() {
        let (_d, store) = temp_store();
        let day = Date::constant(2025, 3, 10);
        let c = CarrierId::RussianPost;
        assert_eq!(
            store.spend_budget(c, day, Some(2)).unwrap(),
            Spend::Allowed { used: 1 }
        );
        assert_eq!(
            store.spend_budget(c, day, Some(2)).unwrap(),
            Spend::Allowed { used: 2 }
        );
        assert_eq!(
            store.spend_budget(c, day, Some(2)).unwrap(),
            Spend::Exhausted { used: 2 }
        );
        assert_eq!(store.budget_used(c, day).unwrap(), 2);
        let next = Date::constant(2025, 3, 11);
        assert_eq!(store.budget_used(c, next).unwrap(), 0, "a new day");
        assert_eq!(
            store.spend_budget(c, next, Some(2)).unwrap(),
            Spend::Allowed { used: 1 }
        );
        assert_eq!(
            store.spend_budget(c, next, None).unwrap(),
            Spend::Allowed { used: 2 }
        );
        assert_eq!(store.budget_used(CarrierId::ChinaPost, next).unwrap(), 0);
    }

    #[test]
    fn pauses_and_plans_persist() {
        let (_d, store) = temp_store();
        let c = CarrierId::ChinaPost;
        assert_eq!(store.pause(c).unwrap(), None);
        let p = CarrierPause {
            until: t(100),
            reason: "authorisation refused".into(),
            fingerprint: "abc".into(),
        };
        store.set_pause(c, &p).unwrap();
        assert_eq!(store.pause(c).unwrap(), Some(p));
        store.clear_pause(c).unwrap();
        assert_eq!(store.pause(c).unwrap(), None);
        assert!(store.claim_plan(c, t(0)).unwrap());
        assert!(!store.claim_plan(c, t(0)).unwrap(), "planned once");
        assert!(store.claim_plan(c, t(86_400)).unwrap(), "the next night");
    }

    /// A store with the shop `acme` and these Russian Post parcels, handed over at `t(0)`.
    fn store_with_tracks(tracks: &[&str]) -> (tempfile::TempDir, SyncStore) {
        let (dir, store) = temp_store();
        store
            .create_shop(&crate::store::shops::tests::shop("acme", "h"))
            .unwrap();
        for track in tracks {
            let v = validate(&ParcelDraft {
                track: (*track).into(),
                ..ParcelDraft::default()
            })
            .unwrap();
            store
                .intake(&ShopId::from_trusted("acme"), &v, t(0), t(0))
                .unwrap();
        }
        (dir, store)
    }

    /// A Russian Post ticket for acme's parcel 10100012000016, issued at `t(issued)` and asked
    /// for 15 minutes later.
    fn ticket_of_one(issued: i64) -> Ticket {
        Ticket {
            carrier: CarrierId::RussianPost,
            id: "20250312031500123SHOP".into(),
            items: vec![TicketItem {
                shop: sid("acme"),
                track: TrackNumber::from_trusted("10100012000016"),
                asked: TrackNumber::from_trusted("10100012000016"),
                has_cod: false,
            }],
            issued_at: t(issued),
            ask_at: t(issued + 900),
            asks: 0,
        }
    }

    /// `store` flushed, closed and opened again, with the restart's release of leases checked
    /// to leave the open ticket's parcels leased.
    fn restarted_with_the_ticket_holding(dir: &tempfile::TempDir, store: SyncStore) -> SyncStore {
        store.flush().unwrap();
        drop(store);
        let store = SyncStore::open(&dir.path().join("db"), 8 << 20).unwrap();
        assert_eq!(
            store.release_leases(t(10)).unwrap(),
            0,
            "held by the ticket"
        );
        store
    }

    #[test]
    fn a_ticket_names_itself_on_long_leases_without_writing_the_parcels_again() {
        let (dir, store) = store_with_tracks(&["10100012000016"]);
        // The scheduler leases a ticket carrier's parcels for longer than the ticket's life.
        let due = store.due_items(t(0), 10).unwrap();
        assert_eq!(store.lease_polls(&due, t(200_000)).unwrap().len(), 1);
        let key = keys::parcel("acme", "10100012000016");
        let before = store.t.parcels.get(&key).unwrap().unwrap();
        let ticket = ticket_of_one(60);
        store.open_ticket(&ticket, t(3600)).unwrap();
        assert_eq!(
            store.t.parcels.get(&key).unwrap().unwrap(),
            before,
            "the parcel is not written again"
        );
        let lease = store.t.leases.get(&key).unwrap().unwrap();
        assert_eq!(
            lease_ticket(&lease),
            Some(&ticket_key(ticket.carrier, &ticket.id)[..])
        );
        assert_eq!(keys::read_time(&lease), Some(t(200_000)));
        // After a restart the open ticket holds it; once the ticket is gone, the lease is
        // released like any other: its time is the parcel's.
        let store = restarted_with_the_ticket_holding(&dir, store);
        store
            .tickets
            .remove(ticket_key(ticket.carrier, &ticket.id))
            .unwrap();
        assert_eq!(store.release_leases(t(20)).unwrap(), 1);
        let p = store
            .parcel(&pk("acme", "10100012000016"))
            .unwrap()
            .unwrap();
        assert_eq!(p.next_poll_at, Some(t(20)), "due again at once");
        assert!(!store.is_leased(&pk("acme", "10100012000016")).unwrap());
    }

    #[test]
    fn tickets_hold_their_parcels_across_a_restart() {
        let (dir, store) = store_with_tracks(&["10100012000016", "10100012000023"]);
        let ticket = ticket_of_one(0);
        store.open_ticket(&ticket, t(3600)).unwrap();
        assert!(store.is_leased(&pk("acme", "10100012000016")).unwrap());
        let store = restarted_with_the_ticket_holding(&dir, store);
        assert!(store.is_leased(&pk("acme", "10100012000016")).unwrap());
        assert_eq!(
            store.open_tickets(CarrierId::RussianPost).unwrap(),
            vec![ticket.clone()]
        );
        assert!(store.open_tickets(CarrierId::ChinaPost).unwrap().is_empty());
        store
            .close_ticket(CarrierId::RussianPost, &ticket.id)
            .unwrap();
        assert!(!store.is_leased(&pk("acme", "10100012000016")).unwrap());
        assert!(
            store
                .open_tickets(CarrierId::RussianPost)
                .unwrap()
                .is_empty()
        );

        // Due polls by carrier tag, and deferral.
        let due = store
            .due_polls_until(&[CarrierId::RussianPost.tag()], t(4000))
            .unwrap();
        assert_eq!(due.len(), 2);
        assert!(
            store
                .reschedule_poll(&pk("acme", "10100012000023"), t(0), t(9000))
                .unwrap()
        );
        assert!(
            !store
                .reschedule_poll(&pk("acme", "10100012000023"), t(0), t(9000))
                .unwrap()
        );
        assert_eq!(
            store
                .shops_with_parcel(&pk("acme", "10100012000023").track, CarrierId::RussianPost)
                .unwrap(),
            [sid("acme")]
        );
        assert!(
            store
                .shops_with_parcel(&pk("acme", "10100012000023").track, CarrierId::ChinaPost)
                .unwrap()
                .is_empty()
        );
        store
            .defer_poll(&pk("acme", "10100012000023"), None)
            .unwrap();
        let p = store
            .parcel(&pk("acme", "10100012000023"))
            .unwrap()
            .unwrap();
        assert_eq!(p.next_poll_at, None);
    }
}
