//! What parceld expects of a parcel on its way, learnt from the lanes ([`super::lanes`]) and
//! the inference ([`super::inference`]): the pickup office the carrier named in advance, the
//! expected arrival in force, the one made at acceptance (kept to be scored against the real
//! arrival), and "probably at the office". Also the running tallies of how those came out,
//! which the store keeps per shop and carrier.
//!
//! Pure: the store reads the lanes and passes them in.

use super::inference::Probable;
use super::lanes::{self, Estimate, EstimateRules, Lane, LaneKey, Leg, Outcome, Scope};
use super::parcel::{CarrierEvent, Parcel};
use super::status::Status;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// What parceld expects of one parcel. Part of the stored [`Parcel`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Outlook {
    /// The pickup office's index as the carrier named it before the parcel got there (Russian
    /// Post's `DestinationAddress/Index`).
    pub destination: Option<String>,
    /// The expected arrival at the pickup office in force; `None` once it arrived, or while no
    /// lane has enough samples.
    pub estimate: Option<Estimate>,
    /// The first expected arrival made from acceptance (leg [`Leg::ToOffice`]), kept to be
    /// scored when the real arrival comes.
    pub promised: Option<Estimate>,
    /// How the promised estimate came out, once the parcel arrived.
    pub outcome: Option<Outcome>,
    /// The parcel is very likely waiting at an office though no arrival was recorded; kept
    /// after the real arrival to score the inference.
    pub probable: Option<Probable>,
    /// When parceld inferred it (told the customer).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub probable_at: Option<Timestamp>,
    /// When parceld learnt of the first recorded arrival (the poll that brought it).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub arrival_learnt_at: Option<Timestamp>,
}

/// What a message says of the parcel's outlook: the expected arrival range, and whether an
/// earlier message told the customer it was probably at the office (an arrival message then
/// confirms rather than repeats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageOutlook {
    /// The earliest expected arrival at the office.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub expected_from: Option<Timestamp>,
    /// The latest expected arrival at the office.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub expected_to: Option<Timestamp>,
    /// The customer was told before that the parcel was probably at the office.
    pub was_probable: bool,
}

/// What a message about `p` says of its outlook now.
pub fn message_outlook(p: &Parcel) -> MessageOutlook {
    let e = p.outlook.estimate.as_ref();
    MessageOutlook {
        expected_from: e.map(|e| e.earliest),
        expected_to: e.map(|e| e.latest),
        was_probable: p.outlook.probable_at.is_some(),
    }
}

/// The leg a parcel on its way is on: the leg, when it started, and where (an office index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnLeg {
    /// The leg.
    pub leg: Leg,
    /// When it started.
    pub since: Timestamp,
    /// The office it started at, when known.
    pub from: Option<String>,
}

fn index_of(e: &CarrierEvent) -> Option<&str> {
    e.office.as_ref().and_then(|o| o.index.as_deref())
}

/// The leg towards the pickup office a parcel is on (events oldest first): from the first
/// event in the destination's region once it entered it ([`Leg::FromRegion`]), from the
/// acceptance before ([`Leg::ToOffice`]); `None` once it arrived, finished or turned back, or
/// before it was accepted.
pub fn on_leg(events: &[CarrierEvent], destination: Option<&str>) -> Option<OnLeg> {
    let last = events.last()?;
    if last.status.is_final()
        || last.status == Status::Returning
        || events.iter().any(|e| e.status == Status::ArrivedAtPickup)
    {
        return None;
    }
    if let Some(dest_region) = destination.and_then(lanes::region)
        && let Some(entered) = events
            .iter()
            .find(|e| index_of(e).and_then(lanes::region) == Some(dest_region))
    {
        return Some(OnLeg {
            leg: Leg::FromRegion,
            since: entered.at,
            from: index_of(entered).map(str::to_string),
        });
    }
    let accepted = events.iter().find(|e| e.status == Status::Accepted)?;
    Some(OnLeg {
        leg: Leg::ToOffice,
        since: accepted.at,
        from: index_of(accepted).map(str::to_string),
    })
}

