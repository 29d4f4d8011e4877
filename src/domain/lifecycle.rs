//! The parcel lifecycle: carrier events in, status and notification intents out.
//!
//! Pure functions over a [`Parcel`]: no clock (the time is passed in), no I/O. The status is
//! re-derived from the whole event history every time, so events that arrive out of order or
//! twice change nothing, and an 8/2 "arrived" record at the sender's office after a return has
//! started is not mistaken for the customer's pickup office. What was already asked for is
//! remembered in [`NotifyMarks`](super::parcel::NotifyMarks), so every intent is produced once:
//! - "accepted" once, and only while it is news (not when the first poll already shows it waiting);
//! - "arrived" once per pickup office, with the office, amount due and storage deadline;
//! - a reminder every `reminder_every` while it waits, and a last one `last_reminder_before`
//!   the storage deadline;
//! - "delivered" once, and an alert to the shop when it starts back;
//! - nothing after it is delivered, returned or lost.
//!
//! Whether an intent reaches the customer (unsubscribed, deleted, no phone) is decided when it
//! is turned into outbox entries, not here.

use super::notification::{Intent, NotificationKind};
use super::parcel::{Arrival, CarrierEvent, Office, Parcel};
use super::status::Status;
use jiff::Timestamp;
use std::time::Duration;

/// The durations the lifecycle follows, from config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// How often to remind a customer whose parcel waits (`5d`).
    pub reminder_every: Duration,
    /// How long before the storage deadline the last reminder goes (`2d`).
    pub last_reminder_before: Duration,
    /// After how long without a carrier event a parcel counts as stuck (`7d`).
    pub stuck_after: Duration,
    /// How long the office keeps a parcel before sending it back (`30d`).
    pub storage_period: Duration,
}

impl Default for Rules {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Rules {
            reminder_every: Duration::from_secs(5 * DAY),
            last_reminder_before: Duration::from_secs(2 * DAY),
            stuck_after: Duration::from_secs(7 * DAY),
            storage_period: Duration::from_secs(30 * DAY),
        }
    }
}

/// What applying a carrier report did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Events the parcel did not know yet.
    pub new_events: usize,
    /// The status before, when it changed.
    pub previous_status: Option<Status>,
    /// Notifications to send.
    pub intents: Vec<Intent>,
}

impl Outcome {
    /// Whether the parcel record changed at all.
    pub fn changed(&self) -> bool {
        self.new_events > 0
    }
}

/// The status and pickup office that an event history amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Derived {
    status: Status,
    /// The office it waits at, and since when; cleared once it starts back.
    arrival: Option<(Office, Timestamp)>,
    /// Distinct pickup offices it arrived at, in order.
    pickup_offices: u32,
}

fn same_office(a: &Office, b: &Office) -> bool {
    match (&a.index, &b.index) {
        (Some(x), Some(y)) => x == y,
        _ => a.name == b.name,
    }
}

