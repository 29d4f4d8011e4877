//! The control API: HTTP/1.1 + JSON on the Unix control socket (for operators and `parcelctl`,
//! full access, guarded by the socket's file permissions) and optionally on a TCP listener for
//! shops, where every request carries `Authorization: Bearer <shop token>` and reaches only that
//! shop's data.
//!
//! Handlers are thin: they check who calls, parse the path into typed keys and the body into
//! DTOs ([`dto`]), await the store and map errors to JSON ([`error`]).

mod callbacks;
mod carriers;
pub mod dto;
pub mod error;
mod hooks;
pub mod imports;
pub mod intake;
mod manual;
mod offices;
mod ops;
mod outbox;
mod outlook;
mod page;
pub(crate) mod parcels;
mod plans;
mod reports;
mod shops;
mod templates;
pub mod throttle;
mod unsubscribe;
mod webhooks;

use crate::actors::Services;
use crate::actors::scheduler::Scheduler;
use crate::domain::shop::{Shop, ShopId};
use actix::Addr;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use error::ApiError;
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The Unix control socket: operators.
    Socket,
    /// The TCP listener: shops with tokens.
    Tcp,
}

/// What handlers share.
pub struct AppState {
    /// Services.
    pub svc: Arc<Services>,
    /// The scheduler (to wake it, and for `POST /v1/poll`).
    pub scheduler: Addr<Scheduler>,
    /// The reporter (reports on demand).
    pub reporter: Addr<crate::actors::reporter::Reporter>,
    /// Renders `/metrics`.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// On the control socket: may do anything.
    Operator,
    /// A shop, by its token.
    Shop(ShopId),
}

impl Caller {
    /// Checks that the caller may act for `shop`.
    pub fn may_act_for(&self, shop: &str) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Shop(id) if id.as_str() == shop => Ok(()),
            Caller::Shop(_) => Err(ApiError::forbidden("this token belongs to another shop")),
        }
    }

    /// The shop a path names, if the caller may act for it: 404 for a malformed id, then 403
    /// for another shop's.
    pub fn shop(&self, path: &str) -> Result<ShopId, ApiError> {
        let shop = shop_path(path)?;
        self.may_act_for(shop.as_str())?;
        Ok(shop)
    }

    /// Checks that the caller is an operator (control socket).
    pub fn operator_only(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator => Ok(()),
            Caller::Shop(_) => Err(ApiError::forbidden(
                "this is available on the control socket only",
            )),
        }
    }
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A customer's lookup in progress ([`crate::store::Lookup`]): taken as a handler's first
/// argument, it is in place before the caller's token is checked, and transactions let the
/// whole lookup make its reads first.
impl FromRequest for crate::store::Lookup {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(match req.app_data::<web::Data<AppState>>() {
            Some(state) => Ok(state.svc.store.lookup()),
            None => Err(ApiError::internal("the handler has no state")),
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let listener = req.app_data::<Listener>().copied().unwrap_or(Listener::Tcp);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("").to_string());
        Box::pin(async move {
            if listener == Listener::Socket {
                return Ok(Caller::Operator);
            }
            let Some(header) = header else {
                return Err(ApiError::unauthorized(
                    "send the shop's token as 'Authorization: Bearer <token>'",
                ));
            };
            let Some(token) = header.strip_prefix("Bearer ").map(str::trim) else {
                return Err(ApiError::unauthorized(
                    "the Authorization header must be 'Bearer <token>'",
                ));
            };
            let state = state.ok_or_else(|| ApiError::internal("no application state"))?;
            let hash = token_hash(token);
            let shop = state.svc.store.shop_by_token(&hash).await?;
            shop.map(Caller::Shop)
                .ok_or_else(|| ApiError::unauthorized("unknown token"))
        })
    }
}

/// How large a request body may be, and where that limit comes from, so that a refusal names
/// what to change.
#[derive(Debug, Clone, Copy)]
pub enum BodyLimit {
    /// `api.max_body_mb`, in bytes.
    Setting(usize),
    /// `import.max_file_mb`, in bytes: an uploaded file.
    File(usize),
    /// The route's own fixed limit, in bytes.
    Route(usize),
}

