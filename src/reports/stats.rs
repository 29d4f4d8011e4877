//! Statistics over a period, as pure functions over parcels and outbox entries: what was handed
//! over, how parcels finished, the return rate (returned ÷ finished), how long the carrier took
//! from acceptance to the pickup office and customers from arrival to pickup (median and 90th
//! percentile, in days), how notifications fared per channel, and unsubscribes.
//!
//! Which parcel counts where:
//! - *handed over*, *orders* and *unsubscribed*: parcels created in the period;
//! - *finished* and the return rate: parcels whose final status came in the period (the time of
//!   the first carrier event with that status);
//! - *acceptance → arrival*: parcels that arrived in the period (first "arrived" event), from
//!   their first "accepted" event (or their first event, when the carrier skipped it);
//! - *arrival → pickup*: parcels delivered in the period that had arrived at an office;
//! - *notifications*: messages created in the period;
//! - *by status*: every parcel, as it is now.
//!
//! Medians of an even count are the mean of the two middle values; the 90th percentile is the
//! nearest rank (the ⌈0.9·n⌉-th smallest). Days are rounded to hundredths.

use crate::domain::notification::Channel;
use crate::domain::outbox::{DeliveryState, OutboxEntry};
use crate::domain::parcel::Parcel;
use crate::domain::status::Status;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// A half-open time span `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Start, inclusive.
    pub from: Timestamp,
    /// End, exclusive.
    pub to: Timestamp,
}

impl Period {
    /// Whether `t` falls in the period.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }

    /// The period of the same length just before this one.
    pub fn previous(&self) -> Period {
        let len = self.to.duration_since(self.from);
        Period {
            from: self.from.checked_sub(len).unwrap_or(Timestamp::MIN),
            to: self.from,
        }
    }
}

/// Median and 90th percentile of durations in days.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spread {
    /// How many values.
    pub count: u64,
    /// Median, days.
    pub median: Option<f64>,
    /// 90th percentile, days.
    pub p90: Option<f64>,
}

/// One channel's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelCounts {
    /// Created in the period.
    pub total: u64,
    /// Accepted by the provider.
    pub sent: u64,
    /// Given up.
    pub failed: u64,
    /// Withdrawn.
    pub cancelled: u64,
    /// Waiting or in hand.
    pub pending: u64,
}

impl ChannelCounts {
    /// Sent ÷ (sent + failed).
    pub fn delivery_rate(&self) -> Option<f64> {
        ratio(self.sent, self.sent + self.failed)
    }
}

/// The statistics of a period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Parcels handed over.
    pub handed_over: u64,
    /// Distinct order numbers among them.
    pub orders: u64,
    /// Parcels that finished, by final status.
    pub finished: BTreeMap<Status, u64>,
    /// Finished in the period before, by final status.
    pub previous_finished: BTreeMap<Status, u64>,
    /// Acceptance to arrival.
    pub accepted_to_arrived: Spread,
    /// Arrival to pickup.
    pub arrived_to_pickup: Spread,
    /// Messages per channel.
    pub channels: BTreeMap<Channel, ChannelCounts>,
    /// Parcels whose customer unsubscribed, per channel.
    pub unsubscribed: BTreeMap<Channel, u64>,
    /// Every parcel by its current status.
    pub by_status: BTreeMap<Status, u64>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| round(a as f64 / b as f64, 4))
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn return_rate(finished: &BTreeMap<Status, u64>) -> Option<f64> {
    let all: u64 = finished.values().sum();
    ratio(
        finished
            .get(&Status::ReturnedToSender)
            .copied()
            .unwrap_or(0),
        all,
    )
}

impl Stats {
    /// Returned ÷ finished in the period.
    pub fn return_rate(&self) -> Option<f64> {
        return_rate(&self.finished)
    }

    /// The same in the period before.
    pub fn previous_return_rate(&self) -> Option<f64> {
        return_rate(&self.previous_finished)
    }
}

