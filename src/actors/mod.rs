//! The actors: thin actix shells that own mailboxes, timers and wiring; each handler calls one
//! plain function of an engine ([`crate::carriers::poll`], [`crate::notify`]) or the
//! [`crate::store`]. Their states are enums, and waiting for work to end is a signal.
//!
//! - [`scheduler::Scheduler`] wakes at the next due time in the store and hands due polls to the
//!   pollers and due reminders to the reminder timer ([`dispatch`] decides what); an operator's
//!   "poll now" is [`crate::carriers::poll::now::poll_now`];
//! - [`poller::Poller`], one per carrier, runs the poll engine
//!   ([`crate::carriers::poll::PollContext::poll`]);
//! - [`reminder::ReminderTimer`] fires reminders ([`crate::store::Store::fire_reminders`]);
//! - [`sender::Sender`], one per channel, runs rounds of the delivery engine
//!   ([`crate::notify::deliver::SendContext::round`]);
//! - [`hooks::HookSender`] delivers the shops' webhooks and fires their stuck timers
//!   ([`crate::webhooks::deliver::HookContext`]);
//! - [`reporter::Reporter`] mails the shops' morning reports;
//! - [`janitor::Janitor`] erases personal data past retention and finishes shop erasures;
//! - [`watchdog::Watchdog`] pings the others and tells systemd the daemon is alive.
//!
//! Every actor runs under an actix `Supervisor`. Handlers return errors as values; an actor that
//! cannot go on (the store failed) stops itself, and its supervisor restarts it, which reloads
//! its work from the store. A panic aborts the process (see [`crate::daemon`]) and systemd
//! restarts it. Nothing lives only in memory: the due queue, poll leases and the outbox are in
//! sled. Start and stop order are in [`start`] and [`Actors::shutdown`].

mod dispatch;
pub mod hooks;
pub mod janitor;
pub mod poller;
pub mod reminder;
pub mod reporter;
pub mod scheduler;
pub mod sender;
pub mod watchdog;

use crate::carriers::Carrier;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::carrier::CarrierId;
use crate::domain::notification::Channel;
use crate::domain::schedule::earliest;
use crate::health::Health;
use crate::notify::Transport;
use crate::notify::render::templates::Templates;
use crate::store::Store;
use actix::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What every actor shares.
pub struct Services {
    /// The store.
    pub store: Store,
    /// Group commit of the senders' claims and receipts.
    pub committer: crate::store::Committer,
    /// The clock.
    pub clock: Clock,
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The health board.
    pub health: Arc<Health>,
    /// Message templates.
    pub templates: Arc<Templates>,
    /// Wakes the senders when new messages are queued.
    pub notifier: Notifier,
    /// Signs unsubscribe and callback links.
    pub links: Arc<crate::notify::render::links::LinkSigner>,
    /// When the daemon started.
    pub started_at: jiff::Timestamp,
}

/// "There may be new work for you."
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Wake;

/// "Are you alive?" (the watchdog's heartbeat through the mailbox).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Ping;

/// "Stop taking new work and answer when what is in flight is done."
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Drain;

/// Wakes the senders.
#[derive(Default)]
pub struct Notifier {
    senders: OnceLock<Vec<Recipient<Wake>>>,
}

impl Notifier {
    /// Tells every sender to look at the outbox.
    pub fn wake_senders(&self) {
        for s in self.senders.get().into_iter().flatten() {
            s.do_send(Wake);
        }
    }
}

/// Counts work in flight, and lets shutdown wait until there is none.
#[derive(Debug, Default, Clone)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    idle: Arc<tokio::sync::Notify>,
}

/// Held while one piece of work is in flight.
pub struct InFlightGuard(InFlight);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl InFlight {
    /// Marks one piece of work as started.
    pub fn enter(&self) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.clone())
    }

    /// How much is in flight.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Resolves when nothing is in flight.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The longest an actor's timer sleeps without looking at the store.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// How long an actor's timer sleeps at `now` for work due at `next`: `due_now` when it is due
/// already, never longer than [`MAX_SLEEP`], and that long when nothing is due.
fn sleep_for(now: jiff::Timestamp, next: Option<jiff::Timestamp>, due_now: Duration) -> Duration {
    match next {
        None => MAX_SLEEP,
        Some(t) if t <= now => due_now,
        Some(t) => Duration::try_from(t.duration_since(now))
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP),
    }
}

/// The running actors.
pub struct Actors {
    /// The scheduler.
    pub scheduler: Addr<scheduler::Scheduler>,
    /// The pollers, by carrier (EMS parcels go to Russian Post's, see
    /// [`Settings::polling_for`](crate::config::Settings::polling_for)).
    pub pollers: BTreeMap<CarrierId, Addr<poller::Poller>>,
    /// The reminder timer.
    pub reminder: Addr<reminder::ReminderTimer>,
    /// The senders, by channel.
    pub senders: BTreeMap<Channel, Addr<sender::Sender>>,
    /// The webhook sender, when webhooks are enabled.
    pub hooks: Option<Addr<hooks::HookSender>>,
    /// The reporter.
    pub reporter: Addr<reporter::Reporter>,
    /// The janitor.
    pub janitor: Addr<janitor::Janitor>,
    /// The watchdog, when systemd asked for one.
    pub watchdog: Option<Addr<watchdog::Watchdog>>,
    arbiters: Vec<Arbiter>,
}

