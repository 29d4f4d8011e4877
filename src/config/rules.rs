//! `[rules]` and `[rules.storage]`: the durations the lifecycle follows, and how long offices
//! keep parcels per mail type (the post's rules, changeable without a release: they changed by
//! decree before).

use super::{ConfigError, Validator, values};
use crate::domain::lifecycle::Rules;
use crate::domain::storage::{CountFrom, MailClass, StorageRules};
use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRules {
    reminder_every: Option<String>,
    last_reminder_before: Option<String>,
    stuck_after: Option<String>,
    give_up_after: Option<String>,
    /// Replaced by `[rules.storage]`; named only to refuse it with a useful message.
    storage_period: Option<String>,
    #[serde(default)]
    storage: RawStorage,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    count_from: Option<String>,
    extension: Option<String>,
    parcel: Option<String>,
    ems: Option<String>,
    letter: Option<String>,
    small_packet: Option<String>,
    parcel_online: Option<String>,
    ecom: Option<String>,
    other: Option<String>,
}

impl RawStorage {
    fn period(&self, class: MailClass) -> &Option<String> {
        match class {
            MailClass::Parcel => &self.parcel,
            MailClass::Ems => &self.ems,
            MailClass::Letter => &self.letter,
            MailClass::SmallPacket => &self.small_packet,
            MailClass::ParcelOnline => &self.parcel_online,
            MailClass::Ecom => &self.ecom,
            MailClass::Other => &self.other,
        }
    }
}

/// The default period of each class, as the config documents it.
fn default_period(class: MailClass) -> &'static str {
    match class {
        MailClass::Letter | MailClass::SmallPacket => "30d",
        _ => "15d",
    }
}

impl Validator<'_> {
    pub(super) fn rules(&self, r: &RawRules) -> Result<Rules, ConfigError> {
        if r.storage_period.is_some() {
            return Err(self.err(
                "rules.storage_period",
                "was replaced by the table [rules.storage], a period per mail type (parcel = \"15d\", letter = \"30d\", …, other = \"15d\"); remove this key and set the table if the defaults do not fit",
            ));
        }
        let s = &r.storage;
        let mut periods = [std::time::Duration::ZERO; 7];
        for (i, class) in MailClass::ALL.into_iter().enumerate() {
            periods[i] = self.value(
                &format!("rules.storage.{}", class.as_str()),
                s.period(class),
                default_period(class),
                values::positive_duration,
            )?;
        }
        let storage = StorageRules {
            count_from: self.value(
                "rules.storage.count_from",
                &s.count_from,
                "next_day",
                str::parse::<CountFrom>,
            )?,
            periods,
            extension: self.value(
                "rules.storage.extension",
                &s.extension,
                "15d",
                values::positive_duration,
            )?,
        };
        let rules = Rules {
            reminder_every: self.value(
                "rules.reminder_every",
                &r.reminder_every,
                "5d",
                values::positive_duration,
            )?,
            last_reminder_before: self.value(
                "rules.last_reminder_before",
                &r.last_reminder_before,
                "2d",
                values::duration,
            )?,
            stuck_after: self.value(
                "rules.stuck_after",
                &r.stuck_after,
                "7d",
                values::positive_duration,
            )?,
            give_up_after: self.value(
                "rules.give_up_after",
                &r.give_up_after,
                "60d",
                values::positive_duration,
            )?,
            storage,
            lanes: crate::domain::lanes::EstimateRules::default(),
        };
        if let Some((class, _)) = MailClass::ALL
            .into_iter()
            .zip(rules.storage.periods)
            .find(|(_, p)| rules.last_reminder_before >= *p)
        {
            return Err(self.err(
                "rules.last_reminder_before",
                format!(
                    "must be shorter than every storage period, and rules.storage.{class} is not longer"
                ),
            ));
        }
        if rules.give_up_after <= rules.stuck_after {
            return Err(self.err(
                "rules.give_up_after",
                "must be longer than rules.stuck_after (a parcel is flagged stuck before polling stops)",
            ));
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    fn parse_str(s: &str) -> Result<super::super::Settings, super::ConfigError> {
        super::super::parse(s, Path::new("test.toml"))
    }

    const DAY: u64 = 86_400;

    #[test]
    fn the_storage_table_has_documented_defaults() {
        let s = parse_str("").unwrap();
        let st = &s.rules.storage;
        assert_eq!(
            st.period(crate::domain::storage::MailClass::Parcel),
            Duration::from_secs(15 * DAY)
        );
        assert_eq!(
            st.period(crate::domain::storage::MailClass::Letter),
            Duration::from_secs(30 * DAY)
        );
        assert_eq!(st.extension, Duration::from_secs(15 * DAY));
        assert_eq!(s.rules.give_up_after, Duration::from_secs(60 * DAY));
    }

    #[test]
    fn bad_storage_keys_are_named() {
        let e = parse_str("[rules.storage]\nparcel = \"15 dayz\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rules.storage.parcel"), "{e}");
        let e = parse_str("[rules.storage]\ncount_from = \"monday\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rules.storage.count_from"), "{e}");
        let e = parse_str("[rules]\nstorage_period = \"30d\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rules.storage_period: was replaced by the table [rules.storage]"),
            "{e}"
        );
        let e = parse_str("[rules]\nlast_reminder_before = \"20d\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rules.storage.parcel is not longer"), "{e}");
        let e = parse_str("[rules]\ngive_up_after = \"3d\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rules.give_up_after"), "{e}");
    }
}
