//! The due queue (polls and reminders) and the transactions that apply what a carrier reported
//! or a reminder timer fired: the parcel's new state and the notifications it causes are
//! committed together.

pub use super::keys::DueKind;
use super::{Store, StoreError, SyncStore, Tx, TxResult, abort, decode_record, keys};
use crate::domain::carrier::CarrierId;
use crate::domain::lifecycle::{self, Rules, ShopTerms};
use crate::domain::manual;
use crate::domain::notification::Intent;
use crate::domain::outbox::{self, SendTiming};
use crate::domain::parcel::{CarrierEvent, Parcel, ParcelKey};
use crate::domain::polling;
use crate::domain::schedule::DailyWindow;
use crate::domain::shop::{Shop, ShopId};
use crate::domain::status::Status;
use crate::domain::storage::MailType;
use crate::domain::track::TrackNumber;
use jiff::Timestamp;

/// Something due: a parcel to poll or to remind about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    /// Poll or reminder.
    pub kind: DueKind,
    /// When it came due.
    pub at: Timestamp,
    /// The parcel.
    pub parcel: ParcelKey,
    /// The parcel's carrier.
    pub carrier: CarrierId,
}

/// What [`Store::lease_live`](super::Store::lease_live) found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveLease {
    /// The polls it leased.
    pub leased: Vec<DueItem>,
    /// Parcels whose poll was already in flight.
    pub busy: Vec<ParcelKey>,
}

/// What applying a carrier report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutcome {
    /// The status now.
    pub status: Status,
    /// The status before, when it changed.
    pub previous_status: Option<Status>,
    /// Events that were new.
    pub new_events: usize,
    /// Outbox entries created.
    pub messages: usize,
    /// Time spent in the lifecycle (merging events, the new status, its intents).
    pub lifecycle: std::time::Duration,
    /// Time spent planning and writing the notifications.
    pub outbox: std::time::Duration,
}

/// A report about one parcel among several applied together.
#[derive(Debug, Clone)]
pub struct ReportFor {
    /// The parcel.
    pub parcel: ParcelKey,
    /// What the carrier said.
    pub report: Report,
    /// When the parcel is polled next, if it is still live.
    pub next_poll: Timestamp,
    /// Codes of the report that no mapping knows, with the carrier that sent them: new events
    /// with them are counted ([`super::unmapped`]).
    pub unmapped: Vec<(CarrierId, String)>,
}

/// A carrier's answer about one parcel, as the store applies it.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The events (may repeat known ones).
    pub events: Vec<CarrierEvent>,
    /// When the cash on delivery was paid, if the carrier says so.
    pub cod_paid_at: Option<Timestamp>,
    /// The carrier re-registered the parcel under this number: poll it by that number.
    pub new_track: Option<TrackNumber>,
    /// The parcel continues with this carrier (e.g. handed from 17TRACK to Russian Post).
    pub carrier: Option<CarrierId>,
    /// How long a delivered parcel with unconfirmed cash on delivery is still polled (zero:
    /// not at all).
    pub cod_follow_up: std::time::Duration,
    /// The kind of item, when the carrier says.
    pub mail_type: Option<MailType>,
    /// The pickup office's index, when the carrier names it in advance.
    pub destination: Option<String>,
}

impl Tx<'_> {
    pub(super) fn shop_record(&self, shop: &str) -> TxResult<Option<Shop>> {
        match self.shops.get(shop.as_bytes())? {
            None => Ok(None),
            Some(v) => match decode_record::<crate::domain::shop::Shop>(shop.as_bytes(), &v) {
                Ok(s) => Ok(Some(s)),
                Err(e) => abort(e),
            },
        }
    }

    /// Creates the outbox entries for intents; entries that exist already are left alone.
    pub(super) fn enqueue_intents(
        &self,
        parcel: &Parcel,
        intents: &[Intent],
        now: Timestamp,
        timing: &SendTiming<'_>,
    ) -> TxResult<usize> {
        if intents.is_empty() {
            return Ok(0);
        }
        let Some(shop) = self.shop_record(parcel.shop.as_str())? else {
            return Ok(0);
        };
        // The message names the office as the directory knows it, even if the directory was
        // loaded after the parcel arrived.
        let mut parcel = parcel.clone();
        if let Some(a) = parcel.arrival.as_mut() {
            self.complete_office(&mut a.office)?;
        }
        let parcel = &parcel;
        let mut created = 0;
        for intent in intents {
            for entry in outbox::plan(parcel, &shop, *intent, now, timing) {
                if self.insert_entry_if_absent(&entry)? {
                    created += 1;
                }
            }
        }
        Ok(created)
    }
}