impl BodyLimit {
    /// A small request's limit: 64 KiB.
    pub const SMALL: BodyLimit = BodyLimit::Route(64 * 1024);

    fn bytes(self) -> usize {
        match self {
            BodyLimit::Setting(b) | BodyLimit::File(b) | BodyLimit::Route(b) => b,
        }
    }

    /// What a body over the limit is told.
    fn message(self) -> String {
        match self {
            BodyLimit::Setting(b) => format!(
                "the request body is larger than the {} MiB limit (api.max_body_mb)",
                b / (1024 * 1024)
            ),
            BodyLimit::File(b) => format!(
                "the file is larger than the {} MiB limit (import.max_file_mb); split it into smaller \
                 files",
                b / (1024 * 1024)
            ),
            BodyLimit::Route(b) => format!(
                "the request body is larger than this request's limit of {} KiB",
                b.div_ceil(1024)
            ),
        }
    }
}

/// Reads a request body up to its limit.
pub async fn read_body(
    mut payload: web::Payload,
    limit: BodyLimit,
) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("bad_body", e.to_string()))?;
        if body.len() + chunk.len() > limit.bytes() {
            return Err(ApiError::too_large(limit.message()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a JSON body into `T`, naming the field at fault.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body is empty; send a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(
                "invalid_json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else if path == "." || path.is_empty() {
            ApiError::bad_request("invalid_json", inner.to_string())
        } else {
            ApiError::invalid_field(path, inner.to_string())
        }
    })
}

/// Parses a JSON body into `T`; an empty body is `T::default()`.
pub fn parse_json_or_default<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(body)
    }
}

/// Parses a query string into `T`.
pub fn parse_query<T: serde::de::DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    web::Query::<T>::from_query(q)
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))
}

/// Checks a shop id from a path.
pub fn shop_path(shop: &str) -> Result<ShopId, ApiError> {
    ShopId::parse(shop).map_err(|e| ApiError::not_found(e.to_string()))
}

/// The shop a request names, or 404.
pub async fn existing_shop(state: &AppState, shop: &ShopId) -> Result<Shop, ApiError> {
    state
        .svc
        .store
        .shop(shop)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("shop {shop} not found")))
}

/// Registers every route. Each area registers its own.
pub fn routes(cfg: &mut web::ServiceConfig) {
    ops::routes(cfg);
    carriers::routes(cfg);
    shops::routes(cfg);
    parcels::routes(cfg);
    manual::routes(cfg);
    imports::routes(cfg);
    reports::routes(cfg);
    plans::routes(cfg);
    offices::routes(cfg);
    webhooks::routes(cfg);
    hooks::routes(cfg);
    templates::routes(cfg);
    unsubscribe::routes(cfg);
    callbacks::routes(cfg);
    outbox::routes(cfg);
    page::routes(cfg);
    cfg.default_service(web::to(|| async {
        Err::<actix_web::HttpResponse, _>(ApiError::not_found(
            "no such endpoint; see docs/api.md for the API",
        ))
    }));
}

#[cfg(test)]
mod tests {
    #[test]
    fn body_limits_are_told_in_units_that_fit() {
        assert_eq!(
            super::BodyLimit::Setting(16 << 20).message(),
            "the request body is larger than the 16 MiB limit (api.max_body_mb)"
        );
        assert_eq!(
            super::BodyLimit::SMALL.message(),
            "the request body is larger than this request's limit of 64 KiB"
        );
        // A route's own limit of whole MiB is not the setting's.
        assert_eq!(
            super::BodyLimit::Route(1 << 20).message(),
            "the request body is larger than this request's limit of 1024 KiB"
        );
        assert_eq!(
            super::BodyLimit::File(20 << 20).message(),
            "the file is larger than the 20 MiB limit (import.max_file_mb); split it into smaller \
             files"
        );
    }
}
