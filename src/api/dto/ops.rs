//! Operations: "poll now" and the health answer.

use crate::carriers::poll::PollSummary;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// `ok`, `paused`, `failing` or `stalled`.
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
    /// Since when the carrier's live parcels stopped moving together (state `stalled`).
    #[serde(default)]
    pub stalled_since: Option<Timestamp>,
    /// Why it counts as stalled.
    #[serde(default)]
    pub stalled_reason: Option<String>,
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
