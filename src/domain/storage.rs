//! How long the pickup office keeps a parcel, and why parceld believes so.
//!
//! The storage deadline is derived from recorded facts only, like the status: the period that
//! applies (the parcel's own, else the shop's, else the one the config's table gives the mail
//! type the carrier reported, else the table's `other`), counted from the parcel's arrival, and
//! then whatever the post itself said while the parcel waited: "5 days left" fixes the deadline
//! at that day plus the days named, an extension moves it by the configured extension, "storage
//! expired" ends it. Each deadline keeps its [`Basis`], so a message can be traced to the facts
//! behind it and a changed fact corrects what is still unsent.
//!
//! Days are calendar days in the office's time zone. By default the period is counted from the
//! day after arrival (`count_from = "next_day"`): a parcel that arrives on 7 December with 15
//! days waits until the end of 22 December. Tests count from the arrival moment
//! (`count_from = "arrival"`), so that second-long periods follow the same code.

use super::parcel::CarrierEvent;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

const DAY: u64 = 86_400;

/// Kinds of mail whose storage periods differ under the post's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailClass {
    /// A parcel (посылка), also first-class parcels.
    Parcel,
    /// EMS.
    Ems,
    /// Letters, printed matter (бандероль), postcards: written correspondence.
    Letter,
    /// Small packets (мелкий пакет).
    SmallPacket,
    /// Online-shop parcels (посылка онлайн, курьер онлайн): the sender's contract sets the period.
    ParcelOnline,
    /// ECOM parcels (ЕКОМ, ЕКОМ Маркетплейс).
    Ecom,
    /// Anything else, or a type the carrier did not name.
    Other,
}

impl MailClass {
    /// Every class, in the config's order.
    pub const ALL: [MailClass; 7] = [
        MailClass::Parcel,
        MailClass::Ems,
        MailClass::Letter,
        MailClass::SmallPacket,
        MailClass::ParcelOnline,
        MailClass::Ecom,
        MailClass::Other,
    ];

    /// The key in `[rules.storage]` and the name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MailClass::Parcel => "parcel",
            MailClass::Ems => "ems",
            MailClass::Letter => "letter",
            MailClass::SmallPacket => "small_packet",
            MailClass::ParcelOnline => "parcel_online",
            MailClass::Ecom => "ecom",
            MailClass::Other => "other",
        }
    }

    /// In words, for a deadline's basis: "parcel", "small packet".
    pub fn label(self, lang: super::shop::Language) -> &'static str {
        use super::shop::Language::{En, Ru};
        match (self, lang) {
            (MailClass::Parcel, En) => "parcel",
            (MailClass::Ems, En) => "EMS",
            (MailClass::Letter, En) => "letter",
            (MailClass::SmallPacket, En) => "small packet",
            (MailClass::ParcelOnline, En) => "parcel online",
            (MailClass::Ecom, En) => "ECOM",
            (MailClass::Other, En) => "other mail",
            (MailClass::Parcel, Ru) => "посылка",
            (MailClass::Ems, Ru) => "EMS",
            (MailClass::Letter, Ru) => "письменная корреспонденция",
            (MailClass::SmallPacket, Ru) => "мелкий пакет",
            (MailClass::ParcelOnline, Ru) => "посылка онлайн",
            (MailClass::Ecom, Ru) => "ЕКОМ",
            (MailClass::Other, Ru) => "отправление",
        }
    }
}

impl fmt::Display for MailClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MailClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MailClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown mail type {s:?}; expected one of parcel, ems, letter, small_packet, parcel_online, ecom, other"
                )
            })
    }
}

/// The kind of item, as the carrier reported it (Russian Post's `ItemParameters/MailType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailType {
    /// The class whose storage period applies.
    pub class: MailClass,
    /// The carrier's code for it (Russian Post's MailType id).
    pub code: u16,
    /// The carrier's name for it ("Посылка", "Посылка онлайн").
    pub name: String,
}

/// Who asked for a storage extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extender {
    /// The addressee (6/4, 8/23 by default).
    Addressee,
    /// The sender (6/5).
    Sender,
}

