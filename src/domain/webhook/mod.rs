//! Webhooks to a shop's own systems (its CMS, CRM): the endpoints a shop registers, the events
//! parceld tells them about, each delivery's state and retries, and the signature that proves a
//! request came from parceld.
//!
//! Pure: no I/O and no clock reads. The store queues a delivery per endpoint in the same
//! transaction as the change that caused the event ([`crate::store`]); the delivery engine
//! ([`crate::webhooks`]) sends them, one parcel's events to one endpoint in order.

pub mod delivery;
pub mod event;
pub mod signature;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What happened, as a webhook's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    /// The shop handed a new parcel over.
    ParcelCreated,
    /// The parcel's status changed (with the carrier's event that changed it).
    StatusChanged,
    /// The parcel waits at a pickup office (once per office), with its storage deadline.
    Arrived,
    /// The storage deadline moved (with the old and new deadline and its basis).
    DeadlineChanged,
    /// The customer collected it.
    Delivered,
    /// It started back to the sender.
    ReturnStarted,
    /// The carrier said nothing about it for `rules.stuck_after` (once per silence).
    Stuck,
    /// A message to the customer (or the shop's return alert) went out.
    NotificationSent,
    /// A message was given up (a dead letter).
    NotificationFailed,
}

impl EventType {
    /// Every type, in the order docs/api.md lists them. New types are added at the end (the
    /// store keeps them by position).
    pub const ALL: [EventType; 9] = [
        EventType::ParcelCreated,
        EventType::StatusChanged,
        EventType::Arrived,
        EventType::DeadlineChanged,
        EventType::Delivered,
        EventType::ReturnStarted,
        EventType::Stuck,
        EventType::NotificationSent,
        EventType::NotificationFailed,
    ];

    /// The type's name in bodies, the API and the config.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ParcelCreated => "parcel.created",
            EventType::StatusChanged => "parcel.status_changed",
            EventType::Arrived => "parcel.arrived",
            EventType::DeadlineChanged => "parcel.deadline_changed",
            EventType::Delivered => "parcel.delivered",
            EventType::ReturnStarted => "parcel.return_started",
            EventType::Stuck => "parcel.stuck",
            EventType::NotificationSent => "notification.sent",
            EventType::NotificationFailed => "notification.failed",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not an event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}; expected one of {list}", list = EventType::ALL.map(EventType::as_str).join(", "))]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownEventType(s.chars().take(80).collect()))
    }
}

/// One URL of a shop that hears about its parcels. Stored in the shop's list of endpoints (one
/// store record per shop, read in every transaction that may queue an event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Its id (`we_` and 16 hex digits), unique in the shop.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// The event types it wants; empty: every type.
    pub events: Vec<EventType>,
    /// The signing secret (`whsec_…`), shown to the shop once.
    pub secret: String,
    /// The secret before the last rotation: requests carry its signature too until
    /// `previous_until`, so that a receiver can switch without missing an event.
    pub previous_secret: Option<String>,
    /// Until when the previous secret signs as well.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub previous_until: Option<Timestamp>,
    /// When the shop registered it.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub created_at: Timestamp,
    /// Since when every attempt failed (cleared by a success).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub failing_since: Option<Timestamp>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was disabled for failing `webhooks.disable_after`; nothing is sent to it until
    /// the shop enables it again (its events wait).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub disabled_at: Option<Timestamp>,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
}

impl Endpoint {
    /// Whether it wants events of this type.
    pub fn wants(&self, kind: EventType) -> bool {
        self.events.is_empty() || self.events.contains(&kind)
    }

