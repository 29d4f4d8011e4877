//! Delivering the outbox of one channel: wait for the rate limit and a free slot, claim a due
//! entry (recording the gateway it goes through, the file for the sandbox carrier's parcels,
//! or holding it if the send window is closed in the recipient's zone), ask the provider first if an earlier attempt may have reached it,
//! render it with the shop's templates, send it within the overall time limit, and record the
//! outcome; each step its own transaction, flushed before anything leaves the machine (claims
//! and receipts through the store's group commit, [`Committer`], which shares one flush among
//! the messages in flight). Also the recovery after a crash of entries that were in hand.
//!
//! The crash window that remains: the provider accepted a message and the daemon died before
//! the receipt was written. The claim is on disk before the send, the receipt is written right
//! after the answer, so the window is one answer and one store write wide. A transport that can
//! look messages up (files, SMSC.ru) closes it; for the others (SMTP, SMS.ru) such a message is
//! sent again, and counted in the entry's `doubtful_resends` (when it is claimed, so that the
//! count survives a crash during the resend too).
//!
//! Plain async code over a [`SendContext`]; the sender actor only decides when to run it.

use super::render::links::LinkSigner;
use super::render::templates::{Links, Templates};
use super::{Lookup, Outgoing, Receipt, Transport};
use crate::clock::Clock;
use crate::domain::carrier::CarrierId;
use crate::domain::notification::{Audience, NotificationKind};
use crate::domain::outbox::{
    Acceptance, DeliveryState, Failure, OutboxEntry, OutboxKey, ReportPolicy, RetryPolicy,
};
use crate::domain::schedule::DailyWindow;
use crate::health::Health;
use crate::store::{Claim, Committer, Store, StoreError};
use governor::DefaultDirectRateLimiter;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Everything a sender needs.
#[derive(Clone)]
pub struct SendContext {
    /// The store.
    pub store: Store,
    /// Claims and receipts go through it: on disk before the caller goes on, one flush for all
    /// the senders waiting at that moment.
    pub committer: Committer,
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
    /// Signs unsubscribe links.
    pub links: Arc<LinkSigner>,
    /// Customer messages go out only in this window of the recipient's local time.
    pub window: DailyWindow,
    /// When to ask for delivery reports.
    pub reports: ReportPolicy,
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
    /// Held for the send window.
    pub held: usize,
}

/// How many entries one drain takes from the queue at a time.
const BATCH: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retry,
    Dead,
    Cancelled,
    Held,
    Skipped,
}

impl SendContext {
    /// What the provider's receipt means for the entry.
    pub fn acceptance(&self, r: &Receipt, now: Timestamp) -> Acceptance {
        Acceptance {
            provider: r
                .provider
                .clone()
                .unwrap_or_else(|| self.transport.name().to_string()),
            provider_id: r.provider_id.clone(),
            segments: r.segments,
            report_at: (r.reports && r.provider_id.is_some())
                .then(|| self.reports.next_check(now, 0, now))
                .flatten(),
        }
    }

