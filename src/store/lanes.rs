//! Delivery-time lanes in the store: the `lanes` tree keeps each lane's histogram and, per shop
//! and carrier, how the estimates and inferences came out. Both are updated in the transaction
//! that applies a carrier's report ([`Tx::learn`]), from the events that report brought: a leg
//! a new event finishes adds its duration to its lanes, a first arrival scores the estimate made
//! at acceptance, and the parcel's expected arrival and "probably at the office" are worked out
//! afresh. Nothing scans the parcels.
//!
//! Keys of the `lanes` tree:
//! - `L` carrier-tag leg-tag scope → the lane (record version byte, HdrHistogram V2 bytes); the
//!   scope is `c` (the carrier), `g` from `\0` to (regions) or `r` from `\0` to (offices);
//! - `T` shop `\0` carrier-tag → [`Tallies`] (bincode record).

use super::{Store, StoreError, SyncStore, Tx, TxResult, abort, decode, encode, printable};
use crate::domain::carrier::CarrierId;
use crate::domain::inference;
use crate::domain::lanes::{self, EstimateRules, Lane, LaneKey, Leg, Scope};
use crate::domain::notification::{Intent, NotificationKind};
use crate::domain::outlook::{self, Tallies};
use crate::domain::parcel::Parcel;
use crate::domain::shop::ShopId;
use crate::domain::status::Status;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;

/// The record version of a lane's value.
const LANE_VERSION: u8 = 1;
/// The record version of [`Tallies`].
const TALLY_VERSION: u8 = 1;

fn lane_key(k: &LaneKey) -> Vec<u8> {
    let mut out = vec![b'L', k.carrier.tag(), k.leg.tag()];
    let mut pair = |tag: u8, from: &str, to: &str| {
        out.push(tag);
        out.extend_from_slice(from.as_bytes());
        out.push(0);
        out.extend_from_slice(to.as_bytes());
    };
    match &k.scope {
        Scope::Route { from, to } => pair(b'r', from, to),
        Scope::Regions { from, to } => pair(b'g', from, to),
        Scope::Carrier => out.push(b'c'),
    }
    out
}

fn tally_key(shop: &str, carrier: CarrierId) -> Vec<u8> {
    let mut out = Vec::with_capacity(shop.len() + 3);
    out.push(b'T');
    out.extend_from_slice(shop.as_bytes());
    out.push(0);
    out.push(carrier.tag());
    out
}

fn decode_lane(key: &[u8], bytes: &[u8]) -> Option<Lane> {
    match bytes.split_first() {
        Some((&LANE_VERSION, body)) => match Lane::decode(body) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(key = %printable(key), error = %e, "Starting a lane afresh: its record cannot be read");
                None
            }
        },
        _ => {
            tracing::warn!(key = %printable(key), "Starting a lane afresh: its record has an unknown version");
            None
        }
    }
}

