//! Opening hours as the office directory writes them ("пн–пт 08:00–20:00, сб 09:00–18:00, вс
//! выходной"), read into a week so that the page can show one line per day and highlight today.
//!
//! What is read: day names and ranges in Russian or English (`пн`, `понедельник`, `mon`,
//! `пн–пт`, `сб, вс`), `ежедневно`/`daily`/`без выходных`, `будни`/`weekdays`, `выходные`/
//! `weekends` before hours, times `8:00`, `08.00` in ranges (`с 9:00 до 18:00` too), several
//! ranges a day, a break (`перерыв 13:00–14:00`), `круглосуточно`/`24/7`, and a day off
//! (`выходной`, `closed`). Anything else makes the text unreadable, and the page shows it as it
//! is: a guess would be worse than none.

use jiff::civil::Time;

/// What one day's hours are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Day {
    /// The text does not say.
    #[default]
    Unknown,
    /// Closed.
    Closed,
    /// Open around the clock.
    AllDay,
    /// Open in these ranges, with these breaks.
    Open {
        /// Opening ranges, in order.
        ranges: Vec<(Time, Time)>,
        /// Breaks, in order.
        breaks: Vec<(Time, Time)>,
    },
}

/// A week of hours, Monday first.
pub type Week = [Day; 7];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Day(usize),
    Days(Vec<usize>),
    Time(Time),
    Dash,
    Closed,
    AllDay,
    Break,
    Weekend,
}

const DAY_NAMES: [&[&str]; 7] = [
    &["пн", "пон", "понедельник", "mon", "monday"],
    &["вт", "вторник", "tue", "tues", "tuesday"],
    &["ср", "среда", "wed", "wednesday"],
    &["чт", "четверг", "thu", "thur", "thurs", "thursday"],
    &["пт", "пятница", "fri", "friday"],
    &["сб", "суббота", "sat", "saturday"],
    &["вс", "воскресенье", "sun", "sunday"],
];

/// Words that carry no meaning of their own here ("с 9:00 до 18:00", "пн и ср").
const FILLER: [&str; 8] = ["с", "до", "from", "to", "и", "and", "часы", "работы"];

fn word(w: &str) -> Option<Option<Token>> {
    if let Some(d) = DAY_NAMES.iter().position(|names| names.contains(&w)) {
        return Some(Some(Token::Day(d)));
    }
    Some(Some(match w {
        "ежедневно" | "daily" | "everyday" => Token::Days((0..7).collect()),
        "будни" | "weekdays" => Token::Days((0..5).collect()),
        "выходные" | "weekends" => Token::Weekend,
        "выходной" | "closed" | "нерабочий" | "off" => Token::Closed,
        "круглосуточно" | "круглосуточный" => Token::AllDay,
        "перерыв" | "обед" | "break" | "lunch" => Token::Break,
        w if FILLER.contains(&w) => return Some(None),
        _ => return None,
    }))
}

