//! The post office directory: `POST /v1/offices` loads a CSV file (see
//! [`crate::domain::offices`] for the format; `?replace=true` drops offices not in the file),
//! `GET /v1/offices/{index}` shows one office. Arrival messages take an office's street
//! address, hours and phone from here when the carrier gives only its index and short name.

use super::dto::{CsvProblemView, DirectoryOfficeView, OfficesImported};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, read_body};
use crate::domain::offices::{self, OfficeEntry};
use actix_web::{HttpRequest, HttpResponse, web};

/// Registers the office directory routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/offices", web::post().to(import))
        .route("/v1/offices/{index}", web::get().to(get));
}

/// Reads `?replace=true|false`, the only query `POST /v1/offices` takes.
fn replace_flag(query: &str) -> Result<bool, ApiError> {
    let mut replace = false;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "true")) {
            ("replace", "true" | "1") => replace = true,
            ("replace", "false" | "0") => replace = false,
            ("replace", v) => {
                return Err(ApiError::invalid_field(
                    "replace",
                    format!("{v:?} is not true or false"),
                ));
            }
            (k, _) => {
                return Err(ApiError::invalid_field(
                    k,
                    "unknown query parameter; only replace=true|false",
                ));
            }
        }
    }
    Ok(replace)
}

/// `POST /v1/offices` (control socket only): the body is the CSV file.
pub async fn import(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let replace = replace_flag(req.query_string())?;
    let body = read_body(payload, BodyLimit::Setting(state.svc.settings.api.max_body)).await?;
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
    let n = entries.len();
    let total = state.svc.store.import_offices(entries, replace).await?;
    state.svc.store.flush().await?;
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
    let entry: Option<OfficeEntry> = state.svc.store.office(&index).await?;
    let e = entry
        .ok_or_else(|| ApiError::not_found(format!("office {index} is not in the directory")))?;
    Ok(HttpResponse::Ok().json(DirectoryOfficeView {
        index: e.index,
        address: e.address,
        hours: e.hours,
        phone: e.phone,
    }))
}
