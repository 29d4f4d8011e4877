//! The API's request and response bodies. They are separate from the domain types so the wire
//! format can stay stable while the domain changes; `parcelctl` and the tests use the same types.

mod notify;

pub use notify::*;

use crate::carriers::poll::PollSummary;
use crate::domain::intake::FieldError;
use crate::domain::shop::Language;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

pub use super::shop_dto::*;

/// `{"error": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error's details.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: String,
    /// For people.
    pub message: String,
    /// The field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `POST /v1/shops`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateShop {
    /// The shop's id (`a-z0-9_-`).
    pub id: String,
    /// Its name as customers know it.
    pub name: String,
    /// Where reports and alerts go.
    #[serde(default)]
    pub report_email: Option<String>,
    /// IANA time zone; the daemon's when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Phone for customers.
    #[serde(default)]
    pub phone: Option<String>,
    /// Default message language.
    #[serde(default)]
    pub language: Option<Language>,
    /// The SMS gateway for this shop's messages (`smsru`, `smsc`, `file`); the config's when
    /// absent. An empty string returns to the config's.
    #[serde(default)]
    pub sms_provider: Option<String>,
    /// The sender name on its SMS (as registered with the gateway); empty removes it.
    #[serde(default)]
    pub sms_sender: Option<String>,
    /// Its tracking page, `{track}` standing for the track number; empty removes it.
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// Where customers leave a review; empty removes it.
    #[serde(default)]
    pub review_url: Option<String>,
    /// How long offices keep the shop's parcels, in days, when its contract with the post sets
    /// its own period; the config's table by mail type when absent or `null`.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub storage_days: Field<u16>,
}

/// The answer to `POST /v1/shops`: the only time the token is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShopCreated {
    /// The shop's id.
    pub id: String,
    /// Its API token for the TCP listener.
    pub token: String,
}

/// `PATCH /v1/shops/{shop}`: fields to change; `rotate_token` issues a new token.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchShop {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New report address (empty string removes it).
    #[serde(default)]
    pub report_email: Option<String>,
    /// New time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// New phone (empty string removes it).
    #[serde(default)]
    pub phone: Option<String>,
    /// New language.
    #[serde(default)]
    pub language: Option<Language>,
    /// Issue a new token (the old one stops working).
    #[serde(default)]
    pub rotate_token: bool,
    /// When the morning report goes out, `HH:MM` in the shop's time zone (empty string: the
    /// daemon's default).
    #[serde(default)]
    pub report_at: Option<String>,
    /// The SMS gateway for this shop's messages (`smsru`, `smsc`, `file`); the config's when
    /// absent. An empty string returns to the config's.
    #[serde(default)]
    pub sms_provider: Option<String>,
    /// The sender name on its SMS (as registered with the gateway); empty removes it.
    #[serde(default)]
    pub sms_sender: Option<String>,
    /// Its tracking page, `{track}` standing for the track number; empty removes it.
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// Where customers leave a review; empty removes it.
    #[serde(default)]
    pub review_url: Option<String>,
    /// How long offices keep the shop's parcels, in days; `null` returns to the config's table
    /// by mail type. Deadlines of parcels waiting now are worked out again.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub storage_days: Field<u16>,
    /// The accent colour of its customers' tracking page, `#RRGGBB`; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_color: Option<String>,
    /// Its logo on the tracking page, an `https://` URL of the image; empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
}

/// A shop as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShopView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Report address.
    pub report_email: Option<String>,
    /// Time zone.
    pub timezone: String,
    /// Phone.
    pub phone: Option<String>,
    /// Language.
    pub language: Language,
    /// Created.
    pub created_at: Timestamp,
    /// When the morning report goes out (`HH:MM`, the shop's time zone).
    #[serde(default)]
    pub report_at: Option<String>,
    /// The plan's name.
    #[serde(default)]
    pub plan: Option<String>,
    /// Its SMS gateway, when it chose one.
    #[serde(default)]
    pub sms_provider: Option<String>,
    /// Its SMS sender name, when it has one.
    #[serde(default)]
    pub sms_sender: Option<String>,
    /// Its tracking page.
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// Its review page.
    #[serde(default)]
    pub review_url: Option<String>,
    /// Its own storage period in days, if it set one.
    #[serde(default)]
    pub storage_days: Option<u16>,
    /// The accent colour of its tracking page, `#rrggbb`.
    #[serde(default)]
    pub brand_color: Option<String>,
    /// Its logo on the tracking page.
    #[serde(default)]
    pub logo_url: Option<String>,
    /// Set only when `rotate_token` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A field of a parcel handed over again: absent keeps what is stored, `null` clears it, a
