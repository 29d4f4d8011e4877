//! Carriers: the [`Carrier`] interface every carrier implements, and the carriers themselves.
//!
//! A carrier turns track numbers into normalised [`CarrierEvent`]s and classifies its failures;
//! it owns its wire format and nothing else. Rate limits, budgets, windows, retries and the
//! store belong to the shared poller ([`crate::actors::poller`]), so a new carrier is one module
//! that speaks its protocol.

pub mod poll;
pub mod sandbox;

use crate::config::Settings;
use crate::daemon::clock::Clock;
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::CarrierEvent;
use crate::domain::track::TrackNumber;
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// The carriers the config enables.
pub fn build(settings: &Settings, clock: &Clock) -> Vec<Arc<dyn Carrier>> {
    settings
        .carriers
        .keys()
        .filter_map(|id| -> Option<Arc<dyn Carrier>> {
            match id {
                CarrierId::Sandbox => Some(Arc::new(sandbox::Sandbox::new(clock.clone()))),
                _ => None,
            }
        })
        .collect()
}

/// One parcel to ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackQuery {
    /// The number to ask for.
    pub track: TrackNumber,
    /// How many events parceld already knows (the sandbox plays its script from here).
    pub known_events: usize,
    /// When the parcel was handed over.
    pub created_at: Timestamp,
    /// Whether cash is due on delivery (carriers that report payment ask for it).
    pub has_cod: bool,
}

/// What a carrier knows about one parcel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackReport {
    /// Its events, in any order; known ones may repeat. Empty means "no information yet".
    pub events: Vec<CarrierEvent>,
    /// When the cash on delivery was paid at the office, if reported.
    pub cod_paid_at: Option<Timestamp>,
    /// The carrier re-registered the parcel under this number.
    pub new_track: Option<TrackNumber>,
}

/// Why a carrier could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// Credentials were refused: stop polling this carrier until an operator or the next window.
    #[error("authorisation refused: {0}")]
    Auth(String),
    /// The account's request budget is spent: stop until the next window.
    #[error("request limit exhausted: {0}")]
    LimitExhausted(String),
    /// Asked too fast: wait (at least `retry_after`, when the carrier says).
    #[error("rate limited{}", retry_after.map(|d| format!(" (retry after {})", humantime::format_duration(d))).unwrap_or_default())]
    RateLimited {
        /// The carrier's requested pause.
        retry_after: Option<Duration>,
    },
    /// Worth retrying later: timeouts, connection errors, 5xx, malformed answers.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// This number will not work: asking again is pointless.
    #[error("{0}")]
    Permanent(String),
}

impl CarrierError {
    /// Whether the whole carrier should pause, not only this parcel.
    pub fn stops_carrier(&self) -> bool {
        matches!(
            self,
            CarrierError::Auth(_) | CarrierError::LimitExhausted(_)
        )
    }

    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CarrierError::Auth(_) => "auth",
            CarrierError::LimitExhausted(_) => "limit",
            CarrierError::RateLimited { .. } => "rate_limited",
            CarrierError::Transient(_) => "transient",
            CarrierError::Permanent(_) => "permanent",
        }
    }
}

/// A carrier parceld can poll.
#[async_trait]
pub trait Carrier: Send + Sync + 'static {
    /// Which carrier this is.
    fn id(&self) -> CarrierId;

    /// How many parcels one [`Carrier::track`] call may carry.
    fn max_batch(&self) -> usize {
        1
    }

    /// Asks about a batch of at most [`Carrier::max_batch`] parcels. The answer has one result
    /// per query, in order. An error that concerns the whole request is repeated for each.
    async fn track(&self, queries: &[TrackQuery]) -> Vec<Result<TrackReport, CarrierError>>;
}
