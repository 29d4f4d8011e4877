//! A channel's sender: runs a round of its channel ([`crate::notify::round`]: send what is due,
//! ask for the delivery reports that are due) whenever it is woken (new messages) or its timer
//! fires (the next pending message's or delivery report's time), one round at a time. The
//! first round after a start first recovers messages that were in hand when the daemon
//! stopped.

use super::{Drain, InFlight, Ping, Services, Wake, sleep_for};
use crate::domain::notification::Channel;
use crate::domain::outbox::{ReportPolicy, RetryPolicy};
use crate::notify::Transport;
use crate::notify::deliver::{SendContext, limiter, wave_size};
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Tick;

/// The sender actor.
pub struct Sender {
    svc: Arc<Services>,
    send: SendContext,
    state: State,
    timer: Option<SpawnHandle>,
    inflight: InFlight,
    restarts: u32,
}

/// Where a sender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Started or restarted: the next round first recovers what was in hand.
    Fresh,
    /// Waiting for its timer or a wake-up.
    Idle,
    /// A round is draining the outbox; `again` when woken meanwhile.
    Draining {
        /// Run another round as soon as this one is done.
        again: bool,
    },
    /// Draining for shutdown: no more rounds.
    Stopping,
}

impl Sender {
    /// A sender for the transport's channel.
    pub fn new(svc: Arc<Services>, transport: Arc<dyn Transport>) -> Self {
        let n = &svc.settings.notify;
        let rate = match transport.channel() {
            Channel::Sms => svc.settings.sms.as_ref().map(|s| s.rate),
            Channel::Email => svc.settings.email.as_ref().map(|e| e.rate),
        }
        .unwrap_or(crate::config::Rate {
            count: std::num::NonZeroU32::MIN,
            per: Duration::from_secs(1),
        });
        let wave = wave_size(rate.per_second(), n.concurrency);
        let send = SendContext {
            store: svc.store.clone(),
            committer: svc.committer.clone(),
            clock: svc.clock.clone(),
            transport,
            templates: svc.templates.clone(),
            limiter: Arc::new(limiter(rate.quota(), wave)),
            wave,
            slots: Arc::new(Semaphore::new(n.concurrency)),
            policy: RetryPolicy {
                max_attempts: n.max_attempts,
                base: n.retry_base,
                cap: n.retry_cap,
            },
            timeout: n.send_timeout,
            health: svc.health.clone(),
            links: svc.links.clone(),
            window: n.send_window,
            reports: match &svc.settings.sms {
                Some(s) => ReportPolicy {
                    every: s.status_every,
                    give_up_after: s.status_for,
                },
                None => ReportPolicy {
                    every: Duration::from_secs(300),
                    give_up_after: Duration::from_secs(2 * 86_400),
                },
            },
        };
        Sender {
            svc,
            send,
            state: State::Fresh,
            timer: None,
            inflight: InFlight::default(),
            restarts: 0,
        }
    }

    fn channel(&self) -> Channel {
        self.send.transport.channel()
    }

    fn arm(&mut self, ctx: &mut Context<Self>, next: Option<jiff::Timestamp>) {
        let delay = sleep_for(self.svc.clock.now(), next, Duration::from_millis(200));
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        self.timer = Some(ctx.notify_later(Tick, delay));
    }

    fn failed(&mut self, ctx: &mut Context<Self>, e: crate::store::StoreError) {
        tracing::error!(channel = self.channel().as_str(), error = %e, "Sender cannot use the store; restarting");
        self.svc
            .health
            .store_failed(self.svc.clock.now(), e.to_string());
        ctx.stop();
    }
}

impl Actor for Sender {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let delay = Duration::from_millis(u64::from(self.restarts.min(30)) * 1000);
        self.timer = Some(ctx.notify_later(Tick, delay));
        // A message queued anywhere (a poll's answer applied, a reminder, a push) goes at once,
        // not at the next timer: the store rings after each commit that queued one.
        let mut bell = self.svc.store.outbox_changes();
        let me = ctx.address();
        ctx.spawn(
            async move {
                while bell.changed().await.is_ok() {
                    me.do_send(Wake);
                }
            }
            .into_actor(self),
        );
        let ch = self.channel();
        self.svc
            .health
            .channel(ch, |s| s.transport = self.send.transport.name().to_string());
        tracing::info!(
            channel = ch.as_str(),
            transport = self.send.transport.name(),
            "Sender started"
        );
    }
}

impl Supervised for Sender {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.restarts += 1;
        self.state = State::Fresh;
        self.timer = None;
        tracing::warn!(
            channel = self.channel().as_str(),
            restarts = self.restarts,
            "Sender restarting; recovering from the store"
        );
    }
}

impl Handler<Tick> for Sender {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        let recover = match self.state {
            State::Stopping => return,
            State::Draining { .. } => {
                self.state = State::Draining { again: true };
                return;
            }
            State::Fresh => true,
            State::Idle => false,
        };
        self.state = State::Draining { again: false };
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let send = self.send.clone();
        let guard = self.inflight.enter();
        let work = async move {
            let round = send.round(recover).await;
            drop(guard);
            round
        };
        ctx.spawn(work.into_actor(self).map(move |res, act, ctx| {
            // Draining for shutdown since the round began: it stays so, nothing is armed.
            let stopping = act.state == State::Stopping;
            let again = act.state == State::Draining { again: true };
            match res {
                Ok(round) => {
                    if !stopping {
                        act.state = State::Idle;
                    }
                    act.svc.health.store_ok();
                    let summary = round.summary;
                    if summary.sent + summary.dead + summary.retried > 0 {
                        tracing::debug!(
                            channel = act.channel().as_str(),
                            sent = summary.sent,
                            retried = summary.retried,
                            dead = summary.dead,
                            "Outbox drained"
                        );
                    }
                    if stopping {
                        return;
                    }
                    if again {
                        ctx.notify(Tick);
                    } else {
                        act.arm(ctx, round.next);
                    }
                }
                Err(e) => {
                    if !stopping {
                        // A round that failed to recover recovers again.
                        act.state = if recover { State::Fresh } else { State::Idle };
                    }
                    act.failed(ctx, e)
                }
            }
        }));
    }
}

impl Handler<Wake> for Sender {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        ctx.notify(Tick);
    }
}

impl Handler<Ping> for Sender {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Self::Context) {}
}

impl Handler<Drain> for Sender {
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
