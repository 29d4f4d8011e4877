//! Intake: turning what a shop hands over (JSON, a CSV row) into a parcel, or into errors that
//! name each bad field and why.
//!
//! Every source of parcels (the API, file imports) builds a [`ParcelDraft`] of plain strings and
//! goes through [`validate`] and [`upsert`], so the same rules and messages apply everywhere.
//! Handing over the same parcel twice changes nothing; handing it over with corrected contacts
//! updates them and keeps its tracking history.

use super::carrier::CarrierId;
use super::contact::EmailAddress;
use super::money::Kopecks;
use super::parcel::{Customer, NotifyMarks, Parcel, PollState};
use super::phone::Phone;
use super::shop::ShopId;
use super::status::Status;
use super::track::{self, ParsedTrack, TrackFormat};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A parcel as handed over, before validation. Empty strings count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParcelDraft {
    /// Track number (required).
    pub track: String,
    /// The shop's order number.
    pub order_id: Option<String>,
    /// Customer's full name.
    pub name: Option<String>,
    /// Customer's phone.
    pub phone: Option<String>,
    /// Customer's e-mail.
    pub email: Option<String>,
    /// Cash on delivery, in roubles ("1490.00").
    pub cod_amount: Option<String>,
    /// What is inside.
    pub contents: Option<String>,
    /// The carrier, when the shop names it.
    pub carrier: Option<String>,
}

/// One field that cannot be accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field, as the API names it (`customer.phone`).
    pub field: String,
    /// Why, in a sentence.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        FieldError {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A draft that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidParcel {
    /// The parsed track number.
    pub track: ParsedTrack,
    /// The carrier to poll.
    pub carrier: CarrierId,
    /// The shop's order number.
    pub order_id: Option<String>,
    /// The customer.
    pub customer: Customer,
    /// Amount due at the office.
    pub cod: Kopecks,
    /// Contents.
    pub contents: Option<String>,
    /// Doubts worth showing the shop (wrong check digit, no way to reach the customer).
    pub warnings: Vec<String>,
}

const MAX_ORDER_ID: usize = 64;
const MAX_NAME: usize = 200;
const MAX_CONTENTS: usize = 500;

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn plain_text(
    field: &str,
    value: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("is longer than {max} characters"),
        ));
        return None;
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        errors.push(FieldError::new(field, "contains control characters"));
        return None;
    }
    Some(value.to_string())
}

/// Checks every field of a draft; returns all the problems at once.
pub fn validate(draft: &ParcelDraft) -> Result<ValidParcel, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let parsed = match track::parse(&draft.track) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(FieldError::new("track", e));
            None
        }
    };

    let carrier = match present(&draft.carrier) {
        None => parsed.as_ref().map(|p| p.carrier),
        Some(name) => match name.parse::<CarrierId>() {
            Err(e) => {
                errors.push(FieldError::new("carrier", e));
                None
            }
            Ok(c) => match &parsed {
                Some(p) if (p.format == TrackFormat::Sandbox) != (c == CarrierId::Sandbox) => {
                    errors.push(FieldError::new(
                        "carrier",
                        format!(
                            "{c} cannot track {}: sandbox numbers go to the sandbox carrier only",
                            p.number
                        ),
                    ));
                    None
                }
                _ => Some(c),
            },
        },
    };

    let order_id =
        present(&draft.order_id).and_then(|o| plain_text("order_id", o, MAX_ORDER_ID, &mut errors));
    let name = present(&draft.name)
        .and_then(|n| plain_text("customer.name", n, MAX_NAME, &mut errors))
        .unwrap_or_default();
    let contents =
        present(&draft.contents).and_then(|c| plain_text("contents", c, MAX_CONTENTS, &mut errors));

    let phone = present(&draft.phone).and_then(|p| match Phone::parse(p) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(FieldError::new("customer.phone", e));
            None
        }
    });
    let email = present(&draft.email).and_then(|e| match EmailAddress::parse(e) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(FieldError::new("customer.email", e));
            None
        }
    });
    let cod = match present(&draft.cod_amount) {
        None => Kopecks::ZERO,
        Some(a) => Kopecks::parse(a).unwrap_or_else(|e| {
            errors.push(FieldError::new("cod_amount", e));
            Kopecks::ZERO
        }),
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(parsed), Some(carrier)) = (parsed, carrier) else {
        return Err(vec![FieldError::new("track", "is required")]);
    };
    if let Some(w) = &parsed.warning {
        warnings.push(format!("track: {w}"));
    }
    if phone.is_none() && email.is_none() && present(&draft.phone).is_none() {
        warnings.push("customer: no phone or e-mail, the customer cannot be notified".into());
    }
    Ok(ValidParcel {
        carrier,
        order_id,
        customer: Customer { name, phone, email },
        cod,
        contents,
        warnings,
        track: parsed,
    })
}

/// What handing over a parcel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upsert {
    /// It is new.
    Created(Box<Parcel>),
    /// It was there already with the same details.
    Unchanged,
    /// It was there; the shop's details changed (the tracking history is kept).
    Updated(Box<Parcel>),
}

