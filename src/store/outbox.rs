//! The durable outbox: notifications waiting to be sent, in hand, sent, dead or cancelled.
//!
//! Senders take due entries with [`SyncStore::claim`], send, and record the outcome with
//! [`SyncStore::finish`]. Every transition moves the entry's queue key in the same transaction, so
//! the queues always agree with the entries.
//!
//! A customer message that is still to go does not keep its own copy of what it says: its
//! facts are the parcel's and the shop's, rebuilt from them whenever the entry is read (a claim
//! rebuilds them anyway, to send what is true now). A message that is finished (sent, dead,
//! cancelled) and a message to the shop keep theirs: what was said, or what no parcel gives.
//! Record version 2 says which; version 1 (release 1) always carries them.

use super::keys::{self, Queue};
use super::{
    Store, StoreError, SyncStore, Tx, TxResult, abort, codec, decode, decode_record, printable,
    versions,
};
use crate::domain::notification::{Audience, Channel};
use crate::domain::offices::OfficeEntry;
use crate::domain::outbox::{
    self, DeliveryState, MessageFacts, OutboxEntry, OutboxKey, stale_reason,
};
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::shop::{Language, Shop};
use jiff::Timestamp;

/// Whether an entry's record keeps its own facts: a finished message keeps what it said, and a
/// message to the shop has no parcel to rebuild them from. A customer message still to go
/// takes them from its parcel and shop when read.
fn keeps_facts(e: &OutboxEntry) -> bool {
    e.state.is_final() || e.key.kind.audience() != Audience::Customer
}

/// Facts that stand in for those a record left out, in the record itself (a few bytes).
fn blank_facts() -> MessageFacts {
    MessageFacts::minimal("", Language::default(), "", "")
}

/// Encodes an entry as record version 2: whether it keeps its facts, and the entry (with blank
/// facts when it does not).
pub(super) fn encode_entry(key: &[u8], e: &OutboxEntry) -> Result<Vec<u8>, StoreError> {
    let encoded = if keeps_facts(e) {
        codec::encode(versions::OUTBOX, &(true, e))
    } else {
        let mut bare = e.clone();
        bare.facts = blank_facts();
        codec::encode(versions::OUTBOX, &(false, &bare))
    };
    encoded.map_err(|source| StoreError::Codec {
        tree: "outbox",
        key: printable(key),
        source,
    })
}

/// Decodes an entry of record version 2 or 1; the flag says its facts are to be rebuilt.
pub(super) fn decode_entry(key: &[u8], bytes: &[u8]) -> Result<(OutboxEntry, bool), StoreError> {
    let read = || -> Result<(OutboxEntry, bool), codec::CodecError> {
        let (version, body) = codec::split(bytes)?;
        match version {
            versions::OUTBOX => {
                let (kept, e): (bool, OutboxEntry) = codec::body_of(body)?;
                Ok((e, !kept))
            }
            1 => Ok((super::legacy::outbox_entry_v1(body)?, false)),
            found => Err(codec::CodecError::Version {
                found,
                expected: versions::OUTBOX,
            }),
        }
    };
    read().map_err(|source| StoreError::Codec {
        tree: "outbox",
        key: printable(key),
        source,
    })
}

/// The facts of an entry whose record left them out: the parcel's (its office completed from
/// the directory) and the shop's now; only the shop's and the track when the parcel is gone.
fn rebuilt_facts(
    key: &OutboxKey,
    parcel: Option<Parcel>,
    shop: Option<Shop>,
    office: impl Fn(&str) -> Result<Option<OfficeEntry>, StoreError>,
) -> Result<MessageFacts, StoreError> {
    let parcel = parcel.filter(|p| p.id == key.parcel_id);
    Ok(match (parcel, shop) {
        (Some(mut p), Some(shop)) => {
            if let Some(a) = p.arrival.as_mut()
                && let Some(index) = a.office.index.clone()
                && (a.office.address.is_none() || a.office.hours.is_none())
                && let Some(entry) = office(&index)?
            {
                entry.complete(&mut a.office);
            }
            outbox::facts(&p, &shop)
        }
        (_, shop) => MessageFacts::minimal(
            shop.as_ref().map_or("", |s| s.name.as_str()),
            shop.as_ref().map_or_else(Language::default, |s| s.language),
            key.track.as_str(),
            "Europe/Moscow",
        ),
    })
}

