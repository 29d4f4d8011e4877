//! Statuses set by hand: the request, and how a contradiction by the carrier is shown.

use super::EventView;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// `POST /v1/shops/{shop}/parcels/{track}/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// `delivered`, `returned_to_sender` (or `returned`), `lost`, `arrived_at_pickup` (or
    /// `arrived`).
    pub status: String,
    /// Why, in a few words; kept in the parcel's history.
    pub reason: String,
    /// For `arrived_at_pickup`: the office's postal index.
    #[serde(default)]
    pub office_index: Option<String>,
    /// For `arrived_at_pickup`: the office's name (the index's, if left out).
    #[serde(default)]
    pub office_name: Option<String>,
}

/// The newest status set by hand and the carrier's events that contradict it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContradictionView {
    /// Who set it: `operator` or `shop`.
    pub set_by: String,
    /// The status set by hand.
    pub status: String,
    /// Why it was set.
    pub reason: String,
    /// When it was set.
    pub at: Timestamp,
    /// The carrier's events that say otherwise, oldest first.
    pub carrier_events: Vec<EventView>,
}