/// The lanes to read for a parcel on `leg`, narrowest first.
pub fn lanes_for(p: &Parcel, leg: &OnLeg) -> Vec<LaneKey> {
    LaneKey::chain(
        p.carrier,
        leg.leg,
        leg.from.as_deref(),
        p.outlook.destination.as_deref(),
    )
}

/// How long a parcel in its pickup office's region may go without an arrival before it is
/// probably there: the region-to-office lane's 90th percentile plus the margin, from the
/// narrowest lane with enough samples (`lanes` narrowest first).
pub fn overdue_after<'a>(
    lanes: impl IntoIterator<Item = (&'a Scope, &'a Lane)>,
    rules: &EstimateRules,
) -> Option<SignedDuration> {
    let (_, lane) = lanes
        .into_iter()
        .find(|(_, l)| l.count() >= rules.min_samples.max(1))?;
    lane.quantile(0.9).checked_add(rules.probable_margin)
}

/// How the estimates made at acceptance came out, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EstimateTally {
    /// Estimates scored against a real arrival.
    pub scored: u64,
    /// Of them, the arrival fell on a day within the range.
    pub within: u64,
    /// Of them, the arrival fell on the most likely day.
    pub exact: u64,
    /// The sum of the absolute errors of the most likely day, in days.
    pub error_days: u64,
}

impl EstimateTally {
    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        self.scored += 1;
        self.within += u64::from(o.within);
        self.exact += u64::from(o.error_days == 0);
        self.error_days += o.error_days.unsigned_abs();
    }

    /// Sums two tallies.
    pub fn merge(&mut self, o: &EstimateTally) {
        self.scored += o.scored;
        self.within += o.within;
        self.exact += o.exact;
        self.error_days += o.error_days;
    }

    /// The share of arrivals within the range; `None` before any was scored.
    pub fn within_share(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.within as f64 / self.scored as f64)
    }

    /// The share of arrivals on the most likely day.
    pub fn exact_share(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.exact as f64 / self.scored as f64)
    }

    /// The mean absolute error of the most likely day, in days.
    pub fn mean_error_days(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.error_days as f64 / self.scored as f64)
    }
}

/// How the "probably at the office" inferences came out, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProbableTally {
    /// Parcels inferred to be at an office.
    pub inferred: u64,
    /// Of them, a real arrival came later at that office.
    pub confirmed: u64,
    /// Of them, a real arrival came later at another office.
    pub elsewhere: u64,
    /// The sum, over confirmed ones, of the hours the inference came before the real arrival
    /// was recorded.
    pub hours_earlier: u64,
}

impl ProbableTally {
    /// Sums two tallies.
    pub fn merge(&mut self, o: &ProbableTally) {
        self.inferred += o.inferred;
        self.confirmed += o.confirmed;
        self.elsewhere += o.elsewhere;
        self.hours_earlier += o.hours_earlier;
    }

    /// The share of inferences a real arrival confirmed, among those that got one.
    pub fn right_share(&self) -> Option<f64> {
        let judged = self.confirmed + self.elsewhere;
        (judged > 0).then(|| self.confirmed as f64 / judged as f64)
    }

    /// How many days earlier a confirmed inference came, on average.
    pub fn mean_days_earlier(&self) -> Option<f64> {
        (self.confirmed > 0).then(|| self.hours_earlier as f64 / 24.0 / self.confirmed as f64)
    }
}

/// How a carrier's estimates and inferences came out for one shop (or summed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tallies {
    /// The estimates made at acceptance.
    pub estimates: EstimateTally,
    /// The "probably at the office" inferences.
    pub probable: ProbableTally,
}

impl Tallies {
    /// Sums two tallies.
    pub fn merge(&mut self, o: &Tallies) {
        self.estimates.merge(&o.estimates);
        self.probable.merge(&o.probable);
    }
}

