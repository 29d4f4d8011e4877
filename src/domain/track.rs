//! Track numbers: their formats, their check digits and the carrier each belongs to.
//!
//! Three formats are understood:
//! - UPU S10 (`RA644000005RU`): two letters, eight serial digits, a check digit, a country;
//! - Russian Post's 14-digit domestic identifier (ШПИ), whose last digit is a GS1 mod-10 check;
//! - the sandbox's test numbers, `SANDBOX-<SCENARIO>-<n>`.
//!
//! A number of the wrong shape is an error. A number of the right shape whose check digit does
//! not match is kept with a warning: carriers themselves hand out such numbers (Russian Post's
//! own test barcode `RA644000001RU` has a wrong check digit) and do not enforce it.

use super::carrier::CarrierId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A normalised track number: upper case, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrackNumber(String);

impl TrackNumber {
    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps text that is already known to be a normalised track number (from the store).
    pub fn from_trusted(s: impl Into<String>) -> Self {
        TrackNumber(s.into())
    }
}

impl fmt::Display for TrackNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shape a track number has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackFormat {
    /// UPU S10, 13 characters.
    S10,
    /// Russian Post domestic, 14 digits.
    RussianPostDomestic,
    /// A sandbox test number.
    Sandbox,
}

/// The journeys the sandbox carrier can play, named in its test numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxScenario {
    /// Accepted, in transit, arrived at the pickup office, collected.
    Delivered,
    /// Arrives at the pickup office and waits there: reminders keep coming.
    Arrived,
    /// Arrives, is not collected, goes back and is handed to the sender.
    Returned,
    /// Accepted and in transit, then nothing more: flagged stuck after `stuck_after`.
    Stuck,
    /// Accepted, in transit, then registered as lost.
    Lost,
    /// A courier attempt fails, the customer collects it at the office.
    Failed,
    /// Arrives; the post says 5 days are left, then extends storage; collected.
    Extended,
}

impl SandboxScenario {
    /// Every scenario, in the order docs/carriers.md documents them.
    pub const ALL: [SandboxScenario; 7] = [
        SandboxScenario::Delivered,
        SandboxScenario::Arrived,
        SandboxScenario::Returned,
        SandboxScenario::Stuck,
        SandboxScenario::Lost,
        SandboxScenario::Failed,
        SandboxScenario::Extended,
    ];

    /// The upper-case name used in test numbers.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxScenario::Delivered => "DELIVERED",
            SandboxScenario::Arrived => "ARRIVED",
            SandboxScenario::Returned => "RETURNED",
            SandboxScenario::Stuck => "STUCK",
            SandboxScenario::Lost => "LOST",
            SandboxScenario::Failed => "FAILED",
            SandboxScenario::Extended => "EXTENDED",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Why a number of the right shape is still suspicious.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackWarning {
    /// The check digit does not match the serial.
    CheckDigit {
        /// The digit in the number.
        found: u8,
        /// The digit the serial calls for.
        expected: u8,
    },
}

impl fmt::Display for TrackWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrackWarning::CheckDigit { found, expected } => write!(
                f,
                "check digit is {found} but the serial calls for {expected}; the number may be mistyped"
            ),
        }
    }
}

/// A validated track number with what its format tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTrack {
    /// The normalised number.
    pub number: TrackNumber,
    /// Its format.
    pub format: TrackFormat,
    /// The carrier guessed from the format.
    pub carrier: CarrierId,
    /// Set when the check digit does not match.
    pub warning: Option<TrackWarning>,
    /// For sandbox numbers, the journey they play.
    pub scenario: Option<SandboxScenario>,
}

/// A track number that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    /// Nothing was given.
    #[error("track number is empty")]
    Empty,
    /// The text matches none of the known formats.
    #[error(
        "{0:?} is not a track number: expected 14 digits (Russian Post), 2 letters + 9 digits + 2 letters (S10, e.g. RA644000005RU) or SANDBOX-<SCENARIO>-<n>"
    )]
    Format(String),
    /// A sandbox number names a journey the sandbox does not have.
    #[error("{number:?} names an unknown sandbox scenario {scenario:?}; known: {known}")]
    UnknownScenario {
        /// The number as given.
        number: String,
        /// The scenario part.
        scenario: String,
        /// The scenarios that exist.
        known: String,
    },
}

