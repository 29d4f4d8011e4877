//! What the operator is shown about the carriers' codes: those no mapping knows.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One code a carrier sent that parceld does not map (`GET /v1/carriers/unmapped`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UnmappedCodeView {
    /// The carrier that sent it (`russian_post`, `china_post`).
    pub carrier: String,
    /// The carrier's code (`8/99`, `Exception_Held`).
    pub code: String,
    /// The carrier's description of the newest event with it.
    pub description: String,
    /// New events that carried it.
    pub count: u64,
    /// When it was first met.
    pub first_seen: Timestamp,
    /// When it was last met.
    pub last_seen: Timestamp,
    /// The first few parcels it came for, `shop/track`.
    pub samples: Vec<String>,
    /// Whether the config maps it now (`[carriers.<carrier>.codes]`); events met before the
    /// mapping keep the status they got then.
    pub mapped_now: bool,
}
