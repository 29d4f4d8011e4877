//! The poll engine: the loop every carrier shares. For a batch of due parcels it:
//!
//! 1. once per budget period, plans the night when the daily budget cannot cover every parcel
//!    due in it ([`plan`]);
//! 2. drops finished parcels (they are never asked about again), and defers everything while
//!    the carrier is paused (refused credentials, limit exhausted: [`pause`]) or held back
//!    after repeated failures;
//! 3. when the budget left is short, asks first for the parcels most likely to have moved;
//! 4. asks the carrier in batches of its size, as many at once as the concurrency cap allows,
//!    every request through the carrier's [`Gate`] (rate limiter and daily budget), or through
//!    a batch ticket for carriers that answer that way ([`tickets`]);
//! 5. applies the answers, several parcels per store transaction ([`settle`], [`apply`]), and
//!    schedules the next poll, or records the failure with exponential backoff and full
//!    jitter; [`stages`] times each step.
//!
//! It is plain async code over a [`PollContext`]; the poller actor only feeds it work. An
//! operator's "poll now" is [`now`], which hands the pollers their parcels the same way.

pub mod apply;
pub mod gate;
pub mod now;
pub mod outage;
pub(crate) mod pause;
mod plan;
mod settle;
pub mod stages;
mod tickets;

pub use gate::Gate;

use super::{Carrier, CarrierError, TrackQuery, TrackReport};
use crate::clock::Clock;
use crate::config::{PollingSettings, Settings};
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::polling::{slot, wants_poll};
use crate::domain::schedule::backoff;
use crate::health::Health;
use crate::store::{DueItem, Store, StoreError};
use apply::{Applier, spread_key};
use futures_util::StreamExt;
use jiff::Timestamp;
use settle::Answer;
use stages::Stage;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

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
    /// Applies answers to the store.
    pub applier: Applier,
    /// The carrier's rate limiter and budget.
    pub gate: Arc<Gate>,
    /// The carrier's concurrency cap.
    pub slots: Arc<Semaphore>,
    /// The health board.
    pub health: Arc<Health>,
    /// Failures in a row across parcels, and until when polling is held back.
    pub streak: Arc<Mutex<Streak>>,
    /// Cancelled when the daemon drains: waits for batch answers stop (the tickets stay in the
    /// store and resume at the next start).
    pub cancel: CancellationToken,
}

/// Consecutive failed requests of a carrier.
#[derive(Debug, Clone, Copy, Default)]
pub struct Streak {
    /// Failed requests in a row.
    pub failures: u32,
    /// Polling is held back until then.
    pub hold_until: Option<Timestamp>,
}

/// Why a poll (or an operator's "poll now") could not be done.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The daemon is draining and takes no new polls.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// A poller could not be reached (it stopped and was not restarted yet).
    #[error("a poller is not running: {0}")]
    PollerGone(String),
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
    /// Parcels not asked about (deleted, finished, carrier paused, budget short).
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

/// Failures in a row (across parcels) before the whole carrier is held back.
const HOLD_AFTER: u32 = 3;

pub(super) fn random() -> u64 {
    getrandom::u64().unwrap_or(0x9e37_79b9_7f4a_7c15)
}

impl PollContext {
    /// The poll loop of `carrier`, polled with `polling` under the daemon's `settings`: with its
    /// own gate, concurrency cap and failure streak.
    pub fn new(
        store: Store,
        clock: Clock,
        health: Arc<Health>,
        settings: &Settings,
        carrier: Arc<dyn Carrier>,
        polling: PollingSettings,
    ) -> PollContext {
        let gate = Gate::new(
            carrier.id(),
            polling.rate,
            polling.daily_limit,
            store.clone(),
            settings.daemon.timezone.clone(),
            clock.clone(),
            health.clone(),
        );
        PollContext {
            applier: Applier::new(store.clone(), settings),
            store,
            clock,
            gate: Arc::new(gate),
            slots: Arc::new(Semaphore::new(polling.concurrency)),
            carrier,
            health,
            streak: Arc::new(Mutex::new(Streak::default())),
            cancel: CancellationToken::new(),
            settings: polling,
        }
    }

    /// Polls some due parcels of this carrier. Store failures end the run with an error;
    /// carrier failures are recorded on the parcels.
    pub async fn poll(&self, items: Vec<DueItem>) -> Result<PollSummary, StoreError> {
        let mut summary = PollSummary::default();
        let now = self.clock.now();
        self.plan_night(now).await?;

        let keys: Vec<ParcelKey> = items.iter().map(|i| i.parcel.clone()).collect();
        let started = std::time::Instant::now();
        let loaded = self.store.parcels(keys).await?;
        stages::record(self.carrier.id(), Stage::Store, started.elapsed());
        let mut live = Vec::new();
        for p in loaded {
            if wants_poll(&p, now, self.cod_follow_up()) {
                live.push(p);
            } else {
                // Finished: never asked about again.
                self.defer(&p, None).await?;
            }
        }
        summary.skipped = items.len() - live.len();
        if live.is_empty() {
            return Ok(summary);
        }

        if let Some(until) = self.paused_until(now) {
            // Paused: move these parcels to when polling resumes, without asking.
            for p in &live {
                let at = self.spread(p, until);
                self.fail(&p.key(), "carrier paused", Some(at)).await?;
            }
            summary.skipped += live.len();
            return Ok(summary);
        }
        if let Some(until) = self.held_until(now) {
            for p in &live {
                self.defer(p, Some(self.spread(p, until))).await?;
            }
            summary.skipped += live.len();
            return Ok(summary);
        }

        let live = self.fit_budget(live, now, &mut summary).await?;
        if crate::faults::hit("poller.panic") {
            // The fault point stands for a bug: the panic is what it tests (the process aborts).
            #[allow(clippy::panic)]
            {
                panic!("fault point poller.panic");
            }
        }

        if let Some(tc) = self.carrier.tickets() {
            let (single, batch): (Vec<Parcel>, Vec<Parcel>) =
                live.into_iter().partition(|p| p.awaits_cod_payment());
            summary.add(self.poll_tickets(tc, batch).await?);
            summary.add(self.ask_all(single, 1).await?);
        } else {
            let size = self.batch_size();
            summary.add(self.ask_all(live, size).await?);
        }
        Ok(summary)
    }

