//! The bodies of the shop-side endpoints: file imports, reports, statistics, plans and shop
//! erasure. Re-exported from [`super::dto`].

use super::dto::IntakeOutcome;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One error of an imported row: the column as the file names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowError {
    /// The column header as written in the file (empty when the error is not about a column).
    pub column: String,
    /// The field as the API names it (`customer.phone`, `plan`).
    pub field: String,
    /// Why.
    pub message: String,
}

/// What became of one row of an imported file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowResult {
    /// The row number as Excel shows it.
    pub row: usize,
    /// The track number, when it could be read.
    pub track: Option<String>,
    /// Created, already present, updated or rejected.
    pub outcome: IntakeOutcome,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RowError>,
    /// Doubts worth showing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A column the import used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ColumnUsed {
    /// The field (`track`, `customer.phone`).
    pub field: String,
    /// The header as written in the file.
    pub header: String,
}

/// A column the import did not read although its header looks like a parcel's field
/// ("Сумма заказа", "Дата заказа", a second phone column).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ColumnWarning {
    /// The header as written in the file.
    pub column: String,
    /// The fields it looks like or could be (`cod_amount`, `order_id`).
    pub looks_like: Vec<String>,
    /// Why it was not read, and what to do if it should be.
    pub message: String,
}

/// A row of an imported file passed over on purpose.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SkippedRow {
    /// The row number as Excel shows it.
    pub row: usize,
    /// Why: a total row ("Итого").
    pub reason: String,
}

/// The answer to `POST /v1/shops/{shop}/parcels/import`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ImportResponse {
    /// `csv` or `xlsx`.
    pub format: String,
    /// How it was read: encoding and separator, or the sheet.
    pub detected: Option<String>,
    /// The columns used.
    pub columns: Vec<ColumnUsed>,
    /// Headers that were not understood and were skipped.
    pub ignored_columns: Vec<String>,
    /// Ignored columns that look like a parcel's field (each is in `ignored_columns` too).
    #[serde(default)]
    pub warnings: Vec<ColumnWarning>,
    /// Rows passed over: total rows ("Итого", "Всего", "Total").
    #[serde(default)]
    pub skipped_rows: Vec<SkippedRow>,
    /// Data rows read (empty and skipped rows left out).
    pub rows: usize,
    /// New parcels.
    pub created: usize,
    /// Parcels whose details changed.
    pub updated: usize,
    /// Parcels already there with the same details.
    pub unchanged: usize,
    /// Rows refused.
    pub rejected: usize,
    /// One result per row.
    pub results: Vec<RowResult>,
}

/// Counts and rates over a period (see `reports::stats`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct StatsView {
    /// The shop, or absent for all shops.
    pub shop: Option<String>,
    /// Period start (inclusive).
    pub from: Timestamp,
    /// Period end (exclusive).
    pub to: Timestamp,
    /// Parcels handed over in the period.
    pub handed_over: u64,
    /// Distinct order numbers among them.
    pub orders: u64,
    /// Parcels that finished in the period, by outcome (`delivered`, `returned_to_sender`,
    /// `lost`).
    pub finished: BTreeMap<String, u64>,
    /// Returned ÷ finished, in the period; absent when nothing finished.
    pub return_rate: Option<f64>,
    /// The same for the period of equal length just before.
    pub previous_return_rate: Option<f64>,
    /// Days from acceptance by the carrier to arrival at the pickup office.
    pub accepted_to_arrived_days: Durations,
    /// Days from arrival at the office to pickup.
    pub arrived_to_pickup_days: Durations,
    /// Notifications created in the period, per channel.
    pub notifications: BTreeMap<String, ChannelStats>,
    /// Parcels (handed over in the period) whose customer unsubscribed, per channel.
    pub unsubscribed: BTreeMap<String, u64>,
    /// Current statuses of every parcel of the shop(s), whatever the period.
    pub by_status: BTreeMap<String, u64>,
    /// The plan and this month's use (one shop only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanView>,
}

/// Median and 90th percentile of a set of durations, in days.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Durations {
    /// How many parcels.
    pub count: u64,
    /// Median, days.
    pub median: Option<f64>,
    /// 90th percentile (nearest rank), days.
    pub p90: Option<f64>,
}

/// One channel's notifications.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct ChannelStats {
    /// Created.
    pub total: u64,
    /// Accepted by the provider.
    pub sent: u64,
    /// Given up.
    pub failed: u64,
    /// Withdrawn (the parcel moved on, unsubscribed, erased).
    pub cancelled: u64,
    /// Still waiting or in hand.
    pub pending: u64,
    /// Sent ÷ (sent + failed); absent when none finished.
    pub delivery_rate: Option<f64>,
}

/// A shop's plan and its use this month.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct PlanView {
    /// Plan name.
    pub name: String,
    /// New parcels allowed per month; absent for no limit.
    pub monthly_quota: Option<u64>,
    /// Last day of the trial.
    pub trial_ends: Option<String>,
    /// The month counted (`2026-11`, the shop's time zone).
    pub month: String,
    /// New parcels this month.
    pub used: u64,
    /// Still allowed this month; absent for no limit.
    pub remaining: Option<u64>,
}

/// `PUT /v1/shops/{shop}/plan`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PlanIn {
    /// Plan name.
    pub name: String,
    /// New parcels per month; absent or 0 for no limit.
    #[serde(default)]
    pub monthly_quota: Option<u64>,
    /// Last day of the trial, `YYYY-MM-DD`; absent for none.
    #[serde(default)]
    pub trial_ends: Option<String>,
}

/// `POST /v1/shops/{shop}/report`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// Send it to an address other than the shop's report address.
    #[serde(default)]
    pub to: Option<String>,
    /// Only build it and answer with the summary; send nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a report said and where it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ReportSummary {
    /// The shop.
    pub shop: String,
    /// When it was built.
    pub at: Timestamp,
    /// The recipient, when sent.
    pub sent_to: Option<String>,
    /// The e-mail subject.
    pub subject: String,
    /// Live and finished parcels by status.
    pub by_status: BTreeMap<String, u64>,
    /// Arrived at the office since the previous day.
    pub arrived: usize,
    /// Collected since the previous day.
    pub delivered: usize,
    /// Started back since the previous day.
    pub returning: usize,
    /// Without a carrier event for over `rules.stuck_after`.
    pub stuck: usize,
    /// The attachment's file name.
    pub attachment: String,
}

/// `DELETE /v1/shops/{shop}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShopErased {
    /// The shop.
    pub erased: String,
    /// Parcels erased with it.
    pub parcels: usize,
}
