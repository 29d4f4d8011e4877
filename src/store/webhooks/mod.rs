//! Webhooks in the store: each shop's endpoints, the deliveries queued for them, one lane per
//! endpoint and parcel that keeps a parcel's events in order, and the timers that tell when a
//! parcel has been silent for `rules.stuck_after`.
//!
//! Everything lives in one tree, `webhooks`, that every transaction spans, so that an event is
//! queued in the same transaction as the change that caused it ([`Tx::hook_created`],
//! [`Tx::hook_report`], [`Tx::hook_deadline`], [`Tx::hook_outbox`]). Its keys, by first byte:
//!
//! | key                                                   | value                          |
//! |-------------------------------------------------------|--------------------------------|
//! | `E` shop                                              | the shop's endpoints           |
//! | `D` shop `\0` endpoint `\0` track `\0` seq(8)           | a delivery                     |
//! | `I` shop `\0` endpoint `\0` event id                    | its `D` key (finds it again)   |
//! | `L` shop `\0` endpoint `\0` track                       | the lane: next seq(8), head(8) |
//! | `P` time(8) `D` key                                   | due (only lane heads, replays) |
//! | `S` time(8) `D` key                                   | in hand                        |
//! | `X` `D` key                                           | dead letter                    |
//! | `Z` `D` key                                           | parked: its endpoint is disabled |
//! | `T` time(8) shop `\0` track                             | a stuck timer                  |
//! | `U` shop `\0` track                                     | the time of its stuck timer(8) |
//! | `M` name                                              | bookkeeping (`stuck_after`)    |
//!
//! A delivered event's record is removed (its `I` key stays, so the same event is not queued
//! twice). A lane's head is the oldest event not yet delivered or dead; the next one waits
//! until the head is finished ([`Tx::advance_lane`]). A transaction that made a delivery due
//! rings [`Store::hook_changes`], so the delivery engine goes at once.
//!
//! The public face is async ([`Store::hooks`]): each call hops to the blocking pool. The
//! engine's claims and outcomes run on the commit thread ([`super::Committer`]) through the
//! crate-private sync methods.
//!
//! The code is split by concept: this module holds the key layouts, the deliveries and lanes,
//! and the calls other transactions make; [`engine`] what the delivery engine calls (claim,
//! outcome, recovery); [`stuck`] the stuck timers; [`endpoints`] the shops' endpoints behind
//! the async facade [`Hooks`].

mod endpoints;
mod engine;
mod stuck;

pub use endpoints::{DeadHook, EndpointInfo, HookError, Hooks};
pub use engine::{HookClaim, HookFinished};

use super::{Store, StoreError, SyncStore, Tx, TxResult, abort, decode, encode, keys};
use crate::domain::lifecycle::{Outcome, Rules, ShopTerms};
use crate::domain::outbox::{DeliveryState, OutboxEntry};
use crate::domain::parcel::Parcel;
use crate::domain::shop::ShopId;
use crate::domain::webhook::delivery::{Attempt, Delivery, HookRetry, HookState};
use crate::domain::webhook::event::{self, Event};
use crate::domain::webhook::{Endpoint, EventType};
use jiff::Timestamp;
use std::time::Duration;

const TREE: &str = "webhooks";
/// Record version of a shop's endpoint list.
const ENDPOINTS_V: u8 = 1;
/// Record version of a delivery.
const DELIVERY_V: u8 = 1;

/// Key layouts of the `webhooks` tree.
mod k {
    use super::keys::{SEP, time};
    use jiff::Timestamp;

    pub fn endpoints(shop: &str) -> Vec<u8> {
        let mut k = vec![b'E'];
        k.extend_from_slice(shop.as_bytes());
        k
    }

    /// `tag shop \0 endpoint \0`.
    pub fn scope(tag: u8, shop: &str, ep: &str) -> Vec<u8> {
        let mut k = vec![tag];
        k.extend_from_slice(shop.as_bytes());
        k.push(SEP);
        k.extend_from_slice(ep.as_bytes());
        k.push(SEP);
        k
    }