/// When the parcel first reported `status`.
pub fn first_event(p: &Parcel, status: Status) -> Option<Timestamp> {
    p.events.iter().find(|e| e.status == status).map(|e| e.at)
}

/// When a finished parcel finished: its first event with its final status.
pub fn finished_at(p: &Parcel) -> Option<Timestamp> {
    p.status
        .is_final()
        .then(|| first_event(p, p.status))
        .flatten()
}

/// Median and nearest-rank 90th percentile of day counts.
pub fn spread(mut days: Vec<f64>) -> Spread {
    days.retain(|d| d.is_finite());
    days.sort_by(f64::total_cmp);
    let n = days.len();
    if n == 0 {
        return Spread::default();
    }
    let median = if n % 2 == 1 {
        days[n / 2]
    } else {
        (days[n / 2 - 1] + days[n / 2]) / 2.0
    };
    let rank = (n * 9).div_ceil(10).max(1);
    Spread {
        count: n as u64,
        median: Some(round(median, 2)),
        p90: Some(round(days[rank - 1], 2)),
    }
}

fn days(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() / 86_400.0
}

/// Gathers statistics from parcels and entries streamed one at a time.
#[derive(Debug, Clone)]
pub struct Collector {
    period: Period,
    previous: Period,
    stats: Stats,
    orders: BTreeSet<(String, String)>,
    to_arrival: Vec<f64>,
    to_pickup: Vec<f64>,
}

impl Collector {
    /// A collector for `period`.
    pub fn new(period: Period) -> Self {
        Collector {
            period,
            previous: period.previous(),
            stats: Stats::default(),
            orders: BTreeSet::new(),
            to_arrival: Vec::new(),
            to_pickup: Vec::new(),
        }
    }

    /// Counts a parcel.
    pub fn parcel(&mut self, p: &Parcel) {
        let s = &mut self.stats;
        *s.by_status.entry(p.status).or_default() += 1;
        if self.period.contains(p.created_at) {
            s.handed_over += 1;
            if let Some(o) = &p.order_id {
                self.orders.insert((p.shop.as_str().to_string(), o.clone()));
            }
            for c in &p.unsubscribed {
                *s.unsubscribed.entry(*c).or_default() += 1;
            }
        }
        if let Some(at) = finished_at(p) {
            if self.period.contains(at) {
                *s.finished.entry(p.status).or_default() += 1;
            } else if self.previous.contains(at) {
                *s.previous_finished.entry(p.status).or_default() += 1;
            }
        }
        let arrived = first_event(p, Status::ArrivedAtPickup);
        if let Some(arr) = arrived.filter(|a| self.period.contains(*a)) {
            let accepted = first_event(p, Status::Accepted).or(p.events.first().map(|e| e.at));
            if let Some(acc) = accepted.filter(|acc| *acc <= arr) {
                self.to_arrival.push(days(acc, arr));
            }
        }
        if let (Some(arr), Some(del)) = (arrived, first_event(p, Status::Delivered))
            && self.period.contains(del)
            && arr <= del
        {
            self.to_pickup.push(days(arr, del));
        }
    }

    /// Counts a message.
    pub fn entry(&mut self, e: &OutboxEntry) {
        if !self.period.contains(e.created_at) {
            return;
        }
        let c = self.stats.channels.entry(e.key.channel).or_default();
        c.total += 1;
        match e.state {
            DeliveryState::Sent => c.sent += 1,
            DeliveryState::Dead => c.failed += 1,
            DeliveryState::Cancelled => c.cancelled += 1,
            DeliveryState::Pending | DeliveryState::Sending => c.pending += 1,
        }
    }

    /// The statistics.
    pub fn finish(mut self) -> Stats {
        self.stats.orders = self.orders.len() as u64;
        self.stats.accepted_to_arrived = spread(self.to_arrival);
        self.stats.arrived_to_pickup = spread(self.to_pickup);
        self.stats
    }
}

#[cfg(test)]
mod tests;
