//! One round of a channel's sender: the first after a start recovers the messages that were in
//! hand when the daemon stopped ([`SendContext::recover`]); every round sends what is due
//! ([`SendContext::drain`]), asks for the delivery reports that are due
//! ([`SendContext::check_reports`]), shows the gateways that rest and the dead letters, and
//! says when the channel's next message or report comes due. The sender actor only decides
//! when to run one.

use super::deliver::{DrainSummary, SendContext};
use crate::domain::schedule::earliest;
use crate::store::StoreError;
use jiff::Timestamp;

/// What a round did, and when the next one is due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// What was sent, retried, given up.
    pub summary: DrainSummary,
    /// When the channel's next pending message or delivery report comes due, if any.
    pub next: Option<Timestamp>,
}

impl SendContext {
    /// Runs one round; `recover` first checks the messages that were in hand at the last stop.
    pub async fn round(&self, recover: bool) -> Result<Round, StoreError> {
        if crate::faults::hit("sender.fail_once") {
            return Err(StoreError::fault("sender.fail_once"));
        }
        if recover {
            self.recover().await?;
        }
        let summary = self.drain().await?;
        self.check_reports().await?;
        let channel = self.transport.channel();
        let paused: Vec<String> = self
            .transport
            .paused()
            .into_iter()
            .map(|(g, why)| format!("{g}: {why}"))
            .collect();
        self.health.channel(channel, |s| s.paused = paused);
        let dead = self.store.dead_count(channel).await?;
        metrics::gauge!("parceld_outbox_dead", "channel" => channel.as_str()).set(dead as f64);
        let next = earliest(
            self.store.next_pending_at(channel).await?,
            self.store.next_report_at(channel).await?,
        );
        Ok(Round { summary, next })
    }
}
