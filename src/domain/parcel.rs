//! A parcel: what the shop told us, what the carrier reported, and what we told the customer.
//!
//! This is also the shape stored in sled (through the versioned codec), so fields use types
//! bincode can encode: timestamps as milliseconds, no `skip_serializing_if`.

use super::carrier::CarrierId;
use super::contact::EmailAddress;
use super::money::Kopecks;
use super::notification::Channel;
use super::phone::Phone;
use super::shop::ShopId;
use super::status::Status;
use super::storage::{Deadline, MailType, StorageSignal};
use super::track::TrackNumber;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a parcel is kept: its shop, and its track number within the shop. Every store key
/// of a parcel starts with these two, validated once where they come in (an API path, a due
/// key written by the store).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParcelKey {
    /// The shop it belongs to.
    pub shop: ShopId,
    /// Its track number (as handed over; the key within the shop).
    pub track: TrackNumber,
}

impl ParcelKey {
    /// The key of `track` in `shop`.
    pub fn new(shop: ShopId, track: TrackNumber) -> ParcelKey {
        ParcelKey { shop, track }
    }
}

impl std::fmt::Display for ParcelKey {
    /// `shop/track`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.shop, self.track)
    }
}

/// The person who will collect the parcel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Customer {
    /// Full name as the shop wrote it ("Иванов Иван Иванович"); may be empty.
    pub name: String,
    /// Mobile number for SMS.
    pub phone: Option<Phone>,
    /// Address for e-mail.
    pub email: Option<EmailAddress>,
}

impl Customer {
    /// The name to greet the customer with: the first name of a Russian "Surname Name
    /// Patronymic", the first word otherwise.
    pub fn first_name(&self) -> &str {
        let words: Vec<&str> = self.name.split_whitespace().collect();
        match words.len() {
            0 => "",
            1 => words[0],
            // "Иванов Иван Иванович" and "Иванов Иван" both put the given name second.
            2 | 3 if looks_like_surname(words[0]) => words[1],
            _ => words[0],
        }
    }
}

fn looks_like_surname(word: &str) -> bool {
    const ENDINGS: [&str; 14] = [
        "ов", "ова", "ев", "ева", "ин", "ина", "ий", "ая", "ын", "ына", "ко", "ук", "юк", "ых",
    ];
    let lower = word.to_lowercase();
    ENDINGS.iter().any(|e| lower.ends_with(e))
}

/// A post office or pickup point.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Office {
    /// Postal index, e.g. `630099`; absent abroad.
    pub index: Option<String>,
    /// The carrier's short description, e.g. "Новосибирск 630099".
    pub name: String,
    /// Street address, when known (from the office directory or the carrier).
    pub address: Option<String>,
    /// Opening hours, when known.
    pub hours: Option<String>,
    /// The office's phone, when known.
    pub phone: Option<String>,
}

/// One operation the carrier reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierEvent {
    /// When it happened (converted to UTC from the carrier's local time).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub at: Timestamp,
    /// What it means for us.
    pub status: Status,
    /// The carrier's own code, e.g. `8/2` (operation type / attribute) for Russian Post.
    pub code: String,
    /// The carrier's description, e.g. "Прибыло в место вручения".
    pub description: String,
    /// Where it happened.
    pub office: Option<Office>,
    /// What it says about the storage period, if anything (days left, an extension).
    pub storage: Option<StorageSignal>,
    /// It happens only to an item waiting at that office for its addressee (a notice, a
    /// hand-off to the office's postman): evidence of an arrival the carrier may not have
    /// recorded (see [`super::inference`]).
    pub presence: bool,
}

impl CarrierEvent {
    /// Two reports of the same operation: same time and same code.
    pub fn same_operation(&self, other: &CarrierEvent) -> bool {
        self.at == other.at && self.code == other.code
    }
}

/// The parcel is waiting at a pickup office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    /// Which office.
    pub office: Office,
    /// When it arrived there.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub at: Timestamp,
    /// Until when the office keeps it, and why parceld believes so.
    pub deadline: Deadline,
}

/// Which notifications the lifecycle has already asked for, so that each is asked for once.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotifyMarks {
    /// "Accepted by the post" was asked for (or skipped as stale).
    pub accepted: bool,
    /// How many distinct arrival offices were announced.
    pub arrivals: u32,
    /// How many reminders were asked for.
    pub reminders: u32,
    /// The last reminder before the storage deadline in force was asked for.
    pub last_reminder: bool,
    /// How many last reminders were asked for (a deadline that moves later gets one more).
    pub last_reminders: u32,
    /// "Delivered, thank you" was asked for.
    pub delivered: bool,
    /// The shop was alerted that the parcel is going back.
    pub return_alert: bool,
}

/// The poller's bookkeeping for this parcel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PollState {
    /// When the carrier was last asked successfully.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub last_polled_at: Option<Timestamp>,
    /// Failed polls in a row.
    pub failures: u32,
    /// The last failure, for the API.
    pub last_error: Option<String>,
}