/// What a carrier operation says about the storage period (Russian Post's §3 codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StorageSignal {
    /// "Storage expires: N days left" (8/27 25, 8/33 23, 8/35 10, 8/28 5, 8/42 1, 8/43 2).
    DaysLeft(u16),
    /// Storage in a parcel locker runs out soon; the record names no day (8/10).
    LockerExpiring,
    /// Storage was extended (8/23, 6/4, 6/5); the record does not say by how much.
    Extended(Extender),
    /// An extension was applied for (8/37 by the sender, 8/38 by the addressee).
    ExtensionRequested(Extender),
    /// The extension was refused (49/*; the description says why).
    ExtensionRefused,
    /// Storage expired (8/40): the parcel goes back.
    Expired,
}

/// From when the period is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CountFrom {
    /// From the start of the day after arrival, in calendar days of the office's zone (the
    /// Postal Rules).
    #[default]
    NextDay,
    /// From the moment of arrival, exactly (for tests with second-long periods).
    Arrival,
}

impl FromStr for CountFrom {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "next_day" => Ok(CountFrom::NextDay),
            "arrival" => Ok(CountFrom::Arrival),
            _ => Err(format!("{s:?} is not one of \"next_day\", \"arrival\"")),
        }
    }
}

/// The storage rules from config (`[rules.storage]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRules {
    /// From when the period is counted.
    pub count_from: CountFrom,
    /// The period per mail class, in [`MailClass::ALL`] order.
    pub periods: [Duration; 7],
    /// What an extension adds when the record does not say.
    pub extension: Duration,
}

impl Default for StorageRules {
    /// Russian Post's rules in force since 9 April 2018: parcels and EMS 15 calendar days,
    /// written correspondence and small packets 30; online-shop and ECOM parcels as parcels
    /// (their contracts may set fewer days: shops set their own `storage_days`).
    fn default() -> Self {
        let d = |n: u64| Duration::from_secs(n * DAY);
        StorageRules {
            count_from: CountFrom::NextDay,
            periods: [d(15), d(15), d(30), d(30), d(15), d(15), d(15)],
            extension: d(15),
        }
    }
}

impl StorageRules {
    /// The period of a class.
    pub fn period(&self, class: MailClass) -> Duration {
        let i = MailClass::ALL
            .iter()
            .position(|c| *c == class)
            .unwrap_or(MailClass::ALL.len() - 1);
        self.periods[i]
    }
}

/// Where the period that applies comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodSource {
    /// The parcel's own `storage_days`.
    Parcel,
    /// The shop's `storage_days`.
    Shop,
    /// The config's period for the mail type the carrier reported.
    MailType(MailClass),
    /// The config's `other` period: the carrier named no type.
    Default,
}

/// What the deadline rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// A storage period counted from arrival.
    Period {
        /// The period, in seconds.
        seconds: u64,
        /// Whose period.
        source: PeriodSource,
        /// When the counting started.
        #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
        from: Timestamp,
    },
    /// The post said how many days are left.
    DaysLeft {
        /// Days left.
        days: u16,
        /// When it said so.
        #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
        on: Timestamp,
        /// The operation's code.
        code: String,
    },
    /// The post extended storage.
    Extended {
        /// By how long (the configured extension), in seconds.
        seconds: u64,
        /// Who asked, when the record says.
        by: Option<Extender>,
        /// When.
        #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
        on: Timestamp,
        /// The operation's code.
        code: String,
    },
    /// The post said storage expired.
    Expired {
        /// When.
        #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
        on: Timestamp,
        /// The operation's code.
        code: String,
    },
}

/// Something else the post said about storage, kept beside the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageNote {
    /// What.
    pub signal: StorageSignal,
    /// When.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub on: Timestamp,
    /// The operation's code.
    pub code: String,
    /// The carrier's words ("Отказ в продлении срока хранения. Позже чем за 24 часа").
    pub description: String,
}

/// The storage deadline and what it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// The last moment the office keeps the parcel.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub at: Timestamp,
    /// Why.
    pub basis: Basis,
    /// Requests and refusals of extensions, a locker's warning.
    pub notes: Vec<StorageNote>,
}

