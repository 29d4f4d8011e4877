//! The events and their JSON bodies. Each body is
//!
//! ```json
//! {"id": "evt_…", "type": "parcel.status_changed", "created_at": "2026-12-08T09:15:02Z",
//!  "shop": "acme",
//!  "parcel": {"track": "…", "order_id": "A-1001", "status": "arrived_at_pickup", "carrier": "russian_post"},
//!  "data": {…}}
//! ```
//!
//! The id is derived from what happened (shop, track, the parcel's store id, the type and what
//! makes the occurrence unique: the carrier event, the office's arrival number, the old and new
//! deadline, the silence's start, the message), so deriving the same event again gives the same
//! id, and the store finds the delivery it queued before. Bodies name no customer: no name,
//! phone or e-mail address leaves by webhook.

use super::EventType;
use crate::domain::lifecycle::{self, DeadlineChange, Outcome, ShopTerms};
use crate::domain::notification::NotificationKind;
use crate::domain::outbox::OutboxEntry;
use crate::domain::parcel::{CarrierEvent, Office, Parcel};
use crate::domain::shop::Language;
use crate::domain::status::Status;
use crate::domain::storage::{Basis, Deadline};
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One event, ready to be queued for every endpoint that wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its id (`evt_` and 32 hex digits): stable, the idempotency key.
    pub id: String,
    /// Its type.
    pub kind: EventType,
    /// The parcel's track number (its lane: one parcel's events go in order).
    pub track: String,
    /// The JSON body.
    pub body: String,
}

/// The parcel as every body names it.
#[derive(Debug, Clone, Serialize)]
struct ParcelRef<'a> {
    track: &'a str,
    order_id: Option<&'a str>,
    status: &'static str,
    carrier: &'static str,
}

#[derive(Debug, Serialize)]
struct Body<'a, D: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    created_at: Timestamp,
    shop: &'a str,
    parcel: ParcelRef<'a>,
    data: D,
}

/// A place as bodies name it.
#[derive(Debug, Clone, Serialize)]
struct Place<'a> {
    index: Option<&'a str>,
    name: &'a str,
    address: Option<&'a str>,
    hours: Option<&'a str>,
    phone: Option<&'a str>,
}

fn place(o: &Office) -> Place<'_> {
    Place {
        index: o.index.as_deref(),
        name: &o.name,
        address: o.address.as_deref(),
        hours: o.hours.as_deref(),
        phone: o.phone.as_deref(),
    }
}

/// A carrier event as bodies name it.
#[derive(Debug, Clone, Serialize)]
struct CarrierView<'a> {
    code: &'a str,
    description: &'a str,
    at: Timestamp,
    place: Option<Place<'a>>,
}

fn carrier_event(e: &CarrierEvent) -> CarrierView<'_> {
    CarrierView {
        code: &e.code,
        description: &e.description,
        at: e.at,
        place: e.office.as_ref().map(place),
    }
}

/// A deadline with what it rests on.
#[derive(Debug, Clone, Serialize)]
struct DeadlineView {
    at: Timestamp,
    basis: BasisView,
}

#[derive(Debug, Clone, Serialize)]
struct BasisView {
    /// `period`, `days_left`, `extended` or `expired`.
    kind: &'static str,
    /// In words, dated in the office's zone: "15 days, parcel, from 2026-12-08".
    text: String,
}

fn basis(b: &Basis, office: &Office, terms: &ShopTerms) -> BasisView {
    let tz = lifecycle::office_zone(office, terms);
    BasisView {
        kind: match b {
            Basis::Period { .. } => "period",
            Basis::DaysLeft { .. } => "days_left",
            Basis::Extended { .. } => "extended",
            Basis::Expired { .. } => "expired",
        },
        text: b.describe(&tz, Language::En),
    }
}

fn deadline(d: &Deadline, office: &Office, terms: &ShopTerms) -> DeadlineView {
    DeadlineView {
        at: d.at,
        basis: basis(&d.basis, office, terms),
    }
}

/// The stable id of an event.
pub fn event_id(shop: &str, track: &str, parcel_id: u64, kind: EventType, what: &str) -> String {
    let mut h = Sha256::new();
    for part in [shop, track, &parcel_id.to_string(), kind.as_str(), what] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("evt_{}", &hex::encode(h.finalize())[..32])
}

/// What an event is about: the shop, the parcel and its store id.
struct Subject<'a> {
    shop: &'a str,
    parcel: ParcelRef<'a>,
    parcel_id: u64,
}

