//! Carrier endpoints for the operator: the codes no mapping knows.

use super::dto::UnmappedCodeView;
use super::error::ApiError;
use super::{AppState, Caller};
use actix_web::{HttpResponse, web};

/// Registers the carrier routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/carriers/unmapped", web::get().to(unmapped));
}

/// `GET /v1/carriers/unmapped` (control socket): every unmapped code met, the most frequent
/// first, with a few parcels it came for.
pub async fn unmapped(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let settings = &state.svc.settings;
    let codes = state.svc.store.unmapped_codes().await?;
    let view: Vec<UnmappedCodeView> = codes
        .into_iter()
        .map(|c| UnmappedCodeView {
            mapped_now: settings
                .carriers
                .get(&c.carrier)
                .is_some_and(|p| p.codes.contains_key(&c.code)),
            carrier: c.carrier.as_str().to_string(),
            code: c.code,
            description: c.description,
            count: c.count,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            samples: c.samples,
        })
        .collect();
    Ok(HttpResponse::Ok().json(view))
}
