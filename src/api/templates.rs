//! Shop templates: list, show, save (checked first: syntax, allowed constructs, macros, length),
//! reset to the default, and preview with a sample parcel.
//!
//! A refused template answers 422 with the usual error body plus `line`, `column` and
//! `reason`.

use super::dto::{ErrorDetail, PreviewView, TemplateErrorBody, TemplateIn, TemplateView};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, existing_shop, parse_json_or_default, read_body};
use crate::domain::notification::NotificationKind;
use crate::domain::outbox::OutboxKey;
use crate::domain::shop::Shop;
use crate::domain::template::{Part, StoredTemplate};
use crate::domain::track::TrackNumber;
use crate::notify::Rendered;
use crate::notify::render::defaults;
use crate::notify::render::templates::{Links, MessageContext};
use crate::notify::render::validate::{self, TemplateError};
use actix_web::{HttpResponse, web};
use std::collections::BTreeMap;

/// Registers the template routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shops/{shop}/templates", web::get().to(list))
        .route(
            "/v1/shops/{shop}/templates/{event}/{channel}",
            web::get().to(get),
        )
        .route(
            "/v1/shops/{shop}/templates/{event}/{channel}",
            web::put().to(put),
        )
        .route(
            "/v1/shops/{shop}/templates/{event}/{channel}",
            web::delete().to(reset),
        )
        .route(
            "/v1/shops/{shop}/templates/{event}/{channel}/preview",
            web::post().to(preview),
        );
}

/// The path of one template: shop, event and part.
type TemplatePath = web::Path<(String, String, String)>;

fn event_and_part(event: &str, channel: &str) -> Result<(NotificationKind, Part), ApiError> {
    let kind = event
        .parse::<NotificationKind>()
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let part = channel
        .parse::<Part>()
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok((kind, part))
}

/// The template a `…/templates/{event}/{channel}` path names, with its shop.
async fn named(
    caller: &Caller,
    state: &AppState,
    path: TemplatePath,
) -> Result<(Shop, NotificationKind, Part), ApiError> {
    let (shop, event, channel) = path.into_inner();
    let (kind, part) = event_and_part(&event, &channel)?;
    let shop = existing_shop(state, &caller.shop(&shop)?).await?;
    Ok((shop, kind, part))
}

fn view(
    shop: &Shop,
    kind: NotificationKind,
    part: Part,
    own: Option<StoredTemplate>,
) -> TemplateView {
    TemplateView {
        event: kind.as_str().into(),
        channel: part.as_str().into(),
        custom: own.is_some(),
        template: own.as_ref().map_or_else(
            || defaults::template(shop.language, kind, part),
            |t| t.source.clone(),
        ),
        updated_at: own.map(|t| t.updated_at),
        preview: None,
        segments: None,
    }
}

/// The sample contexts a shop's template is checked and previewed with.
fn samples(
    state: &AppState,
    shop: &Shop,
    kind: NotificationKind,
    part: Part,
) -> Vec<MessageContext> {
    let key = OutboxKey {
        shop: shop.id.clone(),
        track: TrackNumber::from_trusted("80082592345678"),
        parcel_id: 123_456_789,
        kind,
        occurrence: 1,
        channel: part.channel(),
    };
    let links: Links = state.svc.links.links(
        &key,
        crate::domain::carrier::CarrierId::RussianPost,
        &shop.messaging,
    );
    vec![
        MessageContext::sample(&shop.name, shop.phone.as_deref(), shop.language, &links),
        MessageContext::sparse_sample(),
    ]
}

fn max_segments(state: &AppState) -> u32 {
    state
        .svc
        .settings
        .sms
        .as_ref()
        .map_or(2, |s| s.max_segments)
}

fn refused(e: &TemplateError) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(TemplateErrorBody {
        error: ErrorDetail {
            code: "invalid_template".into(),
            message: e.to_string(),
            field: Some("template".into()),
        },
        line: e.line,
        column: e.column,
        reason: e.reason.clone(),
    })
}