/// value sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not in the request.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A value.
    Value(T),
}

impl<T> Field<T> {
    /// Whether the field was left out (it is then not written either).
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }
}

impl<T> Field<T> {
    /// The value, when there is one.
    pub fn as_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> Field<T> {
    /// The value, if there is one.
    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<Field<T>> for crate::domain::intake::Patch<T> {
    /// Absent keeps, `null` clears, a value sets.
    fn from(f: Field<T>) -> Self {
        use crate::domain::intake::Patch;
        match f {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(v) => Patch::Set(v),
        }
    }
}

impl<T> From<Option<T>> for Field<T> {
    /// `None` leaves the field out.
    fn from(v: Option<T>) -> Self {
        v.map_or(Field::Absent, Field::Value)
    }
}

impl<T> From<T> for Field<T> {
    fn from(v: T) -> Self {
        Field::Value(v)
    }
}

impl From<&str> for Field<String> {
    fn from(v: &str) -> Self {
        Field::Value(v.to_string())
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => s.serialize_some(v),
            Field::Absent | Field::Null => s.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Field::Null, Field::Value))
    }
}

/// A customer as handed over.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    /// Full name.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub name: Field<String>,
    /// Phone in any common form.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub phone: Field<String>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub email: Field<String>,
}

/// A parcel as handed over. Only `track` is required; for a parcel handed over before, an
/// absent field keeps what is stored and `null` clears it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ParcelIn {
    /// Track number.
    pub track: String,
    /// The shop's order number.
    #[serde(
        default,
        deserialize_with = "text_or_number",
        skip_serializing_if = "Field::is_absent"
    )]
    pub order_id: Field<String>,
    /// The customer (`null` clears name, phone and e-mail).
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub customer: Field<CustomerIn>,
    /// Cash on delivery in roubles: `"1490.00"` or `1490`.
    #[serde(
        default,
        deserialize_with = "text_or_number",
        skip_serializing_if = "Field::is_absent"
    )]
    pub cod_amount: Field<String>,
    /// What is inside.
    #[serde(default, skip_serializing_if = "Field::is_absent")]
    pub contents: Field<String>,
    /// The carrier, when it is not to be guessed from the number (or to move the parcel to
    /// another carrier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// How long the office keeps it, in days, when the shop's contract sets it per parcel.
    #[serde(
        default,
        deserialize_with = "text_or_number",
        skip_serializing_if = "Field::is_absent"
    )]
    pub storage_days: Field<String>,
}

/// A present field that may be text or a number (`"1490.00"`, `1490`), or `null`.
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Field<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Int(u64),
        Float(f64),
    }
    Ok(match Option::<TextOrNumber>::deserialize(d)? {
        None => Field::Null,
        Some(TextOrNumber::Text(s)) => Field::Value(s),
        Some(TextOrNumber::Int(n)) => Field::Value(n.to_string()),
        Some(TextOrNumber::Float(f)) => Field::Value(f.to_string()),
    })
}

/// What happened to one handed-over parcel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IntakeOutcome {
    /// Stored as new.
    Created,
    /// It was there with the same details.
    AlreadyPresent,
    /// It was there; its details were updated.
    Updated,
    /// Refused; see `errors`.
    Rejected,
}

/// The result for one handed-over parcel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IntakeItem {
    /// Its position in the request (0-based).
    pub index: usize,
    /// Its track number as normalised, when it has one.
    pub track: Option<String>,
    /// What happened.
    pub outcome: IntakeOutcome,
    /// Why it was refused, per field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Doubts worth a look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For an update: the fields that changed, as the API names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

/// The answer to an intake request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct IntakeResponse {
    /// New parcels.
    pub created: usize,
    /// Parcels whose details changed.
    pub updated: usize,
    /// Parcels already present unchanged.
    pub unchanged: usize,
    /// Refused parcels.
    pub rejected: usize,
    /// One result per parcel, in request order.
    pub results: Vec<IntakeItem>,
}

