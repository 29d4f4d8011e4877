//! The poll loop every carrier shares: batching, the concurrency cap, the rate limiter, the time
//! limit, applying answers to the store and scheduling the next poll, backoff with jitter after
//! failures, and pausing a carrier that refused our credentials or ran out of budget.
//!
//! It is plain async code over a [`PollContext`]; the poller actor only feeds it work.

use super::{Carrier, CarrierError, TrackQuery, TrackReport};
use crate::config::PollingSettings;
use crate::daemon::clock::Clock;
use crate::domain::lifecycle::Rules;
use crate::domain::outbox::SendTiming;
use crate::domain::schedule::{DailyWindow, backoff, next_poll_after_success};
use crate::health::Health;
use crate::store::{DueItem, Report, Store, StoreError};
use governor::DefaultDirectRateLimiter;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Everything a poll needs.
#[derive(Clone)]
pub struct PollContext {
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// The carrier.
    pub carrier: Arc<dyn Carrier>,
    /// Its polling settings.
    pub settings: PollingSettings,
    /// Lifecycle rules.
    pub rules: Rules,
    /// The daemon's time zone (polling windows).
    pub tz: TimeZone,
    /// The customers' send window.
    pub send_window: DailyWindow,
    /// The carrier's rate limiter.
    pub limiter: Arc<DefaultDirectRateLimiter>,
    /// The carrier's concurrency cap.
    pub slots: Arc<Semaphore>,
    /// The health board.
    pub health: Arc<Health>,
}

/// What a poll run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PollSummary {
    /// Parcels asked about.
    pub polled: usize,
    /// Parcels whose status or events changed.
    pub changed: usize,
    /// Notifications queued.
    pub messages: usize,
    /// Parcels whose poll failed.
    pub failed: usize,
    /// Parcels not asked about (deleted, finished, carrier paused).
    pub skipped: usize,
}

impl PollSummary {
    /// Adds another run's counts.
    pub fn add(&mut self, o: PollSummary) {
        self.polled += o.polled;
        self.changed += o.changed;
        self.messages += o.messages;
        self.failed += o.failed;
        self.skipped += o.skipped;
    }
}

fn random() -> u64 {
    getrandom::u64().unwrap_or(0x9e37_79b9_7f4a_7c15)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StoreError::Sled(sled::Error::ReportableBug(e.to_string()))))
}

impl PollContext {
    fn next_success_poll(&self, now: Timestamp) -> Timestamp {
        next_poll_after_success(
            now,
            self.settings.poll_every,
            &self.settings.window,
            &self.tz,
        )
    }

    /// When polling may resume after the carrier paused itself: the next window opening after
    /// the current one (or an hour later for an always-open window).
    fn resume_at(&self, now: Timestamp) -> Timestamp {
        let w = &self.settings.window;
        match w.closes_after(now, &self.tz) {
            Some(close) => w.next_open(close, &self.tz),
            None => now + Duration::from_secs(3600),
        }
    }

    /// Polls some due parcels of this carrier. Store failures end the run with an error; carrier
    /// failures are recorded on the parcels.
    pub async fn poll(&self, items: Vec<DueItem>) -> Result<PollSummary, StoreError> {
        let mut summary = PollSummary::default();
        let size = self
            .carrier
            .max_batch()
            .min(self.settings.batch_size)
            .max(1);
        for chunk in items.chunks(size) {
            summary.add(self.poll_chunk(chunk.to_vec()).await?);
        }
        Ok(summary)
    }