impl<'a> Subject<'a> {
    fn of(p: &'a Parcel) -> Self {
        Subject {
            shop: p.shop.as_str(),
            parcel: ParcelRef {
                track: p.track.as_str(),
                order_id: p.order_id.as_deref(),
                status: p.status.as_str(),
                carrier: p.carrier.as_str(),
            },
            parcel_id: p.id,
        }
    }

    fn event(&self, kind: EventType, what: &str, now: Timestamp, data: impl Serialize) -> Event {
        let id = event_id(self.shop, self.parcel.track, self.parcel_id, kind, what);
        let body = Body {
            id: &id,
            kind: kind.as_str(),
            created_at: now,
            shop: self.shop,
            parcel: self.parcel.clone(),
            data,
        };
        // Serialising these plain structs cannot fail; an empty object stands in if it did.
        let body = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
        Event {
            id,
            kind,
            track: self.parcel.track.to_string(),
            body,
        }
    }
}

/// `parcel.created`: the shop handed a new parcel over.
pub fn created(p: &Parcel, now: Timestamp) -> Event {
    #[derive(Serialize)]
    struct Data {
        created_at: Timestamp,
        cod_amount: Option<String>,
        storage_days: Option<u16>,
    }
    Subject::of(p).event(
        EventType::ParcelCreated,
        "",
        now,
        Data {
            created_at: p.created_at,
            cod_amount: (!p.cod.is_zero()).then(|| p.cod.to_decimal_string()),
            storage_days: p.storage_days,
        },
    )
}

/// The carrier event that brought the parcel to its status: the newest one with that status,
/// else the newest one.
fn cause(p: &Parcel) -> Option<&CarrierEvent> {
    p.events
        .iter()
        .rev()
        .find(|e| e.status == p.status)
        .or_else(|| p.last_event())
}

/// The events a carrier report caused, in the order they happened: the status change, the
/// arrival, the moved deadline, the delivery, the start of the return. `before` is the parcel
/// as it was, `p` as it is now, `outcome` what the lifecycle said.
pub fn from_report(
    before: &Parcel,
    p: &Parcel,
    outcome: &Outcome,
    terms: &ShopTerms,
    now: Timestamp,
) -> Vec<Event> {
    let s = Subject::of(p);
    let mut out = Vec::new();
    if let Some(from) = outcome.previous_status.filter(|f| *f != p.status) {
        out.push(status_changed(&s, p, from, now));
    }
    for intent in &outcome.intents {
        match intent.kind {
            NotificationKind::Arrived => out.extend(arrived(&s, p, intent.occurrence, terms, now)),
            NotificationKind::Delivered => out.push(finished(&s, p, EventType::Delivered, now)),
            NotificationKind::ReturnStarted => {
                out.push(finished(&s, p, EventType::ReturnStarted, now))
            }
            _ => {}
        }
    }
    let announced = outcome
        .intents
        .iter()
        .any(|i| i.kind == NotificationKind::Arrived);
    if let Some(change) = &outcome.deadline_moved
        && !announced
    {
        out.extend(deadline_changed_of(&s, before, p, change, terms, now));
    }
    out
}

fn status_changed(s: &Subject<'_>, p: &Parcel, from: Status, now: Timestamp) -> Event {
    #[derive(Serialize)]
    struct Data<'a> {
        from: &'static str,
        to: &'static str,
        event: Option<CarrierView<'a>>,
    }
    let e = cause(p);
    let what = match e {
        Some(e) => format!(
            "{}>{}@{}/{}",
            from.as_str(),
            p.status.as_str(),
            e.at.as_millisecond(),
            e.code
        ),
        None => format!("{}>{}", from.as_str(), p.status.as_str()),
    };
    s.event(
        EventType::StatusChanged,
        &what,
        now,
        Data {
            from: from.as_str(),
            to: p.status.as_str(),
            event: e.map(carrier_event),
        },
    )
}

fn arrived(
    s: &Subject<'_>,
    p: &Parcel,
    occurrence: u32,
    terms: &ShopTerms,
    now: Timestamp,
) -> Option<Event> {
    #[derive(Serialize)]
    struct Data<'a> {
        office: Place<'a>,
        arrived_at: Timestamp,
        deadline: DeadlineView,
        arrival: u32,
    }
    let a = p.arrival.as_ref()?;
    Some(s.event(
        EventType::Arrived,
        &occurrence.to_string(),
        now,
        Data {
            office: place(&a.office),
            arrived_at: a.at,
            deadline: deadline(&a.deadline, &a.office, terms),
            arrival: occurrence,
        },
    ))
}

