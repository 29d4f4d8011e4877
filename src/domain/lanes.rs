//! Delivery-time lanes: how long each leg of a journey took, from the office that accepted a
//! parcel to the office where it waited, kept as histograms; and the expected arrival they
//! give a parcel on its way.
//!
//! Three legs are measured, each on the finished journeys the store sees:
//! - [`Leg::ToOffice`]: accepted → arrived at the pickup office;
//! - [`Leg::FromRegion`]: first seen in the pickup office's region (its sorting centre, the
//!   first three digits of its index) → arrived at the office;
//! - [`Leg::Pickup`]: arrived → collected.
//!
//! A leg's duration goes to three lanes at once, from the narrowest to the widest: the route
//! (origin office → pickup office), the regions (first three digits of each), and the whole
//! carrier. An estimate uses the narrowest lane that has at least `min_samples` samples, and
//! gives nothing when none has: the customer is never told a guess made of a handful of
//! parcels. The histograms are HdrHistograms of whole hours (up to 120 days, two significant
//! digits: about 1 % error), updated incrementally as legs finish; nothing scans the parcels.

use super::carrier::CarrierId;
use super::parcel::CarrierEvent;
use super::status::Status;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The longest leg a lane records, in hours (120 days); longer ones are clamped.
const MAX_HOURS: u64 = 120 * 24;

/// A measured part of a journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Leg {
    /// Accepted by the post → arrived at the pickup office.
    ToOffice,
    /// First seen in the pickup office's region → arrived at the office.
    FromRegion,
    /// Arrived at the office → collected.
    Pickup,
}

impl Leg {
    /// Every leg.
    pub const ALL: [Leg; 3] = [Leg::ToOffice, Leg::FromRegion, Leg::Pickup];

    /// A one-byte tag for store keys.
    pub fn tag(self) -> u8 {
        match self {
            Leg::ToOffice => 1,
            Leg::FromRegion => 2,
            Leg::Pickup => 3,
        }
    }

    /// The leg's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::ToOffice => "to_office",
            Leg::FromRegion => "from_region",
            Leg::Pickup => "pickup",
        }
    }
}

/// How wide a lane is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// From one office (postal index) to another.
    Route {
        /// Where it started (the accepting office, or the first office in the region).
        from: String,
        /// The pickup office.
        to: String,
    },
    /// From one region (first three digits of an index) to another.
    Regions {
        /// The starting region.
        from: String,
        /// The pickup office's region.
        to: String,
    },
    /// Every journey of the carrier.
    Carrier,
}

impl Scope {
    /// The scope in words for the API: `101000 → 630099`, `101 → 630`, `all`.
    pub fn describe(&self) -> String {
        match self {
            Scope::Route { from, to } | Scope::Regions { from, to } => format!("{from} → {to}"),
            Scope::Carrier => "all".to_string(),
        }
    }
}

/// Which lane: a carrier's leg over a scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LaneKey {
    /// The carrier.
    pub carrier: CarrierId,
    /// The leg.
    pub leg: Leg,
    /// The scope.
    pub scope: Scope,
}

/// The region of a Russian postal index: its first three digits.
pub fn region(index: &str) -> Option<&str> {
    let index = index.trim();
    (index.len() == 6 && index.bytes().all(|b| b.is_ascii_digit())).then(|| &index[..3])
}

impl LaneKey {
    /// The lanes a leg from `from` to `to` counts in, narrowest first. Indexes that are not
    /// Russian postal indexes count only carrier-wide.
    pub fn chain(
        carrier: CarrierId,
        leg: Leg,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Vec<LaneKey> {
        let mut out = Vec::with_capacity(3);
        let key = |scope| LaneKey {
            carrier,
            leg,
            scope,
        };
        if let (Some(f), Some(t)) = (from, to)
            && let (Some(rf), Some(rt)) = (region(f), region(t))
        {
            out.push(key(Scope::Route {
                from: f.trim().to_string(),
                to: t.trim().to_string(),
            }));
            out.push(key(Scope::Regions {
                from: rf.to_string(),
                to: rt.to_string(),
            }));
        }
        out.push(key(Scope::Carrier));
        out
    }
}

/// A lane's durations, in whole hours.
#[derive(Debug, Clone)]
pub struct Lane(Histogram<u32>);

/// A lane's record cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("lane histogram: {0}")]
pub struct LaneError(String);

impl Lane {
    /// An empty lane: 1 hour to 120 days at two significant digits.
    pub fn new() -> Result<Lane, LaneError> {
        Histogram::new_with_bounds(1, MAX_HOURS, 2)
            .map(Lane)
            .map_err(|e| LaneError(format!("{e:?}")))
    }