    pub fn delivery(shop: &str, ep: &str, track: &str, seq: u64) -> Vec<u8> {
        let mut k = scope(b'D', shop, ep);
        k.extend_from_slice(track.as_bytes());
        k.push(SEP);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    pub fn id(shop: &str, ep: &str, event_id: &str) -> Vec<u8> {
        let mut k = scope(b'I', shop, ep);
        k.extend_from_slice(event_id.as_bytes());
        k
    }

    pub fn lane(shop: &str, ep: &str, track: &str) -> Vec<u8> {
        let mut k = scope(b'L', shop, ep);
        k.extend_from_slice(track.as_bytes());
        k
    }

    pub fn timed(tag: u8, at: Timestamp, dkey: &[u8]) -> Vec<u8> {
        let mut k = vec![tag];
        k.extend_from_slice(&time(at));
        k.extend_from_slice(dkey);
        k
    }

    pub fn tagged(tag: u8, dkey: &[u8]) -> Vec<u8> {
        let mut k = vec![tag];
        k.extend_from_slice(dkey);
        k
    }

    pub fn timer(at: Timestamp, shop: &str, track: &str) -> Vec<u8> {
        let mut k = vec![b'T'];
        k.extend_from_slice(&time(at));
        k.extend_from_slice(&super::keys::parcel(shop, track));
        k
    }

    pub fn silence(shop: &str, track: &str) -> Vec<u8> {
        let mut k = vec![b'U'];
        k.extend_from_slice(&super::keys::parcel(shop, track));
        k
    }

    pub const STUCK_AFTER: &[u8] = b"Mstuck_after";

    /// The parts of a `D` key: shop, endpoint, track, seq.
    pub fn read_delivery(dkey: &[u8]) -> Option<(String, String, String, u64)> {
        let rest = dkey.strip_prefix(b"D")?;
        let (head, seq) = rest.split_at(rest.len().checked_sub(8)?);
        let head = head.strip_suffix(&[SEP])?;
        let mut parts = head.splitn(3, |&b| b == SEP);
        let shop = std::str::from_utf8(parts.next()?).ok()?;
        let ep = std::str::from_utf8(parts.next()?).ok()?;
        let track = std::str::from_utf8(parts.next()?).ok()?;
        Some((
            shop.into(),
            ep.into(),
            track.into(),
            u64::from_be_bytes(seq.try_into().ok()?),
        ))
    }
}

/// A lane: the next sequence number to give, and the oldest unfinished one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Lane {
    next: u64,
    head: u64,
}

impl Lane {
    fn read(v: &[u8]) -> Lane {
        let n = |r: std::ops::Range<usize>| v.get(r).map_or(0, keys::read_u64);
        Lane {
            next: n(0..8),
            head: n(8..16),
        }
    }

    fn bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next.to_be_bytes());
        b[8..].copy_from_slice(&self.head.to_be_bytes());
        b
    }
}

/// The queue key a delivery has in its state.
fn queue_key(dkey: &[u8], d: &Delivery) -> Option<Vec<u8>> {
    match d.state {
        HookState::Waiting => None,
        HookState::Pending if d.parked => Some(k::tagged(b'Z', dkey)),
        HookState::Pending => Some(k::timed(b'P', d.next_attempt_at, dkey)),
        HookState::Sending => Some(k::timed(b'S', d.claimed_at.unwrap_or(d.created_at), dkey)),
        HookState::Dead => Some(k::tagged(b'X', dkey)),
    }
}

fn decode_endpoints(key: &[u8], v: &[u8]) -> Result<Vec<Endpoint>, StoreError> {
    decode(TREE, ENDPOINTS_V, key, v)
}

fn decode_delivery(key: &[u8], v: &[u8]) -> Result<Delivery, StoreError> {
    decode(TREE, DELIVERY_V, key, v)
}

fn tx_try<T>(r: Result<T, StoreError>) -> TxResult<T> {
    r.or_else(abort)
}

