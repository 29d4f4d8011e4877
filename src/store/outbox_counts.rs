//! How many outbox entries each channel has pending, in hand and dead, kept as counters so that
//! `GET /v1/health` and the senders' dead-letter gauge read six numbers instead of scanning the
//! queues.
//!
//! The counters live in the `counts` tree (key: the queue's prefix, channel(1) queue(1); value:
//! a big-endian u64) and change in the same transactions that move an entry between queues
//! ([`Tx::recount`], called where the queue key moves), so they survive restarts and agree with
//! the queues after a crash. A store written before the counters existed has none: at open,
//! [`SyncStore::ensure_outbox_counts`] counts the queues once and leaves a marker in `meta`, so the
//! scan happens once per store.

use super::keys::{self, Queue};
use super::{OutboxStats, Store, StoreError, SyncStore, Tx, TxResult};
use crate::domain::notification::Channel;
use crate::domain::outbox::{DeliveryState, OutboxEntry};

/// The marker in `meta` that says the counters are there (version 1 of their layout).
const MARKER: &[u8] = b"outbox_counts";

/// The queues that are counted.
const COUNTED: [Queue; 3] = [Queue::Pending, Queue::Sending, Queue::Dead];

/// The counted queue an entry is in, if any (sent and cancelled entries are not counted).
fn counted(entry: &OutboxEntry) -> Option<Queue> {
    match entry.state {
        DeliveryState::Pending => Some(Queue::Pending),
        DeliveryState::Sending => Some(Queue::Sending),
        DeliveryState::Dead => Some(Queue::Dead),
        DeliveryState::Sent | DeliveryState::Cancelled => None,
    }
}

fn read(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

impl Tx<'_> {
    /// Moves one entry's count from the queue `old` had it in to the one `new` has it in
    /// (`None`: not there before, or removed). Nothing changes when both are the same queue.
    pub(super) fn recount(
        &self,
        old: Option<&OutboxEntry>,
        new: Option<&OutboxEntry>,
    ) -> TxResult<()> {
        let from = old.and_then(|e| counted(e).map(|q| (e.key.channel, q)));
        let to = new.and_then(|e| counted(e).map(|q| (e.key.channel, q)));
        if from == to {
            return Ok(());
        }
        if let Some((channel, q)) = from {
            self.add_count(channel, q, -1)?;
        }
        if let Some((channel, q)) = to {
            self.add_count(channel, q, 1)?;
        }
        Ok(())
    }

    fn add_count(&self, channel: Channel, q: Queue, delta: i64) -> TxResult<()> {
        let key = keys::queue_prefix(channel, q);
        let n = read(self.counts.get(&key)?.as_deref());
        let n = n.saturating_add_signed(delta);
        self.counts.insert(key, &n.to_be_bytes())?;
        Ok(())
    }
}

impl SyncStore {
    /// Queue sizes of a channel, from the counters.
    pub fn outbox_stats(&self, channel: Channel) -> Result<OutboxStats, StoreError> {
        let get = |q| -> Result<usize, StoreError> {
            let v = self.t.counts.get(keys::queue_prefix(channel, q))?;
            Ok(usize::try_from(read(v.as_deref())).unwrap_or(usize::MAX))
        };
        Ok(OutboxStats {
            pending: get(Queue::Pending)?,
            sending: get(Queue::Sending)?,
            dead: get(Queue::Dead)?,
        })
    }

    /// Queue sizes of a channel, counted by scanning its queues.
    pub fn scan_outbox_stats(&self, channel: Channel) -> Result<OutboxStats, StoreError> {
        let count = |q| -> Result<usize, StoreError> {
            let mut n = 0;
            for k in self
                .t
                .queue
                .scan_prefix(keys::queue_prefix(channel, q))
                .keys()
            {
                k?;
                n += 1;
            }
            Ok(n)
        };
        Ok(OutboxStats {
            pending: count(Queue::Pending)?,
            sending: count(Queue::Sending)?,
            dead: count(Queue::Dead)?,
        })
    }