    /// Records one leg's duration.
    pub fn add(&mut self, took: SignedDuration) {
        let hours = (took.as_secs().max(0) as u64)
            .div_ceil(3600)
            .clamp(1, MAX_HOURS);
        self.0.saturating_record(hours);
    }

    /// How many legs it recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The duration at quantile `q` (0.0–1.0).
    pub fn quantile(&self, q: f64) -> SignedDuration {
        SignedDuration::from_hours(self.0.value_at_quantile(q) as i64)
    }

    /// The lane as bytes for the store (HdrHistogram's V2 format).
    pub fn encode(&self) -> Result<Vec<u8>, LaneError> {
        let mut out = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut out)
            .map_err(|e| LaneError(format!("{e:?}")))?;
        Ok(out)
    }

    /// A lane from the store's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Lane, LaneError> {
        let mut h: Histogram<u32> = Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .map_err(|e| LaneError(format!("{e:?}")))?;
        h.auto(false);
        Ok(Lane(h))
    }
}

/// A finished leg of one journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedLeg {
    /// Which leg.
    pub leg: Leg,
    /// Where it started (office index), when known.
    pub from: Option<String>,
    /// Where it ended (the pickup office's index), when known.
    pub to: Option<String>,
    /// When it started.
    pub started: Timestamp,
    /// How long it took.
    pub took: SignedDuration,
}

/// The first event of `status`.
fn first(events: &[CarrierEvent], status: Status) -> Option<&CarrierEvent> {
    events.iter().find(|e| e.status == status)
}

fn index_of(e: &CarrierEvent) -> Option<String> {
    e.office.as_ref().and_then(|o| o.index.clone())
}

/// The legs that the event at `events[done]` finishes (events oldest first): an arrival at the
/// pickup office finishes [`Leg::ToOffice`] and [`Leg::FromRegion`], a delivery after an
/// arrival finishes [`Leg::Pickup`]. Each leg is counted once, by the event that finishes it,
/// so applying the same history again adds nothing.
pub fn finished_by(events: &[CarrierEvent], done: usize) -> Vec<FinishedLeg> {
    let Some(end) = events.get(done) else {
        return Vec::new();
    };
    let before = &events[..done];
    let mut out = Vec::new();
    match end.status {
        Status::ArrivedAtPickup if first(before, Status::ArrivedAtPickup).is_none() => {
            let to = index_of(end);
            if let Some(accepted) = first(before, Status::Accepted) {
                out.push(FinishedLeg {
                    leg: Leg::ToOffice,
                    from: index_of(accepted),
                    to: to.clone(),
                    started: accepted.at,
                    took: end.at.duration_since(accepted.at),
                });
            }
            let dest_region = to.as_deref().and_then(region).map(str::to_string);
            let entered = before.iter().find(|e| {
                index_of(e).as_deref().and_then(region).map(str::to_string) == dest_region
                    && dest_region.is_some()
            });
            if let Some(entered) = entered {
                out.push(FinishedLeg {
                    leg: Leg::FromRegion,
                    from: index_of(entered),
                    to,
                    started: entered.at,
                    took: end.at.duration_since(entered.at),
                });
            }
        }
        Status::Delivered if first(before, Status::Delivered).is_none() => {
            // From the last arrival at an office (a redirect starts the wait afresh).
            if let Some(arrived) = before
                .iter()
                .rev()
                .find(|e| e.status == Status::ArrivedAtPickup)
            {
                let at = index_of(arrived);
                out.push(FinishedLeg {
                    leg: Leg::Pickup,
                    from: at.clone(),
                    to: at,
                    started: arrived.at,
                    took: end.at.duration_since(arrived.at),
                });
            }
        }
        _ => {}
    }
    out.retain(|l| l.took > SignedDuration::ZERO);
    out
}

