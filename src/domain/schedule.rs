//! Daily time windows ("01:00-06:00") and the arithmetic of when to poll next.
//!
//! Polls run at night in the daemon's time zone; messages go out by day in the recipient's.
//! Both are a [`DailyWindow`]. A window may wrap midnight (`22:00-06:00`); `00:00-24:00` (or
//! `always`) is always open.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::fmt;
use std::time::Duration;

/// A span of the day, in some time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    start: Time,
    /// `None` means midnight at the end of the day (`24:00`).
    end: Option<Time>,
}

/// The text is not a daily window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a daily window: expected HH:MM-HH:MM (e.g. 01:00-06:00) or always")]
pub struct WindowError(pub String);

impl DailyWindow {
    /// Open all day.
    pub const ALWAYS: DailyWindow = DailyWindow {
        start: Time::midnight(),
        end: None,
    };

    /// Parses `HH:MM-HH:MM` or `always`.
    pub fn parse(input: &str) -> Result<DailyWindow, WindowError> {
        let s = input.trim();
        if s.eq_ignore_ascii_case("always") {
            return Ok(Self::ALWAYS);
        }
        let err = || WindowError(input.to_string());
        let (a, b) = s.split_once('-').ok_or_else(err)?;
        let start = parse_hhmm(a.trim()).ok_or_else(err)?.ok_or_else(err)?;
        let end = parse_hhmm(b.trim()).ok_or_else(err)?;
        if end == Some(start) {
            return Err(err());
        }
        Ok(DailyWindow { start, end })
    }

    /// Whether the window is open all day.
    pub fn is_always(&self) -> bool {
        self.start == Time::midnight() && self.end.is_none()
    }

    fn contains_time(&self, t: Time) -> bool {
        match self.end {
            None => t >= self.start,
            Some(end) if self.start < end => t >= self.start && t < end,
            Some(end) => t >= self.start || t < end,
        }
    }

    /// Whether `at` falls inside the window in `tz`.
    pub fn contains(&self, at: Timestamp, tz: &TimeZone) -> bool {
        self.is_always() || self.contains_time(at.to_zoned(tz.clone()).time())
    }

    /// The earliest instant at or after `at` inside the window.
    pub fn next_open(&self, at: Timestamp, tz: &TimeZone) -> Timestamp {
        if self.contains(at, tz) {
            return at;
        }
        let zoned = at.to_zoned(tz.clone());
        let today = zoned.date();
        for day in 0..3 {
            let Ok(date) = today.checked_add(day.days()) else {
                break;
            };
            if let Ok(start) = date.to_datetime(self.start).to_zoned(tz.clone()) {
                let ts = start.timestamp();
                if ts > at {
                    return ts;
                }
            }
        }
        at
    }

    /// When the window closes next after `at` (which should be inside it); `None` if always open.
    pub fn closes_after(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let end = self.end?;
        let zoned = at.to_zoned(tz.clone());
        let today = zoned.date();
        (0..3).find_map(|day: i64| {
            let date = today.checked_add(day.days()).ok()?;
            let ts = date.to_datetime(end).to_zoned(tz.clone()).ok()?.timestamp();
            (ts > at).then_some(ts)
        })
    }
}

impl DailyWindow {
    /// The last time the window opened at or before `at`; `None` for an always-open window.
    pub fn last_open(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if self.is_always() {
            return None;
        }
        let today = at.to_zoned(tz.clone()).date();
        (0..3).find_map(|back: i64| {
            let date = today.checked_sub(back.days()).ok()?;
            let ts = date
                .to_datetime(self.start)
                .to_zoned(tz.clone())
                .ok()?
                .timestamp();
            (ts <= at).then_some(ts)
        })
    }
}

fn parse_hhmm(s: &str) -> Option<Option<Time>> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: i8 = h.parse().ok()?;
    let m: i8 = m.parse().ok()?;
    if h == 24 && m == 0 {
        return Some(None);
    }
    Time::new(h, m, 0, 0).ok().map(Some)
}

impl fmt::Display for DailyWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_always() {
            return f.write_str("always");
        }
        let end = match self.end {
            Some(t) => t.strftime("%H:%M").to_string(),
            None => "24:00".into(),
        };
        write!(f, "{}-{}", self.start.strftime("%H:%M"), end)
    }
}

/// When to poll a parcel again after a successful poll at `now`: `every` later, moved into the
/// next open window.
pub fn next_poll_after_success(
    now: Timestamp,
    every: Duration,
    window: &DailyWindow,
    tz: &TimeZone,
) -> Timestamp {
    let earliest = now.checked_add(every).unwrap_or(Timestamp::MAX);
    window.next_open(earliest, tz)
}

