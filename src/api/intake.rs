//! Handing parcels over, whatever they came in (a JSON body, a CSV or XLSX file): every draft
//! goes through the same validation, the same plan check and the same idempotent store write,
//! and the store is flushed before the caller answers.
//!
//! One logical step of many store calls on one blocking thread: run [`hand_over`] through
//! [`Store::in_one_step`](crate::store::Store::in_one_step).

use super::dto::IntakeOutcome;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::intake::{FieldError, ParcelDraft, notes, validate};
use crate::domain::parcel::ParcelKey;
use crate::domain::plan::ShopDay;
use crate::domain::shop::{Shop, ShopId};
use crate::domain::track;
use crate::store::{Admission, StoreError, Stored, SyncStore, TX_CHUNK};

/// What became of one draft.
#[derive(Debug, Clone)]
pub struct Handled {
    /// The track number as stored, when it could be read.
    pub track: Option<String>,
    /// Created, already present, updated or rejected.
    pub outcome: IntakeOutcome,
    /// Why it was rejected, field by field.
    pub errors: Vec<FieldError>,
    /// Doubts worth showing.
    pub warnings: Vec<String>,
    /// For an update: the fields that changed.
    pub changed: Vec<String>,
}

/// Counts of a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// New parcels.
    pub created: usize,
    /// Parcels whose details changed.
    pub updated: usize,
    /// Parcels handed over again unchanged.
    pub unchanged: usize,
    /// Refused.
    pub rejected: usize,
}

impl Tally {
    /// Counts one result.
    pub fn add(&mut self, h: &Handled) {
        match h.outcome {
            IntakeOutcome::Created => self.created += 1,
            IntakeOutcome::Updated => self.updated += 1,
            IntakeOutcome::AlreadyPresent => self.unchanged += 1,
            IntakeOutcome::Rejected => self.rejected += 1,
        }
    }
}

/// Valid drafts waiting to be stored, with their place in the answer.
struct Pending<'a> {
    store: &'a SyncStore,
    shop: &'a Shop,
    tz: jiff::tz::TimeZone,
    now: jiff::Timestamp,
    items: Vec<(usize, crate::domain::intake::ValidParcel, jiff::Timestamp)>,
    rules: &'a crate::domain::lifecycle::Rules,
}

impl Pending<'_> {
    /// Stores the waiting drafts in one transaction and records each outcome in `out`.
    fn store(&mut self, out: &mut [Handled], clock: &Clock) -> Result<(), StoreError> {
        if !self.items.is_empty() {
            let admission = Admission {
                plan: self.shop.plan.clone(),
                day: ShopDay::at(self.now, &self.tz),
            };
            let batch: Vec<_> = self.items.iter().map(|(_, v, at)| (v, *at)).collect();
            let stored = self.store.intake_batch(
                &self.shop.id,
                &batch,
                self.now,
                Some(&admission),
                self.rules,
            )?;
            for ((i, v, _), s) in self.items.iter().zip(stored) {
                let item = &mut out[*i];
                let parcel = match &s {
                    Stored::Created(p) | Stored::Unchanged(p) => Some(p),
                    Stored::Updated { parcel, .. } => Some(parcel),
                    Stored::Refused(_) => None,
                };
                if let Some(p) = parcel {
                    item.warnings.extend(notes(v, p));
                }
                item.outcome = match s {
                    Stored::Created(_) => IntakeOutcome::Created,
                    Stored::Updated { changed, .. } => {
                        item.changed = changed.iter().map(|c| c.to_string()).collect();
                        IntakeOutcome::Updated
                    }
                    Stored::Unchanged(_) => IntakeOutcome::AlreadyPresent,
                    Stored::Refused(r) => {
                        item.errors.push(FieldError::new("plan", r));
                        IntakeOutcome::Rejected
                    }
                };
            }
            self.items.clear();
        }
        self.now = clock.now();
        Ok(())
    }
}

/// Hands over drafts for `shop` (already known to exist); a draft that could not even be read
/// comes as its errors. Valid drafts are stored [`TX_CHUNK`] at a time, one transaction each;
/// the answer has one result per draft, in order. Flushes the store before returning.
pub(crate) fn hand_over(
    store: &SyncStore,
    settings: &Settings,
    clock: &Clock,
    shop: &Shop,
    drafts: impl IntoIterator<Item = Result<ParcelDraft, Vec<FieldError>>>,
) -> Result<Vec<Handled>, StoreError> {
    let mut pending = Pending {
        store,
        shop,
        tz: crate::reports::send::shop_tz(shop),
        now: clock.now(),
        items: Vec::with_capacity(TX_CHUNK),
        rules: &settings.rules,
    };
    let mut out = Vec::new();
    for d in drafts {
        let mut item = Handled {
            track: None,
            outcome: IntakeOutcome::Rejected,
            errors: Vec::new(),
            warnings: Vec::new(),
            changed: Vec::new(),
        };
        let valid = d.and_then(|d| {
            item.track = track::parse(&d.track)
                .ok()
                .map(|t| t.number.as_str().to_string());
            validate(&d)
        });
        let v = match valid {
            Err(errors) => {
                item.errors = errors;
                out.push(item);
                continue;
            }
            Ok(v) => v,
        };
        let now = pending.now;
        let first_poll = match settings.polling_for(v.carrier()) {
            Some(c) => crate::domain::polling::slot(
                &c.window,
                &settings.daemon.timezone,
                now,
                &crate::carriers::poll::apply::spread_key(&ParcelKey::new(
                    shop.id.clone(),
                    v.track.number.clone(),
                )),
            ),
            None => {
                item.warnings.push(format!(
                    "carrier {} is not enabled on this parceld; the parcel will be polled once it is",
                    v.carrier()
                ));
                now
            }
        };
        item.warnings.extend(v.warnings.iter().cloned());
        out.push(item);
        pending.items.push((out.len() - 1, v, first_poll));
        if pending.items.len() == TX_CHUNK {
            pending.store(&mut out, clock)?;
        }
    }
    pending.store(&mut out, clock)?;
    // Acknowledged means on disk: a crash after this answer loses nothing.
    store.flush()?;
    Ok(out)
}

/// Logs and counts a batch, and wakes the scheduler if anything is new.
pub fn record(state: &super::AppState, shop: &ShopId, source: &'static str, t: Tally) {
    if t.created + t.updated > 0 {
        metrics::counter!("parceld_parcels_intake_total", "outcome" => "created")
            .increment(t.created as u64);
        tracing::info!(
            shop = shop.as_str(),
            source,
            created = t.created,
            updated = t.updated,
            unchanged = t.unchanged,
            rejected = t.rejected,
            "Parcels handed over"
        );
        state.scheduler.do_send(crate::actors::Wake);
    }
    if t.rejected > 0 {
        metrics::counter!("parceld_parcels_intake_total", "outcome" => "rejected")
            .increment(t.rejected as u64);
    }
}
