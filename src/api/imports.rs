//! Parcel tables as files: `POST /v1/shops/{shop}/parcels/import` takes a CSV or XLSX body
//! (the content type or the file's first bytes decide which) and answers per row, with the row
//! number as Excel shows it and the column as the file names it. Good rows are stored even when
//! others are refused; a file that cannot be read changes nothing. `GET /v1/import-template.xlsx`
//! is the template.
//!
//! Parsing is CPU work: it runs on the blocking pool, not on the event loop.

use super::dto::{ColumnUsed, ColumnWarning, ImportResponse, RowError, RowResult, SkippedRow};
use super::error::ApiError;
use super::intake::{Tally, hand_over, record};
use super::{AppState, BodyLimit, Caller, existing_shop, read_body};
use crate::domain::intake::FieldError;
use crate::domain::track;
use crate::import::{self, Format, ImportError, Table};
use crate::reports::send::XLSX_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::HashMap;

/// Registers the import routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shops/{shop}/parcels/import", web::post().to(upload))
        .route("/v1/import-template.xlsx", web::get().to(template));
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::TooManyRows { .. }
            | ImportError::TooWide { .. }
            | ImportError::Unpacks { .. } => ApiError::too_large(e.to_string()),
            e => ApiError::bad_request("bad_file", e.to_string()),
        }
    }
}

/// Rows whose track number appeared on an earlier row of the same file are refused: the file
/// would otherwise say two things about one parcel, and uploading it again would change it.
fn refuse_repeats(table: &mut Table) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for row in &mut table.rows {
        let Ok(d) = &row.draft else { continue };
        let Ok(t) = track::parse(&d.track) else {
            continue;
        };
        let number = t.number.as_str().to_string();
        match first.get(&number) {
            Some(&at) => {
                row.draft = Err(vec![FieldError::new(
                    "track",
                    format!("{number} is on row {at} already; each parcel goes on one row"),
                )]);
            }
            None => {
                first.insert(number, row.number);
            }
        }
    }
}

fn row_errors(table: &Table, errors: Vec<FieldError>) -> Vec<RowError> {
    errors
        .into_iter()
        .map(|e| RowError {
            column: table.column_of(&e.field).unwrap_or_default().to_string(),
            field: e.field,
            message: e.message,
        })
        .collect()
}

/// `POST /v1/shops/{shop}/parcels/import`.
pub async fn upload(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    let settings = state.svc.settings.clone();
    let shop = existing_shop(&state, &shop).await?;
    let bytes = read_body(payload, BodyLimit::File(settings.import.max_file)).await?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let max_rows = settings.import.max_rows;
    let started = std::time::Instant::now();
    let mut table = web::block(move || -> Result<Table, ImportError> {
        let format = import::sniff(&bytes, content_type.as_deref())?;
        import::parse(&bytes, format, max_rows).map(|mut t| {
            refuse_repeats(&mut t);
            t
        })
    })
    .await??;
    let parsed = started.elapsed();

    // The drafts go to the store; the table keeps the rest (columns, counts) for the answer.
    let rows = std::mem::take(&mut table.rows);
    let numbers: Vec<usize> = rows.iter().map(|r| r.number).collect();
    let clock = state.svc.clock.clone();
    let id = shop.id.clone();
    // Bulk intake: one step on one blocking thread.
    let handled = state
        .svc
        .store
        .in_one_step(move |store| {
            let drafts = rows.into_iter().map(|r| r.draft);
            hand_over(store, &settings, &clock, &shop, drafts)
        })
        .await?;

    let mut tally = Tally::default();
    let mut results = Vec::with_capacity(handled.len());
    for (&row, h) in numbers.iter().zip(handled) {
        tally.add(&h);
        results.push(RowResult {
            row,
            track: h.track,
            outcome: h.outcome,
            errors: row_errors(&table, h.errors),
            warnings: h.warnings,
        });
    }
    record(&state, &id, "file", tally);
    tracing::info!(
        shop = %id,
        rows = numbers.len(),
        parse_ms = parsed.as_millis() as u64,
        store_ms = (started.elapsed() - parsed).as_millis() as u64,
        "Parcel file imported"
    );
    Ok(HttpResponse::Ok().json(ImportResponse {
        format: match table.format {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
        .into(),
        detected: table.detected.clone(),
        columns: table
            .columns
            .iter()
            .map(|(f, h)| ColumnUsed {
                field: f.api_name().into(),
                header: h.clone(),
            })
            .collect(),
        ignored_columns: table.ignored.clone(),
        warnings: table
            .warnings
            .iter()
            .map(|w| ColumnWarning {
                column: w.header.clone(),
                looks_like: w.fields.iter().map(|f| f.api_name().to_string()).collect(),
                message: w.message.clone(),
            })
            .collect(),
        skipped_rows: table
            .skipped
            .iter()
            .map(|s| SkippedRow {
                row: s.number,
                reason: s.reason.clone(),
            })
            .collect(),
        rows: numbers.len(),
        created: tally.created,
        updated: tally.updated,
        unchanged: tally.unchanged,
        rejected: tally.rejected,
        results,
    }))
}

/// `GET /v1/import-template.xlsx`: no token needed, it holds nothing of anyone.
pub async fn template() -> Result<HttpResponse, ApiError> {
    let bytes = web::block(import::template::workbook)
        .await?
        .map_err(|e| ApiError::internal(format!("cannot build the template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX_TYPE)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"parceld-import-template.xlsx\"",
        ))
        .body(bytes))
}
