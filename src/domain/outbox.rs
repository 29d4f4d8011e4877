//! Outbox entries: one message to one recipient over one channel, and the states it goes
//! through until the provider has it.
//!
//! An entry's key is deterministic (shop, track, parcel id, kind, occurrence, channel), so an
//! intent derived twice finds the entry that exists. The state machine:
//!
//! ```text
//! pending ──claim──▶ sending ──receipt──▶ sent
//!    ▲                  │ failure (transient, attempts left)
//!    └──────────────────┘
//!                       │ permanent failure / attempts exhausted
//!                       ▼
//!                     dead            cancelled (parcel finished, deleted, unsubscribed)
//! ```
//!
//! After a crash, entries found in `sending` go back to `pending` unless the channel can prove
//! they were delivered; that window (provider accepted, receipt not yet written) is the only
//! source of duplicates. An entry that may already be with the provider (in hand at a crash, or
//! an attempt that got no answer) is marked `in_doubt`: before it is sent again the transport is
//! asked whether it has it, and a send that goes out anyway is counted in `doubtful_resends`.
//!
//! A sent SMS waits for its delivery report: `next_report_at` says when to ask the provider.

use super::carrier::CarrierId;
use super::delivery::DeliveryReport;
use super::money::Kopecks;
use super::notification::{Audience, Channel, Intent, NotificationKind};
use super::outlook::{MessageOutlook, message_outlook};
use super::parcel::{Office, Parcel, ParcelKey};
use super::postal_zone;
use super::schedule::{DailyWindow, backoff};
use super::shop::{Language, Shop, ShopId};
use super::status::Status;
use super::storage::Basis;
use super::track::TrackNumber;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Identifies an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutboxKey {
    /// The shop.
    pub shop: ShopId,
    /// The track number.
    pub track: TrackNumber,
    /// The parcel's store-wide id: a parcel deleted and handed over again starts afresh.
    pub parcel_id: u64,
    /// What about.
    pub kind: NotificationKind,
    /// Which occurrence of it.
    pub occurrence: u32,
    /// Over which channel.
    pub channel: Channel,
}

impl OutboxKey {
    /// The parcel it is about.
    pub fn parcel(&self) -> ParcelKey {
        ParcelKey::new(self.shop.clone(), self.track.clone())
    }

    /// A short stable identifier, used as the e-mail Message-ID's local part and file names.
    pub fn slug(&self) -> String {
        format!(
            "{}-{}-{}-{}-{}-{}",
            self.shop,
            self.track,
            self.parcel_id,
            self.kind.as_str(),
            self.occurrence,
            self.channel.as_str()
        )
    }
}

/// Where an entry is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its time (`next_attempt_at`).
    Pending,
    /// A sender has it in hand.
    Sending,
    /// The provider accepted it.
    Sent,
    /// Given up: a permanent error or too many attempts.
    Dead,
    /// No longer wanted (the parcel moved on, was deleted, the customer unsubscribed).
    Cancelled,
}

impl DeliveryState {
    /// The state's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dead => "dead",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// Nothing will happen to the entry any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Sent | DeliveryState::Dead | DeliveryState::Cancelled
        )
    }
}

/// What the message says: a snapshot of the parcel taken when the intent was made, so the
/// message describes the event that caused it even if it is sent later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFacts {
    /// The shop's name.
    pub shop_name: String,
    /// The shop's phone for customers.
    pub shop_phone: Option<String>,
    /// The shop's reply address.
    pub shop_email: Option<String>,
    /// Language of default templates.
    pub language: Language,
    /// The customer's full name.
    pub customer_name: String,
    /// The customer's first name.
    pub first_name: String,
    /// The shop's order number.
    pub order_id: Option<String>,
    /// The track number.
    pub track: String,
    /// The carrier.
    pub carrier: CarrierId,
    /// Amount due at the office.
    pub cod: Kopecks,
    /// What is inside.
    pub contents: Option<String>,
    /// The status at the time.
    pub status: Status,
    /// The pickup office, when waiting (or probably waiting).
    pub office: Option<Office>,
    /// When it arrived at the office.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub arrived_at: Option<Timestamp>,
    /// The storage deadline.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub deadline: Option<Timestamp>,
    /// The recipient's time zone (IANA name), for dates in the text.
    pub timezone: String,
}

