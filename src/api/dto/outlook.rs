//! What parceld expects of a parcel (its expected arrival at the office, "probably at the
//! office") and how those expectations came out, per carrier, in the stats.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The expected arrival at the pickup office, from the narrowest lane with enough finished
/// journeys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExpectedView {
    /// The leg it estimates: `to_office` (from acceptance) or `from_region` (from the first
    /// event in the office's region).
    pub leg: String,
    /// When that leg started.
    pub since: Timestamp,
    /// The earliest expected arrival (the range's lower quantile).
    pub earliest: Timestamp,
    /// The latest expected arrival (the range's upper quantile).
    pub latest: Timestamp,
    /// The most likely arrival (the median).
    pub likely: Timestamp,
    /// The lane it came from: `101000 → 630099`, `101 → 630` or `all`.
    pub lane: String,
    /// How many finished journeys the lane holds.
    pub samples: u64,
}

/// The parcel is very likely waiting at an office though the carrier recorded no arrival.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProbableView {
    /// The office's index.
    pub office_index: Option<String>,
    /// The office's name.
    pub office_name: String,
    /// Since when it is believed to be there.
    pub since: Timestamp,
    /// When parceld concluded so (and told the customer).
    pub inferred_at: Option<Timestamp>,
    /// `seen_there` (an operation only a waiting item gets) or `overdue` (in the office's
    /// region longer than its lane takes to the office).
    pub reason: String,
    /// The evidence in words.
    pub detail: String,
}

/// How the estimates made at acceptance and the "probably at the office" inferences of one
/// carrier came out, counted as real arrivals came.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct EstimateStatsView {
    /// Estimates scored against a real arrival.
    pub scored: u64,
    /// Of them, the arrival's day fell within the range.
    pub within: u64,
    /// `within ÷ scored`.
    pub within_share: Option<f64>,
    /// Share of arrivals on the most likely day.
    pub exact_day_share: Option<f64>,
    /// Mean absolute error of the most likely day, in days.
    pub mean_error_days: Option<f64>,
    /// Parcels inferred to be at an office.
    pub probable: u64,
    /// Of them, the real arrival came later at that office.
    pub probable_confirmed: u64,
    /// Of them, the real arrival came at another office.
    pub probable_elsewhere: u64,
    /// `confirmed ÷ (confirmed + elsewhere)`.
    pub probable_right_share: Option<f64>,
    /// How many days before the real arrival was recorded a confirmed inference came, on
    /// average.
    pub probable_days_earlier: Option<f64>,
}
