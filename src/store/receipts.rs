//! After sending: delivery reports (which sent messages to ask about, recording what a provider
//! said, finding a message by the provider's id for callbacks) and dead letters (listing them,
//! giving them a fresh start).

use super::keys::{self, Queue};
use super::{Store, StoreError};
use crate::domain::delivery::DeliveryReport;
use crate::domain::notification::Channel;
use crate::domain::outbox::{DeliveryState, OutboxEntry, OutboxKey};
use jiff::Timestamp;

impl Store {
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
            .parcel_entries(&key.shop, &key.track)?
            .into_iter()
            .find(|e| e.key == key))
    }

    /// Dead letters, oldest first, of one channel or all, of one shop or all.
    pub fn dead_letters(
        &self,
        channel: Option<Channel>,
        shop: Option<&str>,
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
                    .filter(|e| shop.is_none_or(|s| e.key.shop == s)),
            );
        }
        out.truncate(limit);
        Ok(out)
    }

    /// How many dead letters a channel has.
    pub fn dead_count(&self, channel: Channel) -> Result<usize, StoreError> {
        Ok(self
            .t
            .queue
            .scan_prefix(keys::queue_prefix(channel, Queue::Dead))
            .count())
    }

    /// Gives dead letters (of one channel or all, one shop or all) a fresh start. Returns how
    /// many.
    pub fn requeue_dead(
        &self,
        channel: Option<Channel>,
        shop: Option<&str>,
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
