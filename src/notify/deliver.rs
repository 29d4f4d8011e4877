//! Delivering the outbox of one channel: take due entries in waves (holding back those whose
//! send window is closed in the recipient's zone or whose gateway rests), wait until the rate
//! limit lets a whole wave go, claim it in one commit (recording the gateway each goes
//! through, the file for the sandbox carrier's parcels), ask the provider first if an earlier
//! attempt may have reached it, render each with the shop's templates, send it through one of
//! the channel's slots within the overall time limit, and record the outcome. Claims and
//! receipts go through the store's group commit ([`Committer`]): a wave's claims are on disk
//! before any of it leaves, each receipt is on disk before its message counts as sent, and the
//! receipts that arrive together share one transaction and one flush. Up to three more waves
//! are claimed while this one goes, and wait for its slots. A wave holds what the rate limit
//! lets go in [`WAVE_AHEAD`], at most one per slot: a channel held to a few messages a second
//! claims one at a time, and "in hand" is only ever what is about to leave. Also the recovery
//! after a crash of entries that were in hand.
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
use crate::domain::parcel::Parcel;
use crate::domain::schedule::DailyWindow;
use crate::domain::shop::{Shop, ShopId};
use crate::domain::template::Part;
use crate::health::Health;
use crate::store::{Claim, Committer, Store, StoreError, SyncStore};
use governor::DefaultDirectRateLimiter;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::num::NonZeroU32;
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
    /// The channel's rate limiter, with bursts of up to a wave ([`limiter`]).
    pub limiter: Arc<DefaultDirectRateLimiter>,
    /// How many messages a wave claims at most ([`wave_size`]).
    pub wave: usize,
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

/// A wave holds what the rate limit lets go in this time.
pub const WAVE_AHEAD: Duration = Duration::from_millis(50);

/// How many messages a wave claims for a channel limited to `per_second` with `slots`: what
/// the rate lets go in [`WAVE_AHEAD`], at least one, at most one per slot. A slow channel
/// claims one message at a time, as it sends them.
pub fn wave_size(per_second: f64, slots: usize) -> usize {
    let ahead = (per_second * WAVE_AHEAD.as_secs_f64()).ceil();
    let most = slots.max(1);
    if ahead.is_finite() && ahead < most as f64 {
        (ahead as usize).max(1)
    } else {
        most
    }
}

