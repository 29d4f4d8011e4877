//! The `[lanes]` section: whether delivery-time lanes are kept, how many finished journeys a
//! lane needs before it gives estimates, the quantiles of the expected range, and the margin
//! past a lane's 90th percentile after which a parcel is probably at its office.
//!
//! The raw struct refuses unknown keys; [`super::Validator`] turns it into
//! [`EstimateRules`], naming the file and the key in every error.

use super::{ConfigError, Validator, values};
use crate::domain::lanes::EstimateRules;
use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLanes {
    enabled: Option<bool>,
    min_samples: Option<u64>,
    low_quantile: Option<f64>,
    high_quantile: Option<f64>,
    probable_margin: Option<String>,
}

impl Validator<'_> {
    pub(super) fn lanes(&self, r: &RawLanes) -> Result<EstimateRules, ConfigError> {
        let d = EstimateRules::default();
        let min_samples = r.min_samples.unwrap_or(d.min_samples);
        if min_samples == 0 {
            return Err(self.err("lanes.min_samples", "must be at least 1"));
        }
        let quantile = |key: &str, v: Option<f64>, default: f64| {
            let q = v.unwrap_or(default);
            if q.is_finite() && (0.0..=1.0).contains(&q) {
                Ok(q)
            } else {
                Err(self.err(key, format!("{q} is not a quantile between 0 and 1")))
            }
        };
        let low = quantile("lanes.low_quantile", r.low_quantile, d.low)?;
        let high = quantile("lanes.high_quantile", r.high_quantile, d.high)?;
        if low > high {
            return Err(self.err(
                "lanes.low_quantile",
                format!("must not be above lanes.high_quantile ({high})"),
            ));
        }
        let margin = self.value(
            "lanes.probable_margin",
            &r.probable_margin,
            "1d",
            values::duration,
        )?;
        let probable_margin = jiff::SignedDuration::try_from(margin)
            .map_err(|e| self.err("lanes.probable_margin", format!("too long: {e}")))?;
        Ok(EstimateRules {
            enabled: r.enabled.unwrap_or(d.enabled),
            min_samples,
            low,
            high,
            probable_margin,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, Settings, parse};

    fn parse_str(s: &str) -> Result<Settings, ConfigError> {
        parse(s, std::path::Path::new("test.toml"))
    }

    #[test]
    fn lanes_default_and_are_checked() {
        let s = parse_str("").unwrap();
        assert!(s.rules.lanes.enabled);
        assert_eq!(s.rules.lanes.min_samples, 20);
        assert_eq!(s.rules.lanes.probable_margin.as_hours(), 24);
        let s = parse_str("[lanes]\nmin_samples = 3\nlow_quantile = 0.2\nhigh_quantile = 0.8\nprobable_margin = \"2h\"\n").unwrap();
        assert_eq!(
            (
                s.rules.lanes.min_samples,
                s.rules.lanes.low,
                s.rules.lanes.high
            ),
            (3, 0.2, 0.8)
        );
        assert_eq!(s.rules.lanes.probable_margin.as_hours(), 2);
        let e = parse_str("[lanes]\nmin_samples = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lanes.min_samples"), "{e}");
        let e = parse_str("[lanes]\nhigh_quantile = 1.5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lanes.high_quantile"), "{e}");
        let e = parse_str("[lanes]\nlow_quantile = 0.95\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must not be above"), "{e}");
    }
}
