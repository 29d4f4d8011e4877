//! "Probably at the office": the post sometimes does not record that a parcel reached its
//! pickup office, and a customer who could collect it is never told. Two kinds of evidence say
//! it is there anyway:
//! - the carrier reports, at an office, something that happens only to an item waiting there
//!   for its addressee (a notice sent or delivered, storage running out, a hand-off to the
//!   office's postman or courier) with no arrival recorded since it was last on its way;
//! - the parcel has been in its pickup office's region (at the sorting centre) for longer than
//!   that lane usually takes from there to the office (the lane's 90th percentile) plus a margin.
//!
//! Pure: the caller passes the lane's threshold and the time.

use super::lanes::region;
use super::parcel::{CarrierEvent, Office};
use super::status::Status;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Why a parcel is believed to be at the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// The carrier recorded an operation there that only a waiting item gets.
    SeenThere {
        /// The operation's code (`8/25`).
        code: String,
        /// The carrier's words.
        description: String,
    },
    /// It has been in the office's region longer than the lane takes to the office.
    Overdue {
        /// Since when it is in the region.
        #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
        in_region_since: Timestamp,
        /// How long the lane usually takes from there, with the margin.
        hours: i64,
    },
}

/// The parcel is very likely waiting at an office, though no arrival was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probable {
    /// The office, as the carrier named it (an index at least).
    pub office: Office,
    /// Since when it is believed to be there.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub since: Timestamp,
    /// Why.
    pub reason: Reason,
}

/// Whether an event moves the parcel on (after it, earlier evidence of waiting no longer
/// holds).
fn moves_on(e: &CarrierEvent) -> bool {
    matches!(
        e.status,
        Status::InTransit | Status::Returning | Status::Accepted
    )
}

/// Whether the events (oldest first) show the parcel at an office without a recorded arrival,
/// given the pickup office's index (`destination`, when the carrier names it) and how long the
/// parcel's lane takes from its region to the office with the margin (`overdue_after`, when the
/// lane has enough samples). `None` once an arrival is recorded or the journey is over.
pub fn probable_arrival(
    events: &[CarrierEvent],
    destination: Option<&str>,
    overdue_after: Option<SignedDuration>,
    now: Timestamp,
) -> Option<Probable> {
    let last = events.last()?;
    if last.status.is_final() || events.iter().any(|e| e.status == Status::ArrivedAtPickup) {
        return None;
    }
    // Evidence at an office since the parcel last moved on.
    let since_moving = events.iter().rposition(moves_on).map_or(0, |i| i + 1);
    if let Some(e) = events[since_moving..].iter().find(|e| e.presence)
        && let Some(office) = e.office.clone().filter(|o| o.index.is_some())
    {
        return Some(Probable {
            office,
            since: e.at,
            reason: Reason::SeenThere {
                code: e.code.clone(),
                description: e.description.clone(),
            },
        });
    }
    // Overdue in the pickup office's region.
    let (dest, after) = (destination?, overdue_after?);
    let dest_region = region(dest)?;
    let entered = events.iter().find(|e| {
        e.office
            .as_ref()
            .and_then(|o| o.index.as_deref())
            .and_then(region)
            == Some(dest_region)
    })?;
    let due = entered.at.checked_add(after).ok()?;
    (now >= due && !last.status.is_final() && last.status != Status::Returning).then(|| Probable {
        office: Office {
            index: Some(dest.to_string()),
            name: dest.to_string(),
            ..Office::default()
        },
        since: due,
        reason: Reason::Overdue {
            in_region_since: entered.at,
            hours: after.as_hours(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> Timestamp {
        Timestamp::from_second(1_741_000_000 + h * 3600).unwrap()
    }

    fn ev(h: i64, status: Status, code: &str, index: &str, presence: bool) -> CarrierEvent {
        CarrierEvent {
            at: t(h),
            status,
            code: code.into(),
            description: code.into(),
            office: Some(Office {
                index: Some(index.into()),
                name: format!("Отделение {index}"),
                ..Office::default()
            }),
            storage: None,
            presence,
        }
    }

    fn journey() -> Vec<CarrierEvent> {
        vec![
            ev(0, Status::Accepted, "1/1", "101000", false),
            ev(30, Status::InTransit, "8/3", "630960", false),
        ]
    }

    #[test]
    fn a_notice_at_the_office_without_an_arrival() {
        let mut e = journey();
        e.push(ev(50, Status::Registered, "8/25", "630099", true));
        let p = probable_arrival(&e, Some("630099"), None, t(51)).unwrap();
        assert_eq!(p.office.index.as_deref(), Some("630099"));
        assert_eq!(p.since, t(50));
        assert!(matches!(p.reason, Reason::SeenThere { ref code, .. } if code == "8/25"));
        // Once the arrival is recorded, nothing is inferred.
        e.push(ev(52, Status::ArrivedAtPickup, "8/2", "630099", false));
        assert_eq!(probable_arrival(&e, Some("630099"), None, t(53)), None);
    }

    #[test]
    fn evidence_before_the_parcel_moved_on_does_not_count() {
        let mut e = journey();
        e.insert(1, ev(10, Status::Registered, "8/25", "140980", true));
        assert_eq!(probable_arrival(&e, None, None, t(40)), None);
    }

    #[test]
    fn overdue_in_the_region_past_the_lanes_90th_percentile() {
        let e = journey();
        let after = Some(SignedDuration::from_hours(40));
        assert_eq!(probable_arrival(&e, Some("630099"), after, t(69)), None);
        let p = probable_arrival(&e, Some("630099"), after, t(71)).unwrap();
        assert_eq!(p.since, t(70));
        assert!(matches!(p.reason, Reason::Overdue { hours: 40, .. }));
        // Without the lane (too few samples) or the destination, nothing is guessed.
        assert_eq!(probable_arrival(&e, Some("630099"), None, t(200)), None);
        assert_eq!(probable_arrival(&e, None, after, t(200)), None);
    }
}
