//! Parcels: intake, lookup by track and by order number, listing, deletion.

use super::{
    Store, StoreError, SyncStore, Tx, TxResult, abort, decode_record, encode_record, keys,
};
use crate::domain::carrier::CarrierId;
use crate::domain::intake::{Upsert, ValidParcel, upsert};
use crate::domain::lifecycle::{self, Rules, ShopTerms};
use crate::domain::outage;
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::plan::{Plan, Refusal, ShopDay};
use crate::domain::shop::ShopId;
use crate::domain::status::Status;
use crate::domain::track::TrackNumber;
use jiff::Timestamp;

/// What handing over one parcel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// New parcel.
    Created(Box<Parcel>),
    /// Same details as stored: nothing changed.
    Unchanged(Box<Parcel>),
    /// The shop's details changed.
    Updated {
        /// The parcel as stored now.
        parcel: Box<Parcel>,
        /// The fields that changed, as the API names them.
        changed: Vec<&'static str>,
    },
    /// New, but the shop's plan does not allow it (quota used up, trial over): not stored.
    Refused(Refusal),
}

/// What reviving a parcel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revived {
    /// No such parcel.
    NotFound,
    /// Its journey is over.
    Finished(Status),
    /// It is polled anyway.
    NotAbandoned,
    /// It is polled again.
    Done(Box<Parcel>),
}

/// What a new parcel is checked against: the shop's plan on the shop's day.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The plan.
    pub plan: Plan,
    /// The shop's day (its month keys the usage counter).
    pub day: ShopDay,
}

/// Which parcels to list.
#[derive(Debug, Clone, Default)]
pub struct ParcelFilter {
    /// Only this status.
    pub status: Option<Status>,
    /// Only parcels stuck (`true`) or not stuck (`false`) at `now` under the rules.
    pub stuck: Option<(bool, Timestamp, Rules)>,
    /// Start after this track number (the previous page's `next`).
    pub after: Option<String>,
    /// At most this many.
    pub limit: usize,
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct ParcelPage {
    /// The parcels, by track number.
    pub parcels: Vec<Parcel>,
    /// The track to continue after, if there are more.
    pub next: Option<String>,
}

/// Why an unsent message is withdrawn when the deadline it was planned for moved.
pub(super) const DEADLINE_MOVED: &str =
    "the storage deadline moved; the message planned for the old one is not sent";

pub(super) fn tag(p: &Parcel) -> [u8; 1] {
    [p.carrier.tag()]
}

impl Tx<'_> {
    pub(super) fn get_parcel(&self, shop: &str, track: &str) -> TxResult<Option<Parcel>> {
        let key = keys::parcel(shop, track);
        match self.parcels.get(&key)? {
            None => Ok(None),
            Some(v) => match decode_record::<Parcel>(&key, &v) {
                Ok(p) => Ok(Some(p)),
                Err(e) => abort(e),
            },
        }
    }

    /// Writes a parcel and keeps its order index and due entries in step with it.
    pub(super) fn put_parcel(&self, old: Option<&Parcel>, new: &Parcel) -> TxResult<()> {
        let (shop, track) = (new.shop.as_str(), new.track.as_str());
        let key = keys::parcel(shop, track);
        let value = match encode_record(&key, new) {
            Ok(v) => v,
            Err(e) => return abort(e),
        };
        self.parcels.insert(key, value)?;
        let old_order = old.and_then(|p| p.order_id.as_deref());
        if old_order != new.order_id.as_deref() {
            if let Some(o) = old_order {
                self.by_order.remove(keys::order(shop, o, track))?;
            }
            if let Some(o) = &new.order_id {
                self.by_order.insert(keys::order(shop, o, track), &[])?;
            }
        }
        let tag = tag(new);
        let retag = old.is_some_and(|p| p.carrier != new.carrier);
        self.put_due(
            old.and_then(|p| p.next_poll_at),
            new.next_poll_at,
            keys::DueKind::Poll,
            shop,
            track,
            &tag,
            retag,
        )?;
        self.put_due(
            old.and_then(|p| p.next_reminder_at),
            new.next_reminder_at,
            keys::DueKind::Reminder,
            shop,
            track,
            &tag,
            retag,
        )?;
        Ok(())
    }
}

