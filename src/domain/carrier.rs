//! Which carrier a parcel travels with.
//!
//! The carrier decides which poller asks about the parcel. It is guessed from the track
//! number's format (see [`crate::domain::track`]) unless the shop names it explicitly.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A carrier that parceld can poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarrierId {
    /// Russian Post (Почта России): 14-digit domestic numbers and S10 numbers ending in RU.
    RussianPost,
    /// EMS Russian Post: S10 numbers starting with E and ending in RU.
    Ems,
    /// China Post and China EMS: S10 numbers ending in CN.
    ChinaPost,
    /// The built-in test carrier: `SANDBOX-<SCENARIO>-<n>` numbers.
    Sandbox,
}

impl CarrierId {
    /// Every carrier, in a stable order.
    pub const ALL: [CarrierId; 4] = [
        CarrierId::RussianPost,
        CarrierId::Ems,
        CarrierId::ChinaPost,
        CarrierId::Sandbox,
    ];

    /// The identifier used in config keys, the API and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            CarrierId::RussianPost => "russian_post",
            CarrierId::Ems => "ems",
            CarrierId::ChinaPost => "china_post",
            CarrierId::Sandbox => "sandbox",
        }
    }

    /// A one-byte tag for store values.
    pub fn tag(self) -> u8 {
        match self {
            CarrierId::RussianPost => 1,
            CarrierId::Ems => 2,
            CarrierId::ChinaPost => 3,
            CarrierId::Sandbox => 4,
        }
    }

    /// The carrier a tag names.
    pub fn from_tag(tag: u8) -> Option<CarrierId> {
        CarrierId::ALL.into_iter().find(|c| c.tag() == tag)
    }

    /// The name customers know, in Russian.
    pub fn display_ru(self) -> &'static str {
        match self {
            CarrierId::RussianPost => "Почта России",
            CarrierId::Ems => "EMS Почта России",
            CarrierId::ChinaPost => "China Post",
            CarrierId::Sandbox => "Песочница parceld",
        }
    }
}

impl fmt::Display for CarrierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not the name of a known carrier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown carrier {0:?}; expected one of russian_post, ems, china_post, sandbox")]
pub struct UnknownCarrier(pub String);

impl FromStr for CarrierId {
    type Err = UnknownCarrier;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match norm.as_str() {
            "russian_post" | "russianpost" | "pochta" | "почта_россии" => {
                Ok(CarrierId::RussianPost)
            }
            "ems" | "ems_russian_post" => Ok(CarrierId::Ems),
            "china_post" | "chinapost" | "china_ems" => Ok(CarrierId::ChinaPost),
            "sandbox" => Ok(CarrierId::Sandbox),
            _ => Err(UnknownCarrier(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in CarrierId::ALL {
            assert_eq!(c.as_str().parse::<CarrierId>(), Ok(c));
        }
        assert_eq!(
            "Russian-Post".parse::<CarrierId>(),
            Ok(CarrierId::RussianPost)
        );
        assert!("dhl".parse::<CarrierId>().is_err());
        for c in CarrierId::ALL {
            assert_eq!(CarrierId::from_tag(c.tag()), Some(c));
        }
    }
}
