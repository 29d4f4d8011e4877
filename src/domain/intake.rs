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

/// What a handed-over field says about the value stored: keep it (the field was absent, or an
/// empty cell), clear it (JSON `null`, a `-` cell), or set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Absent: the stored value stays.
    #[default]
    Keep,
    /// Cleared explicitly.
    Clear,
    /// Given.
    Set(T),
}

impl<T> Patch<T> {
    /// A field given as `value`.
    pub fn set(value: impl Into<T>) -> Self {
        Patch::Set(value.into())
    }

    /// The value a new parcel gets: the one given, or none.
    pub fn value(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    /// What the field becomes over `old`.
    pub fn apply(&self, old: &Option<T>) -> Option<T>
    where
        T: Clone,
    {
        match self {
            Patch::Keep => old.clone(),
            Patch::Clear => None,
            Patch::Set(v) => Some(v.clone()),
        }
    }

    fn try_map<U>(self, f: impl FnOnce(T) -> Option<U>) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => f(v).map_or(Patch::Keep, Patch::Set),
        }
    }
}

impl Patch<String> {
    /// The value given, as text.
    pub fn as_deref(&self) -> Option<&str> {
        self.value().map(String::as_str)
    }

    /// A table cell: empty keeps the stored value, a lone dash (`-`, `–`, `—`) clears it.
    pub fn from_cell(text: &str) -> Self {
        match text.trim() {
            "" => Patch::Keep,
            "-" | "–" | "—" => Patch::Clear,
            t => Patch::Set(t.to_string()),
        }
    }

    /// The given text, trimmed; blank text keeps the stored value.
    fn present(&self) -> Patch<&str> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(s) if s.trim().is_empty() => Patch::Keep,
            Patch::Set(s) => Patch::Set(s.trim()),
        }
    }
}

/// A parcel as handed over, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParcelDraft {
    /// Track number (required).
    pub track: String,
    /// The shop's order number.
    pub order_id: Patch<String>,
    /// Customer's full name.
    pub name: Patch<String>,
    /// Customer's phone.
    pub phone: Patch<String>,
    /// Customer's e-mail.
    pub email: Patch<String>,
    /// Cash on delivery, in roubles ("1490.00").
    pub cod_amount: Patch<String>,
    /// What is inside.
    pub contents: Patch<String>,
    /// The carrier, when the shop names it.
    pub carrier: Option<String>,
    /// How long the office keeps it, in days, when the shop's contract sets it per parcel.
    pub storage_days: Patch<String>,
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
    /// The carrier the shop named, if it named one.
    pub carrier_given: Option<CarrierId>,
    /// The carrier the number's format points to.
    pub carrier_guessed: CarrierId,
    /// The shop's order number.
    pub order_id: Patch<String>,
    /// The customer's name.
    pub name: Patch<String>,
    /// The customer's phone.
    pub phone: Patch<Phone>,
    /// The customer's e-mail.
    pub email: Patch<EmailAddress>,
    /// Amount due at the office.
    pub cod: Patch<Kopecks>,
    /// Contents.
    pub contents: Patch<String>,
    /// The parcel's own storage period, in days.
    pub storage_days: Patch<u16>,
    /// Doubts worth showing the shop (wrong check digit, no way to reach the customer).
    pub warnings: Vec<String>,
}

impl ValidParcel {
    /// The carrier a new parcel gets.
    pub fn carrier(&self) -> CarrierId {
        self.carrier_given.unwrap_or(self.carrier_guessed)
    }
}

const MAX_ORDER_ID: usize = 64;
const MAX_NAME: usize = 200;
const MAX_CONTENTS: usize = 500;
/// The longest storage period a shop may set: a year.
const MAX_STORAGE_DAYS: u16 = 366;

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