    /// Removes a queue key that no entry leads to (a shop's erasure sweeping up), taking it off
    /// its counter in the same transaction.
    pub(super) fn remove_stray_queue_key(
        &self,
        key: &[u8],
        channel: Channel,
        q: Queue,
    ) -> Result<(), StoreError> {
        self.tx(|t| {
            if t.queue.remove(key)?.is_some() && COUNTED.contains(&q) {
                t.add_count(channel, q, -1)?;
            }
            Ok(())
        })
    }

    /// Counts the queues into the counters if the store has none yet (it was written before
    /// they existed, or is new), once: the marker in `meta` says it was done. Called at open,
    /// before anything else writes; a crash before the marker is written counts again.
    pub(super) fn ensure_outbox_counts(&self) -> Result<(), StoreError> {
        if self.meta.get(MARKER)?.is_some() {
            return Ok(());
        }
        let mut total = 0;
        for channel in Channel::ALL {
            let s = self.scan_outbox_stats(channel)?;
            for (q, n) in COUNTED.into_iter().zip([s.pending, s.sending, s.dead]) {
                self.t
                    .counts
                    .insert(keys::queue_prefix(channel, q), &(n as u64).to_be_bytes())?;
                total += n;
            }
        }
        self.db.flush()?;
        self.meta.insert(MARKER, &[1])?;
        self.db.flush()?;
        if total > 0 {
            tracing::info!(
                entries = total,
                "Counted the outbox queues once for the health counters"
            );
        }
        Ok(())
    }
}

