//! Carrier outages: when a carrier's live parcels stop moving together, the carrier is
//! "stalled" rather than hundreds of parcels being stuck at once.
//!
//! Every answer the carrier gives about a live parcel counts in the current window: whether it
//! brought a new event, and whether it was empty (the carrier knows nothing of the number). A
//! window of at least `min_answers` answers is judged against the carrier's usual share of
//! answers with news (an exponentially weighted average over the windows before, learnt only
//! from windows that were not stalled): far below it (`stall_ratio` of it), or every answer
//! empty, and the carrier is stalled until a window moves again. A carrier with too little
//! history is never called stalled for a low share, only for all-empty answers. Pure: the
//! store keeps the counts, the caller passes them in.

use super::carrier::CarrierId;
use super::lifecycle::{self, Rules};
use super::parcel::Parcel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The answers of one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Window {
    /// Answers about live parcels.
    pub answers: u64,
    /// Answers that brought at least one new event.
    pub moved: u64,
    /// Answers with no event at all (the number is unknown to the carrier).
    pub empty: u64,
}

impl Window {
    /// Counts one answer.
    pub fn count(&mut self, new_events: usize, events_known: usize) {
        self.answers += 1;
        self.moved += u64::from(new_events > 0);
        self.empty += u64::from(events_known == 0);
    }

    fn share(&self) -> f64 {
        if self.answers == 0 {
            0.0
        } else {
            self.moved as f64 / self.answers as f64
        }
    }
}

/// What a carrier usually does.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Usual {
    /// The usual share of answers with news.
    pub share: f64,
    /// Windows learnt from.
    pub windows: u32,
}

/// How the carrier's parcels move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Movement {
    /// As usual, or too few answers to tell.
    Moving,
    /// Its parcels stopped moving together.
    Stalled {
        /// Why, in words.
        reason: String,
    },
}

/// The thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutageRules {
    /// A window needs this many answers to be judged.
    pub min_answers: u64,
    /// Stalled when the window's share with news is below this part of the usual share.
    pub stall_ratio: f64,
    /// Windows of history before a low share can mean a stall.
    pub min_windows: u32,
    /// Weight of a new window in the usual share.
    pub learn: f64,
}

impl Default for OutageRules {
    fn default() -> Self {
        OutageRules {
            min_answers: 50,
            stall_ratio: 0.2,
            min_windows: 3,
            learn: 0.3,
        }
    }
}

/// Judges a finished window and learns from it: returns the movement and the usual share to
/// keep.
pub fn judge(window: &Window, usual: &Usual, rules: &OutageRules) -> (Movement, Usual) {
    if window.answers < rules.min_answers {
        return (Movement::Moving, *usual);
    }
    let share = window.share();
    if window.empty == window.answers {
        return (
            Movement::Stalled {
                reason: format!(
                    "every one of {} answers was empty: the carrier knows none of the numbers",
                    window.answers
                ),
            },
            *usual,
        );
    }
    if usual.windows >= rules.min_windows && share < usual.share * rules.stall_ratio {
        return (
            Movement::Stalled {
                reason: format!(
                    "{:.0} % of {} answers brought news, against {:.0} % usually",
                    share * 100.0,
                    window.answers,
                    usual.share * 100.0
                ),
            },
            *usual,
        );
    }
    let learnt = if usual.windows == 0 {
        share
    } else {
        usual.share * (1.0 - rules.learn) + share * rules.learn
    };
    (
        Movement::Moving,
        Usual {
            share: learnt,
            windows: usual.windows.saturating_add(1),
        },
    )
}

/// Since when and why a carrier is stalled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stall {
    /// The start of the first window judged stalled.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub since: Timestamp,
    /// Why, in words.
    pub reason: String,
}

/// A carrier's running count: the open window, what it usually does, and its stall if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    /// When the open window started.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub window_start: Timestamp,
    /// The open window's answers.
    pub window: Window,
    /// What the carrier usually does.
    pub usual: Usual,
    /// Set while the carrier is stalled.
    pub stalled: Option<Stall>,
}

impl Tracker {
    /// A tracker whose first window opens at `now`.
    pub fn new(now: Timestamp) -> Tracker {
        Tracker {
            window_start: now,
            window: Window::default(),
            usual: Usual::default(),
            stalled: None,
        }
    }
}

/// The carrier whose count a parcel's carrier shares: EMS parcels are answered by Russian Post.
pub fn counted_as(carrier: CarrierId) -> CarrierId {
    match carrier {
        CarrierId::Ems => CarrierId::RussianPost,
        c => c,
    }
}

/// Whether `p` counts as stuck at `now` ([`lifecycle::is_stuck`]) while the carriers in
/// `stalled` are stalled: a stalled carrier's parcels are not flagged stuck until it moves.
pub fn is_stuck(
    p: &Parcel,
    now: Timestamp,
    rules: &Rules,
    stalled: &BTreeMap<CarrierId, Stall>,
) -> bool {
    lifecycle::is_stuck(p, now, rules) && !stalled.contains_key(&counted_as(p.carrier))
}

