//! One event on its way to one endpoint, and the states it goes through:
//!
//! ```text
//! waiting ──(the parcel's earlier event delivered or dead)──▶ pending ──claim──▶ sending
//!                                                               ▲                │
//!                                                               └── failure ─────┤ (retry_for left)
//!                                          delivered (removed) ◀── 2xx ──────────┤
//!                                                     dead ◀── retry_for spent ──┘
//! ```
//!
//! A parcel's events to an endpoint form a lane: only its oldest unfinished one (the head) is
//! pending; the next one waits until the head is delivered or dead. A dead letter the shop
//! replays goes out on its own (`replay`), outside its lane, which has moved on.
//!
//! Retries use exponential backoff with full jitter (a delay drawn between zero and
//! `min(cap, base × 2^(attempts-1))`) until `retry_for` has passed since the first attempt; the
//! next failure then makes it a dead letter. An attempt in hand when the daemon stopped is sent
//! again with the same id (at least once); it is marked `in_doubt`.

use super::EventType;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookState {
    /// Behind an earlier event of the same parcel to the same endpoint.
    Waiting,
    /// Due at `next_attempt_at` (or parked while its endpoint is disabled).
    Pending,
    /// In the engine's hand.
    Sending,
    /// Given up: a dead letter the shop can replay.
    Dead,
}

impl HookState {
    /// The state's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            HookState::Waiting => "waiting",
            HookState::Pending => "pending",
            HookState::Sending => "sending",
            HookState::Dead => "dead",
        }
    }
}

/// One event for one endpoint (the endpoint and the parcel are in its store key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The event's id (the idempotency key).
    pub event_id: String,
    /// The event's type.
    pub kind: EventType,
    /// The JSON body, as signed and sent on every attempt.
    pub body: String,
    /// Where it is.
    pub state: HookState,
    /// A replayed dead letter: sent outside its parcel's order.
    pub replay: bool,
    /// Pending, but set aside while its endpoint is disabled.
    pub parked: bool,
    /// Attempts made.
    pub attempts: u32,
    /// When the event happened.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub created_at: Timestamp,
    /// When it may be tried (next).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::required")]
    pub next_attempt_at: Timestamp,
    /// When the first attempt of this round was made (the retry period counts from it).
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub first_attempt_at: Option<Timestamp>,
    /// When it was last claimed.
    #[serde(with = "jiff::fmt::serde::timestamp::millisecond::optional")]
    pub claimed_at: Option<Timestamp>,
    /// The last answer's HTTP status, if there was an answer.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// It was in hand when the daemon stopped: the endpoint may have it already.
    pub in_doubt: bool,
}

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookRetry {
    /// The first delay's ceiling.
    pub base: Duration,
    /// The longest delay's ceiling.
    pub cap: Duration,
    /// How long after the first attempt a delivery is retried before it is dead.
    pub retry_for: Duration,
}

/// Exponential backoff with full jitter: between zero and `min(cap, base × 2^(attempts-1))`,
/// picked by `random` (any `u64`).
pub fn full_jitter(attempts: u32, base: Duration, cap: Duration, random: u64) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let ceiling = base
        .checked_mul(1u32 << exp)
        .unwrap_or(cap)
        .min(cap)
        .as_millis()
        .max(1) as u64;
    Duration::from_millis(random % (ceiling + 1))
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Anything else: another status, no answer, a refused address.
    Failed {
        /// The status, if it answered.
        status: Option<u16>,
        /// What went wrong, in words.
        error: String,
    },
}

impl Delivery {
    /// A new delivery of an event created at `now`: pending when it heads its lane, else
    /// waiting.
    pub fn new(
        event_id: String,
        kind: EventType,
        body: String,
        now: Timestamp,
        head: bool,
    ) -> Self {
        Delivery {
            event_id,
            kind,
            body,
            state: if head {
                HookState::Pending
            } else {
                HookState::Waiting
            },
            replay: false,
            parked: false,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
            first_attempt_at: None,
            claimed_at: None,
            last_status: None,
            last_error: None,
            in_doubt: false,
        }
    }

    /// Takes a pending delivery for sending. Returns false if it is not pending.
    pub fn claim(&mut self, now: Timestamp) -> bool {
        if self.state != HookState::Pending {
            return false;
        }
        self.state = HookState::Sending;
        self.attempts += 1;
        self.claimed_at = Some(now);
        self.first_attempt_at.get_or_insert(now);
        true
    }

    /// Its turn came: the parcel's earlier event to this endpoint is finished.
    pub fn promote(&mut self, now: Timestamp) -> bool {
        if self.state != HookState::Waiting {
            return false;
        }
        self.state = HookState::Pending;
        self.next_attempt_at = now;
        true
    }