impl Tx<'_> {
    /// Leases one due poll (see [`SyncStore::lease_poll`]).
    fn lease_poll(&self, item: &DueItem, until: Timestamp) -> TxResult<bool> {
        let t = self;
        let (shop, track) = (item.parcel.shop.as_str(), item.parcel.track.as_str());
        let Some(p) = t.get_parcel(shop, track)? else {
            t.due
                .remove(keys::due(item.at, DueKind::Poll, shop, track))?;
            return Ok(false);
        };
        if p.next_poll_at != Some(item.at) {
            // A stray key: the parcel's own schedule is what counts.
            t.due
                .remove(keys::due(item.at, DueKind::Poll, shop, track))?;
            return Ok(false);
        }
        let mut q = p.clone();
        q.next_poll_at = Some(until);
        t.put_parcel(Some(&p), &q)?;
        t.leases
            .insert(keys::parcel(shop, track), &keys::time(until))?;
        Ok(true)
    }

    /// Applies a carrier's report about one parcel (see [`SyncStore::apply_report`]).
    fn apply_report(
        &self,
        r: &ReportFor,
        now: Timestamp,
        rules: &Rules,
        timing: &SendTiming<'_>,
    ) -> TxResult<Option<ReportOutcome>> {
        let t = self;
        let (shop, track, report) = (r.parcel.shop.as_str(), r.parcel.track.as_str(), &r.report);
        let Some(old) = t.get_parcel(shop, track)? else {
            return Ok(None);
        };
        let mut p = old.clone();
        let mut events = report.events.clone();
        for e in &mut events {
            if let Some(o) = e.office.as_mut() {
                t.complete_office(o)?;
            }
        }
        let started = std::time::Instant::now();
        let terms = t
            .shop_record(shop)?
            .map_or_else(ShopTerms::default, |s| ShopTerms::of(&s));
        let typed = match &report.mail_type {
            Some(m) if p.mail_type.as_ref() != Some(m) => {
                p.mail_type = Some(m.clone());
                true
            }
            _ => false,
        };
        let mut outcome = lifecycle::apply_events(&mut p, events, now, rules, &terms);
        if typed && outcome.new_events == 0 {
            // The type alone is news: the period by mail type may differ.
            let o = lifecycle::refresh_deadline(&mut p, now, rules, &terms);
            outcome.deadline_moved = o.deadline_moved;
            outcome.withdraw = o.withdraw;
        }
        t.withdraw(&p, &outcome.withdraw, super::parcels::DEADLINE_MOVED)?;
        if let (Some(paid), None) = (report.cod_paid_at, p.cod_paid_at) {
            p.cod_paid_at = Some(paid);
            p.updated_at = now;
        }
        if let Some(new_track) = &report.new_track
            && new_track != p.carrier_track()
            && new_track != &p.track
            && !p.previous_tracks.contains(new_track)
        {
            p.previous_tracks.push(p.carrier_track().clone());
            p.tracked_as = Some(new_track.clone());
            p.updated_at = now;
        }
        if let Some(c) = report.carrier
            && c != p.carrier
        {
            p.handed_over_from = p.handed_over_from.or(Some(p.carrier));
            p.carrier = c;
            p.updated_at = now;
        }
        p.poll.last_polled_at = Some(now);
        p.poll.failures = 0;
        p.poll.last_error = None;
        p.next_poll_at = polling::wants_poll(&p, now, report.cod_follow_up).then_some(r.next_poll);
        if p.next_poll_at.is_some() && lifecycle::should_give_up(&p, now, rules) {
            p.next_poll_at = None;
            p.abandoned_at = Some(now);
            p.updated_at = now;
        }
        let learnt = t.learn(
            &old,
            &mut p,
            report.destination.as_deref(),
            now,
            &rules.lanes,
            &terms.timezone,
        )?;
        outcome.intents.extend(learnt);
        let lifecycle = started.elapsed();
        let messages = t.enqueue_intents(&p, &outcome.intents, now, timing)?;
        let outbox = started.elapsed() - lifecycle;
        t.hook_report(&old, &p, &outcome, now, rules)?;
        t.count_unmapped(&old, &p, &r.unmapped, now)?;
        t.put_parcel(Some(&old), &p)?;
        t.end_lease(keys::parcel(shop, track))?;
        Ok(Some(ReportOutcome {
            status: p.status,
            previous_status: outcome.previous_status,
            new_events: outcome.new_events,
            messages,
            lifecycle,
            outbox,
        }))
    }
}

