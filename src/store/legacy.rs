//! Records as earlier releases wrote them, and how each becomes today's.
//!
//! bincode has no field names, so a stored type that changes shape gets a new record version,
//! and the shape it had is frozen here, field for field, with the conversion to today's type.
//! Old records are read through [`Record::decode`] wherever they are met and written back in
//! today's version when they next change; nothing needs a pass over the whole store before the
//! daemon starts. `tests/fixtures/store/release-1.tar.gz` is a store written by release 1; a
//! test opens it.
//!
//! | type     | version | release | change                                                   |
//! |----------|---------|---------|----------------------------------------------------------|
//! | `Parcel` | 1       | 1       |                                                          |
//! | `Parcel` | 2       | 2       | deadline basis, mail type, own storage period, handover, give-up, outlook |
//! | `OutboxEntry` | 1  | 1       |                                                          |
//! | `OutboxEntry` | 2  | 2       | a flag first: facts kept or left to the parcel (see `outbox.rs`); `outlook` last |
//! | `Shop`   | 1       | 1       |                                                          |
//! | `Shop`   | 2       | 2       | `storage_days`                                           |
//! | `Shop`   | 3       | 3       | `brand` (the tracking page's colour and logo)            |
//! | outbox entry | 1   | 1       |                                                          |
//! | outbox entry | 2   | next    | a customer message still to go keeps no facts (read in `store/outbox.rs`) |

use super::codec::{self, CodecError};
use crate::domain::brand::Brand;
use crate::domain::carrier::CarrierId;
use crate::domain::contact::EmailAddress;
use crate::domain::money::Kopecks;
use crate::domain::notification::Channel;
use crate::domain::outbox::OutboxEntry;
use crate::domain::outlook::MessageOutlook;
use crate::domain::parcel::{
    Arrival, CarrierEvent, Customer, NotifyMarks, Office, Parcel, PollState,
};
use crate::domain::phone::Phone;
use crate::domain::shop::{Language, Messaging, Shop, ShopId};
use crate::domain::status::Status;
use crate::domain::storage::Deadline;
use crate::domain::track::TrackNumber;
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A type the store keeps, with its record version and the older versions it can still read.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// The tree it lives in (for error messages).
    const TREE: &'static str;
    /// The version this build writes.
    const VERSION: u8;

    /// Reads the body of a record of an older `version`; `None` if this build does not know it.
    fn upgrade(version: u8, body: &[u8]) -> Option<Result<Self, CodecError>>;

    /// Decodes a record of this version or of an older one this build knows.
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let (version, body) = codec::split(bytes)?;
        if version == Self::VERSION {
            return codec::body_of(body);
        }
        Self::upgrade(version, body).unwrap_or(Err(CodecError::Version {
            found: version,
            expected: Self::VERSION,
        }))
    }
}

/// An office as release 1 stored it.
#[derive(Deserialize)]
struct OfficeV1 {
    index: Option<String>,
    name: String,
    address: Option<String>,
    hours: Option<String>,
    phone: Option<String>,
}

impl From<OfficeV1> for Office {
    fn from(o: OfficeV1) -> Office {
        Office {
            index: o.index,
            name: o.name,
            address: o.address,
            hours: o.hours,
            phone: o.phone,
        }
    }
}

/// A carrier event as release 1 stored it: no storage signal.
#[derive(Deserialize)]
struct EventV1 {
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    at: Timestamp,
    status: Status,
    code: String,
    description: String,
    office: Option<OfficeV1>,
}

/// An arrival as release 1 stored it: the deadline as a bare time (arrival + a fixed period).
#[derive(Deserialize)]
struct ArrivalV1 {
    office: OfficeV1,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    at: Timestamp,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    deadline: Timestamp,
}

#[derive(Deserialize)]
struct MarksV1 {
    accepted: bool,
    arrivals: u32,
    reminders: u32,
    last_reminder: bool,
    delivered: bool,
    return_alert: bool,
}

#[derive(Deserialize)]
struct CustomerV1 {
    name: String,
    phone: Option<Phone>,
    email: Option<EmailAddress>,
}

#[derive(Deserialize)]
struct PollStateV1 {
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    last_polled_at: Option<Timestamp>,
    failures: u32,
    last_error: Option<String>,
}