const MAX_INPUT: usize = 64;

/// Normalises and validates a track number, and guesses its carrier.
pub fn parse(input: &str) -> Result<ParsedTrack, TrackError> {
    if input.len() > MAX_INPUT {
        return Err(TrackError::Format(input.chars().take(MAX_INPUT).collect()));
    }
    let norm: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if norm.is_empty() {
        return Err(TrackError::Empty);
    }
    let bytes = norm.as_bytes();

    if let Some(rest) = norm.strip_prefix("SANDBOX-") {
        return parse_sandbox(&norm, rest);
    }

    if bytes.len() == 14 && bytes.iter().all(u8::is_ascii_digit) {
        let digits: Vec<u8> = bytes.iter().map(|b| b - b'0').collect();
        let expected = domestic_check_digit(&digits[..13]);
        return Ok(ParsedTrack {
            warning: check_warning(digits[13], expected),
            number: TrackNumber(norm),
            format: TrackFormat::RussianPostDomestic,
            carrier: CarrierId::RussianPost,
            scenario: None,
        });
    }

    if bytes.len() == 13
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..11].iter().all(u8::is_ascii_digit)
        && bytes[11..].iter().all(u8::is_ascii_uppercase)
    {
        let mut serial = [0u8; 8];
        for (d, b) in serial.iter_mut().zip(&bytes[2..10]) {
            *d = b - b'0';
        }
        let expected = s10_check_digit(&serial);
        let carrier = match (&norm[..1], &norm[11..]) {
            ("E", "RU") => CarrierId::Ems,
            (_, "CN") => CarrierId::ChinaPost,
            // Any other S10 item travelling to a Russian customer is delivered, and tracked,
            // by Russian Post.
            _ => CarrierId::RussianPost,
        };
        return Ok(ParsedTrack {
            warning: check_warning(bytes[10] - b'0', expected),
            number: TrackNumber(norm),
            format: TrackFormat::S10,
            carrier,
            scenario: None,
        });
    }

    Err(TrackError::Format(input.trim().to_string()))
}

fn parse_sandbox(norm: &str, rest: &str) -> Result<ParsedTrack, TrackError> {
    let Some((name, n)) = rest.rsplit_once('-') else {
        return Err(TrackError::Format(norm.to_string()));
    };
    if n.is_empty() || n.len() > 12 || !n.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return Err(TrackError::Format(norm.to_string()));
    }
    let scenario = SandboxScenario::from_name(name).ok_or_else(|| TrackError::UnknownScenario {
        number: norm.to_string(),
        scenario: name.to_string(),
        known: SandboxScenario::ALL.map(|s| s.as_str()).join(", "),
    })?;
    Ok(ParsedTrack {
        number: TrackNumber(norm.to_string()),
        format: TrackFormat::Sandbox,
        carrier: CarrierId::Sandbox,
        warning: None,
        scenario: Some(scenario),
    })
}

fn check_warning(found: u8, expected: u8) -> Option<TrackWarning> {
    (found != expected).then_some(TrackWarning::CheckDigit { found, expected })
}

/// The UPU S10 check digit of an 8-digit serial: weights 8 6 4 2 3 5 9 7, mod 11,
/// with 10 written as 0 and 11 as 5.
pub fn s10_check_digit(serial: &[u8; 8]) -> u8 {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = serial
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c as u8,
    }
}