    /// Whether it is disabled.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// The secrets that sign a request at `now`: the current one, and the previous one during
    /// the overlap after a rotation.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let mut out = vec![self.secret.as_str()];
        if let (Some(old), Some(until)) = (&self.previous_secret, self.previous_until)
            && now < until
        {
            out.push(old.as_str());
        }
        out
    }

    /// Replaces the secret; the old one keeps signing until `overlap_until` (if later than now).
    pub fn rotate(&mut self, secret: String, overlap_until: Option<Timestamp>) {
        let old = std::mem::replace(&mut self.secret, secret);
        match overlap_until {
            Some(until) => {
                self.previous_secret = Some(old);
                self.previous_until = Some(until);
            }
            None => {
                self.previous_secret = None;
                self.previous_until = None;
            }
        }
    }

    /// Records a failed attempt at `now`; returns true when it has now failed for
    /// `disable_after` without a success, and disables it.
    pub fn failed(
        &mut self,
        now: Timestamp,
        error: &str,
        disable_after: std::time::Duration,
    ) -> bool {
        let since = *self.failing_since.get_or_insert(now);
        self.last_error = Some(error.chars().take(300).collect());
        let long = since
            .checked_add(disable_after)
            .is_ok_and(|until| now >= until);
        if long && !self.is_disabled() {
            self.disabled_at = Some(now);
            self.disabled_reason = Some(format!(
                "every delivery failed since {since} (webhooks.disable_after = {}); last: {}",
                humantime::format_duration(disable_after),
                self.last_error.as_deref().unwrap_or("")
            ));
            return true;
        }
        false
    }

    /// Records a success: the endpoint is healthy again. Returns whether anything changed.
    pub fn succeeded(&mut self) -> bool {
        let changed = self.failing_since.is_some() || self.last_error.is_some();
        self.failing_since = None;
        self.last_error = None;
        changed
    }

    /// Enables it again (the shop fixed its side); the failure count starts afresh.
    pub fn enable(&mut self) -> bool {
        let was = self.is_disabled();
        self.disabled_at = None;
        self.disabled_reason = None;
        self.failing_since = None;
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_741_000_000 + s).unwrap()
    }

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "we_1".into(),
            url: "https://shop.example/hook".into(),
            events: vec![],
            secret: "whsec_new".into(),
            previous_secret: None,
            previous_until: None,
            created_at: t(0),
            failing_since: None,
            last_error: None,
            disabled_at: None,
            disabled_reason: None,
        }
    }

    #[test]
    fn event_types_round_trip_and_unknown_ones_are_named() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        let e = "parcel.teleported".parse::<EventType>().unwrap_err();
        assert!(e.to_string().contains("parcel.teleported"), "{e}");
        assert!(e.to_string().contains("parcel.stuck"), "{e}");
    }

    #[test]
    fn filters_and_rotation_overlap() {
        let mut e = endpoint();
        assert!(e.wants(EventType::Stuck));
        e.events = vec![EventType::Delivered];
        assert!(!e.wants(EventType::Stuck) && e.wants(EventType::Delivered));
        e.rotate("whsec_newer".into(), Some(t(100)));
        assert_eq!(e.signing_secrets(t(50)), vec!["whsec_newer", "whsec_new"]);
        assert_eq!(e.signing_secrets(t(100)), vec!["whsec_newer"]);
        e.rotate("whsec_last".into(), None);
        assert_eq!(e.signing_secrets(t(0)), vec!["whsec_last"]);
    }

    #[test]
    fn an_endpoint_failing_for_the_whole_period_is_disabled_once() {
        let mut e = endpoint();
        let day = Duration::from_secs(86_400);
        assert!(!e.failed(t(0), "HTTP 500", day));
        assert!(!e.failed(t(86_399), "HTTP 500", day));
        assert!(e.succeeded(), "a success clears the failure");
        assert!(!e.failed(t(90_000), "HTTP 502", day));
        assert!(e.failed(t(90_000 + 86_400), "HTTP 502", day));
        assert!(e.is_disabled());
        assert!(e.disabled_reason.as_deref().unwrap().contains("HTTP 502"));
        assert!(!e.failed(t(200_000), "HTTP 502", day), "disabled once");
        assert!(e.enable());
        assert!(!e.is_disabled() && e.failing_since.is_none());
    }
}
