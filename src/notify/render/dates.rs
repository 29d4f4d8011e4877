//! Dates and durations the way Russian (and English) messages write them: "12 марта",
//! "12 March 2027", "осталось 3 дня".

use crate::domain::shop::Language;
use jiff::Timestamp;
use jiff::tz::TimeZone;

const MONTHS_RU: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// A date as a customer reads it: "12 марта" / "12 March" in the given zone.
pub fn day_month(t: Timestamp, tz: &TimeZone, lang: Language) -> String {
    let d = t.to_zoned(tz.clone()).date();
    match lang {
        Language::Ru => format!("{} {}", d.day(), MONTHS_RU[(d.month() - 1) as usize]),
        Language::En => format!("{} {}", d.day(), d.strftime("%B")),
    }
}

/// A range of days: `12–14 декабря`, `30 ноября – 2 декабря`, `12 декабря` when both fall on
/// the same day.
pub fn range(from: Timestamp, to: Timestamp, tz: &TimeZone, lang: Language) -> String {
    let (a, b) = (
        from.to_zoned(tz.clone()).date(),
        to.to_zoned(tz.clone()).date(),
    );
    if a == b {
        day_month(from, tz, lang)
    } else if (a.year(), a.month()) == (b.year(), b.month()) {
        format!("{}–{}", a.day(), day_month(to, tz, lang))
    } else {
        format!(
            "{} – {}",
            day_month(from, tz, lang),
            day_month(to, tz, lang)
        )
    }
}

/// `12.03.2027`.
pub fn numeric(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .date()
        .strftime("%d.%m.%Y")
        .to_string()
}

/// "3 дня", "1 день", "5 дней" / "3 days".
pub fn days(n: i64, lang: Language) -> String {
    match lang {
        Language::Ru => {
            let word = match (n % 10, n % 100) {
                (_, 11..=14) => "дней",
                (1, _) => "день",
                (2..=4, _) => "дня",
                _ => "дней",
            };
            format!("{n} {word}")
        }
        Language::En => format!("{n} day{}", if n == 1 { "" } else { "s" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_dates_and_plurals() {
        let tz = TimeZone::get("Europe/Moscow").unwrap();
        let t: Timestamp = "2027-03-11T22:30:00Z".parse().unwrap();
        assert_eq!(day_month(t, &tz, Language::Ru), "12 марта");
        assert_eq!(day_month(t, &tz, Language::En), "12 March");
        assert_eq!(numeric(t, &tz), "12.03.2027");
        let words: Vec<String> = [1, 2, 5, 11, 21, 22, 25, 111]
            .iter()
            .map(|&n| days(n, Language::Ru))
            .collect();
        assert_eq!(
            words,
            [
                "1 день",
                "2 дня",
                "5 дней",
                "11 дней",
                "21 день",
                "22 дня",
                "25 дней",
                "111 дней"
            ]
        );
        assert_eq!(days(1, Language::En), "1 day");
    }

    #[test]
    fn ranges_of_days() {
        let tz = TimeZone::get("Asia/Novosibirsk").unwrap();
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let (a, b) = (t("2026-12-12T05:00:00Z"), t("2026-12-14T05:00:00Z"));
        assert_eq!(range(a, b, &tz, Language::Ru), "12–14 декабря");
        assert_eq!(range(a, b, &tz, Language::En), "12–14 December");
        assert_eq!(range(a, a, &tz, Language::Ru), "12 декабря");
        assert_eq!(
            range(t("2026-11-30T05:00:00Z"), b, &tz, Language::Ru),
            "30 ноября – 14 декабря"
        );
    }
}
