//! The stuck timers: one per live parcel of a shop that wants `parcel.stuck`, at its last
//! activity + `rules.stuck_after`, moved by every new carrier event; firing queues the event
//! once per silence.

use super::*;
use crate::domain::outage;

/// How often a stuck timer of a stalled carrier's parcel looks again.
const STALL_RECHECK: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Tx<'_> {
    /// Sets (or clears) a parcel's stuck timer.
    pub(super) fn set_stuck_timer(
        &self,
        shop: &str,
        track: &str,
        at: Option<Timestamp>,
    ) -> TxResult<()> {
        let ukey = k::silence(shop, track);
        let old = self.webhooks.get(&ukey)?.and_then(|v| keys::read_time(&v));
        if old == at {
            return Ok(());
        }
        if let Some(o) = old {
            self.webhooks.remove(k::timer(o, shop, track))?;
        }
        match at {
            Some(at) => {
                self.webhooks.insert(k::timer(at, shop, track), &[])?;
                self.webhooks.insert(ukey, &keys::time(at))?;
            }
            None => {
                self.webhooks.remove(ukey)?;
            }
        }
        Ok(())
    }

    /// Keeps the parcel's stuck timer at its last activity + `stuck_after`, when one of the
    /// shop's endpoints wants `parcel.stuck`; none once it finished.
    pub(super) fn rearm_stuck(
        &self,
        endpoints: &[Endpoint],
        p: &Parcel,
        rules: &Rules,
    ) -> TxResult<()> {
        let wanted = endpoints.iter().any(|e| e.wants(EventType::Stuck));
        let at = (wanted && !p.status.is_final())
            .then(|| p.last_activity().checked_add(rules.stuck_after).ok())
            .flatten();
        if at.is_none() && !wanted {
            // Nothing was armed for a shop that never wanted it: skip the read.
            return Ok(());
        }
        self.set_stuck_timer(p.shop.as_str(), p.track.as_str(), at)
    }
}

impl SyncStore {
    /// Stuck timers due at or before `now`: (shop, track, the timer's time).
    pub(crate) fn stuck_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
        let end = k::timer(now + jiff::SignedDuration::from_millis(1), "", "");
        let mut out = Vec::new();
        for kv in self.t.webhooks.range(b"T".to_vec()..end).keys() {
            let key = kv?;
            let at = key.get(1..).and_then(keys::read_time);
            let parcel = key.get(9..).and_then(keys::split_parcel);
            if let (Some(at), Some(pk)) = (at, parcel) {
                out.push((
                    pk.shop.as_str().to_string(),
                    pk.track.as_str().to_string(),
                    at,
                ));
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Fires a parcel's stuck timer due at `at`: if the parcel has been silent for
    /// `rules.stuck_after` at `now`, `parcel.stuck` is queued (once per silence: its id names
    /// the silence's start) and the timer goes until the parcel moves again; if it moved
    /// meanwhile, the timer moves to its new silence; while its carrier is stalled, the timer
    /// looks again later. Returns whether the event was queued.
    pub(crate) fn fire_stuck(
        &self,
        shop: &str,
        track: &str,
        at: Timestamp,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<bool, StoreError> {
        let stalled = self.stalled_carriers()?;
        self.tx(|t| {
            let ukey = k::silence(shop, track);
            let armed = t.webhooks.get(&ukey)?.and_then(|v| keys::read_time(&v));
            if armed != Some(at) {
                // A stray timer: the parcel's own is what counts.
                t.webhooks.remove(k::timer(at, shop, track))?;
                return Ok(false);
            }
            let parcel = t.get_parcel(shop, track)?;
            let endpoints = t.hook_endpoints(shop)?;
            let wanted = endpoints.iter().any(|e| e.wants(EventType::Stuck));
            let Some(p) = parcel.filter(|p| wanted && !p.status.is_final()) else {
                t.set_stuck_timer(shop, track, None)?;
                return Ok(false);
            };
            if stalled.contains_key(&outage::counted_as(p.carrier)) {
                // Its carrier is stalled: the alert waits until the carrier moves again.
                let later = now.checked_add(STALL_RECHECK.min(rules.stuck_after)).ok();
                t.set_stuck_timer(shop, track, later)?;
                return Ok(false);
            }
            let due = p.last_activity().checked_add(rules.stuck_after).ok();
            match due {
                Some(due) if due > now => {
                    t.set_stuck_timer(shop, track, Some(due))?;
                    Ok(false)
                }
                _ => {
                    t.set_stuck_timer(shop, track, None)?;
                    t.emit(shop, now, || vec![event::stuck(&p, rules.stuck_after, now)])?;
                    Ok(true)
                }
            }
        })
    }

    /// Arms the stuck timers of every live parcel of the shops (or one shop) with an endpoint
    /// that wants `parcel.stuck`, at its last activity + `stuck_after`: for parcels handed
    /// over before such an endpoint existed, and after `stuck_after` changed. A few dozen
    /// parcels a transaction. Returns how many timers were set.
    pub(crate) fn arm_stuck_timers(
        &self,
        shop: Option<&str>,
        rules: &Rules,
    ) -> Result<usize, StoreError> {
        let mut shops = Vec::new();
        let prefix = match shop {
            Some(s) => k::endpoints(s),
            None => b"E".to_vec(),
        };
        for kv in self.t.webhooks.scan_prefix(&prefix) {
            let (key, v) = kv?;
            let name = String::from_utf8_lossy(&key[1..]).into_owned();
            if shop.is_some_and(|s| s != name) {
                continue;
            }
            if decode_endpoints(&key, &v)?
                .iter()
                .any(|e| e.wants(EventType::Stuck))
            {
                shops.push(name);
            }
        }
        let mut n = 0;
        for s in shops {
            let mut live = Vec::new();
            self.for_each_parcel(Some(&ShopId::from_trusted(s.as_str())), |p| {
                if !p.status.is_final() {
                    live.push(p.track.as_str().to_string());
                }
                true
            })?;
            n += self.tx_count(&live, |t, track| {
                let Some(p) = t.get_parcel(&s, track)? else {
                    return Ok(false);
                };
                t.rearm_stuck(&t.hook_endpoints(&s)?, &p, rules)?;
                Ok(true)
            })?;
        }
        Ok(n)
    }

    /// Arms the stuck timers again when `rules.stuck_after` is not what they were armed with
    /// (remembered in the tree). Returns how many were set, if any were.
    pub(crate) fn rearm_stuck_if_changed(
        &self,
        rules: &Rules,
    ) -> Result<Option<usize>, StoreError> {
        let secs = rules.stuck_after.as_secs().to_be_bytes();
        if self.t.webhooks.get(k::STUCK_AFTER)?.as_deref() == Some(&secs[..]) {
            return Ok(None);
        }
        let n = self.arm_stuck_timers(None, rules)?;
        self.t.webhooks.insert(k::STUCK_AFTER, &secs)?;
        Ok(Some(n))
    }
}