impl Deadline {
    /// A deadline of a plain period counted from `from`, ending at `at`, with no known source
    /// (what release 1 stored; tests).
    pub fn plain(from: Timestamp, at: Timestamp) -> Deadline {
        Deadline {
            at,
            basis: Basis::Period {
                seconds: at.duration_since(from).as_secs().max(0) as u64,
                source: PeriodSource::Default,
                from,
            },
            notes: Vec::new(),
        }
    }
}

/// What decides the period before the post says anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeriodInput<'a> {
    /// The parcel's own period, in days.
    pub parcel_days: Option<u16>,
    /// The shop's period, in days.
    pub shop_days: Option<u16>,
    /// The mail type the carrier reported.
    pub mail: Option<&'a MailType>,
}

/// The period that applies, the most specific winning: the parcel's, the shop's, the mail
/// type's, the table's `other`.
pub fn period(input: &PeriodInput<'_>, rules: &StorageRules) -> (Duration, PeriodSource) {
    let days = |n: u16| Duration::from_secs(u64::from(n) * DAY);
    if let Some(n) = input.parcel_days {
        (days(n), PeriodSource::Parcel)
    } else if let Some(n) = input.shop_days {
        (days(n), PeriodSource::Shop)
    } else if let Some(m) = input.mail {
        (rules.period(m.class), PeriodSource::MailType(m.class))
    } else {
        (rules.period(MailClass::Other), PeriodSource::Default)
    }
}

/// The end (last second) of the local day `days` days after the day of `t`.
fn end_of_day(t: Timestamp, days: i64, tz: &TimeZone) -> Timestamp {
    let date = t.to_zoned(tz.clone()).date();
    date.checked_add((days + 1).days())
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok())
        .map(|z| z.timestamp())
        .and_then(|start| start.checked_sub(jiff::SignedDuration::from_secs(1)).ok())
        .unwrap_or(Timestamp::MAX)
}

/// The start of the local day after the day of `t`.
fn next_day_start(t: Timestamp, tz: &TimeZone) -> Timestamp {
    end_of_day(t, 0, tz)
        .checked_add(jiff::SignedDuration::from_secs(1))
        .unwrap_or(Timestamp::MAX)
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// Whole days in `d`, when it is a whole number of days.
fn whole_days(d: Duration) -> Option<i64> {
    (d.as_secs().is_multiple_of(DAY) && d.subsec_nanos() == 0).then_some((d.as_secs() / DAY) as i64)
}

/// `t` moved by `d`: in calendar days when counting in days and `d` is whole days.
fn later(t: Timestamp, d: Duration, tz: &TimeZone, rules: &StorageRules) -> Timestamp {
    match (rules.count_from, whole_days(d)) {
        (CountFrom::NextDay, Some(n)) => end_of_day(t, n, tz),
        _ => add(t, d),
    }
}

/// The deadline of a parcel that arrived at `arrived_at` (in the office's zone `tz`), given the
/// period input and the carrier's events at that office since then (any order; events before
/// the arrival are ignored).
pub fn derive<'a>(
    arrived_at: Timestamp,
    tz: &TimeZone,
    events: impl IntoIterator<Item = &'a CarrierEvent>,
    input: &PeriodInput<'_>,
    rules: &StorageRules,
) -> Deadline {
    let (period, source) = period(input, rules);
    let (at, from) = match (rules.count_from, whole_days(period)) {
        (CountFrom::NextDay, Some(n)) => (
            end_of_day(arrived_at, n, tz),
            next_day_start(arrived_at, tz),
        ),
        (CountFrom::NextDay, None) => {
            let from = next_day_start(arrived_at, tz);
            (add(from, period), from)
        }
        (CountFrom::Arrival, _) => (add(arrived_at, period), arrived_at),
    };
    let mut deadline = Deadline {
        at,
        basis: Basis::Period {
            seconds: period.as_secs(),
            source,
            from,
        },
        notes: Vec::new(),
    };
    let mut said: Vec<&CarrierEvent> = events
        .into_iter()
        .filter(|e| e.at >= arrived_at && e.storage.is_some())
        .collect();
    said.sort_by_key(|e| e.at);
    for e in said {
        let Some(signal) = e.storage else { continue };
        let code = e.code.clone();
        match signal {
            StorageSignal::DaysLeft(n) => {
                let days = Duration::from_secs(u64::from(n) * DAY);
                deadline.at = match rules.count_from {
                    CountFrom::NextDay => end_of_day(e.at, i64::from(n), tz),
                    CountFrom::Arrival => add(e.at, days),
                };
                deadline.basis = Basis::DaysLeft {
                    days: n,
                    on: e.at,
                    code,
                };
            }
            StorageSignal::Extended(by) => {
                if matches!(deadline.basis, Basis::Expired { .. }) {
                    continue;
                }
                deadline.at = later(deadline.at, rules.extension, tz, rules);
                deadline.basis = Basis::Extended {
                    seconds: rules.extension.as_secs(),
                    by: Some(by),
                    on: e.at,
                    code,
                };
            }
            StorageSignal::Expired => {
                deadline.at = deadline.at.min(e.at);
                deadline.basis = Basis::Expired { on: e.at, code };
            }
            StorageSignal::LockerExpiring
            | StorageSignal::ExtensionRequested(_)
            | StorageSignal::ExtensionRefused => deadline.notes.push(StorageNote {
                signal,
                on: e.at,
                code,
                description: e.description.clone(),
            }),
        }
    }
    deadline
}

