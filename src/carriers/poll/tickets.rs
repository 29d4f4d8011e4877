//! Batch tickets, for carriers that answer in two steps (Russian Post's batch access): ask for
//! a ticket for up to a batch of parcels, keep the ticket in the store, wait (`ticket_wait`,
//! 15 minutes at Russian Post) before asking for the answer and between asks, and apply the
//! answer like any other. A restart finds the ticket in the store and goes on waiting for it
//! instead of asking for a new one; a ticket the carrier lost or dropped is replaced by asking
//! again later.

use super::settle::Answer;
use super::stages::Stage;
use super::{PollContext, PollSummary, random};
use crate::carriers::{CarrierError, Collected, TicketCarrier, TrackQuery, TrackReport};
use crate::domain::parcel::Parcel;
use crate::domain::schedule::backoff;
use crate::store::{StoreError, Ticket, TicketItem};
use std::time::Duration;

fn queries(t: &Ticket) -> Vec<TrackQuery> {
    t.items
        .iter()
        .map(|i| TrackQuery {
            track: i.asked.clone(),
            known_events: 0,
            created_at: t.issued_at,
            has_cod: i.has_cod,
            cod_only: false,
        })
        .collect()
}

impl PollContext {
    /// Asks about parcels through tickets, one per batch: every ticket is asked for first (and
    /// its parcels leased to it), then all are followed to their answers at once.
    pub(super) async fn poll_tickets(
        &self,
        tc: &dyn TicketCarrier,
        parcels: Vec<Parcel>,
    ) -> Result<PollSummary, StoreError> {
        let mut summary = PollSummary::default();
        let mut open = Vec::new();
        for chunk in parcels.chunks(self.batch_size()) {
            let qs: Vec<TrackQuery> = chunk.iter().map(TrackQuery::for_parcel).collect();
            let slot = self.slots.acquire().await;
            let issued =
                tokio::time::timeout(self.settings.timeout * 2, tc.submit(&qs, &self.gate))
                    .await
                    .unwrap_or_else(|_| Err(CarrierError::Transient("no ticket in time".into())));
            drop(slot);
            let id = match issued {
                Ok(id) => id,
                Err(e) => {
                    for p in chunk {
                        summary.add(self.failed(&p.key(), e.clone()).await?);
                    }
                    continue;
                }
            };
            let now = self.clock.now();
            let ticket = Ticket {
                carrier: self.carrier.id(),
                id: id.clone(),
                items: chunk
                    .iter()
                    .zip(&qs)
                    .map(|(p, q)| TicketItem {
                        shop: p.shop.clone(),
                        track: p.track.clone(),
                        asked: q.track.clone(),
                        has_cod: q.has_cod,
                    })
                    .collect(),
                issued_at: now,
                ask_at: now + tc.ticket_wait(),
                asks: 0,
            };
            let lease_until = now + tc.ticket_hold();
            let started = std::time::Instant::now();
            self.store.open_ticket(&ticket, lease_until).await?;
            self.store.flush().await?;
            super::stages::record(self.carrier.id(), Stage::Store, started.elapsed());
            tracing::info!(carrier = self.carrier.id().as_str(), ticket = %id, parcels = chunk.len(), ask_at = %ticket.ask_at, "Batch ticket issued");
            open.push(ticket);
        }
        let runs = open.into_iter().map(|t| self.follow_ticket(tc, t));
        for r in futures_util::future::join_all(runs).await {
            summary.add(r?);
        }
        Ok(summary)
    }

    /// Follows this carrier's tickets that were open when the daemon stopped.
    pub async fn resume_tickets(&self) -> Result<PollSummary, StoreError> {
        let Some(tc) = self.carrier.tickets() else {
            return Ok(PollSummary::default());
        };
        let id = self.carrier.id();
        let open = self.store.open_tickets(id).await?;
        if !open.is_empty() {
            tracing::info!(
                carrier = id.as_str(),
                tickets = open.len(),
                "Resuming batch tickets"
            );
        }
        let runs = open.into_iter().map(|t| self.follow_ticket(tc, t));
        let mut summary = PollSummary::default();
        for r in futures_util::future::join_all(runs).await {
            summary.add(r?);
        }
        Ok(summary)
    }

    /// Saves a ticket's next ask, durably: after a crash the carrier is not asked sooner.
    async fn save_ticket(&self, t: &Ticket) -> Result<(), StoreError> {
        self.store.update_ticket(t).await?;
        self.store.flush().await.map(|_| ())
    }

    async fn close_ticket(&self, t: &Ticket) -> Result<(), StoreError> {
        let c = t.carrier;
        let started = std::time::Instant::now();
        self.store.close_ticket(c, &t.id).await?;
        super::stages::record(c, Stage::Store, started.elapsed());
        Ok(())
    }

