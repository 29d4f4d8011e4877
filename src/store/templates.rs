//! Shops' own message templates, one per shop, event and part.

use super::{Store, StoreError, SyncStore, decode, encode, keys, versions};
use crate::domain::notification::NotificationKind;
use crate::domain::shop::ShopId;
use crate::domain::template::{Part, StoredTemplate};
use std::collections::BTreeMap;

impl SyncStore {
    /// Saves a shop's template (replacing one saved before).
    pub fn put_template(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
        part: Part,
        template: &StoredTemplate,
    ) -> Result<(), StoreError> {
        let shop = shop.as_str();
        let key = keys::template(shop, kind, part);
        let value = encode("templates", versions::TEMPLATE, &key, template)?;
        self.tx(|t| {
            t.templates.insert(key.clone(), value.clone())?;
            Ok(())
        })
    }

    /// Removes a shop's template (the default applies again). Returns whether there was one.
    pub fn delete_template(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
        part: Part,
    ) -> Result<bool, StoreError> {
        let shop = shop.as_str();
        let key = keys::template(shop, kind, part);
        self.tx(|t| Ok(t.templates.remove(key.clone())?.is_some()))
    }

    /// A shop's template, if it saved one.
    pub fn template(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
        part: Part,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        let shop = shop.as_str();
        let key = keys::template(shop, kind, part);
        self.t
            .templates
            .get(&key)?
            .map(|v| decode("templates", versions::TEMPLATE, &key, &v))
            .transpose()
    }

    /// Every template a shop saved.
    pub fn shop_templates(
        &self,
        shop: &ShopId,
    ) -> Result<Vec<(NotificationKind, Part, StoredTemplate)>, StoreError> {
        let shop = shop.as_str();
        let mut out = Vec::new();
        for kv in self.t.templates.scan_prefix(keys::templates_prefix(shop)) {
            let (k, v) = kv?;
            let Some((kind, part)) = keys::read_template(&k) else {
                continue;
            };
            out.push((kind, part, decode("templates", versions::TEMPLATE, &k, &v)?));
        }
        Ok(out)
    }

    /// The shop's own sources for one event, by part (for rendering).
    pub fn templates_for(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
    ) -> Result<BTreeMap<Part, String>, StoreError> {
        let mut out = BTreeMap::new();
        for part in Part::ALL {
            if let Some(t) = self.template(shop, kind, part)? {
                out.insert(part, t.source);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Saves a shop's template (replacing one saved before).
    pub async fn put_template(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
        part: Part,
        template: &StoredTemplate,
    ) -> Result<(), StoreError> {
        let (shop, template) = (shop.clone(), template.clone());
        self.run(move |s| s.put_template(&shop, kind, part, &template))
            .await
    }

    /// Removes a shop's template (the default applies again). Returns whether there was one.
    pub async fn delete_template(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
        part: Part,
    ) -> Result<bool, StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.delete_template(&shop, kind, part))
            .await
    }

    /// A shop's template, if it saved one.
    pub async fn template(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
        part: Part,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.template(&shop, kind, part)).await
    }

    /// Every template a shop saved.
    pub async fn shop_templates(
        &self,
        shop: &ShopId,
    ) -> Result<Vec<(NotificationKind, Part, StoredTemplate)>, StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.shop_templates(&shop)).await
    }

    /// The shop's own sources for one event, by part (for rendering).
    pub async fn templates_for(
        &self,
        shop: &ShopId,
        kind: NotificationKind,
    ) -> Result<BTreeMap<Part, String>, StoreError> {
        let shop = shop.clone();
        self.run(move |s| s.templates_for(&shop, kind)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::sid;
    use crate::store::test_support::temp_store;

    #[test]
    fn templates_per_shop_event_and_part() {
        let (_d, store) = temp_store();
        let t = |s: &str| StoredTemplate {
            source: s.into(),
            updated_at: jiff::Timestamp::from_second(1_741_000_000).unwrap(),
        };
        store
            .put_template(&sid("acme"), NotificationKind::Arrived, Part::Sms, &t("a"))
            .unwrap();
        store
            .put_template(&sid("acme"), NotificationKind::Arrived, Part::Html, &t("h"))
            .unwrap();
        store
            .put_template(
                &sid("acme-2"),
                NotificationKind::Arrived,
                Part::Sms,
                &t("other"),
            )
            .unwrap();
        let m = store
            .templates_for(&sid("acme"), NotificationKind::Arrived)
            .unwrap();
        assert_eq!(m.get(&Part::Sms).map(String::as_str), Some("a"));
        assert_eq!(m.len(), 2);
        assert_eq!(store.shop_templates(&sid("acme")).unwrap().len(), 2);
        assert!(
            store
                .delete_template(&sid("acme"), NotificationKind::Arrived, Part::Sms)
                .unwrap()
        );
        assert!(
            !store
                .delete_template(&sid("acme"), NotificationKind::Arrived, Part::Sms)
                .unwrap()
        );
        assert_eq!(store.shop_templates(&sid("acme")).unwrap().len(), 1);
        assert_eq!(store.shop_templates(&sid("acme-2")).unwrap().len(), 1);
    }
}