/// A parcel as release 1 stored it.
#[derive(Deserialize)]
struct ParcelV1 {
    id: u64,
    shop: ShopId,
    track: TrackNumber,
    carrier: CarrierId,
    track_warning: Option<String>,
    order_id: Option<String>,
    customer: CustomerV1,
    cod: Kopecks,
    contents: Option<String>,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    created_at: Timestamp,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    updated_at: Timestamp,
    status: Status,
    events: Vec<EventV1>,
    arrival: Option<ArrivalV1>,
    marks: MarksV1,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    next_poll_at: Option<Timestamp>,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    next_reminder_at: Option<Timestamp>,
    poll: PollStateV1,
    unsubscribed: Vec<Channel>,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    cod_paid_at: Option<Timestamp>,
    previous_tracks: Vec<TrackNumber>,
    tracked_as: Option<TrackNumber>,
}

impl From<ParcelV1> for Parcel {
    /// The deadline keeps release 1's date with a basis that says so; the daemon works it out
    /// again under today's rules at its first start (see `Store::refresh_deadlines`).
    fn from(p: ParcelV1) -> Parcel {
        let event = |e: EventV1| CarrierEvent {
            at: e.at,
            status: e.status,
            code: e.code,
            description: e.description,
            office: e.office.map(Office::from),
            storage: None,
            presence: false,
        };
        Parcel {
            id: p.id,
            shop: p.shop,
            track: p.track,
            carrier: p.carrier,
            track_warning: p.track_warning,
            order_id: p.order_id,
            customer: Customer {
                name: p.customer.name,
                phone: p.customer.phone,
                email: p.customer.email,
            },
            cod: p.cod,
            contents: p.contents,
            created_at: p.created_at,
            updated_at: p.updated_at,
            status: p.status,
            events: p.events.into_iter().map(event).collect(),
            arrival: p.arrival.map(|a| Arrival {
                office: a.office.into(),
                at: a.at,
                deadline: Deadline::plain(a.at, a.deadline),
            }),
            marks: NotifyMarks {
                accepted: p.marks.accepted,
                arrivals: p.marks.arrivals,
                reminders: p.marks.reminders,
                last_reminder: p.marks.last_reminder,
                // Release 1 numbered a last reminder by its arrival: later ones count on.
                last_reminders: p.marks.arrivals,
                delivered: p.marks.delivered,
                return_alert: p.marks.return_alert,
            },
            next_poll_at: p.next_poll_at,
            next_reminder_at: p.next_reminder_at,
            poll: PollState {
                last_polled_at: p.poll.last_polled_at,
                failures: p.poll.failures,
                last_error: p.poll.last_error,
            },
            unsubscribed: p.unsubscribed,
            cod_paid_at: p.cod_paid_at,
            previous_tracks: p.previous_tracks,
            tracked_as: p.tracked_as,
            storage_days: None,
            mail_type: None,
            handed_over_from: None,
            abandoned_at: None,
            revived_at: None,
            outlook: Default::default(),
        }
    }
}

/// An outbox entry as release 1 stored it (record version 1): today's entry without its last
/// field, `outlook`, and always with its facts. bincode reads fields in order, so the old body
/// followed by the encoded default reads as today's entry. Version 2 (a flag saying whether the
/// facts were kept, then the entry) is read in [`super::outbox`].
pub(super) fn outbox_entry_v1(body: &[u8]) -> Result<OutboxEntry, CodecError> {
    let tail = codec::encode(0, &MessageOutlook::default())?;
    let mut whole = Vec::with_capacity(body.len() + tail.len());
    whole.extend_from_slice(body);
    whole.extend_from_slice(tail.get(1..).unwrap_or_default());
    codec::body_of(&whole)
}

impl Record for Parcel {
    const TREE: &'static str = "parcels";
    const VERSION: u8 = 2;

    fn upgrade(version: u8, body: &[u8]) -> Option<Result<Self, CodecError>> {
        (version == 1).then(|| codec::body_of::<ParcelV1>(body).map(Parcel::from))
    }
}

/// A shop as release 1 stored it.
#[derive(Deserialize)]
struct ShopV1 {
    id: ShopId,
    name: String,
    report_email: Option<EmailAddress>,
    timezone: String,
    phone: Option<String>,
    language: Language,
    token_sha256: String,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    created_at: Timestamp,
    plan: PlanV1,
    report_at: Option<jiff::civil::Time>,
    messaging: MessagingV1,
}

#[derive(Deserialize)]
struct PlanV1 {
    name: String,
    monthly_quota: Option<u64>,
    trial_ends: Option<jiff::civil::Date>,
}

#[derive(Deserialize)]
struct MessagingV1 {
    sms_provider: Option<String>,
    sms_sender: Option<String>,
    tracking_url: Option<String>,
    review_url: Option<String>,
}

