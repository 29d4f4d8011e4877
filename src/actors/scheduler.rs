//! The scheduler: sleeps until the next due time in the store, then hands due polls to the
//! carriers' pollers (leasing them in the store so they are not handed out twice) and due
//! reminders to the reminder timer ([`super::dispatch`] decides what). It re-arms itself with
//! `notify_later`; there are no free-running intervals. Each poller gets a bounded amount of
//! work at a time, so a night with a million due parcels does not pile up in memory. A
//! carrier's parcels go to the poller that polls them (EMS parcels to Russian Post's).

use super::dispatch::{Allowance, plan};
use super::poller::{PollParcels, Poller};
use super::reminder::{FireReminders, ReminderTimer};
use super::{Drain, Ping, Services, Wake, sleep_for};
use crate::carriers::poll::now::{PollNowAsk, Routes, poll_now};
use crate::carriers::poll::{PollError, PollSummary};
use crate::domain::carrier::CarrierId;
use crate::domain::shop::ShopId;
use crate::store::DueItem;
use actix::prelude::*;
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Internal: look at the due queue now.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Tick;

/// Poll now (an operator's request): everything due, or every live parcel with `all`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<PollSummary, PollError>")]
pub struct PollNow {
    /// Only this shop's parcels.
    pub shop: Option<ShopId>,
    /// Every live parcel, not only those due.
    pub all: bool,
}

/// The scheduler actor.
pub struct Scheduler {
    svc: Arc<Services>,
    pollers: BTreeMap<CarrierId, Addr<Poller>>,
    reminders: Addr<ReminderTimer>,
    /// For the carriers that answer in tickets: how long a ticket may hold its parcels.
    ticket_holds: BTreeMap<CarrierId, Duration>,
    inflight: HashMap<CarrierId, usize>,
    timer: Option<SpawnHandle>,
    state: State,
    restarts: u32,
}

/// Where the scheduler is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for its timer, a wake-up or a poller that finished.
    Idle,
    /// A tick is deciding and handing out work; `again` when something woke it meanwhile.
    Ticking {
        /// Look again as soon as this tick is done.
        again: bool,
    },
    /// Draining for shutdown: it hands out nothing more.
    Stopping,
}

/// How long dispatched parcels are leased to their poller: if the poller never answers for them
/// (it failed), they come due again then. Parcels of a carrier that answers in batch tickets
/// (`ticket_hold`: how long a ticket may hold them, [`TicketCarrier::ticket_hold`]) are leased
/// for the time to fill a ticket, its whole life and an hour more to issue it, so that the
/// ticket finds them leased long enough and only names itself on their leases instead of
/// writing each parcel again (a sixth of a nightly cycle's store writes; BENCHMARKS.md).
///
/// [`TicketCarrier::ticket_hold`]: crate::carriers::TicketCarrier::ticket_hold
fn lease_for(svc: &Services, carrier: CarrierId, ticket_hold: Option<Duration>) -> Duration {
    let polling = svc.settings.polling_for(carrier);
    let timeout = polling.map_or(Duration::from_secs(60), |c| c.timeout);
    let lease = (timeout * 4).max(Duration::from_secs(900));
    match (polling.and_then(|p| p.tickets), ticket_hold) {
        (Some(gather), Some(hold)) => lease.max(gather + hold + Duration::from_secs(3600)),
        _ => lease,
    }
}

fn cap_for(svc: &Services, carrier: CarrierId) -> usize {
    svc.settings.polling_for(carrier).map_or(100, |c| {
        if c.tickets.is_some() {
            // A few tickets' worth: they wait for their answers without holding a slot.
            (c.batch_size * 4).clamp(100, 12_000)
        } else {
            (c.concurrency * 100).clamp(100, 5_000)
        }
    })
}

/// The poller (by its carrier) that polls each carrier's parcels: its own, or Russian Post's for
/// EMS.
fn routes(svc: &Services) -> HashMap<CarrierId, CarrierId> {
    CarrierId::ALL
        .into_iter()
        .filter_map(|c| svc.settings.polling_for(c).map(|p| (c, p.carrier)))
        .collect()
}

impl Scheduler {
    /// A scheduler over these pollers and reminder timer.
    pub fn new(
        svc: Arc<Services>,
        pollers: BTreeMap<CarrierId, Addr<Poller>>,
        reminders: Addr<ReminderTimer>,
        ticket_holds: BTreeMap<CarrierId, Duration>,
    ) -> Self {
        Scheduler {
            svc,
            pollers,
            reminders,
            ticket_holds,
            inflight: HashMap::new(),
            timer: None,
            state: State::Idle,
            restarts: 0,
        }
    }

    fn lease_for(&self, carrier: CarrierId) -> Duration {
        lease_for(&self.svc, carrier, self.ticket_holds.get(&carrier).copied())
    }

    fn allowances(&self, now: Timestamp) -> HashMap<CarrierId, Allowance> {
        self.pollers
            .keys()
            .map(|&c| {
                let used = self.inflight.get(&c).copied().unwrap_or(0);
                let cap = cap_for(&self.svc, c);
                let polling = self.svc.settings.polling_for(c);
                let gather = polling.and_then(|p| p.tickets.map(|g| (p.batch_size, g)));
                (
                    c,
                    Allowance {
                        room: cap.saturating_sub(used),
                        lease_until: now + self.lease_for(c),
                        // A ticket per message; otherwise two messages at least, so that the
                        // poller has the second while the next is leased.
                        chunk: gather.map_or((cap / 2).max(1), |(size, _)| size),
                        gather,
                    },
                )
            })
            .collect()
    }

