//! The post office directory: `POST /v1/offices` loads a CSV file (see
//! [`crate::domain::offices`] for the format; `?replace=true` drops offices not in the file),
//! `GET /v1/offices/{index}` shows one office. Arrival messages take an office's street
//! address, hours and phone from here when the carrier gives only its index and short name.

use super::dto::{CsvProblemView, DirectoryOfficeView, OfficesImported};
use super::error::ApiError;
use super::{AppState, Caller, read_body};
use crate::domain::offices::{self, OfficeEntry};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

/// Registers the office directory routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/offices", web::post().to(import))
        .route("/v1/offices/{index}", web::get().to(get));
}

/// The query of `POST /v1/offices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Drop offices that are not in the file.
    #[serde(default)]
    pub replace: bool,
}

/// `POST /v1/offices` (control socket only): the body is the CSV file.
pub async fn import(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let body = read_body(payload, state.svc.settings.api.max_body).await?;
    let entries = match offices::parse_csv(&body) {
        Ok(e) => e,
        Err(problems) => {
            return Ok(HttpResponse::UnprocessableEntity().json(OfficesImported {
                imported: 0,
                total: 0,
                problems: problems
                    .into_iter()
                    .map(|p| CsvProblemView {
                        line: p.line,
                        message: p.message,
                    })
                    .collect(),
            }));
        }
    };
    let store = state.svc.store.clone();
    let replace = query.replace;
    let n = entries.len();
    let total = web::block(move || {
        let total = store.import_offices(&entries, replace)?;
        store.flush()?;
        Ok::<_, crate::store::StoreError>(total)
    })
    .await??;
    tracing::info!(imported = n, total, replace, "Office directory loaded");
    Ok(HttpResponse::Ok().json(OfficesImported {
        imported: n,
        total,
        problems: Vec::new(),
    }))
}

/// `GET /v1/offices/{index}`.
pub async fn get(
    _caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let index = path.into_inner();
    if !offices::is_index(&index) {
        return Err(ApiError::not_found(format!(
            "{index:?} is not a postal index of six digits"
        )));
    }
    let store = state.svc.store.clone();
    let i = index.clone();
    let entry: Option<OfficeEntry> = web::block(move || store.office(&i)).await??;
    let e = entry
        .ok_or_else(|| ApiError::not_found(format!("office {index} is not in the directory")))?;
    Ok(HttpResponse::Ok().json(DirectoryOfficeView {
        index: e.index,
        address: e.address,
        hours: e.hours,
        phone: e.phone,
    }))
}