impl MessageFacts {
    /// Facts that name only the shop and a track: for messages that are not about a parcel's
    /// journey (the shop's report) and for tests.
    pub fn minimal(shop_name: &str, language: Language, track: &str, timezone: &str) -> Self {
        MessageFacts {
            shop_name: shop_name.to_string(),
            shop_phone: None,
            shop_email: None,
            language,
            customer_name: String::new(),
            first_name: String::new(),
            order_id: None,
            track: track.to_string(),
            carrier: CarrierId::Sandbox,
            cod: Kopecks::ZERO,
            contents: None,
            status: Status::Registered,
            office: None,
            arrived_at: None,
            deadline: None,
            timezone: timezone.to_string(),
        }
    }
}

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Its key.
    pub key: OutboxKey,
    /// Phone (E.164) or e-mail address.
    pub recipient: String,
    /// What to say.
    pub facts: MessageFacts,
    /// Delivery state.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was created.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub created_at: Timestamp,
    /// When it may be tried (next).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub next_attempt_at: Timestamp,
    /// When a sender last claimed it.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub claimed_at: Option<Timestamp>,
    /// When the provider accepted it.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub sent_at: Option<Timestamp>,
    /// The provider's id for it.
    pub provider_id: Option<String>,
    /// The provider's delivery report, when known ("delivered", "undeliverable").
    pub delivery_status: Option<String>,
    /// Why the last attempt failed, or why it was cancelled.
    pub last_error: Option<String>,
    /// The transport or gateway that accepted it (`smtp`, `smsru`, `smsc`, `file`).
    pub provider: Option<String>,
    /// The SMS segments it cost.
    pub segments: Option<u32>,
    /// The provider may already have it (the daemon stopped while it was in hand, or an attempt
    /// got no answer): ask the transport before sending it again.
    pub in_doubt: bool,
    /// Sends made while in doubt, counted when claimed: each may have delivered the message a
    /// second time (an upper bound of the duplicates).
    pub doubtful_resends: u32,
    /// When to ask the provider for its delivery report next; `None` once known or given up.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub next_report_at: Option<Timestamp>,
    /// Delivery reports asked for so far.
    pub report_checks: u32,
    /// What the message says of the expected arrival and of an earlier "probably arrived"
    /// (kept last: a record of version 1, written before it existed, reads with its default).
    pub outlook: MessageOutlook,
}

/// What the provider said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Acceptance {
    /// The transport or gateway.
    pub provider: String,
    /// The provider's id for the message.
    pub provider_id: Option<String>,
    /// SMS segments.
    pub segments: Option<u32>,
    /// When to ask for the delivery report (for providers that give one).
    pub report_at: Option<Timestamp>,
}

/// How often a sent message's delivery report is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportPolicy {
    /// The first wait after sending; later waits double, up to 16 times this.
    pub every: Duration,
    /// Stop asking this long after the message was sent.
    pub give_up_after: Duration,
}

impl ReportPolicy {
    /// When to ask next after `checks` answers that were not final, or `None` to give up.
    pub fn next_check(&self, sent_at: Timestamp, checks: u32, now: Timestamp) -> Option<Timestamp> {
        let wait = self.every.saturating_mul(1 << checks.min(4));
        let next = now.checked_add(wait).ok()?;
        let end = sent_at.checked_add(self.give_up_after).ok()?;
        (next <= end).then_some(next)
    }
}

/// How a failed attempt is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// First delay.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Refused for now, and certainly not accepted (connection refused, 5xx, a 4xx reply): worth
    /// trying again later.
    Transient(String),
    /// No answer (timeout, connection lost mid-request): the provider may have accepted it.
    /// Tried again later, after asking the provider if it can tell.
    Unknown(String),
    /// Trying again will not help this message (bad number, unknown mailbox, text refused).
    Permanent(String),
    /// The provider refuses the account, not the message (credentials, funds, sender name not
    /// approved, IP blocked): the message waits `retry_after`, the attempt is not counted, and
    /// the channel pauses instead of burning every message's attempts.
    Paused {
        /// What the provider said.
        reason: String,
        /// How long to wait.
        retry_after: Duration,
    },
}

