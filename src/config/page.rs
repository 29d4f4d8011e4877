//! The customers' tracking page (`[page]`): how often its form may be tried, how long every
//! answer takes, and where the post lets an addressee extend storage.
//!
//! Raw structs refuse unknown keys; [`super::Validator`] turns them into settings, naming the
//! file and the key in every error.

use super::{ConfigError, Rate, Validator, values};
use serde::Deserialize;
use std::num::NonZeroU32;
use std::time::Duration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPage {
    form_rate: Option<String>,
    form_burst: Option<u32>,
    order_rate: Option<String>,
    order_burst: Option<u32>,
    answer_time: Option<String>,
    extend_url: Option<String>,
}

/// The tracking page.
#[derive(Debug, Clone)]
pub struct PageSettings {
    /// How often one client address may send the order form.
    pub form_rate: Rate,
    /// How many forms one address may send at once before `form_rate` applies.
    pub form_burst: NonZeroU32,
    /// How often one order number of a shop may be tried, from any address.
    pub order_rate: Rate,
    /// How many tries of one order number are allowed at once before `order_rate` applies.
    pub order_burst: NonZeroU32,
    /// How long every answer of the form and of a short link takes, found or not, so that the
    /// time of an answer tells nothing.
    pub answer_time: Duration,
    /// The post's page where an addressee extends a parcel's storage; `{track}` stands for the
    /// track number.
    pub extend_url: String,
}

impl Validator<'_> {
    pub(super) fn page(&self, raw: &RawPage) -> Result<PageSettings, ConfigError> {
        let burst = |key: &str, v: Option<u32>, default: u32| {
            NonZeroU32::new(v.unwrap_or(default)).ok_or_else(|| self.err(key, "must be at least 1"))
        };
        let answer_time = self.value(
            "page.answer_time",
            &raw.answer_time,
            "250ms",
            values::duration,
        )?;
        if answer_time > Duration::from_secs(10) {
            return Err(self.err("page.answer_time", "must be at most 10s"));
        }
        let extend_url = raw
            .extend_url
            .clone()
            .unwrap_or_else(|| "https://www.pochta.ru/tracking?barcode={track}".into());
        crate::domain::shop::validate_link(&extend_url)
            .map_err(|e| self.err("page.extend_url", e))?;
        Ok(PageSettings {
            form_rate: self.value("page.form_rate", &raw.form_rate, "20/h", values::rate)?,
            form_burst: burst("page.form_burst", raw.form_burst, 10)?,
            order_rate: self.value("page.order_rate", &raw.order_rate, "6/d", values::rate)?,
            order_burst: burst("page.order_burst", raw.order_burst, 3)?,
            answer_time,
            extend_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn defaults_and_bad_values_named() {
        let s = crate::config::parse("", Path::new("t.toml")).unwrap().page;
        assert_eq!(s.form_burst.get(), 10);
        assert_eq!(s.order_burst.get(), 3);
        assert_eq!(s.order_rate.per, Duration::from_secs(86_400));
        assert_eq!(s.answer_time, Duration::from_millis(250));
        assert!(s.extend_url.contains("{track}"));
        for (text, key) in [
            ("[page]\nform_rate = \"often\"\n", "page.form_rate"),
            ("[page]\norder_burst = 0\n", "page.order_burst"),
            ("[page]\nanswer_time = \"1 hour\"\n", "page.answer_time"),
            ("[page]\nextend_url = \"ftp://x\"\n", "page.extend_url"),
            ("[page]\nform_size = 1\n", "page.form_size"),
        ] {
            let e = crate::config::parse(text, Path::new("t.toml"))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("t.toml: {key}")), "{text}: {e}");
        }
    }
}
