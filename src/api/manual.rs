//! Statuses set by hand: `POST /v1/shops/{shop}/parcels/{track}/status`, for an operator on the
//! control socket or the shop with its token ([`crate::domain::manual`]).

use super::dto::SetStatus;
use super::error::ApiError;
use super::parcels::{parcel_path, view};
use super::{AppState, BodyLimit, Caller, parse_json, read_body};
use crate::domain::lifecycle::ShopTerms;
use crate::domain::manual::{self, Hand, ManualError};
use crate::domain::parcel::Office;
use actix_web::{HttpResponse, web};

/// Registers the route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v1/shops/{shop}/parcels/{track}/status",
        web::post().to(set_status),
    );
}

fn field_of(e: &ManualError) -> &'static str {
    match e {
        ManualError::Status(_) => "status",
        ManualError::NoReason | ManualError::LongReason => "reason",
        ManualError::NoOffice => "office_index",
    }
}

/// `POST /v1/shops/{shop}/parcels/{track}/status`: records the status in the parcel's history
/// as set by the caller, queues the messages it causes, and answers with the parcel.
pub async fn set_status(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (shop, track) = path.into_inner();
    let key = parcel_path(&caller, &shop, &track)?;
    let req: SetStatus = parse_json(&read_body(body, BodyLimit::SMALL).await?)?;
    let hand = match caller {
        super::Caller::Operator => Hand::Operator,
        super::Caller::Shop(_) => Hand::Shop,
    };
    let invalid = |e: ManualError| ApiError::invalid_field(field_of(&e), e.to_string());
    let status = manual::status_named(&req.status).map_err(invalid)?;
    let index = req
        .office_index
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty());
    let name = req
        .office_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let office = (index.is_some() || name.is_some()).then(|| Office {
        index: index.map(str::to_string),
        name: name.or(index).unwrap_or_default().to_string(),
        ..Office::default()
    });
    let svc = &state.svc;
    let now = svc.clock.now();
    let event = manual::event(hand, status, &req.reason, office, now).map_err(invalid)?;
    let settings = &svc.settings;
    let (p, messages) = svc
        .store
        .set_by_hand(
            &key,
            event,
            now,
            &settings.rules,
            settings.notify.send_window,
        )
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "parcel {} not found in shop {}",
                key.track, key.shop
            ))
        })?;
    tracing::info!(
        shop = %key.shop,
        track = %key.track,
        status = status.as_str(),
        by = hand.as_str(),
        messages,
        "Status set by hand"
    );
    let terms = svc
        .store
        .shop(&key.shop)
        .await?
        .map_or_else(ShopTerms::default, |s| ShopTerms::of(&s));
    let entries = svc.store.parcel_entries(&key).await?;
    let optouts = svc.store.customer_optouts(&p).await?;
    Ok(HttpResponse::Ok().json(view(
        &p,
        &entries,
        &optouts,
        now,
        &settings.rules,
        &terms,
        true,
    )))
}
