//! A shop's webhooks: register an endpoint (its URL is checked: HTTPS, not the operator's own
//! network), list them, delete one, rotate its secret, enable it again after it was disabled,
//! and see and replay its dead letters. On the control socket, and with the shop's token on the
//! TCP listener, like every shop route.

use super::dto::{
    WebhookCreated, WebhookDeadList, WebhookDeadView, WebhookDeleted, WebhookEnabled, WebhookIn,
    WebhookList, WebhookReplayed, WebhookSecret, WebhookView,
};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, existing_shop, parse_json, parse_query, read_body};
use crate::domain::shop::ShopId;
use crate::domain::webhook::{Endpoint, EventType};
use crate::store::{EndpointInfo, HookError};
use crate::webhooks::address::{self, Policy};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// Registers the webhook routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shops/{shop}/webhooks", web::post().to(create))
        .route("/v1/shops/{shop}/webhooks", web::get().to(list))
        .route("/v1/shops/{shop}/webhooks/{id}", web::get().to(get))
        .route("/v1/shops/{shop}/webhooks/{id}", web::delete().to(delete))
        .route(
            "/v1/shops/{shop}/webhooks/{id}/rotate",
            web::post().to(rotate),
        )
        .route(
            "/v1/shops/{shop}/webhooks/{id}/enable",
            web::post().to(enable),
        )
        .route("/v1/shops/{shop}/webhooks/{id}/dead", web::get().to(dead))
        .route(
            "/v1/shops/{shop}/webhooks/{id}/replay",
            web::post().to(replay),
        );
}

impl From<HookError> for ApiError {
    fn from(e: HookError) -> Self {
        match e {
            HookError::Store(e) => e.into(),
            e @ (HookError::NoShop(_) | HookError::NotFound(_)) => {
                ApiError::not_found(e.to_string())
            }
            e @ HookError::Exists(_) => ApiError::conflict(e.to_string()),
            e @ HookError::TooMany(_) => ApiError::invalid_field("url", e.to_string()),
        }
    }
}

fn random_hex(n: usize) -> Result<String, ApiError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

fn new_secret() -> Result<String, ApiError> {
    Ok(format!("whsec_{}", random_hex(32)?))
}

fn enabled(state: &AppState) -> Result<(), ApiError> {
    if state.svc.settings.webhooks.enabled {
        Ok(())
    } else {
        Err(ApiError::unavailable(
            "webhooks are disabled in the config ([webhooks] enabled = false)",
        ))
    }
}

fn view(i: &EndpointInfo) -> WebhookView {
    let e = &i.endpoint;
    WebhookView {
        id: e.id.clone(),
        url: e.url.clone(),
        events: e.events.iter().map(|t| t.as_str().to_string()).collect(),
        state: if e.is_disabled() {
            "disabled"
        } else {
            "enabled"
        }
        .into(),
        created_at: e.created_at,
        disabled_at: e.disabled_at,
        disabled_reason: e.disabled_reason.clone(),
        failing_since: e.failing_since,
        last_error: e.last_error.clone(),
        previous_secret_until: e.previous_until.filter(|_| e.previous_secret.is_some()),
        queued: i.queued,
        dead: i.dead,
    }
}

/// The shop and endpoint of a `/v1/shops/{shop}/webhooks/{id}…` path, the caller allowed.
fn endpoint(
    caller: &Caller,
    path: web::Path<(String, String)>,
) -> Result<(ShopId, String), ApiError> {
    let (shop, id) = path.into_inner();
    Ok((caller.shop(&shop)?, endpoint_id(&id)?))
}

/// An endpoint id from a path: `we_` and hex digits, or 404.
fn endpoint_id(id: &str) -> Result<String, ApiError> {
    let ok = id.strip_prefix("we_").is_some_and(|h| {
        !h.is_empty() && h.len() <= 32 && h.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if ok {
        Ok(id.to_string())
    } else {
        Err(ApiError::not_found(format!(
            "webhook {:?} not found",
            id.chars().take(40).collect::<String>()
        )))
    }
}

/// `POST /v1/shops/{shop}/webhooks`: `{url, events?}` → `{id, secret, …}` (201).
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    enabled(&state)?;
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let req: WebhookIn = parse_json(&body)?;
    existing_shop(&state, &shop).await?;
    let mut events = Vec::new();
    for (i, name) in req.events.iter().flatten().enumerate() {
        let t = name
            .parse::<EventType>()
            .map_err(|e| ApiError::invalid_field(format!("events[{i}]"), e.to_string()))?;
        if !events.contains(&t) {
            events.push(t);
        }
    }
    let settings = &state.svc.settings.webhooks;
    let target = address::check(&req.url, &Policy::of(settings))
        .await
        .map_err(|e| ApiError::invalid_field("url", e.to_string()))?;
    let now = state.svc.clock.now();
    let endpoint = Endpoint {
        id: format!("we_{}", random_hex(8)?),
        url: target.url.to_string(),
        events,
        secret: new_secret()?,
        previous_secret: None,
        previous_until: None,
        created_at: now,
        failing_since: None,
        last_error: None,
        disabled_at: None,
        disabled_reason: None,
    };
    let e = state
        .svc
        .store
        .hooks()
        .create(
            shop.clone(),
            endpoint,
            settings.max_per_shop,
            state.svc.settings.rules.clone(),
        )
        .await?;
    tracing::info!(shop = %shop, webhook = %e.id, host = %target.host, "Webhook registered");
    Ok(HttpResponse::Created().json(WebhookCreated {
        id: e.id,
        url: e.url,
        events: e.events.iter().map(|t| t.as_str().to_string()).collect(),
        secret: e.secret,
        created_at: e.created_at,
    }))
}

/// `GET /v1/shops/{shop}/webhooks`.
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    existing_shop(&state, &shop).await?;
    let all = state.svc.store.hooks().list(shop).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        webhooks: all.iter().map(view).collect(),
    }))
}

