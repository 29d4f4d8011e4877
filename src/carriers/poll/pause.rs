//! Pausing a carrier that refused our credentials or whose request limit is spent, instead of
//! hammering it: polling stops until the next window (after refused credentials) or the next
//! budget day's window (after an exhausted limit), the pause is written to the store so that a
//! restart keeps it, and it is raised as an alert: an ERROR log line, the
//! `parceld_carrier_paused` metric and the carrier's `paused` state in `GET /v1/health`.
//!
//! New credentials lift a pause at the next start: the pause remembers a fingerprint of the
//! credentials that were refused.

use super::PollContext;
use crate::carriers::{Carrier, CarrierError};
use crate::domain::schedule::DailyWindow;
use crate::health::Health;
use crate::store::{CarrierPause, Store, StoreError};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::time::Duration;

/// When polling may resume after `error` at `now`.
pub fn resume_at(
    window: &DailyWindow,
    tz: &TimeZone,
    now: Timestamp,
    error: &CarrierError,
) -> Timestamp {
    match error {
        CarrierError::LimitExhausted(_) => {
            // The budget is per day: the first moment of the window after midnight.
            let midnight = now
                .to_zoned(tz.clone())
                .tomorrow()
                .and_then(|z| z.start_of_day())
                .map(|z| z.timestamp())
                .unwrap_or(now + Duration::from_secs(86_400));
            window.next_open(midnight, tz)
        }
        _ => match window.closes_after(now, tz) {
            Some(close) => window.next_open(close, tz),
            None => now + Duration::from_secs(3600),
        },
    }
}

fn set_gauge(carrier: crate::domain::carrier::CarrierId, paused: bool) {
    metrics::gauge!("parceld_carrier_paused", "carrier" => carrier.as_str()).set(if paused {
        1.0
    } else {
        0.0
    });
}

impl PollContext {
    /// Until when the carrier is paused, if it is at `now`.
    pub(super) fn paused_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.health
            .carrier_status(self.carrier.id())
            .paused_until
            .filter(|u| *u > now)
    }

    /// Pauses the carrier after `error`; returns until when.
    pub(super) async fn pause(
        &self,
        error: &CarrierError,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        if let Some(until) = self.paused_until(now) {
            return Ok(until);
        }
        let id = self.carrier.id();
        let until = resume_at(&self.settings.window, &self.applier.tz, now, error);
        // Our own budget is counted in the store already: after a restart the gate refuses
        // again, and a raised `daily_limit` takes effect at once. What the carrier refused is
        // kept, so that a restart does not ask again.
        let own_budget =
            matches!(error, CarrierError::LimitExhausted(m) if m.contains("daily_limit"));
        if !own_budget {
            let pause = CarrierPause {
                until,
                reason: error.to_string(),
                fingerprint: self.carrier.fingerprint(),
            };
            self.store.set_pause(id, &pause).await?;
            self.store.flush().await?;
        }
        self.health.carrier(id, |s| {
            s.paused_until = Some(until);
            s.paused_reason = Some(error.to_string());
        });
        set_gauge(id, true);
        metrics::counter!("parceld_carrier_pauses_total", "carrier" => id.as_str()).increment(1);
        if own_budget {
            tracing::warn!(carrier = id.as_str(), error = %error, resume_at = %until, "Daily request budget spent; polling resumes with the next budget day");
        } else {
            tracing::error!(carrier = id.as_str(), error = %error, resume_at = %until, "Carrier polling paused; check the carrier's credentials and limits");
        }
        Ok(until)
    }

    /// Marks the carrier as working (after a successful answer).
    pub(super) fn unpaused(&self) {
        set_gauge(self.carrier.id(), false);
    }
}

/// Restores a carrier's pause from the store at start: kept if it still runs and the
/// credentials are the ones that were refused, lifted otherwise.
pub async fn restore_pause(
    store: &Store,
    health: &Health,
    carrier: &dyn Carrier,
    now: Timestamp,
) -> Result<(), StoreError> {
    let id = carrier.id();
    let Some(p) = store.pause(id).await? else {
        set_gauge(id, false);
        return Ok(());
    };
    if p.until > now && p.fingerprint == carrier.fingerprint() {
        tracing::warn!(carrier = id.as_str(), until = %p.until, reason = %p.reason, "Carrier polling stays paused");
        health.carrier(id, |s| {
            s.paused_until = Some(p.until);
            s.paused_reason = Some(p.reason.clone());
        });
        set_gauge(id, true);
    } else {
        if p.until > now {
            tracing::info!(
                carrier = id.as_str(),
                "The credentials changed; the carrier's pause is lifted"
            );
        }
        store.clear_pause(id).await?;
        set_gauge(id, false);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn pauses_last_until_the_right_window() {
        let tz = TimeZone::get("Europe/Moscow").unwrap();
        let night = DailyWindow::parse("01:00-06:00").unwrap();
        // 02:00 MSK: refused credentials wait for tomorrow's window.
        let now = at("2025-03-10T23:00:00Z");
        let auth = CarrierError::Auth("refused".into());
        assert_eq!(
            resume_at(&night, &tz, now, &auth),
            at("2025-03-11T22:00:00Z")
        );
        let limit = CarrierError::LimitExhausted("spent".into());
        assert_eq!(
            resume_at(&night, &tz, now, &limit),
            at("2025-03-11T22:00:00Z")
        );
        // A window across midnight: the limit resets at midnight, inside the window.
        let late = DailyWindow::parse("22:00-06:00").unwrap();
        let now = at("2025-03-10T20:00:00Z"); // 23:00 MSK
        assert_eq!(
            resume_at(&late, &tz, now, &limit),
            at("2025-03-10T21:00:00Z")
        );
        // Always open: an hour for credentials, midnight for the budget.
        let always = DailyWindow::ALWAYS;
        assert_eq!(
            resume_at(&always, &tz, now, &auth),
            at("2025-03-10T21:00:00Z")
        );
        assert_eq!(
            resume_at(&always, &tz, now, &limit),
            at("2025-03-10T21:00:00Z")
        );
    }
}