impl Tx<'_> {
    /// The lane, if it has a record.
    fn lane(&self, k: &LaneKey) -> TxResult<Option<Lane>> {
        let key = lane_key(k);
        Ok(self.lanes.get(&key)?.and_then(|v| decode_lane(&key, &v)))
    }

    /// The lanes of a chain (narrowest first) that have records, with their scopes.
    fn chain(&self, keys: &[LaneKey]) -> TxResult<Vec<(Scope, Lane)>> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(l) = self.lane(k)? {
                out.push((k.scope.clone(), l));
            }
        }
        Ok(out)
    }

    fn add_to_lane(&self, k: &LaneKey, took: jiff::SignedDuration) -> TxResult<()> {
        let mut lane = match self.lane(k)? {
            Some(l) => l,
            None => match Lane::new() {
                Ok(l) => l,
                Err(e) => return abort(StoreError::Sled(sled::Error::Unsupported(e.to_string()))),
            },
        };
        lane.add(took);
        let bytes = match lane.encode() {
            Ok(b) => b,
            Err(e) => return abort(StoreError::Sled(sled::Error::Unsupported(e.to_string()))),
        };
        let mut value = Vec::with_capacity(bytes.len() + 1);
        value.push(LANE_VERSION);
        value.extend_from_slice(&bytes);
        self.lanes.insert(lane_key(k), value)?;
        Ok(())
    }

    fn add_tallies(&self, shop: &str, carrier: CarrierId, add: &Tallies) -> TxResult<()> {
        let key = tally_key(shop, carrier);
        let mut t: Tallies = match self.lanes.get(&key)? {
            Some(v) => match decode("lanes", TALLY_VERSION, &key, &v) {
                Ok(t) => t,
                Err(e) => return abort(e),
            },
            None => Tallies::default(),
        };
        t.merge(add);
        match encode("lanes", TALLY_VERSION, &key, &t) {
            Ok(v) => {
                self.lanes.insert(key, v)?;
                Ok(())
            }
            Err(e) => abort(e),
        }
    }

    /// Learns from a carrier's report about `p` (its state before was `old`): adds the legs the
    /// new events finished to their lanes, scores the estimate made at acceptance and the
    /// inference when the first arrival comes, and works out the parcel's expected arrival and
    /// whether it is probably at its office. Returns the intents that causes (the customer's
    /// "probably arrived").
    pub(super) fn learn(
        &self,
        old: &Parcel,
        p: &mut Parcel,
        destination: Option<&str>,
        now: Timestamp,
        rules: &EstimateRules,
        tz: &TimeZone,
    ) -> TxResult<Vec<Intent>> {
        if !rules.enabled {
            return Ok(Vec::new());
        }
        let moved_dest = match destination {
            Some(d) if p.outlook.destination.as_deref() != Some(d) => {
                p.outlook.destination = Some(d.to_string());
                true
            }
            _ => false,
        };
        let fresh: Vec<usize> = (0..p.events.len())
            .filter(|&i| !old.events.iter().any(|o| o.same_operation(&p.events[i])))
            .collect();
        let mut tallies = Tallies::default();
        for &i in &fresh {
            for leg in lanes::finished_by(&p.events, i) {
                let chain =
                    LaneKey::chain(p.carrier, leg.leg, leg.from.as_deref(), leg.to.as_deref());
                for k in &chain {
                    self.add_to_lane(k, leg.took)?;
                }
            }
        }
        // The first arrival: score what was said before it.
        let arrived = |ev: &[crate::domain::parcel::CarrierEvent]| {
            ev.iter()
                .find(|e| e.status == Status::ArrivedAtPickup)
                .cloned()
        };
        if arrived(&old.events).is_none()
            && let Some(arrival) = arrived(&p.events)
        {
            p.outlook.arrival_learnt_at = Some(now);
            if let (Some(promised), None) = (&p.outlook.promised, &p.outlook.outcome) {
                let o = lanes::score(promised, arrival.at, tz);
                tallies.estimates.add(&o);
                p.outlook.outcome = Some(o);
            }
            if let (Some(prob), Some(at)) = (&p.outlook.probable, p.outlook.probable_at) {
                let index = arrival.office.as_ref().and_then(|o| o.index.as_deref());
                tallies
                    .probable
                    .merge(&outlook::judge_probable(prob, at, index, now));
            }
        }
        // The expected arrival, worked out afresh when the parcel moved.
        let leg = outlook::on_leg(&p.events, p.outlook.destination.as_deref());
        match &leg {
            None => p.outlook.estimate = None,
            Some(leg) if !fresh.is_empty() || moved_dest || p.outlook.estimate.is_none() => {
                let chain = self.chain(&outlook::lanes_for(p, leg))?;
                let e =
                    lanes::estimate(leg.leg, leg.since, chain.iter().map(|(s, l)| (s, l)), rules);
                if p.outlook.promised.is_none()
                    && let Some(e) = e.as_ref().filter(|e| e.leg == Leg::ToOffice)
                {
                    p.outlook.promised = Some(e.clone());
                }
                p.outlook.estimate = e;
            }
            Some(_) => {}
        }
        // Probably at the office, once.
        let mut intents = Vec::new();
        if p.outlook.probable.is_none() && !p.is_waiting_for_pickup() {
            let overdue = match &leg {
                Some(l) if l.leg == Leg::FromRegion => {
                    let chain = self.chain(&outlook::lanes_for(p, l))?;
                    outlook::overdue_after(chain.iter().map(|(s, l)| (s, l)), rules)
                }
                _ => None,
            };
            if let Some(prob) = inference::probable_arrival(
                &p.events,
                p.outlook.destination.as_deref(),
                overdue,
                now,
            ) {
                p.outlook.probable = Some(prob);
                p.outlook.probable_at = Some(now);
                tallies.probable.inferred += 1;
                intents.push(Intent::new(NotificationKind::ProbablyArrived, 1));
            }
        }
        if tallies != Tallies::default() {
            self.add_tallies(p.shop.as_str(), p.carrier, &tallies)?;
        }
        if p.outlook != old.outlook {
            p.updated_at = p.updated_at.max(now);
        }
        Ok(intents)
    }
}

