//! Parsers for the value types config keys hold: durations, rates, daily windows, time zones and
//! file permission modes.
//!
//! Each returns a plain message; [`super`] adds the file and the key.

use crate::domain::schedule::DailyWindow;
use std::num::NonZeroU32;
use std::time::Duration;

/// A rate limit: `count` requests per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many.
    pub count: NonZeroU32,
    /// Per how long.
    pub per: Duration,
}

impl Rate {
    /// The governor quota for this rate: requests spaced evenly, `per / count` apart, no burst
    /// (so never more than `count` in any span of `per`).
    pub fn quota(self) -> governor::Quota {
        let period = self.per / self.count.get();
        governor::Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| governor::Quota::per_second(self.count))
            .allow_burst(NonZeroU32::MIN)
    }

    /// Requests per second, for logs and metrics.
    pub fn per_second(self) -> f64 {
        f64::from(self.count.get()) / self.per.as_secs_f64()
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.count, humantime::format_duration(self.per))
    }
}

/// Parses a humantime duration (`5d`, `30s`, `1h 30m`).
pub fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        format!("{s:?} is not a duration ({e}); write e.g. \"30s\", \"5d\", \"1h 30m\"")
    })
}

/// Parses a duration that must be above zero.
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.is_zero() {
        return Err(format!("{s:?} must be longer than zero"));
    }
    Ok(d)
}

/// Parses a rate: `5/s`, `100/min`, `2/m`, `1000/h`, `10/1s`.
pub fn rate(s: &str) -> Result<Rate, String> {
    let bad = || format!("{s:?} is not a rate; write e.g. \"5/s\", \"100/min\" or \"1000/h\"");
    let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
    let count: u32 = n.trim().parse().map_err(|_| bad())?;
    let count =
        NonZeroU32::new(count).ok_or_else(|| format!("{s:?}: the count must be above zero"))?;
    let per = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86_400),
        other => positive_duration(other).map_err(|_| bad())?,
    };
    Ok(Rate { count, per })
}

/// Parses a daily window (`01:00-06:00`, `always`).
pub fn window(s: &str) -> Result<DailyWindow, String> {
    DailyWindow::parse(s).map_err(|e| e.to_string())
}

/// Checks an IANA time zone name.
pub fn timezone(s: &str) -> Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(s.trim())
        .map_err(|_| format!("{s:?} is not a known time zone; write e.g. \"Europe/Moscow\""))
}

/// Parses an octal file mode (`"0660"`).
pub fn file_mode(s: &str) -> Result<u32, String> {
    let digits = s.trim().trim_start_matches("0o");
    let mode = u32::from_str_radix(digits, 8)
        .map_err(|_| format!("{s:?} is not an octal file mode; write e.g. \"0660\""))?;
    if mode > 0o777 {
        return Err(format!("{s:?} is not a file mode (at most 0777)"));
    }
    if mode & 0o007 != 0 {
        return Err(format!(
            "{s:?} gives other users access to the control socket; use 0660 or 0600"
        ));
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("5d"), Ok(Duration::from_secs(5 * 86_400)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert!(duration("5 dayz").is_err());
        assert!(positive_duration("0s").is_err());
    }

    #[test]
    fn rates() {
        let r = rate("5/s").unwrap();
        assert_eq!((r.count.get(), r.per), (5, Duration::from_secs(1)));
        assert_eq!(rate("100/min").unwrap().per, Duration::from_secs(60));
        assert_eq!(rate("10/2s").unwrap().per, Duration::from_secs(2));
        assert!((rate("200/s").unwrap().per_second() - 200.0).abs() < 1e-9);
        for bad in ["", "5", "0/s", "x/s", "5/fortnight", "-1/s"] {
            assert!(rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!(file_mode("0660"), Ok(0o660));
        assert_eq!(file_mode("600"), Ok(0o600));
        assert!(file_mode("0666").is_err(), "world access refused");
        assert!(file_mode("9").is_err());
    }
}