/// Calendar days from `now` to the deadline's day in `tz` (0 on the last day, never negative).
pub fn days_left(deadline: Timestamp, now: Timestamp, tz: &TimeZone) -> i64 {
    if now >= deadline {
        return 0;
    }
    let today = now.to_zoned(tz.clone()).date();
    let last = deadline.to_zoned(tz.clone()).date();
    today
        .until(last)
        .map_or(0, |s| i64::from(s.get_days()))
        .max(0)
}

fn span_text(seconds: u64, lang: super::shop::Language) -> String {
    use super::shop::Language::{En, Ru};
    if seconds.is_multiple_of(DAY) {
        let n = seconds / DAY;
        return match lang {
            En => format!("{n} day{}", if n == 1 { "" } else { "s" }),
            Ru => {
                let word = match (n % 10, n % 100) {
                    (_, 11..=14) => "дней",
                    (1, _) => "день",
                    (2..=4, _) => "дня",
                    _ => "дней",
                };
                format!("{n} {word}")
            }
        };
    }
    humantime::format_duration(Duration::from_secs(seconds)).to_string()
}

impl Basis {
    /// The basis in words, with dates in `tz`: "15 days, parcel, from 2026-12-08", "extended by
    /// 15 days on 2026-12-20", "5 days left per the post on 2026-12-17".
    pub fn describe(&self, tz: &TimeZone, lang: super::shop::Language) -> String {
        use super::shop::Language::{En, Ru};
        let day = |t: &Timestamp| t.to_zoned(tz.clone()).date().to_string();
        match (self, lang) {
            (
                Basis::Period {
                    seconds,
                    source,
                    from,
                },
                _,
            ) => {
                let whose = match (source, lang) {
                    (PeriodSource::Parcel, En) => "the parcel's own period".to_string(),
                    (PeriodSource::Shop, En) => "the shop's period".to_string(),
                    (PeriodSource::MailType(c), _) => c.label(lang).to_string(),
                    (PeriodSource::Default, En) => "mail type not reported".to_string(),
                    (PeriodSource::Parcel, Ru) => "срок, указанный для посылки".to_string(),
                    (PeriodSource::Shop, Ru) => "срок магазина".to_string(),
                    (PeriodSource::Default, Ru) => "вид отправления не сообщён".to_string(),
                };
                match lang {
                    En => format!("{}, {whose}, from {}", span_text(*seconds, lang), day(from)),
                    Ru => format!("{}, {whose}, с {}", span_text(*seconds, lang), day(from)),
                }
            }
            (Basis::DaysLeft { days, on, code }, En) => format!(
                "{} left per the post on {} ({code})",
                span_text(u64::from(*days) * DAY, lang),
                day(on)
            ),
            (Basis::DaysLeft { days, on, code }, Ru) => format!(
                "по данным почты {} осталось {} ({code})",
                day(on),
                span_text(u64::from(*days) * DAY, lang)
            ),
            (
                Basis::Extended {
                    seconds, on, code, ..
                },
                En,
            ) => format!(
                "extended by {} on {} ({code})",
                span_text(*seconds, lang),
                day(on)
            ),
            (
                Basis::Extended {
                    seconds, on, code, ..
                },
                Ru,
            ) => format!(
                "продлено на {} {} ({code})",
                span_text(*seconds, lang),
                day(on)
            ),
            (Basis::Expired { on, code }, En) => {
                format!("storage expired per the post on {} ({code})", day(on))
            }
            (Basis::Expired { on, code }, Ru) => {
                format!("по данным почты срок хранения истёк {} ({code})", day(on))
            }
        }
    }
}