/// An expected arrival (or collection) time range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimate {
    /// The leg it estimates the end of.
    pub leg: Leg,
    /// When the leg started.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub from_event: Timestamp,
    /// The earliest expected end.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub earliest: Timestamp,
    /// The latest expected end.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub latest: Timestamp,
    /// The most likely end (the median).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub likely: Timestamp,
    /// The lane it came from.
    pub lane: Scope,
    /// How many finished journeys the lane holds.
    pub samples: u64,
}

/// How estimates are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimateRules {
    /// Whether lanes are kept and estimates made at all.
    pub enabled: bool,
    /// Fewer finished legs than this on a lane, and it is not used.
    pub min_samples: u64,
    /// The range's lower quantile (`0.1`).
    pub low: f64,
    /// The range's upper quantile (`0.9`).
    pub high: f64,
    /// Past the region-to-office lane's 90th percentile, how much longer a parcel in its
    /// pickup office's region goes without an arrival before it is probably there (`1d`).
    pub probable_margin: SignedDuration,
}

impl Default for EstimateRules {
    fn default() -> Self {
        EstimateRules {
            enabled: true,
            min_samples: 20,
            low: 0.1,
            high: 0.9,
            probable_margin: SignedDuration::from_hours(24),
        }
    }
}

/// The estimate of a leg that started at `start`, from the narrowest lane with enough samples
/// (`lanes` in the order of [`LaneKey::chain`], each with its scope), or `None`.
pub fn estimate<'a>(
    leg: Leg,
    start: Timestamp,
    lanes: impl IntoIterator<Item = (&'a Scope, &'a Lane)>,
    rules: &EstimateRules,
) -> Option<Estimate> {
    let (scope, lane) = lanes
        .into_iter()
        .find(|(_, l)| l.count() >= rules.min_samples.max(1))?;
    let at = |q: f64| {
        start
            .checked_add(lane.quantile(q))
            .unwrap_or(Timestamp::MAX)
    };
    Some(Estimate {
        leg,
        from_event: start,
        earliest: at(rules.low),
        latest: at(rules.high),
        likely: at(0.5),
        lane: scope.clone(),
        samples: lane.count(),
    })
}

/// How an estimate made earlier came out against the real arrival, in calendar days of `tz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// The real day fell within the range's days.
    pub within: bool,
    /// Days between the most likely day and the real one.
    pub error_days: i64,
}

