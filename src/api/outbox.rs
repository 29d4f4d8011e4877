//! Dead letters: messages given up (a permanent error, or every attempt used), listed for
//! operators (every shop, on the control socket) and shops (their own), and queued again once
//! the cause is fixed.

use super::dto::{DeadLetterView, DeadLetters, Requeued, RetryDead};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, parse_json_or_default, read_body};
use crate::domain::notification::Channel;
use crate::domain::outbox::OutboxEntry;
use crate::domain::shop::ShopId;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// Registers the outbox routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/outbox/dead", web::get().to(dead))
        .route("/v1/outbox/dead/retry", web::post().to(retry));
}

/// Query of `GET /v1/outbox/dead`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadQuery {
    channel: Option<String>,
    shop: Option<String>,
    limit: Option<usize>,
}

fn view(e: &OutboxEntry) -> DeadLetterView {
    DeadLetterView {
        shop: e.key.shop.as_str().to_string(),
        track: e.key.track.as_str().to_string(),
        kind: e.key.kind.as_str().into(),
        occurrence: e.key.occurrence,
        channel: e.key.channel.as_str().into(),
        recipient: super::parcels::mask(&e.recipient),
        attempts: e.attempts,
        last_error: e.last_error.clone(),
        provider: e.provider.clone(),
        created_at: e.created_at,
    }
}

fn channel(c: &Option<String>) -> Result<Option<Channel>, ApiError> {
    c.as_deref()
        .map(str::parse::<Channel>)
        .transpose()
        .map_err(|e| ApiError::invalid_field("channel", e.to_string()))
}

/// Which shop a caller may look at: its own, or the one asked for by an operator.
fn scope(caller: &Caller, asked: Option<String>) -> Result<Option<ShopId>, ApiError> {
    match caller {
        Caller::Operator => asked
            .as_deref()
            .map(ShopId::parse)
            .transpose()
            .map_err(|e| ApiError::invalid_field("shop", e.to_string())),
        Caller::Shop(id) => {
            if let Some(s) = &asked {
                caller.may_act_for(s)?;
            }
            Ok(Some(id.clone()))
        }
    }
}

/// `GET /v1/outbox/dead?channel=&shop=&limit=`.
pub async fn dead(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<DeadQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let ch = channel(&q.channel)?;
    let shop = scope(&caller, q.shop)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let list = state
        .svc
        .store
        .dead_letters(ch, shop.as_ref(), limit)
        .await?;
    Ok(HttpResponse::Ok().json(DeadLetters {
        dead: list.iter().map(view).collect(),
    }))
}

/// `POST /v1/outbox/dead/retry`: `{"channel"?, "shop"?}`.
pub async fn retry(
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let req: RetryDead = parse_json_or_default(&body)?;
    let ch = channel(&req.channel)?;
    let shop = scope(&caller, req.shop)?;
    let now = state.svc.clock.now();
    let n = state.svc.store.requeue_dead(ch, shop.as_ref(), now).await?;
    state.svc.store.flush().await?;
    if n > 0 {
        tracing::info!(requeued = n, shop = ?shop.as_ref().map(ShopId::as_str), "Dead letters queued again");
        state.svc.notifier.wake_senders();
    }
    Ok(HttpResponse::Ok().json(Requeued { requeued: n }))
}
