//! Shops: create (socket only), list, show, change.

use super::dto::{CreateShop, Field, PatchShop, ShopCreated, ShopView};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, existing_shop, parse_json, read_body, token_hash};
use crate::domain::brand::Brand;
use crate::domain::contact::EmailAddress;
use crate::domain::shop::{
    Messaging, Shop, ShopId, validate_link, validate_sender, validate_timezone,
};
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
        report_at: s.report_at.map(|t| t.strftime("%H:%M").to_string()),
        plan: Some(s.plan.name.clone()),
        sms_provider: s.messaging.sms_provider.clone(),
        sms_sender: s.messaging.sms_sender.clone(),
        tracking_url: s.messaging.tracking_url.clone(),
        review_url: s.messaging.review_url.clone(),
        storage_days: s.storage_days,
        brand_color: s.brand.color.clone(),
        logo_url: s.brand.logo_url.clone(),
        token: None,
    }
}

/// The four messaging fields of a create or change request.
struct MessagingChange<'a> {
    sms_provider: &'a Option<String>,
    sms_sender: &'a Option<String>,
    tracking_url: &'a Option<String>,
    review_url: &'a Option<String>,
}

/// Applies messaging changes (an empty string removes a value), naming the field at fault.
fn apply_messaging(
    m: &mut Messaging,
    change: MessagingChange<'_>,
    settings: &crate::config::Settings,
) -> Result<(), ApiError> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim)
    }
    match given(change.sms_provider) {
        None => {}
        Some("") => m.sms_provider = None,
        Some(p) => {
            let ok = settings
                .sms
                .as_ref()
                .is_some_and(|s| s.gateway(p).is_some());
            if !ok {
                return Err(ApiError::invalid_field(
                    "sms_provider",
                    format!("{p:?} is not an SMS gateway configured on this parceld"),
                ));
            }
            m.sms_provider = Some(p.to_string());
        }
    }
    match given(change.sms_sender) {
        None => {}
        Some("") => m.sms_sender = None,
        Some(v) => {
            validate_sender(v).map_err(|e| ApiError::invalid_field("sms_sender", e))?;
            m.sms_sender = Some(v.to_string());
        }
    }
    for (field, value, slot) in [
        (
            "tracking_url",
            given(change.tracking_url),
            &mut m.tracking_url,
        ),
        ("review_url", given(change.review_url), &mut m.review_url),
    ] {
        match value {
            None => {}
            Some("") => *slot = None,
            Some(v) => {
                validate_link(v).map_err(|e| ApiError::invalid_field(field, e))?;
                *slot = Some(v.to_string());
            }
        }
    }
    Ok(())
}

/// Applies a change of the tracking page's colour or logo (an empty string removes it), naming
/// the field at fault.
fn apply_brand(brand: &mut Brand, req: &PatchShop) -> Result<(), ApiError> {
    match req.brand_color.as_deref().map(str::trim) {
        None => {}
        Some("") => brand.color = None,
        Some(c) => {
            brand.color = Some(
                crate::domain::brand::color(c)
                    .map_err(|e| ApiError::invalid_field("brand_color", e))?,
            )
        }
    }
    match req.logo_url.as_deref().map(str::trim) {
        None => {}
        Some("") => brand.logo_url = None,
        Some(u) => {
            brand.logo_url = Some(
                crate::domain::brand::logo_url(u)
                    .map_err(|e| ApiError::invalid_field("logo_url", e))?,
            )
        }
    }
    Ok(())
}

