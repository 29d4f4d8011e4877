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

use super::manual;
use super::notification::{Intent, NotificationKind};
use super::parcel::{Arrival, CarrierEvent, Office, Parcel};
use super::postal_zone;
use super::shop::Shop;
use super::status::Status;
use super::storage::{self, PeriodInput, StorageRules};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::time::Duration;

/// The durations the lifecycle follows, from config.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// How often to remind a customer whose parcel waits (`5d`).
    pub reminder_every: Duration,
    /// How long before the storage deadline the last reminder goes (`2d`).
    pub last_reminder_before: Duration,
    /// After how long without a carrier event a parcel counts as stuck (`7d`).
    pub stuck_after: Duration,
    /// After how long without a carrier event a parcel is no longer polled (`60d`).
    pub give_up_after: Duration,
    /// How long offices keep parcels (`[rules.storage]`).
    pub storage: StorageRules,
    /// How delivery-time lanes are kept and estimates made (`[lanes]`).
    pub lanes: super::lanes::EstimateRules,
}

impl Default for Rules {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Rules {
            reminder_every: Duration::from_secs(5 * DAY),
            last_reminder_before: Duration::from_secs(2 * DAY),
            stuck_after: Duration::from_secs(7 * DAY),
            give_up_after: Duration::from_secs(60 * DAY),
            storage: StorageRules::default(),
            lanes: super::lanes::EstimateRules::default(),
        }
    }
}

/// What the shop decides about its parcels' deadlines, and the zone its dates fall in when
/// the office's is not known.
#[derive(Debug, Clone)]
pub struct ShopTerms {
    /// The shop's storage period in days, if it set one.
    pub storage_days: Option<u16>,
    /// The shop's time zone.
    pub timezone: TimeZone,
}

impl ShopTerms {
    /// The terms of a shop.
    pub fn of(shop: &Shop) -> ShopTerms {
        ShopTerms {
            storage_days: shop.storage_days,
            timezone: TimeZone::get(&shop.timezone).unwrap_or(TimeZone::UTC),
        }
    }
}

impl Default for ShopTerms {
    fn default() -> Self {
        ShopTerms {
            storage_days: None,
            timezone: TimeZone::get(postal_zone::DEFAULT_ZONE).unwrap_or(TimeZone::UTC),
        }
    }
}

/// The storage deadline moved (or was first set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineChange {
    /// The deadline before, if there was one at the same office.
    pub from: Option<Timestamp>,
    /// The deadline now.
    pub to: Timestamp,
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
    /// The storage deadline moved at the same office (an extension, the post's count of days
    /// left, a changed period): unsent messages must state the new one.
    pub deadline_moved: Option<DeadlineChange>,
    /// Unsent messages that no longer fit (a last reminder for a deadline that moved later):
    /// withdraw them.
    pub withdraw: Vec<Intent>,
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
        // A status set by hand applies even after a final one ([`manual`]).
        let by_hand = manual::is_manual(e);
        if status.is_final() && !by_hand {
            // A lost parcel can still be found and delivered; nothing else undoes a final state.
            if status == Status::Lost && e.status == Status::Delivered {
                status = Status::Delivered;
            }
            continue;
        }
        if by_hand && e.status == Status::ArrivedAtPickup {
            returning = false;
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
    let last_at = sub(arrival.deadline.at, rules.last_reminder_before);
    let next = add(now, rules.reminder_every);
    if next < last_at {
        Some(next)
    } else if last_at > now {
        Some(last_at)
    } else {
        None
    }
}

/// The zone an office's dates fall in: its region's (from the postal index), else the shop's.
pub fn office_zone(office: &Office, terms: &ShopTerms) -> TimeZone {
    office
        .index
        .as_deref()
        .and_then(postal_zone::zone_of_index)
        .and_then(|z| TimeZone::get(z).ok())
        .unwrap_or_else(|| terms.timezone.clone())
}

