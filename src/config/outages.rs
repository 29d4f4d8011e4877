//! Carrier outages (`[outages]`): how long a counting window is, and when a window's answers
//! mean that the carrier stalled ([`crate::domain::outage`]).
//!
//! Raw structs refuse unknown keys; [`super::Validator`] turns them into settings, naming the
//! file and the key in every error.

use super::{ConfigError, Validator, values};
use crate::domain::outage::OutageRules;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutages {
    window: Option<String>,
    min_answers: Option<u64>,
    stall_ratio: Option<f64>,
    min_windows: Option<u32>,
}

/// How carrier outages are told.
#[derive(Debug, Clone)]
pub struct OutageSettings {
    /// How long one counting window is.
    pub window: Duration,
    /// When a window means a stall.
    pub rules: OutageRules,
}

impl Validator<'_> {
    pub(super) fn outages(&self, raw: &RawOutages) -> Result<OutageSettings, ConfigError> {
        let defaults = OutageRules::default();
        let stall_ratio = raw.stall_ratio.unwrap_or(defaults.stall_ratio);
        if !(stall_ratio > 0.0 && stall_ratio < 1.0) {
            return Err(self.err(
                "outages.stall_ratio",
                format!("{stall_ratio} must be between 0 and 1 (0.2: a fifth of the usual news)"),
            ));
        }
        let min_answers = raw.min_answers.unwrap_or(defaults.min_answers);
        if min_answers == 0 {
            return Err(self.err("outages.min_answers", "must be at least 1"));
        }
        Ok(OutageSettings {
            window: self.value(
                "outages.window",
                &raw.window,
                "1h",
                values::positive_duration,
            )?,
            rules: OutageRules {
                min_answers,
                stall_ratio,
                min_windows: raw.min_windows.unwrap_or(defaults.min_windows),
                ..defaults
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn defaults_and_bad_values_named() {
        let s = crate::config::parse("", Path::new("t.toml"))
            .unwrap()
            .outages;
        assert_eq!(s.window, Duration::from_secs(3600));
        assert_eq!(s.rules.min_answers, 50);
        let e = crate::config::parse("[outages]\nstall_ratio = 1.5\n", Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outages.stall_ratio"), "{e}");
        let e = crate::config::parse("[outages]\nwindow = \"0s\"\n", Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outages.window"), "{e}");
    }
}
