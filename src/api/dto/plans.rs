//! Plans: a shop's plan with its use this month, and changing it.

use serde::{Deserialize, Serialize};

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
