//! SMS gateways' callbacks: delivery reports pushed by the gateway, and replies from phones (a
//! stop word unsubscribes from the shop whose SMS it answers, see [`crate::notify::replies`]).
//! The path carries a secret token derived from
//! the link secret, so only the gateway the URL was given to can call it; `GET
//! /v1/sms/callbacks` on the control socket lists the URLs to register.

use super::dto::CallbackUrls;
use super::error::ApiError;
use super::{AppState, Caller};
use crate::domain::outbox::ReportPolicy;
use crate::notify::receipts::record_callback;
use crate::notify::replies::{ReplyOutcome, handle_reply};
use crate::notify::transport::sms;
use actix_web::{HttpResponse, web};

/// Registers the callback routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/callbacks/sms/{gateway}/{token}",
        web::post().to(callback),
    )
    .route("/v1/sms/callbacks", web::get().to(urls));
}

/// `POST /v1/callbacks/sms/{gateway}/{token}`: form fields in the gateway's format.
pub async fn callback(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let (gateway, token) = path.into_inner();
    let configured = state
        .svc
        .settings
        .sms
        .as_ref()
        .and_then(|s| s.gateway(&gateway))
        .is_some();
    if !configured || !state.svc.links.verify_callback(&gateway, &token) {
        return Err(ApiError::not_found("no such endpoint"));
    }
    let Some(events) = sms::parse_callback(&gateway, &form.into_inner()) else {
        return Err(ApiError::not_found("this gateway has no callbacks"));
    };
    let Some(sms_settings) = state.svc.settings.sms.clone() else {
        return Err(ApiError::not_found("SMS is not enabled"));
    };
    let policy = ReportPolicy {
        every: sms_settings.status_every,
        give_up_after: sms_settings.status_for,
    };
    let store = &state.svc.store;
    let now = state.svc.clock.now();
    let (recorded, received) = record_callback(store, &gateway, events, policy, now).await?;
    let mut replies = Vec::with_capacity(received.len());
    for r in received {
        let outcome = handle_reply(store, &sms_settings, &gateway, &r, now).await?;
        replies.push((r.phone, outcome));
    }
    store.flush().await?;
    for (phone, outcome) in &replies {
        let phone = super::parcels::mask(phone);
        match outcome {
            ReplyOutcome::NotStop => {
                tracing::debug!(gateway = %gateway, phone = %phone, "A reply that is not a stop word; nothing to do");
            }
            ReplyOutcome::NoMessage => {
                tracing::info!(gateway = %gateway, phone = %phone, "A stop from a number no SMS went to through this gateway; nothing recorded");
            }
            ReplyOutcome::Stopped { shop, outcome } => {
                tracing::info!(gateway = %gateway, phone = %phone, shop = %shop, withdrawn = outcome.cancelled, "The recipient replied STOP; no more SMS from this shop to this number");
                if outcome.new_channels > 0 {
                    metrics::counter!("parceld_unsubscribes_total", "channel" => "sms", "source" => "sms_stop")
                        .increment(1);
                }
            }
        }
    }
    tracing::debug!(gateway = %gateway, reports = recorded, "Gateway callback");
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(sms::callback_reply(&gateway)))
}

/// `GET /v1/sms/callbacks` (control socket): the callback URL of each configured gateway.
pub async fn urls(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let mut out = CallbackUrls::new();
    if let Some(s) = &state.svc.settings.sms {
        for g in ["smsru", "smsc"] {
            if s.gateway(g).is_some() {
                out.insert(g.to_string(), state.svc.links.callback_url(g));
            }
        }
    }
    Ok(HttpResponse::Ok().json(out))
}