/// Reads a storage period in days: a whole number from 1 to 366 ("15", "15 дней").
pub fn storage_days(text: &str) -> Result<u16, String> {
    let digits: String = text
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let rest = text.trim()[digits.len()..].trim().to_lowercase();
    let unit_ok = rest.is_empty()
        || ["d", "day", "days", "дн", "дн.", "день", "дня", "дней"].contains(&rest.as_str());
    match digits.parse::<u16>() {
        Ok(n) if unit_ok && (1..=MAX_STORAGE_DAYS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a storage period: write the number of days, 1 to {MAX_STORAGE_DAYS}"
        )),
    }
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

    let named = draft
        .carrier
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let carrier_given = match named {
        None => None,
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

    let mut text = |field: &str, p: &Patch<String>, max: usize| -> Patch<String> {
        p.present()
            .try_map(|v| plain_text(field, v, max, &mut errors))
    };
    let order_id = text("order_id", &draft.order_id, MAX_ORDER_ID);
    let name = text("customer.name", &draft.name, MAX_NAME);
    let contents = text("contents", &draft.contents, MAX_CONTENTS);

    let phone = draft.phone.present().try_map(|p| match Phone::parse(p) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(FieldError::new("customer.phone", e));
            None
        }
    });
    let email = draft
        .email
        .present()
        .try_map(|e| match EmailAddress::parse(e) {
            Ok(e) => Some(e),
            Err(e) => {
                errors.push(FieldError::new("customer.email", e));
                None
            }
        });
    let cod = draft
        .cod_amount
        .present()
        .try_map(|a| match Kopecks::parse(a) {
            Ok(k) => Some(k),
            Err(e) => {
                errors.push(FieldError::new("cod_amount", e));
                None
            }
        });
    let storage = draft
        .storage_days
        .present()
        .try_map(|d| match storage_days(d) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(FieldError::new("storage_days", e));
                None
            }
        });

    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(parsed) = parsed else {
        return Err(vec![FieldError::new("track", "is required")]);
    };
    if let Some(w) = &parsed.warning {
        warnings.push(format!("track: {w}"));
    }
    Ok(ValidParcel {
        carrier_given,
        carrier_guessed: parsed.carrier,
        order_id,
        name,
        phone,
        email,
        cod,
        contents,
        storage_days: storage,
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
    Updated {
        /// The parcel as it is now.
        parcel: Box<Parcel>,
        /// The fields that changed, as the API names them.
        changed: Vec<&'static str>,
    },
}

/// What the shop should know about a handed-over parcel beyond its outcome.
pub fn notes(v: &ValidParcel, stored: &Parcel) -> Vec<String> {
    let mut out = Vec::new();
    if stored.customer.phone.is_none() && stored.customer.email.is_none() {
        out.push("customer: no phone or e-mail, the customer cannot be notified".into());
    }
    if let (Some(from), Some(given)) = (stored.handed_over_from, v.carrier_given)
        && given == from
        && stored.carrier != from
    {
        out.push(format!(
            "carrier: {from} handed the parcel over to {}, which tracks it now; name {} as the carrier to change that",
            stored.carrier, from
        ));
    }
    out
}

/// The carrier a known parcel continues with: the shop changes it only by naming another one
/// than the parcel has (and than the one that handed it over).
fn carrier_after(p: &Parcel, v: &ValidParcel) -> CarrierId {
    match v.carrier_given {
        Some(c) if c != p.carrier && Some(c) != p.handed_over_from => c,
        _ => p.carrier,
    }
}

/// Applies a valid draft to what the store has for that track number: a field the draft does
/// not carry keeps its value.
///
/// `new_id` is used only when the parcel is new; `first_poll_at` is when a new parcel is first
/// polled (or a parcel that moved to another carrier is polled again).
pub fn upsert(
    existing: Option<&Parcel>,
    v: &ValidParcel,
    shop: &ShopId,
    new_id: u64,
    now: Timestamp,
    first_poll_at: Timestamp,
) -> Upsert {
    let track_warning = v.track.warning.as_ref().map(ToString::to_string);
    let Some(p) = existing else {
        return Upsert::Created(Box::new(Parcel {
            id: new_id,
            shop: shop.clone(),
            track: v.track.number.clone(),
            carrier: v.carrier(),
            track_warning,
            order_id: v.order_id.value().cloned(),
            customer: Customer {
                name: v.name.value().cloned().unwrap_or_default(),
                phone: v.phone.value().cloned(),
                email: v.email.value().cloned(),
            },
            cod: v.cod.value().copied().unwrap_or(Kopecks::ZERO),
            contents: v.contents.value().cloned(),
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
            storage_days: v.storage_days.value().copied(),
            mail_type: None,
            handed_over_from: None,
            abandoned_at: None,
            revived_at: None,
            outlook: Default::default(),
        }));
    };
    let mut q = p.clone();
    let mut changed = Vec::new();
    let carrier = carrier_after(p, v);
    if carrier != p.carrier {
        q.carrier = carrier;
        q.handed_over_from = None;
        if !q.status.is_final() {
            q.next_poll_at = Some(first_poll_at);
        }
        changed.push("carrier");
    }
    let mut field = |name: &'static str, same: bool| {
        if !same {
            changed.push(name);
        }
    };
    q.order_id = v.order_id.apply(&p.order_id);
    field("order_id", q.order_id == p.order_id);
    q.customer.name = v
        .name
        .apply(&Some(p.customer.name.clone()))
        .unwrap_or_default();
    field("customer.name", q.customer.name == p.customer.name);
    q.customer.phone = v.phone.apply(&p.customer.phone);
    field("customer.phone", q.customer.phone == p.customer.phone);
    q.customer.email = v.email.apply(&p.customer.email);
    field("customer.email", q.customer.email == p.customer.email);
    q.cod = v.cod.apply(&Some(p.cod)).unwrap_or(Kopecks::ZERO);
    field("cod_amount", q.cod == p.cod);
    q.contents = v.contents.apply(&p.contents);
    field("contents", q.contents == p.contents);
    q.storage_days = v.storage_days.apply(&p.storage_days);
    field("storage_days", q.storage_days == p.storage_days);
    if changed.is_empty() {
        return Upsert::Unchanged;
    }
    q.track_warning = track_warning;
    q.updated_at = now;
    Upsert::Updated {
        parcel: Box::new(q),
        changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ParcelDraft {
        ParcelDraft {
            track: "10100012000016".into(),
            order_id: Patch::set("A-1001"),
            name: Patch::set("Иванов Иван"),
            phone: Patch::set("8 912 345-67-89"),
            email: Patch::set("ivan@example.ru"),
            cod_amount: Patch::set("1490.00"),
            contents: Patch::set("Книга"),
            carrier: None,
            storage_days: Patch::Keep,
        }
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_741_000_000).unwrap()
    }

    fn created(v: &ValidParcel) -> Parcel {
        let Upsert::Created(p) = upsert(None, v, &ShopId::from_trusted("acme"), 7, now(), now())
        else {
            panic!("expected created")
        };
        *p
    }

    fn updated(p: &Parcel, d: &ParcelDraft) -> (Parcel, Vec<&'static str>) {
        let v = validate(d).unwrap();
        match upsert(Some(p), &v, &p.shop, 9, now(), now()) {
            Upsert::Updated { parcel, changed } => (*parcel, changed),
            other => panic!("expected updated, got {other:?}"),
        }
    }

    #[test]
    fn a_good_draft_validates() {
        let v = validate(&draft()).unwrap();
        assert_eq!(v.carrier(), CarrierId::RussianPost);
        assert_eq!(v.phone.value().unwrap().as_str(), "+79123456789");
        assert_eq!(v.cod, Patch::Set(Kopecks(149_000)));
        assert!(v.warnings.is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let d = ParcelDraft {
            track: "ABC123".into(),
            phone: Patch::set("12"),
            email: Patch::set("nope"),
            cod_amount: Patch::set("-1"),
            order_id: Patch::set("x".repeat(65)),
            contents: Patch::set("a\u{0}b"),
            carrier: Some("dhl".into()),
            name: Patch::Keep,
            storage_days: Patch::set("вечно"),
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
                "cod_amount",
                "storage_days"
            ]
        );
        assert!(errs[0].message.contains("ABC123"));
    }

    #[test]
    fn storage_days_read_as_shops_write_them() {
        assert_eq!(storage_days("15"), Ok(15));
        assert_eq!(storage_days(" 7 дней"), Ok(7));
        assert_eq!(storage_days("30 days"), Ok(30));
        assert!(storage_days("0").is_err());
        assert!(storage_days("400").is_err());
        assert!(storage_days("15 недель").is_err());
        assert!(storage_days("-3").is_err());
    }

    #[test]
    fn sandbox_numbers_need_the_sandbox_carrier() {
        let mut d = draft();
        d.track = "SANDBOX-DELIVERED-1".into();
        assert_eq!(validate(&d).unwrap().carrier(), CarrierId::Sandbox);
        d.carrier = Some("russian_post".into());
        assert_eq!(fields(&validate(&d).unwrap_err()), ["carrier"]);
        let mut d = draft();
        d.carrier = Some("sandbox".into());
        assert_eq!(fields(&validate(&d).unwrap_err()), ["carrier"]);
        let mut d = draft();
        d.carrier = Some("ems".into());
        assert_eq!(validate(&d).unwrap().carrier(), CarrierId::Ems);
    }

    #[test]
    fn warnings_for_doubtful_but_usable_parcels() {
        let mut d = draft();
        d.track = "RA644000001RU".into();
        d.phone = Patch::Keep;
        d.email = Patch::set("  ");
        let v = validate(&d).unwrap();
        assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
        let p = created(&v);
        assert_eq!(notes(&v, &p).len(), 1, "no way to reach the customer");
    }

    #[test]
    fn upsert_is_idempotent_and_updates_contacts() {
        let v = validate(&draft()).unwrap();
        let p = created(&v);
        assert_eq!(p.id, 7);
        assert_eq!(p.status, Status::Registered);
        assert_eq!(
            upsert(Some(&p), &v, &p.shop, 8, now(), now()),
            Upsert::Unchanged
        );
        let mut d = draft();
        d.phone = Patch::set("+7 999 000-11-22");
        let (q, changed) = updated(&p, &d);
        assert_eq!(q.id, 7, "the parcel keeps its id");
        assert_eq!(q.customer.phone.as_ref().unwrap().as_str(), "+79990001122");
        assert_eq!(changed, ["customer.phone"]);
    }

    #[test]
    fn absent_fields_keep_their_values_and_cleared_ones_go() {
        let p = created(&validate(&draft()).unwrap());
        // Only the track and the order: nothing is erased.
        let sparse = ParcelDraft {
            track: p.track.as_str().into(),
            order_id: Patch::set("A-1001"),
            ..ParcelDraft::default()
        };
        let v = validate(&sparse).unwrap();
        assert_eq!(
            upsert(Some(&p), &v, &p.shop, 8, now(), now()),
            Upsert::Unchanged
        );
        // Blank text is absent too.
        let blank = ParcelDraft {
            phone: Patch::set("  "),
            ..sparse.clone()
        };
        assert_eq!(
            upsert(
                Some(&p),
                &validate(&blank).unwrap(),
                &p.shop,
                8,
                now(),
                now()
            ),
            Upsert::Unchanged
        );
        // Clearing the e-mail and the amount due, setting a storage period.
        let clearing = ParcelDraft {
            email: Patch::Clear,
            cod_amount: Patch::Clear,
            storage_days: Patch::set("7"),
            ..sparse
        };
        let (q, changed) = updated(&p, &clearing);
        assert_eq!(changed, ["customer.email", "cod_amount", "storage_days"]);
        assert_eq!(q.customer.email, None);
        assert_eq!(q.cod, Kopecks::ZERO);
        assert_eq!(q.customer.phone, p.customer.phone);
        assert_eq!(q.customer.name, p.customer.name);
        assert_eq!(q.storage_days, Some(7));
    }

    #[test]
    fn cells_keep_clear_or_set() {
        assert_eq!(Patch::from_cell(""), Patch::Keep);
        assert_eq!(Patch::from_cell("  "), Patch::Keep);
        assert_eq!(Patch::from_cell("-"), Patch::Clear);
        assert_eq!(Patch::from_cell(" — "), Patch::Clear);
        assert_eq!(Patch::from_cell("Книга"), Patch::set("Книга"));
    }

    #[test]
    fn a_carrier_that_handed_the_parcel_over_does_not_take_it_back() {
        let mut d = draft();
        d.track = "RA123456785CN".into();
        d.carrier = Some("china_post".into());
        let v = validate(&d).unwrap();
        let mut p = created(&v);
        assert_eq!(p.carrier, CarrierId::ChinaPost);
        // 17TRACK handed it to Russian Post.
        p.carrier = CarrierId::RussianPost;
        p.handed_over_from = Some(CarrierId::ChinaPost);
        // The same file again, naming China Post: unchanged, and the answer says why.
        assert_eq!(
            upsert(Some(&p), &v, &p.shop, 8, now(), now()),
            Upsert::Unchanged
        );
        assert!(
            notes(&v, &p)
                .iter()
                .any(|n| n.contains("handed the parcel over"))
        );
        // Naming another carrier explicitly moves it.
        let mut ems = d.clone();
        ems.carrier = Some("ems".into());
        let (q, changed) = updated(&p, &ems);
        assert_eq!(q.carrier, CarrierId::Ems);
        assert_eq!(changed, ["carrier"]);
        assert_eq!(q.handed_over_from, None);
    }
}
