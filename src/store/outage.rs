//! Carrier outages: each carrier's running count of answers about live parcels per window,
//! what it usually does, and its stall ([`crate::domain::outage`]).
//!
//! Tree `outages`: carrier tag (one byte) → [`Tracker`]. It is outside transactions: answers
//! are counted after the reports they came with are stored, each count one atomic update of
//! the carrier's record, so pollers of one carrier that answer at once do not lose counts. A
//! crash between a report and its count loses that count, which a judgement over a window of
//! answers can spare.

use super::{Store, StoreError, SyncStore, decode, encode};
use crate::domain::carrier::CarrierId;
#[cfg(test)]
use crate::domain::outage::counted_as;
use crate::domain::outage::{self, Change, OutageRules, Stall, Tracker};
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

/// The tree's name.
const TREE: &str = "outages";

/// The record version of [`Tracker`].
const VERSION: u8 = 1;

impl SyncStore {
    fn outages(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(TREE)?)
    }

    /// Counts a carrier's answers at `now` (each: new events, events in the answer), judging
    /// the window that ended first. Returns what changed, and whether the carrier is stalled.
    pub fn record_answers(
        &self,
        carrier: CarrierId,
        now: Timestamp,
        window: Duration,
        answers: &[(usize, usize)],
        rules: &OutageRules,
    ) -> Result<(Change, bool), StoreError> {
        let tree = self.outages()?;
        let key = [carrier.tag()];
        loop {
            let old = tree.get(key)?;
            let mut t = match &old {
                Some(v) => decode::<Tracker>(TREE, VERSION, &key, v)?,
                None => Tracker::new(now),
            };
            let change = outage::record(&mut t, now, window, answers, rules);
            let new = encode(TREE, VERSION, &key, &t)?;
            if tree.compare_and_swap(key, old.as_ref(), Some(new))?.is_ok() {
                return Ok((change, t.stalled.is_some()));
            }
        }
    }

    /// The carriers stalled now, with since when and why.
    pub fn stalled_carriers(&self) -> Result<BTreeMap<CarrierId, Stall>, StoreError> {
        let mut out = BTreeMap::new();
        for kv in self.outages()?.iter() {
            let (k, v) = kv?;
            let Some(carrier) = k.first().copied().and_then(CarrierId::from_tag) else {
                continue;
            };
            if let Some(stall) = decode::<Tracker>(TREE, VERSION, &k, &v)?.stalled {
                out.insert(carrier, stall);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Counts a carrier's answers at `now`, judging the window that ended first. Returns what
    /// changed, and whether the carrier is stalled.
    pub async fn record_answers(
        &self,
        carrier: CarrierId,
        now: Timestamp,
        window: Duration,
        answers: Vec<(usize, usize)>,
        rules: OutageRules,
    ) -> Result<(Change, bool), StoreError> {
        self.run(move |s| s.record_answers(carrier, now, window, &answers, &rules))
            .await
    }

    /// The carriers stalled now, with since when and why.
    pub async fn stalled_carriers(&self) -> Result<BTreeMap<CarrierId, Stall>, StoreError> {
        self.run(SyncStore::stalled_carriers).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{t, temp_store};

    #[test]
    fn a_carrier_whose_answers_are_all_empty_is_stalled_until_news() {
        let (_d, store) = temp_store();
        let rules = OutageRules {
            min_answers: 2,
            ..OutageRules::default()
        };
        let hour = Duration::from_secs(3600);
        let rp = CarrierId::RussianPost;
        let c = store
            .record_answers(rp, t(0), hour, &[(0, 0), (0, 0)], &rules)
            .unwrap();
        assert_eq!(c, (Change::None, false));
        let (c, stalled) = store
            .record_answers(rp, t(3700), hour, &[(2, 5)], &rules)
            .unwrap();
        assert!(
            matches!(c, Change::Stalled(ref s) if s.since == t(0)),
            "{c:?}"
        );
        assert!(stalled);
        let stalled = store.stalled_carriers().unwrap();
        assert_eq!(stalled.keys().collect::<Vec<_>>(), [&rp]);
        assert_eq!(counted_as(CarrierId::Ems), rp);
        let c = store
            .record_answers(rp, t(7300), hour, &[], &rules)
            .unwrap();
        assert_eq!(c, (Change::Moving { since: t(0) }, false));
        assert!(store.stalled_carriers().unwrap().is_empty());
    }
}