impl StorageNote {
    /// The note in words: "extension refused on 2026-12-20: …".
    pub fn describe(&self, tz: &TimeZone, lang: super::shop::Language) -> String {
        use super::shop::Language::{En, Ru};
        let day = self.on.to_zoned(tz.clone()).date().to_string();
        let what = match (self.signal, lang) {
            (StorageSignal::ExtensionRequested(_), En) => "extension applied for",
            (StorageSignal::ExtensionRefused, En) => "extension refused",
            (StorageSignal::LockerExpiring, En) => "the parcel locker's storage runs out soon",
            (StorageSignal::ExtensionRequested(_), Ru) => "подано заявление на продление",
            (StorageSignal::ExtensionRefused, Ru) => "в продлении отказано",
            (StorageSignal::LockerExpiring, Ru) => "истекает срок хранения в почтомате",
            (_, En) => "storage",
            (_, Ru) => "хранение",
        };
        format!("{what} on {day} ({}): {}", self.code, self.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::shop::Language;
    use crate::domain::status::Status;

    fn tz() -> TimeZone {
        TimeZone::get("Asia/Novosibirsk").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ev(when: &str, code: &str, signal: StorageSignal) -> CarrierEvent {
        CarrierEvent {
            at: at(when),
            status: Status::Registered,
            code: code.into(),
            description: format!("operation {code}"),
            office: None,
            storage: Some(signal),
            presence: false,
        }
    }

    fn local(t: Timestamp) -> String {
        t.to_zoned(tz()).strftime("%Y-%m-%d %H:%M:%S").to_string()
    }

    fn parcel_type() -> MailType {
        MailType {
            class: MailClass::Parcel,
            code: 4,
            name: "Посылка".into(),
        }
    }

    #[test]
    fn fifteen_days_from_the_day_after_arrival() {
        // Arrived 7 December at 10:00 Novosibirsk time: waits until the end of 22 December.
        let arrived = at("2026-12-07T03:00:00Z");
        let mail = parcel_type();
        let d = derive(
            arrived,
            &tz(),
            [],
            &PeriodInput {
                mail: Some(&mail),
                ..Default::default()
            },
            &StorageRules::default(),
        );
        assert_eq!(local(d.at), "2026-12-22 23:59:59");
        assert_eq!(
            d.basis.describe(&tz(), Language::En),
            "15 days, parcel, from 2026-12-08"
        );
        assert_eq!(days_left(d.at, arrived, &tz()), 15);
        assert_eq!(days_left(d.at, at("2026-12-22T16:00:00Z"), &tz()), 0);
        // Late in the evening, local time is already the next day.
        let late = at("2026-12-07T20:00:00Z"); // 8 December, 03:00 local
        let d = derive(
            late,
            &tz(),
            [],
            &PeriodInput::default(),
            &StorageRules::default(),
        );
        assert_eq!(local(d.at), "2026-12-23 23:59:59");
    }

    #[test]
    fn the_most_specific_period_wins() {
        let rules = StorageRules::default();
        let mail = MailType {
            class: MailClass::SmallPacket,
            code: 5,
            name: "Мелкий пакет".into(),
        };
        let mut input = PeriodInput::default();
        assert_eq!(
            period(&input, &rules),
            (Duration::from_secs(15 * DAY), PeriodSource::Default)
        );
        input.mail = Some(&mail);
        assert_eq!(
            period(&input, &rules),
            (
                Duration::from_secs(30 * DAY),
                PeriodSource::MailType(MailClass::SmallPacket)
            )
        );
        input.shop_days = Some(7);
        assert_eq!(
            period(&input, &rules),
            (Duration::from_secs(7 * DAY), PeriodSource::Shop)
        );
        input.parcel_days = Some(5);
        assert_eq!(
            period(&input, &rules),
            (Duration::from_secs(5 * DAY), PeriodSource::Parcel)
        );
    }

    #[test]
    fn the_post_counts_down_extends_and_ends() {
        let arrived = at("2026-12-07T03:00:00Z");
        let rules = StorageRules::default();
        let mail = parcel_type();
        let input = PeriodInput {
            mail: Some(&mail),
            ..Default::default()
        };
        // The post says 5 days left on 15 December: the end of 20 December, not 22.
        let five = ev("2026-12-15T05:00:00Z", "8/28", StorageSignal::DaysLeft(5));
        let d = derive(arrived, &tz(), [&five], &input, &rules);
        assert_eq!(local(d.at), "2026-12-20 23:59:59");
        assert_eq!(
            d.basis.describe(&tz(), Language::En),
            "5 days left per the post on 2026-12-15 (8/28)"
        );
        // Then extended: 15 more days from the deadline in force.
        let ext = ev(
            "2026-12-16T05:00:00Z",
            "8/23",
            StorageSignal::Extended(Extender::Addressee),
        );
        let d = derive(arrived, &tz(), [&ext, &five], &input, &rules);
        assert_eq!(local(d.at), "2027-01-04 23:59:59");
        assert_eq!(
            d.basis.describe(&tz(), Language::En),
            "extended by 15 days on 2026-12-16 (8/23)"
        );
        // A request and a refusal are kept as notes; the deadline stands.
        let asked = ev(
            "2026-12-17T05:00:00Z",
            "8/38",
            StorageSignal::ExtensionRequested(Extender::Addressee),
        );
        let refused = ev(
            "2026-12-18T05:00:00Z",
            "49/3",
            StorageSignal::ExtensionRefused,
        );
        let d = derive(arrived, &tz(), [&five, &asked, &refused], &input, &rules);
        assert_eq!(local(d.at), "2026-12-20 23:59:59");
        assert_eq!(d.notes.len(), 2);
        assert!(
            d.notes[1]
                .describe(&tz(), Language::En)
                .starts_with("extension refused on 2026-12-18 (49/3)")
        );
        // Expired ends it at that moment, and a later extension record does not revive it.
        let gone = ev("2026-12-19T05:00:00Z", "8/40", StorageSignal::Expired);
        let late_ext = ev(
            "2026-12-19T06:00:00Z",
            "6/5",
            StorageSignal::Extended(Extender::Sender),
        );
        let d = derive(arrived, &tz(), [&five, &gone, &late_ext], &input, &rules);
        assert_eq!(d.at, gone.at);
        assert!(matches!(d.basis, Basis::Expired { .. }));
        // What the post said before the arrival does not count.
        let before = ev("2026-12-01T05:00:00Z", "8/28", StorageSignal::DaysLeft(5));
        let d = derive(arrived, &tz(), [&before], &input, &rules);
        assert_eq!(local(d.at), "2026-12-22 23:59:59");
    }

    #[test]
    fn counting_from_the_arrival_moment_takes_any_duration() {
        let rules = StorageRules {
            count_from: CountFrom::Arrival,
            periods: [Duration::from_secs(60); 7],
            extension: Duration::from_secs(30),
        };
        let arrived = at("2026-12-07T03:00:00Z");
        let d = derive(arrived, &tz(), [], &PeriodInput::default(), &rules);
        assert_eq!(d.at, at("2026-12-07T03:01:00Z"));
        let ext = ev(
            "2026-12-07T03:00:10Z",
            "6/4",
            StorageSignal::Extended(Extender::Addressee),
        );
        let d = derive(arrived, &tz(), [&ext], &PeriodInput::default(), &rules);
        assert_eq!(d.at, at("2026-12-07T03:01:30Z"));
    }
}
