//! The watchdog: when systemd asks for keep-alive pings (`WatchdogSec=`), sends a `Ping` through
//! the scheduler's, pollers' and senders' mailboxes at half the interval and tells systemd
//! `WATCHDOG=1` only when every one of them answered. A wedged actor therefore gets the process
//! restarted.

use super::Ping;
use actix::prelude::*;
use std::time::Duration;

/// Who must answer.
pub struct Targets {
    /// The scheduler.
    pub scheduler: Recipient<Ping>,
    /// Pollers and senders.
    pub others: Vec<Recipient<Ping>>,
}

/// The watchdog actor.
pub struct Watchdog {
    targets: Targets,
    interval: Duration,
}

impl Watchdog {
    /// A watchdog for systemd's `interval`.
    pub fn new(targets: Targets, interval: Duration) -> Self {
        Watchdog { targets, interval }
    }
}

impl Actor for Watchdog {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let every = self.interval / 2;
        tracing::info!(interval = ?self.interval, "systemd watchdog enabled");
        ctx.run_interval(every, move |act, ctx| {
            let answers: Vec<_> = std::iter::once(&act.targets.scheduler)
                .chain(act.targets.others.iter())
                .map(|r| r.send(Ping))
                .collect();
            let deadline = every;
            ctx.spawn(
                async move {
                    let all = futures_util::future::join_all(answers);
                    matches!(tokio::time::timeout(deadline, all).await, Ok(v) if v.iter().all(Result::is_ok))
                }
                .into_actor(act)
                .map(|alive, _, _| {
                    if alive {
                        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                    } else {
                        tracing::error!("An actor did not answer the watchdog's ping; not telling systemd we are alive");
                    }
                }),
            );
        });
    }
}
