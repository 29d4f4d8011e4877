//! Polite polling: where in the night a parcel is asked about, which parcels come first when the
//! daily budget cannot cover them all, and how long a delivered parcel is still asked about for
//! its cash-on-delivery money.
//!
//! - [`slot`]: a parcel that comes due outside its carrier's window is placed at a fixed,
//!   pseudo-random point of the next window (derived from its key), so that a night's work is
//!   spread over the window instead of arriving in one burst when it opens.
//! - [`priority`] and [`rank`]: when the budget is short, parcels waiting at the office and
//!   parcels that moved recently are asked about first; ties go to whoever waited longest since
//!   its last poll, so nobody starves.
//! - [`wants_poll`]: finished parcels are never asked about again, except a delivered parcel with
//!   cash on delivery whose payment the carrier has not confirmed yet, for `cod_follow_up`.

use super::parcel::Parcel;
use super::schedule::DailyWindow;
use super::status::Status;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::time::Duration;

/// A stable 64-bit FNV-1a hash, for spreading parcels over a window the same way every run.
pub fn stable_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// When to poll something that may be polled from `earliest` on: `earliest` itself if the
/// window is open then, else a point of the next window chosen by `key`, within the first three
/// quarters of the window (the last quarter is left for retries).
pub fn slot(window: &DailyWindow, tz: &TimeZone, earliest: Timestamp, key: &str) -> Timestamp {
    if window.contains(earliest, tz) {
        return earliest;
    }
    let open = window.next_open(earliest, tz);
    let Some(close) = window.closes_after(open, tz) else {
        return open;
    };
    let span_ms = close.as_millisecond() - open.as_millisecond();
    let usable = (span_ms / 4 * 3).max(1) as u64;
    let offset = (stable_hash(key) % usable) as i64;
    Timestamp::from_millisecond(open.as_millisecond() + offset).unwrap_or(open)
}

/// The start of the budget period `now` falls in and when it ends: the current window for a
/// window that opens and closes, the calendar day (in `tz`) for an always-open one.
pub fn budget_period(
    window: &DailyWindow,
    tz: &TimeZone,
    now: Timestamp,
) -> (Timestamp, Timestamp) {
    let day = now.to_zoned(tz.clone());
    let midnight = day.start_of_day().map(|z| z.timestamp()).unwrap_or(now);
    let tomorrow = day
        .tomorrow()
        .and_then(|z| z.start_of_day())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    if window.is_always() {
        return (midnight, tomorrow);
    }
    match (window.last_open(now, tz), window.closes_after(now, tz)) {
        (Some(opened), Some(close)) if window.contains(now, tz) => (opened, close),
        _ => (now, window.next_open(now, tz)),
    }
}

/// How likely a parcel is to have moved since it was last asked about; lower comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Waiting at the pickup office: it may have been collected.
    Waiting,
    /// An event in the last two days, or handed over in the last three days.
    Moving,
    /// Everything else.
    Slow,
}

/// How urgently `p` should be asked about at `now`.
pub fn priority(p: &Parcel, now: Timestamp) -> Priority {
    const MOVING: i64 = 2 * 86_400;
    const NEW: i64 = 3 * 86_400;
    if p.is_waiting_for_pickup() || p.awaits_cod_payment() {
        return Priority::Waiting;
    }
    let since = |t: Timestamp| now.as_second() - t.as_second();
    match p.last_event() {
        Some(e) if since(e.at) <= MOVING => Priority::Moving,
        None if since(p.created_at) <= NEW => Priority::Moving,
        _ => Priority::Slow,
    }
}