/// Applies a valid draft to what the store has for that track number.
///
/// `new_id` is used only when the parcel is new; `first_poll_at` is when a new parcel is first
/// polled.
pub fn upsert(
    existing: Option<&Parcel>,
    v: &ValidParcel,
    shop: &ShopId,
    new_id: u64,
    now: Timestamp,
    first_poll_at: Timestamp,
) -> Upsert {
    let track_warning = v.track.warning.as_ref().map(ToString::to_string);
    match existing {
        None => Upsert::Created(Box::new(Parcel {
            id: new_id,
            shop: shop.clone(),
            track: v.track.number.clone(),
            carrier: v.carrier,
            track_warning,
            order_id: v.order_id.clone(),
            customer: v.customer.clone(),
            cod: v.cod,
            contents: v.contents.clone(),
            created_at: now,
            updated_at: now,
            status: Status::Registered,
            events: Vec::new(),
            arrival: None,
            marks: NotifyMarks::default(),
            next_poll_at: Some(first_poll_at),
            next_reminder_at: None,
            poll: PollState::default(),
            unsubscribed: Vec::new(),
            cod_paid_at: None,
            previous_tracks: Vec::new(),
            tracked_as: None,
        })),
        Some(p) => {
            let same = p.carrier == v.carrier
                && p.order_id == v.order_id
                && p.customer == v.customer
                && p.cod == v.cod
                && p.contents == v.contents;
            if same {
                return Upsert::Unchanged;
            }
            let mut q = p.clone();
            if q.carrier != v.carrier && !q.status.is_final() {
                q.next_poll_at = Some(first_poll_at);
            }
            q.carrier = v.carrier;
            q.order_id = v.order_id.clone();
            q.customer = v.customer.clone();
            q.cod = v.cod;
            q.contents = v.contents.clone();
            q.track_warning = track_warning;
            q.updated_at = now;
            Upsert::Updated(Box::new(q))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ParcelDraft {
        ParcelDraft {
            track: "10100012000016".into(),
            order_id: Some("A-1001".into()),
            name: Some("Иванов Иван".into()),
            phone: Some("8 912 345-67-89".into()),
            email: Some("ivan@example.ru".into()),
            cod_amount: Some("1490.00".into()),
            contents: Some("Книга".into()),
            carrier: None,
        }
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_good_draft_validates() {
        let v = validate(&draft()).unwrap();
        assert_eq!(v.carrier, CarrierId::RussianPost);
        assert_eq!(v.customer.phone.as_ref().unwrap().as_str(), "+79123456789");
        assert_eq!(v.cod, Kopecks(149_000));
        assert!(v.warnings.is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let d = ParcelDraft {
            track: "ABC123".into(),
            phone: Some("12".into()),
            email: Some("nope".into()),
            cod_amount: Some("-1".into()),
            order_id: Some("x".repeat(65)),
            contents: Some("a\u{0}b".into()),
            carrier: Some("dhl".into()),
            name: None,
        };
        let errs = validate(&d).unwrap_err();
        assert_eq!(
            fields(&errs),
            [
                "track",
                "carrier",
                "order_id",
                "contents",
                "customer.phone",
                "customer.email",
                "cod_amount"
            ]
        );
        assert!(errs[0].message.contains("ABC123"));
    }

    #[test]
    fn sandbox_numbers_need_the_sandbox_carrier() {
        let mut d = draft();
        d.track = "SANDBOX-DELIVERED-1".into();
        assert_eq!(validate(&d).unwrap().carrier, CarrierId::Sandbox);
        d.carrier = Some("russian_post".into());
        assert_eq!(fields(&validate(&d).unwrap_err()), ["carrier"]);
        let mut d = draft();
        d.carrier = Some("sandbox".into());
        assert_eq!(fields(&validate(&d).unwrap_err()), ["carrier"]);
        let mut d = draft();
        d.carrier = Some("ems".into());
        assert_eq!(validate(&d).unwrap().carrier, CarrierId::Ems);
    }

    #[test]
    fn warnings_for_doubtful_but_usable_parcels() {
        let mut d = draft();
        d.track = "RA644000001RU".into();
        d.phone = None;
        d.email = Some("  ".into());
        let v = validate(&d).unwrap();
        assert_eq!(v.warnings.len(), 2, "{:?}", v.warnings);
    }

    #[test]
    fn upsert_is_idempotent_and_updates_contacts() {
        let shop = ShopId::from_trusted("acme");
        let now = Timestamp::from_second(1_741_000_000).unwrap();
        let v = validate(&draft()).unwrap();
        let Upsert::Created(p) = upsert(None, &v, &shop, 7, now, now) else {
            panic!("expected created")
        };
        assert_eq!(p.id, 7);
        assert_eq!(p.status, Status::Registered);
        assert_eq!(upsert(Some(&p), &v, &shop, 8, now, now), Upsert::Unchanged);
        let mut d = draft();
        d.phone = Some("+7 999 000-11-22".into());
        let v2 = validate(&d).unwrap();
        let Upsert::Updated(q) = upsert(Some(&p), &v2, &shop, 9, now, now) else {
            panic!("expected updated")
        };
        assert_eq!(q.id, 7, "the parcel keeps its id");
        assert_eq!(q.customer.phone.as_ref().unwrap().as_str(), "+79990001122");
    }
}