/// Starts every actor, senders first (so that nothing queued waits for them) and the scheduler
/// last (so that it has somewhere to send work).
pub async fn start(
    svc: Arc<Services>,
    carriers: Vec<Arc<dyn Carrier>>,
    transports: Vec<Arc<dyn Transport>>,
) -> Actors {
    let send_arbiter = Arbiter::new();
    let poll_arbiter = Arbiter::new();

    let mailer = transports
        .iter()
        .find(|t| t.channel() == Channel::Email)
        .cloned();
    let mut senders = BTreeMap::new();
    for t in transports {
        let s = svc.clone();
        let channel = t.channel();
        let addr = Supervisor::start_in_arbiter(&send_arbiter.handle(), move |_| {
            sender::Sender::new(s, t)
        });
        senders.insert(channel, addr);
    }
    let hooks = match svc.settings.webhooks.enabled {
        false => None,
        true => match hooks::HookSender::new(svc.clone()) {
            Ok(h) => Some(Supervisor::start_in_arbiter(
                &send_arbiter.handle(),
                move |_| h,
            )),
            Err(e) => {
                tracing::error!(error = %e, "Webhooks cannot be sent");
                None
            }
        },
    };
    let _ = svc
        .notifier
        .senders
        .set(senders.values().map(|a| a.clone().recipient()).collect());

    let s = svc.clone();
    let reminder = Supervisor::start(move |_| reminder::ReminderTimer::new(s));
    let s = svc.clone();
    let report = crate::reports::send::ReportContext {
        store: svc.store.clone(),
        clock: svc.clock.clone(),
        settings: svc.settings.clone(),
        mailer,
    };
    let reporter = Supervisor::start(move |_| reporter::Reporter::new(s, report));
    let s = svc.clone();
    let janitor = Supervisor::start(move |_| janitor::Janitor::new(s));

    let mut pollers = BTreeMap::new();
    let mut ticket_holds = BTreeMap::new();
    for c in carriers {
        let id = c.id();
        let Some(settings) = svc.settings.carriers.get(&id).cloned() else {
            continue;
        };
        if let (Some(tc), Some(_)) = (c.tickets(), settings.tickets) {
            ticket_holds.insert(id, tc.ticket_hold());
        }
        if let Err(e) =
            crate::carriers::restore_pause(&svc.store, &svc.health, &*c, svc.clock.now()).await
        {
            tracing::error!(carrier = id.as_str(), error = %e, "Cannot read the carrier's pause");
        }
        let s = svc.clone();
        let addr = Supervisor::start_in_arbiter(&poll_arbiter.handle(), move |_| {
            poller::Poller::new(s, c, settings)
        });
        pollers.insert(id, addr);
    }

    let s = svc.clone();
    let p = pollers.clone();
    let r = reminder.clone();
    let scheduler =
        Supervisor::start(move |_| scheduler::Scheduler::new(s, p, r, ticket_holds.clone()));

    let watchdog = sd_notify::watchdog_enabled().map(|interval| {
        let targets = watchdog::Targets {
            scheduler: scheduler.clone().recipient(),
            others: senders
                .values()
                .map(|a| a.clone().recipient())
                .chain(pollers.values().map(|a| a.clone().recipient()))
                .chain(std::iter::once(reporter.clone().recipient()))
                .chain(hooks.iter().map(|a| a.clone().recipient()))
                .collect(),
        };
        watchdog::Watchdog::new(targets, interval).start()
    });

    Actors {
        scheduler,
        pollers,
        reminder,
        senders,
        hooks,
        reporter,
        janitor,
        watchdog,
        arbiters: vec![send_arbiter, poll_arbiter],
    }
}

impl Actors {
    /// Ordered shutdown: stop scheduling, let pollers and senders finish what they hold (or
    /// leave it in the store), within `deadline`. Returns the names of actors still busy at the
    /// deadline.
    pub async fn shutdown(self, deadline: Duration) -> Vec<String> {
        let _ = self.scheduler.send(Drain).await;
        let mut recipients: Vec<(String, Recipient<Drain>)> = Vec::new();
        for (id, p) in &self.pollers {
            recipients.push((format!("poller {id}"), p.clone().recipient()));
        }
        for (ch, s) in &self.senders {
            recipients.push((format!("sender {ch}"), s.clone().recipient()));
        }
        if let Some(h) = &self.hooks {
            recipients.push(("webhook sender".into(), h.clone().recipient()));
        }
        let waits: Vec<_> = recipients
            .into_iter()
            .map(|(n, r)| (n, r.send(Drain)))
            .collect();
        let mut busy = Vec::new();
        let until = tokio::time::Instant::now() + deadline;
        for (name, w) in waits {
            if tokio::time::timeout_at(until, w).await.is_err() {
                busy.push(name);
            }
        }
        for a in &self.arbiters {
            a.stop();
        }
        busy
    }
}