/// The deadline the parcel's facts give for its arrival at `office` at `at`.
fn deadline_for(
    parcel: &Parcel,
    office: &Office,
    at: Timestamp,
    rules: &Rules,
    terms: &ShopTerms,
) -> storage::Deadline {
    let input = PeriodInput {
        parcel_days: parcel.storage_days,
        shop_days: terms.storage_days,
        mail: parcel.mail_type.as_ref(),
    };
    storage::derive(
        at,
        &office_zone(office, terms),
        &parcel.events,
        &input,
        &rules.storage,
    )
}

/// How the deadline changed between two arrivals, if it is the same arrival.
fn moved(before: Option<&Arrival>, after: Option<&Arrival>) -> Option<DeadlineChange> {
    let (b, a) = (before?, after?);
    let same = same_office(&b.office, &a.office) && b.at == a.at;
    (same && b.deadline.at != a.deadline.at).then_some(DeadlineChange {
        from: Some(b.deadline.at),
        to: a.deadline.at,
    })
}

/// Plans the reminders again after the deadline of a waiting parcel moved: a last reminder
/// that spoke of an earlier last day is withdrawn (if unsent) and another is planned; a
/// deadline that moved nearer brings the last reminder forward, at once if it is due.
fn replan_reminders(
    parcel: &mut Parcel,
    change: &DeadlineChange,
    now: Timestamp,
    rules: &Rules,
    outcome: &mut Outcome,
) {
    let Some(deadline) = parcel.arrival.as_ref().map(|a| a.deadline.at) else {
        return;
    };
    if !parcel.is_waiting_for_pickup() {
        return;
    }
    let later = change.from.is_none_or(|f| change.to > f);
    if later && parcel.marks.last_reminder {
        parcel.marks.last_reminder = false;
        outcome.withdraw.push(Intent::new(
            NotificationKind::LastReminder,
            parcel.marks.last_reminders,
        ));
    }
    parcel.next_reminder_at = if parcel.marks.last_reminder || now >= deadline {
        None
    } else {
        let last_at = sub(deadline, rules.last_reminder_before);
        let regular = parcel
            .next_reminder_at
            .unwrap_or_else(|| add(now, rules.reminder_every));
        Some(regular.min(last_at.max(now)))
    };
}

