//! A shop's data as a whole: monthly usage, daily report markers, erasing finished parcels'
//! personal data, and erasing a shop with everything of it.
//!
//! Erasing a shop survives a crash midway: the first transaction removes the shop and its token
//! and leaves a tombstone; the parcels then go one transaction each; the tombstone goes last.
//! A daemon that finds a tombstone at start (or on its retention timer) finishes the job, and
//! no shop with that id can be created while it stands.

use super::keys::{self, Queue};
use super::{Store, StoreError, SyncStore, abort, decode_record};
use crate::domain::notification::Channel;
use crate::domain::outbox::OutboxEntry;
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::retention;
use crate::domain::shop::ShopId;
use crate::domain::track::TrackNumber;
use jiff::Timestamp;
use std::time::Duration;

impl SyncStore {
    /// New parcels the shop handed over in a month (`2026-11`).
    pub fn usage(&self, shop: &ShopId, month: &str) -> Result<u64, StoreError> {
        let shop = shop.as_str();
        Ok(self
            .t
            .usage
            .get(keys::usage(shop, month))?
            .map_or(0, |v| keys::read_u64(&v)))
    }

    /// When the shop's report of `day` (`2026-11-25`) went out, if it did.
    pub fn report_sent(&self, shop: &ShopId, day: &str) -> Result<Option<Timestamp>, StoreError> {
        let shop = shop.as_str();
        Ok(self
            .t
            .reports
            .get(keys::report(shop, day))?
            .and_then(|v| keys::read_time(&v)))
    }

    /// Records that the shop's report of `day` went out, and flushes.
    pub fn mark_report_sent(
        &self,
        shop: &ShopId,
        day: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let shop = shop.as_str();
        let key = keys::report(shop, day);
        self.tx(|t| {
            t.reports.insert(key.as_slice(), &keys::time(at))?;
            Ok(())
        })?;
        self.flush()?;
        Ok(())
    }

    /// Calls `f` for every outbox entry of every shop (or of one shop).
    pub fn for_each_entry(
        &self,
        shop: Option<&ShopId>,
        mut f: impl FnMut(OutboxEntry),
    ) -> Result<(), StoreError> {
        let shop = shop.map(ShopId::as_str);
        let iter = match shop {
            Some(s) => self.t.outbox.scan_prefix(keys::shop_prefix(s)),
            None => self.t.outbox.iter(),
        };
        for kv in iter {
            let (k, v) = kv?;
            f(self.read_entry(&k, &v)?);
        }
        Ok(())
    }

    /// Erases the personal data of parcels that finished more than `after` before `now`, with
    /// their messages' recipients. Returns how many parcels were erased.
    pub fn erase_personal_data(
        &self,
        now: Timestamp,
        after: Duration,
    ) -> Result<usize, StoreError> {
        let mut due: Vec<ParcelKey> = Vec::new();
        self.for_each_parcel(None, |p| {
            if retention::due_for_erasure(&p, now, after) {
                due.push(p.key());
            }
            true
        })?;
        let mut erased = 0;
        for key in &due {
            let (shop, track) = (key.shop.as_str(), key.track.as_str());
            let entries: Vec<sled::IVec> = self
                .t
                .outbox
                .scan_prefix(keys::outbox_prefix(shop, track))
                .keys()
                .collect::<Result<_, _>>()?;
            let done = self.tx(|t| {
                let Some(old) = t.get_parcel(shop, track)? else {
                    return Ok(false);
                };
                if !retention::due_for_erasure(&old, now, after) {
                    return Ok(false);
                }
                let mut p: Parcel = old.clone();
                retention::erase_parcel(&mut p, now);
                t.put_parcel(Some(&old), &p)?;
                for k in &entries {
                    if let Some(e) = t.get_entry(k)? {
                        let mut x = e.clone();
                        retention::erase_entry(&mut x);
                        t.put_entry(Some(&e), &x)?;
                    }
                }
                Ok(true)
            })?;
            erased += usize::from(done);
        }
        if erased > 0 {
            self.flush()?;
        }
        Ok(erased)
    }

