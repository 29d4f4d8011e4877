//! The nightly cycle: live Russian Post parcels polled through batch tickets (3000 numbers
//! each) against the fake service with no rate limit, driven by the daemon's own scheduler the
//! way a night is: the parcels are handed over while the polling window is closed, and the
//! window opens a little after. The daemon's time is read from its `/metrics` before and
//! after, split into parse, lifecycle, store and outbox; its CPU time from /proc. API latency is
//! measured idle while the window is still closed (the baseline) and during the cycle.
//!
//! Also the configured rate: single access (one number per request) at 200 requests per second,
//! and what the fake saw, per second.

use crate::daemon::{self, Daemon, NO_CHANNELS};
use crate::fake_post::FakePost;
use crate::intake::{self, Via};
use crate::latency::{self, Latency};
use crate::prom::Snapshot;
use std::path::Path;
use std::time::{Duration, Instant};

/// Time per stage, seconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Stages {
    /// Reading the carrier's answers.
    pub parse: f64,
    /// The lifecycle.
    pub lifecycle: f64,
    /// Store reads, writes and transactions.
    pub store: f64,
    /// Planning and writing notifications.
    pub outbox: f64,
}

impl Stages {
    fn between(a: &Snapshot, b: &Snapshot) -> Stages {
        let s = |stage: &str| {
            let labels = [("carrier", "russian_post"), ("stage", stage)];
            b.sum("parceld_poll_stage_seconds_sum", &labels)
                - a.sum("parceld_poll_stage_seconds_sum", &labels)
        };
        Stages {
            parse: s("parse"),
            lifecycle: s("lifecycle"),
            store: s("store"),
            outbox: s("outbox"),
        }
    }

    /// The sum.
    pub fn total(&self) -> f64 {
        self.parse + self.lifecycle + self.store + self.outbox
    }

    /// Scaled to a million parcels out of `n`.
    pub fn per_million(&self, n: f64) -> Stages {
        let k = 1e6 / n.max(1.0);
        Stages {
            parse: self.parse * k,
            lifecycle: self.lifecycle * k,
            store: self.store * k,
            outbox: self.outbox * k,
        }
    }
}

/// The result of the nightly cycle.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CycleResult {
    /// Live parcels.
    pub parcels: usize,
    /// Intake rate of this daemon (JSON), parcels per second.
    pub intake_rate: f64,
    /// Polls recorded (answers applied and failures).
    pub polled: f64,
    /// Notifications planned.
    pub messages: f64,
    /// From the window opening to the last poll recorded, seconds.
    pub wall_s: f64,
    /// Daemon CPU time in that span, seconds.
    pub cpu_s: f64,
    /// Time per stage, seconds.
    pub stages: Stages,
    /// Time per stage per million parcels, seconds.
    pub stages_per_million: Stages,
    /// Requests the fake received (tickets and answers).
    pub carrier_requests: usize,
    /// Peak resident memory of the daemon, bytes.
    pub peak_rss: u64,
    /// The state directory after the cycle, bytes.
    pub disk_after: u64,
    /// The intake was still running when the window opened.
    pub overlapped_intake: bool,
    /// Lookups with the window closed.
    pub latency_idle: Option<Latency>,
    /// Lookups during the cycle.
    pub latency_busy: Option<Latency>,
    /// Live bytes (keys and values) and entries per tree after the cycle, read from the store
    /// with the daemon stopped: where the bytes on disk come from.
    pub trees: Vec<TreeBytes>,
}

/// One tree's live content.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TreeBytes {
    /// The tree.
    pub tree: String,
    /// Entries.
    pub entries: u64,
    /// Bytes of keys.
    pub key_bytes: u64,
    /// Bytes of values.
    pub value_bytes: u64,
}

/// Tallies every tree of the sled store at `path` (nobody else may have it open).
pub fn tally(path: &Path) -> Vec<TreeBytes> {
    let Ok(db) = sled::Config::new().path(path).open() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in db.tree_names() {
        let Ok(tree) = db.open_tree(&name) else {
            continue;
        };
        let mut t = TreeBytes {
            tree: String::from_utf8_lossy(&name).into_owned(),
            entries: 0,
            key_bytes: 0,
            value_bytes: 0,
        };
        for (k, v) in tree.iter().flatten() {
            t.entries += 1;
            t.key_bytes += k.len() as u64;
            t.value_bytes += v.len() as u64;
        }
        if t.entries > 0 {
            out.push(t);
        }
    }
    out.sort_by_key(|t| std::cmp::Reverse(t.key_bytes + t.value_bytes));
    out
}