fn derive(events: &[CarrierEvent]) -> Derived {
    let mut status = Status::Registered;
    let mut arrival: Option<(Office, Timestamp)> = None;
    let mut offices: Vec<Office> = Vec::new();
    let mut returning = false;
    for e in events {
        if status.is_final() {
            // A lost parcel can still be found and delivered; nothing else undoes a final state.
            if status == Status::Lost && e.status == Status::Delivered {
                status = Status::Delivered;
            }
            continue;
        }
        match e.status {
            Status::Registered => {}
            Status::Accepted => {
                if status == Status::Registered {
                    status = Status::Accepted;
                }
            }
            Status::InTransit => {
                if !returning {
                    status = Status::InTransit;
                }
            }
            Status::ArrivedAtPickup => {
                if !returning {
                    let office = e.office.clone().unwrap_or_default();
                    let same_as_now = arrival
                        .as_ref()
                        .is_some_and(|(o, _)| same_office(o, &office));
                    if !same_as_now {
                        if !offices.iter().any(|o| same_office(o, &office)) {
                            offices.push(office.clone());
                        }
                        arrival = Some((office, e.at));
                    } else if let Some((known, _)) = arrival.as_mut() {
                        // Keep the richer description if a later record has one.
                        if known.address.is_none() && office.address.is_some() {
                            *known = office;
                        }
                    }
                    status = Status::ArrivedAtPickup;
                }
            }
            Status::DeliveryFailed => {
                if !returning {
                    status = Status::DeliveryFailed;
                }
            }
            Status::Returning => {
                // It no longer waits for the customer anywhere.
                returning = true;
                arrival = None;
                status = Status::Returning;
            }
            Status::Delivered | Status::ReturnedToSender | Status::Lost => status = e.status,
        }
    }
    Derived {
        status,
        arrival,
        pickup_offices: offices.len() as u32,
    }
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

fn sub(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_sub(d).unwrap_or(Timestamp::MIN)
}

/// When the next reminder for a parcel waiting since `arrival` is due, asked at `now`.
fn next_reminder_time(
    now: Timestamp,
    arrival: &Arrival,
    last_reminder_sent: bool,
    rules: &Rules,
) -> Option<Timestamp> {
    if last_reminder_sent {
        return None;
    }
    let last_at = sub(arrival.deadline, rules.last_reminder_before);
    let next = add(now, rules.reminder_every);
    if next < last_at {
        Some(next)
    } else if last_at > now {
        Some(last_at)
    } else {
        None
    }
}

/// Merges a carrier report into the parcel and returns what to tell whom.
///
/// `incoming` may repeat events the parcel already has, in any order.
pub fn apply_events(
    parcel: &mut Parcel,
    incoming: Vec<CarrierEvent>,
    now: Timestamp,
    rules: &Rules,
) -> Outcome {
    let mut outcome = Outcome::default();
    for e in incoming {
        if !parcel.events.iter().any(|k| k.same_operation(&e)) {
            parcel.events.push(e);
            outcome.new_events += 1;
        }
    }
    if outcome.new_events == 0 {
        return outcome;
    }
    parcel.events.sort_by_key(|e| e.at);
    parcel.updated_at = now;

    let derived = derive(&parcel.events);
    if derived.status != parcel.status {
        outcome.previous_status = Some(parcel.status);
        parcel.status = derived.status;
    }

    // The pickup office and its storage deadline.
    match &derived.arrival {
        Some((office, at)) => {
            let moved = parcel
                .arrival
                .as_ref()
                .is_none_or(|a| !same_office(&a.office, office) || a.at != *at);
            if moved {
                parcel.arrival = Some(Arrival {
                    office: office.clone(),
                    at: *at,
                    deadline: add(*at, rules.storage_period),
                });
            } else if let Some(a) = parcel.arrival.as_mut() {
                a.office = office.clone();
            }
        }
        None => parcel.arrival = None,
    }

    let marks = &mut parcel.marks;
    let status = parcel.status;

    if !marks.accepted && status != Status::Registered {
        marks.accepted = true;
        if matches!(status, Status::Accepted | Status::InTransit) {
            outcome
                .intents
                .push(Intent::new(NotificationKind::Accepted, 1));
        }
    }

    let waiting = parcel.arrival.is_some()
        && matches!(status, Status::ArrivedAtPickup | Status::DeliveryFailed);
    if waiting && derived.pickup_offices > marks.arrivals {
        marks.arrivals = derived.pickup_offices;
        marks.last_reminder = false;
        outcome
            .intents
            .push(Intent::new(NotificationKind::Arrived, marks.arrivals));
        parcel.next_reminder_at = parcel
            .arrival
            .as_ref()
            .and_then(|a| next_reminder_time(now, a, false, rules));
    }
    if !waiting {
        parcel.next_reminder_at = None;
    }

    if status == Status::Delivered && !marks.delivered {
        marks.delivered = true;
        outcome
            .intents
            .push(Intent::new(NotificationKind::Delivered, 1));
    }
    if matches!(status, Status::Returning | Status::ReturnedToSender) && !marks.return_alert {
        marks.return_alert = true;
        outcome
            .intents
            .push(Intent::new(NotificationKind::ReturnStarted, 1));
    }

    if status.is_final() {
        parcel.next_poll_at = None;
        parcel.next_reminder_at = None;
    }
    outcome
}

/// Fires the parcel's reminder if it is due at `now`, and schedules the next one.
///
/// Returns the reminder to send, or `None` when nothing is due or the parcel no longer waits.
pub fn fire_reminder(parcel: &mut Parcel, now: Timestamp, rules: &Rules) -> Option<Intent> {
    let due = parcel.next_reminder_at?;
    if now < due {
        return None;
    }
    let Some(arrival) = parcel
        .arrival
        .clone()
        .filter(|_| parcel.is_waiting_for_pickup())
    else {
        parcel.next_reminder_at = None;
        return None;
    };
    if now >= arrival.deadline {
        parcel.next_reminder_at = None;
        return None;
    }
    let last_at = sub(arrival.deadline, rules.last_reminder_before);
    let marks = &mut parcel.marks;
    let intent = if now >= last_at {
        if marks.last_reminder {
            parcel.next_reminder_at = None;
            return None;
        }
        marks.last_reminder = true;
        Intent::new(NotificationKind::LastReminder, marks.arrivals.max(1))
    } else {
        marks.reminders += 1;
        Intent::new(NotificationKind::Reminder, marks.reminders)
    };
    parcel.next_reminder_at = next_reminder_time(now, &arrival, marks.last_reminder, rules);
    parcel.updated_at = now;
    Some(intent)
}

/// Whether the parcel has shown no sign of life for longer than `stuck_after`.
pub fn is_stuck(parcel: &Parcel, now: Timestamp, rules: &Rules) -> bool {
    !parcel.status.is_final() && add(parcel.last_activity(), rules.stuck_after) < now
}

/// Whole days left before the storage deadline (0 on the last day), if the parcel waits.
pub fn days_left(parcel: &Parcel, now: Timestamp) -> Option<i64> {
    let arrival = parcel.arrival.as_ref()?;
    let secs = arrival.deadline.as_second() - now.as_second();
    Some((secs.max(0)) / 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::carrier::CarrierId;
    use crate::domain::money::Kopecks;
    use crate::domain::parcel::{Customer, NotifyMarks, PollState};
    use crate::domain::shop::ShopId;
    use crate::domain::track::TrackNumber;

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_741_000_000 + secs).unwrap()
    }

    fn parcel() -> Parcel {
        Parcel {
            id: 1,
            shop: ShopId::from_trusted("acme"),
            track: TrackNumber::from_trusted("10100012000016"),
            carrier: CarrierId::RussianPost,
            track_warning: None,
            order_id: Some("A-1".into()),
            customer: Customer::default(),
            cod: Kopecks(149_000),
            contents: None,
            created_at: t(0),
            updated_at: t(0),
            status: Status::Registered,
            events: vec![],
            arrival: None,
            marks: NotifyMarks::default(),
            next_poll_at: Some(t(0)),
            next_reminder_at: None,
            poll: PollState::default(),
            unsubscribed: vec![],
            cod_paid_at: None,
            previous_tracks: vec![],
            tracked_as: None,
        }
    }

    fn office(index: &str) -> Office {
        Office {
            index: Some(index.into()),
            name: format!("Отделение {index}"),
            ..Office::default()
        }
    }

    fn ev(at: i64, status: Status, code: &str, office_index: &str) -> CarrierEvent {
        CarrierEvent {
            at: t(at),
            status,
            code: code.into(),
            description: code.into(),
            office: Some(office(office_index)),
        }
    }

    fn kinds(o: &Outcome) -> Vec<(NotificationKind, u32)> {
        o.intents.iter().map(|i| (i.kind, i.occurrence)).collect()
    }

    fn rules() -> Rules {
        Rules::default()
    }

    #[test]
    fn accepted_is_announced_once() {
        let mut p = parcel();
        let o = apply_events(
            &mut p,
            vec![ev(0, Status::Accepted, "1/1", "101000")],
            t(HOUR),
            &rules(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Accepted, 1)]);
        assert_eq!(p.status, Status::Accepted);
        assert_eq!(o.previous_status, Some(Status::Registered));

        // The same record again changes nothing.
        let o = apply_events(
            &mut p,
            vec![ev(0, Status::Accepted, "1/1", "101000")],
            t(2 * HOUR),
            &rules(),
        );
        assert!(!o.changed());
        assert!(o.intents.is_empty());

        // Moving on does not announce acceptance again.
        let o = apply_events(
            &mut p,
            vec![ev(HOUR, Status::InTransit, "8/0", "140980")],
            t(3 * HOUR),
            &rules(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.status, Status::InTransit);
    }

    #[test]
    fn first_poll_that_already_shows_arrival_skips_accepted() {
        let mut p = parcel();
        let o = apply_events(
            &mut p,
            vec![
                ev(0, Status::Accepted, "1/1", "101000"),
                ev(DAY, Status::InTransit, "8/0", "140980"),
                ev(3 * DAY, Status::ArrivedAtPickup, "8/2", "630099"),
            ],
            t(4 * DAY),
            &rules(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Arrived, 1)]);
        assert!(p.marks.accepted);
    }

    #[test]
    fn arrival_sets_office_deadline_and_first_reminder() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::Accepted, "1/1", "101000")],
            t(0),
            &rules(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(3 * DAY, Status::ArrivedAtPickup, "8/2", "630099")],
            t(3 * DAY + HOUR),
            &rules(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Arrived, 1)]);
        let a = p.arrival.clone().unwrap();
        assert_eq!(a.office.index.as_deref(), Some("630099"));
        assert_eq!(a.deadline, t(33 * DAY));
        assert_eq!(p.next_reminder_at, Some(t(8 * DAY + HOUR)));
        assert!(p.is_waiting_for_pickup());
    }

    #[test]
    fn out_of_order_records_are_sorted() {
        let mut p = parcel();
        let o = apply_events(
            &mut p,
            vec![
                ev(3 * DAY, Status::ArrivedAtPickup, "8/2", "630099"),
                ev(0, Status::Accepted, "1/1", "101000"),
                ev(DAY, Status::InTransit, "8/0", "140980"),
            ],
            t(4 * DAY),
            &rules(),
        );
        assert_eq!(p.status, Status::ArrivedAtPickup);
        assert_eq!(p.events[0].code, "1/1");
        assert_eq!(kinds(&o), [(NotificationKind::Arrived, 1)]);
    }

    #[test]
    fn reminders_every_period_then_last_then_nothing() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
        );
        // deadline day 30, last reminder at day 28; reminders on days 5, 10, 15, 20, 25.
        let mut fired = vec![];
        let mut now = t(0);
        for _ in 0..20 {
            let Some(due) = p.next_reminder_at else { break };
            // Nothing fires early.
            assert_eq!(
                fire_reminder(&mut p, sub(due, Duration::from_secs(1)), &rules()),
                None
            );
            now = due;
            if let Some(i) = fire_reminder(&mut p, now, &rules()) {
                fired.push((
                    i.kind,
                    i.occurrence,
                    (now.as_second() - t(0).as_second()) / DAY,
                ));
            }
        }
        assert_eq!(
            fired,
            [
                (NotificationKind::Reminder, 1, 5),
                (NotificationKind::Reminder, 2, 10),
                (NotificationKind::Reminder, 3, 15),
                (NotificationKind::Reminder, 4, 20),
                (NotificationKind::Reminder, 5, 25),
                (NotificationKind::LastReminder, 1, 28),
            ]
        );
        assert_eq!(p.next_reminder_at, None);
        assert_eq!(
            fire_reminder(&mut p, add(now, Duration::from_secs(86_400)), &rules()),
            None
        );
    }

    #[test]
    fn reminder_that_fires_late_is_not_doubled() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
        );
        // The daemon was down for 8 days: one reminder, then the next one a period later.
        let i = fire_reminder(&mut p, t(13 * DAY), &rules()).unwrap();
        assert_eq!((i.kind, i.occurrence), (NotificationKind::Reminder, 1));
        assert_eq!(p.next_reminder_at, Some(t(18 * DAY)));
        assert_eq!(fire_reminder(&mut p, t(13 * DAY), &rules()), None);
    }

    #[test]
    fn delivery_stops_reminders_and_polling() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
        );
        assert!(p.next_reminder_at.is_some());
        let o = apply_events(
            &mut p,
            vec![ev(2 * DAY, Status::Delivered, "2/1", "630099")],
            t(2 * DAY),
            &rules(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Delivered, 1)]);
        assert_eq!(p.status, Status::Delivered);
        assert_eq!(p.next_reminder_at, None);
        assert_eq!(p.next_poll_at, None);
        // A stale reminder entry fires nothing.
        p.next_reminder_at = Some(t(5 * DAY));
        assert_eq!(fire_reminder(&mut p, t(5 * DAY), &rules()), None);
        // Later events change nothing.
        let o = apply_events(
            &mut p,
            vec![ev(3 * DAY, Status::InTransit, "8/0", "1")],
            t(3 * DAY),
            &rules(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.status, Status::Delivered);
    }

    #[test]
    fn return_alerts_the_shop_and_ignores_arrival_at_sender() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::Accepted, "1/1", "101000")],
            t(0),
            &rules(),
        );
        apply_events(
            &mut p,
            vec![ev(5 * DAY, Status::ArrivedAtPickup, "8/2", "630099")],
            t(5 * DAY),
            &rules(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(36 * DAY, Status::Returning, "3/1", "630099")],
            t(36 * DAY),
            &rules(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::ReturnStarted, 1)]);
        assert_eq!(p.next_reminder_at, None);
        assert_eq!(p.arrival, None);
        // 8/2 at the sender's office: still returning, no "arrived" for the customer.
        let o = apply_events(
            &mut p,
            vec![ev(42 * DAY, Status::ArrivedAtPickup, "8/2", "101000")],
            t(42 * DAY),
            &rules(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.status, Status::Returning);
        let o = apply_events(
            &mut p,
            vec![ev(43 * DAY, Status::ReturnedToSender, "2/2", "101000")],
            t(43 * DAY),
            &rules(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.status, Status::ReturnedToSender);
        assert!(p.status.is_final());
        assert_eq!(p.next_poll_at, None);
    }

    #[test]
    fn redirect_to_another_office_is_announced_again() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(DAY, Status::InTransit, "4/1", "630099")],
            t(DAY),
            &rules(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.next_reminder_at, None);
        let o = apply_events(
            &mut p,
            vec![ev(2 * DAY, Status::ArrivedAtPickup, "8/2", "630100")],
            t(2 * DAY),
            &rules(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Arrived, 2)]);
        assert_eq!(p.arrival.as_ref().unwrap().deadline, t(32 * DAY));
        // Back at the first office again: no third announcement.
        apply_events(
            &mut p,
            vec![ev(3 * DAY, Status::InTransit, "4/1", "630100")],
            t(3 * DAY),
            &rules(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(4 * DAY, Status::ArrivedAtPickup, "8/2", "630099")],
            t(4 * DAY),
            &rules(),
        );
        assert!(o.intents.is_empty());
    }

    #[test]
    fn failed_attempt_keeps_the_parcel_waiting() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(DAY, Status::DeliveryFailed, "12/9", "630099")],
            t(DAY),
            &rules(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.status, Status::DeliveryFailed);
        assert!(p.is_waiting_for_pickup());
        assert!(p.next_reminder_at.is_some());
    }

    #[test]
    fn lost_is_final_unless_delivered_after_all() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::Accepted, "1/1", "101000")],
            t(0),
            &rules(),
        );
        apply_events(
            &mut p,
            vec![ev(DAY, Status::Lost, "5/1", "101000")],
            t(DAY),
            &rules(),
        );
        assert_eq!(p.status, Status::Lost);
        assert_eq!(p.next_poll_at, None);
        apply_events(
            &mut p,
            vec![ev(2 * DAY, Status::InTransit, "8/0", "1")],
            t(2 * DAY),
            &rules(),
        );
        assert_eq!(p.status, Status::Lost);
    }

    #[test]
    fn stuck_after_period_without_events() {
        let mut p = parcel();
        let r = rules();
        assert!(!is_stuck(&p, t(6 * DAY), &r));
        assert!(
            is_stuck(&p, t(7 * DAY + 1), &r),
            "registered and never accepted"
        );
        apply_events(
            &mut p,
            vec![ev(5 * DAY, Status::Accepted, "1/1", "101000")],
            t(5 * DAY),
            &r,
        );
        assert!(!is_stuck(&p, t(11 * DAY), &r));
        assert!(is_stuck(&p, t(12 * DAY + 1), &r));
        apply_events(
            &mut p,
            vec![ev(6 * DAY, Status::Delivered, "2/1", "101000")],
            t(6 * DAY),
            &r,
        );
        assert!(
            !is_stuck(&p, t(100 * DAY), &r),
            "final parcels are never stuck"
        );
    }

    #[test]
    fn days_left_counts_down() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
        );
        assert_eq!(days_left(&p, t(0)), Some(30));
        assert_eq!(days_left(&p, t(29 * DAY + 1)), Some(0));
        assert_eq!(days_left(&p, t(40 * DAY)), Some(0));
    }
}
