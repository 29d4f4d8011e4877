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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::domain::notification::{Intent, NotificationKind};
    use crate::domain::outbox::{DeliveryState, SendTiming};
    use crate::domain::schedule::DailyWindow;
    use crate::domain::shop::ShopId;
    use crate::store::test_support::{t, temp_store};

    fn store_with(tracks: &[&str]) -> (tempfile::TempDir, Store) {
        let (d, store) = temp_store();
        let mut shop = crate::store::shops::tests::shop("acme", "h");
        shop.report_email = Some(crate::domain::contact::EmailAddress::from_trusted(
            "ops@acme.ru",
        ));
        store.create_shop(&shop).unwrap();
        for track in tracks {
            let v = validate(&ParcelDraft {
                track: (*track).into(),
                phone: crate::domain::intake::Patch::Set("+79123456789".into()),
                email: crate::domain::intake::Patch::Set("ivan@example.ru".into()),
                ..ParcelDraft::default()
            })
            .unwrap();
            store
                .intake(&ShopId::from_trusted("acme"), &v, t(0), t(0))
                .unwrap();
        }
        (d, store)
    }

    fn queue(store: &Store, track: &str, kind: NotificationKind) {
        let w = DailyWindow::ALWAYS;
        let shop = store.shop("acme").unwrap().unwrap();
        store
            .tx(|tx| {
                let p = tx.get_parcel("acme", track)?.unwrap();
                for e in crate::domain::outbox::plan(
                    &p,
                    &shop,
                    Intent::new(kind, 1),
                    t(1),
                    &SendTiming { window: &w },
                ) {
                    tx.insert_entry_if_absent(&e)?;
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_parcel_opt_out_withdraws_its_waiting_messages_and_is_recorded() {
        let (_d, store) = store_with(&["SANDBOX-ARRIVED-1"]);
        queue(&store, "SANDBOX-ARRIVED-1", NotificationKind::Accepted);
        let id = store
            .parcel("acme", "SANDBOX-ARRIVED-1")
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(
            store
                .opt_out_parcel(
                    "acme",
                    "SANDBOX-ARRIVED-1",
                    Some(id + 1),
                    &[Channel::Email],
                    OptOutSource::Link,
                    t(2)
                )
                .unwrap(),
            None,
            "a link of an earlier parcel with this number does nothing"
        );
        let o = store
            .opt_out_parcel(
                "acme",
                "SANDBOX-ARRIVED-1",
                Some(id),
                &[Channel::Email],
                OptOutSource::OneClick,
                t(2),
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            o,
            OptOutOutcome {
                cancelled: 1,
                new_channels: 1
            }
        );
        let entries = store.parcel_entries("acme", "SANDBOX-ARRIVED-1").unwrap();
        let state = |c: Channel| entries.iter().find(|e| e.key.channel == c).unwrap().state;
        assert_eq!(state(Channel::Email), DeliveryState::Cancelled);
        assert_eq!(state(Channel::Sms), DeliveryState::Pending);
        let p = store.parcel("acme", "SANDBOX-ARRIVED-1").unwrap().unwrap();
        assert_eq!(p.unsubscribed, [Channel::Email]);
        let rec = store.parcel_optouts("acme", "SANDBOX-ARRIVED-1").unwrap();
        assert_eq!(rec[0].source, OptOutSource::OneClick);
        let again = store
            .opt_out_parcel(
                "acme",
                "SANDBOX-ARRIVED-1",
                None,
                &[Channel::Email],
                OptOutSource::Shop,
                t(3),
            )
            .unwrap()
            .unwrap();
        assert_eq!(again, OptOutOutcome::default());
        // Deleting the parcel forgets its records.
        store.delete_parcel("acme", "SANDBOX-ARRIVED-1").unwrap();
        assert!(
            store
                .parcel_optouts("acme", "SANDBOX-ARRIVED-1")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_stop_withdraws_waiting_messages_and_cancels_future_ones() {
        let (_d, store) = store_with(&["SANDBOX-ARRIVED-1", "SANDBOX-ARRIVED-2"]);
        queue(&store, "SANDBOX-ARRIVED-1", NotificationKind::Accepted);
        let n = store
            .opt_out_recipient(Channel::Sms, "+79123456789", OptOutSource::SmsStop, t(2))
            .unwrap();
        assert_eq!(n, 1);
        assert!(
            store
                .recipient_opted_out(Channel::Sms, "+79123456789")
                .unwrap()
        );
        queue(&store, "SANDBOX-ARRIVED-2", NotificationKind::Accepted);
        let later = store.parcel_entries("acme", "SANDBOX-ARRIVED-2").unwrap();
        let sms = later
            .iter()
            .find(|e| e.key.channel == Channel::Sms)
            .unwrap();
        assert_eq!(sms.state, DeliveryState::Cancelled);
        let mail = later
            .iter()
            .find(|e| e.key.channel == Channel::Email)
            .unwrap();
        assert_eq!(mail.state, DeliveryState::Pending);
    }
}