    /// Fails every parcel of a ticket that will not be answered. They are retried together
    /// (one backoff for all), so that they go into one new ticket.
    async fn drop_ticket(&self, t: &Ticket, e: CarrierError) -> Result<PollSummary, StoreError> {
        let mut summary = PollSummary::default();
        if e.stops_carrier() {
            for item in &t.items {
                summary.add(self.failed(&item.parcel(), e.clone()).await?);
            }
        } else {
            let at = self.clock.now()
                + backoff(
                    1,
                    self.settings.retry_base,
                    self.settings.retry_cap,
                    random(),
                );
            tracing::warn!(carrier = self.carrier.id().as_str(), ticket = %t.id, error = %e, retry_at = %at, "Batch ticket dropped");
            for item in &t.items {
                self.fail(&item.parcel(), &e.to_string(), Some(at)).await?;
                summary.polled += 1;
                summary.failed += 1;
            }
        }
        self.close_ticket(t).await?;
        Ok(summary)
    }

    /// Waits for a ticket's answer and applies it. Returns early, leaving the ticket in the
    /// store, when the daemon drains.
    async fn follow_ticket(
        &self,
        tc: &dyn TicketCarrier,
        mut t: Ticket,
    ) -> Result<PollSummary, StoreError> {
        let qs = queries(&t);
        let lifetime = tc.ticket_lifetime();
        let mut failures = 0u32;
        loop {
            let now = self.clock.now();
            let wait = Duration::try_from(t.ask_at.duration_since(now)).unwrap_or(Duration::ZERO);
            if !wait.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.cancel.cancelled() => return Ok(PollSummary::default()),
                }
            }
            let now = self.clock.now();
            if now > t.issued_at + lifetime {
                return self
                    .drop_ticket(
                        &t,
                        CarrierError::Transient(format!("ticket {} expired unanswered", t.id)),
                    )
                    .await;
            }
            if let Some(until) = self.paused_until(now) {
                t.ask_at = until;
                self.save_ticket(&t).await?;
                continue;
            }
            let slot = self.slots.acquire().await;
            let answer = tokio::time::timeout(
                self.settings.timeout * 4,
                tc.collect(&t.id, &qs, &self.gate),
            )
            .await
            .unwrap_or_else(|_| Err(CarrierError::Transient("no answer in time".into())));
            drop(slot);
            t.asks += 1;
            match answer {
                Ok(Collected::NotReady) => {
                    failures = 0;
                    t.ask_at = self.clock.now() + tc.ticket_wait();
                    tracing::debug!(ticket = %t.id, ask_at = %t.ask_at, "Batch answer not ready yet");
                    self.save_ticket(&t).await?;
                }
                Ok(Collected::Gone(why)) => {
                    tracing::warn!(carrier = self.carrier.id().as_str(), ticket = %t.id, reason = %why, "The carrier dropped a batch ticket; its parcels are asked about again");
                    return self.drop_ticket(&t, CarrierError::Transient(why)).await;
                }
                Ok(Collected::Ready(answers)) => return self.apply_ticket(&t, answers).await,
                Err(e) if e.stops_carrier() => {
                    let until = self.pause(&e, self.clock.now()).await?;
                    t.ask_at = until;
                    self.save_ticket(&t).await?;
                }
                Err(e @ CarrierError::Permanent(_)) => return self.drop_ticket(&t, e).await,
                Err(e) => {
                    failures += 1;
                    let delay = backoff(
                        failures,
                        self.settings.retry_base,
                        self.settings.retry_cap,
                        random(),
                    )
                    .max(tc.ticket_wait().min(self.settings.retry_base));
                    t.ask_at = self.clock.now() + delay;
                    tracing::warn!(carrier = self.carrier.id().as_str(), ticket = %t.id, error = %e, ask_at = %t.ask_at, "Asking for a batch answer failed");
                    let now_err = self.clock.now();
                    self.health.carrier(self.carrier.id(), |s| {
                        s.last_error = Some(e.to_string());
                        s.last_error_at = Some(now_err);
                    });
                    self.save_ticket(&t).await?;
                }
            }
        }
    }

    async fn apply_ticket(
        &self,
        t: &Ticket,
        answers: Vec<Result<TrackReport, CarrierError>>,
    ) -> Result<PollSummary, StoreError> {
        if answers.len() != t.items.len() {
            let e = CarrierError::Transient(format!(
                "the batch answer has {} items for {} numbers",
                answers.len(),
                t.items.len()
            ));
            return self.drop_ticket(t, e).await;
        }
        let answers = t
            .items
            .iter()
            .zip(answers)
            .map(|(item, result)| Answer {
                parcel: item.parcel(),
                result,
            })
            .collect();
        let summary = self.settle_all(answers).await?;
        self.close_ticket(t).await?;
        tracing::info!(carrier = self.carrier.id().as_str(), ticket = %t.id, parcels = t.items.len(), changed = summary.changed, "Batch answer applied");
        Ok(summary)
    }
}