    /// Records a failed attempt: pending again after a jittered delay, or dead once the retry
    /// period is spent. Returns the new state.
    pub fn fail(
        &mut self,
        status: Option<u16>,
        error: &str,
        now: Timestamp,
        retry: &HookRetry,
        random: u64,
    ) -> HookState {
        self.last_status = status;
        let first = self.first_attempt_at.unwrap_or(now);
        let spent = first
            .checked_add(retry.retry_for)
            .is_ok_and(|until| now >= until);
        if spent {
            self.state = HookState::Dead;
            self.last_error = Some(format!(
                "gave up after {} attempts over {}: {error}",
                self.attempts,
                humantime::format_duration(retry.retry_for)
            ));
        } else {
            self.state = HookState::Pending;
            self.last_error = Some(error.to_string());
            let delay = full_jitter(self.attempts, retry.base, retry.cap, random);
            self.next_attempt_at = now.checked_add(delay).unwrap_or(Timestamp::MAX);
        }
        self.state
    }

    /// Puts a delivery that was in hand when the daemon stopped back in the queue, due at
    /// `now`; the endpoint may have it already.
    pub fn recover(&mut self, now: Timestamp) -> bool {
        if self.state != HookState::Sending {
            return false;
        }
        self.state = HookState::Pending;
        self.in_doubt = true;
        self.next_attempt_at = now;
        true
    }

    /// Queues a dead letter again (the shop replays it): pending now with a fresh retry period,
    /// outside its parcel's order. Returns false if it is not dead.
    pub fn replay(&mut self, now: Timestamp) -> bool {
        if self.state != HookState::Dead {
            return false;
        }
        self.state = HookState::Pending;
        self.replay = true;
        self.first_attempt_at = None;
        self.next_attempt_at = now;
        true
    }

    /// Its endpoint was enabled again: a fresh retry period, due now.
    pub fn resume(&mut self, now: Timestamp) {
        self.parked = false;
        self.first_attempt_at = None;
        self.next_attempt_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_741_000_000 + s).unwrap()
    }

    const DAY: Duration = Duration::from_secs(86_400);

    fn retry() -> HookRetry {
        HookRetry {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(3600),
            retry_for: DAY,
        }
    }

    #[test]
    fn full_jitter_stays_under_the_growing_ceiling() {
        let b = Duration::from_secs(10);
        let cap = Duration::from_secs(3600);
        assert_eq!(
            full_jitter(1, b, cap, 0),
            Duration::ZERO,
            "full jitter may be zero"
        );
        assert_eq!(full_jitter(1, b, cap, 10_000), Duration::from_secs(10));
        assert_eq!(full_jitter(3, b, cap, 40_000), Duration::from_secs(40));
        assert_eq!(full_jitter(3, b, cap, 40_001), Duration::ZERO);
        assert_eq!(full_jitter(40, b, cap, 3_600_000), cap, "capped");
        for r in [1u64, 77, 123_456_789, u64::MAX] {
            assert!(full_jitter(5, b, cap, r) <= Duration::from_secs(160));
        }
    }

    #[test]
    fn retried_for_the_period_then_dead() {
        let mut d = Delivery::new(
            "evt_1".into(),
            EventType::Delivered,
            "{}".into(),
            t(0),
            true,
        );
        assert!(d.claim(t(0)));
        assert!(!d.claim(t(0)), "claimed once");
        assert_eq!(
            d.fail(Some(500), "HTTP 500", t(1), &retry(), 5_000),
            HookState::Pending
        );
        assert_eq!(d.next_attempt_at, t(6));
        assert!(d.claim(t(6)));
        assert_eq!(
            d.first_attempt_at,
            Some(t(0)),
            "the period counts from the first"
        );
        let state = d.fail(None, "timed out", t(86_400), &retry(), 1);
        assert_eq!(state, HookState::Dead);
        assert!(
            d.last_error
                .as_deref()
                .unwrap()
                .contains("gave up after 2 attempts")
        );
        assert!(d.replay(t(90_000)));
        assert!(d.replay && d.state == HookState::Pending && d.first_attempt_at.is_none());
        assert!(!d.replay(t(90_000)), "only dead letters replay");
    }

    #[test]
    fn waiting_ones_are_promoted_and_in_hand_ones_recovered() {
        let mut d = Delivery::new("evt_2".into(), EventType::Stuck, "{}".into(), t(0), false);
        assert_eq!(d.state, HookState::Waiting);
        assert!(!d.claim(t(1)), "a waiting one cannot be claimed");
        assert!(d.promote(t(5)));
        assert_eq!((d.state, d.next_attempt_at), (HookState::Pending, t(5)));
        assert!(d.claim(t(6)));
        assert!(d.recover(t(9)));
        assert!(d.in_doubt && d.state == HookState::Pending && d.next_attempt_at == t(9));
    }
}
