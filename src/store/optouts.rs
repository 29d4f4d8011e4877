//! Opt-outs: a parcel's customer unsubscribed from a channel (link, one-click, the shop), or a
//! recipient replied STOP to a shop's SMS. Recording one and withdrawing every unsent message it
//! concerns happen in one transaction; future messages are never created (the parcel's
//! `unsubscribed` list) or created already cancelled (the shop's recipient opt-outs).
//!
//! Stores written before opt-outs were per shop kept a STOP as an opt-out from every shop;
//! [`SyncStore::migrate_optouts_per_shop`] gives each to the shop it answered, once.

use super::{Store, StoreError, SyncStore, Tx, TxResult, abort, decode, encode, keys, versions};
use crate::domain::notification::{Audience, Channel};
use crate::domain::optout::{OptOut, OptOutScope, OptOutSource};
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::shop::ShopId;
use jiff::Timestamp;

/// What an opt-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptOutOutcome {
    /// Unsent messages withdrawn.
    pub cancelled: usize,
    /// Channels newly opted out (0: it was already done).
    pub new_channels: usize,
}

/// The marker, in the `meta` tree, of a store whose opt-outs are per shop.
pub(super) const MIGRATED: &[u8] = b"migrated/optouts-per-shop";

fn reason(source: OptOutSource) -> &'static str {
    match source {
        OptOutSource::Link | OptOutSource::OneClick => "the customer unsubscribed",
        OptOutSource::SmsStop => super::outbox::STOPPED,
        OptOutSource::Shop => "the shop unsubscribed the customer",
    }
}

impl Tx<'_> {
    /// Whether a recipient asked a shop for nothing more on a channel.
    pub(super) fn opted_out(
        &self,
        shop: &str,
        channel: Channel,
        recipient: &str,
    ) -> TxResult<bool> {
        Ok(self
            .optouts
            .get(keys::optout_shop(shop, channel, recipient))?
            .is_some())
    }

    /// Forgets a deleted parcel's opt-out records.
    pub(super) fn remove_parcel_optouts(&self, shop: &str, track: &str) -> TxResult<()> {
        for c in Channel::ALL {
            self.optouts.remove(keys::optout_parcel(shop, track, c))?;
        }
        Ok(())
    }

    fn put_optout(&self, key: Vec<u8>, record: &OptOut) -> TxResult<()> {
        match encode("optouts", versions::OPTOUT, &key, record) {
            Ok(v) => {
                self.optouts.insert(key, v)?;
                Ok(())
            }
            Err(e) => abort(e),
        }
    }
}

