//! Opt-outs: a customer who asked for no more messages, for one parcel (the unsubscribe link,
//! the shop on the customer's behalf) or from one shop (a reply with a stop word to that shop's
//! SMS). Each is recorded with where it came from; an opted-out channel gets no pending or
//! future message.
//!
//! A reply is read as a stop only when the whole reply is one of [`STOP_WORDS`] (case, and
//! spaces and punctuation around it, ignored): "нет" may answer a question, "отменить" may mean
//! the order, and "stop sending me spam" is a sentence the shop should read, not a keyword. The
//! reply unsubscribes from the shop whose message it answers ([`answered`]), never from every
//! shop that writes to the number.

use super::notification::Channel;
use super::shop::ShopId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The replies that unsubscribe, in lower case: the whole reply must be one of them.
pub const STOP_WORDS: [&str; 7] = [
    "стоп",
    "stop",
    "stopall",
    "отписка",
    "отписаться",
    "отпишите",
    "unsubscribe",
];

/// How the customer asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutSource {
    /// The unsubscribe page, confirmed with its button.
    Link,
    /// A mail client's one-click unsubscribe (RFC 8058).
    OneClick,
    /// A reply with a stop word, forwarded by the SMS gateway.
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

/// What an opt-out covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOutScope {
    /// One parcel's messages.
    Parcel,
    /// Every message of one shop to that phone or address.
    Shop,
}

impl OptOutScope {
    /// The scope's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OptOutScope::Parcel => "parcel",
            OptOutScope::Shop => "shop",
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

/// Whether an inbound SMS asks to stop messages: the whole reply is one of [`STOP_WORDS`], in
/// any case, with spaces and punctuation around it ignored ("Стоп!", " stop. ").
pub fn is_stop_word(text: &str) -> bool {
    let word = text
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    STOP_WORDS.contains(&word.as_str())
}

/// An SMS sent to the phone a reply came from, as far as a reply needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The shop that sent it.
    pub shop: ShopId,
    /// The gateway it went through.
    pub gateway: String,
    /// The sender name it carried (the shop's own, else the gateway's).
    pub sender: String,
    /// When the gateway took it.
    pub sent_at: Timestamp,
}

/// The message a reply answers, among those sent to its phone: the latest one through the
/// gateway the reply came from; when the gateway says which sender name or number the reply
/// was written to (`to`) and one of them carried it, the latest of those. `None` when nothing
/// went to that phone through that gateway.
pub fn answered<'a>(sent: &'a [SentSms], gateway: &str, to: Option<&str>) -> Option<&'a SentSms> {
    let latest = |it: &mut dyn Iterator<Item = &'a SentSms>| it.max_by_key(|s| s.sent_at);
    let through = || sent.iter().filter(|s| s.gateway == gateway);
    let addressed = to
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .and_then(|t| latest(&mut through().filter(|s| same_sender(&s.sender, t))));
    addressed.or_else(|| latest(&mut through()))
}

/// Whether a sender name and the address a reply was written to are the same: names in any
/// case, numbers by their digits.
fn same_sender(sender: &str, to: &str) -> bool {
    let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    let numeric = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
    };
    if numeric(sender) && numeric(to) {
        return !digits(sender).is_empty() && digits(sender) == digits(to);
    }
    sender.trim().to_lowercase() == to.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_the_whole_reply() {
        for yes in [
            "STOP",
            " stop ",
            "Стоп!",
            "СТОП",
            "«стоп»",
            "ОТПИСАТЬСЯ",
            "Отписка.",
            "unsubscribe.",
            "\nStopAll\n",
        ] {
            assert!(is_stop_word(yes), "{yes:?}");
        }
        for no in [
            "нет",
            "Нет!",
            "отменить",
            "stop sending me spam",
            "стоп, а где посылка?",
            "s t o p",
            "спасибо",
            "",
            "!!!",
            "стопка",
        ] {
            assert!(!is_stop_word(no), "{no:?}");
        }
    }

    #[test]
    fn the_list_is_lower_case_and_without_punctuation() {
        for w in STOP_WORDS {
            assert_eq!(w, w.to_lowercase());
            assert!(w.chars().all(char::is_alphanumeric), "{w}");
        }
    }

    fn sms(shop: &str, gateway: &str, sender: &str, at: i64) -> SentSms {
        SentSms {
            shop: ShopId::from_trusted(shop),
            gateway: gateway.into(),
            sender: sender.into(),
            sent_at: Timestamp::from_second(1_800_000_000 + at).unwrap(),
        }
    }

    #[test]
    fn a_reply_answers_the_latest_message_through_its_gateway() {
        let sent = [
            sms("acme", "smsru", "Acme", 10),
            sms("books", "smsru", "Books", 20),
            sms("toys", "smsc", "Toys", 30),
        ];
        let shop = |gw, to| answered(&sent, gw, to).map(|s| s.shop.as_str());
        assert_eq!(
            shop("smsru", None),
            Some("books"),
            "the latest through SMS.ru"
        );
        assert_eq!(shop("smsc", None), Some("toys"));
        assert_eq!(shop("file", None), None, "nothing went through it");
        assert_eq!(answered(&[], "smsru", None), None);
    }

    #[test]
    fn the_sender_name_the_reply_was_written_to_picks_the_shop() {
        let sent = [
            sms("acme", "smsru", "Acme", 10),
            sms("books", "smsru", "Books", 20),
            sms("phone", "smsru", "+7 (912) 000-00-01", 5),
        ];
        let shop = |to| answered(&sent, "smsru", Some(to)).map(|s| s.shop.as_str());
        assert_eq!(shop("ACME"), Some("acme"), "names in any case");
        assert_eq!(
            shop("79120000001"),
            Some("phone"),
            "numbers by their digits"
        );
        assert_eq!(
            shop("7000"),
            Some("books"),
            "an address no message carried: the latest through the gateway"
        );
        assert_eq!(shop(" "), Some("books"));
    }
}