impl Failure {
    /// The failure in words.
    pub fn message(&self) -> &str {
        match self {
            Failure::Transient(m) | Failure::Unknown(m) | Failure::Permanent(m) => m,
            Failure::Paused { reason, .. } => reason,
        }
    }
}

impl OutboxEntry {
    /// A new pending entry, due at `next_attempt_at`.
    pub fn new(
        key: OutboxKey,
        recipient: String,
        facts: MessageFacts,
        now: Timestamp,
        next_attempt_at: Timestamp,
    ) -> Self {
        OutboxEntry {
            key,
            recipient,
            facts,
            state: DeliveryState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at,
            claimed_at: None,
            sent_at: None,
            provider_id: None,
            delivery_status: None,
            last_error: None,
            provider: None,
            segments: None,
            in_doubt: false,
            doubtful_resends: 0,
            next_report_at: None,
            report_checks: 0,
            outlook: MessageOutlook::default(),
        }
    }

    /// Takes a pending entry for sending. Returns false if it is not pending.
    pub fn claim(&mut self, now: Timestamp) -> bool {
        if self.state != DeliveryState::Pending {
            return false;
        }
        self.state = DeliveryState::Sending;
        self.attempts += 1;
        self.claimed_at = Some(now);
        if self.in_doubt {
            // Counted before the send leaves, so a crash cannot lose the count.
            self.doubtful_resends += 1;
        }
        true
    }

    /// The transport answered the doubt before the send (it has the message, or certainly does
    /// not): the send this claim counted as doubtful is not one.
    pub fn doubt_resolved(&mut self) {
        if self.in_doubt {
            self.in_doubt = false;
            self.doubtful_resends = self.doubtful_resends.saturating_sub(1);
        }
    }

    /// Records the provider's acceptance.
    pub fn succeed(&mut self, accepted: Acceptance, now: Timestamp) {
        self.in_doubt = false;
        self.state = DeliveryState::Sent;
        self.sent_at = Some(now);
        self.provider = Some(accepted.provider);
        self.provider_id = accepted.provider_id;
        self.segments = accepted.segments;
        self.next_report_at = accepted.report_at;
        self.last_error = None;
    }

    /// Records that the provider already had it (found after a crash or a lost answer): sent,
    /// and not counted as a resend.
    pub fn found_sent(&mut self, accepted: Acceptance, now: Timestamp) {
        self.in_doubt = false;
        self.state = DeliveryState::Sending;
        self.succeed(accepted, now);
    }

    /// Records a failed attempt: back to pending with a backoff, or dead.
    pub fn fail(&mut self, failure: Failure, now: Timestamp, policy: &RetryPolicy, random: u64) {
        if matches!(failure, Failure::Unknown(_)) {
            self.in_doubt = true;
        }
        match failure {
            Failure::Permanent(msg) => {
                self.state = DeliveryState::Dead;
                self.last_error = Some(msg);
            }
            Failure::Paused {
                reason,
                retry_after,
            } => {
                self.state = DeliveryState::Pending;
                self.attempts = self.attempts.saturating_sub(1);
                self.next_attempt_at = now.checked_add(retry_after).unwrap_or(Timestamp::MAX);
                self.last_error = Some(reason);
            }
            Failure::Transient(msg) | Failure::Unknown(msg) => {
                if self.attempts >= policy.max_attempts {
                    self.state = DeliveryState::Dead;
                    self.last_error =
                        Some(format!("gave up after {} attempts: {msg}", self.attempts));
                } else {
                    self.state = DeliveryState::Pending;
                    let delay = backoff(self.attempts, policy.base, policy.cap, random);
                    self.next_attempt_at = now.checked_add(delay).unwrap_or(Timestamp::MAX);
                    self.last_error = Some(msg);
                }
            }
        }
    }

    /// Puts an entry that was in hand during a crash back in the queue. The attempt it used is
    /// not counted. `in_doubt`: the transport cannot tell whether the provider has it.
    pub fn recover(&mut self, in_doubt: bool) {
        if self.state == DeliveryState::Sending {
            self.state = DeliveryState::Pending;
            self.attempts = self.attempts.saturating_sub(1);
            self.in_doubt |= in_doubt;
        }
    }

