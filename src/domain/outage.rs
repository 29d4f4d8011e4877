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

use serde::{Deserialize, Serialize};

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
}
