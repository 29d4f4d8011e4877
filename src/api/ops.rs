//! Operations endpoints: health, metrics and "poll now".

use super::dto::{CarrierHealthView, ChannelHealthView, HealthView, PollRequest};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, Listener, parse_json_or_default, read_body};
use crate::actors::scheduler::PollNow;
use crate::domain::carrier::CarrierId;
use crate::domain::notification::Channel;
use crate::domain::shop::ShopId;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::BTreeMap;

/// Registers the operations routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/health", web::get().to(health))
        .route("/metrics", web::get().to(metrics))
        .route("/v1/poll", web::post().to(poll));
}

/// `GET /v1/health`: on the socket, the full picture; on TCP, the status only.
pub async fn health(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let svc = state.svc.clone();
    let now = svc.clock.now();
    let listener = req.app_data::<Listener>().copied().unwrap_or(Listener::Tcp);
    let store = &svc.store;
    let channels: Vec<Channel> = svc.health.channels().keys().copied().collect();
    let ids: Vec<CarrierId> = svc.settings.carriers.keys().copied().collect();
    let today = now.to_zoned(svc.settings.daemon.timezone.clone()).date();
    let mut stats = Vec::with_capacity(channels.len());
    for c in channels {
        stats.push((c, store.outbox_stats(c).await?));
    }
    let mut tickets = BTreeMap::new();
    for c in ids {
        let open = store.open_tickets(c).await?.len();
        tickets.insert(c, (open, store.budget_used(c, today).await?));
    }
    let mut degraded = false;
    let stalls = store.stalled_carriers().await?;
    let board = svc.health.carriers();
    let carriers: BTreeMap<String, CarrierHealthView> = svc
        .settings
        .carriers
        .keys()
        .map(|id| (*id, board.get(id).cloned().unwrap_or_default()))
        .map(|(id, s)| {
            let paused = s.paused_until.is_some_and(|u| u > now);
            let failing = !paused
                && s.last_error_at
                    .is_some_and(|e| s.last_success_at.is_none_or(|ok| e > ok));
            let stall = stalls.get(&id);
            degraded |= paused || stall.is_some();
            let state = if paused {
                "paused"
            } else if failing {
                "failing"
            } else if stall.is_some() {
                "stalled"
            } else {
                "ok"
            };
            (
                id.as_str().to_string(),
                CarrierHealthView {
                    state: state.into(),
                    last_success_at: s.last_success_at,
                    last_error: s.last_error,
                    paused_until: s.paused_until.filter(|u| *u > now),
                    paused_reason: s.paused_reason.filter(|_| paused),
                    requests_today: tickets.get(&id).map_or(s.requests_today, |t| t.1),
                    daily_limit: svc.settings.carriers.get(&id).and_then(|c| c.daily_limit),
                    open_tickets: tickets.get(&id).map_or(0, |t| t.0),
                    stalled_since: stall.map(|s| s.since),
                    stalled_reason: stall.map(|s| s.reason.clone()),
                },
            )
        })
        .collect();
    let board = svc.health.channels();
    degraded |= board
        .values()
        .any(|b| b.paused_until.is_some_and(|u| u > now) || !b.paused.is_empty());
    let channels = stats
        .into_iter()
        .map(|(c, st)| {
            let b = board.get(&c).cloned().unwrap_or_default();
            (
                c.as_str().to_string(),
                ChannelHealthView {
                    transport: b.transport,
                    pending: st.pending,
                    sending: st.sending,
                    dead: st.dead,
                    last_success_at: b.last_success_at,
                    last_error: b.last_error,
                    paused_until: b.paused_until.filter(|u| *u > now),
                    paused: b.paused,
                },
            )
        })
        .collect();
    let store_error = svc.health.store_error().map(|(at, e)| format!("{at}: {e}"));
    degraded |= store_error.is_some();
    let view = HealthView {
        status: if degraded { "degraded" } else { "ok" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: svc.started_at,
        store_error,
        carriers,
        channels,
    };
    if listener == Listener::Tcp {
        return Ok(HttpResponse::Ok().json(serde_json::json!({ "status": view.status })));
    }
    Ok(HttpResponse::Ok().json(view))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body))
}

/// `POST /v1/poll`: poll what is due now (`{"all": true}`: every live parcel), and answer when
/// the polls are done.
pub async fn poll(
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let req: PollRequest = parse_json_or_default(&body)?;
    let shop = req
        .shop
        .as_deref()
        .map(ShopId::parse)
        .transpose()
        .map_err(|e| ApiError::invalid_field("shop", e.to_string()))?;
    let summary = state
        .scheduler
        .send(PollNow { shop, all: req.all })
        .await
        .map_err(|e| ApiError::unavailable(format!("the scheduler is not running: {e}")))?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(summary))
}
