//! What the webhook delivery engine asks of the store: the due deliveries, a claim before a
//! request leaves, its outcome after the answer (the lane moves on, the endpoint's health), and
//! the recovery of what was in hand when the daemon stopped.

use super::*;

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookClaim {
    /// The delivery is the caller's to send.
    Claimed {
        /// The delivery, as claimed.
        delivery: Box<Delivery>,
        /// The endpoint's URL.
        url: String,
        /// The secrets that sign it now.
        secrets: Vec<String>,
        /// Its place among the parcel's events to this endpoint (0, 1, 2, …).
        sequence: u64,
    },
    /// Not pending any more, or gone.
    Skipped,
    /// Its endpoint is disabled: set aside until the shop enables it.
    Parked,
}

/// What recording an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookFinished {
    /// The delivery's state now (`None`: delivered and removed, or gone).
    pub state: Option<HookState>,
    /// The endpoint was disabled by this failure.
    pub disabled: bool,
}

impl SyncStore {
    /// Keys of deliveries due at or before `now` (lane heads and replays), oldest first.
    pub(crate) fn hook_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let end = k::timed(b'P', now + jiff::SignedDuration::from_millis(1), b"");
        let mut out = Vec::new();
        for kv in self.t.webhooks.range(b"P".to_vec()..end).keys() {
            let key = kv?;
            if let Some(dkey) = key.get(9..) {
                out.push(dkey.to_vec());
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn first_time(&self, tag: u8) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .t
            .webhooks
            .scan_prefix([tag])
            .keys()
            .next()
            .transpose()?
            .and_then(|k| k.get(1..).and_then(keys::read_time)))
    }

