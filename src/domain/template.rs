//! Shops' own message templates: which part of a message a template is for, and the record the
//! store keeps. Rendering and validation live in [`crate::notify::render::templates`].

use super::notification::Channel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The parts of a message that have templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The SMS text.
    Sms,
    /// The e-mail subject.
    #[serde(rename = "email_subject")]
    Subject,
    /// The e-mail's plain-text body.
    #[serde(rename = "email_text")]
    Text,
    /// The e-mail's HTML body.
    #[serde(rename = "email_html")]
    Html,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 4] = [Part::Sms, Part::Subject, Part::Text, Part::Html];

    /// The part's name in the API (`sms`, `email_subject`, `email_text`, `email_html`).
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Sms => "sms",
            Part::Subject => "email_subject",
            Part::Text => "email_text",
            Part::Html => "email_html",
        }
    }

    /// The channel the part's message goes on.
    pub fn channel(self) -> Channel {
        match self {
            Part::Sms => Channel::Sms,
            Part::Subject | Part::Text | Part::Html => Channel::Email,
        }
    }

    /// A one-byte tag for store keys.
    pub fn tag(self) -> u8 {
        match self {
            Part::Sms => 1,
            Part::Subject => 2,
            Part::Text => 3,
            Part::Html => 4,
        }
    }

    /// The part a key tag names.
    pub fn from_tag(tag: u8) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.tag() == tag)
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a template part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?}; expected one of sms, email_subject, email_text, email_html")]
pub struct UnknownPart(pub String);

impl FromStr for Part {
    type Err = UnknownPart;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Part::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPart(s.to_string()))
    }
}

/// A shop's template for one event and part, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTemplate {
    /// The minijinja source.
    pub source: String,
    /// When it was saved.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags_round_trip() {
        for p in Part::ALL {
            assert_eq!(p.as_str().parse::<Part>(), Ok(p));
            assert_eq!(Part::from_tag(p.tag()), Some(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        assert!("html".parse::<Part>().is_err());
    }
}