    /// When a customer message that is due now must wait for the send window in the
    /// recipient's time zone (a retry must not go out at 3 am); `None` if it may go now.
    pub fn window_hold(&self, now: Timestamp, window: &DailyWindow) -> Option<Timestamp> {
        if self.key.kind.audience() != Audience::Customer || window.is_always() {
            return None;
        }
        let tz = TimeZone::get(&self.facts.timezone).unwrap_or(TimeZone::UTC);
        let open = window.next_open(now, &tz);
        (open > now).then_some(open)
    }

    /// Records the answer to a delivery-report question: the report, or `None` when the provider
    /// said nothing about it. `next` is when to ask again if the answer is not final.
    pub fn record_report(&mut self, report: Option<&DeliveryReport>, next: Option<Timestamp>) {
        self.report_checks += 1;
        self.next_report_at = next;
        if let Some(r) = report {
            self.delivery_status = Some(r.status.as_str().to_string());
            if r.status.is_final() {
                self.next_report_at = None;
            }
            if r.status.is_failure() {
                self.last_error = r.detail.clone();
            }
        }
    }

    /// Gives a dead letter a fresh start (after an operator fixed the cause): pending now, with
    /// all its attempts. Returns false if it is not dead.
    pub fn requeue(&mut self, now: Timestamp) -> bool {
        if self.state != DeliveryState::Dead {
            return false;
        }
        self.state = DeliveryState::Pending;
        self.attempts = 0;
        self.next_attempt_at = now;
        self.last_error = self
            .last_error
            .take()
            .map(|e| format!("requeued after: {e}"));
        true
    }

    /// Withdraws an entry that is not yet sent.
    pub fn cancel(&mut self, reason: &str) -> bool {
        if self.state.is_final() {
            return false;
        }
        self.state = DeliveryState::Cancelled;
        self.last_error = Some(reason.to_string());
        true
    }
}

/// Why a customer message should not go out any more, given the parcel as it is now.
pub fn stale_reason(
    kind: NotificationKind,
    channel: Channel,
    parcel: &Parcel,
) -> Option<&'static str> {
    if kind.audience() == Audience::Customer && !parcel.may_notify(channel) {
        return Some("the customer unsubscribed");
    }
    let waiting_kinds = matches!(
        kind,
        NotificationKind::Arrived | NotificationKind::Reminder | NotificationKind::LastReminder
    );
    if waiting_kinds && !parcel.is_waiting_for_pickup() {
        return Some("the parcel no longer waits at the office");
    }
    let expired = parcel
        .arrival
        .as_ref()
        .is_some_and(|a| matches!(a.deadline.basis, Basis::Expired { .. }));
    if waiting_kinds && expired {
        return Some("the post says storage expired");
    }
    if kind == NotificationKind::ProbablyArrived
        && (parcel.is_waiting_for_pickup() || parcel.status.is_final())
    {
        return Some("the parcel's arrival was recorded or its journey finished");
    }
    if kind == NotificationKind::Accepted && parcel.status.is_final() {
        return Some("the parcel already finished its journey");
    }
    None
}

/// The customer's time zone: the pickup office's region when the carrier named the office,
/// the shop's time zone otherwise.
pub fn recipient_timezone(parcel: &Parcel, shop: &Shop) -> String {
    office_timezone(parcel).map_or_else(|| shop.timezone.clone(), str::to_string)
}

/// The time zone of the pickup office, when the carrier named an office whose index has one.
pub fn office_timezone(parcel: &Parcel) -> Option<&'static str> {
    parcel
        .arrival
        .as_ref()
        .and_then(|a| a.office.index.as_deref())
        .and_then(postal_zone::zone_of_index)
}

/// When customer and shop messages may go out.
#[derive(Debug, Clone)]
pub struct SendTiming<'a> {
    /// The window customer messages go out in, in their time zone.
    pub window: &'a DailyWindow,
}

