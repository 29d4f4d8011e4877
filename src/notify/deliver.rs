//! Delivering the outbox of one channel: claim a due entry, render it, send it within the rate
//! limit, the concurrency cap and an overall time limit, and record the outcome, each step its
//! own transaction. Also the recovery after a crash of entries that were in hand.
//!
//! Plain async code over a [`SendContext`]; the sender actor only decides when to run it.

use super::templates::{Links, Templates};
use super::{Outgoing, Transport};
use crate::daemon::clock::Clock;
use crate::domain::notification::NotificationKind;
use crate::domain::outbox::{Failure, OutboxEntry, RetryPolicy};
use crate::health::Health;
use crate::store::{Claim, Store, StoreError};
use governor::DefaultDirectRateLimiter;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Everything a sender needs.
#[derive(Clone)]
pub struct SendContext {
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// The channel's transport.
    pub transport: Arc<dyn Transport>,
    /// The templates.
    pub templates: Arc<Templates>,
    /// The channel's rate limiter.
    pub limiter: Arc<DefaultDirectRateLimiter>,
    /// The channel's concurrency cap.
    pub slots: Arc<Semaphore>,
    /// Retries.
    pub policy: RetryPolicy,
    /// Overall time limit of one send.
    pub timeout: Duration,
    /// Health board.
    pub health: Arc<Health>,
    /// The public base URL for links.
    pub public_url: String,
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainSummary {
    /// Accepted by the provider.
    pub sent: usize,
    /// Failed and scheduled again.
    pub retried: usize,
    /// Given up.
    pub dead: usize,
    /// Withdrawn (parcel moved on, deleted, unsubscribed).
    pub cancelled: usize,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StoreError::Sled(sled::Error::ReportableBug(e.to_string()))))
}

/// How many entries one drain takes from the queue at a time.
const BATCH: usize = 200;

impl SendContext {
    /// Entries that were in hand when the daemon stopped: marked sent if the transport shows they
    /// went out, put back in the queue otherwise. Returns (found sent, requeued).
    pub async fn recover(&self) -> Result<(usize, usize), StoreError> {
        let channel = self.transport.channel();
        let store = self.store.clone();
        let in_hand = blocking(move || store.in_hand(channel, usize::MAX)).await?;
        let (mut found, mut requeued) = (0, 0);
        for e in in_hand {
            let receipt = self.transport.find_sent(&e.key).await;
            let store = self.store.clone();
            let now = self.clock.now();
            let key = e.key.clone();
            let was_sent = receipt.is_some();
            blocking(move || {
                store.finish(&key, |x| match &receipt {
                    Some(r) => x.succeed(r.provider_id.clone(), now),
                    None => x.recover(),
                })
            })
            .await?;
            if was_sent {
                found += 1;
            } else {
                requeued += 1;
            }
        }
        if found + requeued > 0 {
            tracing::warn!(
                channel = channel.as_str(),
                found_sent = found,
                requeued,
                "Recovered messages that were in hand when the daemon stopped"
            );
        }
        Ok((found, requeued))
    }

    /// Sends everything of this channel that is due now.
    pub async fn drain(&self) -> Result<DrainSummary, StoreError> {
        use futures_util::StreamExt;
        let channel = self.transport.channel();
        let mut total = DrainSummary::default();
        loop {
            let store = self.store.clone();
            let now = self.clock.now();
            let due = blocking(move || store.pending(channel, now, BATCH)).await?;
            if due.is_empty() {
                break;
            }
            let n = due.len();
            let results: Vec<Result<Outcome, StoreError>> = futures_util::stream::iter(due)
                .map(|e| self.deliver(e))
                .buffer_unordered(self.slots.available_permits().max(1))
                .collect()
                .await;
            for r in results {
                match r? {
                    Outcome::Sent => total.sent += 1,
                    Outcome::Retry => total.retried += 1,
                    Outcome::Dead => total.dead += 1,
                    Outcome::Cancelled => total.cancelled += 1,
                    Outcome::Skipped => {}
                }
            }
            if n < BATCH {
                break;
            }
        }
        Ok(total)
    }

    fn links(&self, e: &OutboxEntry) -> Links {
        let _ = e;
        Links::default()
    }

