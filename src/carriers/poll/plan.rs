//! Sharing a short daily budget: when a carrier with a `daily_limit` has more parcels due in a
//! budget period (its night window, or the day for an always-open window) than requests left,
//! the parcels most likely to have moved are kept for tonight (see
//! [`crate::domain::polling::rank`]) and the others move to the next period, spread over its
//! window. Planned once per period at its first poll (the mark is in the store), and again on
//! each batch the poller is handed, which may hold more than is left.

use super::{PollContext, PollSummary};
use crate::domain::parcel::Parcel;
use crate::domain::polling::{budget_period, rank};
use crate::store::StoreError;
use jiff::Timestamp;

impl PollContext {
    /// The start of the next budget period after the one `now` is in.
    fn next_period(&self, now: Timestamp) -> Timestamp {
        let (_, end) = budget_period(&self.settings.window, &self.applier.tz, now);
        self.settings.window.next_open(end, &self.applier.tz)
    }

    /// Plans the budget period `now` falls in, once.
    pub(super) async fn plan_night(&self, now: Timestamp) -> Result<(), StoreError> {
        let Some(limit) = self.settings.daily_limit else {
            return Ok(());
        };
        let window = self.settings.window;
        if !window.contains(now, &self.applier.tz) {
            return Ok(());
        }
        let (start, end) = budget_period(&window, &self.applier.tz, now);
        let id = self.carrier.id();
        if !self.store.claim_plan(id, start).await? {
            return Ok(());
        }
        let left = self.gate.remaining().await.unwrap_or(limit) as usize;
        let tags: Vec<u8> = self.carrier.serves().iter().map(|c| c.tag()).collect();
        // Every poll due in the period, read in one step: a night may hold a million.
        let (held, mut free) = self
            .store
            .in_one_step(move |store| {
                let mut held = 0usize;
                let mut free: Vec<(Timestamp, Parcel)> = Vec::new();
                for item in store.due_polls_until(&tags, end)? {
                    if store.is_leased(&item.parcel)? {
                        held += 1;
                    } else if let Some(p) = store.parcel(&item.parcel)? {
                        free.push((item.at, p));
                    }
                }
                Ok::<_, StoreError>((held, free))
            })
            .await?;
        if held + free.len() <= left {
            return Ok(());
        }
        let keep = left.saturating_sub(held);
        let order = {
            let refs: Vec<&Parcel> = free.iter().map(|(_, p)| p).collect();
            rank(&refs, now)
        };
        let next = self.next_period(now);
        let mut moved = Vec::new();
        for &i in order.iter().skip(keep) {
            let (at, p) = &free[i];
            moved.push((p.key(), *at, self.spread(p, next)));
        }
        free.clear();
        let n = moved.len();
        self.store
            .in_one_step(move |store| {
                for (parcel, from, to) in moved {
                    store.reschedule_poll(&parcel, from, to)?;
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        metrics::counter!("parceld_polls_deferred_total", "carrier" => id.as_str(), "reason" => "budget")
            .increment(n as u64);
        tracing::info!(
            carrier = id.as_str(),
            budget_left = left,
            kept = keep,
            deferred = n,
            next = %next,
            "The daily budget cannot cover every parcel due tonight; the likeliest to have moved go first"
        );
        Ok(())
    }

    /// Keeps the parcels the budget left can pay for, likeliest to have moved first; the rest
    /// move to the next budget period.
    pub(super) async fn fit_budget(
        &self,
        parcels: Vec<Parcel>,
        now: Timestamp,
        summary: &mut PollSummary,
    ) -> Result<Vec<Parcel>, StoreError> {
        let Some(left) = self.gate.remaining().await else {
            return Ok(parcels);
        };
        let left = left as usize;
        if parcels.len() <= left || left == 0 {
            // With nothing left, the gate refuses the first request and pauses the carrier.
            return Ok(parcels);
        }
        let order = {
            let refs: Vec<&Parcel> = parcels.iter().collect();
            rank(&refs, now)
        };
        let next = self.next_period(now);
        let mut slots: Vec<Option<Parcel>> = parcels.into_iter().map(Some).collect();
        let mut keep = Vec::new();
        let mut deferred = 0usize;
        for (n, i) in order.into_iter().enumerate() {
            let Some(p) = slots[i].take() else { continue };
            if n < left {
                keep.push(p);
            } else {
                self.defer(&p, Some(self.spread(&p, next))).await?;
                deferred += 1;
            }
        }
        summary.skipped += deferred;
        metrics::counter!("parceld_polls_deferred_total", "carrier" => self.carrier.id().as_str(), "reason" => "budget")
            .increment(deferred as u64);
        tracing::info!(carrier = self.carrier.id().as_str(), budget_left = left, deferred, next = %next, "Budget short: the likeliest parcels to have moved are asked first");
        Ok(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carriers::TrackReport;
    use crate::carriers::sandbox::Sandbox;
    use crate::clock::Clock;
    use crate::domain::carrier::CarrierId;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::domain::parcel::{CarrierEvent, Office};
    use crate::domain::shop::ShopId;
    use crate::domain::status::Status;
    use crate::health::Health;
    use crate::store::Store;
    use crate::store::test_support::{pk, temp_store};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_short_budget_keeps_the_waiting_parcels_for_tonight() {
        let (_dir, sync) = temp_store();
        let store = Store::from_sync(sync.clone());
        let settings = crate::config::parse(
            "[carriers.sandbox]\ndaily_limit = 3\nwindow = \"always\"\n",
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let polling = settings.carriers[&CarrierId::Sandbox].clone();
        let clock = Clock::system();
        let ctx = PollContext::new(
            store.clone(),
            clock.clone(),
            Arc::new(Health::default()),
            &settings,
            Arc::new(Sandbox::new(clock.clone())),
            polling.clone(),
        );
        sync.create_shop(&crate::store::shops::tests::shop("acme", "h"))
            .unwrap();
        let now = clock.now();
        let earlier = now - Duration::from_secs(60);
        for n in 1..=5 {
            let v = validate(&ParcelDraft {
                track: format!("SANDBOX-ARRIVED-{n}"),
                ..ParcelDraft::default()
            })
            .unwrap();
            sync.intake(&ShopId::from_trusted("acme"), &v, earlier, earlier)
                .unwrap();
        }
        // Two of them wait at the office (and are due again now).
        for n in [2, 4] {
            let report = TrackReport {
                events: vec![CarrierEvent {
                    at: earlier,
                    status: Status::ArrivedAtPickup,
                    code: "8/2".into(),
                    description: String::new(),
                    office: Some(Office::default()),
                    storage: None,
                    presence: false,
                }],
                ..TrackReport::default()
            };
            let parcel = pk("acme", &format!("SANDBOX-ARRIVED-{n}"));
            let mut due = polling.clone();
            due.poll_every = Duration::from_secs(1);
            ctx.applier
                .apply(&parcel, report, earlier, &due)
                .await
                .unwrap();
        }
        // One request is spent already: two are left for five parcels.
        ctx.gate.pass().await.unwrap();
        ctx.plan_night(now).await.unwrap();
        let (_, tomorrow) = budget_period(&polling.window, &ctx.applier.tz, now);
        for n in 1..=5 {
            let p = sync
                .parcel(&pk("acme", &format!("SANDBOX-ARRIVED-{n}")))
                .unwrap()
                .unwrap();
            let at = p.next_poll_at.unwrap();
            if n == 2 || n == 4 {
                assert!(at <= now, "parcel {n} stays due tonight: {at}");
            } else {
                assert!(at >= tomorrow, "parcel {n} moves to the next day: {at}");
            }
        }
        // Planned once per period.
        let moved = sync
            .parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap()
            .unwrap();
        ctx.plan_night(now).await.unwrap();
        assert_eq!(
            sync.parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
                .unwrap()
                .unwrap(),
            moved
        );
    }
}