impl SyncStore {
    /// Up to `limit` items due at or before `now`, oldest first.
    pub fn due_items(&self, now: Timestamp, limit: usize) -> Result<Vec<DueItem>, StoreError> {
        let end = keys::time(now + jiff::SignedDuration::from_millis(1));
        let mut out = Vec::new();
        for kv in self.t.due.range(..end.to_vec()) {
            let (k, v) = kv?;
            let Some(d) = keys::read_due(&k) else {
                tracing::warn!(key = ?k, "Skipping a malformed due key");
                continue;
            };
            let Some(carrier) = v.first().copied().and_then(CarrierId::from_tag) else {
                continue;
            };
            out.push(DueItem {
                kind: d.kind,
                at: d.at,
                parcel: d.parcel,
                carrier,
            });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// When the next item comes due, if any.
    pub fn next_due_at(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.t.due.first()?.and_then(|(k, _)| keys::read_time(&k)))
    }

    /// How many due entries exist (a full scan; for tests and diagnostics).
    #[cfg(test)]
    pub fn due_count(&self) -> Result<usize, StoreError> {
        Ok(self.t.due.len())
    }

    /// Moves a due poll to `until` while it is in flight, so it is not dispatched twice; if the
    /// poll never reports back (crash), it comes due again then. Returns false if the parcel is
    /// gone or no longer due at that time.
    #[cfg(test)]
    pub fn lease_poll(&self, item: &DueItem, until: Timestamp) -> Result<bool, StoreError> {
        self.tx(|t| t.lease_poll(item, until))
    }

    /// Leases several due polls until `until`, each as [`SyncStore::lease_poll`] would, several
    /// to a transaction ([`SyncStore::tx_each`]). Returns the items leased, in order.
    pub fn lease_polls(
        &self,
        items: &[DueItem],
        until: Timestamp,
    ) -> Result<Vec<DueItem>, StoreError> {
        let taken = self.tx_each(items, |t, i| t.lease_poll(i, until))?;
        Ok(items
            .iter()
            .zip(taken)
            .filter(|(_, t)| *t)
            .map(|(i, _)| i.clone())
            .collect())
    }

    /// When the first item due after `after` comes due, if any.
    pub fn next_due_after(&self, after: Timestamp) -> Result<Option<Timestamp>, StoreError> {
        let from = keys::time(after + jiff::SignedDuration::from_millis(1));
        Ok(self
            .t
            .due
            .range(from.to_vec()..)
            .next()
            .transpose()?
            .and_then(|(k, _)| keys::read_time(&k)))
    }

    /// Makes polls that were in flight when the process stopped due again at `now`. Called once
    /// at start, before the scheduler runs. Returns how many.
    pub fn release_leases(&self, now: Timestamp) -> Result<usize, StoreError> {
        let leased: Vec<(sled::IVec, sled::IVec)> =
            self.t.leases.iter().collect::<Result<_, _>>()?;
        let mut n = 0;
        for (k, until) in leased {
            let Some(ParcelKey { shop, track }) = keys::split_parcel(&k) else {
                self.t.leases.remove(&k)?;
                continue;
            };
            if let Some(ticket) = super::carriers::lease_ticket(&until)
                && self.ticket_open(ticket)?
            {
                // The carrier is preparing a batch answer for it; the ticket resumes.
                continue;
            }
            let until = keys::read_time(&until);
            let released = self.tx(|t| {
                t.end_lease(k.to_vec())?;
                let Some(p) = t.get_parcel(shop.as_str(), track.as_str())? else {
                    return Ok(false);
                };
                if p.next_poll_at.is_none() || p.next_poll_at != until {
                    return Ok(false);
                }
                let mut q = p.clone();
                q.next_poll_at = Some(now);
                t.put_parcel(Some(&p), &q)?;
                Ok(true)
            })?;
            n += usize::from(released);
        }
        Ok(n)
    }

    /// Leases every live parcel (of one shop, or all) that is not already being polled, until
    /// `until` for its carrier, for an operator's "poll everything now". Returns the leased items
    /// and the parcels whose poll was already in flight.
    pub fn lease_live(
        &self,
        shop: Option<&ShopId>,
        until: impl Fn(CarrierId) -> Option<Timestamp>,
    ) -> Result<LiveLease, StoreError> {
        let mut targets = Vec::new();
        self.for_each_parcel(shop, |p| {
            // A parcel given up on waits for the shop to revive it.
            if (!p.status.is_final() || p.awaits_cod_payment() || manual::awaits_confirmation(&p))
                && p.abandoned_at.is_none()
            {
                targets.push((p.key(), p.carrier));
            }
            true
        })?;
        let mut leased = Vec::new();
        let mut busy = Vec::new();
        for (parcel, carrier) in targets {
            let Some(until) = until(carrier) else {
                continue;
            };
            let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
            let taken = self.tx(|t| {
                let Some(p) = t.get_parcel(shop, track)? else {
                    return Ok(Some(false));
                };
                let key = keys::parcel(shop, track);
                if p.status.is_final()
                    && !p.awaits_cod_payment()
                    && !manual::awaits_confirmation(&p)
                {
                    return Ok(Some(false));
                }
                if let Some(lease) = t.leases.get(&key)? {
                    // A parcel in a batch ticket is answered with the ticket: not waited for.
                    if super::carriers::lease_ticket(&lease).is_some() {
                        return Ok(Some(false));
                    }
                    return Ok(None);
                }
                let mut q = p.clone();
                q.next_poll_at = Some(until);
                t.put_parcel(Some(&p), &q)?;
                t.leases.insert(key, &keys::time(until))?;
                Ok(Some(true))
            })?;
            if taken.is_none() {
                busy.push(parcel);
            } else if taken == Some(true) {
                leased.push(DueItem {
                    kind: DueKind::Poll,
                    at: until,
                    parcel,
                    carrier,
                });
            }
        }
        Ok(LiveLease { leased, busy })
    }

    /// Whether a poll of this parcel is in flight.
    pub fn is_leased(&self, parcel: &ParcelKey) -> Result<bool, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        Ok(self.t.leases.contains_key(keys::parcel(shop, track))?)
    }

