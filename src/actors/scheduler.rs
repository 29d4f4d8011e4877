//! The scheduler: sleeps until the next due time in the store, then hands due polls to the
//! carriers' pollers (leasing them in the store so they are not handed out twice) and due
//! reminders to the reminder timer ([`super::dispatch`] decides what). It re-arms itself with
//! `notify_later`; there are no free-running intervals. Each poller gets a bounded amount of
//! work at a time, so a night with a million due parcels does not pile up in memory. A
//! carrier's parcels go to the poller that polls them (EMS parcels to Russian Post's).

use super::dispatch::{Allowance, lease, plan};
use super::poller::{PollParcels, Poller};
use super::reminder::{FireReminders, ReminderTimer};
use super::{Drain, Ping, Services, Wake, sleep_for};
use crate::carriers::poll::PollSummary;
use crate::domain::carrier::CarrierId;
use crate::domain::shop::ShopId;
use crate::store::{DueItem, DueKind, StoreError};
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
#[rtype(result = "Result<PollSummary, String>")]
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
    inflight: HashMap<CarrierId, usize>,
    timer: Option<SpawnHandle>,
    ticking: bool,
    tick_again: bool,
    draining: bool,
    restarts: u32,
}

fn lease_for(svc: &Services, carrier: CarrierId) -> Duration {
    let timeout = svc
        .settings
        .polling_for(carrier)
        .map_or(Duration::from_secs(60), |c| c.timeout);
    (timeout * 4).max(Duration::from_secs(900))
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
    ) -> Self {
        Scheduler {
            svc,
            pollers,
            reminders,
            inflight: HashMap::new(),
            timer: None,
            ticking: false,
            tick_again: false,
            draining: false,
            restarts: 0,
        }
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
                        lease_until: now + lease_for(&self.svc, c),
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
        self.ticking = false;
        self.tick_again = false;
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
        if self.draining {
            return;
        }
        if self.ticking {
            self.tick_again = true;
            return;
        }
        self.ticking = true;
        self.tick_again = false;
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
                    act.ticking = false;
                    if more || act.tick_again {
                        act.tick_again = false;
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
        self.draining = true;
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        tracing::info!("Scheduler stopped dispatching");
    }
}

impl Handler<PollNow> for Scheduler {
    type Result = ResponseActFuture<Self, Result<PollSummary, String>>;

    fn handle(&mut self, msg: PollNow, _: &mut Self::Context) -> Self::Result {
        let now = self.svc.clock.now();
        let store = self.svc.store.clone();
        let routes = routes(&self.svc);
        let leases: HashMap<CarrierId, Timestamp> = routes
            .iter()
            .filter(|(_, p)| self.pollers.contains_key(p))
            .map(|(&c, _)| (c, now + lease_for(&self.svc, c)))
            .collect();
        let pollers = self.pollers.clone();
        let draining = self.draining;
        Box::pin(
            async move {
                if draining {
                    return Err("the daemon is shutting down".to_string());
                }
                let (grouped, busy) = store
                    .in_one_step(move |st| {
                        let mut grouped: BTreeMap<CarrierId, Vec<DueItem>> = BTreeMap::new();
                        if msg.all {
                            let live =
                                st.lease_live(msg.shop.as_ref(), |c| leases.get(&c).copied())?;
                            for item in live.leased {
                                if let Some(&poller) = routes.get(&item.carrier) {
                                    grouped.entry(poller).or_default().push(item);
                                }
                            }
                            return Ok::<_, StoreError>((grouped, live.busy));
                        }
                        // Due polls by poller, leased in chunks: a carrier's lease is its poller's.
                        let mut due: BTreeMap<CarrierId, (Timestamp, Vec<DueItem>)> =
                            BTreeMap::new();
                        for item in st.due_items(now, usize::MAX)? {
                            if item.kind != DueKind::Poll
                                || msg.shop.as_ref().is_some_and(|s| s != &item.parcel.shop)
                            {
                                continue;
                            }
                            let (Some(&until), Some(&poller)) =
                                (leases.get(&item.carrier), routes.get(&item.carrier))
                            else {
                                continue;
                            };
                            due.entry(poller)
                                .or_insert_with(|| (until, Vec::new()))
                                .1
                                .push(item);
                        }
                        for (poller, (until, items)) in due {
                            let leased = lease(st, &items, until)?;
                            if !leased.is_empty() {
                                grouped.insert(poller, leased);
                            }
                        }
                        Ok((grouped, Vec::new()))
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let mut total = PollSummary::default();
                let sends = grouped.into_iter().filter_map(|(carrier, items)| {
                    pollers.get(&carrier).map(|p| p.send(PollParcels { items }))
                });
                for r in futures_util::future::join_all(sends).await {
                    match r {
                        Ok(Ok(s)) => total.add(s),
                        Ok(Err(e)) => return Err(e),
                        Err(e) => return Err(format!("a poller is not running: {e}")),
                    }
                }
                // Polls the scheduler had in flight already: answer once they are done too.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
                for parcel in busy {
                    loop {
                        let leased = store.is_leased(&parcel).await.map_err(|e| e.to_string())?;
                        if !leased || tokio::time::Instant::now() > deadline {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    total.polled += 1;
                }
                Ok(total)
            }
            .into_actor(self)
            .map(|res, _act, ctx| {
                ctx.notify(Tick);
                res
            }),
        )
    }
}