/// Scores an estimate against the real end of its leg.
pub fn score(e: &Estimate, actual: Timestamp, tz: &jiff::tz::TimeZone) -> Outcome {
    let day = |t: Timestamp| t.to_zoned(tz.clone()).date();
    let (a, lo, hi, likely) = (day(actual), day(e.earliest), day(e.latest), day(e.likely));
    Outcome {
        within: lo <= a && a <= hi,
        error_days: likely.until(a).map_or(0, |s| i64::from(s.get_days()).abs()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::parcel::Office;

    /// `h` hours after a fixed moment.
    pub(crate) fn t(h: i64) -> Timestamp {
        Timestamp::from_second(1_741_000_000 + h * 3600).unwrap()
    }

    /// An event at office `index`, `h` hours in.
    pub(crate) fn ev(h: i64, status: Status, index: &str) -> CarrierEvent {
        CarrierEvent {
            at: t(h),
            status,
            code: String::new(),
            description: String::new(),
            office: Some(Office {
                index: Some(index.into()),
                name: index.into(),
                ..Office::default()
            }),
            storage: None,
            presence: false,
        }
    }

    #[test]
    fn legs_are_finished_once_by_their_last_event() {
        let events = vec![
            ev(0, Status::Accepted, "101000"),
            ev(20, Status::InTransit, "140980"),
            ev(70, Status::InTransit, "630960"),
            ev(80, Status::InTransit, "630960"),
            ev(96, Status::ArrivedAtPickup, "630099"),
            ev(120, Status::DeliveryFailed, "630099"),
            ev(150, Status::Delivered, "630099"),
        ];
        assert!(finished_by(&events, 3).is_empty());
        let arrival = finished_by(&events, 4);
        assert_eq!(
            arrival,
            [
                FinishedLeg {
                    leg: Leg::ToOffice,
                    from: Some("101000".into()),
                    to: Some("630099".into()),
                    started: t(0),
                    took: SignedDuration::from_hours(96),
                },
                FinishedLeg {
                    leg: Leg::FromRegion,
                    from: Some("630960".into()),
                    to: Some("630099".into()),
                    started: t(70),
                    took: SignedDuration::from_hours(26),
                },
            ]
        );
        let pickup = finished_by(&events, 6);
        assert_eq!(pickup.len(), 1);
        assert_eq!(pickup[0].leg, Leg::Pickup);
        assert_eq!(pickup[0].took, SignedDuration::from_hours(54));
        // A second arrival (a redirect) finishes nothing again.
        let mut again = events[..5].to_vec();
        again.push(ev(130, Status::ArrivedAtPickup, "630100"));
        assert!(finished_by(&again, 5).is_empty());
    }

    #[test]
    fn lanes_chain_from_route_to_carrier() {
        let chain = LaneKey::chain(
            CarrierId::RussianPost,
            Leg::ToOffice,
            Some("101000"),
            Some("630099"),
        );
        let scopes: Vec<String> = chain.iter().map(|k| k.scope.describe()).collect();
        assert_eq!(scopes, ["101000 → 630099", "101 → 630", "all"]);
        let abroad = LaneKey::chain(
            CarrierId::ChinaPost,
            Leg::ToOffice,
            Some("Shenzhen"),
            Some("630099"),
        );
        assert_eq!(abroad.len(), 1);
    }

    #[test]
    fn estimates_need_enough_samples_and_use_the_narrowest_lane() {
        let rules = EstimateRules::default();
        let route = Scope::Route {
            from: "101000".into(),
            to: "630099".into(),
        };
        let wide = Scope::Carrier;
        let mut narrow = Lane::new().unwrap();
        let mut all = Lane::new().unwrap();
        for d in 0..10 {
            narrow.add(SignedDuration::from_hours(96 + d));
        }
        for d in 0..100 {
            all.add(SignedDuration::from_hours(48 + d * 2));
        }
        // Ten samples on the route are too few: the carrier-wide lane answers.
        let e = estimate(
            Leg::ToOffice,
            t(0),
            [(&route, &narrow), (&wide, &all)],
            &rules,
        )
        .unwrap();
        assert_eq!(e.lane, Scope::Carrier);
        assert_eq!(e.samples, 100);
        assert!(e.earliest < e.likely && e.likely < e.latest);
        for d in 0..20 {
            narrow.add(SignedDuration::from_hours(100 + d % 3));
        }
        let e = estimate(
            Leg::ToOffice,
            t(0),
            [(&route, &narrow), (&wide, &all)],
            &rules,
        )
        .unwrap();
        assert_eq!(e.lane, route);
        let empty = Lane::new().unwrap();
        assert_eq!(
            estimate(Leg::ToOffice, t(0), [(&wide, &empty)], &rules),
            None,
            "nothing rather than a guess"
        );
    }

    #[test]
    fn lanes_survive_the_store_and_score_estimates() {
        let mut l = Lane::new().unwrap();
        for h in [30, 40, 50, 60, 70] {
            l.add(SignedDuration::from_hours(h));
        }
        let back = Lane::decode(&l.encode().unwrap()).unwrap();
        assert_eq!(back.count(), 5);
        assert_eq!(back.quantile(0.5), l.quantile(0.5));
        assert!(Lane::decode(b"garbage").is_err());
        let e = estimate(
            Leg::ToOffice,
            t(0),
            [(&Scope::Carrier, &back)],
            &EstimateRules {
                min_samples: 5,
                ..EstimateRules::default()
            },
        )
        .unwrap();
        let tz = jiff::tz::TimeZone::UTC;
        assert!(score(&e, t(50), &tz).within);
        let late = score(&e, t(50 + 24 * 5), &tz);
        assert!(!late.within);
        assert_eq!(late.error_days, 5);
    }
}