    /// Applies a carrier's report: merges events, runs the lifecycle, schedules the next poll
    /// (unless the parcel is finished) and reminders, and creates the notifications, in one
    /// transaction. Returns `None` if the parcel was deleted meanwhile.
    #[allow(clippy::too_many_arguments)]
    #[cfg(test)]
    pub fn apply_report(
        &self,
        parcel: &ParcelKey,
        report: &Report,
        now: Timestamp,
        rules: &Rules,
        next_poll: Timestamp,
        timing: &SendTiming<'_>,
    ) -> Result<Option<ReportOutcome>, StoreError> {
        let report = ReportFor {
            parcel: parcel.clone(),
            report: report.clone(),
            next_poll,
            unmapped: Vec::new(),
        };
        let mut outcomes = self.apply_reports(std::slice::from_ref(&report), now, rules, timing)?;
        Ok(outcomes.pop().flatten())
    }

    /// Applies several reports, each as [`SyncStore::apply_report`] would, several to a
    /// transaction ([`SyncStore::tx_each`]): a transaction's fixed cost is shared, and each
    /// report is stored whole or not at all. Returns one outcome per report, in order.
    pub fn apply_reports(
        &self,
        reports: &[ReportFor],
        now: Timestamp,
        rules: &Rules,
        timing: &SendTiming<'_>,
    ) -> Result<Vec<Option<ReportOutcome>>, StoreError> {
        self.tx_each(reports, |t, r| t.apply_report(r, now, rules, timing))
    }

