//! Carriers' pushes: `POST /v1/webhooks/17track` takes 17TRACK's `TRACKING_UPDATED` and
//! `TRACKING_STOPPED` pushes on the shops' listener (and the control socket). There is no
//! bearer token: the `sign` header, SHA-256 over the raw body and the API key, proves the push
//! came from 17TRACK. An update is applied through the same store transaction as a poll result,
//! flushed, and answered at once; a number parceld does not track is acknowledged too, so that
//! 17TRACK does not retry it.

use super::error::ApiError;
use super::{AppState, BodyLimit, read_body};
use crate::carriers::apply::Applier;
use crate::carriers::track17::wire;
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::ParcelKey;
use crate::domain::track::TrackNumber;
use actix_web::{HttpRequest, HttpResponse, web};

/// The largest push accepted.
const MAX_PUSH: usize = 1024 * 1024;

/// Registers the webhook routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/webhooks/17track", web::post().to(track17));
}

fn outcome(o: &'static str) {
    metrics::counter!("parceld_webhook_pushes_total", "source" => "17track", "outcome" => o)
        .increment(1);
}

/// `POST /v1/webhooks/17track`.
pub async fn track17(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let svc = state.svc.clone();
    let Some(t17) = svc.settings.track17.as_ref().filter(|t| t.webhook) else {
        return Err(ApiError::not_found(
            "17TRACK pushes are not enabled here ([carriers.china_post] webhook)",
        ));
    };
    let body = read_body(payload, BodyLimit::Route(MAX_PUSH)).await?;
    let sign = req
        .headers()
        .get("sign")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !wire::verify(&body, t17.token.expose(), sign) {
        outcome("bad_sign");
        tracing::warn!("Refused a 17TRACK push whose sign does not match its body");
        return Err(ApiError::unauthorized(
            "the sign header does not match the body and the API key",
        ));
    }
    let push: wire::Push = serde_json::from_slice(&body).map_err(|e| {
        outcome("invalid");
        ApiError::bad_request("invalid_json", format!("not a 17TRACK push: {e}"))
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
            return Ok(HttpResponse::Ok().json(serde_json::json!({ "applied": 0 })));
        }
    };
    let Some(own) = svc.settings.carriers.get(&CarrierId::ChinaPost).cloned() else {
        return Err(ApiError::not_found("the china_post carrier is not enabled"));
    };
    let report = wire::report(&info, t17.handoff && svc.settings.russian_post.is_some());
    let applier = Applier::new(svc.store.clone(), &svc.settings);
    let now = svc.clock.now();
    let track = TrackNumber::from_trusted(number.as_str());
    let mut applied = 0usize;
    let mut messages = 0usize;
    for shop in svc
        .store
        .shops_with_parcel(&track, CarrierId::ChinaPost)
        .await?
    {
        let parcel = ParcelKey::new(shop, track.clone());
        if let Some(o) = applier.apply(&parcel, report.clone(), now, &own).await? {
            applied += 1;
            messages += o.messages;
        }
    }
    svc.store.flush().await?;
    if messages > 0 {
        svc.notifier.wake_senders();
    }
    outcome(if applied > 0 {
        "applied"
    } else {
        "unknown_number"
    });
    tracing::info!(track = %number, parcels = applied, messages, "17TRACK push applied");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "applied": applied })))
}
