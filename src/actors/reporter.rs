//! The reporter: wakes every `reports.check_every` and mails the daily report of each shop
//! whose report time has come ([`crate::reports::send`] decides and records it in the store),
//! and sends reports on demand for the API. Building a report runs on the blocking pool, so the
//! mailbox stays free for the watchdog's heartbeat.

use super::{Ping, Services};
use crate::reports::send::{Prepared, ReportContext, ReportError};
use actix::prelude::*;
use std::sync::Arc;

#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
struct Tick;

/// Build the report of a shop now and mail it (unless a dry run).
#[derive(Message)]
#[rtype(result = "Result<(Prepared, Option<String>), ReportError>")]
pub struct SendReport {
    /// The shop.
    pub shop: crate::domain::shop::Shop,
    /// Another recipient than the shop's report address.
    pub to: Option<String>,
    /// Only build it.
    pub dry_run: bool,
}

/// The reporter actor.
pub struct Reporter {
    svc: Arc<Services>,
    report: ReportContext,
}

impl Reporter {
    /// A reporter mailing through `report.mailer`.
    pub fn new(svc: Arc<Services>, report: ReportContext) -> Self {
        Reporter { svc, report }
    }

    fn schedule(&self, ctx: &mut Context<Self>) {
        if self.svc.settings.reports.enabled {
            ctx.notify_later(Tick, self.svc.settings.reports.check_every);
        }
    }
}

impl Actor for Reporter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.svc.settings.reports.enabled && self.report.mailer.is_some() {
            ctx.notify(Tick);
        }
    }
}

impl Supervised for Reporter {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("Reporter restarting");
    }
}

impl Handler<Tick> for Reporter {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Tick, _: &mut Self::Context) -> Self::Result {
        let report = self.report.clone();
        Box::pin(
            async move { report.send_due().await }.into_actor(self).map(
                |res, act, ctx| match res {
                    Err(ReportError::Store(e)) => {
                        act.svc
                            .health
                            .store_failed(act.svc.clock.now(), e.to_string());
                        ctx.stop();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "Daily reports not sent");
                        act.schedule(ctx);
                    }
                    Ok(_) => act.schedule(ctx),
                },
            ),
        )
    }
}

impl Handler<SendReport> for Reporter {
    type Result = ResponseFuture<Result<(Prepared, Option<String>), ReportError>>;

    fn handle(&mut self, msg: SendReport, _: &mut Self::Context) -> Self::Result {
        let report = self.report.clone();
        Box::pin(async move { report.on_demand(msg.shop, msg.to, msg.dry_run).await })
    }
}

impl Handler<Ping> for Reporter {
    type Result = ();

    fn handle(&mut self, _: Ping, _: &mut Self::Context) {}
}
