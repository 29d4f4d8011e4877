//! After sending: delivery reports (which sent messages to ask about, recording what a provider
//! said, finding a message by the provider's id for callbacks) and dead letters (listing them,
//! giving them a fresh start).

use super::keys::{self, Queue};
use super::{Store, StoreError, SyncStore};
use crate::domain::delivery::DeliveryReport;
use crate::domain::notification::Channel;
use crate::domain::outbox::{DeliveryState, OutboxEntry, OutboxKey};
use crate::domain::shop::ShopId;
use jiff::Timestamp;

impl SyncStore {
    /// Up to `limit` sent entries of a channel whose delivery report is due at or before `now`.
    pub fn reports_due(
        &self,
        channel: Channel,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.entries_in(keys::queue_prefix(channel, Queue::Report), Some(now), limit)
    }

    /// When the channel's next delivery report is due.
    pub fn next_report_at(&self, channel: Channel) -> Result<Option<Timestamp>, StoreError> {
        let prefix = keys::queue_prefix(channel, Queue::Report);
        Ok(self
            .t
            .queue
            .scan_prefix(&prefix)
            .next()
            .transpose()?
            .and_then(|(k, _)| keys::read_queue(&k).map(|(at, _)| at)))
    }

    /// Records a delivery report for a sent entry (`None`: the provider said nothing); `next`
    /// says when to ask again if the report is not final. Returns the entry as stored, or `None`
    /// if it is gone or not sent.
    pub fn record_report(
        &self,
        key: &OutboxKey,
        report: Option<&DeliveryReport>,
        next: impl Fn(&OutboxEntry) -> Option<Timestamp>,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let okey = keys::outbox(key);
        self.tx(|t| {
            let Some(old) = t.get_entry(&okey)? else {
                return Ok(None);
            };
            if old.state != DeliveryState::Sent {
                return Ok(None);
            }
            let mut e = old.clone();
            e.record_report(report, next(&old));
            t.put_entry(Some(&old), &e)?;
            Ok(Some(e))
        })
    }

    /// The entry a provider's message id belongs to.
    pub fn entry_by_receipt(
        &self,
        provider: &str,
        id: &str,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let Some(okey) = self.t.receipts.get(keys::receipt(provider, id))? else {
            return Ok(None);
        };
        let Some(key) = keys::read_outbox(&okey) else {
            return Ok(None);
        };
        Ok(self
            .parcel_entries(&key.parcel())?
            .into_iter()
            .find(|e| e.key == key))
    }

    /// Dead letters, oldest first, of one channel or all, of one shop or all.
    pub fn dead_letters(
        &self,
        channel: Option<Channel>,
        shop: Option<&ShopId>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::new();
        for c in Channel::ALL
            .into_iter()
            .filter(|c| channel.is_none_or(|x| x == *c))
        {
            let all = self.entries_in(keys::queue_prefix(c, Queue::Dead), None, usize::MAX)?;
            out.extend(
                all.into_iter()
                    .filter(|e| shop.is_none_or(|s| &e.key.shop == s)),
            );
        }
        out.truncate(limit);
        Ok(out)
    }

    /// How many dead letters a channel has (from the counters).
    pub fn dead_count(&self, channel: Channel) -> Result<usize, StoreError> {
        Ok(self.outbox_stats(channel)?.dead)
    }

    /// Gives dead letters (of one channel or all, one shop or all) a fresh start. Returns how
    /// many.
    pub fn requeue_dead(
        &self,
        channel: Option<Channel>,
        shop: Option<&ShopId>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let dead = self.dead_letters(channel, shop, usize::MAX)?;
        let mut n = 0;
        for e in dead {
            if let Some(x) = self.finish(&e.key, |x| {
                x.requeue(now);
            })? {
                n += usize::from(x.state == DeliveryState::Pending);
            }
        }
        Ok(n)
    }
}

impl Store {
    /// Up to `limit` sent entries of a channel whose delivery report is due at or before `now`.
    pub async fn reports_due(
        &self,
        channel: Channel,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.run(move |s| s.reports_due(channel, now, limit)).await
    }

    /// When the channel's next delivery report is due.
    pub async fn next_report_at(&self, channel: Channel) -> Result<Option<Timestamp>, StoreError> {
        self.run(move |s| s.next_report_at(channel)).await
    }

    /// Records what a provider said about sent entries (`None`: nothing), each in its own
    /// transaction; `next` says when to ask again about one whose report is not final.
    /// Returns how many entries were still there and sent.
    pub async fn record_reports(
        &self,
        reports: Vec<(OutboxKey, Option<DeliveryReport>)>,
        next: impl Fn(&OutboxEntry) -> Option<Timestamp> + Send + 'static,
    ) -> Result<usize, StoreError> {
        self.run(move |s| {
            let mut n = 0;
            for (key, report) in &reports {
                n += usize::from(s.record_report(key, report.as_ref(), &next)?.is_some());
            }
            Ok(n)
        })
        .await
    }

