//! Plans: how many parcels a shop may hand over per calendar month, and until when a trial
//! runs. A parcel past the quota, or handed over after the trial ended, is refused with a
//! message that names the limit; parcels already handed over keep being watched.
//!
//! Months and days are the shop's, in its time zone: a Moscow shop's November starts at
//! midnight Moscow time.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A shop's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan's name, as the operator calls it (`trial`, `standard`).
    pub name: String,
    /// New parcels allowed per calendar month; `None` for no limit.
    pub monthly_quota: Option<u64>,
    /// The last day of the trial (inclusive, in the shop's time zone); `None` when the plan
    /// does not end.
    pub trial_ends: Option<Date>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            name: "standard".into(),
            monthly_quota: None,
            trial_ends: None,
        }
    }
}

/// Why a new parcel is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The month's quota is used up.
    QuotaReached {
        /// The plan's name.
        plan: String,
        /// Its monthly quota.
        quota: u64,
        /// The month, `2026-11`.
        month: String,
    },
    /// The trial is over.
    TrialEnded {
        /// The plan's name.
        plan: String,
        /// Its last day.
        ended: Date,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::QuotaReached { plan, quota, month } => write!(
                f,
                "the monthly quota of plan {plan:?} is used up: {quota} new parcels in {month}; \
                 parcels already handed over are still watched; ask the operator for a larger plan"
            ),
            Refusal::TrialEnded { plan, ended } => write!(
                f,
                "the trial of plan {plan:?} ended on {ended}; ask the operator for a plan to hand \
                 over new parcels"
            ),
        }
    }
}

/// The month and day a moment falls on in a time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopDay {
    /// The calendar month, `2026-11`: the usage counter's key.
    pub month: String,
    /// The day.
    pub date: Date,
}

impl ShopDay {
    /// The shop's day at `now` in `tz`.
    pub fn at(now: Timestamp, tz: &TimeZone) -> ShopDay {
        let date = now.to_zoned(tz.clone()).date();
        ShopDay {
            month: format!("{:04}-{:02}", date.year(), date.month()),
            date,
        }
    }
}

impl Plan {
    /// Whether one more new parcel is allowed, when `used` were created this month.
    pub fn admit(&self, used: u64, day: &ShopDay) -> Result<(), Refusal> {
        if let Some(ended) = self.trial_ends
            && day.date > ended
        {
            return Err(Refusal::TrialEnded {
                plan: self.name.clone(),
                ended,
            });
        }
        match self.monthly_quota {
            Some(quota) if used >= quota => Err(Refusal::QuotaReached {
                plan: self.name.clone(),
                quota,
                month: day.month.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// New parcels still allowed this month, when `used` were created (`None`: no limit).
    pub fn remaining(&self, used: u64) -> Option<u64> {
        self.monthly_quota.map(|q| q.saturating_sub(used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> ShopDay {
        let date: Date = s.parse().unwrap();
        ShopDay {
            month: format!("{:04}-{:02}", date.year(), date.month()),
            date,
        }
    }

    #[test]
    fn quota_counts_up_to_the_limit() {
        let p = Plan {
            name: "small".into(),
            monthly_quota: Some(2),
            trial_ends: None,
        };
        let d = day("2026-11-25");
        assert!(p.admit(0, &d).is_ok());
        assert!(p.admit(1, &d).is_ok());
        let err = p.admit(2, &d).unwrap_err();
        assert_eq!(
            err,
            Refusal::QuotaReached {
                plan: "small".into(),
                quota: 2,
                month: "2026-11".into()
            }
        );
        assert!(
            err.to_string().contains("2 new parcels in 2026-11"),
            "{err}"
        );
        assert_eq!(p.remaining(1), Some(1));
        assert_eq!(p.remaining(5), Some(0));
        assert_eq!(Plan::default().remaining(5), None);
    }

    #[test]
    fn trial_ends_after_its_last_day() {
        let p = Plan {
            name: "trial".into(),
            monthly_quota: None,
            trial_ends: Some("2026-11-30".parse().unwrap()),
        };
        assert!(p.admit(1000, &day("2026-11-30")).is_ok());
        let err = p.admit(0, &day("2026-12-01")).unwrap_err();
        assert!(err.to_string().contains("ended on 2026-11-30"), "{err}");
    }

    #[test]
    fn the_month_is_the_shops() {
        // 2026-11-30 22:30 UTC is already December 1st in Moscow (UTC+3).
        let t: Timestamp = "2026-11-30T22:30:00Z".parse().unwrap();
        let moscow = TimeZone::get("Europe/Moscow").unwrap();
        assert_eq!(ShopDay::at(t, &moscow).month, "2026-12");
        assert_eq!(ShopDay::at(t, &TimeZone::UTC).month, "2026-11");
    }

    #[test]
    fn plans_survive_the_store_codec() {
        let p = Plan {
            name: "trial".into(),
            monthly_quota: Some(100),
            trial_ends: Some("2026-12-31".parse().unwrap()),
        };
        let bytes = crate::store::codec::encode(1, &p).unwrap();
        assert_eq!(crate::store::codec::decode::<Plan>(1, &bytes).unwrap(), p);
    }
}