impl From<ShopV1> for Shop {
    fn from(s: ShopV1) -> Shop {
        Shop {
            id: s.id,
            name: s.name,
            report_email: s.report_email,
            timezone: s.timezone,
            phone: s.phone,
            language: s.language,
            token_sha256: s.token_sha256,
            created_at: s.created_at,
            plan: crate::domain::plan::Plan {
                name: s.plan.name,
                monthly_quota: s.plan.monthly_quota,
                trial_ends: s.plan.trial_ends,
            },
            report_at: s.report_at,
            messaging: Messaging {
                sms_provider: s.messaging.sms_provider,
                sms_sender: s.messaging.sms_sender,
                tracking_url: s.messaging.tracking_url,
                review_url: s.messaging.review_url,
            },
            storage_days: None,
            brand: Brand::default(),
        }
    }
}

/// A shop as release 2 stored it: no brand.
#[derive(Deserialize)]
struct ShopV2 {
    id: ShopId,
    name: String,
    report_email: Option<EmailAddress>,
    timezone: String,
    phone: Option<String>,
    language: Language,
    token_sha256: String,
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    created_at: Timestamp,
    plan: PlanV1,
    report_at: Option<jiff::civil::Time>,
    messaging: MessagingV1,
    storage_days: Option<u16>,
}

impl From<ShopV2> for Shop {
    fn from(s: ShopV2) -> Shop {
        let storage_days = s.storage_days;
        let v1 = ShopV1 {
            id: s.id,
            name: s.name,
            report_email: s.report_email,
            timezone: s.timezone,
            phone: s.phone,
            language: s.language,
            token_sha256: s.token_sha256,
            created_at: s.created_at,
            plan: s.plan,
            report_at: s.report_at,
            messaging: s.messaging,
        };
        Shop {
            storage_days,
            ..Shop::from(v1)
        }
    }
}

impl Record for Shop {
    const TREE: &'static str = "shops";
    const VERSION: u8 = 3;

    fn upgrade(version: u8, body: &[u8]) -> Option<Result<Self, CodecError>> {
        match version {
            1 => Some(codec::body_of::<ShopV1>(body).map(Shop::from)),
            2 => Some(codec::body_of::<ShopV2>(body).map(Shop::from)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_entry_of_release_1_reads_with_no_outlook() {
        use crate::domain::notification::NotificationKind;
        use crate::domain::outbox::{MessageFacts, OutboxKey};
        let key = OutboxKey {
            shop: ShopId::from_trusted("acme"),
            track: TrackNumber::from_trusted("10100012000016"),
            parcel_id: 7,
            kind: NotificationKind::Arrived,
            occurrence: 1,
            channel: Channel::Sms,
        };
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let facts = MessageFacts::minimal("Acme", Language::Ru, "10100012000016", "Europe/Moscow");
        let entry = OutboxEntry::new(key, "+79123456789".into(), facts, now, now);
        // Version 1 is today's record without its last field (the default outlook's bytes).
        let today = codec::encode(2, &entry).unwrap();
        let tail = codec::encode(0, &MessageOutlook::default()).unwrap().len() - 1;
        let mut v1 = vec![1];
        v1.extend_from_slice(&today[1..today.len() - tail]);
        let (back, bare) = crate::store::outbox::decode_entry(b"k", &v1).unwrap();
        assert_eq!((back, bare), (entry.clone(), false));
        let mut with = entry.clone();
        with.outlook.was_probable = true;
        let written = crate::store::outbox::encode_entry(b"k", &with).unwrap();
        let (back, _) = crate::store::outbox::decode_entry(b"k", &written).unwrap();
        assert!(back.outlook.was_probable);
    }

    #[test]
    fn a_shop_of_release_2_reads_with_no_brand() {
        let mut shop = crate::store::shops::tests::shop("acme", "h");
        shop.storage_days = Some(7);
        shop.messaging.review_url = Some("https://acme.example/review".into());
        // bincode writes a struct as its fields in order, as it writes a tuple.
        let v2 = (
            &shop.id,
            &shop.name,
            &shop.report_email,
            &shop.timezone,
            &shop.phone,
            shop.language,
            &shop.token_sha256,
            shop.created_at.as_millisecond(),
            &shop.plan,
            shop.report_at,
            &shop.messaging,
            shop.storage_days,
        );
        let bytes = codec::encode(2, &v2).unwrap();
        let read = Shop::decode(&bytes).unwrap();
        assert_eq!(read, shop, "everything kept, no brand");
        assert_eq!(read.brand, Brand::default());
        let mut branded = shop.clone();
        branded.brand.color = Some("#1a73e8".into());
        let bytes = codec::encode(Shop::VERSION, &branded).unwrap();
        assert_eq!(Shop::decode(&bytes).unwrap(), branded);
        assert!(
            Shop::decode(&codec::encode(4, &v2).unwrap()).is_err(),
            "a newer version is refused"
        );
    }
}
