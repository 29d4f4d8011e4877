//! Reports and statistics: the report on demand and its summary, and counts and rates over a
//! period.

use super::PlanView;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// How the expected arrivals and the "probably at the office" inferences came out, per
    /// carrier, since the store began (not limited to the period).
    #[serde(default)]
    pub estimates: BTreeMap<String, super::EstimateStatsView>,
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