/// Orders parcels for a short budget: by [`priority`], then longest since the last poll
/// (never polled first), then by key for a stable order. Returns indexes into `parcels`.
pub fn rank(parcels: &[&Parcel], now: Timestamp) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..parcels.len()).collect();
    idx.sort_by(|&a, &b| {
        let (pa, pb) = (parcels[a], parcels[b]);
        priority(pa, now)
            .cmp(&priority(pb, now))
            .then_with(|| pa.poll.last_polled_at.cmp(&pb.poll.last_polled_at))
            .then_with(|| {
                (pa.shop.as_str(), pa.track.as_str()).cmp(&(pb.shop.as_str(), pb.track.as_str()))
            })
    });
    idx
}

/// Whether the poller should still ask about `p` at `now`: it is not finished, it was set
/// final by hand and the carrier has not said so yet ([`super::manual::awaits_confirmation`]),
/// or it was delivered with cash on delivery that the carrier has not reported paid, less than
/// `cod_follow_up` ago.
pub fn wants_poll(p: &Parcel, now: Timestamp, cod_follow_up: Duration) -> bool {
    if !p.status.is_final() || super::manual::awaits_confirmation(p) {
        return true;
    }
    if !p.awaits_cod_payment() {
        return false;
    }
    let delivered_at = p
        .events
        .iter()
        .rev()
        .find(|e| e.status == Status::Delivered)
        .map_or(p.updated_at, |e| e.at);
    delivered_at
        .checked_add(cod_follow_up)
        .is_ok_and(|until| now < until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::carrier::CarrierId;
    use crate::domain::money::Kopecks;
    use crate::domain::parcel::{Arrival, CarrierEvent, Customer, NotifyMarks, Office, PollState};
    use crate::domain::shop::ShopId;
    use crate::domain::track::TrackNumber;

    fn msk() -> TimeZone {
        TimeZone::get("Europe/Moscow").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn parcel(track: &str) -> Parcel {
        Parcel {
            id: 1,
            shop: ShopId::from_trusted("acme"),
            track: TrackNumber::from_trusted(track),
            carrier: CarrierId::RussianPost,
            track_warning: None,
            order_id: None,
            customer: Customer::default(),
            cod: Kopecks(0),
            contents: None,
            created_at: at("2025-03-01T00:00:00Z"),
            updated_at: at("2025-03-01T00:00:00Z"),
            status: Status::Registered,
            events: vec![],
            arrival: None,
            marks: NotifyMarks::default(),
            next_poll_at: None,
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

    fn event(t: &str, status: Status) -> CarrierEvent {
        CarrierEvent {
            at: at(t),
            status,
            code: "8/0".into(),
            description: String::new(),
            office: None,
            storage: None,
            presence: false,
        }
    }

    #[test]
    fn slots_spread_a_night_and_keep_open_times() {
        let w = DailyWindow::parse("01:00-06:00").unwrap();
        // 12:00 MSK: outside; the slot is in the first 3¾ hours of the 01:00-06:00 window.
        let noon = at("2025-03-10T09:00:00Z");
        let open = at("2025-03-10T22:00:00Z");
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            let s = slot(&w, &msk(), noon, &format!("acme/1010001200{i:04}"));
            assert!(
                s >= open && s < open + Duration::from_secs(3 * 3600 + 2700),
                "{s}"
            );
            seen.insert(s.as_second() / 900);
        }
        assert!(seen.len() >= 10, "spread over the window: {seen:?}");
        // The same key lands on the same slot.
        assert_eq!(slot(&w, &msk(), noon, "k"), slot(&w, &msk(), noon, "k"));
        // Inside the window: now.
        let inside = at("2025-03-10T23:00:00Z");
        assert_eq!(slot(&w, &msk(), inside, "k"), inside);
        assert_eq!(slot(&DailyWindow::ALWAYS, &msk(), noon, "k"), noon);
    }

    #[test]
    fn budget_periods() {
        let w = DailyWindow::parse("01:00-06:00").unwrap();
        // 02:00 MSK: the window opened at 01:00 and closes at 06:00.
        let (s, e) = budget_period(&w, &msk(), at("2025-03-10T23:00:00Z"));
        assert_eq!(
            (s, e),
            (at("2025-03-10T22:00:00Z"), at("2025-03-11T03:00:00Z"))
        );
        // Always open: the calendar day in Moscow.
        let (s, e) = budget_period(&DailyWindow::ALWAYS, &msk(), at("2025-03-10T23:00:00Z"));
        assert_eq!(
            (s, e),
            (at("2025-03-10T21:00:00Z"), at("2025-03-11T21:00:00Z"))
        );
        // Outside the window: nothing until it opens.
        let (s, e) = budget_period(&w, &msk(), at("2025-03-10T09:00:00Z"));
        assert_eq!(
            (s, e),
            (at("2025-03-10T09:00:00Z"), at("2025-03-10T22:00:00Z"))
        );
    }

    #[test]
    fn waiting_and_moving_parcels_come_first() {
        let now = at("2025-03-20T00:00:00Z");
        let mut waiting = parcel("W");
        waiting.status = Status::ArrivedAtPickup;
        waiting.events = vec![event("2025-03-05T00:00:00Z", Status::ArrivedAtPickup)];
        waiting.arrival = Some(Arrival {
            office: Office::default(),
            at: at("2025-03-05T00:00:00Z"),
            deadline: crate::domain::storage::Deadline::plain(
                at("2025-03-05T00:00:00Z"),
                at("2025-04-04T00:00:00Z"),
            ),
        });
        let mut moving = parcel("M");
        moving.status = Status::InTransit;
        moving.events = vec![event("2025-03-19T00:00:00Z", Status::InTransit)];
        moving.poll.last_polled_at = Some(at("2025-03-19T01:00:00Z"));
        let mut slow = parcel("S");
        slow.status = Status::InTransit;
        slow.events = vec![event("2025-03-02T00:00:00Z", Status::InTransit)];
        let mut slow_old_poll = slow.clone();
        slow_old_poll.track = TrackNumber::from_trusted("S2");
        slow_old_poll.poll.last_polled_at = Some(at("2025-03-10T00:00:00Z"));
        slow.poll.last_polled_at = Some(at("2025-03-18T00:00:00Z"));
        let mut fresh = parcel("N");
        fresh.created_at = at("2025-03-19T12:00:00Z");

        assert_eq!(priority(&waiting, now), Priority::Waiting);
        assert_eq!(priority(&moving, now), Priority::Moving);
        assert_eq!(priority(&fresh, now), Priority::Moving);
        assert_eq!(priority(&slow, now), Priority::Slow);

        let all = [&slow, &moving, &slow_old_poll, &waiting, &fresh];
        let order: Vec<&str> = rank(&all, now)
            .into_iter()
            .map(|i| all[i].track.as_str())
            .collect();
        // Fresh was never polled, so it goes before the moving one; the slow parcel polled
        // longest ago goes before the other slow one.
        assert_eq!(order, ["W", "N", "M", "S2", "S"]);
    }

    #[test]
    fn finished_parcels_are_not_polled_except_unpaid_cod() {
        let now = at("2025-03-20T00:00:00Z");
        let follow = Duration::from_secs(14 * 86_400);
        let mut p = parcel("D");
        assert!(wants_poll(&p, now, follow));
        p.status = Status::Delivered;
        p.events = vec![event("2025-03-15T00:00:00Z", Status::Delivered)];
        assert!(!wants_poll(&p, now, follow), "prepaid and delivered");
        p.cod = Kopecks(149_000);
        assert!(
            wants_poll(&p, now, follow),
            "the money is not confirmed yet"
        );
        assert!(
            !wants_poll(&p, at("2025-03-30T00:00:00Z"), follow),
            "given up after the follow-up period"
        );
        p.cod_paid_at = Some(at("2025-03-16T00:00:00Z"));
        assert!(!wants_poll(&p, now, follow));
        p.status = Status::ReturnedToSender;
        p.cod_paid_at = None;
        assert!(
            !wants_poll(&p, now, follow),
            "returned parcels are never paid"
        );
    }
}
