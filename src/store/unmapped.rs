//! Carrier codes nobody mapped: how often each came, and a few parcels it came for.
//!
//! Tree `unmapped`: carrier tag (one byte) + the code's bytes → [`UnmappedCode`]. A code is
//! counted once per new event that carries it, in the transaction that applies the carrier's
//! report (a history asked for again repeats its old events; those are not counted again).
//! The poll engine says which codes of a report are unmapped ([`crate::carriers::codes`]); a
//! code the config maps later stops being counted but keeps its record, so the operator sees
//! what was met before the mapping.

use super::{Store, StoreError, SyncStore, Tx, TxResult, abort, decode, encode};
use crate::domain::carrier::CarrierId;
use crate::domain::parcel::Parcel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The tree's name (for error messages).
const TREE: &str = "unmapped";

/// The record version of [`UnmappedCode`].
const VERSION: u8 = 1;

/// How many sample parcels a code keeps.
pub const SAMPLES: usize = 5;

/// One code a carrier sent that parceld does not map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmappedCode {
    /// The carrier that sent it.
    pub carrier: CarrierId,
    /// The carrier's code (`8/99`, `InTransit_Teleported`).
    pub code: String,
    /// The carrier's description of the newest event with it.
    pub description: String,
    /// New events that carried it.
    pub count: u64,
    /// When it was first met.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub first_seen: Timestamp,
    /// When it was last met.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub last_seen: Timestamp,
    /// The first few parcels it came for, `shop/track`.
    pub samples: Vec<String>,
}

fn key(carrier: CarrierId, code: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + code.len());
    k.push(carrier.tag());
    k.extend_from_slice(code.as_bytes());
    k
}

impl Tx<'_> {
    /// Counts the events of `after` that `before` did not have whose code `unmapped` names for
    /// their carrier.
    pub(super) fn count_unmapped(
        &self,
        before: &Parcel,
        after: &Parcel,
        unmapped: &[(CarrierId, String)],
        now: Timestamp,
    ) -> TxResult<()> {
        if unmapped.is_empty() {
            return Ok(());
        }
        let new = after
            .events
            .iter()
            .filter(|e| !before.events.iter().any(|o| o.same_operation(e)));
        for e in new {
            for (carrier, _) in unmapped.iter().filter(|(_, c)| *c == e.code) {
                let k = key(*carrier, &e.code);
                let mut rec = match self.unmapped.get(&k)? {
                    Some(v) => match decode::<UnmappedCode>(TREE, VERSION, &k, &v) {
                        Ok(r) => r,
                        Err(err) => return abort(err),
                    },
                    None => UnmappedCode {
                        carrier: *carrier,
                        code: e.code.clone(),
                        description: String::new(),
                        count: 0,
                        first_seen: now,
                        last_seen: now,
                        samples: Vec::new(),
                    },
                };
                rec.count = rec.count.saturating_add(1);
                rec.last_seen = now;
                rec.description = e.description.clone();
                let sample = after.key().to_string();
                if rec.samples.len() < SAMPLES && !rec.samples.contains(&sample) {
                    rec.samples.push(sample);
                }
                match encode(TREE, VERSION, &k, &rec) {
                    Ok(v) => {
                        self.unmapped.insert(k, v)?;
                    }
                    Err(err) => return abort(err),
                }
            }
        }
        Ok(())
    }
}

impl SyncStore {
    /// Every unmapped code met, the most frequent first.
    pub fn unmapped_codes(&self) -> Result<Vec<UnmappedCode>, StoreError> {
        let mut out = Vec::new();
        for kv in self.t.unmapped.iter() {
            let (k, v) = kv?;
            out.push(decode::<UnmappedCode>(TREE, VERSION, &k, &v)?);
        }
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (a.carrier, &a.code).cmp(&(b.carrier, &b.code)))
        });
        Ok(out)
    }
}

impl Store {
    /// Every unmapped code met, the most frequent first.
    pub async fn unmapped_codes(&self) -> Result<Vec<UnmappedCode>, StoreError> {
        self.run(SyncStore::unmapped_codes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::Rules;
    use crate::domain::outbox::SendTiming;
    use crate::domain::parcel::CarrierEvent;
    use crate::domain::schedule::DailyWindow;
    use crate::domain::status::Status;
    use crate::store::test_support::{pk, store_with_parcel, t};
    use crate::store::{Report, ReportFor};

    fn event(code: &str, s: i64) -> CarrierEvent {
        CarrierEvent {
            at: t(s),
            status: Status::Registered,
            code: code.into(),
            description: format!("op {code}"),
            office: None,
            storage: None,
            presence: false,
        }
    }

    fn apply(store: &SyncStore, events: Vec<CarrierEvent>, now: Timestamp) {
        let timing = SendTiming {
            window: &DailyWindow::ALWAYS,
        };
        let r = ReportFor {
            parcel: pk("acme", "SANDBOX-ARRIVED-1"),
            report: Report {
                events,
                ..Report::default()
            },
            next_poll: now,
            unmapped: vec![(CarrierId::RussianPost, "8/99".into())],
        };
        store
            .apply_reports(&[r], now, &Rules::default(), &timing)
            .unwrap();
    }

    #[test]
    fn each_new_event_with_an_unmapped_code_is_counted_once() {
        let (_d, store) = store_with_parcel();
        apply(&store, vec![event("1/1", 1), event("8/99", 2)], t(10));
        // The same history again, and one more 8/99 later.
        apply(
            &store,
            vec![event("1/1", 1), event("8/99", 2), event("8/99", 3)],
            t(20),
        );
        let codes = store.unmapped_codes().unwrap();
        assert_eq!(codes.len(), 1, "{codes:?}");
        let c = &codes[0];
        assert_eq!(
            (c.carrier, c.code.as_str(), c.count),
            (CarrierId::RussianPost, "8/99", 2)
        );
        assert_eq!((c.first_seen, c.last_seen), (t(10), t(20)));
        assert_eq!(c.samples, ["acme/SANDBOX-ARRIVED-1"]);
        assert_eq!(c.description, "op 8/99");
    }
}
