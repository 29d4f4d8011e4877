//! The reminder timer: fires the reminders the scheduler found due. Each reminder is one store
//! transaction that queues the message and schedules the next reminder, so a reminder fires
//! once however often it is handed over.

use super::Services;
use crate::store::{DueItem, StoreError};
use actix::prelude::*;
use std::sync::Arc;

/// Fire these reminders.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<usize, StoreError>")]
pub struct FireReminders {
    /// Due reminder items.
    pub items: Vec<DueItem>,
}

/// The reminder timer actor.
pub struct ReminderTimer {
    svc: Arc<Services>,
}

impl ReminderTimer {
    /// A reminder timer.
    pub fn new(svc: Arc<Services>) -> Self {
        ReminderTimer { svc }
    }
}

impl Actor for ReminderTimer {
    type Context = Context<Self>;
}

impl Supervised for ReminderTimer {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("Reminder timer restarting");
    }
}

impl Handler<FireReminders> for ReminderTimer {
    type Result = ResponseActFuture<Self, Result<usize, StoreError>>;

    fn handle(&mut self, msg: FireReminders, _: &mut Self::Context) -> Self::Result {
        let store = self.svc.store.clone();
        let now = self.svc.clock.now();
        let rules = self.svc.settings.rules.clone();
        let window = self.svc.settings.notify.send_window;
        Box::pin(
            async move { store.fire_reminders(msg.items, now, &rules, window).await }
                .into_actor(self)
                .map(|res, act, ctx| match res {
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(messages = n, "Reminders queued");
                            metrics::counter!("parceld_reminders_total").increment(n as u64);
                            act.svc.notifier.wake_senders();
                        }
                        Ok(n)
                    }
                    Err(e) => {
                        act.svc
                            .health
                            .store_failed(act.svc.clock.now(), e.to_string());
                        ctx.stop();
                        Err(e)
                    }
                }),
        )
    }
}