/// `GET /v1/shops/{shop}/webhooks/{id}`.
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, id) = endpoint(&caller, path)?;
    let info = state.svc.store.hooks().get(shop, id).await?;
    Ok(HttpResponse::Ok().json(view(&info)))
}

/// `DELETE /v1/shops/{shop}/webhooks/{id}`: the endpoint and everything queued for it.
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, id) = endpoint(&caller, path)?;
    let e = state.svc.store.hooks().delete(shop.clone(), id).await?;
    tracing::info!(shop = %shop, webhook = %e.id, "Webhook deleted");
    Ok(HttpResponse::Ok().json(WebhookDeleted { deleted: e.id }))
}

/// `POST /v1/shops/{shop}/webhooks/{id}/rotate`: a new secret; the old one keeps signing for
/// `webhooks.rotation_overlap`.
pub async fn rotate(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, id) = endpoint(&caller, path)?;
    let overlap = state.svc.settings.webhooks.rotation_overlap;
    let until = (!overlap.is_zero())
        .then(|| state.svc.clock.now().checked_add(overlap).ok())
        .flatten();
    let e = state
        .svc
        .store
        .hooks()
        .rotate(shop.clone(), id, new_secret()?, until)
        .await?;
    tracing::info!(shop = %shop, webhook = %e.id, "Webhook secret rotated");
    Ok(HttpResponse::Ok().json(WebhookSecret {
        id: e.id,
        secret: e.secret,
        previous_secret_until: e.previous_until.filter(|_| e.previous_secret.is_some()),
    }))
}

/// `POST /v1/shops/{shop}/webhooks/{id}/enable`: after it was disabled for failing; what
/// waited for it goes now.
pub async fn enable(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, id) = endpoint(&caller, path)?;
    let hooks = state.svc.store.hooks();
    let (_, resumed) = hooks
        .enable(shop.clone(), id.clone(), state.svc.clock.now())
        .await?;
    let info = hooks.get(shop.clone(), id).await?;
    tracing::info!(shop = %shop, webhook = %info.endpoint.id, resumed, "Webhook enabled");
    Ok(HttpResponse::Ok().json(WebhookEnabled {
        webhook: view(&info),
        resumed,
    }))
}

/// Query of `GET …/dead`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadQuery {
    limit: Option<usize>,
}

/// `GET /v1/shops/{shop}/webhooks/{id}/dead?limit=`.
pub async fn dead(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, id) = endpoint(&caller, path)?;
    let q: DeadQuery = parse_query(req.query_string())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let list = state.svc.store.hooks().dead(shop, id, limit).await?;
    Ok(HttpResponse::Ok().json(WebhookDeadList {
        dead: list
            .into_iter()
            .map(|d| WebhookDeadView {
                event_id: d.delivery.event_id,
                kind: d.delivery.kind.as_str().into(),
                track: d.track,
                attempts: d.delivery.attempts,
                last_status: d.delivery.last_status,
                last_error: d.delivery.last_error,
                created_at: d.delivery.created_at,
                body: d.delivery.body,
            })
            .collect(),
    }))
}

/// `POST /v1/shops/{shop}/webhooks/{id}/replay`: queue the dead letters again.
pub async fn replay(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, id) = endpoint(&caller, path)?;
    let n = state
        .svc
        .store
        .hooks()
        .replay(shop.clone(), id.clone(), state.svc.clock.now())
        .await?;
    tracing::info!(shop = %shop, webhook = %id, replayed = n, "Webhook dead letters queued again");
    Ok(HttpResponse::Ok().json(WebhookReplayed { replayed: n }))
}
