//! The shop-facing sections of the config: file imports (`[import]`), the morning report
//! (`[reports]`), erasing personal data (`[retention]`) and the plan new shops get (`[plans]`).
//!
//! Raw structs refuse unknown keys; [`super::Validator`] turns them into settings, naming the
//! file and the key in every error.

use super::{ConfigError, Validator, values};
use crate::domain::plan::Plan;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImport {
    max_file_mb: Option<u64>,
    max_rows: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReports {
    enabled: Option<bool>,
    report_at: Option<String>,
    check_every: Option<String>,
    compare_days: Option<u32>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    erase_after: Option<String>,
    check_every: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlans {
    default_name: Option<String>,
    default_monthly_quota: Option<u64>,
    trial_days: Option<u32>,
}

/// Limits of parcel-table uploads.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The largest file accepted, in bytes.
    pub max_file: usize,
    /// The most data rows one file may have.
    pub max_rows: usize,
}

/// The morning report.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// Whether reports go out on their own at `report_at` (on-demand reports always work).
    pub enabled: bool,
    /// When the report goes out, in the shop's time zone, unless the shop says otherwise.
    pub report_at: jiff::civil::Time,
    /// How often the reporter looks whether a shop's report is due.
    pub check_every: Duration,
    /// The statistics period shown in the report (the last N days), compared with the N days
    /// before.
    pub compare_days: u32,
}

/// Erasing personal data of finished parcels.
#[derive(Debug, Clone)]
pub struct RetentionSettings {
    /// How long after a parcel finished (delivered, returned, lost) its customer's name, phone
    /// and e-mail are erased.
    pub erase_after: Duration,
    /// How often the erasure runs.
    pub check_every: Duration,
}

/// The plan a new shop starts with.
#[derive(Debug, Clone)]
pub struct PlanDefaults {
    /// The plan's name.
    pub name: String,
    /// Monthly quota; `None` for no limit.
    pub monthly_quota: Option<u64>,
    /// Trial length in days; `None` when new shops get no trial end.
    pub trial_days: Option<u32>,
}

impl PlanDefaults {
    /// The plan for a shop created on `today`.
    pub fn plan(&self, today: jiff::civil::Date) -> Plan {
        Plan {
            name: self.name.clone(),
            monthly_quota: self.monthly_quota,
            trial_ends: self
                .trial_days
                .and_then(|d| today.checked_add(jiff::Span::new().days(i64::from(d))).ok()),
        }
    }
}

/// Parses `HH:MM` (24-hour).
pub fn time_of_day(s: &str) -> Result<jiff::civil::Time, String> {
    let bad = || format!("{s:?} is not a time of day; write e.g. \"08:00\"");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    jiff::civil::Time::new(h, m, 0, 0).map_err(|_| bad())
}

impl Validator<'_> {
    pub(super) fn import(&self, r: &RawImport) -> Result<ImportSettings, ConfigError> {
        Ok(ImportSettings {
            max_file: match r.max_file_mb.unwrap_or(20) {
                0 => return Err(self.err("import.max_file_mb", "must be at least 1")),
                n if n > 1024 => return Err(self.err("import.max_file_mb", "must be at most 1024")),
                n => (n * 1024 * 1024) as usize,
            },
            max_rows: match r.max_rows.unwrap_or(100_000) {
                0 => return Err(self.err("import.max_rows", "must be at least 1")),
                n if n > 1_048_576 => {
                    return Err(self.err(
                        "import.max_rows",
                        "must be at most 1048576 (the rows of one Excel sheet)",
                    ));
                }
                n => n,
            },
        })
    }

    pub(super) fn reports(&self, r: &RawReports) -> Result<ReportSettings, ConfigError> {
        Ok(ReportSettings {
            enabled: r.enabled.unwrap_or(true),
            report_at: self.value("reports.report_at", &r.report_at, "08:00", time_of_day)?,
            check_every: self.value(
                "reports.check_every",
                &r.check_every,
                "1m",
                values::positive_duration,
            )?,
            compare_days: match r.compare_days.unwrap_or(30) {
                0 => return Err(self.err("reports.compare_days", "must be at least 1")),
                n if n > 366 => return Err(self.err("reports.compare_days", "must be at most 366")),
                n => n,
            },
        })
    }

    pub(super) fn retention(&self, r: &RawRetention) -> Result<RetentionSettings, ConfigError> {
        Ok(RetentionSettings {
            erase_after: self.value(
                "retention.erase_after",
                &r.erase_after,
                "90d",
                values::positive_duration,
            )?,
            check_every: self.value(
                "retention.check_every",
                &r.check_every,
                "1h",
                values::positive_duration,
            )?,
        })
    }

    pub(super) fn plans(&self, r: &RawPlans) -> Result<PlanDefaults, ConfigError> {
        let name = r.default_name.clone().unwrap_or_else(|| "standard".into());
        if name.trim().is_empty() || name.chars().count() > 40 {
            return Err(self.err("plans.default_name", "must be 1-40 characters"));
        }
        Ok(PlanDefaults {
            name,
            monthly_quota: r.default_monthly_quota.filter(|&q| q > 0),
            trial_days: r.trial_days.filter(|&d| d > 0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<super::super::Settings, ConfigError> {
        super::super::parse(text, Path::new("p.toml"))
    }

    #[test]
    fn defaults() {
        let s = parse("").unwrap();
        assert_eq!(s.import.max_rows, 100_000);
        assert_eq!(s.import.max_file, 20 << 20);
        assert_eq!(s.reports.report_at, jiff::civil::time(8, 0, 0, 0));
        assert_eq!(s.retention.erase_after, Duration::from_secs(90 * 86_400));
        assert_eq!(s.plans.monthly_quota, None);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[reports]\nreport_at = \"25:00\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.toml: reports.report_at: \"25:00\" is not a time of day; write e.g. \"08:00\""
        );
        let e = parse("[import]\nmax_rows = 0\n").unwrap_err();
        assert!(e.to_string().starts_with("p.toml: import.max_rows:"), "{e}");
        let e = parse("[retention]\nerase_after = \"soon\"\n").unwrap_err();
        assert!(
            e.to_string().starts_with("p.toml: retention.erase_after:"),
            "{e}"
        );
        let e = parse("[plans]\nquota = 5\n").unwrap_err();
        assert!(e.to_string().contains("plans.quota"), "{e}");
    }

    #[test]
    fn new_shops_get_the_default_plan() {
        let s = parse(
            "[plans]\ndefault_name = \"trial\"\ndefault_monthly_quota = 100\ntrial_days = 14\n",
        )
        .unwrap();
        let p = s.plans.plan("2026-11-25".parse().unwrap());
        assert_eq!(p.name, "trial");
        assert_eq!(p.monthly_quota, Some(100));
        assert_eq!(p.trial_ends, Some("2026-12-09".parse().unwrap()));
    }
}
