//! The API's view of what parceld expects of parcels: a parcel's expected arrival and
//! "probably at the office", and how those came out per carrier for the stats.

use super::dto::{EstimateStatsView, ExpectedView, ProbableView};
use crate::domain::carrier::CarrierId;
use crate::domain::inference::Reason;
use crate::domain::lanes::Estimate;
use crate::domain::outlook::{Outlook, Tallies};
use std::collections::BTreeMap;

/// An expected arrival as the API shows it.
pub fn expected(e: &Estimate) -> ExpectedView {
    ExpectedView {
        leg: e.leg.as_str().into(),
        since: e.from_event,
        earliest: e.earliest,
        latest: e.latest,
        likely: e.likely,
        lane: e.lane.describe(),
        samples: e.samples,
    }
}

/// "Probably at the office" as the API shows it.
pub fn probable(o: &Outlook) -> Option<ProbableView> {
    let p = o.probable.as_ref()?;
    let (reason, detail) = match &p.reason {
        Reason::SeenThere { code, description } => (
            "seen_there",
            format!("{code} {description}").trim().to_string(),
        ),
        Reason::Overdue {
            in_region_since,
            hours,
        } => (
            "overdue",
            format!(
                "in the office's region since {in_region_since}, the lane takes up to {hours} h"
            ),
        ),
    };
    Some(ProbableView {
        office_index: p.office.index.clone(),
        office_name: p.office.name.clone(),
        since: p.since,
        inferred_at: o.probable_at,
        reason: reason.into(),
        detail,
    })
}

/// The tallies per carrier as the stats show them.
pub fn stats(t: &BTreeMap<CarrierId, Tallies>) -> BTreeMap<String, EstimateStatsView> {
    t.iter()
        .map(|(c, t)| {
            (
                c.as_str().to_string(),
                EstimateStatsView {
                    scored: t.estimates.scored,
                    within: t.estimates.within,
                    within_share: t.estimates.within_share(),
                    exact_day_share: t.estimates.exact_share(),
                    mean_error_days: t.estimates.mean_error_days(),
                    probable: t.probable.inferred,
                    probable_confirmed: t.probable.confirmed,
                    probable_elsewhere: t.probable.elsewhere,
                    probable_right_share: t.probable.right_share(),
                    probable_days_earlier: t.probable.mean_days_earlier(),
                },
            )
        })
        .collect()
}