/// A pickup office.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OfficeView {
    /// Postal index.
    pub index: Option<String>,
    /// Short name.
    pub name: String,
    /// Street address.
    pub address: Option<String>,
    /// Opening hours.
    pub hours: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// Where the parcel waits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ArrivalView {
    /// The office.
    pub office: OfficeView,
    /// Since when.
    pub arrived_at: Timestamp,
    /// Until when.
    pub deadline: Timestamp,
    /// Whole days left.
    pub days_left: i64,
    /// The office's time zone (from its index), in which the customer's messages give dates.
    #[serde(default)]
    pub timezone: Option<String>,
    /// What the deadline rests on, in words: "15 days, parcel, from 2026-12-08", "extended by
    /// 15 days on 2026-12-20 (8/23)", "5 days left per the post on 2026-12-17 (8/28)".
    #[serde(default)]
    pub deadline_basis: String,
    /// Other things the post said about storage: an extension applied for or refused.
    #[serde(default)]
    pub storage_notes: Vec<String>,
}

/// One carrier event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventView {
    /// When.
    pub at: Timestamp,
    /// Normalised status.
    pub status: String,
    /// The carrier's code.
    pub code: String,
    /// The carrier's words.
    pub description: String,
    /// Where.
    pub office: Option<OfficeView>,
}

/// One notification.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotificationView {
    /// What about.
    pub kind: String,
    /// Which occurrence.
    pub occurrence: u32,
    /// Channel.
    pub channel: String,
    /// Recipient, masked.
    pub recipient: String,
    /// Delivery state.
    pub state: String,
    /// Attempts.
    pub attempts: u32,
    /// Queued.
    pub created_at: Timestamp,
    /// Next attempt (pending).
    pub next_attempt_at: Option<Timestamp>,
    /// Accepted by the provider.
    pub sent_at: Option<Timestamp>,
    /// The provider's id.
    pub provider_id: Option<String>,
    /// The provider's delivery report.
    pub delivery_status: Option<String>,
    /// The last error or why it was cancelled.
    pub last_error: Option<String>,
    /// The gateway or transport that took it (`smtp`, `smsru`, `smsc`, `file`).
    #[serde(default)]
    pub provider: Option<String>,
    /// SMS segments it cost.
    #[serde(default)]
    pub segments: Option<u32>,
    /// Sends made without knowing whether the provider already had it (after a crash or a
    /// lost answer): each may have reached the customer twice.
    #[serde(default)]
    pub doubtful_resends: u32,
}

/// A customer as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CustomerView {
    /// Name.
    pub name: String,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// A parcel with its history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParcelView {
    /// Track number.
    pub track: String,
    /// Carrier.
    pub carrier: String,
    /// Order number.
    pub order_id: Option<String>,
    /// Customer.
    pub customer: CustomerView,
    /// Cash on delivery, `"1490.00"`.
    pub cod_amount: String,
    /// Contents.
    pub contents: Option<String>,
    /// Status.
    pub status: String,
    /// Status in Russian.
    pub status_label: String,
    /// No carrier event for longer than `stuck_after`.
    pub stuck: bool,
    /// Doubt about the track number.
    pub track_warning: Option<String>,
    /// Handed over.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// The newest carrier event's time.
    pub last_event_at: Option<Timestamp>,
    /// Where it waits.
    pub arrival: Option<ArrivalView>,
    /// When the cash on delivery was paid.
    pub cod_paid_at: Option<Timestamp>,
    /// The number the carrier re-registered the parcel under, if it did.
    #[serde(default)]
    pub tracked_as: Option<String>,
    /// Next poll.
    pub next_poll_at: Option<Timestamp>,
    /// Next reminder.
    pub next_reminder_at: Option<Timestamp>,
    /// Last poll error.
    pub last_poll_error: Option<String>,
    /// Carrier events, oldest first (only in single-parcel answers).
    #[serde(default)]
    pub events: Vec<EventView>,
    /// Notifications (only in single-parcel answers).
    #[serde(default)]
    pub notifications: Vec<NotificationView>,
    /// Channels the customer unsubscribed from for this parcel.
    #[serde(default)]
    pub unsubscribed: Vec<String>,
    /// Every opt-out that applies to the customer: this parcel's, and the shop-wide ones of
    /// the customer's phone or address (a STOP reply) (only in single-parcel answers).
    #[serde(default)]
    pub optouts: Vec<OptOutView>,
    /// The parcel's own storage period in days, when the shop gave one.
    #[serde(default)]
    pub storage_days: Option<u16>,
    /// The kind of item as the carrier reported it (`parcel`, `parcel_online`, …) with the
    /// carrier's name for it.
    #[serde(default)]
    pub mail_type: Option<MailTypeView>,
    /// When polling stopped because the carrier said nothing for `rules.give_up_after`; the
    /// shop can revive it (`POST …/parcels/{track}/revive`).
    #[serde(default)]
    pub abandoned_at: Option<Timestamp>,
}

