//! What the daemon knows about its own health: per carrier (polling, paused after an
//! authorisation failure or an exhausted limit) and per channel, for `GET /v1/health`, logs and
//! metrics. Derived state: it is rebuilt as the daemon works.

use crate::domain::carrier::CarrierId;
use crate::domain::notification::Channel;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How one carrier is doing.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CarrierStatus {
    /// When a poll last succeeded.
    pub last_success_at: Option<Timestamp>,
    /// The last error.
    pub last_error: Option<String>,
    /// When the last error happened.
    pub last_error_at: Option<Timestamp>,
    /// Polling is paused until then (authorisation refused, limit exhausted).
    pub paused_until: Option<Timestamp>,
    /// Why it is paused.
    pub paused_reason: Option<String>,
    /// Requests made today (the carrier's budget day).
    pub requests_today: u32,
}

/// How one channel is doing.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ChannelStatus {
    /// The transport's name.
    pub transport: String,
    /// When a send last succeeded.
    pub last_success_at: Option<Timestamp>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<Timestamp>,
    /// Sending is paused until then: the provider refused the account.
    pub paused_until: Option<Timestamp>,
    /// What the provider said.
    pub paused_reason: Option<String>,
    /// Gateways resting after refusing the account, with why.
    pub paused: Vec<String>,
}

/// The daemon's health board, shared by actors and the API.
#[derive(Debug, Default)]
pub struct Health {
    carriers: Mutex<BTreeMap<CarrierId, CarrierStatus>>,
    channels: Mutex<BTreeMap<Channel, ChannelStatus>>,
    store_error: Mutex<Option<(Timestamp, String)>>,
    store_unwritable: Mutex<Option<(Timestamp, String)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Health {
    /// Changes one carrier's status.
    pub fn carrier(&self, id: CarrierId, f: impl FnOnce(&mut CarrierStatus)) {
        f(lock(&self.carriers).entry(id).or_default());
    }

    /// One carrier's status.
    pub fn carrier_status(&self, id: CarrierId) -> CarrierStatus {
        lock(&self.carriers).get(&id).cloned().unwrap_or_default()
    }

    /// Every carrier's status.
    pub fn carriers(&self) -> BTreeMap<CarrierId, CarrierStatus> {
        lock(&self.carriers).clone()
    }

    /// Changes one channel's status.
    pub fn channel(&self, ch: Channel, f: impl FnOnce(&mut ChannelStatus)) {
        f(lock(&self.channels).entry(ch).or_default());
    }

    /// Every channel's status.
    pub fn channels(&self) -> BTreeMap<Channel, ChannelStatus> {
        lock(&self.channels).clone()
    }

    /// Records that the store refused a write (disk full, read-only).
    pub fn store_failed(&self, at: Timestamp, error: String) {
        *lock(&self.store_error) = Some((at, error));
    }

    /// Records that the store works again.
    pub fn store_ok(&self) {
        *lock(&self.store_error) = None;
    }

    /// Records that the store's disk refused a write (full, read-only). Unlike
    /// [`Health::store_failed`], this stays until the daemon reopens the store: the store
    /// refuses every later write, even the ones an actor happens to get through without one.
    pub fn store_unwritable(&self, at: Timestamp, error: String) {
        *lock(&self.store_unwritable) = Some((at, error));
    }

    /// Whether the store's disk refused a write since the store was opened.
    pub fn is_store_unwritable(&self) -> bool {
        lock(&self.store_unwritable).is_some()
    }

    /// The store failure to report: the disk's refusal first, else the last failure an actor
    /// saw and has not yet recovered from.
    pub fn store_error(&self) -> Option<(Timestamp, String)> {
        lock(&self.store_unwritable)
            .clone()
            .or_else(|| lock(&self.store_error).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_that_refuses_writes_stays_reported_when_an_actor_recovers() {
        let h = Health::default();
        let at = Timestamp::UNIX_EPOCH;
        h.store_failed(at, "first".into());
        h.store_ok();
        assert_eq!(h.store_error(), None);
        h.store_unwritable(at, "No space left on device (os error 28)".into());
        h.store_failed(at, "an actor's error".into());
        h.store_ok();
        assert!(h.is_store_unwritable());
        assert_eq!(
            h.store_error().map(|(_, e)| e).as_deref(),
            Some("No space left on device (os error 28)")
        );
    }
}
