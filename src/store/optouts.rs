//! Opt-outs: a parcel's customer unsubscribed from a channel (link, one-click, the shop), or a
//! recipient sent STOP. Recording one and withdrawing every unsent message it concerns happen
//! in one transaction; future messages are never created (the parcel's `unsubscribed` list) or
//! created already cancelled (the recipient list).

use super::{Store, StoreError, Tx, TxResult, abort, decode, encode, keys, versions};
use crate::domain::notification::{Audience, Channel};
use crate::domain::optout::{OptOut, OptOutSource};
use jiff::Timestamp;

/// What an opt-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptOutOutcome {
    /// Unsent messages withdrawn.
    pub cancelled: usize,
    /// Channels newly opted out (0: it was already done).
    pub new_channels: usize,
}

fn reason(source: OptOutSource) -> &'static str {
    match source {
        OptOutSource::Link | OptOutSource::OneClick => "the customer unsubscribed",
        OptOutSource::SmsStop => "the recipient asked for no more messages",
        OptOutSource::Shop => "the shop unsubscribed the customer",
    }
}

impl Tx<'_> {
    /// Whether a recipient asked for nothing more on a channel.
    pub(super) fn opted_out(&self, channel: Channel, recipient: &str) -> TxResult<bool> {
        Ok(self
            .optouts
            .get(keys::optout_recipient(channel, recipient))?
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

impl Store {
    /// Opts a parcel's customer out of `channels`: recorded on the parcel and in the opt-out
    /// records, and every unsent message of those channels withdrawn. `parcel_id`, when given,
    /// must match (a link for a parcel that was deleted and handed over again does nothing).
    /// Returns `None` if there is no such parcel.
    pub fn opt_out_parcel(
        &self,
        shop: &str,
        track: &str,
        parcel_id: Option<u64>,
        channels: &[Channel],
        source: OptOutSource,
        now: Timestamp,
    ) -> Result<Option<OptOutOutcome>, StoreError> {
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

    /// Records that a recipient wants nothing more on a channel (an inbound STOP) and withdraws
    /// every unsent customer message to them. Returns how many were withdrawn.
    pub fn opt_out_recipient(
        &self,
        channel: Channel,
        recipient: &str,
        source: OptOutSource,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        self.tx(|t| {
            t.put_optout(
                keys::optout_recipient(channel, recipient),
                &OptOut {
                    channel,
                    source,
                    at: now,
                },
            )
        })?;
        // Entries created from now on are created cancelled; withdraw those already waiting.
        let waiting = self.entries_in(
            keys::queue_prefix(channel, keys::Queue::Pending),
            None,
            usize::MAX,
        )?;
        let mut n = 0;
        for e in waiting.iter().filter(|e| {
            e.recipient.eq_ignore_ascii_case(recipient)
                && e.key.kind.audience() == Audience::Customer
        }) {
            if let Some(done) = self.finish(&e.key, |x| {
                x.cancel(reason(source));
            })? {
                n += usize::from(done.state == crate::domain::outbox::DeliveryState::Cancelled);
            }
        }
        Ok(n)
    }

    /// A parcel's recorded opt-outs.
    pub fn parcel_optouts(&self, shop: &str, track: &str) -> Result<Vec<OptOut>, StoreError> {
        let mut out = Vec::new();
        for c in Channel::ALL {
            let k = keys::optout_parcel(shop, track, c);
            if let Some(v) = self.t.optouts.get(&k)? {
                out.push(decode("optouts", versions::OPTOUT, &k, &v)?);
            }
        }
        Ok(out)
    }

    /// Whether a recipient opted out of a channel altogether.
    pub fn recipient_opted_out(
        &self,
        channel: Channel,
        recipient: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .t
            .optouts
            .contains_key(keys::optout_recipient(channel, recipient))?)
    }
}