impl Tx<'_> {
    /// A shop's endpoints (none: nothing to queue).
    fn hook_endpoints(&self, shop: &str) -> TxResult<Vec<Endpoint>> {
        let key = k::endpoints(shop);
        match self.webhooks.get(&key)? {
            None => Ok(Vec::new()),
            Some(v) => tx_try(decode_endpoints(&key, &v)),
        }
    }

    fn put_hook_endpoints(&self, shop: &str, list: &[Endpoint]) -> TxResult<()> {
        let key = k::endpoints(shop);
        if list.is_empty() {
            self.webhooks.remove(key)?;
            return Ok(());
        }
        let v = tx_try(encode(TREE, ENDPOINTS_V, &key, &list))?;
        self.webhooks.insert(key, v)?;
        Ok(())
    }

    fn get_delivery(&self, dkey: &[u8]) -> TxResult<Option<Delivery>> {
        match self.webhooks.get(dkey)? {
            None => Ok(None),
            Some(v) => tx_try(decode_delivery(dkey, &v).map(Some)),
        }
    }

    /// Writes a delivery (or removes it: `new` is `None`) and moves its queue key from where
    /// `old` had it.
    fn put_delivery(
        &self,
        dkey: &[u8],
        old: Option<&Delivery>,
        new: Option<&Delivery>,
    ) -> TxResult<()> {
        let old_q = old.and_then(|d| queue_key(dkey, d));
        let new_q = new.and_then(|d| queue_key(dkey, d));
        if old_q != new_q {
            if let Some(q) = old_q {
                self.webhooks.remove(q)?;
            }
            if let Some(q) = &new_q {
                self.webhooks.insert(q.as_slice(), &[])?;
            }
        }
        if new_q.as_deref().is_some_and(|q| q.first() == Some(&b'P')) {
            self.rings.hooked.set(true);
        }
        match new {
            Some(d) => {
                let v = tx_try(encode(TREE, DELIVERY_V, dkey, d))?;
                self.webhooks.insert(dkey, v)?;
            }
            None => {
                self.webhooks.remove(dkey)?;
            }
        }
        Ok(())
    }

    /// Queues one event for one endpoint, at the end of the parcel's lane. Nothing happens if
    /// this event was queued for it before (the same id). Returns whether it was queued.
    fn queue_event(&self, shop: &str, ep: &Endpoint, ev: &Event, now: Timestamp) -> TxResult<bool> {
        let id = k::id(shop, &ep.id, &ev.id);
        if self.webhooks.get(&id)?.is_some() {
            return Ok(false);
        }
        let lkey = k::lane(shop, &ep.id, &ev.track);
        let mut lane = self
            .webhooks
            .get(&lkey)?
            .map_or_else(Lane::default, |v| Lane::read(&v));
        let seq = lane.next;
        lane.next += 1;
        let dkey = k::delivery(shop, &ep.id, &ev.track, seq);
        let mut d = Delivery::new(
            ev.id.clone(),
            ev.kind,
            ev.body.clone(),
            now,
            seq == lane.head,
        );
        d.parked = ep.is_disabled();
        self.put_delivery(&dkey, None, Some(&d))?;
        self.webhooks.insert(id, dkey)?;
        self.webhooks.insert(lkey, &lane.bytes())?;
        Ok(true)
    }

    /// The lane's head is finished (delivered or dead): the next event, if any, is due now.
    fn advance_lane(
        &self,
        shop: &str,
        ep: &Endpoint,
        track: &str,
        seq: u64,
        now: Timestamp,
    ) -> TxResult<()> {
        let lkey = k::lane(shop, &ep.id, track);
        let Some(v) = self.webhooks.get(&lkey)? else {
            return Ok(());
        };
        let mut lane = Lane::read(&v);
        if seq != lane.head {
            return Ok(());
        }
        lane.head += 1;
        while lane.head < lane.next {
            let dkey = k::delivery(shop, &ep.id, track, lane.head);
            match self.get_delivery(&dkey)? {
                Some(old) if old.state == HookState::Waiting => {
                    let mut d = old.clone();
                    d.promote(now);
                    d.parked = ep.is_disabled();
                    self.put_delivery(&dkey, Some(&old), Some(&d))?;
                    break;
                }
                // Gone or finished (a lane swept by hand): on to the next.
                _ => lane.head += 1,
            }
        }
        self.webhooks.insert(lkey, &lane.bytes())?;
        Ok(())
    }

    /// Queues the events `make` builds for every endpoint of the shop that wants them; `make`
    /// runs only when the shop has endpoints.
    fn emit(&self, shop: &str, now: Timestamp, make: impl FnOnce() -> Vec<Event>) -> TxResult<()> {
        let endpoints = self.hook_endpoints(shop)?;
        if endpoints.is_empty() {
            return Ok(());
        }
        for ev in make() {
            for ep in endpoints.iter().filter(|e| e.wants(ev.kind)) {
                self.queue_event(shop, ep, &ev, now)?;
            }
        }
        Ok(())
    }

    /// A new parcel was stored: `parcel.created`, and its stuck timer.
    pub(super) fn hook_created(&self, p: &Parcel, now: Timestamp, rules: &Rules) -> TxResult<()> {
        let shop = p.shop.as_str();
        let endpoints = self.hook_endpoints(shop)?;
        if endpoints.is_empty() {
            return Ok(());
        }
        self.emit(shop, now, || vec![event::created(p, now)])?;
        self.rearm_stuck(&endpoints, p, rules)
    }

    /// A carrier report was applied to `before`, giving `p`: its status change, arrival,
    /// deadline, delivery or return, and the stuck timer moved to the new silence.
    pub(super) fn hook_report(
        &self,
        before: &Parcel,
        p: &Parcel,
        outcome: &Outcome,
        now: Timestamp,
        rules: &Rules,
    ) -> TxResult<()> {
        let shop = p.shop.as_str();
        let endpoints = self.hook_endpoints(shop)?;
        if endpoints.is_empty() {
            return Ok(());
        }
        let terms = self.terms(shop)?;
        self.emit(shop, now, || {
            event::from_report(before, p, outcome, &terms, now)
        })?;
        if outcome.new_events > 0 || p.status.is_final() {
            self.rearm_stuck(&endpoints, p, rules)?;
        }
        Ok(())
    }

    /// The deadline of a waiting parcel moved outside a carrier report (a storage period
    /// changed): `parcel.deadline_changed`.
    pub(super) fn hook_deadline(
        &self,
        before: &Parcel,
        p: &Parcel,
        outcome: &Outcome,
        now: Timestamp,
    ) -> TxResult<()> {
        let Some(change) = &outcome.deadline_moved else {
            return Ok(());
        };
        let shop = p.shop.as_str();
        if self.hook_endpoints(shop)?.is_empty() {
            return Ok(());
        }
        let terms = self.terms(shop)?;
        self.emit(shop, now, || {
            event::deadline_changed(before, p, change, &terms, now)
                .into_iter()
                .collect()
        })
    }

    /// An outbox entry moved from `old` to `new`: `notification.sent` when it went out,
    /// `notification.failed` when it went dead.
    pub(super) fn hook_outbox(&self, old: Option<&OutboxEntry>, new: &OutboxEntry) -> TxResult<()> {
        let was = old.map(|o| o.state);
        let kind = match new.state {
            DeliveryState::Sent if was != Some(DeliveryState::Sent) => EventType::NotificationSent,
            DeliveryState::Dead if was != Some(DeliveryState::Dead) => {
                EventType::NotificationFailed
            }
            _ => return Ok(()),
        };
        let at = match kind {
            EventType::NotificationSent => new.sent_at,
            _ => new.claimed_at,
        }
        .unwrap_or(new.created_at);
        self.emit(new.key.shop.as_str(), at, || {
            vec![event::notification(new, kind, at)]
        })
    }

    fn terms(&self, shop: &str) -> TxResult<ShopTerms> {
        Ok(self
            .shop_record(shop)?
            .map_or_else(ShopTerms::default, |s| ShopTerms::of(&s)))
    }
}

impl Store {
    /// Changes each time a committed transaction made a webhook delivery due: the delivery
    /// engine waits on it to go at once.
    pub fn hook_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.sync().hook_bell.subscribe()
    }

    /// The async face of the webhook store.
    pub fn hooks(&self) -> Hooks {
        Hooks(self.clone())
    }
}

impl SyncStore {
    fn hook_scan_count(&self, prefix: &[u8]) -> Result<usize, StoreError> {
        let mut n = 0;
        for k in self.t.webhooks.scan_prefix(prefix).keys() {
            k?;
            n += 1;
        }
        Ok(n)
    }

    fn hook_endpoint_list(&self, shop: &str) -> Result<Vec<Endpoint>, StoreError> {
        let key = k::endpoints(shop);
        match self.t.webhooks.get(&key)? {
            None => Ok(Vec::new()),
            Some(v) => decode_endpoints(&key, &v),
        }
    }
}

#[cfg(test)]
mod tests;
