//! Recording what a carrier answered, for the poll loop: the reports are applied several
//! parcels per store transaction ([`super::apply`]), and each failure is recorded on its parcel
//! with its next attempt (a pause of the whole carrier for refused credentials or a spent limit,
//! the carrier's own wait for "too fast", the next regular poll for a number that will not work,
//! a backoff otherwise).
//!

use super::stages::StageTimes;
use super::{PollContext, PollSummary};
use crate::carriers::{CarrierError, ParcelReport, TrackReport};
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::ParcelKey;
use crate::store::StoreError;
use std::time::Instant;

/// Parcels whose reports go to the store in one call, and at most in one transaction: half of
/// [`crate::store::TX_CHUNK`], as applying a report writes about twice what a lease does (the
/// notifications too). The store ends a transaction sooner once it has run for
/// [`crate::store::TX_BUDGET`].
const APPLY_BATCH: usize = crate::store::TX_CHUNK / 2;

/// One parcel's answer: what the carrier said about it, or why it could not.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The parcel asked about.
    pub parcel: ParcelKey,
    /// The carrier's report, or its failure.
    pub result: Result<TrackReport, CarrierError>,
}

impl PollContext {
    /// Records the answers about several parcels: reports in chunks of [`APPLY_BATCH`], one
    /// store call each, failures one by one.
    pub(super) async fn settle_all(&self, answers: Vec<Answer>) -> Result<PollSummary, StoreError> {
        let mut summary = PollSummary::default();
        let mut reports = Vec::with_capacity(answers.len());
        for Answer { parcel, result } in answers {
            match result {
                Ok(report) => reports.push(ParcelReport { parcel, report }),
                Err(e) => summary.add(self.failed(&parcel, e).await?),
            }
        }
        let mut reports = reports.into_iter().peekable();
        while reports.peek().is_some() {
            let chunk: Vec<_> = reports.by_ref().take(APPLY_BATCH).collect();
            summary.add(self.apply_chunk(chunk).await?);
        }
        Ok(summary)
    }

    /// Applies the reports about some parcels in one transaction, with metrics and logs.
    async fn apply_chunk(&self, chunk: Vec<ParcelReport>) -> Result<PollSummary, StoreError> {
        let id = self.carrier.id();
        let now = self.clock.now();
        metrics::counter!("parceld_polls_total", "carrier" => id.as_str(), "outcome" => "ok")
            .increment(chunk.len() as u64);
        self.unpaused();
        self.health.carrier(id, |s| s.last_success_at = Some(now));
        let about: Vec<(String, Option<CarrierId>)> = chunk
            .iter()
            .map(|r| (r.parcel.track.to_string(), r.report.handed_to))
            .collect();
        let started = Instant::now();
        let outcomes = self.applier.apply_many(chunk, now, &self.settings).await?;
        let took = started.elapsed();
        let mut summary = PollSummary {
            polled: about.len(),
            ..PollSummary::default()
        };
        let mut times = StageTimes::default();
        for ((track, handed_to), outcome) in about.iter().zip(outcomes) {
            let Some(o) = outcome else { continue };
            times.lifecycle += o.lifecycle;
            times.outbox += o.outbox;
            if o.new_events > 0 {
                summary.changed += 1;
                metrics::counter!("parceld_carrier_events_total", "carrier" => id.as_str())
                    .increment(o.new_events as u64);
            }
            if let Some(prev) = o.previous_status {
                tracing::info!(
                    carrier = id.as_str(),
                    track,
                    from = prev.as_str(),
                    to = o.status.as_str(),
                    messages = o.messages,
                    "Parcel status changed"
                );
            }
            if let Some(to) = handed_to.filter(|c| self.applier.targets.contains_key(c)) {
                tracing::info!(
                    carrier = id.as_str(),
                    track,
                    to = to.as_str(),
                    "Parcel handed to another carrier; its poller continues"
                );
            }
            summary.messages += o.messages;
        }
        times.store = took.saturating_sub(times.lifecycle + times.outbox);
        times.record(id);
        if summary.messages > 0 {
            metrics::counter!("parceld_notifications_queued_total", "carrier" => id.as_str())
                .increment(summary.messages as u64);
        }
        Ok(summary)
    }

    /// Records a failed poll of one parcel and when to ask again.
    pub(super) async fn failed(
        &self,
        parcel: &ParcelKey,
        e: CarrierError,
    ) -> Result<PollSummary, StoreError> {
        let track = parcel.track.as_str();
        let id = self.carrier.id();
        let now = self.clock.now();
        metrics::counter!("parceld_polls_total", "carrier" => id.as_str(), "outcome" => e.kind())
            .increment(1);
        self.health.carrier(id, |s| {
            s.last_error = Some(e.to_string());
            s.last_error_at = Some(now);
        });
        let at = if e.stops_carrier() {
            let until = self.pause(&e, now).await?;
            Some(self.spread_key(parcel, until))
        } else {
            tracing::warn!(carrier = id.as_str(), track, error = %e, "Poll failed");
            match &e {
                CarrierError::RateLimited {
                    retry_after: Some(d),
                } => Some(now + *d),
                // Asking again soon will not help: the next regular poll.
                CarrierError::Permanent(_) => {
                    Some(self.applier.next_poll(&self.settings, parcel, now))
                }
                _ => None,
            }
        };
        self.fail(parcel, &e.to_string(), at).await?;
        Ok(PollSummary {
            polled: 1,
            failed: 1,
            ..PollSummary::default()
        })
    }
}