/// `GET /v1/shops/{shop}/templates`: every event and part, the shop's own or the default.
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let shop = existing_shop(&state, &caller.shop(&path)?).await?;
    let own: BTreeMap<(NotificationKind, Part), StoredTemplate> = state
        .svc
        .store
        .shop_templates(&shop.id)
        .await?
        .into_iter()
        .map(|(k, p, t)| ((k, p), t))
        .collect();
    let mut out = Vec::new();
    for kind in NotificationKind::ALL {
        for part in Part::ALL {
            out.push(view(&shop, kind, part, own.get(&(kind, part)).cloned()));
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /v1/shops/{shop}/templates/{event}/{channel}`.
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: TemplatePath,
) -> Result<HttpResponse, ApiError> {
    let (shop, kind, part) = named(&caller, &state, path).await?;
    let own = state.svc.store.template(&shop.id, kind, part).await?;
    Ok(HttpResponse::Ok().json(view(&shop, kind, part, own)))
}

async fn source_from(payload: web::Payload) -> Result<Option<String>, ApiError> {
    let body = read_body(payload, BodyLimit::SMALL).await?;
    Ok(parse_json_or_default::<TemplateIn>(&body)?.template)
}

/// `PUT /v1/shops/{shop}/templates/{event}/{channel}`: checks and saves the shop's template.
pub async fn put(
    caller: Caller,
    state: web::Data<AppState>,
    path: TemplatePath,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (shop, kind, part) = named(&caller, &state, path).await?;
    let source = source_from(payload)
        .await?
        .ok_or_else(|| ApiError::invalid_field("template", "is required"))?;
    let checked = match validate::check(
        &source,
        part,
        &samples(&state, &shop, kind, part),
        max_segments(&state),
    ) {
        Ok(c) => c,
        Err(e) => return Ok(refused(&e)),
    };
    let record = StoredTemplate {
        source,
        updated_at: state.svc.clock.now(),
    };
    let store = &state.svc.store;
    store.put_template(&shop.id, kind, part, &record).await?;
    store.flush().await?;
    tracing::info!(shop = %shop.id, event = kind.as_str(), part = part.as_str(), "Template saved");
    let mut v = view(&shop, kind, part, Some(record));
    v.preview = Some(checked.preview);
    v.segments = checked.segments;
    Ok(HttpResponse::Ok().json(v))
}

/// `DELETE /v1/shops/{shop}/templates/{event}/{channel}`: back to the default.
pub async fn reset(
    caller: Caller,
    state: web::Data<AppState>,
    path: TemplatePath,
) -> Result<HttpResponse, ApiError> {
    let (shop, kind, part) = named(&caller, &state, path).await?;
    let store = &state.svc.store;
    store.delete_template(&shop.id, kind, part).await?;
    store.flush().await?;
    Ok(HttpResponse::Ok().json(view(&shop, kind, part, None)))
}

/// `POST /v1/shops/{shop}/templates/{event}/{channel}/preview`: the whole message with a
/// sample parcel, using the template in the body (checked first) or the one in use.
pub async fn preview(
    caller: Caller,
    state: web::Data<AppState>,
    path: TemplatePath,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (shop, kind, part) = named(&caller, &state, path).await?;
    let candidate = source_from(payload).await?;
    let samples = samples(&state, &shop, kind, part);
    let mut overrides = state.svc.store.templates_for(&shop.id, kind).await?;
    if let Some(source) = candidate {
        if let Err(e) = validate::check(&source, part, &samples, u32::MAX) {
            return Ok(refused(&e));
        }
        overrides.insert(part, source);
    }
    let rendered = state
        .svc
        .templates
        .render_context(&samples[0], shop.language, kind, part.channel(), &overrides)
        .map_err(|e| ApiError::bad_request("invalid_template", e.to_string()))?;
    let mut v = PreviewView {
        event: kind.as_str().into(),
        channel: part.as_str().into(),
        sms: None,
        segments: None,
        subject: None,
        text: None,
        html: None,
    };
    match rendered {
        Rendered::Sms { text } => {
            v.segments = Some(crate::notify::render::segments::count(&text));
            v.sms = Some(text);
        }
        Rendered::Email {
            subject,
            text,
            html,
            ..
        } => {
            v.subject = Some(subject);
            v.text = Some(text);
            v.html = Some(html);
        }
    }
    Ok(HttpResponse::Ok().json(v))
}