/// Splits one segment into tokens; `None` if something in it cannot be read.
fn tokens(segment: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = segment.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            // "без выходных": every day.
            if w == "без" {
                let rest: String = chars[i..].iter().collect();
                let rest = rest.trim_start();
                if let Some(after) = rest.strip_prefix("выходных") {
                    out.push(Token::Days((0..7).collect()));
                    i = chars.len() - after.chars().count();
                    continue;
                }
                return None;
            }
            if let Some(t) = word(&w)? {
                out.push(t);
            }
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let hours: String = chars[start..i].iter().collect();
            // "24/7"
            if hours == "24" && chars.get(i) == Some(&'/') && chars.get(i + 1) == Some(&'7') {
                out.push(Token::AllDay);
                i += 2;
                continue;
            }
            let sep = chars.get(i).copied();
            let minutes: String = chars.iter().skip(i + 1).take(2).collect();
            if !matches!(sep, Some(':' | '.'))
                || minutes.chars().count() != 2
                || !minutes.chars().all(|c| c.is_ascii_digit())
                || chars.get(i + 3).is_some_and(char::is_ascii_digit)
            {
                return None;
            }
            let (h, m): (i8, i8) = (hours.parse().ok()?, minutes.parse().ok()?);
            let t = match (h, m) {
                (24, 0) => Time::MAX,
                (0..=23, 0..=59) => Time::new(h, m, 0, 0).ok()?,
                _ => return None,
            };
            out.push(Token::Time(t));
            i += 3;
        } else if matches!(c, '-' | '–' | '—' | '−') {
            out.push(Token::Dash);
            i += 1;
        } else if c.is_whitespace() || matches!(c, ':' | '.' | '(' | ')') {
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// What one segment says: the days it names (maybe none) and what they are.
struct Said {
    days: Vec<usize>,
    what: Option<Day>,
}

fn interpret(tokens: &[Token]) -> Option<Said> {
    let mut days: Vec<usize> = Vec::new();
    let mut times: Vec<Time> = Vec::new();
    let mut break_times: Vec<Time> = Vec::new();
    let mut in_break = false;
    let mut closed = false;
    let mut all_day = false;
    let mut weekend = false;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Day(a) => {
                if tokens.get(i + 1) == Some(&Token::Dash)
                    && let Some(Token::Day(b)) = tokens.get(i + 2)
                {
                    let (a, b) = (*a, *b);
                    // "пт–пн" wraps round the week.
                    let mut d = a;
                    loop {
                        days.push(d);
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                    i += 3;
                    continue;
                }
                days.push(*a);
            }
            Token::Days(ds) => days.extend(ds),
            Token::Weekend => weekend = true,
            Token::Time(t) => {
                if in_break {
                    break_times.push(*t);
                } else {
                    times.push(*t);
                }
            }
            Token::Dash => {}
            Token::Closed => closed = true,
            Token::AllDay => all_day = true,
            Token::Break => in_break = true,
        }
        i += 1;
    }
    if weekend {
        // "выходные 10:00–16:00" are the weekend's hours; "сб, вс выходные" is a day off.
        if days.is_empty() && !times.is_empty() {
            days.extend([5, 6]);
        } else {
            closed = true;
        }
    }
    let pairs = |ts: &[Time]| -> Option<Vec<(Time, Time)>> {
        if !ts.len().is_multiple_of(2) {
            return None;
        }
        ts.chunks(2)
            .map(|c| (c[0] < c[1]).then_some((c[0], c[1])))
            .collect()
    };
    let what = match (closed, all_day, times.is_empty(), break_times.is_empty()) {
        (true, false, true, true) => Some(Day::Closed),
        (false, true, true, true) => Some(Day::AllDay),
        (false, false, false, _) => Some(Day::Open {
            ranges: pairs(&times)?,
            breaks: pairs(&break_times)?,
        }),
        (false, false, true, true) => None,
        _ => return None,
    };
    if days.is_empty() && what.is_none() {
        return None;
    }
    Some(Said { days, what })
}

/// Reads opening hours into a week; `None` if any part cannot be read.
pub fn read(text: &str) -> Option<Week> {
    let text = text.to_lowercase().replace('ё', "е");
    let mut week: Week = Default::default();
    let mut pending: Vec<usize> = Vec::new();
    let mut last: Vec<usize> = Vec::new();
    let mut any = false;
    for segment in text.split([',', ';', '\n']) {
        if segment.trim().is_empty() {
            continue;
        }
        let said = interpret(&tokens(segment)?)?;
        match said.what {
            // Days with nothing said yet: "пн, ср 09:00–18:00".
            None => pending.extend(said.days),
            Some(what) => {
                let mut days = std::mem::take(&mut pending);
                days.extend(&said.days);
                if days.is_empty() && last.is_empty() && what == Day::AllDay {
                    // "круглосуточно" alone: every day.
                    days = (0..7).collect();
                }
                if days.is_empty() {
                    // More hours of the days just named: "09:00–13:00, 14:00–18:00".
                    let Day::Open { ranges, breaks } = what else {
                        return None;
                    };
                    if last.is_empty() {
                        return None;
                    }
                    for d in &last {
                        match &mut week[*d] {
                            Day::Open {
                                ranges: r,
                                breaks: b,
                            } => {
                                r.extend(ranges.iter().copied());
                                b.extend(breaks.iter().copied());
                            }
                            _ => return None,
                        }
                    }
                    continue;
                }
                for d in &days {
                    week[*d] = what.clone();
                }
                last = days;
                any = true;
            }
        }
    }
    (any && pending.is_empty()).then_some(week)
}

