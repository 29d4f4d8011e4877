//! What the customers' tracking page reads, and the short codes that lead to it.
//!
//! Tree `page_codes`: a code (ten characters, [`crate::page::code`]) → the parcel it was made
//! for (shop, track number, parcel id). A code is recorded when the first customer message that
//! carries it is claimed for sending (in the same group commit as the claim, so it is on disk
//! before the message leaves), which is also how parcels of a store of an earlier release get
//! theirs. A code leads to its parcel only while that parcel exists with the same id: a parcel
//! deleted (and perhaps handed over again under the same number, with a new id) or a shop
//! erased leaves a code that finds nothing. The tree is outside transactions: a code is written
//! once and never changes.
//!
//! The page's reads come in two shapes, by code and by the shop's order number; both are
//! `async` calls of [`Store`].

use super::{Store, StoreError, SyncStore, decode, encode};
use crate::domain::offices::OfficeEntry;
use crate::domain::parcel::{Parcel, ParcelKey};
use crate::domain::shop::{Shop, ShopId};
use crate::domain::track::TrackNumber;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The tree's name.
const TREE: &str = "page_codes";

/// The record version of [`CodeRecord`].
const VERSION: u8 = 1;

/// The parcel a code was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CodeRecord {
    shop: String,
    track: String,
    parcel_id: u64,
}

/// What a page is made of: the shop, the parcels found, and the office directory's entries of
/// their pickup offices (by index), for what the carrier did not say.
#[derive(Debug, Clone)]
pub struct PageFacts {
    /// The shop.
    pub shop: Shop,
    /// The parcels: by code, the code's parcel first and then the others of its order; by
    /// order number, every parcel of that order.
    pub parcels: Vec<Parcel>,
    /// Directory entries of the pickup offices, by postal index.
    pub offices: BTreeMap<String, OfficeEntry>,
}

impl SyncStore {
    fn page_codes(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(TREE)?)
    }

    /// Records that `code` leads to `parcel` with id `parcel_id` (nothing is written if it is
    /// there already). Not flushed: it runs inside the senders' group commit, which flushes
    /// before the message goes.
    pub(crate) fn remember_page_code(
        &self,
        code: &str,
        parcel: &ParcelKey,
        parcel_id: u64,
    ) -> Result<(), StoreError> {
        let tree = self.page_codes()?;
        if tree.contains_key(code.as_bytes())? {
            return Ok(());
        }
        let record = CodeRecord {
            shop: parcel.shop.as_str().to_string(),
            track: parcel.track.as_str().to_string(),
            parcel_id,
        };
        tree.insert(
            code.as_bytes(),
            encode(TREE, VERSION, code.as_bytes(), &record)?,
        )?;
        Ok(())
    }

    /// The parcel a code leads to, with the shop and the other parcels of its order; `None` if
    /// the code is unknown, or its parcel or shop is gone.
    fn page_by_code_now(&self, code: &str) -> Result<Option<PageFacts>, StoreError> {
        let Some(bytes) = self.page_codes()?.get(code.as_bytes())? else {
            return Ok(None);
        };
        let r: CodeRecord = decode(TREE, VERSION, code.as_bytes(), &bytes)?;
        // Written from a parcel's own key.
        let key = ParcelKey::new(
            ShopId::from_trusted(r.shop),
            TrackNumber::from_trusted(r.track),
        );
        let Some(shop) = self.shop(&key.shop)? else {
            return Ok(None);
        };
        let Some(parcel) = self.parcel(&key)?.filter(|p| p.id == r.parcel_id) else {
            return Ok(None);
        };
        let mut parcels = Vec::new();
        if let Some(order) = &parcel.order_id {
            parcels = self.parcels_by_order(&key.shop, order)?;
            parcels.retain(|p| p.id != parcel.id);
        }
        parcels.insert(0, parcel);
        self.page_facts(shop, parcels).map(Some)
    }

    /// The shop and every parcel of any of `orders` (spellings of one order number); `None` if
    /// the shop does not exist.
    fn page_by_order_now(
        &self,
        shop: &ShopId,
        orders: &[String],
    ) -> Result<Option<PageFacts>, StoreError> {
        let Some(s) = self.shop(shop)? else {
            return Ok(None);
        };
        let mut parcels: Vec<Parcel> = Vec::new();
        for order in orders {
            for p in self.parcels_by_order(shop, order)? {
                if !parcels.iter().any(|q| q.id == p.id) {
                    parcels.push(p);
                }
            }
        }
        self.page_facts(s, parcels).map(Some)
    }

    fn page_facts(&self, shop: Shop, parcels: Vec<Parcel>) -> Result<PageFacts, StoreError> {
        let mut offices = BTreeMap::new();
        for p in &parcels {
            if let Some(index) = p.arrival.as_ref().and_then(|a| a.office.index.as_ref())
                && !offices.contains_key(index)
                && let Some(entry) = self.office(index)?
            {
                offices.insert(index.clone(), entry);
            }
        }
        Ok(PageFacts {
            shop,
            parcels,
            offices,
        })
    }
}

impl Store {
    /// The shop whose order form `/t/<shop>` is.
    pub async fn page_shop(&self, shop: ShopId) -> Result<Option<Shop>, StoreError> {
        self.run(move |s| s.shop(&shop)).await
    }

    /// What the page of a short code shows (see [`Self::page_by_order`] for the other way in).
    pub async fn page_by_code(&self, code: String) -> Result<Option<PageFacts>, StoreError> {
        self.run(move |s| s.page_by_code_now(&code)).await
    }

    /// What the order form finds in a shop for an order number, written in any of the
    /// spellings `orders`: every parcel of that order, before the phone is checked.
    pub async fn page_by_order(
        &self,
        shop: ShopId,
        orders: Vec<String>,
    ) -> Result<Option<PageFacts>, StoreError> {
        self.run(move |s| s.page_by_order_now(&shop, &orders)).await
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;
    use crate::store::test_support::{pk, store_with_parcel};

    #[tokio::test]
    async fn a_code_finds_its_parcel_until_the_parcel_is_gone() {
        let (_d, sync) = store_with_parcel();
        let store = Store::from_sync(sync.clone());
        let p = sync
            .parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap()
            .unwrap();
        assert!(
            store
                .page_by_code("Aaaaaaaaaa".into())
                .await
                .unwrap()
                .is_none()
        );
        sync.remember_page_code("Aaaaaaaaaa", &pk("acme", "SANDBOX-ARRIVED-1"), p.id)
            .unwrap();
        sync.remember_page_code("Aaaaaaaaaa", &pk("acme", "SANDBOX-OTHER-1"), 1)
            .unwrap();
        let found = store.page_by_code("Aaaaaaaaaa".into()).await.unwrap();
        let found = found.expect("found");
        assert_eq!(found.shop.id.as_str(), "acme");
        assert_eq!(found.parcels.len(), 1);
        assert_eq!(found.parcels[0].id, p.id, "the first record stays");
        sync.remember_page_code("Bbbbbbbbbb", &pk("acme", "SANDBOX-ARRIVED-1"), p.id + 1000)
            .unwrap();
        assert!(
            store
                .page_by_code("Bbbbbbbbbb".into())
                .await
                .unwrap()
                .is_none(),
            "another parcel id under the same number is another parcel"
        );
        sync.delete_parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap();
        assert!(
            store
                .page_by_code("Aaaaaaaaaa".into())
                .await
                .unwrap()
                .is_none()
        );
    }
}
