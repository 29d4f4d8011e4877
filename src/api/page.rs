//! The customers' tracking page over HTTP, without a token: `GET /t/{code}` (the short link in
//! every customer message), `GET /t/{shop}` (the shop's order form) and `POST /t/{shop}` (the
//! form's answer). A code has a capital letter and a shop id never does, so one path serves
//! both. `GET /robots.txt` asks search engines to keep out of `/t/` and `/u/`: the pages are
//! personal (each page also says `noindex` in its head and headers).
//!
//! Every answer that depends on what the store holds (a code's page or "not found", the form's
//! page or "not found") is sent no sooner than `page.answer_time` after the request began, so
//! its timing tells nothing. On the shops' listener the form is limited per client address and
//! per order ([`crate::page::limits`]), besides the public routes' own limit; the control
//! socket is not limited.

use super::error::ApiError;
use super::throttle::{self, Throttle};
use super::{AppState, BodyLimit, read_body};
use crate::domain::shop::{Shop, ShopId};
use crate::page::limits::FormLimits;
use crate::page::{code, html, view, words};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr};
use tokio::time::Instant;

/// The longest order number the form takes.
const MAX_ORDER: usize = 64;

/// What `GET /robots.txt` answers.
pub const ROBOTS: &str = "User-agent: *\nDisallow: /t/\nDisallow: /u/\n";

/// Registers the tracking page's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/t/{key}", web::get().to(get))
        .route("/t/{key}", web::post().to(post))
        .route("/robots.txt", web::get().to(robots));
}

/// `GET /robots.txt`: the same few bytes every time.
async fn robots() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(ROBOTS)
}

/// What the form sends.
#[derive(Debug, Default, Deserialize)]
struct FormIn {
    #[serde(default)]
    order: String,
    #[serde(default)]
    phone: String,
}

/// An HTML answer with the headers every page carries.
fn respond(status: StatusCode, body: String, logo_url: Option<&str>) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("X-Robots-Tag", "noindex, nofollow"))
        .insert_header(("Content-Security-Policy", html::security_policy(logo_url)))
        .body(body)
}

fn rendered(r: Result<String, html::HtmlError>) -> Result<String, ApiError> {
    r.map_err(|e| ApiError::internal(e.to_string()))
}

fn not_found() -> Result<HttpResponse, ApiError> {
    Ok(respond(
        StatusCode::NOT_FOUND,
        rendered(html::not_found())?,
        None,
    ))
}

fn count(via: &'static str, outcome: &'static str) {
    metrics::counter!("parceld_page_answers_total", "via" => via, "outcome" => outcome)
        .increment(1);
}

/// Waits until `page.answer_time` has passed since `started`.
async fn pace(state: &AppState, started: Instant) {
    let until = started + state.svc.settings.page.answer_time;
    if Instant::now() > until {
        tracing::debug!(
            late_ms = (Instant::now() - until).as_millis() as u64,
            "A tracking page answer took longer than page.answer_time"
        );
    }
    tokio::time::sleep_until(until).await;
}

/// The page of the parcels found, or `None` when there are none.
fn page_of(
    state: &AppState,
    shop: &Shop,
    offices: &std::collections::BTreeMap<String, crate::domain::offices::OfficeEntry>,
    parcels: &[crate::domain::parcel::Parcel],
) -> Result<Option<HttpResponse>, ApiError> {
    if parcels.is_empty() {
        return Ok(None);
    }
    let ctx = view::Context {
        shop,
        offices,
        now: state.svc.clock.now(),
        links: &state.svc.links,
        extend_url: &state.svc.settings.page.extend_url,
    };
    let body = rendered(html::page(&view::build(&ctx, parcels)))?;
    Ok(Some(respond(
        StatusCode::OK,
        body,
        shop.brand.logo_url.as_deref(),
    )))
}

