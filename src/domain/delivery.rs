//! What a provider says happened to a message after it accepted it: the delivery report.
//!
//! Providers report in their own codes (SMS.ru 103, SMSC 1); each provider maps them to a
//! [`DeliveryStatus`], which is what the parcel view shows.

use serde::{Deserialize, Serialize};

/// Where an accepted message is, as the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting at the provider.
    Queued,
    /// Handed to the operator, not yet confirmed.
    InTransit,
    /// Delivered to the phone.
    Delivered,
    /// Read (messengers).
    Read,
    /// Its lifetime ran out before the phone took it.
    Expired,
    /// The operator could not deliver it (phone off for too long, bad number, no route).
    Undeliverable,
    /// The operator or provider refused it (stop-list, spam filter, text forbidden).
    Rejected,
    /// The provider does not know the message.
    Unknown,
}

impl DeliveryStatus {
    /// The status's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::InTransit => "in_transit",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Expired => "expired",
            DeliveryStatus::Undeliverable => "undeliverable",
            DeliveryStatus::Rejected => "rejected",
            DeliveryStatus::Unknown => "unknown",
        }
    }

    /// Nothing will change any more: no need to ask again.
    pub fn is_final(self) -> bool {
        !matches!(self, DeliveryStatus::Queued | DeliveryStatus::InTransit)
    }

    /// The message did not reach the customer.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Expired | DeliveryStatus::Undeliverable | DeliveryStatus::Rejected
        )
    }
}

/// A provider's report on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The status.
    pub status: DeliveryStatus,
    /// The provider's own words or code, for failures.
    pub detail: Option<String>,
}

impl DeliveryReport {
    /// A report without details.
    pub fn new(status: DeliveryStatus) -> Self {
        DeliveryReport {
            status,
            detail: None,
        }
    }

    /// A report with the provider's details.
    pub fn with_detail(status: DeliveryStatus, detail: impl Into<String>) -> Self {
        DeliveryReport {
            status,
            detail: Some(detail.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finality() {
        assert!(!DeliveryStatus::Queued.is_final());
        assert!(!DeliveryStatus::InTransit.is_final());
        assert!(DeliveryStatus::Delivered.is_final());
        assert!(DeliveryStatus::Undeliverable.is_failure());
        assert!(!DeliveryStatus::Delivered.is_failure());
        assert_eq!(DeliveryStatus::InTransit.as_str(), "in_transit");
    }
}
