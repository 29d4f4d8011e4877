//! Shops and their API tokens.

use super::{Store, StoreError, SyncStore, abort, decode_record, encode_record};
use crate::domain::shop::{Shop, ShopId};

impl SyncStore {
    /// Stores a new shop and its token hash; fails if the id is taken.
    pub fn create_shop(&self, shop: &Shop) -> Result<(), StoreError> {
        let key = shop.id.as_str().as_bytes();
        let value = encode_record(key, shop)?;
        self.tx(|t| {
            if t.shops.get(key)?.is_some() {
                return abort(StoreError::Exists(format!("shop {}", shop.id)));
            }
            if t.tombstones.get(key)?.is_some() {
                return abort(StoreError::Exists(format!(
                    "shop {} (its erasure is not finished yet)",
                    shop.id
                )));
            }
            t.shops.insert(key, value.clone())?;
            t.tokens.insert(shop.token_sha256.as_bytes(), key)?;
            Ok(())
        })
    }

    /// The shop with this id.
    pub fn shop(&self, id: &ShopId) -> Result<Option<Shop>, StoreError> {
        let id = id.as_str();
        self.t
            .shops
            .get(id.as_bytes())?
            .map(|v| decode_record::<crate::domain::shop::Shop>(id.as_bytes(), &v))
            .transpose()
    }

    /// Every shop, by id.
    pub fn shops(&self) -> Result<Vec<Shop>, StoreError> {
        self.t
            .shops
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                decode_record::<crate::domain::shop::Shop>(&k, &v)
            })
            .collect()
    }

    /// Replaces a shop's record (its token hash may change: the old token stops working).
    pub fn update_shop(&self, shop: &Shop) -> Result<(), StoreError> {
        let key = shop.id.as_str().as_bytes();
        let value = encode_record(key, shop)?;
        self.tx(|t| {
            let Some(old) = t.shops.get(key)? else {
                return abort(StoreError::NotFound(format!("shop {}", shop.id)));
            };
            let old: Shop = match decode_record::<crate::domain::shop::Shop>(key, &old) {
                Ok(s) => s,
                Err(e) => return abort(e),
            };
            if old.token_sha256 != shop.token_sha256 {
                t.tokens.remove(old.token_sha256.as_bytes())?;
                t.tokens.insert(shop.token_sha256.as_bytes(), key)?;
            }
            t.shops.insert(key, value.clone())?;
            Ok(())
        })
    }

    /// The shop a token (given as its SHA-256, hex) belongs to.
    pub fn shop_by_token(&self, token_sha256: &str) -> Result<Option<ShopId>, StoreError> {
        Ok(self
            .t
            .tokens
            .get(token_sha256.as_bytes())?
            .and_then(|v| std::str::from_utf8(&v).ok().map(ShopId::from_trusted)))
    }
}

impl Store {
    /// Stores a new shop and its token hash; fails if the id is taken.
    pub async fn create_shop(&self, shop: &Shop) -> Result<(), StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.create_shop(&shop)).await
    }

    /// The shop with this id.
    pub async fn shop(&self, id: &ShopId) -> Result<Option<Shop>, StoreError> {
        let id = id.clone();
        self.run(move |s| s.shop(&id)).await
    }

    /// Every shop, by id.
    pub async fn shops(&self) -> Result<Vec<Shop>, StoreError> {
        self.run(SyncStore::shops).await
    }

    /// Replaces a shop's record (its token hash may change: the old token stops working).
    pub async fn update_shop(&self, shop: &Shop) -> Result<(), StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.update_shop(&shop)).await
    }

    /// The shop a token (its SHA-256, hex) belongs to.
    pub async fn shop_by_token(&self, token_sha256: &str) -> Result<Option<ShopId>, StoreError> {
        let token = token_sha256.to_string();
        self.run(move |s| s.shop_by_token(&token)).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::domain::shop::{Language, Shop, ShopId};
    use crate::store::StoreError;
    use crate::store::test_support::{sid, temp_store};

    pub(crate) fn shop(id: &str, token: &str) -> Shop {
        Shop {
            id: ShopId::from_trusted(id),
            name: format!("Shop {id}"),
            report_email: None,
            timezone: "Europe/Moscow".into(),
            phone: None,
            language: Language::Ru,
            token_sha256: token.into(),
            created_at: jiff::Timestamp::from_second(1_741_000_000).unwrap(),
            plan: crate::domain::plan::Plan::default(),
            report_at: None,
            messaging: Default::default(),
            storage_days: None,
            brand: Default::default(),
        }
    }

    #[test]
    fn create_get_update_and_tokens() {
        let (_dir, store) = temp_store();
        store.create_shop(&shop("acme", "h1")).unwrap();
        assert!(matches!(
            store.create_shop(&shop("acme", "h2")),
            Err(StoreError::Exists(_))
        ));
        assert_eq!(store.shop(&sid("acme")).unwrap().unwrap().name, "Shop acme");
        assert_eq!(store.shop_by_token("h1").unwrap().unwrap().as_str(), "acme");
        assert_eq!(
            store.shop_by_token("h2").unwrap(),
            None,
            "the refused shop left no token"
        );
        let mut s = store.shop(&sid("acme")).unwrap().unwrap();
        s.token_sha256 = "h3".into();
        store.update_shop(&s).unwrap();
        assert_eq!(store.shop_by_token("h1").unwrap(), None);
        assert!(store.shop_by_token("h3").unwrap().is_some());
        assert_eq!(store.shops().unwrap().len(), 1);
    }
}
