//! Parcels: intake (one or many, idempotent, errors per field), lookup by track or order number,
//! listing by status or stuck, deletion.

use super::dto::{
    ArrivalView, ContradictionView, CustomerView, EventView, Field, IntakeItem, IntakeOutcome,
    IntakeResponse, MailTypeView, NotificationView, OfficeView, OptOutView, ParcelIn, ParcelList,
    ParcelView,
};
use super::error::ApiError;
use super::{AppState, BodyLimit, Caller, existing_shop, parse_json, parse_query, read_body};
use crate::domain::contact::EmailAddress;
use crate::domain::intake::{FieldError, ParcelDraft, Patch};
use crate::domain::lifecycle;
use crate::domain::manual;
use crate::domain::optout::{OptOut, OptOutScope};
use crate::domain::outage;
use crate::domain::outbox::{self, OutboxEntry};
use crate::domain::parcel::{CarrierEvent, Office, Parcel, ParcelKey};
use crate::domain::phone::Phone;
use crate::domain::shop::Language;
use crate::domain::status::Status;
use crate::domain::track;
use crate::store::{Listing, Lookup, ParcelCards, ParcelFilter, ParcelPage, Revived};
use actix_web::{HttpResponse, web};
use jiff::Timestamp;
use serde::Deserialize;

/// Registers the parcel routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/shops/{shop}/parcels", web::post().to(intake))
        .route("/v1/shops/{shop}/parcels", web::get().to(list))
        .route("/v1/shops/{shop}/parcels/{track}", web::get().to(get))
        .route("/v1/shops/{shop}/parcels/{track}", web::delete().to(delete))
        .route(
            "/v1/shops/{shop}/parcels/{track}/revive",
            web::post().to(revive),
        );
}

fn office(o: &Office) -> OfficeView {
    OfficeView {
        index: o.index.clone(),
        name: o.name.clone(),
        address: o.address.clone(),
        hours: o.hours.clone(),
        phone: o.phone.clone(),
    }
}

/// A recipient as the API shows it: the phone or the e-mail, masked.
pub fn mask(recipient: &str) -> String {
    if recipient.contains('@') {
        EmailAddress::from_trusted(recipient).masked()
    } else {
        Phone::from_trusted(recipient).masked()
    }
}

fn notification(e: &OutboxEntry) -> NotificationView {
    NotificationView {
        kind: e.key.kind.as_str().into(),
        occurrence: e.key.occurrence,
        channel: e.key.channel.as_str().into(),
        recipient: mask(&e.recipient),
        state: e.state.as_str().into(),
        attempts: e.attempts,
        created_at: e.created_at,
        next_attempt_at: (!e.state.is_final()).then_some(e.next_attempt_at),
        sent_at: e.sent_at,
        provider_id: e.provider_id.clone(),
        delivery_status: e.delivery_status.clone(),
        last_error: e.last_error.clone(),
        provider: e.provider.clone(),
        segments: e.segments,
        doubtful_resends: e.doubtful_resends,
    }
}

/// The view of a parcel; `full` adds events, notifications and opt-outs.
pub fn view(
    p: &Parcel,
    entries: &[OutboxEntry],
    optouts: &[(OptOutScope, OptOut)],
    now: Timestamp,
    rules: &lifecycle::Rules,
    terms: &lifecycle::ShopTerms,
    full: bool,
) -> ParcelView {
    ParcelView {
        track: p.track.as_str().into(),
        carrier: p.carrier.as_str().into(),
        order_id: p.order_id.clone(),
        customer: CustomerView {
            name: p.customer.name.clone(),
            phone: p.customer.phone.as_ref().map(|x| x.as_str().into()),
            email: p.customer.email.as_ref().map(|x| x.as_str().into()),
        },
        cod_amount: p.cod.to_decimal_string(),
        contents: p.contents.clone(),
        status: p.status.as_str().into(),
        status_label: p.status.label_ru().into(),
        stuck: lifecycle::is_stuck(p, now, rules),
        track_warning: p.track_warning.clone(),
        created_at: p.created_at,
        updated_at: p.updated_at,
        last_event_at: p.last_event().map(|e| e.at),
        arrival: p
            .arrival
            .as_ref()
            .filter(|_| p.is_waiting_for_pickup())
            .map(|a| {
                let tz = lifecycle::office_zone(&a.office, terms);
                ArrivalView {
                    office: office(&a.office),
                    arrived_at: a.at,
                    deadline: a.deadline.at,
                    days_left: lifecycle::days_left(p, now, terms).unwrap_or(0),
                    timezone: outbox::office_timezone(p).map(str::to_string),
                    deadline_basis: a.deadline.basis.describe(&tz, Language::En),
                    storage_notes: a
                        .deadline
                        .notes
                        .iter()
                        .map(|n| n.describe(&tz, Language::En))
                        .collect(),
                }
            }),
        cod_paid_at: p.cod_paid_at,
        tracked_as: p.tracked_as.as_ref().map(|t| t.as_str().to_string()),
        next_poll_at: p.next_poll_at,
        next_reminder_at: p.next_reminder_at,
        last_poll_error: p.poll.last_error.clone(),
        events: if full {
            p.events.iter().map(event_view).collect()
        } else {
            Vec::new()
        },
        notifications: if full {
            entries.iter().map(notification).collect()
        } else {
            Vec::new()
        },
        unsubscribed: p
            .unsubscribed
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        optouts: optouts
            .iter()
            .map(|(scope, o)| OptOutView {
                channel: o.channel.as_str().into(),
                scope: scope.as_str().into(),
                source: o.source.as_str().into(),
                at: o.at,
            })
            .collect(),
        storage_days: p.storage_days,
        mail_type: p.mail_type.as_ref().map(|m| MailTypeView {
            class: m.class.as_str().to_string(),
            code: m.code,
            name: m.name.clone(),
        }),
        abandoned_at: p.abandoned_at,
        destination_index: p.outlook.destination.clone(),
        expected: p.outlook.estimate.as_ref().map(super::outlook::expected),
        probably_arrived: super::outlook::probable(&p.outlook),
        contradiction: manual::contradictions(&p.events).map(|(m, against)| ContradictionView {
            set_by: manual::hand_of(m).map_or("", |h| h.as_str()).to_string(),
            status: m.status.as_str().into(),
            reason: m.description.clone(),
            at: m.at,
            carrier_events: against.into_iter().map(event_view).collect(),
        }),
    }
}

