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

use super::{Store, StoreError, Tx, TxResult, abort, blocking, decode, encode, keys};
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

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookClaim {
    /// The delivery is the caller's to send.
    Claimed {
        /// The delivery, as claimed.
        delivery: Box<Delivery>,
        /// The endpoint's URL.
        url: String,
        /// The secrets that sign it now.
        secrets: Vec<String>,
        /// Its place among the parcel's events to this endpoint (0, 1, 2, …).
        sequence: u64,
    },
    /// Not pending any more, or gone.
    Skipped,
    /// Its endpoint is disabled: set aside until the shop enables it.
    Parked,
}

/// What recording an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookFinished {
    /// The delivery's state now (`None`: delivered and removed, or gone).
    pub state: Option<HookState>,
    /// The endpoint was disabled by this failure.
    pub disabled: bool,
}

/// An endpoint with how much waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Deliveries not yet delivered or dead.
    pub queued: usize,
    /// Dead letters.
    pub dead: usize,
}

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadHook {
    /// The parcel's track.
    pub track: String,
    /// The delivery.
    pub delivery: Delivery,
}

/// Why an endpoint could not be added or changed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// No such shop.
    #[error("shop {0} not found")]
    NoShop(String),
    /// No such endpoint.
    #[error("webhook {0} not found")]
    NotFound(String),
    /// The shop has as many as it may.
    #[error("the shop has {0} webhooks, as many as webhooks.max_per_shop allows; delete one first")]
    TooMany(usize),
    /// The URL is registered already.
    #[error("a webhook with this URL exists already: {0}")]
    Exists(String),
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
            self.hooked.set(true);
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

    /// Sets (or clears) a parcel's stuck timer.
    fn set_stuck_timer(&self, shop: &str, track: &str, at: Option<Timestamp>) -> TxResult<()> {
        let ukey = k::silence(shop, track);
        let old = self.webhooks.get(&ukey)?.and_then(|v| keys::read_time(&v));
        if old == at {
            return Ok(());
        }
        if let Some(o) = old {
            self.webhooks.remove(k::timer(o, shop, track))?;
        }
        match at {
            Some(at) => {
                self.webhooks.insert(k::timer(at, shop, track), &[])?;
                self.webhooks.insert(ukey, &keys::time(at))?;
            }
            None => {
                self.webhooks.remove(ukey)?;
            }
        }
        Ok(())
    }

    /// Keeps the parcel's stuck timer at its last activity + `stuck_after`, when one of the
    /// shop's endpoints wants `parcel.stuck`; none once it finished.
    fn rearm_stuck(&self, endpoints: &[Endpoint], p: &Parcel, rules: &Rules) -> TxResult<()> {
        let wanted = endpoints.iter().any(|e| e.wants(EventType::Stuck));
        let at = (wanted && !p.status.is_final())
            .then(|| p.last_activity().checked_add(rules.stuck_after).ok())
            .flatten();
        if at.is_none() && !wanted {
            // Nothing was armed for a shop that never wanted it: skip the read.
            return Ok(());
        }
        self.set_stuck_timer(p.shop.as_str(), p.track.as_str(), at)
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
        self.emit(&new.key.shop, at, || {
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
        self.hook_bell.subscribe()
    }

    /// The async face of the webhook store.
    pub fn hooks(&self) -> Hooks {
        Hooks(self.clone())
    }

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

    /// Keys of deliveries due at or before `now` (lane heads and replays), oldest first.
    pub(crate) fn hook_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let end = k::timed(b'P', now + jiff::SignedDuration::from_millis(1), b"");
        let mut out = Vec::new();
        for kv in self.t.webhooks.range(b"P".to_vec()..end).keys() {
            let key = kv?;
            if let Some(dkey) = key.get(9..) {
                out.push(dkey.to_vec());
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn first_time(&self, tag: u8) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .t
            .webhooks
            .scan_prefix([tag])
            .keys()
            .next()
            .transpose()?
            .and_then(|k| k.get(1..).and_then(keys::read_time)))
    }

    /// When the next delivery or stuck timer comes due.
    pub(crate) fn next_hook_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let a = self.first_time(b'P')?;
        let b = self.first_time(b'T')?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Takes a due delivery for sending (see [`HookClaim`]).
    pub(crate) fn hook_claim(&self, dkey: &[u8], now: Timestamp) -> Result<HookClaim, StoreError> {
        let Some((shop, ep_id, _, sequence)) = k::read_delivery(dkey) else {
            return Ok(HookClaim::Skipped);
        };
        self.tx(|t| {
            let Some(old) = t.get_delivery(dkey)? else {
                return Ok(HookClaim::Skipped);
            };
            if old.state != HookState::Pending || old.parked {
                return Ok(HookClaim::Skipped);
            }
            let endpoints = t.hook_endpoints(&shop)?;
            let Some(ep) = endpoints.iter().find(|e| e.id == ep_id) else {
                // The endpoint was deleted: what was queued for it goes with it.
                t.put_delivery(dkey, Some(&old), None)?;
                return Ok(HookClaim::Skipped);
            };
            let mut d = old.clone();
            if ep.is_disabled() {
                d.parked = true;
                t.put_delivery(dkey, Some(&old), Some(&d))?;
                return Ok(HookClaim::Parked);
            }
            if !d.claim(now) {
                return Ok(HookClaim::Skipped);
            }
            t.put_delivery(dkey, Some(&old), Some(&d))?;
            Ok(HookClaim::Claimed {
                delivery: Box::new(d),
                url: ep.url.clone(),
                secrets: ep
                    .signing_secrets(now)
                    .into_iter()
                    .map(String::from)
                    .collect(),
                sequence,
            })
        })
    }

    /// Records how an attempt ended: delivered (removed, the lane moves on, the endpoint is
    /// healthy), or failed (retried later or dead; an endpoint failing for `disable_after` is
    /// disabled and its deliveries wait).
    pub(crate) fn hook_finish(
        &self,
        dkey: &[u8],
        attempt: &Attempt,
        now: Timestamp,
        retry: &HookRetry,
        disable_after: Duration,
        random: u64,
    ) -> Result<HookFinished, StoreError> {
        let Some((shop, ep_id, track, seq)) = k::read_delivery(dkey) else {
            return Ok(HookFinished {
                state: None,
                disabled: false,
            });
        };
        self.tx(|t| {
            let gone = HookFinished {
                state: None,
                disabled: false,
            };
            let Some(old) = t.get_delivery(dkey)? else {
                return Ok(gone);
            };
            if old.state != HookState::Sending {
                return Ok(HookFinished {
                    state: Some(old.state),
                    disabled: false,
                });
            }
            let mut endpoints = t.hook_endpoints(&shop)?;
            let Some(i) = endpoints.iter().position(|e| e.id == ep_id) else {
                t.put_delivery(dkey, Some(&old), None)?;
                return Ok(gone);
            };
            let mut d = old.clone();
            match attempt {
                Attempt::Delivered { .. } => {
                    t.put_delivery(dkey, Some(&old), None)?;
                    let ep = &mut endpoints[i];
                    if !d.replay {
                        t.advance_lane(&shop, ep, &track, seq, now)?;
                    }
                    if ep.succeeded() {
                        t.put_hook_endpoints(&shop, &endpoints)?;
                    }
                    Ok(gone)
                }
                Attempt::Failed { status, error } => {
                    let disabled = endpoints[i].failed(now, error, disable_after);
                    let state = d.fail(*status, error, now, retry, random);
                    if state == HookState::Pending && endpoints[i].is_disabled() {
                        d.parked = true;
                    }
                    t.put_delivery(dkey, Some(&old), Some(&d))?;
                    if state == HookState::Dead && !d.replay {
                        t.advance_lane(&shop, &endpoints[i], &track, seq, now)?;
                    }
                    t.put_hook_endpoints(&shop, &endpoints)?;
                    Ok(HookFinished {
                        state: Some(state),
                        disabled,
                    })
                }
            }
        })
    }

    /// Deliveries that were in hand when the daemon stopped go back to the queue, due now, in
    /// doubt (the endpoint may have them: they go again with the same id). Returns how many.
    pub(crate) fn hook_recover(&self, now: Timestamp) -> Result<usize, StoreError> {
        let keys: Vec<Vec<u8>> = self
            .t
            .webhooks
            .scan_prefix(b"S")
            .keys()
            .map(|k| k.map(|k| k.get(9..).unwrap_or_default().to_vec()))
            .collect::<Result<_, _>>()?;
        let mut n = 0;
        for dkey in keys {
            n += usize::from(self.tx(|t| {
                let Some(old) = t.get_delivery(&dkey)? else {
                    return Ok(false);
                };
                let mut d = old.clone();
                if !d.recover(now) {
                    return Ok(false);
                }
                t.put_delivery(&dkey, Some(&old), Some(&d))?;
                Ok(true)
            })?);
        }
        Ok(n)
    }

    /// Stuck timers due at or before `now`: (shop, track, the timer's time).
    pub(crate) fn stuck_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
        let end = k::timer(now + jiff::SignedDuration::from_millis(1), "", "");
        let mut out = Vec::new();
        for kv in self.t.webhooks.range(b"T".to_vec()..end).keys() {
            let key = kv?;
            let at = key.get(1..).and_then(keys::read_time);
            let parcel = key.get(9..).and_then(keys::split_parcel);
            if let (Some(at), Some((shop, track))) = (at, parcel) {
                out.push((shop, track, at));
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Fires a parcel's stuck timer due at `at`: if the parcel has been silent for
    /// `rules.stuck_after` at `now`, `parcel.stuck` is queued (once per silence: its id names
    /// the silence's start) and the timer goes until the parcel moves again; if it moved
    /// meanwhile, the timer moves to its new silence. Returns whether the event was queued.
    pub(crate) fn fire_stuck(
        &self,
        shop: &str,
        track: &str,
        at: Timestamp,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<bool, StoreError> {
        self.tx(|t| {
            let ukey = k::silence(shop, track);
            let armed = t.webhooks.get(&ukey)?.and_then(|v| keys::read_time(&v));
            if armed != Some(at) {
                // A stray timer: the parcel's own is what counts.
                t.webhooks.remove(k::timer(at, shop, track))?;
                return Ok(false);
            }
            let parcel = t.get_parcel(shop, track)?;
            let endpoints = t.hook_endpoints(shop)?;
            let wanted = endpoints.iter().any(|e| e.wants(EventType::Stuck));
            let Some(p) = parcel.filter(|p| wanted && !p.status.is_final()) else {
                t.set_stuck_timer(shop, track, None)?;
                return Ok(false);
            };
            let due = p.last_activity().checked_add(rules.stuck_after).ok();
            match due {
                Some(due) if due > now => {
                    t.set_stuck_timer(shop, track, Some(due))?;
                    Ok(false)
                }
                _ => {
                    t.set_stuck_timer(shop, track, None)?;
                    t.emit(shop, now, || vec![event::stuck(&p, rules.stuck_after, now)])?;
                    Ok(true)
                }
            }
        })
    }

    /// Arms the stuck timers of every live parcel of the shops (or one shop) with an endpoint
    /// that wants `parcel.stuck`, at its last activity + `stuck_after`: for parcels handed
    /// over before such an endpoint existed, and after `stuck_after` changed. A few dozen
    /// parcels a transaction. Returns how many timers were set.
    pub(crate) fn arm_stuck_timers(
        &self,
        shop: Option<&str>,
        rules: &Rules,
    ) -> Result<usize, StoreError> {
        let mut shops = Vec::new();
        let prefix = match shop {
            Some(s) => k::endpoints(s),
            None => b"E".to_vec(),
        };
        for kv in self.t.webhooks.scan_prefix(&prefix) {
            let (key, v) = kv?;
            let name = String::from_utf8_lossy(&key[1..]).into_owned();
            if shop.is_some_and(|s| s != name) {
                continue;
            }
            if decode_endpoints(&key, &v)?
                .iter()
                .any(|e| e.wants(EventType::Stuck))
            {
                shops.push(name);
            }
        }
        let mut n = 0;
        for s in shops {
            let mut live = Vec::new();
            self.for_each_parcel(Some(&s), |p| {
                if !p.status.is_final() {
                    live.push(p.track.as_str().to_string());
                }
                true
            })?;
            for chunk in live.chunks(super::TX_CHUNK) {
                n += self.tx(|t| {
                    let endpoints = t.hook_endpoints(&s)?;
                    let mut n = 0;
                    for track in chunk {
                        if let Some(p) = t.get_parcel(&s, track)? {
                            t.rearm_stuck(&endpoints, &p, rules)?;
                            n += 1;
                        }
                    }
                    Ok(n)
                })?;
            }
        }
        Ok(n)
    }

    /// Arms the stuck timers again when `rules.stuck_after` is not what they were armed with
    /// (remembered in the tree). Returns how many were set, if any were.
    pub(crate) fn rearm_stuck_if_changed(
        &self,
        rules: &Rules,
    ) -> Result<Option<usize>, StoreError> {
        let secs = rules.stuck_after.as_secs().to_be_bytes();
        if self.t.webhooks.get(k::STUCK_AFTER)?.as_deref() == Some(&secs[..]) {
            return Ok(None);
        }
        let n = self.arm_stuck_timers(None, rules)?;
        self.t.webhooks.insert(k::STUCK_AFTER, &secs)?;
        Ok(Some(n))
    }

    /// Removes everything of an endpoint that is no longer in its shop's list (deleted, or its
    /// shop erased), a few hundred keys a transaction.
    fn sweep_hook_endpoint(&self, shop: &str, ep: &str) -> Result<(), StoreError> {
        for tag in [b'D', b'I', b'L'] {
            loop {
                let batch: Vec<(sled::IVec, sled::IVec)> = self
                    .t
                    .webhooks
                    .scan_prefix(k::scope(tag, shop, ep))
                    .take(256)
                    .collect::<Result<_, _>>()?;
                if batch.is_empty() {
                    break;
                }
                self.tx(|t| {
                    for (key, v) in &batch {
                        if tag == b'D' {
                            let old = tx_try(decode_delivery(key, v)).ok();
                            t.put_delivery(key, old.as_ref(), None)?;
                        }
                        t.webhooks.remove(key)?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Removes a shop's endpoints and everything queued for them, and its stuck timers (a
    /// shop's erasure).
    pub(super) fn erase_shop_hooks(&self, shop: &str) -> Result<(), StoreError> {
        for ep in self.hook_endpoint_list(shop)? {
            self.tx(|t| t.put_hook_endpoints(shop, &[]))?;
            self.sweep_hook_endpoint(shop, &ep.id)?;
        }
        let silences: Vec<sled::IVec> = self
            .t
            .webhooks
            .scan_prefix(k::silence(shop, ""))
            .keys()
            .collect::<Result<_, _>>()?;
        for key in silences {
            if let Some((s, track)) = key.get(1..).and_then(keys::split_parcel) {
                self.tx(|t| t.set_stuck_timer(&s, &track, None))?;
            }
        }
        Ok(())
    }

    fn endpoint_info(&self, shop: &str, e: Endpoint) -> Result<EndpointInfo, StoreError> {
        let queued = self.hook_scan_count(&k::scope(b'D', shop, &e.id))?;
        let dead = self.hook_scan_count(&k::tagged(b'X', &k::scope(b'D', shop, &e.id)))?;
        Ok(EndpointInfo {
            endpoint: e,
            queued: queued - dead.min(queued),
            dead,
        })
    }

    fn change_endpoint<T>(
        &self,
        shop: &str,
        id: &str,
        f: impl Fn(&mut Endpoint) -> T,
    ) -> Result<(Endpoint, T), HookError> {
        let r = self.tx(|t| {
            let mut list = t.hook_endpoints(shop)?;
            let Some(e) = list.iter_mut().find(|e| e.id == id) else {
                return Ok(None);
            };
            let out = f(e);
            let e = e.clone();
            t.put_hook_endpoints(shop, &list)?;
            Ok(Some((e, out)))
        })?;
        r.ok_or_else(|| HookError::NotFound(id.to_string()))
    }

    /// Keys of an endpoint's deliveries under one queue tag (`X` dead, `Z` parked).
    fn tagged_keys(&self, tag: u8, shop: &str, ep: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = k::tagged(tag, &k::scope(b'D', shop, ep));
        self.t
            .webhooks
            .scan_prefix(&prefix)
            .keys()
            .map(|k| k.map(|k| k[1..].to_vec()).map_err(StoreError::from))
            .collect()
    }

    /// Moves deliveries (by key) with `f`, a few dozen a transaction. Returns how many `f`
    /// changed.
    fn move_deliveries(
        &self,
        dkeys: &[Vec<u8>],
        f: impl Fn(&mut Delivery) -> bool,
    ) -> Result<usize, StoreError> {
        let mut n = 0;
        for chunk in dkeys.chunks(super::TX_CHUNK) {
            n += self.tx(|t| {
                let mut n = 0;
                for dkey in chunk {
                    if let Some(old) = t.get_delivery(dkey)? {
                        let mut d = old.clone();
                        if f(&mut d) {
                            t.put_delivery(dkey, Some(&old), Some(&d))?;
                            n += 1;
                        }
                    }
                }
                Ok(n)
            })?;
        }
        Ok(n)
    }
}

/// The async face of the webhook store: each call runs on the blocking pool.
#[derive(Clone)]
pub struct Hooks(Store);

impl Hooks {
    /// Adds an endpoint to a shop (at most `max` per shop, one per URL). When it wants
    /// `parcel.stuck`, the timers of the shop's live parcels are armed under `rules`.
    pub async fn create(
        &self,
        shop: ShopId,
        endpoint: Endpoint,
        max: usize,
        rules: Rules,
    ) -> Result<Endpoint, HookError> {
        let store = self.0.clone();
        let wants_stuck = endpoint.wants(EventType::Stuck);
        let created = tokio::task::spawn_blocking(move || {
            let shop = shop.as_str();
            let r = store.tx(|t| {
                if t.shop_record(shop)?.is_none() {
                    return Ok(Err(HookError::NoShop(shop.to_string())));
                }
                let mut list = t.hook_endpoints(shop)?;
                if list.len() >= max {
                    return Ok(Err(HookError::TooMany(list.len())));
                }
                if let Some(e) = list.iter().find(|e| e.url == endpoint.url) {
                    return Ok(Err(HookError::Exists(e.id.clone())));
                }
                list.push(endpoint.clone());
                t.put_hook_endpoints(shop, &list)?;
                Ok(Ok(endpoint.clone()))
            })??;
            if wants_stuck {
                store.arm_stuck_timers(Some(shop), &rules)?;
            }
            store.flush()?;
            Ok::<_, HookError>(r)
        })
        .await
        .map_err(|e| StoreError::Sled(sled::Error::ReportableBug(e.to_string())))??;
        Ok(created)
    }

    /// A shop's endpoints with their queues.
    pub async fn list(&self, shop: ShopId) -> Result<Vec<EndpointInfo>, StoreError> {
        let store = self.0.clone();
        blocking(move || {
            let shop = shop.as_str();
            store
                .hook_endpoint_list(shop)?
                .into_iter()
                .map(|e| store.endpoint_info(shop, e))
                .collect()
        })
        .await
    }

    /// One endpoint with its queues.
    pub async fn get(&self, shop: ShopId, id: String) -> Result<EndpointInfo, HookError> {
        let store = self.0.clone();
        blocking(move || {
            let shop = shop.as_str();
            match store
                .hook_endpoint_list(shop)?
                .into_iter()
                .find(|e| e.id == id)
            {
                Some(e) => store.endpoint_info(shop, e).map(Ok),
                None => Ok(Err(HookError::NotFound(id))),
            }
        })
        .await?
    }

    /// Deletes an endpoint and everything queued for it.
    pub async fn delete(&self, shop: ShopId, id: String) -> Result<Endpoint, HookError> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let shop = shop.as_str();
            let removed = store.tx(|t| {
                let mut list = t.hook_endpoints(shop)?;
                let Some(i) = list.iter().position(|e| e.id == id) else {
                    return Ok(None);
                };
                let e = list.remove(i);
                t.put_hook_endpoints(shop, &list)?;
                Ok(Some(e))
            })?;
            let e = removed.ok_or_else(|| HookError::NotFound(id.clone()))?;
            store.sweep_hook_endpoint(shop, &e.id)?;
            store.flush()?;
            Ok::<_, HookError>(e)
        })
        .await
        .map_err(|e| StoreError::Sled(sled::Error::ReportableBug(e.to_string())))?
    }

    /// Gives an endpoint a new secret; the old one keeps signing until `overlap_until`.
    pub async fn rotate(
        &self,
        shop: ShopId,
        id: String,
        secret: String,
        overlap_until: Option<Timestamp>,
    ) -> Result<Endpoint, HookError> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let (e, ()) = store.change_endpoint(shop.as_str(), &id, |e| {
                e.rotate(secret.clone(), overlap_until)
            })?;
            store.flush()?;
            Ok::<_, HookError>(e)
        })
        .await
        .map_err(|e| StoreError::Sled(sled::Error::ReportableBug(e.to_string())))?
    }

    /// Enables a disabled endpoint: what waited for it is due now, with a fresh retry period.
    /// Returns the endpoint and how many deliveries resumed.
    pub async fn enable(
        &self,
        shop: ShopId,
        id: String,
        now: Timestamp,
    ) -> Result<(Endpoint, usize), HookError> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let shop = shop.as_str();
            let (e, _) = store.change_endpoint(shop, &id, Endpoint::enable)?;
            let parked = store.tagged_keys(b'Z', shop, &id)?;
            let n = store.move_deliveries(&parked, |d| {
                let was = d.parked;
                d.resume(now);
                was
            })?;
            store.flush()?;
            Ok::<_, HookError>((e, n))
        })
        .await
        .map_err(|e| StoreError::Sled(sled::Error::ReportableBug(e.to_string())))?
    }

    /// An endpoint's dead letters, at most `limit`.
    pub async fn dead(
        &self,
        shop: ShopId,
        id: String,
        limit: usize,
    ) -> Result<Vec<DeadHook>, HookError> {
        let store = self.0.clone();
        blocking(move || {
            let shop = shop.as_str();
            if !store.hook_endpoint_list(shop)?.iter().any(|e| e.id == id) {
                return Ok(Err(HookError::NotFound(id)));
            }
            let mut out = Vec::new();
            for dkey in store.tagged_keys(b'X', shop, &id)?.into_iter().take(limit) {
                if let (Some(v), Some((_, _, track, _))) =
                    (store.t.webhooks.get(&dkey)?, k::read_delivery(&dkey))
                {
                    out.push(DeadHook {
                        track,
                        delivery: decode_delivery(&dkey, &v)?,
                    });
                }
            }
            Ok(Ok(out))
        })
        .await?
    }

    /// Queues an endpoint's dead letters again. Returns how many.
    pub async fn replay(
        &self,
        shop: ShopId,
        id: String,
        now: Timestamp,
    ) -> Result<usize, HookError> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let shop = shop.as_str();
            if !store.hook_endpoint_list(shop)?.iter().any(|e| e.id == id) {
                return Err(HookError::NotFound(id));
            }
            let dead = store.tagged_keys(b'X', shop, &id)?;
            let n = store.move_deliveries(&dead, |d| d.replay(now))?;
            store.flush()?;
            Ok(n)
        })
        .await
        .map_err(|e| StoreError::Sled(sled::Error::ReportableBug(e.to_string())))?
    }
}

impl Store {
    /// A shop's endpoints that are disabled, failing or hold dead letters (blocking; for the
    /// morning report, built on a blocking thread).
    pub fn hook_troubles(&self, shop: &str) -> Result<Vec<EndpointInfo>, StoreError> {
        let mut out = Vec::new();
        for e in self.hook_endpoint_list(shop)? {
            let i = self.endpoint_info(shop, e)?;
            if i.endpoint.is_disabled() || i.dead > 0 || i.endpoint.failing_since.is_some() {
                out.push(i);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "webhooks_tests.rs"]
mod tests;