/// Runs the nightly cycle over `n` parcels. `intake_estimate` is how long handing them over is
/// expected to take (the window opens after it).
pub async fn nightly(dir: &Path, n: usize, intake_estimate: Duration) -> CycleResult {
    let fake = FakePost::start(1);
    let opens_at = jiff::Timestamp::now()
        + jiff::SignedDuration::try_from(intake_estimate.mul_f64(1.3)).unwrap_or_default()
        + jiff::SignedDuration::from_secs(45);
    let (window, open) = daemon::window_at(opens_at);
    let extra = daemon::russian_post(dir, &fake.base, true, "1000000/s", &window) + NO_CHANNELS;
    let d = Daemon::start(dir, &daemon::config(dir, &extra));
    d.create_bench_shop().await;
    let (took, _) = intake::through_daemon(&d, n, Via::Json(10_000), intake::parcel, &[]).await;
    let intake_rate = n as f64 / took.as_secs_f64();
    let left = |open: jiff::Timestamp| {
        Duration::try_from(open.duration_since(jiff::Timestamp::now())).unwrap_or_default()
    };
    let overlapped_intake = left(open).is_zero();
    println!(
        "nightly cycle: {n} parcels handed over at {intake_rate:.0}/s; the window {window} opens in {:.0} s",
        left(open).as_secs_f64()
    );
    let latency_idle = if left(open) > Duration::from_secs(12) {
        let span = (left(open) - Duration::from_secs(5)).min(Duration::from_secs(20));
        Some(latency::lookups(&d, n, 1000, span).await)
    } else {
        None
    };
    tokio::time::sleep(left(open)).await;
    let before = Snapshot::of(&d).await;
    let baseline = before.sum("parceld_polls_total", &[("carrier", "russian_post")]);
    // Polls recorded since the window opened.
    let polled_since =
        |s: &Snapshot| s.sum("parceld_polls_total", &[("carrier", "russian_post")]) - baseline;
    let cpu_before = d.cpu_seconds();
    let started = Instant::now();
    // The window opened; the parcels come due over its first 45 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let latency_busy = Some(latency::lookups(&d, n, 1000, Duration::from_secs(20)).await);
    let deadline = Instant::now() + Duration::from_secs(1800) + Duration::from_millis(n as u64);
    let mut done_at = started.elapsed();
    loop {
        let polled = polled_since(&Snapshot::of(&d).await);
        if polled >= n as f64 {
            done_at = started.elapsed();
            break;
        }
        if Instant::now() > deadline {
            eprintln!("nightly cycle: not every parcel was polled in time ({polled})");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cpu_s = d.cpu_seconds() - cpu_before;
    let after = Snapshot::of(&d).await;
    let stages = Stages::between(&before, &after);
    let polled = polled_since(&after);
    let messages = after.sum("parceld_notifications_queued_total", &[])
        - before.sum("parceld_notifications_queued_total", &[]);
    let r = CycleResult {
        parcels: n,
        intake_rate,
        polled,
        messages,
        wall_s: done_at.as_secs_f64(),
        cpu_s,
        stages_per_million: stages.per_million(polled),
        stages,
        carrier_requests: fake.request_times().len(),
        peak_rss: d.peak_rss(),
        disk_after: d.disk_bytes(),
        overlapped_intake,
        latency_idle,
        latency_busy,
        trees: Vec::new(),
    };
    let mut d = d;
    d.stop();
    let trees = tally(&dir.join("state").join("db"));
    for t in &trees {
        println!(
            "  tree {:<12} {:>9} entries {:>7.0} B/parcel (keys {:.0}, values {:.0})",
            t.tree,
            t.entries,
            (t.key_bytes + t.value_bytes) as f64 / n as f64,
            t.key_bytes as f64 / n as f64,
            t.value_bytes as f64 / n as f64
        );
    }
    d.remove();
    CycleResult { trees, ..r }
}

/// The result of the rate measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RateResult {
    /// The configured rate, requests per second.
    pub configured: f64,
    /// Requests the fake received.
    pub requests: usize,
    /// Requests per second from the first to the last.
    pub achieved: f64,
    /// `achieved / configured`.
    pub fraction: f64,
    /// The most requests in any one-second span.
    pub max_in_one_second: usize,
    /// `max_in_one_second / configured`.
    pub max_fraction: f64,
    /// Seconds lost to gaps between requests longer than twice the limiter's spacing: the time
    /// the limiter had a permit ready and no request took it.
    pub idle_s: f64,
    /// The longest gap between two requests, seconds.
    pub longest_gap_s: f64,
}

/// The most of `times` (sorted) that fall in any span of `span`.
pub fn max_in_span(times: &[Instant], span: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= span {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Single access at `rate` per second over `n` parcels, due as soon as they are handed over.
pub async fn configured_rate(dir: &Path, n: usize, rate: u32) -> RateResult {
    let fake = FakePost::start(2);
    let extra =
        daemon::russian_post(dir, &fake.base, false, &format!("{rate}/s"), "always") + NO_CHANNELS;
    let d = Daemon::start(dir, &daemon::config(dir, &extra));
    d.create_bench_shop().await;
    intake::through_daemon(&d, n, Via::Json(10_000), intake::parcel, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(n as u64 / u64::from(rate) * 3 + 60);
    while fake.answered() < n as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    d.remove();
    let mut times = fake.request_times();
    times.sort();
    let requests = times.len();
    let span = match (times.first(), times.last()) {
        (Some(a), Some(b)) => (*b - *a).as_secs_f64(),
        _ => 0.0,
    };
    let achieved = if span > 0.0 {
        (requests - 1) as f64 / span
    } else {
        0.0
    };
    let max = max_in_span(&times, Duration::from_secs(1));
    let spacing = 1.03 / f64::from(rate);
    let gaps = times.windows(2).map(|w| (w[1] - w[0]).as_secs_f64());
    let (idle_s, longest_gap_s) = gaps.fold((0.0, 0.0_f64), |(idle, longest), g| {
        let lost = if g > 2.0 * spacing { g - spacing } else { 0.0 };
        (idle + lost, longest.max(g))
    });
    RateResult {
        idle_s,
        longest_gap_s,
        configured: f64::from(rate),
        requests,
        achieved,
        fraction: achieved / f64::from(rate),
        max_in_one_second: max,
        max_fraction: max as f64 / f64::from(rate),
    }
}