fn finished(s: &Subject<'_>, p: &Parcel, kind: EventType, now: Timestamp) -> Event {
    #[derive(Serialize)]
    struct Data<'a> {
        at: Option<Timestamp>,
        event: Option<CarrierView<'a>>,
        cod_paid_at: Option<Timestamp>,
    }
    let e = cause(p);
    s.event(
        kind,
        "",
        now,
        Data {
            at: e.map(|e| e.at),
            event: e.map(carrier_event),
            cod_paid_at: p.cod_paid_at,
        },
    )
}

fn deadline_changed_of(
    s: &Subject<'_>,
    before: &Parcel,
    p: &Parcel,
    change: &DeadlineChange,
    terms: &ShopTerms,
    now: Timestamp,
) -> Option<Event> {
    #[derive(Serialize)]
    struct Data<'a> {
        from: Option<DeadlineView>,
        to: DeadlineView,
        office: Place<'a>,
    }
    let a = p.arrival.as_ref()?;
    let old = before
        .arrival
        .as_ref()
        .filter(|b| Some(b.deadline.at) == change.from)
        .map(|b| deadline(&b.deadline, &b.office, terms))
        .or_else(|| {
            change.from.map(|at| DeadlineView {
                at,
                basis: BasisView {
                    kind: "unknown",
                    text: String::new(),
                },
            })
        });
    let what = format!(
        "{}>{}",
        change.from.map_or(0, |f| f.as_millisecond()),
        change.to.as_millisecond()
    );
    Some(s.event(
        EventType::DeadlineChanged,
        &what,
        now,
        Data {
            from: old,
            to: deadline(&a.deadline, &a.office, terms),
            office: place(&a.office),
        },
    ))
}

/// `parcel.deadline_changed` outside a carrier report (the shop's or the parcel's storage
/// period changed): `before` as it was, `p` as it is now.
pub fn deadline_changed(
    before: &Parcel,
    p: &Parcel,
    change: &DeadlineChange,
    terms: &ShopTerms,
    now: Timestamp,
) -> Option<Event> {
    deadline_changed_of(&Subject::of(p), before, p, change, terms, now)
}

/// `parcel.stuck`: no carrier event since `silent_since` for `stuck_after`. Once per silence:
/// the id names the silence's start.
pub fn stuck(p: &Parcel, stuck_after: std::time::Duration, now: Timestamp) -> Event {
    #[derive(Serialize)]
    struct Data<'a> {
        silent_since: Timestamp,
        stuck_after: String,
        last_event: Option<CarrierView<'a>>,
    }
    let since = p.last_activity();
    Subject::of(p).event(
        EventType::Stuck,
        &since.as_millisecond().to_string(),
        now,
        Data {
            silent_since: since,
            stuck_after: humantime::format_duration(stuck_after).to_string(),
            last_event: p.last_event().map(carrier_event),
        },
    )
}

/// `notification.sent` or `notification.failed` for a message that went out or went dead.
/// Names the message, not its recipient.
pub fn notification(e: &OutboxEntry, kind: EventType, now: Timestamp) -> Event {
    #[derive(Serialize)]
    struct Message<'a> {
        kind: &'static str,
        occurrence: u32,
        channel: &'static str,
        provider: Option<&'a str>,
        provider_id: Option<&'a str>,
        attempts: u32,
        sent_at: Option<Timestamp>,
        error: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Data<'a> {
        notification: Message<'a>,
    }
    let k = &e.key;
    let s = Subject {
        shop: k.shop.as_str(),
        parcel: ParcelRef {
            track: k.track.as_str(),
            order_id: e.facts.order_id.as_deref(),
            status: e.facts.status.as_str(),
            carrier: e.facts.carrier.as_str(),
        },
        parcel_id: k.parcel_id,
    };
    let what = format!(
        "{}/{}/{}",
        k.kind.as_str(),
        k.occurrence,
        k.channel.as_str()
    );
    let failed = kind == EventType::NotificationFailed;
    s.event(
        kind,
        &what,
        now,
        Data {
            notification: Message {
                kind: k.kind.as_str(),
                occurrence: k.occurrence,
                channel: k.channel.as_str(),
                provider: e.provider.as_deref(),
                provider_id: e.provider_id.as_deref(),
                attempts: e.attempts,
                sent_at: e.sent_at,
                error: if failed {
                    e.last_error.as_deref()
                } else {
                    None
                },
            },
        },
    )
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
