//! Plans and shop erasure: a shop's plan and this month's use (`GET /v1/shops/{shop}/plan`),
//! changing it (`PUT`, socket only), and erasing a shop with everything of it
//! (`DELETE /v1/shops/{shop}`, socket only).

use super::dto::{PlanIn, PlanView, ShopErased};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, existing_shop, parse_json, read_body, shop_path};
use crate::domain::plan::{Plan, ShopDay};
use crate::domain::shop::Shop;
use crate::reports::send::shop_tz;
use crate::store::{Store, StoreError};
use actix_web::{HttpResponse, web};
use jiff::Timestamp;

/// Registers the plan and erasure routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shops/{shop}/plan", web::get().to(get))
        .route("/v1/shops/{shop}/plan", web::put().to(put))
        .route("/v1/shops/{shop}", web::delete().to(erase));
}

/// The plan of a shop with its use this month.
pub async fn plan_view(store: &Store, shop: &Shop, now: Timestamp) -> Result<PlanView, StoreError> {
    let day = ShopDay::at(now, &shop_tz(shop));
    let used = store.usage(&shop.id, &day.month).await?;
    Ok(PlanView {
        name: shop.plan.name.clone(),
        monthly_quota: shop.plan.monthly_quota,
        trial_ends: shop.plan.trial_ends.map(|d| d.to_string()),
        month: day.month,
        used,
        remaining: shop.plan.remaining(used),
    })
}

/// Checks a plan as sent.
fn plan_in(p: &PlanIn) -> Result<Plan, ApiError> {
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("name", "must be 1-40 characters"));
    }
    let trial_ends = match p.trial_ends.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse().map_err(|_| {
            ApiError::invalid_field("trial_ends", format!("{s:?} is not a date like 2026-12-31"))
        })?),
    };
    Ok(Plan {
        name: name.to_string(),
        monthly_quota: p.monthly_quota.filter(|&q| q > 0),
        trial_ends,
    })
}

/// `GET /v1/shops/{shop}/plan`.
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    let shop = existing_shop(&state, &shop).await?;
    let v = plan_view(&state.svc.store, &shop, state.svc.clock.now()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// `PUT /v1/shops/{shop}/plan` (socket only).
pub async fn put(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let shop = shop_path(&path)?;
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let plan = plan_in(&parse_json::<PlanIn>(&body)?)?;
    let mut shop = existing_shop(&state, &shop).await?;
    shop.plan = plan;
    let (store, now) = (&state.svc.store, state.svc.clock.now());
    store.update_shop(&shop).await?;
    store.flush().await?;
    let v = plan_view(store, &shop, now).await?;
    tracing::info!(shop = %path, plan = %v.name, quota = ?v.monthly_quota, trial_ends = ?v.trial_ends, "Plan changed");
    Ok(HttpResponse::Ok().json(v))
}

/// `DELETE /v1/shops/{shop}` (socket only): the shop, its token, parcels, messages, counters
/// and report markers. A crash midway leaves a tombstone that the daemon finishes.
pub async fn erase(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let shop = shop_path(&path)?;
    let (store, now) = (&state.svc.store, state.svc.clock.now());
    if !store.begin_shop_erasure(&shop, now).await? {
        return Err(ApiError::not_found(format!("shop {shop} not found")));
    }
    if crate::faults::hit("shop_erase.abort") {
        std::process::abort();
    }
    let parcels = store.finish_shop_erasure(&shop).await?;
    tracing::info!(shop = %shop, parcels, "Shop erased");
    Ok(HttpResponse::Ok().json(ShopErased {
        erased: shop.as_str().to_string(),
        parcels,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_as_sent() {
        let p = plan_in(&PlanIn {
            name: " trial ".into(),
            monthly_quota: Some(0),
            trial_ends: Some("2026-12-31".into()),
        })
        .unwrap();
        assert_eq!(p.name, "trial");
        assert_eq!(p.monthly_quota, None, "0 is no limit");
        assert!(p.trial_ends.is_some());
        let e = plan_in(&PlanIn {
            name: "x".into(),
            monthly_quota: None,
            trial_ends: Some("31.12.2026".into()),
        })
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("trial_ends"));
    }
}