/// What a message about the parcel says, as the parcel and the shop are now.
pub fn facts(parcel: &Parcel, shop: &Shop) -> MessageFacts {
    MessageFacts {
        shop_name: shop.name.clone(),
        shop_phone: shop.phone.clone(),
        shop_email: shop.report_email.as_ref().map(|e| e.as_str().to_string()),
        language: shop.language,
        customer_name: parcel.customer.name.clone(),
        first_name: parcel.customer.first_name().to_string(),
        order_id: parcel.order_id.clone(),
        track: parcel.track.as_str().to_string(),
        carrier: parcel.carrier,
        cod: parcel.cod,
        contents: parcel.contents.clone(),
        status: parcel.status,
        office: parcel
            .arrival
            .as_ref()
            .map(|a| a.office.clone())
            .or_else(|| parcel.outlook.probable.as_ref().map(|p| p.office.clone())),
        arrived_at: parcel.arrival.as_ref().map(|a| a.at),
        deadline: parcel.arrival.as_ref().map(|a| a.deadline.at),
        timezone: recipient_timezone(parcel, shop),
    }
}

/// Where a message of `kind` over `channel` goes now: the customer's current contact, or the
/// shop's report address for messages to the shop.
pub fn recipient(
    kind: NotificationKind,
    channel: Channel,
    parcel: &Parcel,
    shop: &Shop,
) -> Option<String> {
    match (kind.audience(), channel) {
        (Audience::Customer, Channel::Sms) => parcel
            .customer
            .phone
            .as_ref()
            .map(|p| p.as_str().to_string()),
        (Audience::Customer, Channel::Email) => parcel
            .customer
            .email
            .as_ref()
            .map(|e| e.as_str().to_string()),
        (Audience::Shop, Channel::Email) => {
            shop.report_email.as_ref().map(|e| e.as_str().to_string())
        }
        (Audience::Shop, Channel::Sms) => None,
    }
}

/// Brings an unsent entry up to date before it goes: the recipient is the parcel's current
/// contact on its channel and the facts are the parcel's and the shop's current ones (a phone
/// corrected by the shop, a deadline extended by the post). Returns why it cannot go any more
/// when the contact was removed.
pub fn refresh(entry: &mut OutboxEntry, parcel: &Parcel, shop: &Shop) -> Result<(), &'static str> {
    let Some(to) = recipient(entry.key.kind, entry.key.channel, parcel, shop) else {
        return Err(match (entry.key.kind.audience(), entry.key.channel) {
            (Audience::Customer, Channel::Sms) => "the customer has no phone number any more",
            (Audience::Customer, Channel::Email) => "the customer has no e-mail address any more",
            _ => "the shop has no report address any more",
        });
    };
    entry.recipient = to;
    entry.facts = facts(parcel, shop);
    entry.outlook = message_outlook(parcel);
    Ok(())
}

/// Turns an intent into the outbox entries it needs: one per channel that can reach its
/// audience. Customer messages wait for the send window in the customer's time zone.
pub fn plan(
    parcel: &Parcel,
    shop: &Shop,
    intent: Intent,
    now: Timestamp,
    timing: &SendTiming<'_>,
) -> Vec<OutboxEntry> {
    let facts = facts(parcel, shop);
    let outlook = message_outlook(parcel);
    let tz = TimeZone::get(&facts.timezone).unwrap_or(TimeZone::UTC);
    let mut recipients: Vec<(Channel, String, Timestamp)> = Vec::new();
    match intent.kind.audience() {
        Audience::Customer => {
            let at = timing.window.next_open(now, &tz);
            if let Some(phone) = &parcel.customer.phone {
                recipients.push((Channel::Sms, phone.as_str().to_string(), at));
            }
            if let Some(email) = &parcel.customer.email {
                recipients.push((Channel::Email, email.as_str().to_string(), at));
            }
        }
        Audience::Shop => {
            if let Some(email) = &shop.report_email {
                recipients.push((Channel::Email, email.as_str().to_string(), now));
            }
        }
    }
    recipients
        .into_iter()
        .filter(|(channel, _, _)| {
            intent.kind.audience() == Audience::Shop || parcel.may_notify(*channel)
        })
        .map(|(channel, recipient, at)| {
            let mut e = OutboxEntry::new(
                OutboxKey {
                    shop: parcel.shop.clone(),
                    track: parcel.track.clone(),
                    parcel_id: parcel.id,
                    kind: intent.kind,
                    occurrence: intent.occurrence,
                    channel,
                },
                recipient,
                facts.clone(),
                now,
                at,
            );
            e.outlook = outlook;
            e
        })
        .collect()
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
