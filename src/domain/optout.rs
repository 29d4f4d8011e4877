//! Opt-outs: a customer who asked for no more messages, for one parcel (the unsubscribe link,
//! the shop on the customer's behalf) or for every parcel (an inbound SMS "STOP"). Each is
//! recorded with where it came from; an opted-out channel gets no pending or future message.

use super::notification::Channel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How the customer asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutSource {
    /// The unsubscribe page, confirmed with its button.
    Link,
    /// A mail client's one-click unsubscribe (RFC 8058).
    OneClick,
    /// A reply "STOP" forwarded by the SMS gateway.
    SmsStop,
    /// The shop, on the customer's behalf.
    Shop,
}

impl OptOutSource {
    /// The source's name in the API and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            OptOutSource::Link => "link",
            OptOutSource::OneClick => "one_click",
            OptOutSource::SmsStop => "sms_stop",
            OptOutSource::Shop => "shop",
        }
    }
}

/// One recorded opt-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// The channel.
    pub channel: Channel,
    /// How it was asked for.
    pub source: OptOutSource,
    /// When.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub at: Timestamp,
}

/// Whether an inbound SMS asks to stop messages: STOP, СТОП, ОТПИСАТЬСЯ and the like, in any
/// case, alone in the message (punctuation ignored).
pub fn is_stop_word(text: &str) -> bool {
    let word: String = text
        .trim()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    matches!(
        word.as_str(),
        "stop" | "unsubscribe" | "стоп" | "отписка" | "отписаться" | "отменить" | "нет"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words() {
        for yes in ["STOP", " stop ", "Стоп!", "ОТПИСАТЬСЯ", "unsubscribe."] {
            assert!(is_stop_word(yes), "{yes}");
        }
        for no in ["stop sending me spam please", "спасибо", "", "стопка"] {
            assert!(!is_stop_word(no), "{no}");
        }
    }
}