/// The check digit of a Russian Post 14-digit identifier from its first 13 digits:
/// GS1 mod 10 with weights 3, 1, 3, 1, … starting at the first digit.
pub fn domestic_check_digit(first13: &[u8]) -> u8 {
    let sum: u32 = first13
        .iter()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> ParsedTrack {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn valid_s10_vectors_have_no_warning() {
        for n in [
            "RA644000005RU",
            "RA000000120RU",
            "RD025500807SE",
            "RB123456785GB",
            "RR123456785CN",
            "EE123456785RU",
            "RX747628194CN",
            "UG843417285CN",
            "LX299455986CN",
            "CP337500215CN",
            "LK035658376US",
            "ZF918505785HK",
        ] {
            let p = ok(n);
            assert_eq!(p.format, TrackFormat::S10, "{n}");
            assert_eq!(p.warning, None, "{n}");
        }
    }

    #[test]
    fn invalid_s10_vectors_warn_with_expected_digit() {
        let p = ok("RA644000001RU");
        assert_eq!(
            p.warning,
            Some(TrackWarning::CheckDigit {
                found: 1,
                expected: 5
            })
        );
        for n in [
            "EA123456789RU",
            "RR123456789CN",
            "RA123456789RU",
            "RA999999999RU",
        ] {
            assert!(ok(n).warning.is_some(), "{n} should warn");
        }
    }

    #[test]
    fn domestic_vectors() {
        for n in [
            "62009147017544",
            "10944022440321",
            "14102192069353",
            "80092063905992",
            "10100012000016",
            "10100012000023",
            "10100012000030",
        ] {
            let p = ok(n);
            assert_eq!(p.format, TrackFormat::RussianPostDomestic);
            assert_eq!(p.carrier, CarrierId::RussianPost);
            assert_eq!(p.warning, None, "{n}");
        }
        assert_eq!(
            ok("45008378901234").warning,
            Some(TrackWarning::CheckDigit {
                found: 4,
                expected: 6
            })
        );
        assert_eq!(
            ok("10725878901235").warning,
            Some(TrackWarning::CheckDigit {
                found: 5,
                expected: 1
            })
        );
    }

    #[test]
    fn check_digit_special_cases() {
        // sum 88: r = 0 gives 11, written 5
        assert_eq!(s10_check_digit(&[6, 4, 4, 0, 0, 0, 0, 0]), 5);
        // sum 23: r = 1 gives 10, written 0
        assert_eq!(s10_check_digit(&[0, 0, 0, 0, 0, 0, 1, 2]), 0);
        assert_eq!(domestic_check_digit(&[0; 13]), 0);
    }

    #[test]
    fn carrier_is_guessed_from_the_format() {
        assert_eq!(ok("EE123456785RU").carrier, CarrierId::Ems);
        assert_eq!(ok("RA644000005RU").carrier, CarrierId::RussianPost);
        assert_eq!(ok("RR123456785CN").carrier, CarrierId::ChinaPost);
        assert_eq!(ok("EE123456785CN").carrier, CarrierId::ChinaPost);
        assert_eq!(ok("LK035658376US").carrier, CarrierId::RussianPost);
        assert_eq!(ok("62009147017544").carrier, CarrierId::RussianPost);
    }

    #[test]
    fn input_is_normalised() {
        assert_eq!(ok(" ra 6440 0000 5 ru ").number.as_str(), "RA644000005RU");
        assert_eq!(
            ok("sandbox-delivered-1").number.as_str(),
            "SANDBOX-DELIVERED-1"
        );
    }

    #[test]
    fn sandbox_numbers() {
        let p = ok("SANDBOX-RETURNED-42");
        assert_eq!(p.carrier, CarrierId::Sandbox);
        assert_eq!(p.scenario, Some(SandboxScenario::Returned));
        assert!(matches!(
            parse("SANDBOX-TELEPORTED-1"),
            Err(TrackError::UnknownScenario { .. })
        ));
        assert!(matches!(
            parse("SANDBOX-DELIVERED-"),
            Err(TrackError::Format(_))
        ));
        assert!(matches!(parse("SANDBOX-1"), Err(TrackError::Format(_))));
    }

    #[test]
    fn wrong_shapes_are_errors() {
        for bad in [
            "ABC123",
            "RA64400000RU",
            "1010001200001",
            "101000120000160",
            "R1644000005RU",
            "RA644000005R1",
            "РА644000005RU",
            "💥",
        ] {
            assert!(matches!(parse(bad), Err(TrackError::Format(_))), "{bad}");
        }
        assert_eq!(parse("   "), Err(TrackError::Empty));
        assert!(parse(&"1".repeat(100)).is_err());
    }
}
