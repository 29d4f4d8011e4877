//! Carriers: the [`Carrier`] interface every carrier implements, and the carriers themselves.
//!
//! A carrier turns track numbers into normalised [`CarrierEvent`]s and classifies its failures;
//! it owns its wire format and nothing else. Every request it sends first passes the carrier's
//! [`Gate`] (rate limit and daily budget). Windows, priorities, retries, pauses, batch tickets
//! and the store belong to the poll engine ([`poll`]), which every carrier shares, so a new
//! carrier is one folder that speaks its protocol.
//!
//! - [`poll`]: the poll engine (the loop, the gate, pauses, the budget plan, settling answers,
//!   batch tickets, applying reports, stage timings);
//! - [`sandbox`]: the model carrier, scripted journeys without a network;
//! - [`russian_post`]: Russian Post's tracking service (single and batch access, EMS, cash on
//!   delivery money events);
//! - [`track17`]: China Post and China EMS through the 17TRACK API, with its push webhook
//!   ([`track17::push`]);
//! - [`http`]: the HTTP client the carriers share;
//! - [`codes`]: which codes each carrier maps, the config's own mapping, the unmapped ones.

pub mod codes;
pub mod http;
pub mod poll;
pub mod russian_post;
pub mod sandbox;
pub mod track17;

pub use poll::gate::Gate;
pub use poll::pause::restore_pause;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::{CarrierEvent, Parcel, ParcelKey};
use crate::domain::storage::MailType;
use crate::domain::track::TrackNumber;
use async_trait::async_trait;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// A carrier could not be set up (its HTTP client).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up carrier {carrier}: {message}")]
pub struct BuildError {
    /// Which carrier.
    pub carrier: CarrierId,
    /// Why.
    pub message: String,
}

/// The carriers the config enables.
pub fn build(settings: &Settings, clock: &Clock) -> Result<Vec<Arc<dyn Carrier>>, BuildError> {
    let mut out: Vec<Arc<dyn Carrier>> = Vec::new();
    for (id, polling) in &settings.carriers {
        match id {
            CarrierId::Sandbox => out.push(Arc::new(sandbox::Sandbox::new(clock.clone()))),
            CarrierId::RussianPost => {
                if let Some(rp) = &settings.russian_post {
                    out.push(Arc::new(russian_post::RussianPost::new(rp, polling)?));
                }
            }
            CarrierId::ChinaPost => {
                if let Some(t) = &settings.track17 {
                    let handoff = t.handoff && settings.russian_post.is_some();
                    out.push(Arc::new(track17::Track17::new(t, polling, handoff)?));
                }
            }
            CarrierId::Ems => {}
        }
    }
    Ok(out)
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
    /// The parcel was delivered and only its cash-on-delivery payment is still unknown.
    pub cod_only: bool,
}

impl TrackQuery {
    /// The query for a stored parcel.
    pub fn for_parcel(p: &Parcel) -> TrackQuery {
        TrackQuery {
            track: p.carrier_track().clone(),
            known_events: p.events.len(),
            created_at: p.created_at,
            has_cod: !p.cod.is_zero(),
            // Set delivered by hand: the history is still wanted, to see the carrier's word.
            cod_only: p.awaits_cod_payment() && !crate::domain::manual::awaits_confirmation(p),
        }
    }
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
    /// The parcel was handed to this carrier, which should be asked from now on.
    pub handed_to: Option<CarrierId>,
    /// The kind of item, when the carrier says (it decides the storage period).
    pub mail_type: Option<MailType>,
    /// The pickup office's index, when the carrier names it before the parcel gets there.
    pub destination: Option<String>,
}

/// What a carrier said about one stored parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelReport {
    /// The parcel asked about.
    pub parcel: ParcelKey,
    /// What the carrier said.
    pub report: TrackReport,
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
    /// Which carrier this is (its config section and poller).
    fn id(&self) -> CarrierId;

    /// The carriers whose parcels this one tracks (Russian Post tracks EMS parcels too).
    fn serves(&self) -> Vec<CarrierId> {
        vec![self.id()]
    }

    /// How many parcels one [`Carrier::track`] call (or one ticket) may carry.
    fn max_batch(&self) -> usize {
        1
    }

    /// A fingerprint of the credentials in use: a pause after refused credentials is lifted
    /// when they change.
    fn fingerprint(&self) -> String {
        String::new()
    }

    /// The two-step batch interface, for carriers that answer batches by ticket.
    fn tickets(&self) -> Option<&dyn TicketCarrier> {
        None
    }

    /// Asks about a batch of at most [`Carrier::max_batch`] parcels; every request passes
    /// `gate` first. The answer has one result per query, in order. An error that concerns the
    /// whole request is repeated for each.
    async fn track(
        &self,
        queries: &[TrackQuery],
        gate: &Gate,
    ) -> Vec<Result<TrackReport, CarrierError>>;
}

/// What asking for a ticket's answer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// The carrier is still preparing it: ask again after [`TicketCarrier::ticket_wait`].
    NotReady,
    /// The carrier lost or dropped the ticket: ask again with a new one.
    Gone(String),
    /// One result per query, in order.
    Ready(Vec<Result<TrackReport, CarrierError>>),
}

/// A carrier that answers batches in two steps: a ticket now, the answer later.
#[async_trait]
pub trait TicketCarrier: Send + Sync {
    /// How long to wait after the ticket before asking for the answer, and between asks.
    fn ticket_wait(&self) -> Duration;

    /// How long the carrier keeps an answer.
    fn ticket_lifetime(&self) -> Duration;

    /// How long a ticket may hold its parcels: the wait before its answer is first asked for,
    /// and how long the carrier keeps the answer.
    fn ticket_hold(&self) -> Duration {
        self.ticket_wait() + self.ticket_lifetime()
    }

    /// Asks for a ticket for these parcels.
    async fn submit(&self, queries: &[TrackQuery], gate: &Gate) -> Result<String, CarrierError>;

    /// Asks for the answer to `ticket`, issued for `queries`.
    async fn collect(
        &self,
        ticket: &str,
        queries: &[TrackQuery],
        gate: &Gate,
    ) -> Result<Collected, CarrierError>;
}
