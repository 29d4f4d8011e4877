//! API latency: lookups by track and by order number over the control socket at a steady,
//! open-loop rate (requests are started on schedule whether or not earlier ones finished), with
//! the daemon idle (baseline) and during a nightly polling cycle.

use crate::daemon::Daemon;
use crate::intake::{SHOP, parcel};
use hdrhistogram::Histogram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Latency percentiles, microseconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Latency {
    /// Requests made.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Requests per second achieved.
    pub achieved_rate: f64,
}

/// Runs lookups at `rate` per second for `duration` against parcels `0..parcels`.
pub async fn lookups(d: &Daemon, parcels: usize, rate: u32, duration: Duration) -> Latency {
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
    ));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let period = Duration::from_secs_f64(1.0 / f64::from(rate));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut n: u64 = 0;
    let mut tasks = tokio::task::JoinSet::new();
    while started.elapsed() < duration {
        tick.tick().await;
        n += 1;
        let i = (n.wrapping_mul(2_654_435_761) as usize) % parcels.max(1);
        let client = d.socket.clone();
        let hist = hist.clone();
        let errors = errors.clone();
        tasks.spawn(async move {
            let t = Instant::now();
            let ok = if n.is_multiple_of(2) {
                client.parcel(SHOP, &parcel(i).track).await.is_ok()
            } else {
                client
                    .list(SHOP, &[("order_id", format!("B-{}", i / 2))])
                    .await
                    .map(|l| !l.parcels.is_empty())
                    .unwrap_or(false)
            };
            let us = t.elapsed().as_micros() as u64;
            if ok {
                let _ = hist.lock().map(|mut h| h.record(us.max(1)));
            } else {
                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let h = hist
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| Histogram::new(3).expect("histogram"));
    Latency {
        requests: n,
        errors: errors.load(std::sync::atomic::Ordering::Relaxed),
        p50_us: h.value_at_quantile(0.5),
        p99_us: h.value_at_quantile(0.99),
        achieved_rate: n as f64 / elapsed,
    }
}