    fn dispatch_polls(
        &mut self,
        polls: BTreeMap<CarrierId, Vec<Vec<DueItem>>>,
        ctx: &mut Context<Self>,
    ) {
        for (carrier, items) in polls
            .into_iter()
            .flat_map(|(c, msgs)| msgs.into_iter().map(move |m| (c, m)))
        {
            let Some(addr) = self.pollers.get(&carrier).cloned() else {
                continue;
            };
            let n = items.len();
            *self.inflight.entry(carrier).or_default() += n;
            ctx.spawn(addr.send(PollParcels { items }).into_actor(self).map(
                move |res, act, ctx| {
                    let left = act.inflight.entry(carrier).or_default();
                    *left = left.saturating_sub(n);
                    if let Ok(Err(e)) = res {
                        tracing::error!(carrier = carrier.as_str(), error = %e, "Polling failed");
                    }
                    ctx.notify(Tick);
                },
            ));
        }
    }

    fn arm(&mut self, ctx: &mut Context<Self>, wake_at: Option<Timestamp>) {
        // Due now but held back (a poller is full): its completion wakes us too.
        let delay = sleep_for(self.svc.clock.now(), wake_at, Duration::from_secs(1));
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        self.timer = Some(ctx.notify_later(Tick, delay));
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // After a restart caused by a store failure, give the disk a moment.
        let delay = Duration::from_millis(u64::from(self.restarts.min(30)) * 1000);
        self.timer = Some(ctx.notify_later(Tick, delay));
        tracing::debug!(pollers = self.pollers.len(), "Scheduler started");
    }
}

impl Supervised for Scheduler {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.restarts += 1;
        self.state = State::Idle;
        self.timer = None;
        self.inflight.clear();
        tracing::warn!(
            restarts = self.restarts,
            "Scheduler restarting; reloading the due queue from the store"
        );
    }
}

impl Handler<Tick> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        match self.state {
            State::Stopping => return,
            State::Ticking { .. } => {
                self.state = State::Ticking { again: true };
                return;
            }
            State::Idle => self.state = State::Ticking { again: false },
        }
        let store = self.svc.store.clone();
        let now = self.svc.clock.now();
        let allowances = self.allowances(now);
        let routes = routes(&self.svc);
        let fut = async move {
            store
                .in_one_step(move |s| plan(s, now, &allowances, &routes))
                .await
        };
        ctx.spawn(fut.into_actor(self).then(|res, act, ctx| {
            let d = match res {
                Ok(d) => {
                    act.svc.health.store_ok();
                    d
                }
                Err(e) => {
                    tracing::error!(error = %e, "Scheduler cannot read the due queue; restarting");
                    act.svc
                        .health
                        .store_failed(act.svc.clock.now(), e.to_string());
                    ctx.stop();
                    return fut::ready(()).boxed_local();
                }
            };
            act.dispatch_polls(d.polls, ctx);
            let more = d.more;
            let wake_at = d.wake_at;
            let reminders = d.reminders;
            let fired = !reminders.is_empty();
            let fire = act.reminders.send(FireReminders { items: reminders });
            fire.into_actor(act)
                .map(move |res, act, ctx| {
                    if let Ok(Err(e)) = res {
                        tracing::error!(error = %e, "Reminders failed");
                    }
                    let again = match act.state {
                        State::Stopping => return,
                        State::Ticking { again } => again,
                        State::Idle => false,
                    };
                    act.state = State::Idle;
                    if more || again {
                        ctx.notify(Tick);
                    } else if fired {
                        // Its next due time is in the store now: look again in a moment.
                        let now = act.svc.clock.now();
                        act.arm(ctx, Some(now));
                    } else {
                        act.arm(ctx, wake_at);
                    }
                })
                .boxed_local()
        }));
    }
}

impl Handler<Wake> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        ctx.notify(Tick);
    }
}

impl Handler<Ping> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Self::Context) {}
}

impl Handler<Drain> for Scheduler {
    type Result = ();

    fn handle(&mut self, _: Drain, ctx: &mut Self::Context) {
        self.state = State::Stopping;
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        tracing::info!("Scheduler stopped dispatching");
    }
}

impl Handler<PollNow> for Scheduler {
    type Result = ResponseActFuture<Self, Result<PollSummary, PollError>>;

    fn handle(&mut self, msg: PollNow, _: &mut Self::Context) -> Self::Result {
        let now = self.svc.clock.now();
        let store = self.svc.store.clone();
        let pollers = routes(&self.svc);
        let leases = pollers
            .iter()
            .filter(|(_, p)| self.pollers.contains_key(p))
            .map(|(&c, _)| (c, now + self.lease_for(c)))
            .collect();
        let addrs = self.pollers.clone();
        let stopping = self.state == State::Stopping;
        let ask = PollNowAsk {
            shop: msg.shop,
            all: msg.all,
        };
        Box::pin(
            async move {
                if stopping {
                    return Err(PollError::ShuttingDown);
                }
                let routes = Routes { pollers, leases };
                // Polls the scheduler had in flight already are waited for two minutes at most.
                let wait = Duration::from_secs(120);
                poll_now(&store, ask, now, routes, wait, |poller, items| {
                    let addr = addrs.get(&poller).cloned();
                    async move {
                        match addr {
                            Some(a) => a
                                .send(PollParcels { items })
                                .await
                                .map_err(|e| PollError::PollerGone(e.to_string()))?,
                            None => Ok(PollSummary::default()),
                        }
                    }
                })
                .await
            }
            .into_actor(self)
            .map(|res, _act, ctx| {
                ctx.notify(Tick);
                res
            }),
        )
    }
}
