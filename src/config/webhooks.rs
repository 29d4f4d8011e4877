//! The `[webhooks]` section: how events are delivered to the shops' own systems, how long a
//! failing delivery is retried and a failing endpoint kept, and where webhooks may go (HTTPS
//! only, and never to the operator's own network, unless allowed here).
//!
//! The raw struct refuses unknown keys; [`super::Validator`] turns it into settings, naming the
//! file and the key in every error.

use super::{ConfigError, Validator, values};
use crate::domain::webhook::delivery::HookRetry;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    enabled: Option<bool>,
    timeout: Option<String>,
    retry_base: Option<String>,
    retry_cap: Option<String>,
    retry_for: Option<String>,
    disable_after: Option<String>,
    concurrency: Option<usize>,
    max_response_kb: Option<usize>,
    max_per_shop: Option<usize>,
    rotation_overlap: Option<String>,
    allow_http: Option<Vec<String>>,
    allow_addresses: Option<Vec<String>>,
}

/// Webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Whether shops may register endpoints and events are delivered.
    pub enabled: bool,
    /// The time limit of one request, from connecting to the last byte of the answer read.
    pub timeout: Duration,
    /// Backoff and how long a delivery is retried before it is a dead letter.
    pub retry: HookRetry,
    /// An endpoint whose every attempt failed for this long is disabled.
    pub disable_after: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How much of an answer's body is read, in bytes; the rest is dropped.
    pub max_response: usize,
    /// How many endpoints one shop may have.
    pub max_per_shop: usize,
    /// How long an old secret keeps signing after a rotation.
    pub rotation_overlap: Duration,
    /// Hosts that may be reached over plain HTTP (lower case).
    pub allow_http: Vec<String>,
    /// Address ranges that may be reached although they are loopback, private, link-local and
    /// the like.
    pub allow_addresses: Vec<ipnet::IpNet>,
}

/// Parses an address (`127.0.0.1`, `::1`) or a range (`10.0.0.0/8`).
pub fn address_range(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    s.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| {
            format!(
                "{s:?} is not an address or a range; write e.g. \"127.0.0.1\" or \"10.0.0.0/8\""
            )
        })
}

impl Validator<'_> {
    pub(super) fn webhooks(&self, r: &RawWebhooks) -> Result<WebhookSettings, ConfigError> {
        let d = |key: &str, raw: &Option<String>, default: &str| {
            self.value(
                &format!("webhooks.{key}"),
                raw,
                default,
                values::positive_duration,
            )
        };
        let base = d("retry_base", &r.retry_base, "10s")?;
        let cap = d("retry_cap", &r.retry_cap, "1h")?;
        if cap < base {
            return Err(self.err("webhooks.retry_cap", "must not be shorter than retry_base"));
        }
        let allow_http = r
            .allow_http
            .iter()
            .flatten()
            .map(|h| {
                let h = h.trim().trim_start_matches('[').trim_end_matches(']');
                if h.is_empty() || h.contains('/') || h.contains(' ') {
                    Err(self.err(
                        "webhooks.allow_http",
                        format!(
                            "{h:?} is not a host name; write e.g. \"crm.internal\" or \"127.0.0.1\""
                        ),
                    ))
                } else {
                    Ok(h.to_ascii_lowercase())
                }
            })
            .collect::<Result<_, _>>()?;
        let allow_addresses = r
            .allow_addresses
            .iter()
            .flatten()
            .map(|a| address_range(a).map_err(|m| self.err("webhooks.allow_addresses", m)))
            .collect::<Result<_, _>>()?;
        Ok(WebhookSettings {
            enabled: r.enabled.unwrap_or(true),
            timeout: d("timeout", &r.timeout, "10s")?,
            retry: HookRetry {
                base,
                cap,
                retry_for: d("retry_for", &r.retry_for, "1d")?,
            },
            disable_after: d("disable_after", &r.disable_after, "1d")?,
            concurrency: self.nonzero("webhooks.concurrency", r.concurrency, 8)?,
            max_response: match r.max_response_kb.unwrap_or(64) {
                0 => return Err(self.err("webhooks.max_response_kb", "must be at least 1")),
                n if n > 10 * 1024 => {
                    return Err(self.err("webhooks.max_response_kb", "must be at most 10240"));
                }
                n => n * 1024,
            },
            max_per_shop: self.nonzero("webhooks.max_per_shop", r.max_per_shop, 10)?,
            rotation_overlap: self.value(
                "webhooks.rotation_overlap",
                &r.rotation_overlap,
                "24h",
                values::duration,
            )?,
            allow_http,
            allow_addresses,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn defaults_and_seconds_for_tests() {
        let s = parse("", Path::new("t.toml")).unwrap();
        assert!(s.webhooks.enabled);
        assert_eq!(s.webhooks.retry.retry_for, Duration::from_secs(86_400));
        assert_eq!(s.webhooks.disable_after, Duration::from_secs(86_400));
        assert!(s.webhooks.allow_http.is_empty() && s.webhooks.allow_addresses.is_empty());
        let s = parse(
            "[webhooks]\nretry_for = \"3s\"\ndisable_after = \"5s\"\nallow_http = [\"127.0.0.1\", \"CRM.local\"]\nallow_addresses = [\"127.0.0.0/8\", \"::1\"]\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(s.webhooks.retry.retry_for, Duration::from_secs(3));
        assert_eq!(s.webhooks.allow_http, vec!["127.0.0.1", "crm.local"]);
        assert_eq!(s.webhooks.allow_addresses.len(), 2);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[webhooks]\nretry_for = \"a day\"\n", "webhooks.retry_for"),
            (
                "[webhooks]\nallow_addresses = [\"10.0.0.300/8\"]\n",
                "webhooks.allow_addresses",
            ),
            (
                "[webhooks]\nallow_http = [\"http://x/\"]\n",
                "webhooks.allow_http",
            ),
            ("[webhooks]\nretry_base = \"2h\"\n", "webhooks.retry_cap"),
            ("[webhooks]\nconcurrency = 0\n", "webhooks.concurrency"),
            ("[webhooks]\nsecret = \"x\"\n", "webhooks.secret"),
        ] {
            let e = parse(text, Path::new("t.toml")).unwrap_err().to_string();
            assert!(e.starts_with(&format!("t.toml: {key}")), "{text}: {e}");
        }
    }
}