/// Counts of one channel's queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxStats {
    /// Waiting (including those held for the send window).
    pub pending: usize,
    /// In hand.
    pub sending: usize,
    /// Given up.
    pub dead: usize,
}

/// A change to an outbox entry, as a receipt makes it.
pub type Update = Box<dyn Fn(&mut OutboxEntry) + Send>;

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The entry is now the caller's to send.
    Claimed(Box<OutboxEntry>),
    /// Someone else has it, or it is already sent, or it is gone.
    Skipped,
    /// It was cancelled because it no longer makes sense (the reason is on the entry).
    Cancelled(&'static str),
    /// It is due, but the send window is closed in the recipient's time zone: it waits until
    /// then.
    Held(Timestamp),
}

/// Why a customer message is withdrawn when its recipient asked its shop for no more (STOP).
pub(super) const STOPPED: &str = "the recipient asked for no more messages";

impl Tx<'_> {
    /// See [`SyncStore::claim`].
    fn claim(
        &self,
        key: &OutboxKey,
        now: Timestamp,
        hold: &impl Fn(&OutboxEntry) -> Option<Timestamp>,
        route: &str,
    ) -> TxResult<Claim> {
        let okey = keys::outbox(key);
        // Its facts are rebuilt below (refreshed), or filled only where that does not happen.
        let Some((old, mut bare)) = self.get_entry_bare(&okey)? else {
            return Ok(Claim::Skipped);
        };
        let mut e = old.clone();
        let parcel = self.get_parcel(key.shop.as_str(), key.track.as_str())?;
        let mut reason = match &parcel {
            None => Some("the parcel was deleted"),
            Some(p) if p.id != key.parcel_id => Some("the parcel was deleted"),
            Some(p) => stale_reason(key.kind, key.channel, p),
        };
        // What goes out is what is true now: the current contact and facts (a corrected
        // phone, an extended deadline), whenever the message was queued.
        if let (None, Some(p), false) = (reason, &parcel, e.state.is_final()) {
            let mut p = p.clone();
            if let Some(a) = p.arrival.as_mut() {
                self.complete_office(&mut a.office)?;
            }
            if let Some(shop) = self.shop_record(key.shop.as_str())? {
                reason = outbox::refresh(&mut e, &p, &shop).err();
                bare = false;
            }
        }
        if bare {
            self.fill_facts(&mut e)?;
        }
        let reason = match reason {
            None if key.kind.audience() == Audience::Customer
                && self.opted_out(key.shop.as_str(), key.channel, &e.recipient)? =>
            {
                Some(STOPPED)
            }
            r => r,
        };
        if let Some(reason) = reason {
            if e.cancel(reason) {
                self.put_entry(Some(&old), &e)?;
                return Ok(Claim::Cancelled(reason));
            }
            return Ok(Claim::Skipped);
        }
        if e.state != crate::domain::outbox::DeliveryState::Pending {
            return Ok(Claim::Skipped);
        }
        if let Some(until) = hold(&e) {
            e.next_attempt_at = until;
            self.put_entry(Some(&old), &e)?;
            return Ok(Claim::Held(until));
        }
        if !e.claim(now) {
            return Ok(Claim::Skipped);
        }
        e.provider = Some(route.to_string());
        self.put_entry(Some(&old), &e)?;
        Ok(Claim::Claimed(Box::new(e)))
    }

    /// See [`SyncStore::finish`].
    fn finish(
        &self,
        key: &OutboxKey,
        update: &impl Fn(&mut OutboxEntry),
    ) -> TxResult<Option<OutboxEntry>> {
        let okey = keys::outbox(key);
        let Some((old, bare)) = self.get_entry_bare(&okey)? else {
            return Ok(None);
        };
        let mut e = old.clone();
        update(&mut e);
        // A finished message keeps what it said: the facts as they are now.
        if bare && keeps_facts(&e) {
            self.fill_facts(&mut e)?;
        }
        self.put_entry(Some(&old), &e)?;
        Ok(Some(e))
    }

    pub(super) fn get_entry(&self, key: &[u8]) -> TxResult<Option<OutboxEntry>> {
        let Some((mut e, bare)) = self.get_entry_bare(key)? else {
            return Ok(None);
        };
        if bare {
            self.fill_facts(&mut e)?;
        }
        Ok(Some(e))
    }

    /// An entry as stored; the flag says its facts are blank, to be filled by
    /// [`Tx::fill_facts`] if the caller needs them.
    fn get_entry_bare(&self, key: &[u8]) -> TxResult<Option<(OutboxEntry, bool)>> {
        let Some(v) = self.outbox.get(key)? else {
            return Ok(None);
        };
        match decode_entry(key, &v) {
            Ok(d) => Ok(Some(d)),
            Err(e) => abort(e),
        }
    }

    /// Rebuilds the facts a record left out (see the module's documentation).
    fn fill_facts(&self, e: &mut OutboxEntry) -> TxResult<()> {
        let parcel = self.get_parcel(e.key.shop.as_str(), e.key.track.as_str())?;
        let shop = self.shop_record(e.key.shop.as_str())?;
        let office = |index: &str| -> Result<Option<OfficeEntry>, StoreError> {
            match self.offices.get(index.as_bytes()) {
                Ok(None) => Ok(None),
                Ok(Some(v)) => decode("offices", versions::OFFICE, index.as_bytes(), &v).map(Some),
                Err(e) => Err(StoreError::Sled(unabortable(e))),
            }
        };
        e.facts = match rebuilt_facts(&e.key, parcel, shop, office) {
            Ok(f) => f,
            Err(err) => return abort(err),
        };
        Ok(())
    }

    /// Writes an entry and moves its queue and recipient-index keys from where `old` had them.
    pub(super) fn put_entry(&self, old: Option<&OutboxEntry>, new: &OutboxEntry) -> TxResult<()> {
        let key = keys::outbox(&new.key);
        let value = match encode_entry(&key, new) {
            Ok(v) => v,
            Err(e) => return abort(e),
        };
        let old_q = old.and_then(keys::queue);
        let new_q = keys::queue(new);
        if new.state == DeliveryState::Pending
            && old.is_none_or(|o| o.state != DeliveryState::Pending)
        {
            self.rings.queued.set(true);
        }
        if old_q != new_q {
            if let Some(q) = old_q {
                self.queue.remove(q)?;
            }
            if let Some(q) = new_q {
                self.queue.insert(q, &[])?;
            }
            self.recount(old, Some(new))?;
        }
        if let (Some(provider), Some(id)) = (&new.provider, &new.provider_id) {
            let known = old.is_some_and(|o| {
                o.provider.as_ref() == Some(provider) && o.provider_id.as_ref() == Some(id)
            });
            if !known {
                self.receipts
                    .insert(keys::receipt(provider, id), key.clone())?;
            }
        }
        self.index_recipient(old, Some(new))?;
        self.hook_outbox(old, new)?;
        self.outbox.insert(key, value)?;
        Ok(())
    }

    /// Inserts a new entry unless one with its key exists. Returns whether it was inserted. A
    /// customer message to a recipient who asked its shop for no more (a STOP reply) is
    /// recorded as cancelled.
    pub(super) fn insert_entry_if_absent(&self, entry: &OutboxEntry) -> TxResult<bool> {
        let key = keys::outbox(&entry.key);
        if self.outbox.get(&key)?.is_some() {
            return Ok(false);
        }
        let mut entry = entry.clone();
        if entry.key.kind.audience() == Audience::Customer
            && self.opted_out(entry.key.shop.as_str(), entry.key.channel, &entry.recipient)?
        {
            entry.cancel(STOPPED);
        }
        self.put_entry(None, &entry)?;
        Ok(true)
    }

    /// Withdraws a parcel's unsent messages of these intents, on every channel.
    pub(super) fn withdraw(
        &self,
        parcel: &crate::domain::parcel::Parcel,
        intents: &[crate::domain::notification::Intent],
        reason: &str,
    ) -> TxResult<usize> {
        let mut n = 0;
        for intent in intents {
            for channel in Channel::ALL {
                let key = keys::outbox(&OutboxKey {
                    shop: parcel.shop.clone(),
                    track: parcel.track.clone(),
                    parcel_id: parcel.id,
                    kind: intent.kind,
                    occurrence: intent.occurrence,
                    channel,
                });
                if let Some(old) = self.get_entry(&key)? {
                    let mut e = old.clone();
                    if e.cancel(reason) {
                        self.put_entry(Some(&old), &e)?;
                        n += 1;
                    }
                }
            }
        }
        Ok(n)
    }

    /// Removes an entry with its queue key, its receipt index entry and its recipient-index
    /// keys.
    pub(super) fn remove_entry(&self, key: &[u8]) -> TxResult<()> {
        if let Some(e) = self.get_entry(key)? {
            self.index_recipient(Some(&e), None)?;
            if let Some(q) = keys::queue(&e) {
                self.queue.remove(q)?;
            }
            self.recount(Some(&e), None)?;
            if let (Some(p), Some(id)) = (&e.provider, &e.provider_id) {
                self.receipts.remove(keys::receipt(p, id))?;
            }
        }
        self.outbox.remove(key)?;
        Ok(())
    }
}