/// An opt-out that applies to a parcel's customer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OptOutView {
    /// `sms` or `email`.
    pub channel: String,
    /// `parcel` (this parcel's messages) or `shop` (every message of this shop to that phone
    /// or address).
    pub scope: String,
    /// `link`, `one_click`, `sms_stop` or `shop`.
    pub source: String,
    /// When.
    pub at: Timestamp,
}

/// The kind of item as the carrier reported it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailTypeView {
    /// The class whose storage period applies (`parcel`, `ems`, `letter`, `small_packet`,
    /// `parcel_online`, `ecom`, `other`).
    pub class: String,
    /// The carrier's code.
    pub code: u16,
    /// The carrier's name.
    pub name: String,
}

/// A page of parcels.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParcelList {
    /// The parcels.
    pub parcels: Vec<ParcelView>,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

/// `POST /v1/poll`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    /// Only this shop.
    #[serde(default)]
    pub shop: Option<String>,
    /// Every live parcel, not only those due.
    #[serde(default)]
    pub all: bool,
}

/// The answer to `POST /v1/poll`.
pub type PollResponse = PollSummary;

/// One carrier in the health answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CarrierHealthView {
    /// `ok`, `paused` or `failing`.
    pub state: String,
    /// Last success.
    pub last_success_at: Option<Timestamp>,
    /// Last error.
    pub last_error: Option<String>,
    /// Paused until.
    pub paused_until: Option<Timestamp>,
    /// Why it is paused (refused credentials, exhausted limit).
    #[serde(default)]
    pub paused_reason: Option<String>,
    /// Requests made today (the daemon's time zone).
    #[serde(default)]
    pub requests_today: u32,
    /// The daily budget, if any.
    #[serde(default)]
    pub daily_limit: Option<u32>,
    /// Batch tickets the carrier is still preparing answers to.
    #[serde(default)]
    pub open_tickets: usize,
}

/// One channel in the health answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelHealthView {
    /// Transport name.
    pub transport: String,
    /// Waiting messages.
    pub pending: usize,
    /// Messages in hand.
    pub sending: usize,
    /// Dead letters.
    pub dead: usize,
    /// Last success.
    pub last_success_at: Option<Timestamp>,
    /// Last error.
    pub last_error: Option<String>,
    /// Sending paused until then: the provider refused the account.
    #[serde(default)]
    pub paused_until: Option<Timestamp>,
    /// What the provider said, per paused gateway.
    #[serde(default)]
    pub paused: Vec<String>,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthView {
    /// `ok` or `degraded`.
    pub status: String,
    /// parceld's version.
    pub version: String,
    /// When the daemon started.
    pub started_at: Timestamp,
    /// The store's last write failure, if any.
    pub store_error: Option<String>,
    /// Carriers.
    pub carriers: BTreeMap<String, CarrierHealthView>,
    /// Channels.
    pub channels: BTreeMap<String, ChannelHealthView>,
}

/// An office of the post office directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DirectoryOfficeView {
    /// Postal index.
    pub index: String,
    /// Street address.
    pub address: String,
    /// Opening hours.
    pub hours: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// One bad line of an office directory file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CsvProblemView {
    /// Line number (1 is the header).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// The answer to `POST /v1/offices`: 200 when imported, 422 with the problems (and nothing
/// imported) otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct OfficesImported {
    /// Offices read from the file and stored.
    pub imported: usize,
    /// Offices in the directory now.
    pub total: usize,
    /// Bad lines.
    #[serde(default)]
    pub problems: Vec<CsvProblemView>,
}
