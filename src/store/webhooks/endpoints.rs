//! The shops' endpoints: add, list, delete, rotate, enable; their dead letters and replays;
//! erasing a shop's; all behind the async facade [`Hooks`].

use super::*;

/// An endpoint with how much waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Deliveries not yet delivered or dead.
    pub queued: usize,
    /// Dead letters.
    pub dead: usize,
}

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadHook {
    /// The parcel's track.
    pub track: String,
    /// The delivery.
    pub delivery: Delivery,
}

/// Why an endpoint could not be added or changed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// No such shop.
    #[error("shop {0} not found")]
    NoShop(String),
    /// No such endpoint.
    #[error("webhook {0} not found")]
    NotFound(String),
    /// The shop has as many as it may.
    #[error("the shop has {0} webhooks, as many as webhooks.max_per_shop allows; delete one first")]
    TooMany(usize),
    /// The URL is registered already.
    #[error("a webhook with this URL exists already: {0}")]
    Exists(String),
}

impl SyncStore {
    /// Removes everything of an endpoint that is no longer in its shop's list (deleted, or its
    /// shop erased), a few hundred keys a transaction.
    fn sweep_hook_endpoint(&self, shop: &str, ep: &str) -> Result<(), StoreError> {
        for tag in [b'D', b'I', b'L'] {
            loop {
                let batch: Vec<(sled::IVec, sled::IVec)> = self
                    .t
                    .webhooks
                    .scan_prefix(k::scope(tag, shop, ep))
                    .take(256)
                    .collect::<Result<_, _>>()?;
                if batch.is_empty() {
                    break;
                }
                self.tx(|t| {
                    for (key, v) in &batch {
                        if tag == b'D' {
                            let old = tx_try(decode_delivery(key, v)).ok();
                            t.put_delivery(key, old.as_ref(), None)?;
                        }
                        t.webhooks.remove(key)?;
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Removes a shop's endpoints and everything queued for them, and its stuck timers (a
    /// shop's erasure).
    pub(in crate::store) fn erase_shop_hooks(&self, shop: &str) -> Result<(), StoreError> {
        for ep in self.hook_endpoint_list(shop)? {
            self.tx(|t| t.put_hook_endpoints(shop, &[]))?;
            self.sweep_hook_endpoint(shop, &ep.id)?;
        }
        let silences: Vec<sled::IVec> = self
            .t
            .webhooks
            .scan_prefix(k::silence(shop, ""))
            .keys()
            .collect::<Result<_, _>>()?;
        for key in silences {
            if let Some(pk) = key.get(1..).and_then(keys::split_parcel) {
                self.tx(|t| t.set_stuck_timer(pk.shop.as_str(), pk.track.as_str(), None))?;
            }
        }
        Ok(())
    }

    fn endpoint_info(&self, shop: &str, e: Endpoint) -> Result<EndpointInfo, StoreError> {
        let queued = self.hook_scan_count(&k::scope(b'D', shop, &e.id))?;
        let dead = self.hook_scan_count(&k::tagged(b'X', &k::scope(b'D', shop, &e.id)))?;
        Ok(EndpointInfo {
            endpoint: e,
            queued: queued - dead.min(queued),
            dead,
        })
    }

    fn change_endpoint<T>(
        &self,
        shop: &str,
        id: &str,
        f: impl Fn(&mut Endpoint) -> T,
    ) -> Result<(Endpoint, T), HookError> {
        let r = self.tx(|t| {
            let mut list = t.hook_endpoints(shop)?;
            let Some(e) = list.iter_mut().find(|e| e.id == id) else {
                return Ok(None);
            };
            let out = f(e);
            let e = e.clone();
            t.put_hook_endpoints(shop, &list)?;
            Ok(Some((e, out)))
        })?;
        r.ok_or_else(|| HookError::NotFound(id.to_string()))
    }

    /// Keys of an endpoint's deliveries under one queue tag (`X` dead, `Z` parked).
    fn tagged_keys(&self, tag: u8, shop: &str, ep: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = k::tagged(tag, &k::scope(b'D', shop, ep));
        self.t
            .webhooks
            .scan_prefix(&prefix)
            .keys()
            .map(|k| k.map(|k| k[1..].to_vec()).map_err(StoreError::from))
            .collect()
    }

    /// Moves deliveries (by key) with `f`, a few dozen a transaction. Returns how many `f`
    /// changed.
    fn move_deliveries(
        &self,
        dkeys: &[Vec<u8>],
        f: impl Fn(&mut Delivery) -> bool,
    ) -> Result<usize, StoreError> {
        self.tx_count(dkeys, |t, dkey| {
            let Some(old) = t.get_delivery(dkey)? else {
                return Ok(false);
            };
            let mut d = old.clone();
            if !f(&mut d) {
                return Ok(false);
            }
            t.put_delivery(dkey, Some(&old), Some(&d))?;
            Ok(true)
        })
    }
}

/// The async face of the webhook store: each call runs on the blocking pool.
#[derive(Clone)]
pub struct Hooks(pub(super) Store);

impl Hooks {
    /// Adds an endpoint to a shop (at most `max` per shop, one per URL). When it wants
    /// `parcel.stuck`, the timers of the shop's live parcels are armed under `rules`.
    pub async fn create(
        &self,
        shop: ShopId,
        endpoint: Endpoint,
        max: usize,
        rules: Rules,
    ) -> Result<Endpoint, HookError> {
        let wants_stuck = endpoint.wants(EventType::Stuck);
        let created = self
            .0
            .in_one_step(move |store| {
                let shop = shop.as_str();
                let r = store.tx(|t| {
                    if t.shop_record(shop)?.is_none() {
                        return Ok(Err(HookError::NoShop(shop.to_string())));
                    }
                    let mut list = t.hook_endpoints(shop)?;
                    if list.len() >= max {
                        return Ok(Err(HookError::TooMany(list.len())));
                    }
                    if let Some(e) = list.iter().find(|e| e.url == endpoint.url) {
                        return Ok(Err(HookError::Exists(e.id.clone())));
                    }
                    list.push(endpoint.clone());
                    t.put_hook_endpoints(shop, &list)?;
                    Ok(Ok(endpoint.clone()))
                })??;
                if wants_stuck {
                    store.arm_stuck_timers(Some(shop), &rules)?;
                }
                store.flush()?;
                Ok::<_, HookError>(r)
            })
            .await?;
        Ok(created)
    }

    /// A shop's endpoints with their queues.
    pub async fn list(&self, shop: ShopId) -> Result<Vec<EndpointInfo>, StoreError> {
        self.0
            .run(move |store| {
                let shop = shop.as_str();
                store
                    .hook_endpoint_list(shop)?
                    .into_iter()
                    .map(|e| store.endpoint_info(shop, e))
                    .collect()
            })
            .await
    }

    /// One endpoint with its queues.
    pub async fn get(&self, shop: ShopId, id: String) -> Result<EndpointInfo, HookError> {
        self.0
            .run(move |store| {
                let shop = shop.as_str();
                match store
                    .hook_endpoint_list(shop)?
                    .into_iter()
                    .find(|e| e.id == id)
                {
                    Some(e) => store.endpoint_info(shop, e).map(Ok),
                    None => Ok(Err(HookError::NotFound(id))),
                }
            })
            .await?
    }

    /// Deletes an endpoint and everything queued for it.
    pub async fn delete(&self, shop: ShopId, id: String) -> Result<Endpoint, HookError> {
        self.0
            .in_one_step(move |store| {
                let shop = shop.as_str();
                let removed = store.tx(|t| {
                    let mut list = t.hook_endpoints(shop)?;
                    let Some(i) = list.iter().position(|e| e.id == id) else {
                        return Ok(None);
                    };
                    let e = list.remove(i);
                    t.put_hook_endpoints(shop, &list)?;
                    Ok(Some(e))
                })?;
                let e = removed.ok_or_else(|| HookError::NotFound(id.clone()))?;
                store.sweep_hook_endpoint(shop, &e.id)?;
                store.flush()?;
                Ok::<_, HookError>(e)
            })
            .await
    }

    /// Gives an endpoint a new secret; the old one keeps signing until `overlap_until`.
    pub async fn rotate(
        &self,
        shop: ShopId,
        id: String,
        secret: String,
        overlap_until: Option<Timestamp>,
    ) -> Result<Endpoint, HookError> {
        self.0
            .in_one_step(move |store| {
                let (e, ()) = store.change_endpoint(shop.as_str(), &id, |e| {
                    e.rotate(secret.clone(), overlap_until)
                })?;
                store.flush()?;
                Ok::<_, HookError>(e)
            })
            .await
    }

    /// Enables a disabled endpoint: what waited for it is due now, with a fresh retry period.
    /// Returns the endpoint and how many deliveries resumed.
    pub async fn enable(
        &self,
        shop: ShopId,
        id: String,
        now: Timestamp,
    ) -> Result<(Endpoint, usize), HookError> {
        self.0
            .in_one_step(move |store| {
                let shop = shop.as_str();
                let (e, _) = store.change_endpoint(shop, &id, Endpoint::enable)?;
                let parked = store.tagged_keys(b'Z', shop, &id)?;
                let n = store.move_deliveries(&parked, |d| {
                    let was = d.parked;
                    d.resume(now);
                    was
                })?;
                store.flush()?;
                Ok::<_, HookError>((e, n))
            })
            .await
    }

    /// An endpoint's dead letters, at most `limit`.
    pub async fn dead(
        &self,
        shop: ShopId,
        id: String,
        limit: usize,
    ) -> Result<Vec<DeadHook>, HookError> {
        self.0
            .run(move |store| {
                let shop = shop.as_str();
                if !store.hook_endpoint_list(shop)?.iter().any(|e| e.id == id) {
                    return Ok(Err(HookError::NotFound(id)));
                }
                let mut out = Vec::new();
                for dkey in store.tagged_keys(b'X', shop, &id)?.into_iter().take(limit) {
                    if let (Some(v), Some((_, _, track, _))) =
                        (store.t.webhooks.get(&dkey)?, k::read_delivery(&dkey))
                    {
                        out.push(DeadHook {
                            track,
                            delivery: decode_delivery(&dkey, &v)?,
                        });
                    }
                }
                Ok(Ok(out))
            })
            .await?
    }

    /// Queues an endpoint's dead letters again. Returns how many.
    pub async fn replay(
        &self,
        shop: ShopId,
        id: String,
        now: Timestamp,
    ) -> Result<usize, HookError> {
        self.0
            .in_one_step(move |store| {
                let shop = shop.as_str();
                if !store.hook_endpoint_list(shop)?.iter().any(|e| e.id == id) {
                    return Err(HookError::NotFound(id));
                }
                let dead = store.tagged_keys(b'X', shop, &id)?;
                let n = store.move_deliveries(&dead, |d| d.replay(now))?;
                store.flush()?;
                Ok(n)
            })
            .await
    }
}

impl SyncStore {
    /// A shop's endpoints that are disabled, failing or hold dead letters (blocking; for the
    /// morning report, built on a blocking thread).
    pub fn hook_troubles(&self, shop: &str) -> Result<Vec<EndpointInfo>, StoreError> {
        let mut out = Vec::new();
        for e in self.hook_endpoint_list(shop)? {
            let i = self.endpoint_info(shop, e)?;
            if i.endpoint.is_disabled() || i.dead > 0 || i.endpoint.failing_since.is_some() {
                out.push(i);
            }
        }
        Ok(out)
    }
}
