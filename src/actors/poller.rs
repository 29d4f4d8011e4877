//! A carrier's poller: receives batches of due parcels from the scheduler and runs the shared
//! poll loop ([`crate::carriers::poll`]) with the carrier's rate limiter and concurrency cap.

use super::{Drain, InFlight, Ping, Services};
use crate::carriers::Carrier;
use crate::carriers::poll::{PollContext, PollError, PollSummary};
use crate::config::PollingSettings;
use crate::store::DueItem;
use actix::prelude::*;
use std::sync::Arc;

/// Poll these parcels.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<PollSummary, PollError>")]
pub struct PollParcels {
    /// Due items of this poller's carrier (leased by the scheduler).
    pub items: Vec<DueItem>,
}

/// The poller actor.
pub struct Poller {
    svc: Arc<Services>,
    poll: PollContext,
    inflight: InFlight,
}

impl Poller {
    /// A poller for one carrier.
    pub fn new(svc: Arc<Services>, carrier: Arc<dyn Carrier>, settings: PollingSettings) -> Self {
        let poll = PollContext::new(
            svc.store.clone(),
            svc.clock.clone(),
            svc.health.clone(),
            &svc.settings,
            carrier,
            settings,
        );
        Poller {
            svc,
            poll,
            inflight: InFlight::default(),
        }
    }
}

impl Actor for Poller {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        tracing::info!(carrier = self.poll.carrier.id().as_str(), rate = %self.poll.settings.rate, window = %self.poll.settings.window, daily_limit = ?self.poll.settings.daily_limit, "Poller started");
        if self.poll.carrier.tickets().is_some() {
            // Batch tickets that were open when the daemon stopped: wait for their answers.
            let poll = self.poll.clone();
            let guard = self.inflight.enter();
            ctx.spawn(
                async move {
                    let r = poll.resume_tickets().await;
                    drop(guard);
                    r
                }
                .into_actor(self)
                .map(|res, act, ctx| {
                    if let Err(e) = res {
                        tracing::error!(carrier = act.poll.carrier.id().as_str(), error = %e, "Cannot resume batch tickets; restarting");
                        act.svc.health.store_failed(act.svc.clock.now(), e.to_string());
                        ctx.stop();
                    } else {
                        act.svc.notifier.wake_senders();
                    }
                }),
            );
        }
    }
}

impl Supervised for Poller {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!(
            carrier = self.poll.carrier.id().as_str(),
            "Poller restarting"
        );
    }
}

impl Handler<PollParcels> for Poller {
    type Result = ResponseActFuture<Self, Result<PollSummary, PollError>>;

    fn handle(&mut self, msg: PollParcels, _: &mut Self::Context) -> Self::Result {
        let poll = self.poll.clone();
        let guard = self.inflight.enter();
        Box::pin(
            async move {
                let r = poll.poll(msg.items).await;
                drop(guard);
                r
            }
            .into_actor(self)
            .map(|res, act, ctx| match res {
                Ok(summary) => {
                    act.svc.health.store_ok();
                    if summary.messages > 0 {
                        act.svc.notifier.wake_senders();
                    }
                    Ok(summary)
                }
                Err(e) => {
                    tracing::error!(carrier = act.poll.carrier.id().as_str(), error = %e, "Poller cannot write to the store; restarting");
                    act.svc.health.store_failed(act.svc.clock.now(), e.to_string());
                    ctx.stop();
                    Err(e.into())
                }
            }),
        )
    }
}

impl Handler<Ping> for Poller {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Self::Context) {}
}

impl Handler<Drain> for Poller {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, _: &mut Self::Context) -> Self::Result {
        // Waits for batch answers end here; their tickets stay in the store.
        self.poll.cancel.cancel();
        let inflight = self.inflight.clone();
        Box::pin(async move { inflight.idle().await })
    }
}
