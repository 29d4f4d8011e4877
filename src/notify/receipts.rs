//! Delivery reports: asking the gateways about sent messages whose report is due, and recording
//! what a gateway pushed to its callback. A report that is not final is asked for again later
//! (waits double), until `sms.status_for` after sending.

use super::deliver::SendContext;
use super::transport::sms::{CallbackEvent, Reply};
use crate::domain::delivery::DeliveryReport;
use crate::domain::outbox::{OutboxEntry, ReportPolicy};
use crate::store::{Store, StoreError};
use jiff::Timestamp;

/// How many reports are asked for at a time.
const BATCH: usize = 100;

/// When to ask again about an entry after this answer.
fn next(policy: ReportPolicy, now: Timestamp) -> impl Fn(&OutboxEntry) -> Option<Timestamp> {
    move |e| {
        policy.next_check(
            e.sent_at.unwrap_or(now),
            e.report_checks.saturating_add(1),
            now,
        )
    }
}

impl SendContext {
    /// Asks the transport for the reports that are due and records them. Returns how many
    /// reports were recorded.
    pub async fn check_reports(&self) -> Result<usize, StoreError> {
        let channel = self.transport.channel();
        let mut recorded = 0;
        loop {
            let now = self.clock.now();
            let due = self.store.reports_due(channel, now, BATCH).await?;
            if due.is_empty() {
                break;
            }
            let n = due.len();
            let answers = self.transport.reports(&due).await;
            recorded += answers.len();
            let reports = due
                .iter()
                .map(|e| {
                    let report = answers.iter().find(|(k, _)| *k == e.key).map(|(_, r)| r);
                    if let Some(r) = report {
                        metrics::counter!("parceld_delivery_reports_total", "channel" => e.key.channel.as_str(), "status" => r.status.as_str()).increment(1);
                    }
                    (e.key.clone(), report.cloned())
                })
                .collect();
            self.store
                .record_reports(reports, next(self.reports, now))
                .await?;
            self.store.flush().await?;
            if n < BATCH {
                break;
            }
        }
        Ok(recorded)
    }
}

/// Records what a gateway pushed: delivery reports by the gateway's message id. Replies are
/// returned for the caller to act on ([`super::replies`]). Returns (reports recorded, replies).
pub async fn record_callback(
    store: &Store,
    gateway: &str,
    events: Vec<CallbackEvent>,
    policy: ReportPolicy,
    now: Timestamp,
) -> Result<(usize, Vec<Reply>), StoreError> {
    let mut recorded = 0;
    let mut replies = Vec::new();
    for ev in events {
        match ev {
            CallbackEvent::Report { id, report } => {
                let Some(e) = store.entry_by_receipt(gateway, &id).await? else {
                    tracing::debug!(gateway, id = %id, "Delivery report for an unknown message");
                    continue;
                };
                metrics::counter!("parceld_delivery_reports_total", "channel" => e.key.channel.as_str(), "status" => report.status.as_str()).increment(1);
                let r: DeliveryReport = report;
                recorded += store
                    .record_reports(vec![(e.key, Some(r))], next(policy, now))
                    .await?;
            }
            CallbackEvent::Inbound(r) => replies.push(r),
        }
    }
    store.flush().await?;
    Ok((recorded, replies))
}
