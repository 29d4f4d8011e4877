//! What the lifecycle asks to be said, to whom and over which channel.
//!
//! An [`Intent`] is "tell the customer their parcel arrived (the first arrival)". It becomes one
//! outbox entry per channel, keyed by shop, track, parcel id, kind, occurrence and channel, so
//! that deriving the same intent twice (after a crash, a repeated poll) finds the entry that
//! already exists instead of making a second one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A way of reaching someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A text message to a phone.
    Sms,
    /// An e-mail.
    Email,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 2] = [Channel::Sms, Channel::Email];

    /// The channel's name in config, the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// A one-byte tag for store keys.
    pub fn tag(self) -> u8 {
        match self {
            Channel::Sms => 1,
            Channel::Email => 2,
        }
    }

    /// The channel a key tag names.
    pub fn from_tag(tag: u8) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.tag() == tag)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a channel name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?}; expected sms or email")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sms" => Ok(Channel::Sms),
            "email" | "e-mail" => Ok(Channel::Email),
            _ => Err(UnknownChannel(s.to_string())),
        }
    }
}

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The person collecting the parcel.
    Customer,
    /// The shop that sent it (its report address).
    Shop,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// The post accepted the parcel.
    Accepted,
    /// The parcel is waiting at the pickup office.
    Arrived,
    /// It is still waiting; sent every `reminder_every`.
    Reminder,
    /// The storage deadline is near; the last reminder.
    LastReminder,
    /// Collected; thank you.
    Delivered,
    /// No arrival was recorded, but the parcel is very likely waiting at the office
    /// ([`super::inference`]).
    ProbablyArrived,
    /// To the shop: the parcel started back (storage expired, refused).
    ReturnStarted,
    /// To the shop: the morning report. Sent by the reporter, never kept in the outbox, so it
    /// is not among [`NotificationKind::ALL`] and has no template.
    ShopReport,
}

impl NotificationKind {
    /// Every kind the lifecycle asks for (and the outbox keeps).
    pub const ALL: [NotificationKind; 7] = [
        NotificationKind::Accepted,
        NotificationKind::Arrived,
        NotificationKind::ProbablyArrived,
        NotificationKind::Reminder,
        NotificationKind::LastReminder,
        NotificationKind::Delivered,
        NotificationKind::ReturnStarted,
    ];

    /// Who it is for.
    pub fn audience(self) -> Audience {
        match self {
            NotificationKind::ReturnStarted | NotificationKind::ShopReport => Audience::Shop,
            _ => Audience::Customer,
        }
    }

    /// The kind's name in the API, templates and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Accepted => "accepted",
            NotificationKind::Arrived => "arrived",
            NotificationKind::Reminder => "reminder",
            NotificationKind::LastReminder => "last_reminder",
            NotificationKind::Delivered => "delivered",
            NotificationKind::ReturnStarted => "return_started",
            NotificationKind::ShopReport => "report",
            NotificationKind::ProbablyArrived => "probably_arrived",
        }
    }

    /// A one-byte tag for store keys.
    pub fn tag(self) -> u8 {
        match self {
            NotificationKind::Accepted => 1,
            NotificationKind::Arrived => 2,
            NotificationKind::Reminder => 3,
            NotificationKind::LastReminder => 4,
            NotificationKind::Delivered => 5,
            NotificationKind::ReturnStarted => 6,
            NotificationKind::ShopReport => 7,
            NotificationKind::ProbablyArrived => 8,
        }
    }

    /// The kind a key tag names.
    pub fn from_tag(tag: u8) -> Option<NotificationKind> {
        NotificationKind::ALL.into_iter().find(|k| k.tag() == tag)
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a notification kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown event {0:?}; expected one of accepted, arrived, probably_arrived, reminder, last_reminder, delivered, return_started"
)]
pub struct UnknownKind(pub String);

impl FromStr for NotificationKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NotificationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// "Say this, the n-th time": produced by the lifecycle, turned into outbox entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Intent {
    /// What about.
    pub kind: NotificationKind,
    /// Which occurrence: 1 for the first arrival, 3 for the third reminder.
    pub occurrence: u32,
}

impl Intent {
    /// An intent of `kind`, occurrence `n`.
    pub fn new(kind: NotificationKind, occurrence: u32) -> Self {
        Intent { kind, occurrence }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_unique_and_round_trip() {
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::from_tag(k.tag()), Some(k));
            assert_eq!(k.as_str().parse::<NotificationKind>(), Ok(k));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::from_tag(c.tag()), Some(c));
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
        }
        assert_eq!(NotificationKind::ReturnStarted.audience(), Audience::Shop);
        assert_eq!(NotificationKind::Arrived.audience(), Audience::Customer);
    }
}
