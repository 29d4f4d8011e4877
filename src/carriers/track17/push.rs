//! 17TRACK's pushes (`TRACKING_UPDATED`, `TRACKING_STOPPED`), taken on
//! `POST /v1/webhooks/17track`. There is no bearer token: the `sign` header, SHA-256 over the
//! raw body and the API key ([`wire::verify`]), proves the push came from 17TRACK. An update is
//! applied to every shop's parcel with that number through the same store transaction as a
//! poll's answer ([`Applier`]), flushed, and answered at once; a number parceld does not track
//! is acknowledged too, so that 17TRACK does not retry it. The HTTP handler only reads the
//! request and answers with what [`receive`] did.

use super::wire;
use crate::carriers::poll::apply::Applier;
use crate::config::Settings;
use crate::config::carriers::Track17Settings;
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::ParcelKey;
use crate::domain::track::TrackNumber;
use crate::store::{Store, StoreError};
use jiff::Timestamp;

/// Why a push was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The config does not take pushes.
    #[error("17TRACK pushes are not enabled here ([carriers.china_post] webhook)")]
    Disabled,
    /// The `sign` header does not match.
    #[error("the sign header does not match the body and the API key")]
    BadSign,
    /// The body is not a push.
    #[error("not a 17TRACK push: {0}")]
    Invalid(String),
    /// The carrier whose parcels 17TRACK tracks is off.
    #[error("the china_post carrier is not enabled")]
    CarrierOff,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a push did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Parcels it was applied to (0: not an update, or a number parceld does not track).
    pub applied: usize,
    /// Messages it queued.
    pub messages: usize,
}

fn outcome(o: &'static str) {
    metrics::counter!("parceld_webhook_pushes_total", "source" => "17track", "outcome" => o)
        .increment(1);
}

/// The 17TRACK settings, when the config takes pushes.
pub fn accepting(settings: &Settings) -> Result<&Track17Settings, PushError> {
    settings
        .track17
        .as_ref()
        .filter(|t| t.webhook)
        .ok_or(PushError::Disabled)
}

/// Checks a push (`body` as received, `sign` its header) and applies it at `now`.
pub async fn receive(
    store: &Store,
    settings: &Settings,
    now: Timestamp,
    body: &[u8],
    sign: &str,
) -> Result<Pushed, PushError> {
    let t17 = accepting(settings)?;
    if !wire::verify(body, t17.token.expose(), sign) {
        outcome("bad_sign");
        tracing::warn!("Refused a 17TRACK push whose sign does not match its body");
        return Err(PushError::BadSign);
    }
    let push: wire::Push = serde_json::from_slice(body).map_err(|e| {
        outcome("invalid");
        PushError::Invalid(e.to_string())
    })?;
    let number: String = push
        .data
        .number
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let info = match (push.event.as_str(), push.data.track_info) {
        ("TRACKING_UPDATED", Some(info)) => info,
        (event, _) => {
            tracing::info!(event, track = %number, "17TRACK push acknowledged");
            outcome("ignored");
            return Ok(Pushed::default());
        }
    };
    let Some(own) = settings.carriers.get(&CarrierId::ChinaPost) else {
        return Err(PushError::CarrierOff);
    };
    let report = wire::report(&info, t17.handoff && settings.russian_post.is_some());
    let applier = Applier::new(store.clone(), settings);
    // As 17TRACK writes it, normalised as numbers are when handed over.
    let track = TrackNumber::from_trusted(number.as_str());
    let mut done = Pushed::default();
    for shop in store
        .shops_with_parcel(&track, CarrierId::ChinaPost)
        .await?
    {
        let parcel = ParcelKey::new(shop, track.clone());
        if let Some(o) = applier.apply(&parcel, report.clone(), now, own).await? {
            done.applied += 1;
            done.messages += o.messages;
        }
    }
    store.flush().await?;
    outcome(if done.applied > 0 {
        "applied"
    } else {
        "unknown_number"
    });
    tracing::info!(track = %number, parcels = done.applied, messages = done.messages, "17TRACK push applied");
    Ok(done)
}