    async fn poll_chunk(&self, items: Vec<DueItem>) -> Result<PollSummary, StoreError> {
        let mut summary = PollSummary::default();
        let store = self.store.clone();
        let keys: Vec<(String, String)> = items
            .iter()
            .map(|i| (i.shop.clone(), i.track.clone()))
            .collect();
        let parcels = blocking(move || {
            keys.iter()
                .map(|(s, t)| store.parcel(s, t))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
        let mut queries = Vec::new();
        for p in parcels.into_iter().flatten() {
            if p.status.is_final() {
                summary.skipped += 1;
                continue;
            }
            queries.push((
                p.shop.as_str().to_string(),
                TrackQuery {
                    track: p.track.clone(),
                    known_events: p.events.len(),
                    created_at: p.created_at,
                    has_cod: !p.cod.is_zero(),
                },
            ));
        }
        summary.skipped = items.len() - queries.len();
        if queries.is_empty() {
            return Ok(summary);
        }

        let now = self.clock.now();
        let status = self.health.carrier_status(self.carrier.id());
        if let Some(until) = status.paused_until.filter(|u| *u > now) {
            // Paused: move these parcels to when polling resumes, without asking.
            for (shop, q) in &queries {
                self.fail(shop, q.track.as_str(), "carrier paused", Some(until))
                    .await?;
            }
            summary.skipped += queries.len();
            return Ok(summary);
        }

        if crate::faults::hit("poller.panic") {
            panic!("fault point poller.panic");
        }
        let _slot = self.slots.acquire().await;
        self.limiter.until_ready().await;
        let id = self.carrier.id();
        self.health.carrier(id, |s| {
            s.requests_today = s.requests_today.saturating_add(1)
        });
        let only: Vec<TrackQuery> = queries.iter().map(|(_, q)| q.clone()).collect();
        let answers: Vec<Result<TrackReport, CarrierError>> =
            match tokio::time::timeout(self.settings.timeout, self.carrier.track(&only)).await {
                Ok(a) if a.len() == only.len() => a,
                Ok(a) => vec![
                    Err(CarrierError::Transient(format!(
                        "the carrier answered {} results for {} numbers",
                        a.len(),
                        only.len()
                    )));
                    only.len()
                ],
                Err(_) => vec![
                    Err(CarrierError::Transient(format!(
                        "no answer within {}",
                        humantime::format_duration(self.settings.timeout)
                    )));
                    only.len()
                ],
            };
        drop(_slot);

        let now = self.clock.now();
        for ((shop, q), answer) in queries.into_iter().zip(answers) {
            summary.polled += 1;
            match answer {
                Ok(report) => {
                    metrics::counter!("parceld_polls_total", "carrier" => id.as_str(), "outcome" => "ok").increment(1);
                    self.health.carrier(id, |s| s.last_success_at = Some(now));
                    let store = self.store.clone();
                    let rules = self.rules.clone();
                    let window = self.send_window;
                    let next = self.next_success_poll(now);
                    let track = q.track.as_str().to_string();
                    let report = Report {
                        events: report.events,
                        cod_paid_at: report.cod_paid_at,
                        new_track: report.new_track,
                    };
                    let outcome = blocking(move || {
                        store.apply_report(
                            &shop,
                            &track,
                            &report,
                            now,
                            &rules,
                            next,
                            &SendTiming { window: &window },
                        )
                    })
                    .await?;
                    if let Some(o) = outcome {
                        if o.new_events > 0 {
                            summary.changed += 1;
                            metrics::counter!("parceld_carrier_events_total", "carrier" => id.as_str()).increment(o.new_events as u64);
                        }
                        if let Some(prev) = o.previous_status {
                            tracing::info!(
                                carrier = id.as_str(),
                                track = q.track.as_str(),
                                from = prev.as_str(),
                                to = o.status.as_str(),
                                messages = o.messages,
                                "Parcel status changed"
                            );
                        }
                        summary.messages += o.messages;
                    }
                }
                Err(e) => {
                    summary.failed += 1;
                    metrics::counter!("parceld_polls_total", "carrier" => id.as_str(), "outcome" => e.kind()).increment(1);
                    self.health.carrier(id, |s| {
                        s.last_error = Some(e.to_string());
                        s.last_error_at = Some(now);
                    });
                    let pause_until = if e.stops_carrier() {
                        let until = self.resume_at(now);
                        tracing::error!(carrier = id.as_str(), error = %e, resume_at = %until, "Carrier polling paused");
                        metrics::counter!("parceld_carrier_pauses_total", "carrier" => id.as_str())
                            .increment(1);
                        self.health.carrier(id, |s| {
                            s.paused_until = Some(until);
                            s.paused_reason = Some(e.to_string());
                        });
                        Some(until)
                    } else {
                        tracing::warn!(carrier = id.as_str(), track = q.track.as_str(), error = %e, "Poll failed");
                        match &e {
                            CarrierError::RateLimited {
                                retry_after: Some(d),
                            } => Some(now + *d),
                            _ => None,
                        }
                    };
                    self.fail(&shop, q.track.as_str(), &e.to_string(), pause_until)
                        .await?;
                }
            }
        }
        Ok(summary)
    }

    /// Records a failed poll; the next one is `at` or after a backoff.
    async fn fail(
        &self,
        shop: &str,
        track: &str,
        error: &str,
        at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let store = self.store.clone();
        let (shop, track, error) = (shop.to_string(), track.to_string(), error.to_string());
        let now = self.clock.now();
        let (base, cap) = (self.settings.retry_base, self.settings.retry_cap);
        let r = random();
        blocking(move || {
            store
                .record_poll_failure(&shop, &track, &error, |failures| {
                    at.unwrap_or_else(|| now + backoff(failures, base, cap, r))
                })
                .map(|_| ())
        })
        .await
    }
}