    /// Entries that were in hand when the daemon stopped: marked sent if the transport shows they
    /// went out, put back in the queue otherwise (in doubt if it cannot tell). Returns (found
    /// sent, requeued).
    pub async fn recover(&self) -> Result<(usize, usize), StoreError> {
        let channel = self.transport.channel();
        let in_hand = self.store.in_hand(channel, usize::MAX).await?;
        let (mut found, mut requeued, mut doubtful) = (0, 0, 0);
        for e in in_hand {
            let lookup = self.transport.find_sent(&e).await;
            let now = self.clock.now();
            let accepted = match &lookup {
                Lookup::Sent(r) => Some(self.acceptance(r, now)),
                _ => None,
            };
            let unknown = lookup == Lookup::Unknown;
            self.store
                .finish(&e.key, move |x| match &accepted {
                    Some(a) => x.found_sent(a.clone(), now),
                    None => x.recover(unknown),
                })
                .await?;
            match lookup {
                Lookup::Sent(_) => found += 1,
                Lookup::NotSent => requeued += 1,
                Lookup::Unknown => {
                    requeued += 1;
                    doubtful += 1;
                }
            }
        }
        if found + requeued > 0 {
            self.store.flush().await?;
            tracing::warn!(
                channel = channel.as_str(),
                found_sent = found,
                requeued,
                in_doubt = doubtful,
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
            let now = self.clock.now();
            let due = self.store.pending(channel, now, BATCH).await?;
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
                    Outcome::Held => total.held += 1,
                    Outcome::Skipped => {}
                }
            }
            if n < BATCH {
                break;
            }
        }
        Ok(total)
    }

    async fn deliver(&self, entry: OutboxEntry) -> Result<Outcome, StoreError> {
        let channel = self.transport.channel();
        // A message that must wait (send window closed for its recipient, gateway resting after
        // refusing the account) is put back before it takes a slot or a rate-limit token, so
        // it does not hold up the messages that can go.
        let now = self.clock.now();
        let carrier = entry.facts.carrier;
        let hold = entry.window_hold(now, &self.window);
        // Usually nothing holds it, and the store need not be asked.
        let may_wait = hold.is_some() || !self.transport.paused().is_empty();
        if may_wait && self.hold(&entry.key, hold, carrier, now).await? {
            return Ok(Outcome::Held);
        }
        // Wait for capacity before claiming, so that what is "in hand" is only what is being
        // sent: a crash then leaves as little as possible to check.
        let _slot = self.slots.acquire().await;
        self.limiter.until_ready().await;
        let key = entry.key.clone();
        let now = self.clock.now();
        let transport = self.transport.clone();
        let window = self.window;
        // A customer message links the parcel's tracking page: its code is recorded with the
        // claim, so it leads somewhere by the time the message is read.
        let page_code = (entry.key.kind.audience() == Audience::Customer).then(|| {
            self.links
                .page_code(key.shop.as_str(), key.track.as_str(), key.parcel_id)
        });
        // The claim is on disk before anything leaves (the committer flushes before it
        // answers): after a crash the entry is found "in hand" and checked against the
        // transport instead of being sent blindly again.
        let claimed = self
            .committer
            .run(move |store| {
                let shop = store.shop(&key.shop)?;
                let route = super::route(&*transport, shop.as_ref(), carrier);
                let c = store.claim(&key, now, |e| e.window_hold(now, &window), route)?;
                let extra = match &c {
                    Claim::Claimed(_) => Some((
                        store.parcel(&key.parcel())?,
                        store.templates_for(&key.shop, key.kind)?,
                    )),
                    _ => None,
                };
                if let (Claim::Claimed(_), Some(code)) = (&c, &page_code) {
                    store.remember_page_code(code, &key.parcel(), key.parcel_id)?;
                }
                Ok((c, shop, extra))
            })
            .await?;
        let (entry, shop, parcel, overrides) = match claimed {
            (Claim::Claimed(e), shop, Some((p, o))) => (*e, shop, p, o),
            (Claim::Cancelled(reason), ..) => {
                tracing::info!(channel = channel.as_str(), outbox_key = %entry.key.slug(), reason, "Message withdrawn");
                metrics::counter!("parceld_notifications_total", "channel" => channel.as_str(), "outcome" => "cancelled").increment(1);
                return Ok(Outcome::Cancelled);
            }
            (Claim::Held(until), ..) => {
                tracing::debug!(channel = channel.as_str(), outbox_key = %entry.key.slug(), until = %until, "Held for the send window");
                return Ok(Outcome::Held);
            }
            _ => return Ok(Outcome::Skipped),
        };

        // An earlier attempt may have reached the provider: ask before sending again. The claim
        // counted this send as doubtful; an answer either way takes that back.
        let mut resolved = false;
        if entry.in_doubt {
            match self.transport.find_sent(&entry).await {
                Lookup::Sent(r) => {
                    let now = self.clock.now();
                    let a = self.acceptance(&r, now);
                    self.store_outcome(&entry, move |x| {
                        x.doubt_resolved();
                        x.found_sent(a.clone(), now)
                    })
                    .await?;
                    tracing::info!(channel = channel.as_str(), outbox_key = %entry.key.slug(), "The provider already had the message; not sending it again");
                    return Ok(Outcome::Sent);
                }
                Lookup::NotSent => resolved = true,
                Lookup::Unknown => {}
            }
        }

        let contacts = match (&parcel, entry.key.kind) {
            (Some(p), NotificationKind::ReturnStarted) => (
                p.customer.phone.as_ref().map(|x| x.as_str().to_string()),
                p.customer.email.as_ref().map(|x| x.as_str().to_string()),
            ),
            _ => (None, None),
        };
        let messaging = shop
            .as_ref()
            .map(|s| s.messaging.clone())
            .unwrap_or_default();
        let links = match entry.key.kind.audience() {
            Audience::Customer => self
                .links
                .links(&entry.key, entry.facts.carrier, &messaging),
            Audience::Shop => Links::default(),
        };
        let result = match self
            .templates
            .render(&entry, contacts, now, &links, &overrides)
        {
            Err(e) => Err(Failure::Permanent(e.to_string())),
            Ok(body) => {
                let msg = Outgoing {
                    key: entry.key.clone(),
                    recipient: entry.recipient.clone(),
                    shop_name: entry.facts.shop_name.clone(),
                    reply_to: entry.facts.shop_email.clone(),
                    body,
                    unsubscribe_url: links.unsubscribe.clone(),
                    gateway: entry.provider.clone(),
                    sender: messaging.sms_sender.clone(),
                };
                match tokio::time::timeout(self.timeout, self.transport.send(&msg)).await {
                    Ok(r) => r,
                    Err(_) => Err(Failure::Unknown(format!(
                        "no answer within {}",
                        humantime::format_duration(self.timeout)
                    ))),
                }
            }
        };
        if result.is_ok() && crate::faults::hit("sender.crash_after_send") {
            // The provider accepted; the receipt is not written yet: the crash window.
            std::process::abort();
        }
        let now = self.clock.now();
        let policy = self.policy;
        let r = getrandom::u64().unwrap_or(0);
        let accepted = result.as_ref().ok().map(|rc| self.acceptance(rc, now));
        let failure = result.as_ref().err().cloned();
        let stored = self
            .store_outcome(&entry, move |e| {
                if resolved {
                    e.doubt_resolved();
                }
                match (&accepted, &failure) {
                    (Some(a), _) => e.succeed(a.clone(), now),
                    (None, Some(f)) => e.fail(f.clone(), now, &policy, r),
                    (None, None) => {}
                }
            })
            .await?;
        Ok(self.report(&entry, &result, stored.map(|e| e.state), now))
    }

    /// Puts a message back until the send window opens for its recipient (`hold`) or its
    /// gateway takes messages again, before it takes a slot or a rate-limit token. Returns
    /// whether it was put back.
    async fn hold(
        &self,
        key: &OutboxKey,
        hold: Option<Timestamp>,
        carrier: CarrierId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let until = match hold {
            Some(until) => Some(until),
            None => {
                let shop = self.store.shop(&key.shop).await?;
                let route = super::route(&*self.transport, shop.as_ref(), carrier);
                self.transport
                    .paused_for(route)
                    .and_then(|d| now.checked_add(d).ok())
            }
        };
        match until {
            Some(until) => self.store.defer(key, until).await.map(|_| true),
            None => Ok(false),
        }
    }

    /// Records what happened to a claimed entry; on disk when this returns.
    async fn store_outcome(
        &self,
        entry: &OutboxEntry,
        update: impl Fn(&mut OutboxEntry) + Send + 'static,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let key = entry.key.clone();
        self.committer
            .run(move |store| store.finish(&key, update))
            .await
    }

    /// Logs, metrics and health for one attempt.
    fn report(
        &self,
        entry: &OutboxEntry,
        result: &Result<Receipt, Failure>,
        state: Option<DeliveryState>,
        now: Timestamp,
    ) -> Outcome {
        let channel = self.transport.channel();
        let slug = entry.key.slug();
        let out = match result {
            Ok(r) => {
                self.health.channel(channel, |s| {
                    s.last_success_at = Some(now);
                    s.paused_until = None;
                    s.paused_reason = None;
                });
                tracing::info!(channel = channel.as_str(), outbox_key = %slug, gateway = r.provider.as_deref().unwrap_or(self.transport.name()), provider_id = r.provider_id.as_deref().unwrap_or(""), "Message sent");
                Outcome::Sent
            }
            Err(f) => {
                let text = f.message().to_string();
                self.health.channel(channel, |s| {
                    s.last_error = Some(text.clone());
                    s.last_error_at = Some(now);
                    if let Failure::Paused { retry_after, .. } = f {
                        s.paused_until = now.checked_add(*retry_after).ok();
                        s.paused_reason = Some(text.clone());
                    }
                });
                if state == Some(DeliveryState::Dead) {
                    tracing::error!(channel = channel.as_str(), outbox_key = %slug, error = %text, "Message given up");
                    Outcome::Dead
                } else {
                    tracing::warn!(channel = channel.as_str(), outbox_key = %slug, error = %text, "Send failed; will retry");
                    Outcome::Retry
                }
            }
        };
        let label = match (out, result) {
            (Outcome::Sent, _) => "sent",
            (Outcome::Dead, _) => "dead",
            (_, Err(Failure::Paused { .. })) => "paused",
            (_, Err(Failure::Unknown(_))) => "no_answer",
            _ => "retry",
        };
        metrics::counter!("parceld_notifications_total", "channel" => channel.as_str(), "outcome" => label).increment(1);
        out
    }
}

#[cfg(test)]
#[path = "deliver_tests.rs"]
mod tests;
