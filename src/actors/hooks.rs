//! The webhook sender: delivers due webhooks whenever it is woken (a transaction made one
//! due) or its timer fires (the next retry or stuck timer), one drain at a time, and fires the
//! stuck timers. On start it first puts back what was in hand when the daemon stopped.

use super::{Drain, InFlight, Ping, Services, Wake, sleep_for};
use crate::webhooks::address::Policy;
use crate::webhooks::deliver::{self, HookContext};
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Tick;

/// Where the sender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for its timer or a wake-up.
    Idle,
    /// Draining; `again`: woken meanwhile, drain once more.
    Running { again: bool },
    /// Shutting down: no new drains.
    Stopping,
}

/// The webhook sender actor.
pub struct HookSender {
    svc: Arc<Services>,
    ctx: HookContext,
    state: State,
    recovered: bool,
    timer: Option<SpawnHandle>,
    inflight: InFlight,
    restarts: u32,
}

impl HookSender {
    /// A webhook sender; fails if the HTTP client cannot be built.
    pub fn new(svc: Arc<Services>) -> Result<Self, deliver::ClientError> {
        let settings = Arc::new(svc.settings.webhooks.clone());
        let policy = Arc::new(Policy::of(&settings));
        let client = deliver::client(&settings, policy.clone())?;
        let ctx = HookContext {
            store: svc.store.clone(),
            committer: svc.committer.clone(),
            clock: svc.clock.clone(),
            rules: svc.settings.rules.clone(),
            settings,
            policy,
            client,
        };
        Ok(HookSender {
            svc,
            ctx,
            state: State::Idle,
            recovered: false,
            timer: None,
            inflight: InFlight::default(),
            restarts: 0,
        })
    }

    fn arm(&mut self, ctx: &mut Context<Self>, next: Option<jiff::Timestamp>) {
        let delay = sleep_for(self.svc.clock.now(), next, Duration::from_millis(200));
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        self.timer = Some(ctx.notify_later(Tick, delay));
    }
}

impl Actor for HookSender {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let delay = Duration::from_millis(u64::from(self.restarts.min(30)) * 1000);
        self.timer = Some(ctx.notify_later(Tick, delay));
        let mut bell = self.svc.store.hook_changes();
        let me = ctx.address();
        ctx.spawn(
            async move {
                while bell.changed().await.is_ok() {
                    me.do_send(Wake);
                }
            }
            .into_actor(self),
        );
        tracing::info!(
            concurrency = self.ctx.settings.concurrency,
            "Webhook sender started"
        );
    }
}

impl Supervised for HookSender {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.restarts += 1;
        self.state = State::Idle;
        self.recovered = false;
        self.timer = None;
        tracing::warn!(
            restarts = self.restarts,
            "Webhook sender restarting; recovering from the store"
        );
    }
}

impl Handler<Tick> for HookSender {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        match self.state {
            State::Stopping => return,
            State::Running { .. } => {
                self.state = State::Running { again: true };
                return;
            }
            State::Idle => self.state = State::Running { again: false },
        }
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let hooks = self.ctx.clone();
        let recover = !self.recovered;
        let guard = self.inflight.enter();
        let work = async move {
            if recover {
                hooks.recover().await?;
            }
            hooks.fire_stuck().await?;
            let summary = hooks.drain().await?;
            let next = hooks.next_at().await?;
            drop(guard);
            Ok::<_, crate::store::StoreError>((summary, next))
        };
        ctx.spawn(work.into_actor(self).map(|res, act, ctx| {
            let again = matches!(act.state, State::Running { again: true });
            if act.state != State::Stopping {
                act.state = State::Idle;
            }
            match res {
                Ok((summary, next)) => {
                    act.recovered = true;
                    act.svc.health.store_ok();
                    if summary.delivered + summary.retried + summary.dead > 0 {
                        tracing::debug!(
                            delivered = summary.delivered,
                            retried = summary.retried,
                            dead = summary.dead,
                            "Webhooks drained"
                        );
                    }
                    if act.state == State::Stopping {
                    } else if again {
                        ctx.notify(Tick);
                    } else {
                        act.arm(ctx, next);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "Webhook sender cannot use the store; restarting");
                    act.svc
                        .health
                        .store_failed(act.svc.clock.now(), e.to_string());
                    ctx.stop();
                }
            }
        }));
    }
}

impl Handler<Wake> for HookSender {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        ctx.notify(Tick);
    }
}

impl Handler<Ping> for HookSender {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Self::Context) {}
}

impl Handler<Drain> for HookSender {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Self::Context) -> Self::Result {
        self.state = State::Stopping;
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let inflight = self.inflight.clone();
        Box::pin(async move { inflight.idle().await })
    }
}
