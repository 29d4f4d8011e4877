//! Unsubscribing: the signed link in every customer message (`GET` shows a confirmation page,
//! `POST` unsubscribes: the page's button, or a mail client's RFC 8058 one-click POST with
//! `List-Unsubscribe=One-Click`), and the shop unsubscribing a customer through the API. Each
//! is recorded and withdraws every unsent message of that parcel on that channel; nothing more
//! is queued for it.
//!
//! The link needs no token: its HMAC signature is the proof. A GET never unsubscribes (mail
//! scanners fetch links).

use super::dto::{UnsubscribeIn, UnsubscribeView};
use super::error::ApiError;
use super::parcels::parcel_path;
use super::{AppState, BodyLimit, Caller, parse_json_or_default, read_body};
use crate::domain::notification::Channel;
use crate::domain::optout::OptOutSource;
use crate::domain::parcel::ParcelKey;
use crate::domain::shop::{Language, ShopId};
use crate::domain::track::TrackNumber;
use crate::reports::html::esc as escape;
use actix_web::{HttpResponse, web};

/// Registers the unsubscribe routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/u/{shop}/{track}/{channel}/{parcel}/{sig}",
        web::get().to(page),
    )
    .route(
        "/u/{shop}/{track}/{channel}/{parcel}/{sig}",
        web::post().to(confirm),
    )
    .route(
        "/v1/shops/{shop}/parcels/{track}/unsubscribe",
        web::post().to(by_shop),
    );
}

type LinkPath = web::Path<(String, String, String, u64, String)>;

fn html(
    status: actix_web::http::StatusCode,
    lang: Language,
    title: &str,
    body: &str,
) -> HttpResponse {
    let lang = match lang {
        Language::Ru => "ru",
        Language::En => "en",
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{title}</title></head>\
             <body style=\"font-family:Arial,sans-serif;max-width:520px;margin:40px auto;padding:0 16px;color:#222\">\
             <h1 style=\"font-size:20px\">{title}</h1>{body}</body></html>"
        ))
}

fn invalid() -> HttpResponse {
    html(
        actix_web::http::StatusCode::NOT_FOUND,
        Language::Ru,
        "Ссылка недействительна / This link is not valid",
        "<p>Проверьте, что ссылка скопирована целиком.</p><p>Check that the whole link was copied.</p>",
    )
}

/// What the link names, once its signature checked out.
struct Target {
    parcel: ParcelKey,
    channel: Channel,
    parcel_id: u64,
}

fn target(state: &AppState, path: LinkPath) -> Option<Target> {
    let (shop, track, channel, parcel_id, sig) = path.into_inner();
    let channel: Channel = channel.parse().ok()?;
    state
        .svc
        .links
        .verify_unsubscribe(&shop, &track, channel, parcel_id, &sig)
        .then_some(())?;
    // Signed by this daemon: the shop and track number it wrote into the link.
    Some(Target {
        parcel: ParcelKey::new(ShopId::parse(&shop).ok()?, TrackNumber::from_trusted(track)),
        channel,
        parcel_id,
    })
}

/// The shop's name and language and the parcel's order number, for the page.
async fn describe(
    state: &AppState,
    t: &Target,
) -> Result<(String, Language, String, bool), ApiError> {
    let store = &state.svc.store;
    let s = store.shop(&t.parcel.shop).await?;
    let p = store.parcel(&t.parcel).await?;
    let (name, lang) = s.map_or((String::new(), Language::Ru), |s| (s.name, s.language));
    let p = p.filter(|p| p.id == t.parcel_id);
    let order = p
        .as_ref()
        .and_then(|p| p.order_id.clone())
        .unwrap_or_else(|| t.parcel.track.as_str().to_string());
    let already = p.is_none_or(|p| p.unsubscribed.contains(&t.channel));
    Ok((name, lang, order, already))
}

fn what(channel: Channel, lang: Language) -> &'static str {
    match (channel, lang) {
        (Channel::Sms, Language::Ru) => "SMS",
        (Channel::Email, Language::Ru) => "письма",
        (Channel::Sms, Language::En) => "text messages",
        (Channel::Email, Language::En) => "e-mails",
    }
}

/// The page saying no more messages come (`already`: unsubscribed before this visit); `shop`
/// and `order` come escaped.
fn unsubscribed(
    lang: Language,
    shop: &str,
    order: &str,
    channel: Channel,
    already: bool,
) -> HttpResponse {
    let ok = actix_web::http::StatusCode::OK;
    let what = what(channel, lang);
    match lang {
        Language::Ru => html(
            ok,
            lang,
            if already {
                "Вы уже отписались"
            } else {
                "Вы отписались"
            },
            &format!("<p>Магазин «{shop}» больше не пришлёт {what} о заказе {order}.</p>"),
        ),
        Language::En => html(
            ok,
            lang,
            "You are unsubscribed",
            &format!("<p>{shop} will send no more {what} about order {order}.</p>"),
        ),
    }
}

