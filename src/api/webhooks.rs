//! Carriers' pushes: `POST /v1/webhooks/17track` takes 17TRACK's pushes on the shops' listener
//! (and the control socket). The handler reads the request and answers; checking the push and
//! applying it is [`crate::carriers::track17::push`]'s.

use super::error::ApiError;
use super::{AppState, BodyLimit, read_body};
use crate::carriers::track17::push::{self, PushError};
use actix_web::{HttpRequest, HttpResponse, web};

/// The largest push accepted.
const MAX_PUSH: usize = 1024 * 1024;

/// Registers the webhook routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/webhooks/17track", web::post().to(track17));
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        match e {
            PushError::Disabled | PushError::CarrierOff => ApiError::not_found(e.to_string()),
            PushError::BadSign => ApiError::unauthorized(e.to_string()),
            PushError::Invalid(_) => ApiError::bad_request("invalid_json", e.to_string()),
            PushError::Store(e) => e.into(),
        }
    }
}

/// `POST /v1/webhooks/17track`.
pub async fn track17(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let svc = &state.svc;
    // Refused before the body is read when the config takes no pushes.
    push::accepting(&svc.settings)?;
    let body = read_body(payload, BodyLimit::Route(MAX_PUSH)).await?;
    let sign = req
        .headers()
        .get("sign")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let done = push::receive(&svc.store, &svc.settings, svc.clock.now(), &body, sign).await?;
    if done.messages > 0 {
        svc.notifier.wake_senders();
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "applied": done.applied })))
}
