//! A client of the control API, over the Unix control socket or a shop's TCP listener, with the
//! same DTOs the daemon uses. `parcelctl` and the integration tests are its users.

mod hooks;
mod notify;
mod shopside;

use crate::api::dto::*;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::Duration;

/// A request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon could not be reached.
    #[error("cannot reach parceld at {target}: {message}")]
    Connect {
        /// Socket path or URL.
        target: String,
        /// Why.
        message: String,
    },
    /// The daemon answered with an error.
    #[error("{}{}: {}", error.code, error.field.as_ref().map(|f| format!(" ({f})")).unwrap_or_default(), error.message)]
    Api {
        /// HTTP status.
        status: u16,
        /// The error.
        error: ErrorDetail,
    },
    /// The answer was not what was expected.
    #[error("unexpected answer ({status}): {message}")]
    Decode {
        /// HTTP status.
        status: u16,
        /// Why.
        message: String,
    },
}

impl ClientError {
    /// The HTTP status, when the daemon answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Decode { status, .. } => Some(*status),
            ClientError::Connect { .. } => None,
        }
    }
}

/// A raw answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: Option<String>,
    /// Body.
    pub body: Vec<u8>,
}

/// A control API client.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    target: String,
    token: Option<String>,
}

impl Client {
    /// A client of the control socket at `path`.
    pub fn unix(path: &Path) -> Result<Client, ClientError> {
        let target = path.display().to_string();
        let http = http(reqwest::Client::builder().unix_socket(path), &target)?;
        Ok(Client {
            http,
            base: "http://parceld".into(),
            target,
            token: None,
        })
    }