impl SyncStore {
    /// How the estimates and inferences came out, per carrier, for one shop or all.
    pub fn tallies(
        &self,
        shop: Option<&ShopId>,
    ) -> Result<BTreeMap<CarrierId, Tallies>, StoreError> {
        let mut prefix = vec![b'T'];
        if let Some(s) = shop {
            prefix.extend_from_slice(s.as_str().as_bytes());
            prefix.push(0);
        }
        let mut out: BTreeMap<CarrierId, Tallies> = BTreeMap::new();
        for kv in self.t.lanes.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let Some(carrier) = k.last().copied().and_then(CarrierId::from_tag) else {
                continue;
            };
            let t: Tallies = decode("lanes", TALLY_VERSION, &k, &v)?;
            out.entry(carrier).or_default().merge(&t);
        }
        Ok(out)
    }

    /// How many finished legs a lane holds (for tests and diagnostics).
    #[cfg(test)]
    pub fn lane_count(&self, k: &LaneKey) -> Result<u64, StoreError> {
        let key = lane_key(k);
        Ok(self
            .t
            .lanes
            .get(&key)?
            .and_then(|v| decode_lane(&key, &v))
            .map_or(0, |l| l.count()))
    }
}

impl Store {
    /// How the estimates made at acceptance and the "probably at the office" inferences came
    /// out, per carrier, for one shop or all.
    pub async fn tallies(
        &self,
        shop: Option<ShopId>,
    ) -> Result<BTreeMap<CarrierId, Tallies>, StoreError> {
        self.run(move |s| s.tallies(shop.as_ref())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::Rules;
    use crate::domain::outbox::SendTiming;
    use crate::domain::parcel::{CarrierEvent, Office};
    use crate::domain::schedule::DailyWindow;
    use crate::store::Report;
    use crate::store::test_support::{pk, sid, store_with_parcel, t};

    fn ev(h: i64, status: Status, code: &str, index: &str) -> CarrierEvent {
        CarrierEvent {
            at: t(h * 3600),
            status,
            code: code.into(),
            description: code.into(),
            office: Some(Office {
                index: Some(index.into()),
                name: index.into(),
                ..Office::default()
            }),
            storage: None,
            presence: false,
        }
    }

    fn apply(store: &SyncStore, track: &str, events: Vec<CarrierEvent>, now_h: i64, rules: &Rules) {
        let w = DailyWindow::ALWAYS;
        let report = Report {
            events,
            destination: Some("630099".into()),
            ..Report::default()
        };
        store
            .apply_report(
                &pk("acme", track),
                &report,
                t(now_h * 3600),
                rules,
                t(now_h * 3600 + 60),
                &SendTiming { window: &w },
            )
            .unwrap();
    }

    fn journey(took_h: i64) -> Vec<CarrierEvent> {
        vec![
            ev(0, Status::Accepted, "1/1", "101000"),
            ev(took_h - 10, Status::InTransit, "8/3", "630960"),
            ev(took_h, Status::ArrivedAtPickup, "8/2", "630099"),
        ]
    }

    #[test]
    fn legs_fill_lanes_once_and_the_estimate_is_scored_at_the_arrival() {
        let (_d, store) = store_with_parcel();
        let rules = Rules {
            lanes: EstimateRules {
                min_samples: 1,
                ..EstimateRules::default()
            },
            ..Rules::default()
        };
        let route = LaneKey {
            carrier: CarrierId::Sandbox,
            leg: Leg::ToOffice,
            scope: Scope::Route {
                from: "101000".into(),
                to: "630099".into(),
            },
        };
        // Nothing learnt yet: acceptance gives no estimate.
        apply(
            &store,
            "SANDBOX-ARRIVED-1",
            journey(50)[..1].to_vec(),
            1,
            &rules,
        );
        let p = store
            .parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap()
            .unwrap();
        assert_eq!(p.outlook.destination.as_deref(), Some("630099"));
        assert_eq!(p.outlook.estimate, None);
        // The arrival finishes two legs, each in three lanes; the same answer again adds
        // nothing.
        apply(&store, "SANDBOX-ARRIVED-1", journey(50), 60, &rules);
        apply(&store, "SANDBOX-ARRIVED-1", journey(50), 61, &rules);
        assert_eq!(store.lane_count(&route).unwrap(), 1);
        let regions = LaneKey {
            leg: Leg::FromRegion,
            scope: Scope::Regions {
                from: "630".into(),
                to: "630".into(),
            },
            ..route.clone()
        };
        assert_eq!(store.lane_count(&regions).unwrap(), 1);

        // A second parcel gets an estimate at acceptance, kept and scored at its arrival.
        let v = crate::domain::intake::validate(&crate::domain::intake::ParcelDraft {
            track: "SANDBOX-ARRIVED-2".into(),
            ..Default::default()
        })
        .unwrap();
        store.intake(&sid("acme"), &v, t(0), t(0)).unwrap();
        apply(
            &store,
            "SANDBOX-ARRIVED-2",
            journey(50)[..1].to_vec(),
            1,
            &rules,
        );
        let p = store
            .parcel(&pk("acme", "SANDBOX-ARRIVED-2"))
            .unwrap()
            .unwrap();
        let e = p
            .outlook
            .estimate
            .clone()
            .expect("an estimate from the route");
        assert_eq!((e.leg, e.samples), (Leg::ToOffice, 1));
        assert_eq!(e.likely, t(50 * 3600));
        assert_eq!(p.outlook.promised, Some(e));
        apply(&store, "SANDBOX-ARRIVED-2", journey(52), 60, &rules);
        let p = store
            .parcel(&pk("acme", "SANDBOX-ARRIVED-2"))
            .unwrap()
            .unwrap();
        assert_eq!(p.outlook.estimate, None);
        assert!(p.outlook.outcome.is_some_and(|o| o.within));
        let all = store.tallies(None).unwrap();
        assert_eq!(all[&CarrierId::Sandbox].estimates.scored, 1);
        assert_eq!(store.tallies(Some(&sid("acme"))).unwrap(), all);
        assert!(store.tallies(Some(&sid("other"))).unwrap().is_empty());
    }

    #[test]
    fn nothing_is_learnt_when_lanes_are_off() {
        let (_d, store) = store_with_parcel();
        let rules = Rules {
            lanes: EstimateRules {
                enabled: false,
                ..EstimateRules::default()
            },
            ..Rules::default()
        };
        apply(&store, "SANDBOX-ARRIVED-1", journey(50), 60, &rules);
        let k = LaneKey {
            carrier: CarrierId::Sandbox,
            leg: Leg::ToOffice,
            scope: Scope::Carrier,
        };
        assert_eq!(store.lane_count(&k).unwrap(), 0);
        let p = store
            .parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap()
            .unwrap();
        assert_eq!(p.outlook, Default::default());
    }
}
