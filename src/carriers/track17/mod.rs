//! China Post and China EMS, through the 17TRACK Tracking API v2.2 (China Post has no public
//! API a foreign shop can use). A poll of up to 40 numbers is one `gettrackinfo`; numbers
//! 17TRACK does not track yet are registered (`register`, China Post 3011 or China EMS 3013 by
//! the number's shape); numbers whose journey is over, or that were handed to Russian Post
//! (whose own poller then continues), are stopped (`stoptrack`). 17TRACK can also push updates
//! to `POST /v1/webhooks/17track`: [`push`] checks and applies them.

pub mod codes;
pub mod push;
pub mod wire;

use super::http;
use super::{BuildError, Carrier, CarrierError, Gate, TrackQuery, TrackReport};
use crate::config::PollingSettings;
use crate::config::carriers::Track17Settings;
use crate::config::secret::Secret;
use crate::domain::carrier::CarrierId;
use async_trait::async_trait;
use serde_json::json;

/// The 17TRACK tracking API.
pub struct Track17 {
    http: reqwest::Client,
    endpoint: String,
    token: Secret,
    handoff: bool,
    fingerprint: String,
}

impl Track17 {
    /// The carrier for these settings; `handoff` moves parcels Russian Post reports on to the
    /// Russian Post poller.
    pub fn new(
        s: &Track17Settings,
        polling: &PollingSettings,
        handoff: bool,
    ) -> Result<Self, BuildError> {
        Ok(Track17 {
            http: http::client(CarrierId::ChinaPost, polling.timeout)?,
            endpoint: s.endpoint.clone(),
            token: s.token.clone(),
            handoff,
            fingerprint: s.fingerprint(),
        })
    }

    async fn call(
        &self,
        op: &str,
        body: serde_json::Value,
        gate: &Gate,
    ) -> Result<wire::Data, CarrierError> {
        gate.pass().await?;
        let a = http::post(
            &self.http,
            &format!("{}/{op}", self.endpoint),
            &[
                ("17token", self.token.expose()),
                ("Content-Type", "application/json"),
            ],
            body.to_string(),
        )
        .await?;
        if a.status == 429 {
            return Err(CarrierError::RateLimited {
                retry_after: a.retry_after,
            });
        }
        wire::envelope(a.status, &a.body)
    }

    async fn register(
        &self,
        numbers: &[&str],
        gate: &Gate,
    ) -> Vec<(String, Result<TrackReport, CarrierError>)> {
        let body: Vec<serde_json::Value> = numbers
            .iter()
            .map(|n| match wire::carrier_code(n) {
                Some(c) => json!({"number": n, "carrier": c}),
                None => json!({"number": n, "auto_detection": true}),
            })
            .collect();
        let data = match self.call("register", json!(body), gate).await {
            Ok(d) => d,
            Err(e) => {
                return numbers
                    .iter()
                    .map(|n| (n.to_string(), Err(e.clone())))
                    .collect();
            }
        };
        numbers
            .iter()
            .map(|n| {
                let refused = data
                    .rejected
                    .iter()
                    .find(|r| r.number.eq_ignore_ascii_case(n))
                    .and_then(|r| r.error.as_ref());
                let r = match refused {
                    Some(e) if e.code != wire::ALREADY_REGISTERED => Err(wire::api_error(e)),
                    // Registered now: data follows later.
                    _ => Ok(TrackReport::default()),
                };
                (n.to_string(), r)
            })
            .collect()
    }
}

#[async_trait]
impl Carrier for Track17 {
    fn id(&self) -> CarrierId {
        CarrierId::ChinaPost
    }

    fn max_batch(&self) -> usize {
        40
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    async fn track(
        &self,
        queries: &[TrackQuery],
        gate: &Gate,
    ) -> Vec<Result<TrackReport, CarrierError>> {
        let body: Vec<serde_json::Value> = queries
            .iter()
            .map(|q| json!({"number": q.track.as_str()}))
            .collect();
        let data = match self.call("gettrackinfo", json!(body), gate).await {
            Ok(d) => d,
            Err(e) => return vec![Err(e); queries.len()],
        };
        let mut out: Vec<Result<TrackReport, CarrierError>> = Vec::with_capacity(queries.len());
        let mut unregistered = Vec::new();
        let mut stop = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            let n = q.track.as_str();
            if let Some(a) = data
                .accepted
                .iter()
                .find(|a| a.number.eq_ignore_ascii_case(n))
            {
                let info = a.track_info.clone().unwrap_or_default();
                let r = wire::report(&info, self.handoff);
                if wire::finished(&info) || r.handed_to.is_some() {
                    stop.push(n);
                }
                out.push(Ok(r));
            } else if let Some(e) = data
                .rejected
                .iter()
                .find(|r| r.number.eq_ignore_ascii_case(n))
                .and_then(|r| r.error.as_ref())
            {
                match e.code {
                    wire::NOT_REGISTERED => {
                        unregistered.push((i, n));
                        out.push(Ok(TrackReport::default()));
                    }
                    wire::NO_INFO_YET => out.push(Ok(TrackReport::default())),
                    _ => out.push(Err(wire::api_error(e))),
                }
            } else {
                out.push(Err(CarrierError::Transient(format!(
                    "17TRACK did not answer about {n}"
                ))));
            }
        }
        if !unregistered.is_empty() {
            let numbers: Vec<&str> = unregistered.iter().map(|(_, n)| *n).collect();
            let registered = self.register(&numbers, gate).await;
            for ((i, _), (n, r)) in unregistered.iter().zip(registered) {
                if r.is_ok() {
                    tracing::info!(track = %n, "Registered with 17TRACK");
                }
                out[*i] = r;
            }
        }
        if !stop.is_empty() {
            let body: Vec<serde_json::Value> = stop.iter().map(|n| json!({"number": n})).collect();
            if let Err(e) = self.call("stoptrack", json!(body), gate).await {
                tracing::warn!(error = %e, numbers = stop.len(), "Cannot stop tracking finished parcels at 17TRACK");
            }
        }
        out
    }
}