/// A transaction's read error as sled's (a conflict cannot happen in a read that completes).
fn unabortable(e: sled::transaction::UnabortableTransactionError) -> sled::Error {
    match e {
        sled::transaction::UnabortableTransactionError::Storage(e) => e,
        sled::transaction::UnabortableTransactionError::Conflict => {
            sled::Error::ReportableBug("a conflict in a transactional read".into())
        }
    }
}

impl SyncStore {
    /// An outbox record as an entry, its facts rebuilt if the record left them out.
    pub(super) fn read_entry(&self, key: &[u8], bytes: &[u8]) -> Result<OutboxEntry, StoreError> {
        let (mut e, rebuild) = decode_entry(key, bytes)?;
        if rebuild {
            let pkey = keys::parcel(e.key.shop.as_str(), e.key.track.as_str());
            let parcel = match self.t.parcels.get(&pkey)? {
                Some(v) => Some(decode_record::<Parcel>(&pkey, &v)?),
                None => None,
            };
            let skey = e.key.shop.as_str().as_bytes();
            let shop = match self.t.shops.get(skey)? {
                Some(v) => Some(decode_record::<Shop>(skey, &v)?),
                None => None,
            };
            let office = |index: &str| -> Result<Option<OfficeEntry>, StoreError> {
                match self.t.offices.get(index.as_bytes())? {
                    None => Ok(None),
                    Some(v) => decode("offices", versions::OFFICE, index.as_bytes(), &v).map(Some),
                }
            };
            e.facts = rebuilt_facts(&e.key, parcel, shop, office)?;
        }
        Ok(e)
    }

