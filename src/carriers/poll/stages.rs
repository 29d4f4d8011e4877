//! Where the poll path spends its time, for operators and the benchmarks: reading carriers'
//! answers (`parse`), the parcel lifecycle (`lifecycle`), store reads, writes and transactions
//! (`store`), and creating the notifications (`outbox`).
//!
//! Times are summed over a batch of parcels and recorded once per batch, so measuring costs a
//! few clock reads per parcel and one metric update per batch. They are exported as the
//! summary `parceld_poll_stage_seconds{carrier, stage}`: its `_sum` is the time spent in the
//! stage, its `_count` the batches recorded.

use crate::domain::carrier::CarrierId;
use std::time::Duration;

/// A stage of the poll path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading a carrier's answer into reports.
    Parse,
    /// Merging events and running the lifecycle (pure domain code).
    Lifecycle,
    /// Store reads, writes and transactions: leasing, loading, applying, tickets.
    Store,
    /// Planning and writing the notifications a change causes.
    Outbox,
}

impl Stage {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Lifecycle => "lifecycle",
            Stage::Store => "store",
            Stage::Outbox => "outbox",
        }
    }
}

/// Time spent per stage over some parcels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Reading answers.
    pub parse: Duration,
    /// The lifecycle.
    pub lifecycle: Duration,
    /// The store.
    pub store: Duration,
    /// The outbox.
    pub outbox: Duration,
}

impl StageTimes {
    /// Adds another measurement.
    pub fn add(&mut self, o: StageTimes) {
        self.parse += o.parse;
        self.lifecycle += o.lifecycle;
        self.store += o.store;
        self.outbox += o.outbox;
    }

    /// Records the non-zero stages for `carrier`.
    pub fn record(&self, carrier: CarrierId) {
        for (stage, d) in [
            (Stage::Parse, self.parse),
            (Stage::Lifecycle, self.lifecycle),
            (Stage::Store, self.store),
            (Stage::Outbox, self.outbox),
        ] {
            record(carrier, stage, d);
        }
    }
}

/// Records time spent in one stage for `carrier` (nothing when it is zero).
pub fn record(carrier: CarrierId, stage: Stage, d: Duration) {
    if !d.is_zero() {
        metrics::histogram!("parceld_poll_stage_seconds", "carrier" => carrier.as_str(), "stage" => stage.as_str())
            .record(d.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_add_up() {
        let mut t = StageTimes::default();
        t.add(StageTimes {
            parse: Duration::from_millis(2),
            store: Duration::from_millis(5),
            ..StageTimes::default()
        });
        t.add(StageTimes {
            store: Duration::from_millis(1),
            outbox: Duration::from_millis(3),
            ..StageTimes::default()
        });
        assert_eq!(t.parse, Duration::from_millis(2));
        assert_eq!(t.store, Duration::from_millis(6));
        assert_eq!(t.outbox, Duration::from_millis(3));
        assert_eq!(t.lifecycle, Duration::ZERO);
        assert_eq!(Stage::Lifecycle.as_str(), "lifecycle");
    }
}