fn event_view(e: &CarrierEvent) -> EventView {
    EventView {
        at: e.at,
        status: e.status.as_str().into(),
        code: e.code.clone(),
        description: e.description.clone(),
        office: e.office.as_ref().map(office),
        set_by: manual::hand_of(e).map(|h| h.as_str().to_string()),
    }
}

/// Parses one item of an intake request into a draft, naming the field of a type error.
pub(crate) fn draft(value: serde_json::Value) -> Result<ParcelDraft, FieldError> {
    let p: ParcelIn = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        FieldError::new(
            // The parcel itself, or a key without a name ("").
            if path == "." || path.is_empty() {
                "(parcel)".into()
            } else {
                path
            },
            e.into_inner(),
        )
    })?;
    let (name, phone, email) = match p.customer {
        Field::Absent => (Patch::Keep, Patch::Keep, Patch::Keep),
        Field::Null => (Patch::Clear, Patch::Clear, Patch::Clear),
        Field::Value(c) => (c.name.into(), c.phone.into(), c.email.into()),
    };
    Ok(ParcelDraft {
        track: p.track,
        order_id: p.order_id.into(),
        name,
        phone,
        email,
        cod_amount: p.cod_amount.into(),
        contents: p.contents.into(),
        carrier: p.carrier,
        storage_days: p.storage_days.into(),
    })
}

/// `POST /v1/shops/{shop}/parcels`: one parcel object or an array of them.
pub async fn intake(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    let settings = state.svc.settings.clone();
    let body = read_body(payload, BodyLimit::Setting(settings.api.max_body)).await?;
    let value: serde_json::Value = parse_json(&body)?;
    let (items, single) = match value {
        serde_json::Value::Array(a) => (a, false),
        v @ serde_json::Value::Object(_) => (vec![v], true),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_json",
                "send a parcel object or an array of parcel objects",
            ));
        }
    };
    if items.len() > settings.api.max_items {
        return Err(ApiError::too_large(format!(
            "{} parcels in one request; the limit is {} (api.max_items)",
            items.len(),
            settings.api.max_items
        )));
    }
    let shop = existing_shop(&state, &shop).await?;
    let clock = state.svc.clock.clone();
    let id = shop.id.clone();
    // Bulk intake, one step on one blocking thread; reading the items into drafts is CPU work
    // too and runs there as well.
    let handled = state
        .svc
        .store
        .in_one_step(move |store| {
            let drafts = items.into_iter().map(|v| draft(v).map_err(|e| vec![e]));
            super::intake::hand_over(store, &settings, &clock, &shop, drafts)
        })
        .await?;
    let mut tally = super::intake::Tally::default();
    let mut response = IntakeResponse::default();
    for (index, h) in handled.into_iter().enumerate() {
        tally.add(&h);
        response.results.push(IntakeItem {
            index,
            track: h.track,
            outcome: h.outcome,
            errors: h.errors,
            warnings: h.warnings,
            changed: h.changed,
        });
    }
    (response.created, response.updated) = (tally.created, tally.updated);
    (response.unchanged, response.rejected) = (tally.unchanged, tally.rejected);
    super::intake::record(&state, &id, "json", tally);
    let status = match (single, response.results.first().map(|r| r.outcome)) {
        (true, Some(IntakeOutcome::Created)) => actix_web::http::StatusCode::CREATED,
        (true, Some(IntakeOutcome::Rejected)) => actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        _ => actix_web::http::StatusCode::OK,
    };
    Ok(HttpResponse::build(status).json(response))
}