/// Everything parceld knows about one parcel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcel {
    /// A store-wide unique number for this parcel, used in message ids.
    pub id: u64,
    /// The shop it belongs to.
    pub shop: ShopId,
    /// Its track number (the key within the shop).
    pub track: TrackNumber,
    /// The carrier that is asked about it.
    pub carrier: CarrierId,
    /// A doubt about the track number (e.g. a wrong check digit), shown to the shop.
    pub track_warning: Option<String>,
    /// The shop's order number.
    pub order_id: Option<String>,
    /// Who collects it.
    pub customer: Customer,
    /// Cash on delivery: what the customer pays at the office. Zero when prepaid.
    pub cod: Kopecks,
    /// What is inside, as the shop describes it.
    pub contents: Option<String>,
    /// When the shop handed it over.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub created_at: Timestamp,
    /// When anything about it last changed.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub updated_at: Timestamp,
    /// Its normalised status.
    pub status: Status,
    /// The carrier's events, oldest first.
    pub events: Vec<CarrierEvent>,
    /// Set while it waits at (or last waited at) a pickup office.
    pub arrival: Option<Arrival>,
    /// Which notifications were asked for.
    pub marks: NotifyMarks,
    /// When the scheduler polls it next; `None` once it is final.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub next_poll_at: Option<Timestamp>,
    /// When the reminder timer fires for it next.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub next_reminder_at: Option<Timestamp>,
    /// The poller's bookkeeping.
    pub poll: PollState,
    /// Channels the customer unsubscribed from for this parcel.
    pub unsubscribed: Vec<Channel>,
    /// When the cash-on-delivery money was paid at the office.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub cod_paid_at: Option<Timestamp>,
    /// Numbers the carrier knew the parcel by before it re-registered it under `tracked_as`.
    pub previous_tracks: Vec<TrackNumber>,
    /// The number the carrier knows the parcel by now, when it re-registered it under a new one
    /// (Russian Post's 8/26); polls ask for this number. The parcel keeps its key `track`.
    pub tracked_as: Option<TrackNumber>,
    /// The storage period the shop gave this parcel, in days (most specific of all).
    pub storage_days: Option<u16>,
    /// The kind of item, as the carrier last reported it.
    pub mail_type: Option<MailType>,
    /// The carrier the shop handed it over with, when a carrier handed it to another
    /// (17TRACK to Russian Post): handing it over again with that carrier keeps the new one.
    pub handed_over_from: Option<CarrierId>,
    /// When polling stopped because the carrier reported nothing for `rules.give_up_after`.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub abandoned_at: Option<Timestamp>,
    /// When the shop last revived it after polling stopped: the silence counts from then.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub revived_at: Option<Timestamp>,
    /// What parceld expects of it: the pickup office named in advance, the expected arrival,
    /// "probably at the office" ([`super::outlook`]).
    pub outlook: super::outlook::Outlook,
}

impl Parcel {
    /// Where it is kept.
    pub fn key(&self) -> ParcelKey {
        ParcelKey::new(self.shop.clone(), self.track.clone())
    }

    /// The newest carrier event, if any.
    pub fn last_event(&self) -> Option<&CarrierEvent> {
        self.events.last()
    }

    /// When the parcel last showed any sign of life: its newest event, or its creation.
    pub fn last_activity(&self) -> Timestamp {
        self.last_event().map_or(self.created_at, |e| e.at)
    }

    /// Since when parceld has watched the carrier say nothing, as far as giving up is
    /// concerned: the newest event, when the shop handed the parcel over or revived it,
    /// whichever is latest (a parcel handed over with an old history is watched afresh).
    pub fn silent_since(&self) -> Timestamp {
        let watched = self
            .revived_at
            .unwrap_or(self.created_at)
            .max(self.created_at);
        watched.max(self.last_activity())
    }

    /// Whether it is waiting at a pickup office for the customer.
    pub fn is_waiting_for_pickup(&self) -> bool {
        self.arrival.is_some()
            && matches!(
                self.status,
                Status::ArrivedAtPickup | Status::DeliveryFailed
            )
    }

    /// The number to ask the carrier for: the one it re-registered the parcel under, if any.
    pub fn carrier_track(&self) -> &TrackNumber {
        self.tracked_as.as_ref().unwrap_or(&self.track)
    }

    /// Whether it was delivered with cash on delivery that the carrier has not reported paid.
    pub fn awaits_cod_payment(&self) -> bool {
        self.status == Status::Delivered && !self.cod.is_zero() && self.cod_paid_at.is_none()
    }

    /// Whether the customer can still be told anything on this channel.
    pub fn may_notify(&self, channel: Channel) -> bool {
        !self.unsubscribed.contains(&channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(name: &str) -> Customer {
        Customer {
            name: name.into(),
            ..Customer::default()
        }
    }

    #[test]
    fn first_names() {
        assert_eq!(customer("Иванов Иван Иванович").first_name(), "Иван");
        assert_eq!(customer("Петрова Мария").first_name(), "Мария");
        assert_eq!(customer("Мария Петрова").first_name(), "Мария");
        assert_eq!(customer("Анна").first_name(), "Анна");
        assert_eq!(customer("John Smith").first_name(), "John");
        assert_eq!(customer("  ").first_name(), "");
    }
}
