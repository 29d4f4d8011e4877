//! The normalised statuses every carrier's events are mapped to.
//!
//! Carriers speak in hundreds of operation codes; the rest of parceld speaks in these nine.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a parcel is in its journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The shop handed the parcel to parceld; the carrier has not reported it yet.
    Registered,
    /// The carrier has accepted the parcel.
    Accepted,
    /// On its way (sorting, customs, transport).
    InTransit,
    /// At the pickup office, waiting for the customer.
    ArrivedAtPickup,
    /// A delivery attempt failed (courier, parcel locker); usually it waits at the office.
    DeliveryFailed,
    /// The customer has it. Final.
    Delivered,
    /// On its way back to the sender (storage expired, refused).
    Returning,
    /// Handed back to the sender. Final.
    ReturnedToSender,
    /// Lost, seized or destroyed. Final.
    Lost,
}

impl Status {
    /// Every status, in journey order.
    pub const ALL: [Status; 9] = [
        Status::Registered,
        Status::Accepted,
        Status::InTransit,
        Status::ArrivedAtPickup,
        Status::DeliveryFailed,
        Status::Delivered,
        Status::Returning,
        Status::ReturnedToSender,
        Status::Lost,
    ];

    /// No more events will change anything: stop polling and reminding.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Delivered | Status::ReturnedToSender | Status::Lost
        )
    }

    /// The name used in the API, config and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Registered => "registered",
            Status::Accepted => "accepted",
            Status::InTransit => "in_transit",
            Status::ArrivedAtPickup => "arrived_at_pickup",
            Status::DeliveryFailed => "delivery_failed",
            Status::Delivered => "delivered",
            Status::Returning => "returning",
            Status::ReturnedToSender => "returned_to_sender",
            Status::Lost => "lost",
        }
    }

    /// A short description in Russian for customers and shop reports.
    pub fn label_ru(self) -> &'static str {
        match self {
            Status::Registered => "Зарегистрировано",
            Status::Accepted => "Принято почтой",
            Status::InTransit => "В пути",
            Status::ArrivedAtPickup => "Ожидает в отделении",
            Status::DeliveryFailed => "Неудачная попытка вручения",
            Status::Delivered => "Вручено",
            Status::Returning => "Возвращается отправителю",
            Status::ReturnedToSender => "Возвращено отправителю",
            Status::Lost => "Утрачено",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status {0:?}; expected one of registered, accepted, in_transit, arrived_at_pickup, delivery_failed, delivered, returning, returned_to_sender, lost"
)]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_finals() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        let finals: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            [Status::Delivered, Status::ReturnedToSender, Status::Lost]
        );
        assert!("gone".parse::<Status>().is_err());
    }
}
