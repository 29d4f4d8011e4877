//! The post office directory (tree `offices`, keyed by postal index), and filling an office's
//! address, hours and phone from it inside a transaction.

use super::{Store, StoreError, SyncStore, Tx, TxResult, abort, decode, encode, versions};
use crate::domain::offices::OfficeEntry;
use crate::domain::parcel::Office;

impl Tx<'_> {
    /// Fills what the carrier did not say about `office` from the directory, if it has the
    /// office's index.
    pub(super) fn complete_office(&self, office: &mut Office) -> TxResult<()> {
        let Some(index) = office.index.clone() else {
            return Ok(());
        };
        if office.address.is_some() && office.hours.is_some() {
            return Ok(());
        }
        if let Some(v) = self.offices.get(index.as_bytes())? {
            match decode::<OfficeEntry>("offices", versions::OFFICE, index.as_bytes(), &v) {
                Ok(entry) => entry.complete(office),
                Err(e) => return abort(e),
            }
        }
        Ok(())
    }
}

impl SyncStore {
    /// Loads directory entries in one atomic step; with `replace`, offices not in `entries` are
    /// removed. Returns how many offices the directory holds afterwards.
    pub fn import_offices(
        &self,
        entries: &[OfficeEntry],
        replace: bool,
    ) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        if replace {
            for k in self.t.offices.iter().keys() {
                batch.remove(k?);
            }
        }
        for e in entries {
            let key = e.index.as_bytes();
            batch.insert(key, encode("offices", versions::OFFICE, key, e)?);
        }
        self.t.offices.apply_batch(batch)?;
        Ok(self.t.offices.len())
    }

    /// The directory's entry for a postal index.
    pub fn office(&self, index: &str) -> Result<Option<OfficeEntry>, StoreError> {
        match self.t.offices.get(index.as_bytes())? {
            None => Ok(None),
            Some(v) => decode("offices", versions::OFFICE, index.as_bytes(), &v).map(Some),
        }
    }
}

impl Store {
    /// Loads directory entries in one atomic step; with `replace`, offices not in `entries` are
    /// removed. Returns how many offices the directory holds afterwards.
    pub async fn import_offices(
        &self,
        entries: Vec<OfficeEntry>,
        replace: bool,
    ) -> Result<usize, StoreError> {
        self.run(move |s| s.import_offices(&entries, replace)).await
    }

    /// The directory's entry for a postal index.
    pub async fn office(&self, index: &str) -> Result<Option<OfficeEntry>, StoreError> {
        let index = index.to_string();
        self.run(move |s| s.office(&index)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn entry(index: &str, address: &str) -> OfficeEntry {
        OfficeEntry {
            index: index.into(),
            address: address.into(),
            hours: None,
            phone: None,
        }
    }

    #[test]
    fn import_merges_or_replaces() {
        let (_d, store) = temp_store();
        let n = store
            .import_offices(&[entry("630099", "a"), entry("101000", "b")], false)
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            store
                .import_offices(&[entry("630099", "c")], false)
                .unwrap(),
            2
        );
        assert_eq!(store.office("630099").unwrap().unwrap().address, "c");
        assert_eq!(
            store.import_offices(&[entry("190000", "d")], true).unwrap(),
            1
        );
        assert_eq!(store.office("630099").unwrap(), None);
        assert!(store.office("190000").unwrap().is_some());
    }
}