/// Merges a carrier report into the parcel and returns what to tell whom.
///
/// `incoming` may repeat events the parcel already has, in any order.
pub fn apply_events(
    parcel: &mut Parcel,
    incoming: Vec<CarrierEvent>,
    now: Timestamp,
    rules: &Rules,
    terms: &ShopTerms,
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

    // The pickup office and its storage deadline, from everything said since the arrival.
    let before = parcel.arrival.take();
    parcel.arrival = derived.arrival.as_ref().map(|(office, at)| Arrival {
        office: office.clone(),
        at: *at,
        deadline: deadline_for(parcel, office, *at, rules, terms),
    });
    outcome.deadline_moved = moved(before.as_ref(), parcel.arrival.as_ref());

    let status = parcel.status;
    if !parcel.marks.accepted && status != Status::Registered {
        parcel.marks.accepted = true;
        if matches!(status, Status::Accepted | Status::InTransit) {
            outcome
                .intents
                .push(Intent::new(NotificationKind::Accepted, 1));
        }
    }

    let waiting = parcel.is_waiting_for_pickup();
    if waiting && derived.pickup_offices > parcel.marks.arrivals {
        parcel.marks.arrivals = derived.pickup_offices;
        parcel.marks.last_reminder = false;
        outcome.intents.push(Intent::new(
            NotificationKind::Arrived,
            parcel.marks.arrivals,
        ));
        parcel.next_reminder_at = parcel
            .arrival
            .as_ref()
            .and_then(|a| next_reminder_time(now, a, false, rules));
    } else if let Some(change) = outcome.deadline_moved.clone() {
        replan_reminders(parcel, &change, now, rules, &mut outcome);
    }
    if !waiting {
        parcel.next_reminder_at = None;
    }

    let marks = &mut parcel.marks;
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

/// Works the deadline out again from the parcel's facts after one of them changed outside a
/// carrier report (the parcel's or the shop's storage period, the rules after an upgrade), and
/// plans the reminders again if it moved. Nothing to send comes of it; `withdraw` says which
/// unsent messages no longer fit.
pub fn refresh_deadline(
    parcel: &mut Parcel,
    now: Timestamp,
    rules: &Rules,
    terms: &ShopTerms,
) -> Outcome {
    let mut outcome = Outcome::default();
    let Some(before) = parcel.arrival.clone() else {
        return outcome;
    };
    let deadline = deadline_for(parcel, &before.office, before.at, rules, terms);
    if deadline == before.deadline {
        return outcome;
    }
    if let Some(a) = parcel.arrival.as_mut() {
        a.deadline = deadline;
    }
    outcome.deadline_moved = moved(Some(&before), parcel.arrival.as_ref());
    if let Some(change) = outcome.deadline_moved.clone() {
        replan_reminders(parcel, &change, now, rules, &mut outcome);
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
    if now >= arrival.deadline.at {
        parcel.next_reminder_at = None;
        return None;
    }
    let last_at = sub(arrival.deadline.at, rules.last_reminder_before);
    let marks = &mut parcel.marks;
    let intent = if now >= last_at {
        if marks.last_reminder {
            parcel.next_reminder_at = None;
            return None;
        }
        marks.last_reminder = true;
        marks.last_reminders += 1;
        Intent::new(NotificationKind::LastReminder, marks.last_reminders)
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

/// Whether the carrier has said nothing about a live parcel for `give_up_after`: it is no longer
/// worth asking about.
pub fn should_give_up(parcel: &Parcel, now: Timestamp, rules: &Rules) -> bool {
    (!parcel.status.is_final() || manual::awaits_confirmation(parcel))
        && add(parcel.silent_since(), rules.give_up_after) <= now
}

/// Whole days left before the storage deadline (0 on the last day), in the office's zone, if
/// the parcel waits.
pub fn days_left(parcel: &Parcel, now: Timestamp, terms: &ShopTerms) -> Option<i64> {
    let arrival = parcel.arrival.as_ref()?;
    Some(storage::days_left(
        arrival.deadline.at,
        now,
        &office_zone(&arrival.office, terms),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::carrier::CarrierId;
    use crate::domain::money::Kopecks;
    use crate::domain::parcel::{Customer, NotifyMarks, PollState};
    use crate::domain::shop::ShopId;
    use crate::domain::storage::{CountFrom, Extender, StorageSignal};
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
            storage_days: None,
            mail_type: None,
            handed_over_from: None,
            abandoned_at: None,
            revived_at: None,
            outlook: Default::default(),
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
            storage: None,
            presence: false,
        }
    }

    fn kinds(o: &Outcome) -> Vec<(NotificationKind, u32)> {
        o.intents.iter().map(|i| (i.kind, i.occurrence)).collect()
    }

    /// The default rules, with the storage period counted from the arrival moment (30 days)
    /// so that the arithmetic below stays simple.
    fn rules() -> Rules {
        Rules {
            storage: StorageRules {
                count_from: CountFrom::Arrival,
                periods: [Duration::from_secs(30 * DAY as u64); 7],
                extension: Duration::from_secs(15 * DAY as u64),
            },
            ..Rules::default()
        }
    }

    fn terms() -> ShopTerms {
        ShopTerms::default()
    }

    #[test]
    fn accepted_is_announced_once() {
        let mut p = parcel();
        let o = apply_events(
            &mut p,
            vec![ev(0, Status::Accepted, "1/1", "101000")],
            t(HOUR),
            &rules(),
            &terms(),
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
            &terms(),
        );
        assert!(!o.changed());
        assert!(o.intents.is_empty());

        // Moving on does not announce acceptance again.
        let o = apply_events(
            &mut p,
            vec![ev(HOUR, Status::InTransit, "8/0", "140980")],
            t(3 * HOUR),
            &rules(),
            &terms(),
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
            &terms(),
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
            &terms(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(3 * DAY, Status::ArrivedAtPickup, "8/2", "630099")],
            t(3 * DAY + HOUR),
            &rules(),
            &terms(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Arrived, 1)]);
        let a = p.arrival.clone().unwrap();
        assert_eq!(a.office.index.as_deref(), Some("630099"));
        assert_eq!(a.deadline.at, t(33 * DAY));
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
            &terms(),
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
            &terms(),
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
            &terms(),
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
            &terms(),
        );
        assert!(p.next_reminder_at.is_some());
        let o = apply_events(
            &mut p,
            vec![ev(2 * DAY, Status::Delivered, "2/1", "630099")],
            t(2 * DAY),
            &rules(),
            &terms(),
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
            &terms(),
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
            &terms(),
        );
        apply_events(
            &mut p,
            vec![ev(5 * DAY, Status::ArrivedAtPickup, "8/2", "630099")],
            t(5 * DAY),
            &rules(),
            &terms(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(36 * DAY, Status::Returning, "3/1", "630099")],
            t(36 * DAY),
            &rules(),
            &terms(),
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
            &terms(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.status, Status::Returning);
        let o = apply_events(
            &mut p,
            vec![ev(43 * DAY, Status::ReturnedToSender, "2/2", "101000")],
            t(43 * DAY),
            &rules(),
            &terms(),
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
            &terms(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(DAY, Status::InTransit, "4/1", "630099")],
            t(DAY),
            &rules(),
            &terms(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.next_reminder_at, None);
        let o = apply_events(
            &mut p,
            vec![ev(2 * DAY, Status::ArrivedAtPickup, "8/2", "630100")],
            t(2 * DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Arrived, 2)]);
        assert_eq!(p.arrival.as_ref().unwrap().deadline.at, t(32 * DAY));
        // Back at the first office again: no third announcement.
        apply_events(
            &mut p,
            vec![ev(3 * DAY, Status::InTransit, "4/1", "630100")],
            t(3 * DAY),
            &rules(),
            &terms(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(4 * DAY, Status::ArrivedAtPickup, "8/2", "630099")],
            t(4 * DAY),
            &rules(),
            &terms(),
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
            &terms(),
        );
        let o = apply_events(
            &mut p,
            vec![ev(DAY, Status::DeliveryFailed, "12/9", "630099")],
            t(DAY),
            &rules(),
            &terms(),
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
            &terms(),
        );
        apply_events(
            &mut p,
            vec![ev(DAY, Status::Lost, "5/1", "101000")],
            t(DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(p.status, Status::Lost);
        assert_eq!(p.next_poll_at, None);
        apply_events(
            &mut p,
            vec![ev(2 * DAY, Status::InTransit, "8/0", "1")],
            t(2 * DAY),
            &rules(),
            &terms(),
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
            &terms(),
        );
        assert!(!is_stuck(&p, t(11 * DAY), &r));
        assert!(is_stuck(&p, t(12 * DAY + 1), &r));
        apply_events(
            &mut p,
            vec![ev(6 * DAY, Status::Delivered, "2/1", "101000")],
            t(6 * DAY),
            &r,
            &terms(),
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
            &terms(),
        );
        assert_eq!(days_left(&p, t(0), &terms()), Some(30));
        // Calendar days in the office's zone: a day before the deadline's day is one day left.
        assert_eq!(days_left(&p, t(29 * DAY + 1), &terms()), Some(1));
        assert_eq!(days_left(&p, t(30 * DAY - 1), &terms()), Some(0));
        assert_eq!(days_left(&p, t(40 * DAY), &terms()), Some(0));
    }

    fn said(at: i64, code: &str, signal: StorageSignal) -> CarrierEvent {
        CarrierEvent {
            storage: Some(signal),
            ..ev(at, Status::Registered, code, "630099")
        }
    }

    #[test]
    fn an_extension_after_the_last_reminder_plans_another() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
            &terms(),
        );
        // The last reminder goes two days before day 30.
        let i = fire_reminder(&mut p, t(28 * DAY), &rules()).unwrap();
        assert_eq!((i.kind, i.occurrence), (NotificationKind::LastReminder, 1));
        assert_eq!(p.next_reminder_at, None);
        // The addressee extends storage: 15 more days; the last reminder spoke of day 30.
        let o = apply_events(
            &mut p,
            vec![said(
                28 * DAY + HOUR,
                "8/23",
                StorageSignal::Extended(Extender::Addressee),
            )],
            t(28 * DAY + 2 * HOUR),
            &rules(),
            &terms(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(
            o.deadline_moved,
            Some(DeadlineChange {
                from: Some(t(30 * DAY)),
                to: t(45 * DAY)
            })
        );
        assert_eq!(o.withdraw, [Intent::new(NotificationKind::LastReminder, 1)]);
        assert!(!p.marks.last_reminder);
        let next = p.next_reminder_at.expect("reminders planned again");
        assert!(next <= t(43 * DAY), "{next}");
        // Reminders run on to a second last reminder before the new deadline.
        let mut fired = vec![];
        for _ in 0..10 {
            let Some(due) = p.next_reminder_at else { break };
            if let Some(i) = fire_reminder(&mut p, due, &rules()) {
                fired.push((i.kind, i.occurrence));
            }
        }
        assert_eq!(fired.last(), Some(&(NotificationKind::LastReminder, 2)));
    }

    #[test]
    fn fewer_days_left_than_believed_bring_the_last_reminder_forward() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
            &terms(),
        );
        assert_eq!(p.next_reminder_at, Some(t(5 * DAY)));
        // On day 2 the post says one day is left: the customer must hear it now.
        let o = apply_events(
            &mut p,
            vec![said(2 * DAY, "8/42", StorageSignal::DaysLeft(1))],
            t(2 * DAY + HOUR),
            &rules(),
            &terms(),
        );
        assert_eq!(
            o.deadline_moved.as_ref().map(|c| c.to),
            Some(t(3 * DAY)),
            "one day after the record"
        );
        assert_eq!(p.next_reminder_at, Some(t(2 * DAY + HOUR)));
        let i = fire_reminder(&mut p, t(2 * DAY + HOUR), &rules()).unwrap();
        assert_eq!(i.kind, NotificationKind::LastReminder);
    }

    #[test]
    fn storage_expired_per_the_post_ends_the_reminders() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
            &terms(),
        );
        apply_events(
            &mut p,
            vec![said(10 * DAY, "8/40", StorageSignal::Expired)],
            t(10 * DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(p.arrival.as_ref().unwrap().deadline.at, t(10 * DAY));
        assert_eq!(p.next_reminder_at, None);
        assert_eq!(fire_reminder(&mut p, t(11 * DAY), &rules()), None);
    }

    #[test]
    fn a_changed_period_moves_the_deadline_of_a_waiting_parcel() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(0, Status::ArrivedAtPickup, "8/2", "630099")],
            t(0),
            &rules(),
            &terms(),
        );
        assert_eq!(
            refresh_deadline(&mut p, t(HOUR), &rules(), &terms()),
            Outcome::default(),
            "nothing changed"
        );
        // The shop sets 7 days for its parcels.
        let shop = ShopTerms {
            storage_days: Some(7),
            ..terms()
        };
        let o = refresh_deadline(&mut p, t(HOUR), &rules(), &shop);
        assert_eq!(o.deadline_moved.map(|c| c.to), Some(t(7 * DAY)));
        assert_eq!(p.next_reminder_at, Some(t(5 * DAY)));
        // The parcel's own period wins over the shop's.
        p.storage_days = Some(10);
        refresh_deadline(&mut p, t(2 * HOUR), &rules(), &shop);
        assert_eq!(p.arrival.as_ref().unwrap().deadline.at, t(10 * DAY));
    }

    #[test]
    fn giving_up_counts_from_the_last_sign_of_life_or_a_revival() {
        let mut p = parcel();
        let r = rules();
        // Handed over with a history already months old: watched afresh.
        let mut late = parcel();
        late.created_at = t(100 * DAY);
        apply_events(
            &mut late,
            vec![ev(DAY, Status::Accepted, "1/1", "101000")],
            t(100 * DAY),
            &r,
            &terms(),
        );
        assert!(!should_give_up(&late, t(150 * DAY), &r));
        assert!(should_give_up(&late, t(160 * DAY), &r));
        apply_events(
            &mut p,
            vec![ev(DAY, Status::Accepted, "1/1", "101000")],
            t(DAY),
            &r,
            &terms(),
        );
        assert!(!should_give_up(&p, t(60 * DAY), &r));
        assert!(should_give_up(&p, t(61 * DAY), &r));
        p.revived_at = Some(t(61 * DAY));
        assert!(!should_give_up(&p, t(100 * DAY), &r));
        assert!(should_give_up(&p, t(121 * DAY), &r));
    }

    fn by_hand(at: i64, status: Status, office_index: Option<&str>) -> CarrierEvent {
        crate::domain::manual::event(
            crate::domain::manual::Hand::Operator,
            status,
            "по звонку из отделения",
            office_index.map(office),
            t(at),
        )
        .unwrap()
    }

    #[test]
    fn a_status_set_by_hand_asks_for_the_same_messages_as_the_carriers() {
        let mut p = parcel();
        let o = apply_events(
            &mut p,
            vec![by_hand(3 * DAY, Status::ArrivedAtPickup, Some("630099"))],
            t(3 * DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Arrived, 1)]);
        assert!(p.is_waiting_for_pickup());
        // The carrier's own record of that arrival, dated earlier: the same office, nothing new.
        let o = apply_events(
            &mut p,
            vec![
                ev(0, Status::Accepted, "1/1", "101000"),
                ev(2 * DAY, Status::ArrivedAtPickup, "8/2", "630099"),
            ],
            t(4 * DAY),
            &rules(),
            &terms(),
        );
        assert!(o.intents.is_empty(), "{:?}", kinds(&o));
        assert_eq!(p.marks.arrivals, 1);
        // Delivered by hand, then by the carrier: "delivered" once.
        let o = apply_events(
            &mut p,
            vec![by_hand(5 * DAY, Status::Delivered, None)],
            t(5 * DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(kinds(&o), [(NotificationKind::Delivered, 1)]);
        let o = apply_events(
            &mut p,
            vec![ev(5 * DAY - HOUR, Status::Delivered, "2/1", "630099")],
            t(6 * DAY),
            &rules(),
            &terms(),
        );
        assert!(o.intents.is_empty());
        assert_eq!(p.status, Status::Delivered);
    }

    #[test]
    fn a_final_status_set_by_hand_corrects_the_carrier_and_stands() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![ev(DAY, Status::ReturnedToSender, "2/2", "101000")],
            t(DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(p.status, Status::ReturnedToSender);
        apply_events(
            &mut p,
            vec![by_hand(2 * DAY, Status::Delivered, None)],
            t(2 * DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(
            p.status,
            Status::Delivered,
            "the hand corrects a final status"
        );
        // The carrier keeps saying something else later: the hand's status stands.
        apply_events(
            &mut p,
            vec![ev(3 * DAY, Status::Returning, "3/1", "101000")],
            t(3 * DAY),
            &rules(),
            &terms(),
        );
        assert_eq!(p.status, Status::Delivered);
        let (_, against) = crate::domain::manual::contradictions(&p.events).unwrap();
        assert_eq!(
            against.len(),
            2,
            "the return, and the carrier's move after the hand"
        );
    }

    #[test]
    fn a_parcel_set_final_by_hand_is_polled_until_its_carrier_says_something_final() {
        let mut p = parcel();
        apply_events(
            &mut p,
            vec![by_hand(DAY, Status::Lost, None)],
            t(DAY),
            &rules(),
            &terms(),
        );
        assert!(crate::domain::manual::awaits_confirmation(&p));
        assert!(!should_give_up(&p, t(DAY), &rules()));
        assert!(should_give_up(&p, t(100 * DAY), &rules()));
        apply_events(
            &mut p,
            vec![ev(2 * DAY, Status::Lost, "15/0", "101000")],
            t(2 * DAY),
            &rules(),
            &terms(),
        );
        assert!(!crate::domain::manual::awaits_confirmation(&p));
    }
}