/// What closing a window changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing.
    None,
    /// The carrier is stalled from now on.
    Stalled(Stall),
    /// The carrier moves again after a stall that began at `since`.
    Moving {
        /// When the stall began.
        since: Timestamp,
    },
}

/// Counts answers given at `now` (each: new events, events in the answer), closing and judging
/// the open window first if it ended (`window` long). A stalled carrier stays stalled until a
/// window of enough answers is judged moving, or any answer in it brought news.
pub fn record(
    t: &mut Tracker,
    now: Timestamp,
    window: std::time::Duration,
    answers: &[(usize, usize)],
    rules: &OutageRules,
) -> Change {
    let mut change = Change::None;
    let len = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
    let elapsed = now
        .as_millisecond()
        .saturating_sub(t.window_start.as_millisecond());
    if elapsed >= len {
        let (movement, usual) = judge(&t.window, &t.usual, rules);
        t.usual = usual;
        match movement {
            Movement::Stalled { reason } => {
                if t.stalled.is_none() {
                    let stall = Stall {
                        since: t.window_start,
                        reason,
                    };
                    t.stalled = Some(stall.clone());
                    change = Change::Stalled(stall);
                }
            }
            Movement::Moving => {
                let judged = t.window.answers >= rules.min_answers || t.window.moved > 0;
                if judged && let Some(stall) = t.stalled.take() {
                    change = Change::Moving { since: stall.since };
                }
            }
        }
        let start = t.window_start.as_millisecond() + (elapsed / len) * len;
        t.window_start = Timestamp::from_millisecond(start).unwrap_or(now);
        t.window = Window::default();
    }
    for (new_events, known) in answers {
        t.window.count(*new_events, *known);
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(answers: u64, moved: u64, empty: u64) -> Window {
        Window {
            answers,
            moved,
            empty,
        }
    }

    #[test]
    fn a_carrier_learns_its_usual_share_then_a_drop_is_a_stall() {
        let rules = OutageRules::default();
        let mut usual = Usual::default();
        for _ in 0..4 {
            let (m, u) = judge(&window(200, 60, 5), &usual, &rules);
            assert_eq!(m, Movement::Moving);
            usual = u;
        }
        assert!((usual.share - 0.3).abs() < 1e-9);
        // A quieter window is not a stall.
        assert_eq!(
            judge(&window(200, 30, 5), &usual, &rules).0,
            Movement::Moving
        );
        // Almost nothing moves: stalled, and the usual share is not dragged down by it.
        let (m, u) = judge(&window(300, 3, 10), &usual, &rules);
        assert!(
            matches!(m, Movement::Stalled { ref reason } if reason.contains("1 %")),
            "{m:?}"
        );
        assert_eq!(u, usual);
        // Too few answers to tell.
        assert_eq!(judge(&window(10, 0, 0), &usual, &rules).0, Movement::Moving);
    }

    #[test]
    fn all_empty_answers_are_a_stall_even_without_history() {
        let (m, _) = judge(
            &window(80, 0, 80),
            &Usual::default(),
            &OutageRules::default(),
        );
        assert!(matches!(m, Movement::Stalled { .. }));
        let (m, _) = judge(
            &window(80, 0, 79),
            &Usual::default(),
            &OutageRules::default(),
        );
        assert_eq!(
            m,
            Movement::Moving,
            "without history a low share proves nothing"
        );
    }

    #[test]
    fn counting_answers() {
        let mut w = Window::default();
        w.count(2, 5);
        w.count(0, 5);
        w.count(0, 0);
        assert_eq!(w, window(3, 1, 1));
    }

    #[test]
    fn windows_close_as_answers_come_and_a_stall_lasts_until_news() {
        let rules = OutageRules {
            min_answers: 2,
            ..OutageRules::default()
        };
        let t0 = Timestamp::from_second(1_741_000_000).unwrap();
        let at = |s: i64| t0 + jiff::SignedDuration::from_secs(s);
        let hour = std::time::Duration::from_secs(3600);
        let mut t = Tracker::new(t0);
        // First hour: every answer empty.
        assert_eq!(
            record(&mut t, at(10), hour, &[(0, 0), (0, 0)], &rules),
            Change::None
        );
        assert_eq!(
            record(&mut t, at(20), hour, &[(0, 0)], &rules),
            Change::None
        );
        // The next answer, hours later, closes it: stalled since the window's start.
        let c = record(&mut t, at(3 * 3600 + 5), hour, &[(0, 0)], &rules);
        assert!(matches!(&c, Change::Stalled(s) if s.since == t0), "{c:?}");
        assert_eq!(t.window_start, at(3 * 3600), "windows stay on the hour");
        assert_eq!(t.window.answers, 1);
        // Still nothing: stays stalled, told once.
        assert_eq!(
            record(&mut t, at(4 * 3600), hour, &[(1, 3)], &rules),
            Change::None
        );
        assert!(t.stalled.is_some());
        // That window brought news: moving again.
        let c = record(&mut t, at(5 * 3600), hour, &[], &rules);
        assert_eq!(c, Change::Moving { since: t0 });
        assert!(t.stalled.is_none());
    }
}
