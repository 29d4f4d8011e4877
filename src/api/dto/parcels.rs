//! Parcels as the API shows them: the parcel with its events, notifications and opt-outs,
//! and pages of them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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
    /// Who set it by hand (`operator`, `shop`); absent for the carrier's own events.
    #[serde(default)]
    pub set_by: Option<String>,
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
    /// The newest status set by hand, when the carrier's events contradict it (the hand's
    /// status stands until it is set again).
    #[serde(default)]
    pub contradiction: Option<super::ContradictionView>,
    /// The pickup office's index as the carrier named it before the parcel got there.
    #[serde(default)]
    pub destination_index: Option<String>,
    /// The expected arrival at the office; absent once it arrived, or while no lane has enough
    /// finished journeys.
    #[serde(default)]
    pub expected: Option<super::ExpectedView>,
    /// The parcel is very likely waiting at an office though no arrival was recorded (kept
    /// after the real arrival).
    #[serde(default)]
    pub probably_arrived: Option<super::ProbableView>,
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