impl SyncStore {
    /// Opts a parcel's customer out of `channels`: recorded on the parcel and in the opt-out
    /// records, and every unsent message of those channels withdrawn. `parcel_id`, when given,
    /// must match (a link for a parcel that was deleted and handed over again does nothing).
    /// Returns `None` if there is no such parcel.
    pub fn opt_out_parcel(
        &self,
        parcel: &ParcelKey,
        parcel_id: Option<u64>,
        channels: &[Channel],
        source: OptOutSource,
        now: Timestamp,
    ) -> Result<Option<OptOutOutcome>, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        let entry_keys: Vec<sled::IVec> = self
            .t
            .outbox
            .scan_prefix(keys::outbox_prefix(shop, track))
            .keys()
            .collect::<Result<_, _>>()?;
        self.tx(|t| {
            let Some(old) = t.get_parcel(shop, track)? else {
                return Ok(None);
            };
            if parcel_id.is_some_and(|id| id != old.id) {
                return Ok(None);
            }
            let mut out = OptOutOutcome::default();
            let mut p = old.clone();
            for &c in channels {
                if !p.unsubscribed.contains(&c) {
                    p.unsubscribed.push(c);
                    out.new_channels += 1;
                    t.put_optout(
                        keys::optout_parcel(shop, track, c),
                        &OptOut {
                            channel: c,
                            source,
                            at: now,
                        },
                    )?;
                }
            }
            if out.new_channels > 0 {
                p.updated_at = now;
                t.put_parcel(Some(&old), &p)?;
            }
            for k in &entry_keys {
                let Some(e) = t.get_entry(k)? else { continue };
                if e.key.parcel_id != old.id
                    || !channels.contains(&e.key.channel)
                    || e.key.kind.audience() != Audience::Customer
                {
                    continue;
                }
                let mut x = e.clone();
                if x.cancel(reason(source)) {
                    t.put_entry(Some(&e), &x)?;
                    out.cancelled += 1;
                }
            }
            Ok(Some(out))
        })
    }

    /// Records that a recipient wants nothing more from one shop on a channel (a STOP reply to
    /// that shop's message) and withdraws the shop's unsent customer messages to them, in one
    /// transaction. Other shops keep writing to the recipient. A message the shop queues for
    /// them while this runs is cancelled when a sender takes it ([`SyncStore::claim`] checks).
    pub fn opt_out_shop_recipient(
        &self,
        shop: &ShopId,
        channel: Channel,
        recipient: &str,
        source: OptOutSource,
        now: Timestamp,
    ) -> Result<OptOutOutcome, StoreError> {
        let shop = shop.as_str();
        let entry_keys = self.shop_entries_to(channel, recipient, shop)?;
        let key = keys::optout_shop(shop, channel, recipient);
        self.tx(|t| {
            let mut out = OptOutOutcome::default();
            if t.optouts.get(&key)?.is_none() {
                t.put_optout(
                    key.clone(),
                    &OptOut {
                        channel,
                        source,
                        at: now,
                    },
                )?;
                out.new_channels = 1;
            }
            for k in &entry_keys {
                let Some(e) = t.get_entry(k)? else { continue };
                if e.key.kind.audience() != Audience::Customer {
                    continue;
                }
                let mut x = e.clone();
                if x.cancel(reason(source)) {
                    t.put_entry(Some(&e), &x)?;
                    out.cancelled += 1;
                }
            }
            Ok(out)
        })
    }

    /// A parcel's recorded opt-outs.
    pub fn parcel_optouts(&self, parcel: &ParcelKey) -> Result<Vec<OptOut>, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        let mut out = Vec::new();
        for c in Channel::ALL {
            let k = keys::optout_parcel(shop, track, c);
            if let Some(v) = self.t.optouts.get(&k)? {
                out.push(decode("optouts", versions::OPTOUT, &k, &v)?);
            }
        }
        Ok(out)
    }

    /// Every opt-out that applies to a parcel's customer: the parcel's own, and the shop-wide
    /// ones of its phone (SMS) and e-mail address.
    pub fn customer_optouts(&self, p: &Parcel) -> Result<Vec<(OptOutScope, OptOut)>, StoreError> {
        let shop = p.shop.as_str();
        let mut out: Vec<(OptOutScope, OptOut)> = self
            .parcel_optouts(&p.key())?
            .into_iter()
            .map(|o| (OptOutScope::Parcel, o))
            .collect();
        let contacts = [
            (Channel::Sms, p.customer.phone.as_ref().map(|x| x.as_str())),
            (
                Channel::Email,
                p.customer.email.as_ref().map(|x| x.as_str()),
            ),
        ];
        for (c, recipient) in contacts {
            let Some(r) = recipient else { continue };
            let k = keys::optout_shop(shop, c, r);
            if let Some(v) = self.t.optouts.get(&k)? {
                out.push((
                    OptOutScope::Shop,
                    decode("optouts", versions::OPTOUT, &k, &v)?,
                ));
            }
        }
        Ok(out)
    }

    /// Whether a recipient asked a shop for nothing more on a channel.
    #[cfg(test)]
    pub fn shop_opted_out(
        &self,
        shop: &ShopId,
        channel: Channel,
        recipient: &str,
    ) -> Result<bool, StoreError> {
        let shop = shop.as_str();
        Ok(self
            .t
            .optouts
            .contains_key(keys::optout_shop(shop, channel, recipient))?)
    }

    /// Forgets an erased shop's recipient opt-outs.
    pub(super) fn remove_shop_optouts(&self, shop: &str) -> Result<(), StoreError> {
        for k in self
            .t
            .optouts
            .scan_prefix(keys::optout_shop_prefix(shop))
            .keys()
        {
            self.t.optouts.remove(k?)?;
        }
        Ok(())
    }

    /// Moves a store written before opt-outs were per shop, once (a marker in `meta` says it
    /// ran; a crash midway runs it again, and every step can be repeated):
    ///
    /// 1. builds the recipient index of the outbox ([`super::recipients`]);
    /// 2. gives each opt-out from every shop (`r channel recipient`, left by a STOP) to the
    ///    shop whose message it answered: the shop of the latest message sent to that recipient
    ///    on that channel (every shop that sent one at that same moment); if nothing was ever
    ///    sent there, every shop with a message queued for them; if no shop ever wrote to them,
    ///    the record is dropped with a log line. Each record moves in one transaction.
    pub(super) fn migrate_optouts_per_shop(&self) -> Result<(), StoreError> {
        if self.meta.get(MIGRATED)?.is_some() {
            return Ok(());
        }
        let indexed = self.build_recipient_index()?;
        let legacy: Vec<(sled::IVec, sled::IVec)> = self
            .t
            .optouts
            .scan_prefix([keys::LEGACY_OPTOUT])
            .collect::<Result<_, _>>()?;
        let mut moved = 0;
        for (k, v) in &legacy {
            let record: Option<(Channel, String, OptOut)> = match keys::read_legacy_optout(k) {
                Some((c, r)) => Some((c, r, decode("optouts", versions::OPTOUT, k, v)?)),
                None => None,
            };
            let shops = match &record {
                Some((c, r, _)) => self.shops_that_wrote_to(*c, r)?,
                None => Vec::new(),
            };
            self.tx(|t| {
                if let Some((c, r, o)) = &record {
                    for shop in &shops {
                        let key = keys::optout_shop(shop, *c, r);
                        if t.optouts.get(&key)?.is_none() {
                            t.put_optout(key, o)?;
                        }
                    }
                }
                t.optouts.remove(k)?;
                Ok(())
            })?;
            match &record {
                Some((c, _, _)) if shops.is_empty() => tracing::warn!(
                    channel = c.as_str(),
                    "An opt-out from every shop names a recipient no shop wrote to; dropped"
                ),
                Some((c, _, _)) => {
                    moved += 1;
                    tracing::info!(channel = c.as_str(), shops = %shops.join(","), "An opt-out from every shop now applies to the shop it answered");
                }
                None => tracing::warn!("An unreadable opt-out key was dropped"),
            }
        }
        self.meta.insert(MIGRATED, &[1])?;
        self.flush()?;
        if indexed > 0 || !legacy.is_empty() {
            tracing::info!(
                entries = indexed,
                optouts = moved,
                dropped = legacy.len() - moved,
                "Store moved to opt-outs per shop"
            );
        }
        Ok(())
    }

    /// The shops an opt-out from every shop is given to (see
    /// [`SyncStore::migrate_optouts_per_shop`]).
    fn shops_that_wrote_to(
        &self,
        channel: Channel,
        recipient: &str,
    ) -> Result<Vec<String>, StoreError> {
        let shop_of = |k: &[u8]| {
            keys::read_recipient_key(k)
                .and_then(keys::read_outbox)
                .map(|o| o.shop.as_str().to_string())
        };
        let mut shops: Vec<String> = Vec::new();
        let mut latest = None;
        for k in self
            .t
            .recipients
            .scan_prefix(keys::sent_prefix(channel, recipient))
            .keys()
            .rev()
        {
            let k = k?;
            let at = k.get(keys::sent_prefix(channel, recipient).len()..);
            let at = at.and_then(keys::read_time);
            if latest.is_some() && at != latest {
                break;
            }
            latest = at;
            if let Some(s) = shop_of(&k).filter(|s| !shops.contains(s)) {
                shops.push(s);
            }
        }
        if shops.is_empty() {
            for k in self
                .t
                .recipients
                .scan_prefix(keys::recipient_prefix(channel, recipient))
                .keys()
            {
                if let Some(s) = shop_of(&k?).filter(|s| !shops.contains(s)) {
                    shops.push(s);
                }
            }
        }
        Ok(shops)
    }
}

