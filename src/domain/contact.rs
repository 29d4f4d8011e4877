//! E-mail addresses, validated with the same parser that will send to them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// The text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an e-mail address")]
pub struct EmailError(pub String);

impl EmailAddress {
    /// Validates an address (RFC 5321 syntax, as lettre accepts it).
    pub fn parse(input: &str) -> Result<EmailAddress, EmailError> {
        let trimmed = input.trim();
        if trimmed.len() > 254 {
            return Err(EmailError(
                trimmed.chars().take(40).collect::<String>() + "…",
            ));
        }
        trimmed
            .parse::<lettre::Address>()
            .map(|a| EmailAddress(a.to_string()))
            .map_err(|_| EmailError(trimmed.to_string()))
    }

    /// Wraps an address that was validated before (from the store).
    pub fn from_trusted(s: impl Into<String>) -> Self {
        EmailAddress(s.into())
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `i***@example.ru`, for logs.
    pub fn masked(&self) -> String {
        match self.0.split_once('@') {
            Some((user, domain)) => {
                let first: String = user.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".into(),
        }
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_masks() {
        let e = EmailAddress::parse(" ivan@example.ru ").unwrap();
        assert_eq!(e.as_str(), "ivan@example.ru");
        assert_eq!(e.masked(), "i***@example.ru");
        for bad in ["", "ivan", "ivan@", "@example.ru", "a b@example.ru"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }
}
