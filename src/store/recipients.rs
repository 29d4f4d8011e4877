//! The outbox by recipient: every message to a phone or address (`e …`), and those sent, by the
//! time they were sent (`s …`). A reply from a phone asks "what was the latest message to this
//! number?" and "what does this shop still have to send it?"; both are a prefix scan here, so
//! their cost follows the messages to that number, not the size of the outbox.
//!
//! The index moves with the entry in the transaction that writes it ([`Tx::index_recipient`],
//! called by every outbox write), so it always agrees with the outbox.

use super::{Store, StoreError, SyncStore, Tx, TxResult, keys};
use crate::domain::notification::{Audience, Channel};
use crate::domain::outbox::OutboxEntry;
use crate::domain::retention::ERASED;

/// The index keys of an entry: none for an erased recipient.
pub(super) fn index_keys(e: &OutboxEntry) -> Vec<Vec<u8>> {
    if e.recipient.is_empty() || e.recipient == ERASED {
        return Vec::new();
    }
    let okey = keys::outbox(&e.key);
    let mut out = vec![keys::recipient_entry(e.key.channel, &e.recipient, &okey)];
    if let Some(at) = e.sent_at {
        out.push(keys::recipient_sent(e.key.channel, &e.recipient, at, &okey));
    }
    out
}

impl Tx<'_> {
    /// Moves an entry's index keys from where `old` had them to where `new` needs them (`None`:
    /// the entry is new, or removed).
    pub(super) fn index_recipient(
        &self,
        old: Option<&OutboxEntry>,
        new: Option<&OutboxEntry>,
    ) -> TxResult<()> {
        let before = old.map(index_keys).unwrap_or_default();
        let after = new.map(index_keys).unwrap_or_default();
        for k in before.iter().filter(|k| !after.contains(k)) {
            self.recipients.remove(k.as_slice())?;
        }
        for k in after.iter().filter(|k| !before.contains(k)) {
            self.recipients.insert(k.as_slice(), &[])?;
        }
        Ok(())
    }
}