    /// A client of a shop listener at `base` (`http://127.0.0.1:8787`) with a shop token.
    pub fn tcp(base: &str, token: Option<String>) -> Result<Client, ClientError> {
        let http = http(reqwest::Client::builder(), base)?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            target: base.to_string(),
            token,
        })
    }

    /// Sends a request with a raw body and returns the raw answer.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<RawResponse, ClientError> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header(
                    reqwest::header::CONTENT_TYPE,
                    content_type.unwrap_or("application/json"),
                )
                .body(b);
        }
        let resp = req.send().await.map_err(|e| ClientError::Connect {
            target: self.target.clone(),
            message: error_chain(&e),
        })?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.map_err(|e| ClientError::Decode {
            status,
            message: e.to_string(),
        })?;
        Ok(RawResponse {
            status,
            content_type,
            body: body.to_vec(),
        })
    }

    /// Sends a JSON request and decodes a JSON answer; error answers become [`ClientError::Api`].
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, ClientError> {
        let bytes = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Decode {
                status: 0,
                message: e.to_string(),
            })?;
        let r = self.raw(method, path, bytes, None).await?;
        decode(r)
    }

    /// `GET /v1/carriers/unmapped`.
    pub async fn unmapped_codes(&self) -> Result<Vec<UnmappedCodeView>, ClientError> {
        self.call(Method::GET, "/v1/carriers/unmapped", None::<&()>)
            .await
    }

    /// `GET /v1/health`.
    pub async fn health(&self) -> Result<HealthView, ClientError> {
        self.call(Method::GET, "/v1/health", None::<&()>).await
    }

    /// `POST /v1/shops`.
    pub async fn create_shop(&self, req: &CreateShop) -> Result<ShopCreated, ClientError> {
        self.call(Method::POST, "/v1/shops", Some(req)).await
    }

    /// `GET /v1/shops`.
    pub async fn shops(&self) -> Result<Vec<ShopView>, ClientError> {
        self.call(Method::GET, "/v1/shops", None::<&()>).await
    }

    /// `GET /v1/shops/{shop}`.
    pub async fn shop(&self, shop: &str) -> Result<ShopView, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/shops/{}", enc(shop)),
            None::<&()>,
        )
        .await
    }

    /// `PATCH /v1/shops/{shop}`.
    pub async fn patch_shop(&self, shop: &str, req: &PatchShop) -> Result<ShopView, ClientError> {
        self.call(
            Method::PATCH,
            &format!("/v1/shops/{}", enc(shop)),
            Some(req),
        )
        .await
    }

    /// `POST /v1/shops/{shop}/parcels` with an array.
    pub async fn add_parcels(
        &self,
        shop: &str,
        parcels: &[ParcelIn],
    ) -> Result<IntakeResponse, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/shops/{}/parcels", enc(shop)),
            Some(parcels),
        )
        .await
    }

    /// `POST /v1/shops/{shop}/parcels` with any JSON (one object or an array).
    pub async fn add_json(
        &self,
        shop: &str,
        body: &serde_json::Value,
    ) -> Result<IntakeResponse, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/shops/{}/parcels", enc(shop)),
            Some(body),
        )
        .await
    }

    /// `GET /v1/shops/{shop}/parcels/{track}`.
    pub async fn parcel(&self, shop: &str, track: &str) -> Result<ParcelView, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/shops/{}/parcels/{}", enc(shop), enc(track)),
            None::<&()>,
        )
        .await
    }

    /// `GET /v1/shops/{shop}/parcels?…`.
    pub async fn list(
        &self,
        shop: &str,
        query: &[(&str, String)],
    ) -> Result<ParcelList, ClientError> {
        let q: String = query
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let path = if q.is_empty() {
            format!("/v1/shops/{}/parcels", enc(shop))
        } else {
            format!("/v1/shops/{}/parcels?{q}", enc(shop))
        };
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// `DELETE /v1/shops/{shop}/parcels/{track}`.
    pub async fn delete(&self, shop: &str, track: &str) -> Result<serde_json::Value, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/v1/shops/{}/parcels/{}", enc(shop), enc(track)),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/shops/{shop}/parcels/{track}/revive`.
    pub async fn revive(&self, shop: &str, track: &str) -> Result<ParcelView, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/shops/{}/parcels/{}/revive", enc(shop), enc(track)),
            None::<&()>,
        )
        .await
    }

    /// `POST /v1/shops/{shop}/parcels/{track}/status`.
    pub async fn set_status(
        &self,
        shop: &str,
        track: &str,
        req: &SetStatus,
    ) -> Result<ParcelView, ClientError> {
        self.call(
            Method::POST,
            &format!("/v1/shops/{}/parcels/{}/status", enc(shop), enc(track)),
            Some(req),
        )
        .await
    }

    /// `POST /v1/poll`.
    pub async fn poll(&self, req: &PollRequest) -> Result<PollResponse, ClientError> {
        self.call(Method::POST, "/v1/poll", Some(req)).await
    }

    /// `GET /metrics`.
    pub async fn metrics(&self) -> Result<String, ClientError> {
        let r = self.raw(Method::GET, "/metrics", None, None).await?;
        if r.status != 200 {
            return decode::<String>(r);
        }
        Ok(String::from_utf8_lossy(&r.body).into_owned())
    }
}

/// Decodes an answer: 2xx as `T`, anything else as an API error.
pub fn decode<T: DeserializeOwned>(r: RawResponse) -> Result<T, ClientError> {
    let status = r.status;
    if !(200..300).contains(&status) {
        return match serde_json::from_slice::<ErrorBody>(&r.body) {
            Ok(e) => Err(ClientError::Api {
                status,
                error: e.error,
            }),
            Err(_) => Err(ClientError::Decode {
                status,
                message: String::from_utf8_lossy(&r.body).chars().take(500).collect(),
            }),
        };
    }
    // 422 from intake carries a normal body; handled by callers through `raw` when needed.
    serde_json::from_slice(&r.body).map_err(|e| ClientError::Decode {
        status,
        message: format!(
            "{e}: {}",
            String::from_utf8_lossy(&r.body)
                .chars()
                .take(300)
                .collect::<String>()
        ),
    })
}

/// Builds the HTTP client of either listener: a long timeout, for imports and reports.
fn http(builder: reqwest::ClientBuilder, target: &str) -> Result<reqwest::Client, ClientError> {
    builder
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| ClientError::Connect {
            target: target.to_string(),
            message: e.to_string(),
        })
}

/// Percent-encodes one path segment or query value.
fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Whether a status is a success.
pub fn ok(status: u16) -> bool {
    StatusCode::from_u16(status).is_ok_and(|s| s.is_success())
}