/// `GET /t/{code}`: the page of a short link; `GET /t/{shop}`: the shop's order form.
pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner();
    if code::is_code(&key) {
        let started = Instant::now();
        // The lookup ends with its reads: the pacing below holds no writer back.
        let lookup = state.svc.store.lookup();
        let facts = state.svc.store.page_by_code(key).await?;
        drop(lookup);
        let answer = match facts {
            Some(f) => page_of(&state, &f.shop, &f.offices, &view::by_code(f.parcels))?,
            None => None,
        };
        count(
            "link",
            if answer.is_some() {
                "found"
            } else {
                "not_found"
            },
        );
        let answer = match answer {
            Some(a) => a,
            None => not_found()?,
        };
        pace(&state, started).await;
        return Ok(answer);
    }
    match shop(&state, &key).await? {
        Some(s) => Ok(respond(
            StatusCode::OK,
            rendered(html::form(&s, None))?,
            s.brand.logo_url.as_deref(),
        )),
        None => not_found(),
    }
}

async fn shop(state: &AppState, key: &str) -> Result<Option<Shop>, ApiError> {
    let Ok(id) = ShopId::parse(key) else {
        return Ok(None);
    };
    Ok(state.svc.store.page_shop(id).await?)
}

/// The client a request comes from, keyed as the public routes' limiter keys it.
fn client(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = match req.app_data::<web::Data<Throttle>>() {
        Some(t) => t.client(peer, forwarded),
        None => peer,
    };
    throttle::key(ip)
}

/// The spellings an order number is looked for in: as typed (without a leading `№` or `#`),
/// and in capitals.
fn spellings(order: &str) -> Vec<String> {
    let base = order
        .trim()
        .trim_start_matches(['№', '#'])
        .trim()
        .to_string();
    let upper = base.to_uppercase();
    if upper == base {
        vec![base]
    } else {
        vec![base, upper]
    }
}

/// `POST /t/{shop}`: the order form's answer: the page of the order's parcels whose customer's
/// phone ends with the digits given, or one "not found" for every other case.
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let key = path.into_inner();
    let Some(shop) = shop(&state, &key).await? else {
        return not_found();
    };
    let logo = shop.brand.logo_url.clone();
    let w = words::of(shop.language);
    let body = read_body(payload, BodyLimit::Route(4 * 1024)).await?;
    let form: FormIn = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let order = form.order.trim();
    let digits: String = form.phone.chars().filter(char::is_ascii_digit).collect();
    let phone_ok = digits.len() == 4
        && form
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || c == '-');
    let problem = if order.is_empty()
        || order.chars().count() > MAX_ORDER
        || order.chars().any(char::is_control)
    {
        Some(w.form_bad_order)
    } else if !phone_ok {
        Some(w.form_bad_phone)
    } else {
        None
    };
    if let Some(problem) = problem {
        count("form", "invalid");
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            rendered(html::form(&shop, Some(problem)))?,
            logo.as_deref(),
        ));
    }
    if let Some(limits) = req.app_data::<web::Data<FormLimits>>()
        && let Err(held) = limits.check(client(&req), shop.id.as_str(), order)
    {
        let wait = held.wait();
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        count("form", "limited");
        metrics::counter!("parceld_page_limited_total", "by" => held.label()).increment(1);
        tracing::debug!(shop = %shop.id, by = held.label(), retry_after = secs, "Order form tried too often");
        let mut resp = respond(
            StatusCode::TOO_MANY_REQUESTS,
            rendered(html::too_many(Some(&shop), secs.div_ceil(60)))?,
            logo.as_deref(),
        );
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
        return Ok(resp);
    }
    let started = Instant::now();
    let lookup = state.svc.store.lookup();
    let facts = state
        .svc
        .store
        .page_by_order(shop.id.clone(), spellings(order))
        .await?;
    drop(lookup);
    let parcels = facts
        .as_ref()
        .map(|f| view::by_phone(f.parcels.clone(), &digits))
        .unwrap_or_default();
    let offices = facts.map(|f| f.offices).unwrap_or_default();
    let answer = page_of(&state, &shop, &offices, &parcels)?;
    count(
        "form",
        if answer.is_some() {
            "found"
        } else {
            "not_found"
        },
    );
    let answer = match answer {
        Some(a) => a,
        None => respond(
            StatusCode::NOT_FOUND,
            rendered(html::form(&shop, Some(w.form_not_found)))?,
            logo.as_deref(),
        ),
    };
    pace(&state, started).await;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    #[test]
    fn order_spellings() {
        assert_eq!(super::spellings(" №a-1001 "), ["a-1001", "A-1001"]);
        assert_eq!(super::spellings("#A-7"), ["A-7"]);
    }
}