    /// Shops whose erasure started and has not finished.
    pub fn tombstones(&self) -> Result<Vec<ShopId>, StoreError> {
        self.t
            .tombstones
            .iter()
            .keys()
            .map(|k| Ok(ShopId::from_trusted(String::from_utf8_lossy(&k?))))
            .collect()
    }

    /// Starts erasing a shop: removes it and its token and leaves a tombstone, in one
    /// transaction. Returns false if there is no such shop (and no erasure to finish).
    pub fn begin_shop_erasure(&self, shop: &ShopId, now: Timestamp) -> Result<bool, StoreError> {
        let shop = shop.as_str();
        let key = shop.as_bytes();
        let found = self.tx(|t| {
            let stone = t.tombstones.get(key)?.is_some();
            let Some(v) = t.shops.get(key)? else {
                return Ok(stone);
            };
            let s: crate::domain::shop::Shop =
                match decode_record::<crate::domain::shop::Shop>(key, &v) {
                    Ok(s) => s,
                    Err(e) => return abort(e),
                };
            t.tokens.remove(s.token_sha256.as_bytes())?;
            t.shops.remove(key)?;
            if !stone {
                t.tombstones.insert(key, &keys::time(now))?;
            }
            Ok(true)
        })?;
        self.flush()?;
        Ok(found)
    }

    /// Erases everything a tombstoned shop left: parcels with their indexes, due entries,
    /// leases and messages, usage counters, report markers and its customers' opt-outs; then
    /// the tombstone. Safe to run
    /// again after a crash. Returns how many parcels went.
    pub fn finish_shop_erasure(&self, shop_id: &ShopId) -> Result<usize, StoreError> {
        let shop = shop_id.as_str();
        self.erase_shop_hooks(shop)?;
        let prefix = keys::shop_prefix(shop);
        let mut parcels = 0;
        loop {
            let tracks: Vec<String> = self
                .t
                .parcels
                .scan_prefix(&prefix)
                .keys()
                .take(500)
                .map(|k| k.map(|k| String::from_utf8_lossy(&k[prefix.len()..]).into_owned()))
                .collect::<Result<_, _>>()?;
            if tracks.is_empty() {
                break;
            }
            for track in &tracks {
                let key =
                    ParcelKey::new(shop_id.clone(), TrackNumber::from_trusted(track.as_str()));
                parcels += usize::from(self.delete_parcel(&key)?.is_some());
            }
        }
        // Whatever no parcel record led to (a crash between trees cannot leave any, but an
        // erasure should not depend on it).
        for tree in [
            &self.t.by_order,
            &self.t.outbox,
            &self.t.leases,
            &self.t.usage,
            &self.t.reports,
        ] {
            for k in tree.scan_prefix(&prefix).keys() {
                tree.remove(k?)?;
            }
        }
        for kv in self.t.due.iter().keys() {
            let k = kv?;
            if keys::read_due(&k).is_some_and(|d| &d.parcel.shop == shop_id) {
                self.t.due.remove(k)?;
            }
        }
        for channel in Channel::ALL {
            for q in [Queue::Pending, Queue::Sending, Queue::Dead] {
                for k in self
                    .t
                    .queue
                    .scan_prefix(keys::queue_prefix(channel, q))
                    .keys()
                {
                    let k = k?;
                    if keys::read_queue(&k).is_some_and(|(_, okey)| okey.starts_with(&prefix)) {
                        self.remove_stray_queue_key(&k, channel, q)?;
                    }
                }
            }
        }
        self.remove_shop_optouts(shop)?;
        self.remove_shop_from_index(shop)?;
        self.t.tombstones.remove(shop.as_bytes())?;
        self.flush()?;
        Ok(parcels)
    }
}

impl Store {
    /// New parcels the shop handed over in a month (`2026-11`).
    pub async fn usage(&self, shop: &ShopId, month: &str) -> Result<u64, StoreError> {
        let (shop, month) = (shop.clone(), month.to_string());
        self.run(move |s| s.usage(&shop, &month)).await
    }

