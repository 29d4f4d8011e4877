//! HTTP for the carriers: one client per carrier with its time limit, bodies read up to a size
//! limit, and transport failures (timeouts, refused connections, 429, 401/403) classified as
//! [`CarrierError`]s. What a 200 or a 5xx body means is the carrier's business.

use super::{BuildError, CarrierError};
use crate::domain::carrier::CarrierId;
use std::time::Duration;

/// The largest answer read from a carrier.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A carrier's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
    /// The `Retry-After` header, in seconds, if any.
    pub retry_after: Option<Duration>,
}

impl Answer {
    /// The error a status means by itself: 429 (asked too fast), 401/403 (credentials or
    /// access refused).
    pub fn status_error(&self) -> Option<CarrierError> {
        match self.status {
            429 => Some(CarrierError::RateLimited {
                retry_after: self.retry_after,
            }),
            401 | 403 => Some(CarrierError::Auth(format!(
                "HTTP {}: {}",
                self.status,
                snippet(&self.body)
            ))),
            _ => None,
        }
    }

    /// A short excerpt of the body for error messages.
    pub fn snippet(&self) -> String {
        snippet(&self.body)
    }
}

/// The first 200 characters of a text, on one line.
pub fn snippet(body: &str) -> String {
    body.chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// An HTTP client for `carrier` with a time limit of `timeout` per request.
pub fn client(carrier: CarrierId, timeout: Duration) -> Result<reqwest::Client, BuildError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .user_agent(concat!("parceld/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| BuildError {
            carrier,
            message: e.to_string(),
        })
}

/// Sends a POST with `body` and these headers, and reads the answer.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<Answer, CarrierError> {
    let mut req = client.post(url).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.send().await.map_err(transport)?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(CarrierError::Transient(format!(
                "the answer is larger than {} MiB",
                MAX_BODY >> 20
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        retry_after,
    })
}

fn transport(e: reqwest::Error) -> CarrierError {
    let what = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    };
    let mut msg = format!("{what}: {e}");
    let mut cur = std::error::Error::source(&e);
    while let Some(c) = cur {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cur = c.source();
    }
    CarrierError::Transient(msg)
}
