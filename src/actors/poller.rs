//! A carrier's poller: receives batches of due parcels from the scheduler and runs the shared
//! poll loop ([`crate::carriers::poll`]) with the carrier's rate limiter and concurrency cap.

use super::{Drain, InFlight, Ping, Services};
use crate::carriers::Carrier;
use crate::carriers::poll::{PollContext, PollSummary};
use crate::config::PollingSettings;
use crate::store::DueItem;
use actix::prelude::*;
use governor::RateLimiter;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Poll these parcels.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<PollSummary, String>")]
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
        let poll = PollContext {
            store: svc.store.clone(),
            clock: svc.clock.clone(),
            limiter: Arc::new(RateLimiter::direct(settings.rate.quota())),
            slots: Arc::new(Semaphore::new(settings.concurrency)),
            carrier,
            rules: svc.settings.rules.clone(),
            tz: svc.settings.daemon.timezone.clone(),
            send_window: svc.settings.notify.send_window,
            health: svc.health.clone(),
            settings,
        };
        Poller {
            svc,
            poll,
            inflight: InFlight::default(),
        }
    }
}

impl Actor for Poller {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        tracing::info!(carrier = self.poll.carrier.id().as_str(), rate = %self.poll.settings.rate, window = %self.poll.settings.window, "Poller started");
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
    type Result = ResponseActFuture<Self, Result<PollSummary, String>>;

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
                    Err(e.to_string())
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
        let inflight = self.inflight.clone();
        Box::pin(async move { inflight.idle().await })
    }
}