/// What the real arrival says of an earlier inference: confirmed (at that office) with how
/// long before it was recorded the inference came (`inferred_at`), or at another office.
pub fn judge_probable(
    p: &Probable,
    inferred_at: Timestamp,
    arrived_index: Option<&str>,
    recorded_at: Timestamp,
) -> ProbableTally {
    let same = p.office.index.is_some() && p.office.index.as_deref() == arrived_index;
    ProbableTally {
        inferred: 0,
        confirmed: u64::from(same),
        elsewhere: u64::from(!same),
        hours_earlier: if same {
            recorded_at
                .duration_since(inferred_at)
                .as_hours()
                .max(0)
                .unsigned_abs()
        } else {
            0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lanes::tests::{ev, t};
    use crate::domain::parcel::Office;

    #[test]
    fn the_leg_switches_when_the_parcel_enters_the_region() {
        let mut e = vec![ev(0, Status::Accepted, "101000")];
        assert_eq!(on_leg(&[], Some("630099")), None);
        let leg = on_leg(&e, Some("630099")).unwrap();
        assert_eq!((leg.leg, leg.since), (Leg::ToOffice, t(0)));
        assert_eq!(leg.from.as_deref(), Some("101000"));
        e.push(ev(20, Status::InTransit, "140980"));
        assert_eq!(on_leg(&e, Some("630099")).unwrap().leg, Leg::ToOffice);
        e.push(ev(60, Status::InTransit, "630960"));
        let leg = on_leg(&e, Some("630099")).unwrap();
        assert_eq!((leg.leg, leg.since), (Leg::FromRegion, t(60)));
        // Without a named destination the parcel stays on its way to the office.
        assert_eq!(on_leg(&e, None).unwrap().leg, Leg::ToOffice);
        e.push(ev(80, Status::ArrivedAtPickup, "630099"));
        assert_eq!(on_leg(&e, Some("630099")), None);
    }

    #[test]
    fn overdue_needs_enough_samples_and_adds_the_margin() {
        let rules = EstimateRules {
            min_samples: 5,
            ..EstimateRules::default()
        };
        let mut lane = Lane::new().unwrap();
        for h in [10, 20, 30, 40] {
            lane.add(SignedDuration::from_hours(h));
        }
        assert_eq!(overdue_after([(&Scope::Carrier, &lane)], &rules), None);
        lane.add(SignedDuration::from_hours(50));
        assert_eq!(
            overdue_after([(&Scope::Carrier, &lane)], &rules),
            Some(SignedDuration::from_hours(50 + 24))
        );
    }

    #[test]
    fn tallies_sum_and_judge() {
        let mut t1 = EstimateTally::default();
        assert_eq!(t1.within_share(), None);
        t1.add(&Outcome {
            within: true,
            error_days: 0,
        });
        t1.add(&Outcome {
            within: false,
            error_days: -3,
        });
        assert_eq!(t1.within_share(), Some(0.5));
        assert_eq!(t1.mean_error_days(), Some(1.5));
        let p = Probable {
            office: Office {
                index: Some("630099".into()),
                ..Office::default()
            },
            since: t(0),
            reason: crate::domain::inference::Reason::SeenThere {
                code: "8/25".into(),
                description: String::new(),
            },
        };
        let right = judge_probable(&p, t(10), Some("630099"), t(58));
        assert_eq!((right.confirmed, right.hours_earlier), (1, 48));
        let wrong = judge_probable(&p, t(10), Some("630100"), t(58));
        assert_eq!((wrong.confirmed, wrong.elsewhere), (0, 1));
        let mut sum = ProbableTally {
            inferred: 2,
            ..ProbableTally::default()
        };
        sum.merge(&right);
        sum.merge(&wrong);
        assert_eq!(sum.right_share(), Some(0.5));
        assert_eq!(sum.mean_days_earlier(), Some(2.0));
    }
}
