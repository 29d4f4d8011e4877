//! Money in kopecks, parsed from what shops write and formatted the Russian way.
//!
//! Amounts are whole kopecks (`u64`), never floats. Input may use a dot or a comma as the
//! decimal separator and spaces (also non-breaking) between thousands: `1490`, `1490.00`,
//! `1 490,5`, `1490 ₽`. Output is `1 490,00 ₽`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in kopecks (1/100 of a rouble).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Kopecks(pub u64);

/// The largest amount accepted: ten million roubles, far above any cash-on-delivery limit.
pub const MAX_KOPECKS: u64 = 10_000_000 * 100;

/// The text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a number.
    #[error("{0:?} is not an amount (expected e.g. 1490.00 or 1 490,00)")]
    NotAnAmount(String),
    /// Below zero.
    #[error("amount must not be negative, got {0:?}")]
    Negative(String),
    /// More than two digits after the separator.
    #[error("{0:?} has more than two digits of kopecks")]
    TooPrecise(String),
    /// Above [`MAX_KOPECKS`].
    #[error("{0:?} is larger than the 10 000 000 ₽ limit")]
    TooLarge(String),
}

impl Kopecks {
    /// Zero roubles.
    pub const ZERO: Kopecks = Kopecks(0);

    /// Parses an amount of roubles written by a person or a spreadsheet.
    pub fn parse(input: &str) -> Result<Kopecks, MoneyError> {
        let original = input.trim();
        let mut s: String = original
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{202f}')
            .collect();
        for suffix in ["₽", "руб.", "руб", "р.", "RUB", "rub"] {
            if let Some(rest) = s.strip_suffix(suffix) {
                s = rest.to_string();
                break;
            }
        }
        if s.is_empty() {
            return Err(MoneyError::NotAnAmount(original.to_string()));
        }
        if s.starts_with('-') {
            return Err(MoneyError::Negative(original.to_string()));
        }
        let s = s.strip_prefix('+').unwrap_or(&s);
        let (whole, frac) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, ""),
        };
        let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && frac.is_empty() || !digits_only(whole) || !digits_only(frac) {
            return Err(MoneyError::NotAnAmount(original.to_string()));
        }
        if frac.len() > 2 {
            // "1490.000" from a spreadsheet is still exact if the extra digits are zeros.
            if frac[2..].bytes().any(|b| b != b'0') {
                return Err(MoneyError::TooPrecise(original.to_string()));
            }
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else if whole.len() > 12 {
            return Err(MoneyError::TooLarge(original.to_string()));
        } else {
            whole
                .parse()
                .map_err(|_| MoneyError::NotAnAmount(original.to_string()))?
        };
        let frac2: String = frac.chars().chain("00".chars()).take(2).collect();
        let kop: u64 = frac2
            .parse()
            .map_err(|_| MoneyError::NotAnAmount(original.to_string()))?;
        let total = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(kop))
            .filter(|t| *t <= MAX_KOPECKS)
            .ok_or_else(|| MoneyError::TooLarge(original.to_string()))?;
        Ok(Kopecks(total))
    }

    /// Whether nothing is due.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `1 490,00 ₽`: thousands separated by a non-breaking space, comma before kopecks.
    pub fn format_rub(self) -> String {
        format!("{} ₽", self.format_plain())
    }

    /// `1 490,00`, without the currency sign.
    pub fn format_plain(self) -> String {
        let roubles = self.0 / 100;
        let kop = self.0 % 100;
        let digits = roubles.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 * 2);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('\u{a0}');
            }
            grouped.push(c);
        }
        format!("{grouped},{kop:02}")
    }

    /// `1490.00`: the machine form used in the API.
    pub fn to_decimal_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl fmt::Display for Kopecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_shops_write() {
        for (input, kop) in [
            ("1490", 149_000),
            ("1490.00", 149_000),
            ("1490,5", 149_050),
            ("1 490,00", 149_000),
            ("1\u{a0}490.00 ₽", 149_000),
            ("1490 руб.", 149_000),
            ("0", 0),
            (".5", 50),
            ("12.", 1_200),
            ("1490.000", 149_000),
            ("+10", 1_000),
        ] {
            assert_eq!(Kopecks::parse(input), Ok(Kopecks(kop)), "{input}");
        }
    }

    #[test]
    fn rejects_nonsense() {
        assert!(matches!(Kopecks::parse("-5"), Err(MoneyError::Negative(_))));
        assert!(matches!(
            Kopecks::parse("1.234"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(
            Kopecks::parse("abc"),
            Err(MoneyError::NotAnAmount(_))
        ));
        assert!(matches!(
            Kopecks::parse("1.2.3"),
            Err(MoneyError::NotAnAmount(_))
        ));
        assert!(matches!(
            Kopecks::parse(""),
            Err(MoneyError::NotAnAmount(_))
        ));
        assert!(matches!(
            Kopecks::parse("."),
            Err(MoneyError::NotAnAmount(_))
        ));
        assert!(matches!(
            Kopecks::parse("1e5"),
            Err(MoneyError::NotAnAmount(_))
        ));
        assert!(matches!(
            Kopecks::parse("99999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            Kopecks::parse("10000001"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn formats_in_russian() {
        assert_eq!(Kopecks(149_000).format_rub(), "1\u{a0}490,00 ₽");
        assert_eq!(Kopecks(5).format_rub(), "0,05 ₽");
        assert_eq!(
            Kopecks(123_456_789).format_plain(),
            "1\u{a0}234\u{a0}567,89"
        );
        assert_eq!(Kopecks(100_000).format_plain(), "1\u{a0}000,00");
        assert_eq!(Kopecks(99_900).format_plain(), "999,00");
        assert_eq!(Kopecks(149_050).to_decimal_string(), "1490.50");
    }
}