    /// Records a failed poll; `next_poll` says when to try again given the failures in a row.
    /// A parcel the carrier has said nothing about for `rules.give_up_after` is no longer
    /// polled (it is abandoned).
    pub fn record_poll_failure(
        &self,
        parcel: &ParcelKey,
        error: &str,
        next_poll: impl Fn(u32) -> Timestamp,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<u32, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        self.tx(|t| {
            let Some(old) = t.get_parcel(shop, track)? else {
                return Ok(0);
            };
            let mut p = old.clone();
            p.poll.failures = p.poll.failures.saturating_add(1);
            p.poll.last_error = Some(error.chars().take(500).collect());
            if !p.status.is_final() || p.awaits_cod_payment() || manual::awaits_confirmation(&p) {
                p.next_poll_at = Some(next_poll(p.poll.failures));
            }
            if p.next_poll_at.is_some() && lifecycle::should_give_up(&p, now, rules) {
                p.next_poll_at = None;
                p.abandoned_at = Some(now);
            }
            t.put_parcel(Some(&old), &p)?;
            t.end_lease(keys::parcel(shop, track))?;
            Ok(p.poll.failures)
        })
    }

    /// Fires a parcel's reminder if it is due at `now`: the next reminder is scheduled and the
    /// message created in one transaction. Returns how many outbox entries were created.
    pub fn fire_reminder(
        &self,
        parcel: &ParcelKey,
        due_at: Timestamp,
        now: Timestamp,
        rules: &Rules,
        timing: &SendTiming<'_>,
    ) -> Result<usize, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        self.tx(|t| {
            let Some(old) = t.get_parcel(shop, track)? else {
                t.due
                    .remove(keys::due(due_at, DueKind::Reminder, shop, track))?;
                return Ok(0);
            };
            if old.next_reminder_at != Some(due_at) {
                t.due
                    .remove(keys::due(due_at, DueKind::Reminder, shop, track))?;
                return Ok(0);
            }
            let mut p = old.clone();
            let intent = lifecycle::fire_reminder(&mut p, now, rules);
            let messages = match intent {
                Some(i) => t.enqueue_intents(&p, &[i], now, timing)?,
                None => 0,
            };
            if p.next_reminder_at == old.next_reminder_at {
                // Not due yet after all (clock skew): leave it.
                return Ok(0);
            }
            t.put_parcel(Some(&old), &p)?;
            Ok(messages)
        })
    }
}

impl Store {
    /// When the next item comes due, if any.
    pub async fn next_due_at(&self) -> Result<Option<Timestamp>, StoreError> {
        self.run(SyncStore::next_due_at).await
    }