/// `GET /u/…`: the confirmation page.
pub async fn page(state: web::Data<AppState>, path: LinkPath) -> Result<HttpResponse, ApiError> {
    let Some(t) = target(&state, path) else {
        return Ok(invalid());
    };
    let (shop, lang, order, already) = describe(&state, &t).await?;
    let (shop, order) = (escape(&shop), escape(&order));
    if already {
        return Ok(unsubscribed(lang, &shop, &order, t.channel, true));
    }
    let ok = actix_web::http::StatusCode::OK;
    let button = "style=\"font-size:16px;padding:10px 20px;border:0;border-radius:4px;background:#c33;color:#fff;cursor:pointer\"";
    Ok(match lang {
        Language::Ru => html(
            ok,
            lang,
            "Отписаться от уведомлений?",
            &format!(
                "<p>Магазин «{shop}» больше не будет присылать {} о заказе {order}.</p>\
             <form method=\"post\"><button type=\"submit\" name=\"confirm\" value=\"1\" {button}>Отписаться</button></form>",
                what(t.channel, lang)
            ),
        ),
        Language::En => html(
            ok,
            lang,
            "Unsubscribe?",
            &format!(
                "<p>{shop} will send no more {} about order {order}.</p>\
             <form method=\"post\"><button type=\"submit\" name=\"confirm\" value=\"1\" {button}>Unsubscribe</button></form>",
                what(t.channel, lang)
            ),
        ),
    })
}

/// `POST /u/…`: unsubscribes (the page's button, or a one-click POST).
pub async fn confirm(
    state: web::Data<AppState>,
    path: LinkPath,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let Some(t) = target(&state, path) else {
        return Ok(invalid());
    };
    let body = read_body(payload, BodyLimit::Route(8 * 1024)).await?;
    let one_click = String::from_utf8_lossy(&body).contains("List-Unsubscribe=One-Click");
    let source = if one_click {
        OptOutSource::OneClick
    } else {
        OptOutSource::Link
    };
    let store = &state.svc.store;
    let now = state.svc.clock.now();
    let outcome = store
        .opt_out_parcel(&t.parcel, Some(t.parcel_id), &[t.channel], source, now)
        .await?;
    store.flush().await?;
    if let Some(o) = outcome {
        tracing::info!(shop = %t.parcel.shop, track = %t.parcel.track, channel = t.channel.as_str(), source = source.as_str(), withdrawn = o.cancelled, "Customer unsubscribed");
        metrics::counter!("parceld_unsubscribes_total", "channel" => t.channel.as_str(), "source" => source.as_str()).increment(1);
    }
    let (shop, lang, order, _) = describe(&state, &t).await?;
    let (shop, order) = (escape(&shop), escape(&order));
    Ok(unsubscribed(lang, &shop, &order, t.channel, false))
}

/// `POST /v1/shops/{shop}/parcels/{track}/unsubscribe`: the shop unsubscribes its customer.
pub async fn by_shop(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (shop, track) = path.into_inner();
    let key = parcel_path(&caller, &shop, &track)?;
    let body = read_body(payload, BodyLimit::SMALL).await?;
    let req: UnsubscribeIn = parse_json_or_default(&body)?;
    let channels: Vec<Channel> = match &req.channels {
        None => Channel::ALL.to_vec(),
        Some(list) => list
            .iter()
            .map(|c| c.parse::<Channel>())
            .collect::<Result<_, _>>()
            .map_err(|e| ApiError::invalid_field("channels", e.to_string()))?,
    };
    let store = &state.svc.store;
    let now = state.svc.clock.now();
    let outcome = store
        .opt_out_parcel(&key, None, &channels, OptOutSource::Shop, now)
        .await?;
    store.flush().await?;
    let (shop, track) = (&key.shop, key.track.as_str().to_string());
    let outcome = outcome
        .ok_or_else(|| ApiError::not_found(format!("parcel {track} not found in shop {shop}")))?;
    tracing::info!(shop = %shop, track = %track, withdrawn = outcome.cancelled, "Shop unsubscribed its customer");
    Ok(HttpResponse::Ok().json(UnsubscribeView {
        track,
        unsubscribed: channels.iter().map(|c| c.as_str().to_string()).collect(),
        cancelled: outcome.cancelled,
    }))
}