    /// When the shop's report of `day` (`2026-11-25`) went out, if it did.
    pub async fn report_sent(
        &self,
        shop: &ShopId,
        day: &str,
    ) -> Result<Option<Timestamp>, StoreError> {
        let (shop, day) = (shop.clone(), day.to_string());
        self.run(move |s| s.report_sent(&shop, &day)).await
    }

    /// Records that the shop's report of `day` went out, and flushes.
    pub async fn mark_report_sent(
        &self,
        shop: &ShopId,
        day: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (shop, day) = (shop.clone(), day.to_string());
        self.run(move |s| s.mark_report_sent(&shop, &day, at)).await
    }

    /// Erases the personal data of parcels that finished more than `after` before `now`, with
    /// their messages' recipients. Returns how many parcels were erased.
    pub async fn erase_personal_data(
        &self,
        now: Timestamp,
        after: Duration,
    ) -> Result<usize, StoreError> {
        self.run(move |s| s.erase_personal_data(now, after)).await
    }

    /// Shops whose erasure started and has not finished.
    pub async fn tombstones(&self) -> Result<Vec<ShopId>, StoreError> {
        self.run(SyncStore::tombstones).await
    }

    /// Starts erasing a shop: removes it and its token and leaves a tombstone, in one
    /// transaction, flushed. Returns false if there is no such shop (and no erasure to finish).
    pub async fn begin_shop_erasure(
        &self,
        shop: &ShopId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.begin_shop_erasure(&shop, now)).await
    }

    /// Erases everything a tombstoned shop left, then the tombstone. Safe to run again after a
    /// crash. Returns how many parcels went.
    pub async fn finish_shop_erasure(&self, shop: &ShopId) -> Result<usize, StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.finish_shop_erasure(&shop)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::intake::{ParcelDraft, validate};
    use crate::domain::lifecycle::Rules;
    use crate::domain::plan::{Plan, Refusal, ShopDay};
    use crate::domain::shop::ShopId;
    use crate::store::shops::tests::shop;
    use crate::store::test_support::{pk, sid};
    use crate::store::test_support::{t, temp_store};
    use crate::store::{Admission, Stored};

    fn valid(track: &str) -> crate::domain::intake::ValidParcel {
        validate(&ParcelDraft {
            track: track.into(),
            order_id: crate::domain::intake::Patch::Set("A-1".into()),
            phone: crate::domain::intake::Patch::Set("+79123456789".into()),
            ..ParcelDraft::default()
        })
        .unwrap()
    }

    /// The plan `small` with `quota` parcels a month, on 25 November 2026.
    fn admission(quota: u64) -> Admission {
        Admission {
            plan: Plan {
                name: "small".into(),
                monthly_quota: Some(quota),
                trial_ends: None,
            },
            day: ShopDay {
                month: "2026-11".into(),
                date: "2026-11-25".parse().unwrap(),
            },
        }
    }

    #[test]
    fn quota_is_counted_in_the_intake_transaction() {
        let (_d, store) = temp_store();
        let id = ShopId::from_trusted("acme");
        let a = admission(2);
        let go = |track: &str| {
            store
                .intake_admitted(&id, &valid(track), t(0), t(0), Some(&a))
                .unwrap()
        };
        assert!(matches!(go("SANDBOX-STUCK-1"), Stored::Created(_)));
        assert!(matches!(go("SANDBOX-STUCK-1"), Stored::Unchanged(_)));
        assert!(matches!(go("SANDBOX-STUCK-2"), Stored::Created(_)));
        assert!(matches!(
            go("SANDBOX-STUCK-3"),
            Stored::Refused(Refusal::QuotaReached { quota: 2, .. })
        ));
        assert!(
            store
                .parcel(&pk("acme", "SANDBOX-STUCK-3"))
                .unwrap()
                .is_none()
        );
        assert_eq!(store.usage(&sid("acme"), "2026-11").unwrap(), 2);
        assert_eq!(store.usage(&sid("acme"), "2026-12").unwrap(), 0);
    }

    #[test]
    fn a_batch_counts_and_answers_like_one_parcel_after_another() {
        let (_d, store) = temp_store();
        let id = ShopId::from_trusted("acme");
        let a = admission(3);
        store
            .intake_admitted(&id, &valid("SANDBOX-STUCK-1"), t(0), t(0), Some(&a))
            .unwrap();
        let (one, two, three, four) = (
            valid("SANDBOX-STUCK-1"),
            valid("SANDBOX-STUCK-2"),
            valid("SANDBOX-STUCK-3"),
            valid("SANDBOX-STUCK-4"),
        );
        let mut two_again = two.clone();
        two_again.order_id = crate::domain::intake::Patch::set("A-2");
        let batch = [
            (&one, t(1)),
            (&two, t(1)),
            (&two, t(1)),
            (&two_again, t(1)),
            (&three, t(1)),
            (&four, t(1)),
        ];
        let out = store
            .intake_batch(&id, &batch, t(1), Some(&a), &Rules::default())
            .unwrap();
        assert!(matches!(out[0], Stored::Unchanged(_)), "{out:?}");
        assert!(matches!(out[1], Stored::Created(_)));
        assert!(
            matches!(out[2], Stored::Unchanged(_)),
            "seen earlier in the batch"
        );
        assert!(matches!(out[3], Stored::Updated { .. }));
        assert!(matches!(out[4], Stored::Created(_)));
        assert!(matches!(
            out[5],
            Stored::Refused(Refusal::QuotaReached { quota: 3, .. })
        ));
        assert_eq!(store.usage(&sid("acme"), "2026-11").unwrap(), 3);
        assert!(
            store
                .parcel(&pk("acme", "SANDBOX-STUCK-4"))
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.parcels_by_order(&sid("acme"), "A-2").unwrap().len(),
            1
        );
        assert_eq!(
            store.parcels_by_order(&sid("acme"), "A-1").unwrap().len(),
            2
        );
    }

    #[test]
    fn erasing_a_shop_leaves_nothing_and_resumes_after_a_crash() {
        let (_d, store) = temp_store();
        store.create_shop(&shop("acme", "h1")).unwrap();
        store.create_shop(&shop("acme-2", "h2")).unwrap();
        for i in 0..3 {
            store
                .intake(
                    &ShopId::from_trusted("acme"),
                    &valid(&format!("SANDBOX-STUCK-{i}")),
                    t(0),
                    t(0),
                )
                .unwrap();
        }
        store
            .intake(
                &ShopId::from_trusted("acme-2"),
                &valid("SANDBOX-STUCK-9"),
                t(0),
                t(0),
            )
            .unwrap();
        store
            .mark_report_sent(&sid("acme"), "2026-11-25", t(0))
            .unwrap();
        assert!(store.begin_shop_erasure(&sid("acme"), t(1)).unwrap());
        // A crash here: the shop is gone, its id taken until the erasure finishes.
        assert!(store.shop(&sid("acme")).unwrap().is_none());
        assert!(store.shop_by_token("h1").unwrap().is_none());
        assert_eq!(store.tombstones().unwrap(), [sid("acme")]);
        assert!(matches!(
            store.create_shop(&shop("acme", "h3")),
            Err(StoreError::Exists(_))
        ));
        assert!(
            store.begin_shop_erasure(&sid("acme"), t(2)).unwrap(),
            "again"
        );
        assert_eq!(store.finish_shop_erasure(&sid("acme")).unwrap(), 3);
        assert!(store.tombstones().unwrap().is_empty());
        assert!(
            store
                .parcels_by_order(&sid("acme"), "A-1")
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.report_sent(&sid("acme"), "2026-11-25").unwrap(), None);
        assert_eq!(store.due_count().unwrap(), 1, "only acme-2's parcel is due");
        assert!(
            store
                .parcel(&pk("acme-2", "SANDBOX-STUCK-9"))
                .unwrap()
                .is_some()
        );
        assert!(!store.begin_shop_erasure(&sid("acme"), t(3)).unwrap());
        store.create_shop(&shop("acme", "h3")).unwrap();
    }
}