/// The rate limiter of a channel limited to `rate` that claims waves of `wave`: the rate on
/// average, with bursts of one wave (what the rate lets go in [`WAVE_AHEAD`] anyway), so that a
/// wave takes its tokens at once before it is claimed.
pub fn limiter(rate: governor::Quota, wave: usize) -> DefaultDirectRateLimiter {
    let burst = NonZeroU32::new(u32::try_from(wave).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::direct(rate.allow_burst(burst))
}

/// A due entry after its wave's claim.
struct Claimed {
    key: OutboxKey,
    found: Found,
}

/// What the claim found, with what sending needs when it is the sender's.
enum Found {
    Claimed(Box<Ready>),
    Cancelled(&'static str),
    Held(Timestamp),
    Skipped,
}

/// A claimed entry and what rendering it needs.
struct Ready {
    entry: OutboxEntry,
    shop: Option<Shop>,
    parcel: Option<Parcel>,
    overrides: BTreeMap<Part, String>,
}

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
    ///
    /// Due entries are claimed in waves ([`Self::claim_wave`]) of up to [`wave_size`], in one
    /// commit and one flush. The claimed are sent through the channel's slots while up to
    /// three more waves are claimed; their receipts go to the group commit as the answers come,
    /// one transaction and one flush for all that arrive together.
    pub async fn drain(&self) -> Result<DrainSummary, StoreError> {
        use futures_util::StreamExt;
        let channel = self.transport.channel();
        let wave = self.wave.max(1);
        let mut total = DrainSummary::default();
        loop {
            let now = self.clock.now();
            let due = self.store.pending(channel, now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            let n = due.len();
            let mut due = due.into_iter().peekable();
            let mut held = 0;
            // Waves until `due` runs out or a claim fails (the round then ends with the error).
            let waves =
                futures_util::stream::unfold(Some((&mut due, &mut held)), |state| async move {
                    let (due, held) = state?;
                    match self.claim_wave(due, held, wave).await {
                        Ok(w) if w.is_empty() => None,
                        Ok(w) => Some((Ok(w), Some((due, held)))),
                        Err(e) => Some((Err(e), None)),
                    }
                });
            let results: Vec<Result<Outcome, StoreError>> = waves
                .flat_map(|w| {
                    futures_util::stream::iter(match w {
                        Ok(claims) => claims.into_iter().map(Ok).collect::<Vec<_>>(),
                        Err(e) => vec![Err(e)],
                    })
                })
                .map(|c| async move {
                    match c {
                        Ok(c) => self.deliver(c).await,
                        Err(e) => Err(e),
                    }
                })
                // Three waves more than the slots: the next waves are claimed while this one
                // goes, and a message whose receipt is being written has given its slot back
                // (a receipt waits for a flush, a send for less).
                .buffer_unordered(self.slots.available_permits().max(1) + 3 * wave)
                .collect()
                .await;
            total.held += held;
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

    /// Takes the next wave from `due`: puts back those that must wait (counted in `held`),
    /// waits for the rate limit to let up to `max` of the others go, and claims them in one
    /// commit, on disk before it returns.
    async fn claim_wave(
        &self,
        due: &mut std::iter::Peekable<std::vec::IntoIter<OutboxEntry>>,
        held: &mut usize,
        max: usize,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut wave: Vec<(OutboxEntry, Option<String>)> = Vec::new();
        while wave.len() < max {
            let Some(entry) = due.peek() else { break };
            // A message that must wait (send window closed for its recipient, gateway resting
            // after refusing the account) is put back before it takes a rate-limit token, so
            // it does not hold up the messages that can go.
            let now = self.clock.now();
            let hold = entry.window_hold(now, &self.window);
            // Usually nothing holds it, and the store need not be asked.
            let may_wait = hold.is_some() || !self.transport.paused().is_empty();
            if may_wait
                && self
                    .hold(&entry.key, hold, entry.facts.carrier, now)
                    .await?
            {
                *held += 1;
                due.next();
                continue;
            }
            let Some(entry) = due.next() else { break };
            // A customer message links the parcel's tracking page: its code is recorded with
            // the claim, so it leads somewhere by the time the message is read.
            let key = &entry.key;
            let page_code = (key.kind.audience() == Audience::Customer).then(|| {
                self.links
                    .page_code(key.shop.as_str(), key.track.as_str(), key.parcel_id)
            });
            wave.push((entry, page_code));
        }
        if wave.is_empty() {
            return Ok(Vec::new());
        }
        // Wait for the rate limit before claiming, so that what is "in hand" is only what is
        // about to be sent: a crash then leaves as little as possible to check.
        let tokens = NonZeroU32::new(u32::try_from(wave.len()).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        if self.limiter.until_n_ready(tokens).await.is_err() {
            // A wave larger than the limiter's burst: a token at a time.
            for _ in 0..wave.len() {
                self.limiter.until_ready().await;
            }
        }
        let now = self.clock.now();
        let transport = self.transport.clone();
        let window = self.window;
        // The claims are on disk before anything leaves (the committer flushes before it
        // answers): after a crash the entries are found "in hand" and checked against the
        // transport instead of being sent blindly again.
        self.committer
            .run(move |store| claim_in(store, &*transport, wave, now, &window))
            .await
    }

    async fn deliver(&self, claimed: Claimed) -> Result<Outcome, StoreError> {
        let channel = self.transport.channel();
        let (entry, shop, parcel, overrides) = match claimed.found {
            Found::Claimed(ready) => {
                let Ready {
                    entry,
                    shop,
                    parcel,
                    overrides,
                } = *ready;
                (entry, shop, parcel, overrides)
            }
            Found::Cancelled(reason) => {
                tracing::info!(channel = channel.as_str(), outbox_key = %claimed.key.slug(), reason, "Message withdrawn");
                metrics::counter!("parceld_notifications_total", "channel" => channel.as_str(), "outcome" => "cancelled").increment(1);
                return Ok(Outcome::Cancelled);
            }
            Found::Held(until) => {
                tracing::debug!(channel = channel.as_str(), outbox_key = %claimed.key.slug(), until = %until, "Held for the send window");
                return Ok(Outcome::Held);
            }
            Found::Skipped => return Ok(Outcome::Skipped),
        };
        let slot = self.slots.acquire().await;
        let now = self.clock.now();

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
        drop(slot);
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

    /// Records what happened to a claimed entry; on disk when this returns (the group commit
    /// writes the receipts that arrive together in one transaction, with one flush).
    async fn store_outcome(
        &self,
        entry: &OutboxEntry,
        update: impl Fn(&mut OutboxEntry) + Send + 'static,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        self.committer.finish(entry.key.clone(), update).await
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

/// Claims `wave` (each entry with its tracking page's code, for customer messages) in one
/// transaction, with the plain reads before it (each shop once, for the routes) and after it
/// (what rendering a claimed entry needs, each shop's templates for a kind once): sled lets
/// none in while a transaction runs.
fn claim_in(
    store: &SyncStore,
    transport: &dyn Transport,
    wave: Vec<(OutboxEntry, Option<String>)>,
    now: Timestamp,
    window: &DailyWindow,
) -> Result<Vec<Claimed>, StoreError> {
    let mut shops: BTreeMap<ShopId, Option<Shop>> = BTreeMap::new();
    for (entry, _) in &wave {
        if let Entry::Vacant(v) = shops.entry(entry.key.shop.clone()) {
            v.insert(store.shop(&entry.key.shop)?);
        }
    }
    let routes: Vec<(OutboxKey, &str)> = wave
        .iter()
        .map(|(e, _)| {
            let shop = shops.get(&e.key.shop).and_then(Option::as_ref);
            (
                e.key.clone(),
                super::route(transport, shop, e.facts.carrier),
            )
        })
        .collect();
    let claims = store.claim_many(&routes, now, |e| e.window_hold(now, window))?;
    let mut templates: BTreeMap<(ShopId, NotificationKind), BTreeMap<Part, String>> =
        BTreeMap::new();
    let mut claimed = Vec::with_capacity(wave.len());
    for ((entry, page_code), claim) in wave.into_iter().zip(claims) {
        let key = &entry.key;
        let found = match claim {
            Claim::Claimed(e) => {
                if let Some(code) = &page_code {
                    store.remember_page_code(code, &key.parcel(), key.parcel_id)?;
                }
                let overrides = match templates.entry((key.shop.clone(), key.kind)) {
                    Entry::Occupied(o) => o.get().clone(),
                    Entry::Vacant(v) => v.insert(store.templates_for(&key.shop, key.kind)?).clone(),
                };
                Found::Claimed(Box::new(Ready {
                    entry: *e,
                    shop: shops.get(&key.shop).cloned().flatten(),
                    parcel: store.parcel(&key.parcel())?,
                    overrides,
                }))
            }
            Claim::Cancelled(reason) => Found::Cancelled(reason),
            Claim::Held(until) => Found::Held(until),
            Claim::Skipped => Found::Skipped,
        };
        claimed.push(Claimed {
            key: entry.key,
            found,
        });
    }
    Ok(claimed)
}

#[cfg(test)]
#[path = "deliver_tests.rs"]
mod tests;
