//! Reports and statistics: the morning report on demand (`POST /v1/shops/{shop}/report`) and
//! as files (`GET /v1/shops/{shop}/report.xlsx`, `.html`), a shop's statistics
//! (`GET /v1/shops/{shop}/stats?from=&to=`) and everyone's (`GET /v1/stats`, socket only).

use super::dto::{ChannelStats, Durations, ReportRequest, ReportSummary, StatsView};
use super::error::ApiError;
use super::{
    AppState, BodyLimit, Caller, existing_shop, parse_json_or_default, parse_query, read_body,
};
use crate::actors::reporter::SendReport;
use crate::domain::shop::{Shop, ShopId};
use crate::reports::send::{self, Prepared, ReportError, shop_tz};
use crate::reports::stats::{Collector, Period, Spread, Stats};
use actix_web::{HttpRequest, HttpResponse, web};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

/// Registers the report and statistics routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shops/{shop}/report", web::post().to(report))
        .route("/v1/shops/{shop}/report.xlsx", web::get().to(report_xlsx))
        .route("/v1/shops/{shop}/report.html", web::get().to(report_html))
        .route("/v1/shops/{shop}/stats", web::get().to(shop_stats))
        .route("/v1/stats", web::get().to(all_stats));
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Store(e) => e.into(),
            ReportError::NoRecipient(_) => ApiError::invalid_field("report_email", e.to_string()),
            ReportError::NoMailer | ReportError::Send(_) => ApiError::unavailable(e.to_string()),
            ReportError::Workbook(_) => ApiError::internal(e.to_string()),
        }
    }
}

fn summary(shop: &Shop, p: &Prepared, sent_to: Option<String>) -> ReportSummary {
    let r = &p.report;
    ReportSummary {
        shop: shop.id.as_str().to_string(),
        at: r.at,
        sent_to,
        subject: p.rendered.subject.clone(),
        by_status: r
            .by_status
            .iter()
            .map(|(s, n)| (s.as_str().to_string(), *n))
            .collect(),
        arrived: r.arrived.len(),
        delivered: r.delivered.len(),
        returning: r.returning.len(),
        stuck: r.stuck.len(),
        attachment: p.filename.clone(),
    }
}

/// `POST /v1/shops/{shop}/report`: builds the report now and mails it to the shop's report
/// address (on the socket, `to` may name another); `dry_run` only builds it.
pub async fn report(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let req: ReportRequest = parse_json_or_default(&body)?;
    if let Some(to) = &req.to {
        caller.operator_only()?;
        crate::domain::contact::EmailAddress::parse(to)
            .map_err(|e| ApiError::invalid_field("to", e.to_string()))?;
    }
    let shop = existing_shop(&state, &shop).await?;
    let (prepared, sent_to) = state
        .reporter
        .send(SendReport {
            shop: shop.clone(),
            to: req.to,
            dry_run: req.dry_run,
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("the reporter is not running: {e}")))??;
    Ok(HttpResponse::Ok().json(summary(&shop, &prepared, sent_to)))
}

async fn prepared(state: &AppState, caller: &Caller, path: &str) -> Result<Prepared, ApiError> {
    let shop = caller.shop(path)?;
    let shop = existing_shop(state, &shop).await?;
    let (settings, now) = (state.svc.settings.clone(), state.svc.clock.now());
    Ok(state
        .svc
        .store
        .in_one_step(move |s| send::prepare(s, &settings, &shop, now))
        .await?)
}

/// `GET /v1/shops/{shop}/report.xlsx`: the report's workbook, built now.
pub async fn report_xlsx(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = prepared(&state, &caller, &path).await?;
    Ok(HttpResponse::Ok()
        .content_type(send::XLSX_TYPE)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", p.filename),
        ))
        .body(p.xlsx))
}

/// `GET /v1/shops/{shop}/report.html`: the report's e-mail page, built now.
pub async fn report_html(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = prepared(&state, &caller, &path).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(p.rendered.html))
}

