//! SMS gateways' callbacks: delivery reports pushed by the gateway, and replies from phones
//! (a "STOP" stops every message to that number). The path carries a secret token derived from
//! the link secret, so only the gateway the URL was given to can call it; `GET
//! /v1/sms/callbacks` on the control socket lists the URLs to register.

use super::dto::CallbackUrls;
use super::error::ApiError;
use super::{AppState, Caller};
use crate::domain::notification::Channel;
use crate::domain::optout::{OptOutSource, is_stop_word};
use crate::domain::outbox::ReportPolicy;
use crate::notify::receipts::record_callback;
use crate::notify::sms;
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
    let policy = match &state.svc.settings.sms {
        Some(s) => ReportPolicy {
            every: s.status_every,
            give_up_after: s.status_for,
        },
        None => return Err(ApiError::not_found("SMS is not enabled")),
    };
    let store = state.svc.store.clone();
    let now = state.svc.clock.now();
    let g = gateway.clone();
    let (recorded, replies) = web::block(move || {
        let (recorded, replies) = record_callback(&store, &g, events, policy, now)?;
        let mut stops = Vec::new();
        for (phone, text) in replies {
            if is_stop_word(&text) {
                let n =
                    store.opt_out_recipient(Channel::Sms, &phone, OptOutSource::SmsStop, now)?;
                stops.push((phone, n));
            }
        }
        store.flush()?;
        Ok::<_, crate::store::StoreError>((recorded, stops))
    })
    .await??;
    for (phone, withdrawn) in &replies {
        let masked = super::parcels::mask(phone);
        tracing::info!(gateway = %gateway, phone = %masked, withdrawn, "Recipient replied STOP; no more SMS to this number");
        metrics::counter!("parceld_unsubscribes_total", "channel" => "sms", "source" => "sms_stop")
            .increment(1);
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
