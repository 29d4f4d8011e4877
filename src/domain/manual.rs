//! Statuses set by hand: an operator (control socket) or the shop (its token) says what the
//! carrier has not said, or has said wrong: delivered, returned to the sender, lost, or waiting
//! at a given office.
//!
//! A status set by hand is an event in the parcel's history like the carrier's, with the code
//! `manual:operator` or `manual:shop` and the reason as its description, dated when it was set.
//! It goes through the same lifecycle, so it causes the same messages with the same outbox keys,
//! and the carrier's own event saying the same later causes nothing more.
//!
//! What wins: the history is replayed in time order, as for the carrier's events, with one
//! difference: a status set by hand applies even after a final one (a hand corrects the
//! carrier). After it, a final status stays (a parcel set delivered by hand stays delivered
//! whatever the carrier says later, except that a lost parcel found and delivered is delivered);
//! an arrival set by hand gives way to the carrier's newer events, as any arrival does.
//!
//! What contradicts ([`contradictions`]): a carrier event against the newest status set by hand
//! when
//! - the hand set a final status and the carrier reports a different final status (at any
//!   time), or any other status that changes something dated after the hand's;
//! - the hand set an arrival and the carrier reports, dated after it, the parcel on its way
//!   again (accepted, in transit) or at a different office.
//!
//! Contradictions are shown (the API, `parcelctl show`, the morning report), never resolved
//! silently: the operator or the shop sets the status again by hand if the carrier is right.
//! A parcel set final by hand is still asked about until the carrier reports a final status of
//! its own ([`awaits_confirmation`]), so that a contradiction can be seen at all.

use super::parcel::{CarrierEvent, Office, Parcel};
use super::status::Status;
use jiff::Timestamp;

/// The code prefix of events set by hand.
pub const PREFIX: &str = "manual:";

/// The longest reason kept, in characters.
pub const MAX_REASON: usize = 500;

/// Who set a status by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hand {
    /// An operator, on the control socket.
    Operator,
    /// The shop, with its token.
    Shop,
}

impl Hand {
    /// `operator` or `shop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hand::Operator => "operator",
            Hand::Shop => "shop",
        }
    }

    /// The event code of a status this hand set.
    pub fn code(self) -> String {
        format!("{PREFIX}{}", self.as_str())
    }
}

/// A status that cannot be set by hand, or a reason or office that is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManualError {
    /// Only delivered, returned_to_sender, lost and arrived_at_pickup may be set by hand.
    #[error(
        "{0:?} cannot be set by hand; expected delivered, returned_to_sender, lost or arrived_at_pickup"
    )]
    Status(String),
    /// The reason is empty.
    #[error("a reason is required")]
    NoReason,
    /// The reason is too long.
    #[error("the reason is longer than {MAX_REASON} characters")]
    LongReason,
    /// An arrival needs the office.
    #[error("arrived_at_pickup needs the office (its postal index or name)")]
    NoOffice,
}

/// The status a name set by hand means: `delivered`, `returned_to_sender` (or `returned`),
/// `lost`, `arrived_at_pickup` (or `arrived`).
pub fn status_named(name: &str) -> Result<Status, ManualError> {
    match name.trim() {
        "delivered" => Ok(Status::Delivered),
        "returned_to_sender" | "returned" => Ok(Status::ReturnedToSender),
        "lost" => Ok(Status::Lost),
        "arrived_at_pickup" | "arrived" => Ok(Status::ArrivedAtPickup),
        other => Err(ManualError::Status(other.to_string())),
    }
}

/// The event for `status` set by `hand` at `at` for `reason`; an arrival needs its `office`
/// (ignored for the others).
pub fn event(
    hand: Hand,
    status: Status,
    reason: &str,
    office: Option<Office>,
    at: Timestamp,
) -> Result<CarrierEvent, ManualError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ManualError::NoReason);
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ManualError::LongReason);
    }
    let office = match status {
        Status::ArrivedAtPickup => Some(
            office
                .filter(|o| o.index.is_some() || !o.name.trim().is_empty())
                .ok_or(ManualError::NoOffice)?,
        ),
        Status::Delivered | Status::ReturnedToSender | Status::Lost => None,
        other => return Err(ManualError::Status(other.as_str().to_string())),
    };
    Ok(CarrierEvent {
        at,
        status,
        code: hand.code(),
        description: reason.to_string(),
        office,
        storage: None,
        presence: false,
    })
}

/// Who set this event by hand, if it was set by hand.
pub fn hand_of(e: &CarrierEvent) -> Option<Hand> {
    match e.code.strip_prefix(PREFIX)? {
        "operator" => Some(Hand::Operator),
        "shop" => Some(Hand::Shop),
        _ => None,
    }
}

/// Whether this event was set by hand.
pub fn is_manual(e: &CarrierEvent) -> bool {
    hand_of(e).is_some()
}

fn same_office(a: Option<&Office>, b: Option<&Office>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (&a.index, &b.index) {
            (Some(x), Some(y)) => x == y,
            _ => a.name == b.name,
        },
        _ => false,
    }
}

/// Whether the carrier's event `e` contradicts the status `m` set by hand (see the module's
/// rules).
pub fn contradicts(m: &CarrierEvent, e: &CarrierEvent) -> bool {
    if is_manual(e) || e.status == Status::Registered {
        return false;
    }
    let after = e.at > m.at;
    if m.status.is_final() {
        return e.status != m.status && (e.status.is_final() || after);
    }
    after
        && match e.status {
            Status::Accepted | Status::InTransit => true,
            Status::ArrivedAtPickup => !same_office(m.office.as_ref(), e.office.as_ref()),
            _ => false,
        }
}