    /// Up to `limit` items due at or before `now`, oldest first.
    pub async fn due_items(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<DueItem>, StoreError> {
        self.run(move |s| s.due_items(now, limit)).await
    }

    /// Leases every live parcel (of one shop, or all) that is not already being polled, until
    /// `until` for its carrier, for an operator's "poll everything now".
    pub async fn lease_live(
        &self,
        shop: Option<&ShopId>,
        until: impl Fn(CarrierId) -> Option<Timestamp> + Send + 'static,
    ) -> Result<LiveLease, StoreError> {
        let shop = shop.cloned();
        self.run(move |s| s.lease_live(shop.as_ref(), until)).await
    }

    /// Whether a poll of this parcel is in flight.
    pub async fn is_leased(&self, parcel: &ParcelKey) -> Result<bool, StoreError> {
        let parcel = parcel.clone();
        self.run(move |s| s.is_leased(&parcel)).await
    }

    /// Applies several carrier reports in one transaction (each merges events, runs the
    /// lifecycle, schedules the next poll and reminders and creates the notifications),
    /// customer messages timed for `send_window`. Returns one outcome per report, in order
    /// (`None` for a parcel deleted meanwhile).
    pub async fn apply_reports(
        &self,
        reports: Vec<ReportFor>,
        now: Timestamp,
        rules: &Rules,
        send_window: DailyWindow,
    ) -> Result<Vec<Option<ReportOutcome>>, StoreError> {
        let rules = rules.clone();
        self.run(move |s| {
            let timing = SendTiming {
                window: &send_window,
            };
            s.apply_reports(&reports, now, &rules, &timing)
        })
        .await
    }

    /// Records a failed poll; `next_poll` says when to try again given the failures in a row.
    /// A parcel the carrier has said nothing about for `rules.give_up_after` is no longer
    /// polled. Returns the failures in a row.
    pub async fn record_poll_failure(
        &self,
        parcel: &ParcelKey,
        error: &str,
        next_poll: impl Fn(u32) -> Timestamp + Send + 'static,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<u32, StoreError> {
        let (parcel, error, rules) = (parcel.clone(), error.to_string(), rules.clone());
        self.run(move |s| s.record_poll_failure(&parcel, &error, next_poll, now, &rules))
            .await
    }

    /// Fires the reminders that came due, one transaction each (see
    /// [`SyncStore::fire_reminder`]), customer messages timed for `send_window`. Returns how
    /// many outbox entries were created.
    pub async fn fire_reminders(
        &self,
        items: Vec<DueItem>,
        now: Timestamp,
        rules: &Rules,
        send_window: DailyWindow,
    ) -> Result<usize, StoreError> {
        let rules = rules.clone();
        self.run(move |s| {
            let timing = SendTiming {
                window: &send_window,
            };
            let mut queued = 0;
            for item in &items {
                queued += s.fire_reminder(&item.parcel, item.at, now, &rules, &timing)?;
            }
            Ok(queued)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::domain::notification::{Channel, NotificationKind};
    use crate::domain::outbox::DeliveryState;
    use crate::domain::parcel::Office;
    use crate::domain::schedule::DailyWindow;
    use crate::domain::shop::ShopId;
    use crate::store::test_support::pk;
    use crate::store::test_support::{t, temp_store};
    use std::time::Duration;

    fn ev(at: i64, status: Status, code: &str) -> CarrierEvent {
        CarrierEvent {
            at: t(at),
            status,
            code: code.into(),
            description: code.into(),
            office: Some(Office {
                index: Some("101000".into()),
                name: "Москва 101000".into(),
                ..Office::default()
            }),
            storage: None,
            presence: false,
        }
    }

    fn setup() -> (tempfile::TempDir, SyncStore) {
        let (d, store) = temp_store();
        let mut shop = crate::store::shops::tests::shop("acme", "h");
        shop.report_email = Some(crate::domain::contact::EmailAddress::from_trusted(
            "ops@acme.ru",
        ));
        store.create_shop(&shop).unwrap();
        let v = validate(&ParcelDraft {
            track: "SANDBOX-DELIVERED-1".into(),
            phone: crate::domain::intake::Patch::Set("+79123456789".into()),
            email: crate::domain::intake::Patch::Set("ivan@example.ru".into()),
            ..ParcelDraft::default()
        })
        .unwrap();
        store
            .intake(&ShopId::from_trusted("acme"), &v, t(0), t(0))
            .unwrap();
        (d, store)
    }

    #[test]
    fn report_commits_state_schedule_and_messages_together() {
        let (_d, store) = setup();
        let w = DailyWindow::ALWAYS;
        let timing = SendTiming { window: &w };
        let rules = Rules::default();
        let due = store.due_items(t(0), 10).unwrap();
        assert_eq!(due.len(), 1);
        assert!(store.lease_poll(&due[0], t(600)).unwrap());
        assert!(store.due_items(t(0), 10).unwrap().is_empty(), "leased");
        assert!(
            !store.lease_poll(&due[0], t(600)).unwrap(),
            "a second lease of the same item fails"
        );

        let report = Report {
            events: vec![ev(10, Status::ArrivedAtPickup, "8/2")],
            ..Report::default()
        };
        let out = store
            .apply_report(
                &pk("acme", "SANDBOX-DELIVERED-1"),
                &report,
                t(20),
                &rules,
                t(3600),
                &timing,
            )
            .unwrap()
            .unwrap();
        assert_eq!(out.status, Status::ArrivedAtPickup);
        assert_eq!(out.messages, 2, "sms and e-mail");
        // The same report again creates nothing.
        let again = store
            .apply_report(
                &pk("acme", "SANDBOX-DELIVERED-1"),
                &report,
                t(30),
                &rules,
                t(3600),
                &timing,
            )
            .unwrap()
            .unwrap();
        assert_eq!((again.new_events, again.messages), (0, 0));
        let entries = store
            .parcel_entries(&pk("acme", "SANDBOX-DELIVERED-1"))
            .unwrap();
        assert_eq!(entries.len(), 2);
        assert!(
            entries
                .iter()
                .all(|e| e.state == DeliveryState::Pending
                    && e.key.kind == NotificationKind::Arrived)
        );
        // A reminder and the next poll are due.
        let p = store
            .parcel(&pk("acme", "SANDBOX-DELIVERED-1"))
            .unwrap()
            .unwrap();
        assert_eq!(p.next_poll_at, Some(t(3600)));
        let rem = p.next_reminder_at.unwrap();
        let n = store
            .fire_reminder(
                &pk("acme", "SANDBOX-DELIVERED-1"),
                rem,
                rem,
                &rules,
                &timing,
            )
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            store
                .fire_reminder(
                    &pk("acme", "SANDBOX-DELIVERED-1"),
                    rem,
                    rem,
                    &rules,
                    &timing
                )
                .unwrap(),
            0,
            "fired once"
        );
        let p = store
            .parcel(&pk("acme", "SANDBOX-DELIVERED-1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            p.next_reminder_at,
            Some(rem + Duration::from_secs(5 * 86_400))
        );

        // Delivered: polling and reminders stop; the thank-you message is queued.
        let report = Report {
            events: vec![ev(40, Status::Delivered, "2/1")],
            ..Report::default()
        };
        store
            .apply_report(
                &pk("acme", "SANDBOX-DELIVERED-1"),
                &report,
                t(50),
                &rules,
                t(3600),
                &timing,
            )
            .unwrap();
        let p = store
            .parcel(&pk("acme", "SANDBOX-DELIVERED-1"))
            .unwrap()
            .unwrap();
        assert_eq!((p.next_poll_at, p.next_reminder_at), (None, None));
        assert_eq!(store.due_count().unwrap(), 0);
        assert_eq!(
            store.pending(Channel::Sms, t(100), 100).unwrap().len(),
            2,
            "the reminder waits for its time"
        );
        assert_eq!(
            store
                .pending(Channel::Sms, t(30 * 86_400), 100)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn reports_applied_together_answer_each_parcel() {
        let (_d, store) = setup();
        let w = DailyWindow::ALWAYS;
        let timing = SendTiming { window: &w };
        let one = |track: &str, status, code| ReportFor {
            parcel: pk("acme", track),
            report: Report {
                events: vec![ev(10, status, code)],
                ..Report::default()
            },
            next_poll: t(3600),
            unmapped: Vec::new(),
        };
        let out = store
            .apply_reports(
                &[
                    one("SANDBOX-DELIVERED-1", Status::ArrivedAtPickup, "8/2"),
                    one("SANDBOX-GONE-1", Status::Accepted, "1/1"),
                ],
                t(20),
                &Rules::default(),
                &timing,
            )
            .unwrap();
        assert_eq!(out.len(), 2);
        let first = out[0].as_ref().unwrap();
        assert_eq!((first.status, first.messages), (Status::ArrivedAtPickup, 2));
        assert!(out[1].is_none(), "no such parcel");
        assert_eq!(
            store
                .parcel_entries(&pk("acme", "SANDBOX-DELIVERED-1"))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn failures_back_off() {
        let (_d, store) = setup();
        assert_eq!(
            store
                .record_poll_failure(
                    &pk("acme", "SANDBOX-DELIVERED-1"),
                    "timeout",
                    |n| t(60 * i64::from(n)),
                    t(0),
                    &Rules::default()
                )
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .record_poll_failure(
                    &pk("acme", "SANDBOX-DELIVERED-1"),
                    "timeout",
                    |n| t(60 * i64::from(n)),
                    t(0),
                    &Rules::default()
                )
                .unwrap(),
            2
        );
        let due = store.due_items(t(119), 10).unwrap();
        assert!(due.is_empty());
        assert_eq!(store.next_due_at().unwrap(), Some(t(120)));
        let live = store.lease_live(None, |_| Some(t(500))).unwrap();
        assert_eq!((live.leased.len(), live.busy.len()), (1, 0));
        let live = store.lease_live(None, |_| Some(t(500))).unwrap();
        assert_eq!(
            (live.leased.len(), live.busy.len()),
            (0, 1),
            "already leased"
        );
        assert!(store.is_leased(&pk("acme", "SANDBOX-DELIVERED-1")).unwrap());
        assert_eq!(store.release_leases(t(5)).unwrap(), 1);
        assert_eq!(store.due_items(t(5), 10).unwrap().len(), 1);
    }
}