/// Query of the statistics endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Parses `2026-11-01` (the start of that day in `tz`; for `to`, the end) or an RFC 3339 time.
fn bound(field: &str, s: &str, tz: &TimeZone, end: bool) -> Result<Timestamp, ApiError> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let bad = || {
        ApiError::invalid_field(
            field,
            format!("{s:?} is neither a date (2026-11-01) nor a time (2026-11-01T08:00:00Z)"),
        )
    };
    let date: jiff::civil::Date = s.parse().map_err(|_| bad())?;
    let date = if end {
        date.tomorrow().map_err(|_| bad())?
    } else {
        date
    };
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}

fn period(state: &AppState, q: &StatsQuery, tz: &TimeZone) -> Result<Period, ApiError> {
    let now = state.svc.clock.now();
    let to = match &q.to {
        Some(s) => bound("to", s, tz, true)?,
        None => now,
    };
    let days = i64::from(state.svc.settings.reports.compare_days);
    let from = match &q.from {
        Some(s) => bound("from", s, tz, false)?,
        None => to
            .checked_sub(SignedDuration::from_hours(24 * days))
            .unwrap_or(Timestamp::MIN),
    };
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    Ok(Period { from, to })
}

fn durations(s: Spread) -> Durations {
    Durations {
        count: s.count,
        median: s.median,
        p90: s.p90,
    }
}

fn view(shop: Option<String>, p: Period, s: Stats) -> StatsView {
    StatsView {
        shop,
        from: p.from,
        to: p.to,
        handed_over: s.handed_over,
        orders: s.orders,
        finished: s
            .finished
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect(),
        return_rate: s.return_rate(),
        previous_return_rate: s.previous_return_rate(),
        accepted_to_arrived_days: durations(s.accepted_to_arrived),
        arrived_to_pickup_days: durations(s.arrived_to_pickup),
        notifications: s
            .channels
            .iter()
            .map(|(c, n)| {
                (
                    c.as_str().to_string(),
                    ChannelStats {
                        total: n.total,
                        sent: n.sent,
                        failed: n.failed,
                        cancelled: n.cancelled,
                        pending: n.pending,
                        delivery_rate: n.delivery_rate(),
                    },
                )
            })
            .collect(),
        unsubscribed: s
            .unsubscribed
            .iter()
            .map(|(c, n)| (c.as_str().to_string(), *n))
            .collect(),
        by_status: s
            .by_status
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect(),
        plan: None,
        estimates: std::collections::BTreeMap::new(),
    }
}

/// Scans the parcels and messages (of one shop, or all): one step on one blocking thread.
fn collect(
    store: &crate::store::SyncStore,
    shop: Option<&ShopId>,
    p: Period,
) -> Result<Stats, crate::store::StoreError> {
    let mut c = Collector::new(p);
    store.for_each_parcel(shop, |x| {
        c.parcel(&x);
        true
    })?;
    store.for_each_entry(shop, |e| c.entry(&e))?;
    Ok(c.finish())
}

/// `GET /v1/shops/{shop}/stats?from=&to=`.
pub async fn shop_stats(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    let q: StatsQuery = parse_query(req.query_string())?;
    let shop = existing_shop(&state, &shop).await?;
    let p = period(&state, &q, &shop_tz(&shop))?;
    let store = &state.svc.store;
    let now = state.svc.clock.now();
    let id = shop.id.clone();
    let stats = store.in_one_step(move |s| collect(s, Some(&id), p)).await?;
    let plan = super::plans::plan_view(store, &shop, now).await?;
    let tallies = store.tallies(Some(shop.id.clone())).await?;
    let mut v = view(Some(path.into_inner()), p, stats);
    v.plan = Some(plan);
    v.estimates = super::outlook::stats(&tallies);
    Ok(HttpResponse::Ok().json(v))
}

/// `GET /v1/stats?from=&to=`: every shop together (socket only).
pub async fn all_stats(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.operator_only()?;
    let q: StatsQuery = parse_query(req.query_string())?;
    let p = period(&state, &q, &state.svc.settings.daemon.timezone)?;
    let stats = state
        .svc
        .store
        .in_one_step(move |s| collect(s, None, p))
        .await?;
    let tallies = state.svc.store.tallies(None).await?;
    let mut v = view(None, p, stats);
    v.estimates = super::outlook::stats(&tallies);
    Ok(HttpResponse::Ok().json(v))
}