/// The newest status set by hand in a history (oldest first), if any.
pub fn newest(events: &[CarrierEvent]) -> Option<&CarrierEvent> {
    events.iter().rev().find(|e| is_manual(e))
}

/// The newest status set by hand and the carrier's events that contradict it, oldest first.
pub fn contradictions(events: &[CarrierEvent]) -> Option<(&CarrierEvent, Vec<&CarrierEvent>)> {
    let m = newest(events)?;
    let against: Vec<&CarrierEvent> = events.iter().filter(|e| contradicts(m, e)).collect();
    (!against.is_empty()).then_some((m, against))
}

/// Whether the parcel was set final by hand and its carrier has not reported a final status
/// of its own since: it is still asked about, so that the carrier's word is seen.
pub fn awaits_confirmation(p: &Parcel) -> bool {
    let Some(m) = newest(&p.events) else {
        return false;
    };
    m.status.is_final()
        && p.status == m.status
        && !p
            .events
            .iter()
            .any(|e| !is_manual(e) && e.status.is_final())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_741_000_000 + s).unwrap()
    }

    fn office(index: &str) -> Office {
        Office {
            index: Some(index.into()),
            name: format!("Отделение {index}"),
            ..Office::default()
        }
    }

    fn carrier(at: i64, status: Status, index: Option<&str>) -> CarrierEvent {
        CarrierEvent {
            at: t(at),
            status,
            code: "x/y".into(),
            description: String::new(),
            office: index.map(office),
            storage: None,
            presence: false,
        }
    }

    #[test]
    fn events_set_by_hand_carry_who_and_why() {
        let e = event(
            Hand::Shop,
            Status::Delivered,
            "  выдано в пункте  ",
            None,
            t(5),
        )
        .unwrap();
        assert_eq!(e.code, "manual:shop");
        assert_eq!(e.description, "выдано в пункте");
        assert_eq!(hand_of(&e), Some(Hand::Shop));
        assert!(!is_manual(&carrier(1, Status::Delivered, None)));
        assert_eq!(
            event(Hand::Operator, Status::Lost, " ", None, t(0)),
            Err(ManualError::NoReason)
        );
        assert_eq!(
            event(Hand::Operator, Status::ArrivedAtPickup, "r", None, t(0)),
            Err(ManualError::NoOffice)
        );
        let a = event(
            Hand::Operator,
            Status::ArrivedAtPickup,
            "звонок из отделения",
            Some(office("630099")),
            t(0),
        )
        .unwrap();
        assert_eq!(a.office.unwrap().index.as_deref(), Some("630099"));
        assert!(matches!(
            event(Hand::Operator, Status::InTransit, "r", None, t(0)),
            Err(ManualError::Status(_))
        ));
        assert_eq!(status_named("returned"), Ok(Status::ReturnedToSender));
        assert!(status_named("in_transit").is_err());
    }

    #[test]
    fn what_contradicts_a_final_status_set_by_hand() {
        let m = event(Hand::Operator, Status::Delivered, "r", None, t(100)).unwrap();
        // History before the hand's word does not contradict it; another final status does,
        // whenever it happened; anything that moves it after the hand's word does.
        assert!(!contradicts(&m, &carrier(50, Status::InTransit, None)));
        assert!(!contradicts(
            &m,
            &carrier(50, Status::ArrivedAtPickup, Some("1"))
        ));
        assert!(!contradicts(&m, &carrier(150, Status::Delivered, None)));
        assert!(!contradicts(&m, &carrier(150, Status::Registered, None)));
        assert!(contradicts(
            &m,
            &carrier(50, Status::ReturnedToSender, None)
        ));
        assert!(contradicts(&m, &carrier(150, Status::Returning, None)));
        assert!(contradicts(&m, &carrier(150, Status::InTransit, None)));
    }

    #[test]
    fn what_contradicts_an_arrival_set_by_hand() {
        let m = event(
            Hand::Shop,
            Status::ArrivedAtPickup,
            "r",
            Some(office("630099")),
            t(100),
        )
        .unwrap();
        assert!(!contradicts(
            &m,
            &carrier(150, Status::ArrivedAtPickup, Some("630099"))
        ));
        assert!(!contradicts(&m, &carrier(150, Status::Delivered, None)));
        assert!(!contradicts(&m, &carrier(150, Status::Returning, None)));
        assert!(!contradicts(&m, &carrier(50, Status::InTransit, None)));
        assert!(contradicts(&m, &carrier(150, Status::InTransit, None)));
        assert!(contradicts(
            &m,
            &carrier(150, Status::ArrivedAtPickup, Some("101000"))
        ));
        // Only the newest status set by hand counts.
        let newer = event(Hand::Operator, Status::Lost, "r", None, t(200)).unwrap();
        let history = vec![
            carrier(50, Status::InTransit, None),
            m.clone(),
            carrier(150, Status::InTransit, None),
            newer,
        ];
        assert!(contradictions(&history).is_none());
        let (by_hand, against) = contradictions(&history[..3]).unwrap();
        assert_eq!(by_hand, &m);
        assert_eq!(against, [&history[2]]);
    }
}
