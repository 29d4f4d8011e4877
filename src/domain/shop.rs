//! Shops: the tenants of parceld. Every parcel, key and API path belongs to one shop.

use super::contact::EmailAddress;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A shop's identifier: 1–64 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter
/// or digit. It appears in URLs and store keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShopId(String);

/// The text cannot be a shop id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a shop id: use 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit"
)]
pub struct ShopIdError(pub String);

impl ShopId {
    /// Validates a shop id.
    pub fn parse(input: &str) -> Result<ShopId, ShopIdError> {
        let ok = !input.is_empty()
            && input.len() <= 64
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            && input
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(ShopId(input.to_string()))
        } else {
            Err(ShopIdError(input.chars().take(80).collect()))
        }
    }

    /// Wraps an id that was validated before (from the store).
    pub fn from_trusted(s: impl Into<String>) -> Self {
        ShopId(s.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which language a shop's default messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Russian (the default).
    #[default]
    Ru,
    /// English.
    En,
}

/// A shop and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shop {
    /// Its id.
    pub id: ShopId,
    /// Its name as customers know it; signs every message.
    pub name: String,
    /// Where the morning report and alerts go.
    pub report_email: Option<EmailAddress>,
    /// IANA time zone name, e.g. `Europe/Moscow`: the report time and dates in messages.
    pub timezone: String,
    /// The shop's phone number for customers, shown in messages.
    pub phone: Option<String>,
    /// Language of the default messages.
    pub language: Language,
    /// SHA-256 of the shop's API token, hex. The token itself is never stored.
    pub token_sha256: String,
    /// When the shop was created.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub created_at: jiff::Timestamp,
    /// Its plan: monthly quota and trial end.
    pub plan: super::plan::Plan,
    /// When the morning report goes out, in the shop's time zone; the daemon's default
    /// (`reports.report_at`) when absent.
    pub report_at: Option<jiff::civil::Time>,
    /// How its messages go out and which links they carry.
    pub messaging: Messaging,
    /// How long offices keep its parcels, in days, when its contract with the post sets a
    /// period of its own (online-shop parcels, "from 5 days"); the config's table by mail type
    /// when absent. A parcel's own period wins over it.
    pub storage_days: Option<u16>,
    /// Its colour and logo on the customers' tracking page.
    pub brand: super::brand::Brand,
}

/// A shop's choices about its messages. Everything absent falls back to the daemon's config.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Messaging {
    /// The SMS gateway for this shop (`smsru`, `smsc`, `file`); `sms.transport` when absent.
    pub sms_provider: Option<String>,
    /// The sender name on this shop's SMS (registered with the gateway); the gateway's or
    /// `sms.sender` when absent.
    pub sms_sender: Option<String>,
    /// The shop's own tracking page, `{track}` standing for the track number; the carrier's
    /// public tracking page when absent.
    pub tracking_url: Option<String>,
    /// Where customers leave a review (the thank-you message links to it).
    pub review_url: Option<String>,
}

/// Checks a link a shop gives (`tracking_url`, `review_url`): http(s), no spaces, at most 500
/// characters.
pub fn validate_link(url: &str) -> Result<(), String> {
    let ok_scheme = url.starts_with("https://") || url.starts_with("http://");
    if !ok_scheme || url.len() > 500 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?} is not a link: write an http:// or https:// address of at most 500 characters"
        ));
    }
    Ok(())
}

/// Checks an SMS sender name: 1-11 characters of Latin letters, digits, space and `!?-_.()`, as
/// operators register them.
pub fn validate_sender(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || " !?-_.()".contains(c);
    let n = name.chars().count();
    if n == 0 || n > 11 || !name.chars().all(allowed) {
        return Err(format!(
            "{name:?} is not a sender name: use 1-11 Latin letters, digits, spaces or !?-_.()"
        ));
    }
    Ok(())
}

/// Checks that a time zone name is one the bundled database knows.
pub fn validate_timezone(name: &str) -> Result<(), String> {
    jiff::tz::TimeZone::get(name)
        .map(|_| ())
        .map_err(|_| format!("{name:?} is not a known time zone (expected e.g. Europe/Moscow)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_ids() {
        for good in ["acme", "shop-1", "a", "7days_store"] {
            assert!(ShopId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Acme",
            "-x",
            "_x",
            "a/b",
            "a b",
            "магазин",
            &"a".repeat(65),
        ] {
            assert!(ShopId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_and_senders() {
        assert!(validate_link("https://shop.ru/track/{track}").is_ok());
        assert!(validate_link("ftp://x").is_err());
        assert!(validate_link("https://a b").is_err());
        assert!(validate_sender("Kniga-Dom").is_ok());
        assert!(validate_sender("Книга").is_err());
        assert!(validate_sender("TwelveChars!").is_err());
        assert!(validate_sender("").is_err());
    }

    #[test]
    fn time_zones() {
        assert!(validate_timezone("Europe/Moscow").is_ok());
        assert!(validate_timezone("Asia/Novosibirsk").is_ok());
        assert!(validate_timezone("Mars/Olympus").is_err());
    }
}