/// Checks the shop and track number of a parcel's path, and that the caller may act for the
/// shop: the parcel's key, the track number as stored.
pub(super) fn parcel_path(caller: &Caller, shop: &str, t: &str) -> Result<ParcelKey, ApiError> {
    let shop = caller.shop(shop)?;
    let track = track::parse(t)
        .map(|p| p.number)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok(ParcelKey::new(shop, track))
}

/// `GET /v1/shops/{shop}/parcels/{track}`.
pub async fn get(
    _lookup: Lookup,
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, track) = path.into_inner();
    let key = parcel_path(&caller, &shop, &track)?;
    let card = state.svc.store.parcel_card(&key).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "parcel {} not found in shop {}",
            key.track, key.shop
        ))
    })?;
    let now = state.svc.clock.now();
    let rules = &state.svc.settings.rules;
    let p = &card.parcel;
    let mut v = view(
        p,
        &card.entries,
        &card.optouts,
        now,
        rules,
        &card.terms,
        true,
    );
    v.stuck = outage::is_stuck(p, now, rules, &card.stalled);
    Ok(HttpResponse::Ok().json(v))
}

/// Query of `GET /v1/shops/{shop}/parcels`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    order_id: Option<String>,
    status: Option<String>,
    stuck: Option<bool>,
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/shops/{shop}/parcels?order_id=…|status=…|stuck=true`.
pub async fn list(
    _lookup: Lookup,
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let shop = caller.shop(&path)?;
    let q: ListQuery = parse_query(req.query_string())?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<Status>)
        .transpose()
        .map_err(|e| ApiError::invalid_field("status", e.to_string()))?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::invalid_field("limit", "must be 1-1000"));
    }
    let now = state.svc.clock.now();
    let rules = &state.svc.settings.rules;
    let listing = match &q.order_id {
        Some(order) => Listing::Order(order.trim().to_string()),
        None => Listing::Filter(Box::new(ParcelFilter {
            status,
            stuck: q.stuck.map(|want| (want, now, rules.clone())),
            after: q.after.clone(),
            limit,
        })),
    };
    let ParcelCards {
        terms,
        page: ParcelPage { parcels, next },
        stalled,
    } = state.svc.store.parcel_cards(&shop, listing).await?;
    let page = ParcelList {
        parcels: parcels
            .iter()
            .map(|p| ParcelView {
                stuck: outage::is_stuck(p, now, rules, &stalled),
                ..view(p, &[], &[], now, rules, &terms, false)
            })
            .collect(),
        next,
    };
    Ok(HttpResponse::Ok().json(page))
}

/// `DELETE /v1/shops/{shop}/parcels/{track}`: the parcel and every message not yet sent go.
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, track) = path.into_inner();
    let key = parcel_path(&caller, &shop, &track)?;
    let (shop, track) = (&key.shop, key.track.as_str());
    let gone = state.svc.store.delete_parcel(&key).await?;
    state.svc.store.flush().await?;
    match gone {
        None => Err(ApiError::not_found(format!(
            "parcel {track} not found in shop {shop}"
        ))),
        Some(_) => {
            tracing::info!(shop = %shop, track = %track, "Parcel deleted");
            Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": track })))
        }
    }
}

/// `POST /v1/shops/{shop}/parcels/{track}/revive`: poll again a parcel that was given up on
/// (no carrier event for `rules.give_up_after`); the silence counts afresh from now.
pub async fn revive(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (shop, track) = path.into_inner();
    let key = parcel_path(&caller, &shop, &track)?;
    let shop_record = existing_shop(&state, &key.shop).await?;
    let settings = state.svc.settings.clone();
    let now = state.svc.clock.now();
    let spread = crate::carriers::poll::apply::spread_key(&key);
    let revived = state
        .svc
        .store
        .revive_parcel(&key, now, move |carrier| {
            settings.polling_for(carrier).map_or(now, |c| {
                crate::domain::polling::slot(&c.window, &settings.daemon.timezone, now, &spread)
            })
        })
        .await?;
    state.svc.store.flush().await?;
    let (shop, track) = (&key.shop, key.track.as_str());
    match revived {
        Revived::NotFound => Err(ApiError::not_found(format!(
            "parcel {track} not found in shop {shop}"
        ))),
        Revived::Finished(st) => Err(ApiError::conflict(format!(
            "parcel {track} is {st}: its journey is over, there is nothing to poll"
        ))),
        Revived::NotAbandoned => Err(ApiError::conflict(format!(
            "parcel {track} is still polled on its schedule; only a parcel given up on can be revived"
        ))),
        Revived::Done(p) => {
            tracing::info!(shop = %shop, track = %track, "Parcel revived; it is polled again");
            state.scheduler.do_send(crate::actors::Wake);
            Ok(HttpResponse::Ok().json(view(
                &p,
                &[],
                &[],
                now,
                &state.svc.settings.rules,
                &lifecycle::ShopTerms::of(&shop_record),
                false,
            )))
        }
    }
}