    /// When the next delivery or stuck timer comes due.
    pub(crate) fn next_hook_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let a = self.first_time(b'P')?;
        let b = self.first_time(b'T')?;
        Ok(match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Takes a due delivery for sending (see [`HookClaim`]).
    pub(crate) fn hook_claim(&self, dkey: &[u8], now: Timestamp) -> Result<HookClaim, StoreError> {
        let Some((shop, ep_id, _, sequence)) = k::read_delivery(dkey) else {
            return Ok(HookClaim::Skipped);
        };
        self.tx(|t| {
            let Some(old) = t.get_delivery(dkey)? else {
                return Ok(HookClaim::Skipped);
            };
            if old.state != HookState::Pending || old.parked {
                return Ok(HookClaim::Skipped);
            }
            let endpoints = t.hook_endpoints(&shop)?;
            let Some(ep) = endpoints.iter().find(|e| e.id == ep_id) else {
                // The endpoint was deleted: what was queued for it goes with it.
                t.put_delivery(dkey, Some(&old), None)?;
                return Ok(HookClaim::Skipped);
            };
            let mut d = old.clone();
            if ep.is_disabled() {
                d.parked = true;
                t.put_delivery(dkey, Some(&old), Some(&d))?;
                return Ok(HookClaim::Parked);
            }
            if !d.claim(now) {
                return Ok(HookClaim::Skipped);
            }
            t.put_delivery(dkey, Some(&old), Some(&d))?;
            Ok(HookClaim::Claimed {
                delivery: Box::new(d),
                url: ep.url.clone(),
                secrets: ep
                    .signing_secrets(now)
                    .into_iter()
                    .map(String::from)
                    .collect(),
                sequence,
            })
        })
    }

    /// Records how an attempt ended: delivered (removed, the lane moves on, the endpoint is
    /// healthy), or failed (retried later or dead; an endpoint failing for `disable_after` is
    /// disabled and its deliveries wait).
    pub(crate) fn hook_finish(
        &self,
        dkey: &[u8],
        attempt: &Attempt,
        now: Timestamp,
        retry: &HookRetry,
        disable_after: Duration,
        random: u64,
    ) -> Result<HookFinished, StoreError> {
        let Some((shop, ep_id, track, seq)) = k::read_delivery(dkey) else {
            return Ok(HookFinished {
                state: None,
                disabled: false,
            });
        };
        self.tx(|t| {
            let gone = HookFinished {
                state: None,
                disabled: false,
            };
            let Some(old) = t.get_delivery(dkey)? else {
                return Ok(gone);
            };
            if old.state != HookState::Sending {
                return Ok(HookFinished {
                    state: Some(old.state),
                    disabled: false,
                });
            }
            let mut endpoints = t.hook_endpoints(&shop)?;
            let Some(i) = endpoints.iter().position(|e| e.id == ep_id) else {
                t.put_delivery(dkey, Some(&old), None)?;
                return Ok(gone);
            };
            let mut d = old.clone();
            match attempt {
                Attempt::Delivered { .. } => {
                    t.put_delivery(dkey, Some(&old), None)?;
                    let ep = &mut endpoints[i];
                    if !d.replay {
                        t.advance_lane(&shop, ep, &track, seq, now)?;
                    }
                    if ep.succeeded() {
                        t.put_hook_endpoints(&shop, &endpoints)?;
                    }
                    Ok(gone)
                }
                Attempt::Failed { status, error } => {
                    let disabled = endpoints[i].failed(now, error, disable_after);
                    let state = d.fail(*status, error, now, retry, random);
                    if state == HookState::Pending && endpoints[i].is_disabled() {
                        d.parked = true;
                    }
                    t.put_delivery(dkey, Some(&old), Some(&d))?;
                    if state == HookState::Dead && !d.replay {
                        t.advance_lane(&shop, &endpoints[i], &track, seq, now)?;
                    }
                    t.put_hook_endpoints(&shop, &endpoints)?;
                    Ok(HookFinished {
                        state: Some(state),
                        disabled,
                    })
                }
            }
        })
    }

    /// Deliveries that were in hand when the daemon stopped go back to the queue, due now, in
    /// doubt (the endpoint may have them: they go again with the same id). Returns how many.
    pub(crate) fn hook_recover(&self, now: Timestamp) -> Result<usize, StoreError> {
        let keys: Vec<Vec<u8>> = self
            .t
            .webhooks
            .scan_prefix(b"S")
            .keys()
            .map(|k| k.map(|k| k.get(9..).unwrap_or_default().to_vec()))
            .collect::<Result<_, _>>()?;
        let mut n = 0;
        for dkey in keys {
            n += usize::from(self.tx(|t| {
                let Some(old) = t.get_delivery(&dkey)? else {
                    return Ok(false);
                };
                let mut d = old.clone();
                if !d.recover(now) {
                    return Ok(false);
                }
                t.put_delivery(&dkey, Some(&old), Some(&d))?;
                Ok(true)
            })?);
        }
        Ok(n)
    }
}

impl Store {
    /// Keys of deliveries due at or before `now`, oldest first.
    pub async fn hook_due(&self, now: Timestamp, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.run(move |s| s.hook_due(now, limit)).await
    }

    /// When the next delivery or stuck timer is due.
    pub async fn next_hook_at(&self) -> Result<Option<Timestamp>, StoreError> {
        self.run(SyncStore::next_hook_at).await
    }

    /// At start: what was in hand goes back to the queue, the stuck timers are armed again if
    /// `stuck_after` changed; flushed. Returns (deliveries requeued, timers armed if any were).
    pub async fn hook_restart(
        &self,
        now: Timestamp,
        rules: Rules,
    ) -> Result<(usize, Option<usize>), StoreError> {
        self.in_one_step(move |s| {
            let n = s.hook_recover(now)?;
            let armed = s.rearm_stuck_if_changed(&rules)?;
            s.flush()?;
            Ok((n, armed))
        })
        .await
    }

    /// Fires every stuck timer due at `now`, `batch` at a time. Returns how many `parcel.stuck`
    /// events were queued.
    pub async fn fire_stuck_due(
        &self,
        now: Timestamp,
        rules: Rules,
        batch: usize,
    ) -> Result<usize, StoreError> {
        self.in_one_step(move |s| {
            let mut n = 0;
            loop {
                let due = s.stuck_due(now, batch)?;
                for (shop, track, at) in &due {
                    n += usize::from(s.fire_stuck(shop, track, *at, now, &rules)?);
                }
                if due.len() < batch {
                    return Ok(n);
                }
            }
        })
        .await
    }
}
