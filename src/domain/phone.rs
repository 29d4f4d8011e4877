//! Phone numbers normalised to E.164.
//!
//! Shops write Russian numbers in every form: `8 (912) 345-67-89`, `+7 912 345 67 89`,
//! `79123456789`, `9123456789`. All become `+79123456789`, parsed with libphonenumber's rules
//! (through the `phonenumber` crate) with Russia as the default region. Numbers of other
//! countries are accepted when written with their `+` prefix.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form, e.g. `+79123456789`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

/// The text is not a phone number we can send to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing that looks like a number.
    #[error("{0:?} is not a phone number")]
    NotANumber(String),
    /// A number, but not one that exists in the numbering plan.
    #[error(
        "{0:?} is not a valid phone number (expected e.g. +7 912 345-67-89 or 8 912 345-67-89)"
    )]
    Invalid(String),
}

impl Phone {
    /// Parses and normalises a phone number; Russia is the default region.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 40 || !trimmed.chars().any(|c| c.is_ascii_digit())
        {
            return Err(PhoneError::NotANumber(trimmed.chars().take(40).collect()));
        }
        let number = phonenumber::parse(Some(phonenumber::country::Id::RU), trimmed)
            .map_err(|_| PhoneError::NotANumber(trimmed.to_string()))?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid(trimmed.to_string()));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Phone(e164))
    }

    /// Wraps a number that is already in E.164 form (from the store).
    pub fn from_trusted(s: impl Into<String>) -> Self {
        Phone(s.into())
    }

    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the last four digits hidden, for logs.
    pub fn masked(&self) -> String {
        let digits = self.0.len();
        if digits <= 6 {
            return "***".into();
        }
        format!("{}***{}", &self.0[..2], &self.0[digits - 4..])
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_forms_normalise_to_e164() {
        for input in [
            "+7 912 345-67-89",
            "+79123456789",
            "8 (912) 345-67-89",
            "89123456789",
            "79123456789",
            "7 912 345 67 89",
            "9123456789",
            "+7(912)3456789",
        ] {
            assert_eq!(
                Phone::parse(input).unwrap().as_str(),
                "+79123456789",
                "{input}"
            );
        }
    }

    #[test]
    fn moscow_landline_and_foreign_numbers() {
        assert_eq!(
            Phone::parse("8 495 123-45-67").unwrap().as_str(),
            "+74951234567"
        );
        assert_eq!(
            Phone::parse("+375 29 123-45-67").unwrap().as_str(),
            "+375291234567"
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "   ",
            "abc",
            "12",
            "8 912 345",
            "+7 912 345-67-89-00-11",
            "телефон",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn masking_keeps_the_tail() {
        let p = Phone::parse("+79123456789").unwrap();
        assert_eq!(p.masked(), "+7***6789");
    }
}
