//! Counting a carrier's answers about live parcels for the outage judgement
//! ([`crate::domain::outage`]), and telling a stall: the log says it once when it begins and
//! once when it ends, and the gauge `parceld_carrier_stalled{carrier}` follows it.

use crate::config::outages::OutageSettings;
use crate::domain::carrier::CarrierId;
use crate::domain::outage::Change;
use crate::store::Store;
use jiff::Timestamp;

/// Counts `answers` (each: new events, events in the answer) of `carrier` at `now`. A failure
/// to count is logged, never the poll's failure.
pub async fn count(
    store: &Store,
    carrier: CarrierId,
    now: Timestamp,
    settings: &OutageSettings,
    answers: Vec<(usize, usize)>,
) {
    if answers.is_empty() {
        return;
    }
    match store
        .record_answers(carrier, now, settings.window, answers, settings.rules)
        .await
    {
        Ok((change, stalled)) => {
            metrics::gauge!("parceld_carrier_stalled", "carrier" => carrier.as_str())
                .set(if stalled { 1.0 } else { 0.0 });
            match change {
                Change::None => {}
                Change::Stalled(s) => tracing::warn!(
                    carrier = carrier.as_str(),
                    since = %s.since,
                    reason = %s.reason,
                    "Carrier stalled: its parcels stopped moving together; stuck alerts wait until it moves again"
                ),
                Change::Moving { since } => tracing::info!(
                    carrier = carrier.as_str(),
                    stalled_since = %since,
                    "Carrier moves again"
                ),
            }
        }
        Err(e) => {
            tracing::warn!(carrier = carrier.as_str(), error = %e, "Cannot count the carrier's answers")
        }
    }
}