impl Store {
    /// Opts a parcel's customer out of `channels` and withdraws every unsent message of those
    /// channels (see [`SyncStore::opt_out_parcel`]). Returns `None` if there is no such parcel.
    pub async fn opt_out_parcel(
        &self,
        parcel: &ParcelKey,
        parcel_id: Option<u64>,
        channels: &[Channel],
        source: OptOutSource,
        now: Timestamp,
    ) -> Result<Option<OptOutOutcome>, StoreError> {
        let (parcel, channels) = (parcel.clone(), channels.to_vec());
        self.run(move |s| s.opt_out_parcel(&parcel, parcel_id, &channels, source, now))
            .await
    }

    /// Records that a recipient wants nothing more from one shop on a channel and withdraws
    /// the shop's unsent customer messages to them (see
    /// [`SyncStore::opt_out_shop_recipient`]).
    pub async fn opt_out_shop_recipient(
        &self,
        shop: &ShopId,
        channel: Channel,
        recipient: &str,
        source: OptOutSource,
        now: Timestamp,
    ) -> Result<OptOutOutcome, StoreError> {
        let (shop, recipient) = (shop.clone(), recipient.to_string());
        self.run(move |s| s.opt_out_shop_recipient(&shop, channel, &recipient, source, now))
            .await
    }

    /// Every opt-out that applies to a parcel's customer: the parcel's own, and the shop-wide
    /// ones of its phone (SMS) and e-mail address.
    pub async fn customer_optouts(
        &self,
        parcel: &Parcel,
    ) -> Result<Vec<(OptOutScope, OptOut)>, StoreError> {
        let parcel = parcel.clone();
        self.run(move |s| s.customer_optouts(&parcel)).await
    }
}

#[cfg(test)]
#[path = "optouts_tests.rs"]
mod tests;