    async fn deliver(&self, entry: OutboxEntry) -> Result<Outcome, StoreError> {
        let channel = self.transport.channel();
        let store = self.store.clone();
        let key = entry.key.clone();
        let now = self.clock.now();
        let claimed = blocking(move || {
            let c = store.claim(&key, now)?;
            // The claim is on disk before anything leaves: after a crash the entry is found
            // "in hand" and checked against the transport instead of being sent blindly again.
            store.flush()?;
            let parcel = match &c {
                Claim::Claimed(_) => store.parcel(&key.shop, &key.track)?,
                _ => None,
            };
            Ok((c, parcel))
        })
        .await?;
        let (entry, parcel) = match claimed {
            (Claim::Claimed(e), p) => (*e, p),
            (Claim::Cancelled(reason), _) => {
                tracing::info!(channel = channel.as_str(), outbox_key = %entry.key.slug(), reason, "Message withdrawn");
                metrics::counter!("parceld_notifications_total", "channel" => channel.as_str(), "outcome" => "cancelled").increment(1);
                return Ok(Outcome::Cancelled);
            }
            (Claim::Skipped, _) => return Ok(Outcome::Skipped),
        };
        let contacts = match (&parcel, entry.key.kind) {
            (Some(p), NotificationKind::ReturnStarted) => (
                p.customer.phone.as_ref().map(|x| x.as_str().to_string()),
                p.customer.email.as_ref().map(|x| x.as_str().to_string()),
            ),
            _ => (None, None),
        };
        let result = match self
            .templates
            .render(&entry, contacts, now, &self.links(&entry))
        {
            Err(e) => Err(Failure::Permanent(e.to_string())),
            Ok(body) => {
                let msg = Outgoing {
                    key: entry.key.clone(),
                    recipient: entry.recipient.clone(),
                    shop_name: entry.facts.shop_name.clone(),
                    reply_to: entry.facts.shop_email.clone(),
                    body,
                    unsubscribe_url: self.links(&entry).unsubscribe,
                };
                let _slot = self.slots.acquire().await;
                self.limiter.until_ready().await;
                match tokio::time::timeout(self.timeout, self.transport.send(&msg)).await {
                    Ok(r) => r,
                    Err(_) => Err(Failure::Transient(format!(
                        "no answer within {}",
                        humantime::format_duration(self.timeout)
                    ))),
                }
            }
        };
        let now = self.clock.now();
        let store = self.store.clone();
        let key = entry.key.clone();
        let policy = self.policy;
        let r = getrandom::u64().unwrap_or(0);
        let outcome = result.clone();
        let stored = blocking(move || {
            let e = store.finish(&key, |e| match &outcome {
                Ok(receipt) => e.succeed(receipt.provider_id.clone(), now),
                Err(f) => e.fail(f.clone(), now, &policy, r),
            })?;
            store.flush()?;
            Ok(e)
        })
        .await?;
        let slug = entry.key.slug();
        let out = match (&result, stored.map(|e| e.state)) {
            (Ok(_), _) => {
                self.health
                    .channel(channel, |s| s.last_success_at = Some(now));
                tracing::info!(channel = channel.as_str(), outbox_key = %slug, transport = self.transport.name(), "Message sent");
                Outcome::Sent
            }
            (Err(f), state) => {
                let text = match f {
                    Failure::Transient(m) | Failure::Permanent(m) => m.clone(),
                };
                self.health.channel(channel, |s| {
                    s.last_error = Some(text.clone());
                    s.last_error_at = Some(now);
                });
                if state == Some(crate::domain::outbox::DeliveryState::Dead) {
                    tracing::error!(channel = channel.as_str(), outbox_key = %slug, error = %text, "Message given up");
                    Outcome::Dead
                } else {
                    tracing::warn!(channel = channel.as_str(), outbox_key = %slug, error = %text, "Send failed; will retry");
                    Outcome::Retry
                }
            }
        };
        let label = match out {
            Outcome::Sent => "sent",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
            _ => "other",
        };
        metrics::counter!("parceld_notifications_total", "channel" => channel.as_str(), "outcome" => label).increment(1);
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retry,
    Dead,
    Cancelled,
    Skipped,
}
