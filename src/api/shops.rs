//! Shops: create (socket only), list, show, change.

use super::dto::{CreateShop, PatchShop, ShopCreated, ShopView};
use super::error::ApiError;
use super::{AppState, Caller, parse_json, read_body, shop_path, token_hash};
use crate::domain::contact::EmailAddress;
use crate::domain::shop::{Messaging, Shop, ShopId, validate_timezone};
use actix_web::{HttpResponse, web};

/// Registers the shop routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shops", web::post().to(create))
        .route("/v1/shops", web::get().to(list))
        .route("/v1/shops/{shop}", web::get().to(get))
        .route("/v1/shops/{shop}", web::patch().to(patch));
}

fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(format!("pcl_{}", hex::encode(bytes)))
}

/// The view of a shop.
pub fn view(s: &Shop) -> ShopView {
    ShopView {
        id: s.id.as_str().to_string(),
        name: s.name.clone(),
        report_email: s.report_email.as_ref().map(|e| e.as_str().to_string()),
        timezone: s.timezone.clone(),
        phone: s.phone.clone(),
        language: s.language,
        created_at: s.created_at,
        token: None,
    }
}

fn name(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            "must be 1-100 characters without control characters",
        ));
    }
    Ok(s.to_string())
}

fn email(field: &str, s: &str) -> Result<Option<EmailAddress>, ApiError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    EmailAddress::parse(s)
        .map(Some)
        .map_err(|e| ApiError::invalid_field(field, e.to_string()))
}

fn phone(s: &str) -> Result<Option<String>, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > 40 || s.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "phone",
            "must be at most 40 characters",
        ));
    }
    Ok(Some(s.to_string()))
}

/// `POST /v1/shops`.
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let body = read_body(payload, 64 * 1024).await?;
    let req: CreateShop = parse_json(&body)?;
    let id = ShopId::parse(&req.id).map_err(|e| ApiError::invalid_field("id", e.to_string()))?;
    let timezone = req
        .timezone
        .clone()
        .unwrap_or_else(|| state.svc.settings.daemon.timezone_name.clone());
    validate_timezone(&timezone).map_err(|e| ApiError::invalid_field("timezone", e))?;
    let token = new_token()?;
    let shop = Shop {
        id,
        name: name("name", &req.name)?,
        report_email: email("report_email", req.report_email.as_deref().unwrap_or(""))?,
        timezone,
        phone: phone(req.phone.as_deref().unwrap_or(""))?,
        language: req.language.unwrap_or_default(),
        token_sha256: token_hash(&token),
        created_at: state.svc.clock.now(),
        messaging: Messaging::default(),
    };
    let store = state.svc.store.clone();
    let s = shop.clone();
    web::block(move || store.create_shop(&s).and_then(|()| store.flush())).await??;
    tracing::info!(shop = %shop.id, "Shop created");
    Ok(HttpResponse::Created().json(ShopCreated {
        id: shop.id.as_str().to_string(),
        token,
    }))
}

/// `GET /v1/shops`: every shop (socket), or the caller's own.
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.svc.store.clone();
    let shops = web::block(move || store.shops()).await??;
    let views: Vec<ShopView> = shops
        .iter()
        .filter(|s| caller.may_act_for(s.id.as_str()).is_ok())
        .map(view)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

async fn load(state: &AppState, shop: &ShopId) -> Result<Shop, ApiError> {
    let store = state.svc.store.clone();
    let id = shop.as_str().to_string();
    web::block(move || store.shop(&id))
        .await??
        .ok_or_else(|| ApiError::not_found(format!("shop {shop} not found")))
}

/// `GET /v1/shops/{shop}`.
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shop = shop_path(&path)?;
    caller.may_act_for(shop.as_str())?;
    Ok(HttpResponse::Ok().json(view(&load(&state, &shop).await?)))
}

/// `PATCH /v1/shops/{shop}`.
pub async fn patch(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let shop_id = shop_path(&path)?;
    caller.may_act_for(shop_id.as_str())?;
    let body = read_body(payload, 64 * 1024).await?;
    let req: PatchShop = parse_json(&body)?;
    let mut shop = load(&state, &shop_id).await?;
    if let Some(n) = &req.name {
        shop.name = name("name", n)?;
    }
    if let Some(e) = &req.report_email {
        shop.report_email = email("report_email", e)?;
    }
    if let Some(tz) = &req.timezone {
        validate_timezone(tz).map_err(|e| ApiError::invalid_field("timezone", e))?;
        shop.timezone = tz.clone();
    }
    if let Some(p) = &req.phone {
        shop.phone = phone(p)?;
    }
    if let Some(l) = req.language {
        shop.language = l;
    }
    let token = if req.rotate_token {
        let t = new_token()?;
        shop.token_sha256 = token_hash(&t);
        Some(t)
    } else {
        None
    };
    let store = state.svc.store.clone();
    let s = shop.clone();
    web::block(move || store.update_shop(&s).and_then(|()| store.flush())).await??;
    let mut v = view(&shop);
    v.token = token;
    Ok(HttpResponse::Ok().json(v))
}