    pub(super) fn entries_in(
        &self,
        prefix: Vec<u8>,
        until: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::new();
        for kv in self.t.queue.scan_prefix(&prefix) {
            let (k, _) = kv?;
            let Some((at, okey)) = keys::read_queue(&k) else {
                continue;
            };
            if until.is_some_and(|u| at > u) {
                break;
            }
            if let Some(v) = self.t.outbox.get(okey)? {
                out.push(self.read_entry(okey, &v)?);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Up to `limit` pending entries of a channel due at or before `now`.
    pub fn pending(
        &self,
        channel: Channel,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.entries_in(
            keys::queue_prefix(channel, Queue::Pending),
            Some(now),
            limit,
        )
    }

    /// Entries of a channel that a sender had in hand (after a crash: to recover).
    pub fn in_hand(&self, channel: Channel, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.entries_in(keys::queue_prefix(channel, Queue::Sending), None, limit)
    }

    /// Dead letters of a channel, oldest first.
    #[cfg(test)]
    pub fn dead(&self, channel: Channel, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.entries_in(keys::queue_prefix(channel, Queue::Dead), None, limit)
    }

    /// When the channel's next pending entry comes due.
    pub fn next_pending_at(&self, channel: Channel) -> Result<Option<Timestamp>, StoreError> {
        let prefix = keys::queue_prefix(channel, Queue::Pending);
        Ok(self
            .t
            .queue
            .scan_prefix(&prefix)
            .next()
            .transpose()?
            .and_then(|(k, _)| keys::read_queue(&k).map(|(at, _)| at)))
    }

    /// Every outbox entry of a parcel.
    pub fn parcel_entries(&self, parcel: &ParcelKey) -> Result<Vec<OutboxEntry>, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        self.t
            .outbox
            .scan_prefix(keys::outbox_prefix(shop, track))
            .map(|kv| {
                let (k, v) = kv?;
                self.read_entry(&k, &v)
            })
            .collect()
    }

    /// Takes a pending entry for sending, unless the parcel moved on or the recipient opted out
    /// (then it is cancelled), it is not pending any more, or `hold` says it must wait (the send
    /// window is closed for the recipient).
    /// `route` (the gateway it goes through) is recorded on the claimed entry, so that after a
    /// crash the same gateway is asked whether it has it. (The senders claim a wave at a time,
    /// [`claim_many`](Self::claim_many).)
    #[cfg(test)]
    pub fn claim(
        &self,
        key: &OutboxKey,
        now: Timestamp,
        hold: impl Fn(&OutboxEntry) -> Option<Timestamp>,
        route: &str,
    ) -> Result<Claim, StoreError> {
        self.tx(|t| t.claim(key, now, &hold, route))
    }

    /// [`claim`](Self::claim) for many entries (each with its route) in one transaction: a
    /// wave of a sender's messages costs one commit instead of one each.
    pub fn claim_many(
        &self,
        wave: &[(OutboxKey, &str)],
        now: Timestamp,
        hold: impl Fn(&OutboxEntry) -> Option<Timestamp>,
    ) -> Result<Vec<Claim>, StoreError> {
        self.tx(|t| {
            wave.iter()
                .map(|(key, route)| t.claim(key, now, &hold, route))
                .collect()
        })
    }

    /// Moves a pending entry's next attempt to `until` without using an attempt (the send window
    /// is closed for its recipient, or its gateway rests). Returns whether it was pending.
    pub fn defer(&self, key: &OutboxKey, until: Timestamp) -> Result<bool, StoreError> {
        let okey = keys::outbox(key);
        self.tx(|t| {
            let Some((old, _)) = t.get_entry_bare(&okey)? else {
                return Ok(false);
            };
            if old.state != crate::domain::outbox::DeliveryState::Pending {
                return Ok(false);
            }
            let mut e = old.clone();
            e.next_attempt_at = until;
            t.put_entry(Some(&old), &e)?;
            Ok(true)
        })
    }

    /// Records what happened to a claimed entry: `update` changes it (succeed, fail, recover).
    /// Does nothing if the entry was deleted meanwhile. Returns the entry as stored (its facts
    /// blank while it is still to go: the record keeps none then).
    pub fn finish(
        &self,
        key: &OutboxKey,
        update: impl Fn(&mut OutboxEntry),
    ) -> Result<Option<OutboxEntry>, StoreError> {
        self.tx(|t| t.finish(key, &update))
    }

    /// [`finish`](Self::finish) for many entries in one transaction (the receipts that reach
    /// the group commit together).
    pub fn finish_many(
        &self,
        updates: &[(OutboxKey, Update)],
    ) -> Result<Vec<Option<OutboxEntry>>, StoreError> {
        self.tx(|t| {
            updates
                .iter()
                .map(|(key, update)| t.finish(key, update))
                .collect()
        })
    }

    /// Withdraws every unsent message of a parcel on some channels (unsubscribe).
    #[cfg(test)]
    pub fn cancel_pending(
        &self,
        parcel: &ParcelKey,
        channels: &[Channel],
        reason: &str,
    ) -> Result<usize, StoreError> {
        let entries = self.parcel_entries(parcel)?;
        let mut n = 0;
        for e in entries
            .iter()
            .filter(|e| channels.contains(&e.key.channel) && !e.state.is_final())
        {
            if let Some(done) = self.finish(&e.key, |x| {
                x.cancel(reason);
            })? {
                n += usize::from(done.state == crate::domain::outbox::DeliveryState::Cancelled);
            }
        }
        Ok(n)
    }
}

impl Store {
    /// Up to `limit` pending entries of a channel due at or before `now`.
    pub async fn pending(
        &self,
        channel: Channel,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.run(move |s| s.pending(channel, now, limit)).await
    }

    /// Entries of a channel that a sender had in hand (after a crash: to recover).
    pub async fn in_hand(
        &self,
        channel: Channel,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.run(move |s| s.in_hand(channel, limit)).await
    }

    /// When the channel's next pending entry comes due.
    pub async fn next_pending_at(&self, channel: Channel) -> Result<Option<Timestamp>, StoreError> {
        self.run(move |s| s.next_pending_at(channel)).await
    }

    /// Every outbox entry of a parcel.
    pub async fn parcel_entries(&self, parcel: &ParcelKey) -> Result<Vec<OutboxEntry>, StoreError> {
        let parcel = parcel.clone();
        self.run(move |s| s.parcel_entries(&parcel)).await
    }

    /// Moves a pending entry's next attempt to `until` without using an attempt. Returns
    /// whether it was pending.
    pub async fn defer(&self, key: &OutboxKey, until: Timestamp) -> Result<bool, StoreError> {
        let key = key.clone();
        self.run(move |s| s.defer(&key, until)).await
    }

    /// Records what happened to an entry: `update` changes it. Does nothing if the entry was
    /// deleted meanwhile. Returns the entry as stored. Not flushed (claims and receipts that
    /// must be on disk go through the [`Committer`](super::Committer)).
    pub async fn finish(
        &self,
        key: &OutboxKey,
        update: impl Fn(&mut OutboxEntry) + Send + 'static,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let key = key.clone();
        self.run(move |s| s.finish(&key, update)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outbox::{DeliveryState, Failure, RetryPolicy};
    use crate::store::test_support::pk;
    use crate::store::test_support::{arrived_store, t};
    use std::time::Duration;

    #[test]
    fn claim_send_and_retry() {
        let (_d, store) = arrived_store();
        let pending = store.pending(Channel::Sms, t(10), 10).unwrap();
        assert_eq!(pending.len(), 1);
        assert!(store.pending(Channel::Email, t(10), 10).unwrap().is_empty());
        let key = pending[0].key.clone();
        let Claim::Claimed(e) = store.claim(&key, t(11), |_| None, "file").unwrap() else {
            panic!("claim")
        };
        assert_eq!(e.attempts, 1);
        assert_eq!(
            store.claim(&key, t(11), |_| None, "file").unwrap(),
            Claim::Skipped
        );
        assert!(store.pending(Channel::Sms, t(11), 10).unwrap().is_empty());
        assert_eq!(store.in_hand(Channel::Sms, 10).unwrap().len(), 1);

        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(10),
            cap: Duration::from_secs(10),
        };
        store
            .finish(&key, |e| {
                e.fail(Failure::Transient("503".into()), t(12), &policy, 0)
            })
            .unwrap();
        assert!(
            store.pending(Channel::Sms, t(12), 10).unwrap().is_empty(),
            "backing off"
        );
        let next = store.next_pending_at(Channel::Sms).unwrap().unwrap();
        assert!(next > t(12));
        assert_eq!(store.pending(Channel::Sms, next, 10).unwrap().len(), 1);
        let Claim::Claimed(_) = store.claim(&key, next, |_| None, "file").unwrap() else {
            panic!("reclaim")
        };
        store
            .finish(&key, |e| {
                e.succeed(
                    crate::domain::outbox::Acceptance {
                        provider: "smsru".into(),
                        provider_id: Some("prov-1".into()),
                        ..Default::default()
                    },
                    next,
                )
            })
            .unwrap();
        let stats = store.outbox_stats(Channel::Sms).unwrap();
        assert_eq!(stats, OutboxStats::default());
        let all = store
            .parcel_entries(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap();
        assert_eq!(all[0].state, DeliveryState::Sent);
        assert_eq!(all[0].provider_id.as_deref(), Some("prov-1"));
    }

    #[test]
    fn deleted_and_unsubscribed_parcels_cancel_their_messages() {
        let (_d, store) = arrived_store();
        let key = store.pending(Channel::Sms, t(10), 10).unwrap()[0]
            .key
            .clone();
        let n = store
            .cancel_pending(
                &pk("acme", "SANDBOX-ARRIVED-1"),
                &[Channel::Sms],
                "unsubscribed",
            )
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            store.claim(&key, t(11), |_| None, "file").unwrap(),
            Claim::Skipped
        );

        let (_d2, store) = arrived_store();
        let key = store.pending(Channel::Sms, t(10), 10).unwrap()[0]
            .key
            .clone();
        store
            .delete_parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap();
        assert!(store.pending(Channel::Sms, t(10), 10).unwrap().is_empty());
        assert_eq!(
            store.claim(&key, t(11), |_| None, "file").unwrap(),
            Claim::Skipped
        );
    }

    #[test]
    fn dead_letters_are_listed() {
        let (_d, store) = arrived_store();
        let key = store.pending(Channel::Sms, t(10), 10).unwrap()[0]
            .key
            .clone();
        store.claim(&key, t(11), |_| None, "file").unwrap();
        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(1),
        };
        store
            .finish(&key, |e| {
                e.fail(
                    Failure::Permanent("invalid number".into()),
                    t(12),
                    &policy,
                    0,
                )
            })
            .unwrap();
        let dead = store.dead(Channel::Sms, 10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].last_error.as_deref(), Some("invalid number"));
        assert_eq!(store.outbox_stats(Channel::Sms).unwrap().dead, 1);
    }

    #[test]
    fn a_message_still_to_go_keeps_no_facts_and_reads_the_parcels() {
        let (_d, store) = arrived_store();
        let key = store.pending(Channel::Sms, t(10), 10).unwrap()[0]
            .key
            .clone();
        let okey = keys::outbox(&key);
        let raw = store.t.outbox.get(&okey).unwrap().unwrap();
        let (bare, rebuild) = decode_entry(&okey, &raw).unwrap();
        assert!(rebuild);
        assert_eq!(bare.facts, blank_facts());
        let parcel = store.parcel(&key.parcel()).unwrap().unwrap();
        let shop = store.shop(&key.shop).unwrap().unwrap();
        let read = store
            .parcel_entries(&key.parcel())
            .unwrap()
            .into_iter()
            .find(|e| e.key == key)
            .unwrap();
        assert_eq!(read.facts, outbox::facts(&parcel, &shop));
        // Release 1 wrote the same entry with its facts and without the last field, `outlook`:
        // larger, and still read as it was.
        assert_eq!(read.outlook, Default::default());
        let tail = codec::encode(0, &read.outlook).unwrap().len() - 1;
        let mut full = codec::encode(1, &read).unwrap();
        full.truncate(full.len() - tail);
        assert!(
            raw.len() < full.len(),
            "{} against {}",
            raw.len(),
            full.len()
        );
        store.t.outbox.insert(&okey, full).unwrap();
        let again = store.t.outbox.get(&okey).unwrap().unwrap();
        let (old, rebuild) = decode_entry(&okey, &again).unwrap();
        assert!(!rebuild);
        assert_eq!(old, read);
    }

    #[test]
    fn a_finished_message_keeps_what_it_said() {
        let (_d, store) = arrived_store();
        let key = store.pending(Channel::Sms, t(10), 10).unwrap()[0]
            .key
            .clone();
        let Claim::Claimed(claimed) = store.claim(&key, t(11), |_| None, "file").unwrap() else {
            panic!("claim")
        };
        let okey = keys::outbox(&key);
        let in_hand = store.t.outbox.get(&okey).unwrap().unwrap();
        assert!(
            decode_entry(&okey, &in_hand).unwrap().1,
            "in hand: no facts kept"
        );
        crate::store::test_support::sent_by_file(&store, &key, t(12));
        let sent = store.t.outbox.get(&okey).unwrap().unwrap();
        let (stored, rebuild) = decode_entry(&okey, &sent).unwrap();
        assert!(!rebuild);
        assert_eq!(stored.state, DeliveryState::Sent);
        assert_eq!(stored.facts, claimed.facts);
    }
}