/// Exponential backoff with full jitter: a delay between zero and
/// `min(cap, base * 2^(failures-1))`, picked by `random` (any `u64`; pass a random number).
pub fn backoff(failures: u32, base: Duration, cap: Duration, random: u64) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let ceiling = base
        .checked_mul(1u32 << exp)
        .unwrap_or(cap)
        .min(cap)
        .as_millis()
        .max(1) as u64;
    // Never retry sooner than a tenth of the ceiling, so a fault does not turn into a hammer.
    let floor = ceiling / 10;
    Duration::from_millis(floor + random % (ceiling - floor + 1))
}

/// The earlier of two times, either of which may be missing.
pub fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msk() -> TimeZone {
        TimeZone::get("Europe/Moscow").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        for s in ["01:00-06:00", "22:00-06:00", "09:00-21:00", "always"] {
            assert_eq!(DailyWindow::parse(s).unwrap().to_string(), s);
        }
        assert!(DailyWindow::parse("00:00-24:00").unwrap().is_always());
        for bad in [
            "",
            "1-6",
            "25:00-06:00",
            "01:00",
            "01:00-01:00",
            "01:60-02:00",
            "aa:bb-cc:dd",
        ] {
            assert!(DailyWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn night_window_in_moscow() {
        let w = DailyWindow::parse("01:00-06:00").unwrap();
        // 12:00 MSK = 09:00 UTC: closed; next open is 01:00 MSK the next day = 22:00 UTC.
        assert!(!w.contains(at("2025-03-10T09:00:00Z"), &msk()));
        assert_eq!(
            w.next_open(at("2025-03-10T09:00:00Z"), &msk()),
            at("2025-03-10T22:00:00Z")
        );
        // 02:00 MSK is inside.
        assert!(w.contains(at("2025-03-10T23:00:00Z"), &msk()));
        assert_eq!(
            w.closes_after(at("2025-03-10T23:00:00Z"), &msk()),
            Some(at("2025-03-11T03:00:00Z"))
        );
        // 00:30 MSK: opens in half an hour, the same night.
        assert_eq!(
            w.next_open(at("2025-03-10T21:30:00Z"), &msk()),
            at("2025-03-10T22:00:00Z")
        );
    }

    #[test]
    fn window_across_midnight() {
        let w = DailyWindow::parse("22:00-06:00").unwrap();
        let utc = TimeZone::UTC;
        assert!(w.contains(at("2025-03-10T23:00:00Z"), &utc));
        assert!(w.contains(at("2025-03-10T05:59:00Z"), &utc));
        assert!(!w.contains(at("2025-03-10T06:00:00Z"), &utc));
        assert_eq!(
            w.next_open(at("2025-03-10T12:00:00Z"), &utc),
            at("2025-03-10T22:00:00Z")
        );
    }

    #[test]
    fn next_poll_lands_in_the_window() {
        let w = DailyWindow::parse("01:00-06:00").unwrap();
        let day = Duration::from_secs(86_400);
        // Polled at 01:30 MSK: next at 01:30 the next night.
        let next = next_poll_after_success(at("2025-03-10T22:30:00Z"), day, &w, &msk());
        assert_eq!(next, at("2025-03-11T22:30:00Z"));
        // Polled at 05:59 with a 2-hour interval: next night at 01:00.
        let next = next_poll_after_success(
            at("2025-03-11T02:59:00Z"),
            Duration::from_secs(7200),
            &w,
            &msk(),
        );
        assert_eq!(next, at("2025-03-11T22:00:00Z"));
        let next = next_poll_after_success(
            at("2025-03-11T02:59:00Z"),
            Duration::from_secs(2),
            &DailyWindow::ALWAYS,
            &msk(),
        );
        assert_eq!(next, at("2025-03-11T02:59:02Z"));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        for failures in 1..40 {
            for r in [0, 1, 12345, u64::MAX] {
                let d = backoff(failures, base, cap, r);
                let ceiling = (1u64 << (failures - 1).min(30)).min(60) * 1000;
                assert!(d.as_millis() as u64 <= ceiling, "{failures} {d:?}");
                assert!(d.as_millis() as u64 >= ceiling / 10, "{failures} {d:?}");
            }
        }
        assert_eq!(backoff(1, base, cap, 0), Duration::from_millis(100));
    }
}