    /// The entry a provider's message id belongs to.
    pub async fn entry_by_receipt(
        &self,
        provider: &str,
        id: &str,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let (provider, id) = (provider.to_string(), id.to_string());
        self.run(move |s| s.entry_by_receipt(&provider, &id)).await
    }

    /// Dead letters, oldest first, of one channel or all, of one shop or all.
    pub async fn dead_letters(
        &self,
        channel: Option<Channel>,
        shop: Option<&ShopId>,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let shop = shop.cloned();
        self.run(move |s| s.dead_letters(channel, shop.as_ref(), limit))
            .await
    }

    /// How many dead letters a channel has (from the counters).
    pub async fn dead_count(&self, channel: Channel) -> Result<usize, StoreError> {
        self.run(move |s| s.dead_count(channel)).await
    }

    /// Gives dead letters (of one channel or all, one shop or all) a fresh start. Returns how
    /// many.
    pub async fn requeue_dead(
        &self,
        channel: Option<Channel>,
        shop: Option<&ShopId>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let shop = shop.cloned();
        self.run(move |s| s.requeue_dead(channel, shop.as_ref(), now))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::delivery::DeliveryStatus;
    use crate::domain::notification::{Intent, NotificationKind};
    use crate::domain::outbox::{Acceptance, Failure, RetryPolicy, SendTiming};
    use crate::domain::schedule::DailyWindow;
    use crate::store::Claim;
    use crate::store::test_support::{pk, sid};
    use crate::store::test_support::{store_with_parcel, t};
    use std::time::Duration;

    fn one_sms() -> (tempfile::TempDir, SyncStore, OutboxKey) {
        let (d, store) = store_with_parcel();
        let shop = store.shop(&sid("acme")).unwrap().unwrap();
        let w = DailyWindow::ALWAYS;
        store
            .tx(|tx| {
                let p = tx.get_parcel("acme", "SANDBOX-ARRIVED-1")?.unwrap();
                for e in crate::domain::outbox::plan(
                    &p,
                    &shop,
                    Intent::new(NotificationKind::Accepted, 1),
                    t(1),
                    &SendTiming { window: &w },
                ) {
                    tx.insert_entry_if_absent(&e)?;
                }
                Ok(())
            })
            .unwrap();
        let key = store.pending(Channel::Sms, t(1), 10).unwrap()[0]
            .key
            .clone();
        (d, store, key)
    }

    #[test]
    fn reports_are_found_by_the_gateways_id_and_stop_when_final() {
        let (_d, store, key) = one_sms();
        let Claim::Claimed(_) = store.claim(&key, t(2), |_| None, "smsru").unwrap() else {
            panic!("claim")
        };
        store
            .finish(&key, |e| {
                e.succeed(
                    Acceptance {
                        provider: "smsru".into(),
                        provider_id: Some("000-1".into()),
                        segments: Some(2),
                        report_at: Some(t(60)),
                    },
                    t(3),
                )
            })
            .unwrap();
        assert!(
            store
                .reports_due(Channel::Sms, t(59), 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.next_report_at(Channel::Sms).unwrap(), Some(t(60)));
        assert_eq!(store.reports_due(Channel::Sms, t(60), 10).unwrap().len(), 1);
        let found = store.entry_by_receipt("smsru", "000-1").unwrap().unwrap();
        assert_eq!(found.key, key);
        assert!(store.entry_by_receipt("smsc", "000-1").unwrap().is_none());
        let e = store
            .record_report(
                &key,
                Some(&DeliveryReport::new(DeliveryStatus::InTransit)),
                |_| Some(t(120)),
            )
            .unwrap()
            .unwrap();
        assert_eq!(e.next_report_at, Some(t(120)));
        let e = store
            .record_report(
                &key,
                Some(&DeliveryReport::new(DeliveryStatus::Delivered)),
                |_| Some(t(240)),
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (e.delivery_status.as_deref(), e.next_report_at),
            (Some("delivered"), None)
        );
        assert_eq!(store.next_report_at(Channel::Sms).unwrap(), None);
        store
            .delete_parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap();
        assert!(store.entry_by_receipt("smsru", "000-1").unwrap().is_none());
    }

    #[test]
    fn dead_letters_are_listed_counted_and_requeued() {
        let (_d, store, key) = one_sms();
        store.claim(&key, t(2), |_| None, "smsru").unwrap();
        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(1),
        };
        store
            .finish(&key, |e| {
                e.fail(Failure::Permanent("bad number".into()), t(3), &policy, 0)
            })
            .unwrap();
        assert_eq!(store.dead_count(Channel::Sms).unwrap(), 1);
        assert_eq!(
            store
                .dead_letters(None, Some(&sid("acme")), 10)
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .dead_letters(None, Some(&sid("other")), 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .dead_letters(Some(Channel::Email), None, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.requeue_dead(None, None, t(4)).unwrap(), 1);
        assert_eq!(store.dead_count(Channel::Sms).unwrap(), 0);
        let e = &store.pending(Channel::Sms, t(4), 10).unwrap()[0];
        assert_eq!(e.attempts, 0);
        assert_eq!(e.last_error.as_deref(), Some("requeued after: bad number"));
    }
}