/// A shop's storage period: 1 to 366 days, or none.
fn storage_days_field(days: Option<u16>) -> Result<Option<u16>, ApiError> {
    match days {
        Some(d) if !(1..=366).contains(&d) => Err(ApiError::invalid_field(
            "storage_days",
            format!(
                "{d} is not a storage period: give 1 to 366 days, or null for the post's rules"
            ),
        )),
        d => Ok(d),
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
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let req: CreateShop = parse_json(&body)?;
    let id = ShopId::parse(&req.id).map_err(|e| ApiError::invalid_field("id", e.to_string()))?;
    let timezone = req
        .timezone
        .clone()
        .unwrap_or_else(|| state.svc.settings.daemon.timezone_name.clone());
    validate_timezone(&timezone).map_err(|e| ApiError::invalid_field("timezone", e))?;
    let mut messaging = Messaging::default();
    apply_messaging(
        &mut messaging,
        MessagingChange {
            sms_provider: &req.sms_provider,
            sms_sender: &req.sms_sender,
            tracking_url: &req.tracking_url,
            review_url: &req.review_url,
        },
        &state.svc.settings,
    )?;
    let token = new_token()?;
    let today = state
        .svc
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get(&timezone).unwrap_or(jiff::tz::TimeZone::UTC))
        .date();
    let shop = Shop {
        id,
        name: name("name", &req.name)?,
        report_email: email("report_email", req.report_email.as_deref().unwrap_or(""))?,
        timezone,
        phone: phone(req.phone.as_deref().unwrap_or(""))?,
        language: req.language.unwrap_or_default(),
        token_sha256: token_hash(&token),
        created_at: state.svc.clock.now(),
        plan: state.svc.settings.plans.plan(today),
        report_at: None,
        messaging,
        storage_days: match req.storage_days {
            Field::Value(d) => storage_days_field(Some(d))?,
            Field::Absent | Field::Null => None,
        },
        brand: Default::default(),
    };
    state.svc.store.create_shop(&shop).await?;
    state.svc.store.flush().await?;
    tracing::info!(shop = %shop.id, "Shop created");
    Ok(HttpResponse::Created().json(ShopCreated {
        id: shop.id.as_str().to_string(),
        token,
    }))
}

/// `GET /v1/shops`: every shop (socket), or the caller's own.
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let shops = state.svc.store.shops().await?;
    let views: Vec<ShopView> = shops
        .iter()
        .filter(|s| caller.may_act_for(s.id.as_str()).is_ok())
        .map(view)
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// `GET /v1/shops/{shop}`.
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    Ok(HttpResponse::Ok().json(view(&existing_shop(&state, &shop).await?)))
}

/// `PATCH /v1/shops/{shop}`.
pub async fn patch(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let shop_id = caller.shop(&path)?;
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let req: PatchShop = parse_json(&body)?;
    let mut shop = existing_shop(&state, &shop_id).await?;
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
    apply_brand(&mut shop.brand, &req)?;
    let storage_changed = match req.storage_days {
        Field::Absent => false,
        f => {
            let days = storage_days_field(match f {
                Field::Value(d) => Some(d),
                _ => None,
            })?;
            let changed = days != shop.storage_days;
            shop.storage_days = days;
            changed
        }
    };
    if let Some(at) = &req.report_at {
        shop.report_at = match at.trim() {
            "" => None,
            t => Some(
                crate::config::shopside::time_of_day(t)
                    .map_err(|e| ApiError::invalid_field("report_at", e))?,
            ),
        };
    }
    apply_messaging(
        &mut shop.messaging,
        MessagingChange {
            sms_provider: &req.sms_provider,
            sms_sender: &req.sms_sender,
            tracking_url: &req.tracking_url,
            review_url: &req.review_url,
        },
        &state.svc.settings,
    )?;
    let token = if req.rotate_token {
        let t = new_token()?;
        shop.token_sha256 = token_hash(&t);
        Some(t)
    } else {
        None
    };
    let store = &state.svc.store;
    let (rules, now) = (&state.svc.settings.rules, state.svc.clock.now());
    store.update_shop(&shop).await?;
    // Parcels waiting now keep the period they were told only if nothing else decides it.
    let moved = if storage_changed {
        store.refresh_deadlines(Some(&shop.id), rules, now).await?
    } else {
        0
    };
    store.flush().await?;
    if storage_changed {
        tracing::info!(shop = %shop.id, storage_days = ?shop.storage_days, deadlines_moved = moved, "Shop's storage period changed");
    }
    let mut v = view(&shop);
    v.token = token;
    Ok(HttpResponse::Ok().json(v))
}