impl SyncStore {
    /// Stores one validated parcel for a shop, or finds it unchanged, or updates the shop's
    /// details of it. `first_poll_at` is when a new parcel is first asked about. No plan is
    /// checked (see [`SyncStore::intake_admitted`]).
    #[cfg(test)]
    pub fn intake(
        &self,
        shop: &ShopId,
        parcel: &ValidParcel,
        now: Timestamp,
        first_poll_at: Timestamp,
    ) -> Result<Stored, StoreError> {
        self.intake_admitted(shop, parcel, now, first_poll_at, None)
    }

    /// [`SyncStore::intake_batch`] with the default rules: for tests and tools.
    #[cfg(test)]
    pub fn intake_admitted(
        &self,
        shop: &ShopId,
        parcel: &ValidParcel,
        now: Timestamp,
        first_poll_at: Timestamp,
        admission: Option<&Admission>,
    ) -> Result<Stored, StoreError> {
        let mut stored = self.intake_batch(
            shop,
            &[(parcel, first_poll_at)],
            now,
            admission,
            &Rules::default(),
        )?;
        stored
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("parcel {}", parcel.track.number)))
    }

    /// Stores several validated parcels of one shop in one transaction, each with when it is
    /// first asked about, and answers one result per parcel in order, exactly as
    /// [`SyncStore::intake_admitted`] would one after the other: a track number given twice is
    /// created once and then found unchanged (or updated), and every new parcel is counted
    /// against the month's quota or refused. A waiting parcel whose storage period changed
    /// gets its deadline worked out again under `rules`.
    pub fn intake_batch(
        &self,
        shop: &ShopId,
        parcels: &[(&ValidParcel, Timestamp)],
        now: Timestamp,
        admission: Option<&Admission>,
        rules: &Rules,
    ) -> Result<Vec<Stored>, StoreError> {
        let ids = parcels
            .iter()
            .map(|_| self.next_id())
            .collect::<Result<Vec<u64>, _>>()?;
        let usage_key = admission.map(|a| keys::usage(shop.as_str(), &a.day.month));
        self.tx(|t| {
            let terms = t
                .shop_record(shop.as_str())?
                .map_or_else(ShopTerms::default, |s| ShopTerms::of(&s));
            let mut used = match &usage_key {
                Some(k) => Some(t.usage.get(k)?.map_or(0, |v| keys::read_u64(&v))),
                None => None,
            };
            let counted = used;
            let mut out = Vec::with_capacity(parcels.len());
            for (&(parcel, first_poll_at), &new_id) in parcels.iter().zip(&ids) {
                let track = parcel.track.number.as_str();
                let existing = t.get_parcel(shop.as_str(), track)?;
                out.push(
                    match upsert(existing.as_ref(), parcel, shop, new_id, now, first_poll_at) {
                        Upsert::Unchanged => match existing {
                            Some(p) => Stored::Unchanged(Box::new(p)),
                            None => return abort(StoreError::NotFound(format!("parcel {track}"))),
                        },
                        Upsert::Created(p) => {
                            if let (Some(a), Some(n)) = (admission, used.as_mut()) {
                                if let Err(refusal) = a.plan.admit(*n, &a.day) {
                                    out.push(Stored::Refused(refusal));
                                    continue;
                                }
                                *n += 1;
                            }
                            t.put_parcel(None, &p)?;
                            t.hook_created(&p, now, rules)?;
                            Stored::Created(p)
                        }
                        Upsert::Updated {
                            parcel: mut p,
                            changed,
                        } => {
                            if changed.contains(&"storage_days") {
                                let o = lifecycle::refresh_deadline(&mut p, now, rules, &terms);
                                t.withdraw(&p, &o.withdraw, DEADLINE_MOVED)?;
                                if let Some(before) = &existing {
                                    t.hook_deadline(before, &p, &o, now)?;
                                }
                            }
                            t.put_parcel(existing.as_ref(), &p)?;
                            Stored::Updated { parcel: p, changed }
                        }
                    },
                );
            }
            if let (Some(k), Some(n)) = (&usage_key, used)
                && used != counted
            {
                t.usage.insert(k.as_slice(), &n.to_be_bytes())?;
            }
            Ok(out)
        })
    }

    /// Works the deadline out again for every parcel waiting at an office (of one shop, or of
    /// all), after a storage period changed, a few dozen parcels a transaction; unsent messages
    /// planned for a deadline that moved later are withdrawn. Returns how many deadlines moved.
    pub fn refresh_deadlines(
        &self,
        shop: Option<&ShopId>,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut waiting = Vec::new();
        self.for_each_parcel(shop, |p| {
            if p.arrival.is_some() && !p.status.is_final() {
                waiting.push(p.key());
            }
            true
        })?;
        self.tx_count(&waiting, |t, key| {
            let Some(old) = t.get_parcel(key.shop.as_str(), key.track.as_str())? else {
                return Ok(false);
            };
            let terms = t
                .shop_record(key.shop.as_str())?
                .map_or_else(ShopTerms::default, |s| ShopTerms::of(&s));
            let mut p = old.clone();
            let o = lifecycle::refresh_deadline(&mut p, now, rules, &terms);
            if p != old {
                t.withdraw(&p, &o.withdraw, DEADLINE_MOVED)?;
                t.hook_deadline(&old, &p, &o, now)?;
                t.put_parcel(Some(&old), &p)?;
            }
            Ok(o.deadline_moved.is_some())
        })
    }

    /// Polls again a parcel that was given up on: the silence that counts towards giving up
    /// starts afresh at `now`, and it is polled at `first_poll(carrier)`.
    pub fn revive_parcel(
        &self,
        parcel: &ParcelKey,
        now: Timestamp,
        first_poll: impl Fn(CarrierId) -> Timestamp,
    ) -> Result<Revived, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        self.tx(|t| {
            let Some(old) = t.get_parcel(shop, track)? else {
                return Ok(Revived::NotFound);
            };
            if old.status.is_final() {
                return Ok(Revived::Finished(old.status));
            }
            if old.abandoned_at.is_none() {
                return Ok(Revived::NotAbandoned);
            }
            let mut p = old.clone();
            p.abandoned_at = None;
            p.revived_at = Some(now);
            p.next_poll_at = Some(first_poll(p.carrier));
            p.updated_at = now;
            t.put_parcel(Some(&old), &p)?;
            Ok(Revived::Done(Box::new(p)))
        })
    }

    /// The parcel with this track number in this shop.
    pub fn parcel(&self, parcel: &ParcelKey) -> Result<Option<Parcel>, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        let key = keys::parcel(shop, track);
        self.t
            .parcels
            .get(&key)?
            .map(|v| decode_record::<Parcel>(&key, &v))
            .transpose()
    }

    /// The shop's parcels with this order number.
    pub fn parcels_by_order(&self, shop: &ShopId, order: &str) -> Result<Vec<Parcel>, StoreError> {
        let prefix = keys::order_prefix(shop.as_str(), order);
        let mut out = Vec::new();
        for kv in self.t.by_order.scan_prefix(&prefix) {
            let (k, _) = kv?;
            let track = String::from_utf8_lossy(&k[prefix.len()..]);
            let key = ParcelKey::new(shop.clone(), TrackNumber::from_trusted(track));
            if let Some(p) = self.parcel(&key)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// A page of the shop's parcels, by track number.
    pub fn list_parcels(
        &self,
        shop: &ShopId,
        filter: &ParcelFilter,
    ) -> Result<ParcelPage, StoreError> {
        let shop = shop.as_str();
        let prefix = keys::shop_prefix(shop);
        let start = match &filter.after {
            Some(after) => {
                let mut k = keys::parcel(shop, after);
                k.push(0);
                k
            }
            None => prefix.clone(),
        };
        let end = keys::prefix_end(&prefix);
        let limit = filter.limit.max(1);
        let mut parcels = Vec::new();
        let mut next = None;
        let stalled = match filter.stuck {
            Some(_) => self.stalled_carriers()?,
            None => Default::default(),
        };
        for kv in self.t.parcels.range(start..end) {
            let (k, v) = kv?;
            let p: Parcel = decode_record::<Parcel>(&k, &v)?;
            if filter.status.is_some_and(|s| s != p.status) {
                continue;
            }
            if let Some((want, now, rules)) = &filter.stuck
                && outage::is_stuck(&p, *now, rules, &stalled) != *want
            {
                continue;
            }
            if parcels.len() == limit {
                next = parcels
                    .last()
                    .map(|p: &Parcel| p.track.as_str().to_string());
                break;
            }
            parcels.push(p);
        }
        Ok(ParcelPage { parcels, next })
    }

    /// Calls `f` for every parcel of every shop (or of one shop), in key order.
    pub fn for_each_parcel(
        &self,
        shop: Option<&ShopId>,
        mut f: impl FnMut(Parcel) -> bool,
    ) -> Result<(), StoreError> {
        let shop = shop.map(ShopId::as_str);
        let iter = match shop {
            Some(s) => self.t.parcels.scan_prefix(keys::shop_prefix(s)),
            None => self.t.parcels.iter(),
        };
        for kv in iter {
            let (k, v) = kv?;
            let p: Parcel = decode_record::<Parcel>(&k, &v)?;
            if !f(p) {
                break;
            }
        }
        Ok(())
    }

    /// Deletes a parcel, its index entries, its due entries and its outbox entries, so nothing
    /// more is sent about it. Returns the deleted parcel.
    pub fn delete_parcel(&self, parcel: &ParcelKey) -> Result<Option<Parcel>, StoreError> {
        let (shop, track) = (parcel.shop.as_str(), parcel.track.as_str());
        let entries: Vec<sled::IVec> = self
            .t
            .outbox
            .scan_prefix(keys::outbox_prefix(shop, track))
            .keys()
            .collect::<Result<_, _>>()?;
        self.tx(|t| {
            let Some(p) = t.get_parcel(shop, track)? else {
                return Ok(None);
            };
            t.parcels.remove(keys::parcel(shop, track))?;
            t.end_lease(keys::parcel(shop, track))?;
            if let Some(o) = &p.order_id {
                t.by_order.remove(keys::order(shop, o, track))?;
            }
            let tag = tag(&p);
            t.put_due(
                p.next_poll_at,
                None,
                keys::DueKind::Poll,
                shop,
                track,
                &tag,
                false,
            )?;
            t.put_due(
                p.next_reminder_at,
                None,
                keys::DueKind::Reminder,
                shop,
                track,
                &tag,
                false,
            )?;
            for k in &entries {
                t.remove_entry(k)?;
            }
            t.remove_parcel_optouts(shop, track)?;
            Ok(Some(p))
        })
    }
}

impl Store {
    /// The parcel under this key.
    pub async fn parcel(&self, parcel: &ParcelKey) -> Result<Option<Parcel>, StoreError> {
        let parcel = parcel.clone();
        self.run(move |s| s.parcel(&parcel)).await
    }

    /// The parcels under these keys that exist, in order.
    pub async fn parcels(&self, parcels: Vec<ParcelKey>) -> Result<Vec<Parcel>, StoreError> {
        self.run(move |s| {
            let mut out = Vec::with_capacity(parcels.len());
            for key in &parcels {
                out.extend(s.parcel(key)?);
            }
            Ok(out)
        })
        .await
    }

    /// Deletes a parcel with its indexes, due entries and messages, so nothing more is sent
    /// about it. Returns the deleted parcel.
    pub async fn delete_parcel(&self, parcel: &ParcelKey) -> Result<Option<Parcel>, StoreError> {
        let parcel = parcel.clone();
        self.run(move |s| s.delete_parcel(&parcel)).await
    }

    /// Polls again a parcel that was given up on: the silence that counts towards giving up
    /// starts afresh at `now`, and it is polled at `first_poll(carrier)`.
    pub async fn revive_parcel(
        &self,
        parcel: &ParcelKey,
        now: Timestamp,
        first_poll: impl Fn(CarrierId) -> Timestamp + Send + 'static,
    ) -> Result<Revived, StoreError> {
        let parcel = parcel.clone();
        self.run(move |s| s.revive_parcel(&parcel, now, first_poll))
            .await
    }

    /// Works the deadline out again for every parcel waiting at an office (of one shop, or of
    /// all) after a storage period changed. Returns how many deadlines moved.
    pub async fn refresh_deadlines(
        &self,
        shop: Option<&ShopId>,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let (shop, rules) = (shop.cloned(), rules.clone());
        self.run(move |s| s.refresh_deadlines(shop.as_ref(), &rules, now))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::store::test_support::{pk, sid};
    use crate::store::test_support::{t, temp_store};

    fn valid(track: &str, order: &str) -> ValidParcel {
        validate(&ParcelDraft {
            track: track.into(),
            order_id: crate::domain::intake::Patch::set(order),
            phone: crate::domain::intake::Patch::set("+79123456789"),
            ..ParcelDraft::default()
        })
        .unwrap()
    }

    #[test]
    fn intake_is_idempotent_and_indexed_by_order() {
        let (_d, store) = temp_store();
        let shop = ShopId::from_trusted("acme");
        let v = valid("SANDBOX-DELIVERED-1", "A-1");
        assert!(matches!(
            store.intake(&shop, &v, t(0), t(0)).unwrap(),
            Stored::Created(_)
        ));
        assert!(matches!(
            store.intake(&shop, &v, t(1), t(1)).unwrap(),
            Stored::Unchanged(_)
        ));
        store
            .intake(&shop, &valid("SANDBOX-ARRIVED-2", "A-1"), t(0), t(0))
            .unwrap();
        store
            .intake(&shop, &valid("SANDBOX-ARRIVED-3", "B-7"), t(0), t(0))
            .unwrap();
        let by_order = store.parcels_by_order(&sid("acme"), "A-1").unwrap();
        assert_eq!(by_order.len(), 2);
        // Moving a parcel to another order moves its index entry.
        let Stored::Updated { parcel: p, .. } = store
            .intake(&shop, &valid("SANDBOX-ARRIVED-2", "B-7"), t(2), t(2))
            .unwrap()
        else {
            panic!("expected update")
        };
        assert_eq!(p.order_id.as_deref(), Some("B-7"));
        assert_eq!(
            store.parcels_by_order(&sid("acme"), "A-1").unwrap().len(),
            1
        );
        assert_eq!(
            store.parcels_by_order(&sid("acme"), "B-7").unwrap().len(),
            2
        );
        // Other shops see nothing.
        assert!(
            store
                .parcel(&pk("other", "SANDBOX-DELIVERED-1"))
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .parcels_by_order(&sid("other"), "A-1")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn listing_pages_and_deletion() {
        let (_d, store) = temp_store();
        let shop = ShopId::from_trusted("acme");
        for i in 0..5 {
            store
                .intake(
                    &shop,
                    &valid(&format!("SANDBOX-STUCK-{i}"), "X"),
                    t(0),
                    t(0),
                )
                .unwrap();
        }
        store
            .intake(
                &ShopId::from_trusted("acme-2"),
                &valid("SANDBOX-STUCK-9", "X"),
                t(0),
                t(0),
            )
            .unwrap();
        let page = store
            .list_parcels(
                &sid("acme"),
                &ParcelFilter {
                    limit: 3,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(page.parcels.len(), 3);
        let page2 = store
            .list_parcels(
                &sid("acme"),
                &ParcelFilter {
                    limit: 3,
                    after: page.next.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(page2.parcels.len(), 2);
        assert_eq!(page2.next, None);
        assert!(store.due_count().unwrap() >= 6);
        let gone = store.delete_parcel(&pk("acme", "SANDBOX-STUCK-0")).unwrap();
        assert!(gone.is_some());
        assert!(
            store
                .parcel(&pk("acme", "SANDBOX-STUCK-0"))
                .unwrap()
                .is_none()
        );
        assert_eq!(store.parcels_by_order(&sid("acme"), "X").unwrap().len(), 4);
        assert_eq!(store.due_count().unwrap(), 5);
        assert!(
            store
                .delete_parcel(&pk("acme", "SANDBOX-STUCK-0"))
                .unwrap()
                .is_none()
        );
    }
}