/// `08:00`, or `24:00` for the end of the day.
pub fn clock(t: Time) -> String {
    if t == Time::MAX {
        "24:00".into()
    } else {
        t.strftime("%H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(ranges: &[(&str, &str)]) -> Day {
        let t = |s: &str| -> Time {
            if s == "24:00" {
                Time::MAX
            } else {
                s.parse().unwrap()
            }
        };
        Day::Open {
            ranges: ranges.iter().map(|(a, b)| (t(a), t(b))).collect(),
            breaks: Vec::new(),
        }
    }

    #[test]
    fn the_directorys_usual_forms() {
        let w = read("пн–пт 08:00–20:00, сб 09:00–18:00, вс выходной").unwrap();
        for d in &w[..5] {
            assert_eq!(*d, open(&[("08:00", "20:00")]));
        }
        assert_eq!(w[5], open(&[("09:00", "18:00")]));
        assert_eq!(w[6], Day::Closed);

        let w = read("пн–пт 08:00–20:00, сб 09:00–18:00").unwrap();
        assert_eq!(w[6], Day::Unknown, "not said is not closed");

        let w = read("Пн.-Пт.: 8.00-20.00; Сб-Вс: 9:00-18:00").unwrap();
        assert_eq!(w[0], open(&[("08:00", "20:00")]));
        assert_eq!(w[6], open(&[("09:00", "18:00")]));

        let w = read("ежедневно с 9:00 до 21:00").unwrap();
        assert!(w.iter().all(|d| *d == open(&[("09:00", "21:00")])));

        let w = read("без выходных 10:00-22:00").unwrap();
        assert!(w.iter().all(|d| *d == open(&[("10:00", "22:00")])));

        let w = read("круглосуточно").unwrap();
        assert!(w.iter().all(|d| *d == Day::AllDay));
        assert_eq!(read("24/7").unwrap()[3], Day::AllDay);

        let w = read("пн, ср 09:00-18:00, вт выходной, чт-пт 09:00-13:00, 14:00-18:00").unwrap();
        assert_eq!(w[0], w[2]);
        assert_eq!(w[1], Day::Closed);
        assert_eq!(w[3], open(&[("09:00", "13:00"), ("14:00", "18:00")]));
        assert_eq!(w[4], w[3]);

        let w = read("будни 08:00-20:00 перерыв 13:00-14:00, выходные 10:00-16:00").unwrap();
        assert_eq!(
            w[0],
            Day::Open {
                ranges: vec![("08:00".parse().unwrap(), "20:00".parse().unwrap())],
                breaks: vec![("13:00".parse().unwrap(), "14:00".parse().unwrap())],
            }
        );
        assert_eq!(w[5], open(&[("10:00", "16:00")]));

        let w = read("Mon-Fri 9:00-18:00, Sat-Sun closed").unwrap();
        assert_eq!(w[2], open(&[("09:00", "18:00")]));
        assert_eq!(w[5], Day::Closed);

        let w = read("пт-пн 10:00-24:00").unwrap();
        assert_eq!(w[6], open(&[("10:00", "24:00")]));
        assert_eq!(w[1], Day::Unknown);
        assert_eq!(clock(Time::MAX), "24:00");
    }

    #[test]
    fn any_text_is_read_or_refused_without_a_panic() {
        // Text the directory could hold: pieces of real hours, cut and shuffled at random.
        let pieces = [
            "пн",
            "–",
            "-",
            "пт",
            " ",
            "08:00",
            "20:00",
            "24:00",
            "9.30",
            ",",
            ";",
            "сб",
            "вс",
            "выходной",
            "выходные",
            "без",
            "выходных",
            "перерыв",
            "с",
            "до",
            "24/7",
            "24",
            "/",
            "7",
            ":",
            ".",
            "круглосуточно",
            "mon",
            "closed",
            "ежедневно",
            "(",
            ")",
            "ё",
            "\n",
            "99:99",
            "0:0",
            "будни",
            "пт-пн",
            "x",
        ];
        let mut state = 0x5eed_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut read_some = 0;
        for _ in 0..20_000 {
            let len = next(12);
            let text: String = (0..len).map(|_| pieces[next(pieces.len())]).collect();
            if let Some(week) = read(&text) {
                read_some += 1;
                for day in week {
                    if let Day::Open { ranges, breaks } = day {
                        assert!(!ranges.is_empty(), "{text:?}");
                        assert!(ranges.iter().chain(&breaks).all(|(a, b)| a < b), "{text:?}");
                    }
                }
            }
        }
        assert!(read_some > 0, "some random text reads as hours");
    }

    #[test]
    fn what_cannot_be_read_is_refused() {
        for text in [
            "",
            "по записи",
            "09:00-18:00",
            "выходной",
            "пн–пт 08:00",
            "пн–пт 8-20",
            "пн–пт 20:00–08:00",
            "пн–пт 25:00–26:00",
            "пн 09:00-18:00, 14:00",
            "пн, вт",
            "вс выходной 10:00-12:00",
            "звоните 8 800 100-00-00",
            "пн–пт 08:00–20:00 <script>",
        ] {
            assert!(read(text).is_none(), "{text:?} read as {:?}", read(text));
        }
    }
}
