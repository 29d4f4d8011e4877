//! Applying what a carrier said about one parcel, the same way whether the answer came from a
//! poll, a batch ticket or a carrier's push: the store transaction that merges the events,
//! moves the parcel to the carrier it was handed to, schedules its next poll in that carrier's
//! window and queues the notifications. Codes are remapped as the config says and the
//! unmapped ones counted ([`crate::carriers::codes`]).

use crate::carriers::{ParcelReport, TrackReport, codes};
use crate::config::outages::OutageSettings;
use crate::config::{PollingSettings, Settings};
use crate::domain::carrier::CarrierId;
use crate::domain::lifecycle::Rules;
use crate::domain::parcel::ParcelKey;
use crate::domain::polling::slot;
use crate::domain::schedule::DailyWindow;
use crate::store::{Report, ReportFor, ReportOutcome, Store, StoreError};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Applies carrier answers to the store.
#[derive(Clone)]
pub struct Applier {
    /// The store.
    pub store: Store,
    /// Lifecycle rules.
    pub rules: Rules,
    /// The daemon's time zone (polling windows).
    pub tz: TimeZone,
    /// The customers' send window.
    pub send_window: DailyWindow,
    /// The polling settings of every carrier parcels may be with, EMS included.
    pub targets: Arc<BTreeMap<CarrierId, PollingSettings>>,
    /// How long a delivered parcel with unconfirmed cash on delivery is still polled.
    pub cod_follow_up: Duration,
    /// How carrier outages are judged.
    pub outages: OutageSettings,
}

/// The key parcels are spread over a window by: `shop/track`.
pub fn spread_key(parcel: &ParcelKey) -> String {
    parcel.to_string()
}

impl Applier {
    /// An applier for the daemon's settings.
    pub fn new(store: Store, settings: &Settings) -> Applier {
        let targets = CarrierId::ALL
            .into_iter()
            .filter_map(|c| settings.polling_for(c).map(|p| (c, p.clone())))
            .collect();
        Applier {
            store,
            rules: settings.rules.clone(),
            tz: settings.daemon.timezone.clone(),
            send_window: settings.notify.send_window,
            targets: Arc::new(targets),
            cod_follow_up: settings
                .russian_post
                .as_ref()
                .filter(|r| r.cod_events)
                .map_or(Duration::ZERO, |r| r.cod_follow_up),
            outages: settings.outages.clone(),
        }
    }

    /// When a parcel polled successfully at `now` under `settings` is polled next.
    pub fn next_poll(
        &self,
        settings: &PollingSettings,
        parcel: &ParcelKey,
        now: Timestamp,
    ) -> Timestamp {
        let earliest = now
            .checked_add(settings.poll_every)
            .unwrap_or(Timestamp::MAX);
        slot(&settings.window, &self.tz, earliest, &spread_key(parcel))
    }

    /// Applies `report` about `parcel`, answered by the carrier polled with `own`. Returns
    /// `None` if the parcel is gone.
    pub async fn apply(
        &self,
        parcel: &ParcelKey,
        report: TrackReport,
        now: Timestamp,
        own: &PollingSettings,
    ) -> Result<Option<ReportOutcome>, StoreError> {
        let report = ParcelReport {
            parcel: parcel.clone(),
            report,
        };
        let mut outcomes = self.apply_many(vec![report], now, own).await?;
        Ok(outcomes.pop().flatten())
    }

    /// Applies several reports answered by the carrier polled with `own`, in one transaction.
    /// Returns one outcome per report, in order (`None` for a parcel that is gone).
    pub async fn apply_many(
        &self,
        reports: Vec<ParcelReport>,
        now: Timestamp,
        own: &PollingSettings,
    ) -> Result<Vec<Option<ReportOutcome>>, StoreError> {
        let reports: Vec<ReportFor> = reports
            .into_iter()
            .map(|r| self.report_for(r.parcel, r.report, now, own))
            .collect();
        let known: Vec<usize> = reports.iter().map(|r| r.report.events.len()).collect();
        let outcomes = self
            .store
            .apply_reports(reports, now, &self.rules, self.send_window)
            .await?;
        let answers = outcomes
            .iter()
            .zip(known)
            .filter_map(|(o, k)| o.as_ref().map(|o| (o.new_events, k)))
            .collect();
        super::outage::count(&self.store, own.carrier, now, &self.outages, answers).await;
        Ok(outcomes)
    }

    /// What the store applies for a report: the handoff to another carrier, and the next poll
    /// in the window of the carrier that asks next.
    fn report_for(
        &self,
        parcel: ParcelKey,
        mut report: TrackReport,
        now: Timestamp,
        own: &PollingSettings,
    ) -> ReportFor {
        let unmapped = codes::remap(own.carrier, &own.codes, &mut report.events)
            .into_iter()
            .map(|c| (own.carrier, c))
            .collect();
        let handoff = report.handed_to.filter(|c| {
            self.targets
                .get(c)
                .is_some_and(|t| t.carrier != own.carrier)
        });
        let next = match handoff.and_then(|c| self.targets.get(&c)) {
            // The new carrier is asked soon, in its own window.
            Some(t) => slot(&t.window, &self.tz, now, &spread_key(&parcel)),
            None => self.next_poll(own, &parcel, now),
        };
        let cod_follow_up = if own.carrier == CarrierId::RussianPost || handoff.is_some() {
            self.cod_follow_up
        } else {
            Duration::ZERO
        };
        ReportFor {
            parcel,
            report: Report {
                events: report.events,
                cod_paid_at: report.cod_paid_at,
                new_track: report.new_track,
                carrier: handoff,
                cod_follow_up,
                mail_type: report.mail_type,
                destination: report.destination,
            },
            next_poll: next,
            unmapped,
        }
    }
}
