//! The tracking page's latency: `GET /t/{code}` over loopback HTTP at a steady, open-loop rate
//! (requests start on schedule whether or not earlier ones finished), against the static
//! `GET /robots.txt` served by the same listener at the same rate, in the same run.
//!
//! The codes are the real ones: sandbox parcels (two per order, so a page shows both) are
//! handed over and polled once; each gets its "accepted" SMS in the SMS file, and the link in
//! it is what the benchmark asks for. `page.answer_time` (the floor that keeps a page's timing
//! from telling a found code from a wrong one) is set to zero, so the figure is the work of
//! reading the store and rendering; with the default floor every answer takes at least it.

use crate::daemon::{self, Daemon};
use crate::intake::{self, SHOP, Via};
use crate::server;
use hdrhistogram::Histogram;
use parceld::api::dto::{CustomerIn, Field, ParcelIn, PollRequest};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Latency of one kind of request, microseconds.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PageLatency {
    /// Requests made.
    pub requests: u64,
    /// Requests that failed or were not answered 200.
    pub errors: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Requests per second achieved.
    pub achieved_rate: f64,
    /// Average body size, bytes.
    pub body_bytes: u64,
}

/// The figures: the page beside the static file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageResult {
    /// Parcels (and codes) behind the pages asked for.
    pub parcels: usize,
    /// The rate asked for, per second.
    pub rate: u32,
    /// `GET /robots.txt`.
    pub static_file: PageLatency,
    /// `GET /t/{code}`.
    pub page: PageLatency,
}

fn sandbox_parcel(i: usize) -> ParcelIn {
    ParcelIn {
        track: format!("SANDBOX-ARRIVED-{i}"),
        order_id: format!("P-{}", i / 2).into(),
        customer: CustomerIn {
            name: "Иванов Иван Иванович".into(),
            phone: format!("+7 912 {:03}-{:02}-{:02}", i % 1000, (i / 1000) % 100, 17).into(),
            email: Field::Absent,
        }
        .into(),
        cod_amount: format!("{}.00", 500 + i % 5000).into(),
        contents: "Книга, 2 шт.".into(),
        carrier: None,
        storage_days: Field::Absent,
    }
}

/// The codes of the links in the SMS file.
fn codes(sms_file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(sms_file).unwrap_or_default();
    let mut out: Vec<String> = text
        .split("/t/")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|c| !c.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Asks `url(n)` at `rate` per second for `duration`.
async fn measure(
    http: &reqwest::Client,
    rate: u32,
    duration: Duration,
    url: impl Fn(u64) -> String,
) -> PageLatency {
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram"),
    ));
    let errors = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut n: u64 = 0;
    let mut tasks = tokio::task::JoinSet::new();
    while started.elapsed() < duration {
        tick.tick().await;
        n += 1;
        let (http, url) = (http.clone(), url(n));
        let (hist, errors, bytes) = (hist.clone(), errors.clone(), bytes.clone());
        tasks.spawn(async move {
            let t = Instant::now();
            let body = match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.ok(),
                _ => None,
            };
            let us = t.elapsed().as_micros() as u64;
            match body {
                Some(b) => {
                    bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                    let _ = hist.lock().map(|mut h| h.record(us.max(1)));
                }
                None => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let h = hist.lock().map(|h| h.clone()).expect("histogram");
    let ok = h.len().max(1);
    PageLatency {
        requests: n,
        errors: errors.load(Ordering::Relaxed),
        p50_us: h.value_at_quantile(0.5),
        p99_us: h.value_at_quantile(0.99),
        achieved_rate: n as f64 / elapsed,
        body_bytes: bytes.load(Ordering::Relaxed) / ok,
    }
}

/// Hands over `n` sandbox parcels, waits for their links, then measures both routes.
pub async fn run(dir: &Path, n: usize, rate: u32, duration: Duration) -> PageResult {
    // A port free now; the listener is let go for the daemon to bind.
    let port = server::free_port()
        .local_addr()
        .expect("a free port")
        .port();
    let sms_file = dir.join("sms.log");
    let extra = format!(
        "[carriers.sandbox]\nenabled = true\nrate = \"1000/s\"\nconcurrency = 4\nbatch_size = 100\n\
         window = \"always\"\npoll_every = \"1d\"\n\
         [email]\nenabled = false\n\
         [sms]\nenabled = true\ntransport = \"file\"\nfile = \"{}\"\nrate = \"1000000/s\"\n\
         [page]\nanswer_time = \"0s\"\n",
        sms_file.display()
    );
    let config = daemon::config(dir, &extra).replacen(
        "[api]\n",
        &format!(
            "[api]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
             public_rate = \"1000000/s\"\npublic_burst = 1000000\n"
        ),
        1,
    );
    let d = Daemon::start(dir, &config);
    d.create_bench_shop().await;
    intake::through_daemon(&d, n, Via::Json(10_000), sandbox_parcel, &[]).await;
    d.socket
        .poll(&PollRequest {
            shop: Some(SHOP.into()),
            all: true,
        })
        .await
        .expect("poll the sandbox");
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut found = codes(&sms_file);
    while found.len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        found = codes(&sms_file);
    }
    assert!(
        found.len() == n,
        "every parcel's accepted SMS carries its link: {} of {n} in {}",
        found.len(),
        sms_file.display()
    );

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
    // Warm both routes and the client's connections.
    measure(&http, rate, Duration::from_secs(2), |_| {
        format!("{base}/robots.txt")
    })
    .await;
    let static_file = measure(&http, rate, duration, |_| format!("{base}/robots.txt")).await;
    let page = measure(&http, rate, duration, |i| {
        let c = &found[(i.wrapping_mul(2_654_435_761) as usize) % found.len()];
        format!("{base}/t/{c}")
    })
    .await;
    d.remove();
    PageResult {
        parcels: n,
        rate,
        static_file,
        page,
    }
}