impl Store {
    /// Queue sizes of a channel, from the counters.
    pub async fn outbox_stats(&self, channel: Channel) -> Result<OutboxStats, StoreError> {
        self.run(move |s| s.outbox_stats(channel)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::Rules;
    use crate::domain::outbox::{Acceptance, Failure, OutboxKey, RetryPolicy, SendTiming};
    use crate::domain::parcel::{CarrierEvent, Office};
    use crate::domain::schedule::DailyWindow;
    use crate::domain::status::Status;
    use crate::store::Claim;
    use crate::store::polling::Report;
    use crate::store::test_support::{pk, sid};
    use crate::store::test_support::{t, temp_store};
    use std::time::Duration;

    /// A store with the shop `acme` and `n` parcels waiting at the office, each with an SMS
    /// and an e-mail pending (accepted and arrived: four entries a parcel).
    fn store_with(n: usize) -> (tempfile::TempDir, SyncStore) {
        let (d, store) = temp_store();
        store
            .create_shop(&crate::store::shops::tests::shop("acme", "h"))
            .unwrap();
        let w = DailyWindow::ALWAYS;
        for i in 0..n {
            let track = format!("SANDBOX-ARRIVED-{i}");
            let v = crate::domain::intake::validate(&crate::domain::intake::ParcelDraft {
                track: track.clone(),
                phone: crate::domain::intake::Patch::Set(format!("+7912345{i:04}")),
                email: crate::domain::intake::Patch::Set(format!("c{i}@example.ru")),
                ..Default::default()
            })
            .unwrap();
            store
                .intake(
                    &crate::domain::shop::ShopId::from_trusted("acme"),
                    &v,
                    t(0),
                    t(0),
                )
                .unwrap();
            let report = Report {
                events: vec![
                    CarrierEvent {
                        at: t(1),
                        status: Status::InTransit,
                        code: "1/1".into(),
                        description: String::new(),
                        office: None,
                        storage: None,
                        presence: false,
                    },
                    CarrierEvent {
                        at: t(5),
                        status: Status::ArrivedAtPickup,
                        code: "8/2".into(),
                        description: String::new(),
                        office: Some(Office::default()),
                        storage: None,
                        presence: false,
                    },
                ],
                ..Report::default()
            };
            store
                .apply_report(
                    &pk("acme", &track),
                    &report,
                    t(10),
                    &Rules::default(),
                    t(99_999),
                    &SendTiming { window: &w },
                )
                .unwrap();
        }
        (d, store)
    }

    fn check(store: &SyncStore) {
        for channel in Channel::ALL {
            assert_eq!(
                store.outbox_stats(channel).unwrap(),
                store.scan_outbox_stats(channel).unwrap(),
                "{channel:?}"
            );
        }
    }

    fn claim(store: &SyncStore, key: &OutboxKey) {
        let c = store.claim(key, t(20), |_| None, "file").unwrap();
        assert!(matches!(c, Claim::Claimed(_)), "{c:?}");
    }

    #[test]
    fn counters_agree_with_the_queues_through_every_move() {
        let (_d, store) = store_with(6);
        check(&store);
        let sms = store.pending(Channel::Sms, t(10), 100).unwrap();
        let email = store.pending(Channel::Email, t(10), 100).unwrap();
        assert!(
            sms.len() >= 6 && email.len() >= 6,
            "{} {}",
            sms.len(),
            email.len()
        );
        assert_eq!(store.outbox_stats(Channel::Sms).unwrap().pending, sms.len());
        let policy = RetryPolicy {
            max_attempts: 2,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(1),
        };
        let sent = Acceptance {
            provider: "file".into(),
            provider_id: Some("x".into()),
            ..Default::default()
        };

        // Claimed and sent; claimed and left in hand; claimed and failed for a retry; failed
        // for good; cancelled; and a whole parcel deleted.
        claim(&store, &sms[0].key);
        store
            .finish(&sms[0].key, |e| e.succeed(sent.clone(), t(21)))
            .unwrap();
        claim(&store, &sms[1].key);
        claim(&store, &sms[2].key);
        store
            .finish(&sms[2].key, |e| {
                e.fail(Failure::Transient("503".into()), t(21), &policy, 0)
            })
            .unwrap();
        claim(&store, &email[0].key);
        store
            .finish(&email[0].key, |e| {
                e.fail(Failure::Permanent("550".into()), t(21), &policy, 0)
            })
            .unwrap();
        claim(&store, &email[1].key);
        store
            .finish(&email[1].key, |e| {
                e.fail(Failure::Permanent("550".into()), t(21), &policy, 0)
            })
            .unwrap();
        check(&store);
        assert_eq!(store.outbox_stats(Channel::Email).unwrap().dead, 2);
        assert_eq!(store.outbox_stats(Channel::Sms).unwrap().sending, 1);

        store
            .cancel_pending(&sms[3].key.parcel(), &[Channel::Sms], "unsubscribed")
            .unwrap();
        check(&store);
        store.delete_parcel(&email[2].key.parcel()).unwrap();
        check(&store);
        // A recovery after a crash puts what was in hand back.
        store.finish(&sms[1].key, |e| e.recover(true)).unwrap();
        check(&store);
        assert_eq!(store.outbox_stats(Channel::Sms).unwrap().sending, 0);

        let n = store.requeue_dead(None, None, t(30)).unwrap();
        assert!(n >= 1, "{n}");
        check(&store);
        assert_eq!(store.outbox_stats(Channel::Email).unwrap().dead, 0);
        store.finish_shop_erasure(&sid("acme")).unwrap();
        check(&store);
        assert_eq!(
            store.outbox_stats(Channel::Email).unwrap(),
            OutboxStats::default()
        );
    }

    #[test]
    fn a_store_without_counters_is_counted_once_at_open() {
        let (d, store) = store_with(3);
        let key = store.pending(Channel::Sms, t(10), 1).unwrap()[0]
            .key
            .clone();
        claim(&store, &key);
        let expected = store.scan_outbox_stats(Channel::Sms).unwrap();
        assert_eq!(expected.sending, 1);
        // As a store written before the counters existed: neither counters nor marker.
        store.t.counts.clear().unwrap();
        store.meta.remove(MARKER).unwrap();
        store.flush().unwrap();
        drop(store);
        let store = SyncStore::open(&d.path().join("db"), 8 << 20).unwrap();
        assert_eq!(store.outbox_stats(Channel::Sms).unwrap(), expected);
        check(&store);
        // The marker stops a second count: a counter changed by hand stays as it is.
        store
            .t
            .counts
            .insert(
                keys::queue_prefix(Channel::Sms, Queue::Dead),
                &7u64.to_be_bytes(),
            )
            .unwrap();
        store.flush().unwrap();
        drop(store);
        let store = SyncStore::open(&d.path().join("db"), 8 << 20).unwrap();
        assert_eq!(store.outbox_stats(Channel::Sms).unwrap().dead, 7);
    }
}