impl SyncStore {
    /// Customer messages sent to a recipient through `gateway`, latest first, at most `limit`.
    pub fn sent_through(
        &self,
        channel: Channel,
        recipient: &str,
        gateway: &str,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::new();
        for k in self
            .t
            .recipients
            .scan_prefix(keys::sent_prefix(channel, recipient))
            .keys()
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let k = k?;
            let Some(okey) = keys::read_recipient_key(&k) else {
                continue;
            };
            let Some(v) = self.t.outbox.get(okey)? else {
                continue;
            };
            let e: OutboxEntry = self.read_entry(okey, &v)?;
            if e.provider.as_deref() == Some(gateway) && e.key.kind.audience() == Audience::Customer
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The outbox keys of one shop's messages to a recipient on a channel.
    pub(super) fn shop_entries_to(
        &self,
        channel: Channel,
        recipient: &str,
        shop: &str,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        for k in self
            .t
            .recipients
            .scan_prefix(keys::recipient_shop_prefix(channel, recipient, shop))
            .keys()
        {
            if let Some(okey) = keys::read_recipient_key(&k?) {
                out.push(okey.to_vec());
            }
        }
        Ok(out)
    }

    /// Writes the index keys of every entry (idempotent): for a store whose outbox was written
    /// before the index existed. Returns how many entries it went through.
    pub(super) fn build_recipient_index(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        let mut batch = sled::Batch::default();
        for kv in self.t.outbox.iter() {
            let (k, v) = kv?;
            let (e, _) = super::outbox::decode_entry(&k, &v)?;
            for ik in index_keys(&e) {
                batch.insert(ik, &[]);
            }
            n += 1;
            if n % 10_000 == 0 {
                self.t.recipients.apply_batch(std::mem::take(&mut batch))?;
            }
        }
        self.t.recipients.apply_batch(batch)?;
        Ok(n)
    }

    /// Removes a shop's keys from the index (erasing the shop; its entries are gone already,
    /// this catches any the outbox lost without its parcel). Scans the whole index.
    pub(super) fn remove_shop_from_index(&self, shop: &str) -> Result<(), StoreError> {
        let prefix = keys::shop_prefix(shop);
        for k in self.t.recipients.iter().keys() {
            let k = k?;
            if keys::read_recipient_key(&k).is_some_and(|okey| okey.starts_with(&prefix)) {
                self.t.recipients.remove(k)?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Customer messages sent to a recipient through `gateway`, latest first, at most `limit`.
    pub async fn sent_through(
        &self,
        channel: Channel,
        recipient: &str,
        gateway: &str,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let (recipient, gateway) = (recipient.to_string(), gateway.to_string());
        self.run(move |s| s.sent_through(channel, &recipient, &gateway, limit))
            .await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::domain::notification::{Intent, NotificationKind};
    use crate::domain::outbox::{Acceptance, SendTiming};
    use crate::domain::schedule::DailyWindow;
    use crate::domain::shop::ShopId;
    use crate::store::test_support::{pk, sid};
    use crate::store::test_support::{t, temp_store};

    /// Shops `acme` and `books`, each with parcels to the same phone.
    pub(crate) fn two_shops(tracks: &[(&str, &str)]) -> (tempfile::TempDir, SyncStore) {
        let (d, store) = temp_store();
        for shop in ["acme", "books"] {
            store
                .create_shop(&crate::store::shops::tests::shop(shop, shop))
                .unwrap();
        }
        for (shop, track) in tracks {
            let v = validate(&ParcelDraft {
                track: (*track).into(),
                phone: crate::domain::intake::Patch::Set("+79123456789".into()),
                ..ParcelDraft::default()
            })
            .unwrap();
            store
                .intake(&ShopId::from_trusted(*shop), &v, t(0), t(0))
                .unwrap();
        }
        (d, store)
    }

    /// Queues a customer SMS of `kind` for a parcel; returns its entry.
    pub(crate) fn queue_sms(
        store: &SyncStore,
        shop: &str,
        track: &str,
        kind: NotificationKind,
    ) -> OutboxEntry {
        let w = DailyWindow::ALWAYS;
        let s = store.shop(&sid(shop)).unwrap().unwrap();
        store
            .tx(|tx| {
                let p = tx.get_parcel(shop, track)?.unwrap();
                for e in crate::domain::outbox::plan(
                    &p,
                    &s,
                    Intent::new(kind, 1),
                    t(1),
                    &SendTiming { window: &w },
                ) {
                    tx.insert_entry_if_absent(&e)?;
                }
                Ok(())
            })
            .unwrap();
        store
            .parcel_entries(&pk(shop, track))
            .unwrap()
            .into_iter()
            .find(|e| e.key.kind == kind && e.key.channel == Channel::Sms)
            .unwrap()
    }

    /// Records an entry as sent through `gateway` at `at` seconds.
    pub(crate) fn send(store: &SyncStore, e: &OutboxEntry, gateway: &str, at: i64) {
        store
            .finish(&e.key, |x| {
                x.claim(t(at));
                x.succeed(
                    Acceptance {
                        provider: gateway.into(),
                        provider_id: Some(format!("id-{at}")),
                        ..Default::default()
                    },
                    t(at),
                );
            })
            .unwrap();
    }

    #[test]
    fn the_latest_message_through_a_gateway_is_found_by_the_index() {
        let (_d, store) = two_shops(&[("acme", "SANDBOX-STUCK-1"), ("books", "SANDBOX-STUCK-2")]);
        let a = queue_sms(
            &store,
            "acme",
            "SANDBOX-STUCK-1",
            NotificationKind::Accepted,
        );
        let b = queue_sms(
            &store,
            "books",
            "SANDBOX-STUCK-2",
            NotificationKind::Accepted,
        );
        assert!(
            store
                .sent_through(Channel::Sms, "+79123456789", "smsru", 10)
                .unwrap()
                .is_empty(),
            "nothing sent yet"
        );
        send(&store, &a, "smsru", 20);
        send(&store, &b, "smsru", 10);
        let sent = store
            .sent_through(Channel::Sms, "+79123456789", "smsru", 10)
            .unwrap();
        let shops: Vec<&str> = sent.iter().map(|e| e.key.shop.as_str()).collect();
        assert_eq!(shops, ["acme", "books"], "latest first, by the time sent");
        assert_eq!(
            store
                .sent_through(Channel::Sms, "+79123456789", "smsru", 1)
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .sent_through(Channel::Sms, "+79123456789", "smsc", 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .sent_through(Channel::Email, "+79123456789", "smsru", 10)
                .unwrap()
                .is_empty()
        );
        // One shop's messages, sent or not.
        let acme_arrived = queue_sms(&store, "acme", "SANDBOX-STUCK-1", NotificationKind::Arrived);
        let mine = store
            .shop_entries_to(Channel::Sms, "+79123456789", "acme")
            .unwrap();
        assert_eq!(
            mine,
            [keys::outbox(&a.key), keys::outbox(&acme_arrived.key)]
        );
        assert_eq!(
            store
                .shop_entries_to(Channel::Sms, "+79123456789", "books")
                .unwrap(),
            [keys::outbox(&b.key)]
        );
    }

    #[test]
    fn the_index_goes_with_the_entry() {
        let (_d, store) = two_shops(&[("acme", "SANDBOX-STUCK-1")]);
        let a = queue_sms(
            &store,
            "acme",
            "SANDBOX-STUCK-1",
            NotificationKind::Accepted,
        );
        queue_sms(&store, "acme", "SANDBOX-STUCK-1", NotificationKind::Arrived);
        send(&store, &a, "smsru", 20);
        let count = || store.t.recipients.len();
        assert_eq!(count(), 3, "two messages, one of them sent");
        // Erasing the customer's data takes the recipient out of the index.
        let erased = store
            .tx(|tx| {
                let k = keys::outbox(&a.key);
                let e = tx.get_entry(&k)?.unwrap();
                let mut x = e.clone();
                crate::domain::retention::erase_entry(&mut x);
                tx.put_entry(Some(&e), &x)?;
                Ok(x)
            })
            .unwrap();
        assert!(index_keys(&erased).is_empty());
        assert_eq!(count(), 1, "only the unsent message is left");
        // Deleting the parcel removes the rest.
        store.delete_parcel(&pk("acme", "SANDBOX-STUCK-1")).unwrap();
        assert_eq!(count(), 0);
    }

    #[test]
    fn the_index_is_built_for_an_outbox_written_without_it() {
        let (_d, store) = two_shops(&[("acme", "SANDBOX-STUCK-1")]);
        let a = queue_sms(
            &store,
            "acme",
            "SANDBOX-STUCK-1",
            NotificationKind::Accepted,
        );
        send(&store, &a, "smsru", 20);
        let before: Vec<_> = store.t.recipients.iter().keys().collect();
        store.t.recipients.clear().unwrap();
        assert_eq!(store.build_recipient_index().unwrap(), 1);
        let after: Vec<_> = store.t.recipients.iter().keys().collect();
        assert_eq!(before, after);
        store.remove_shop_from_index("acme").unwrap();
        assert!(store.t.recipients.is_empty());
    }
}