    /// How long delivered parcels with unconfirmed cash on delivery are still asked about: only
    /// carriers that report payments ask.
    fn cod_follow_up(&self) -> std::time::Duration {
        if self.carrier.id() == crate::domain::carrier::CarrierId::RussianPost {
            self.applier.cod_follow_up
        } else {
            std::time::Duration::ZERO
        }
    }

    /// How many parcels one request or ticket carries.
    pub(super) fn batch_size(&self) -> usize {
        self.carrier
            .max_batch()
            .min(self.settings.batch_size)
            .max(1)
    }

    async fn ask_all(&self, parcels: Vec<Parcel>, size: usize) -> Result<PollSummary, StoreError> {
        let chunks: Vec<Vec<Parcel>> = parcels.chunks(size).map(<[Parcel]>::to_vec).collect();
        let results: Vec<Result<PollSummary, StoreError>> = futures_util::stream::iter(chunks)
            .map(|c| self.ask(c))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut summary = PollSummary::default();
        for r in results {
            summary.add(r?);
        }
        Ok(summary)
    }

    /// Asks the carrier about one batch and records the answers.
    async fn ask(&self, parcels: Vec<Parcel>) -> Result<PollSummary, StoreError> {
        let mut summary = PollSummary::default();
        let now = self.clock.now();
        if let Some(until) = self.paused_until(now).or_else(|| self.held_until(now)) {
            for p in &parcels {
                self.defer(p, Some(self.spread(p, until))).await?;
            }
            summary.skipped += parcels.len();
            return Ok(summary);
        }
        let queries: Vec<TrackQuery> = parcels.iter().map(TrackQuery::for_parcel).collect();
        let slot = self.slots.acquire().await;
        let limit = self.settings.timeout * 4;
        let answers =
            match tokio::time::timeout(limit, self.carrier.track(&queries, &self.gate)).await {
                Ok(a) if a.len() == queries.len() => a,
                Ok(a) => vec![
                    Err(CarrierError::Transient(format!(
                        "the carrier answered {} results for {} numbers",
                        a.len(),
                        queries.len()
                    )));
                    queries.len()
                ],
                Err(_) => vec![
                    Err(CarrierError::Transient(format!(
                        "no answer within {}",
                        humantime::format_duration(limit)
                    )));
                    queries.len()
                ],
            };
        drop(slot);
        self.record_streak(&answers);
        let answers = parcels
            .iter()
            .zip(answers)
            .map(|(p, result)| Answer {
                parcel: p.key(),
                result,
            })
            .collect();
        summary.add(self.settle_all(answers).await?);
        Ok(summary)
    }

    fn record_streak(&self, answers: &[Result<TrackReport, CarrierError>]) {
        let failed = !answers.is_empty()
            && answers.iter().all(|a| {
                matches!(
                    a,
                    Err(CarrierError::Transient(_) | CarrierError::RateLimited { .. })
                )
            });
        let mut s = self.streak.lock().unwrap_or_else(|p| p.into_inner());
        if !failed {
            *s = Streak::default();
            return;
        }
        s.failures = s.failures.saturating_add(1);
        if s.failures >= HOLD_AFTER {
            let pause = backoff(
                s.failures - HOLD_AFTER + 1,
                self.settings.retry_base,
                self.settings.retry_cap,
                random(),
            );
            let until = self.clock.now() + pause;
            s.hold_until = Some(until);
            tracing::warn!(
                carrier = self.carrier.id().as_str(),
                failures = s.failures,
                until = %until,
                "The carrier keeps failing; holding its polls back"
            );
        }
    }

    fn held_until(&self, now: Timestamp) -> Option<Timestamp> {
        let s = self.streak.lock().unwrap_or_else(|p| p.into_inner());
        s.hold_until.filter(|u| *u > now)
    }

    /// Where in the carrier's window a parcel goes when it may be polled from `at` on.
    pub(super) fn spread(&self, p: &Parcel, at: Timestamp) -> Timestamp {
        self.spread_key(&p.key(), at)
    }

    pub(super) fn spread_key(&self, parcel: &ParcelKey, at: Timestamp) -> Timestamp {
        slot(
            &self.settings.window,
            &self.applier.tz,
            at,
            &spread_key(parcel),
        )
    }

    /// Moves a parcel's next poll without asking and without counting a failure.
    pub(super) async fn defer(&self, p: &Parcel, at: Option<Timestamp>) -> Result<(), StoreError> {
        self.store.defer_poll(&p.key(), at).await.map(|_| ())
    }

    /// Records a failed poll; the next one is `at` or after a backoff.
    pub(super) async fn fail(
        &self,
        parcel: &ParcelKey,
        error: &str,
        at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let (base, cap) = (self.settings.retry_base, self.settings.retry_cap);
        let r = random();
        self.store
            .record_poll_failure(
                parcel,
                error,
                move |failures| at.unwrap_or_else(|| now + backoff(failures, base, cap, r)),
                now,
                &self.applier.rules,
            )
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
#[path = "poll_tests.rs"]
mod tests;
