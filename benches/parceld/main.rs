//! parceld's benchmark suite: how much one box carries, each figure beside a baseline measured
//! in the same run on the same machine, so the ratio holds on a noisy machine.
//!
//! ```text
//! cargo bench --bench parceld -- [--parcels N] [--send N] [--rate-parcels N] [--rate R]
//!                                [--hooks N] [--pages N] [--lanes-parcels N]
//!                                [--only intake,cycle,rate,sending,webhooks,page,lanes]
//!                                [--tag NAME]
//! ```
//!
//! Defaults: a million parcels, 100 000 messages per channel, 12 000 parcels at 200 requests per
//! second. Every phase runs its own release `parceld` in a temporary directory, removed
//! afterwards:
//!
//! - `intake`: bulk JSON and CSV files through the control socket against raw sled inserts of
//!   the same records; memory and disk per parcel as the store grows; start to READY with the
//!   store full ([`intake`], [`daemon`]);
//! - `cycle`: the nightly cycle against a fake Russian Post batch service, with API latency idle
//!   and during the cycle ([`cycle`], [`fake_post`], [`latency`]);
//! - `rate`: the achieved request rate at a configured one ([`cycle`]);
//! - `sending`: e-mail to an SMTP sink and SMS to a gateway fake against plain clients
//!   ([`sending`], [`sinks`]);
//! - `webhooks`: queued webhooks delivered to a receiver on loopback against a plain client
//!   posting the same bodies ([`webhooks`]);
//! - `page`: the customers' tracking page at 500 requests per second over loopback against a
//!   static file served by the same listener at the same rate ([`page`]);
//! - `lanes`: the accuracy of expected arrivals on a generated history with known lane
//!   distributions, and the handover and polling with and without lanes ([`lanes`]).
//!
//! `PARCELD_BIN=/path/to/parceld` runs the suite against another build (an earlier release's),
//! so both are measured by the same harness in the same session.
//!
//! Results go to `benches/results/<tag>.json` (tag `latest` by default), a table on stdout,
//! and the plot `benches/results/cost.svg` (`<tag>-cost.svg` for other tags).

// A measuring tool, not daemon code: a benchmark that cannot go on stops with its reason, and
// it reads the wall clock to time its runs and place them in carriers' windows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod cycle;
mod daemon;
mod fake_post;
mod intake;
mod lanes;
mod latency;
mod page;
mod plot;
mod prom;
mod sending;
// The tests' fake server; the tests use more of it than the benchmarks.
#[allow(dead_code)]
#[path = "../../tests/it/fakes/server.rs"]
mod server;
mod sinks;
mod webhooks;

use daemon::{Daemon, NO_CHANNELS};
use intake::Via;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Args {
    parcels: usize,
    send: usize,
    rate_parcels: usize,
    rate: u32,
    hooks: usize,
    pages: usize,
    lanes: usize,
    only: Vec<String>,
    tag: String,
}

fn args() -> Args {
    let mut a = Args {
        parcels: 1_000_000,
        send: 100_000,
        rate_parcels: 12_000,
        rate: 200,
        hooks: 20_000,
        pages: 2_000,
        lanes: 12_000,
        only: Vec::new(),
        tag: "latest".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = |d: usize| it.next().and_then(|v| v.parse().ok()).unwrap_or(d);
        match arg.as_str() {
            "--parcels" => a.parcels = num(a.parcels),
            "--send" => a.send = num(a.send),
            "--rate-parcels" => a.rate_parcels = num(a.rate_parcels),
            "--rate" => a.rate = num(a.rate as usize) as u32,
            "--hooks" => a.hooks = num(a.hooks),
            "--pages" => a.pages = num(a.pages),
            "--lanes-parcels" => a.lanes = num(a.lanes),
            "--only" => {
                a.only = it
                    .next()
                    .map(|v| v.split(',').map(str::to_string).collect())
                    .unwrap_or_default()
            }
            "--tag" => a.tag = it.next().unwrap_or(a.tag),
            _ => {}
        }
    }
    a
}

fn wants(a: &Args, name: &str) -> bool {
    a.only.is_empty() || a.only.iter().any(|o| o == name)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// Intake through JSON and CSV against raw sled, and the footprint. Returns the JSON intake rate.
async fn intake_phase(
    work: &Path,
    n: usize,
    out: &Path,
    results: &mut serde_json::Map<String, serde_json::Value>,
) -> f64 {
    let marks: Vec<usize> = [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000]
        .into_iter()
        .filter(|&m| m < n)
        .collect();
    // Russian Post parcels, polled in a window hours away: intake is measured alone.
    let carrier = |dir: &Path| {
        let rp = daemon::russian_post(
            dir,
            "http://127.0.0.1:9",
            true,
            "1/s",
            &daemon::closed_window(),
        );
        daemon::config(dir, &format!("{rp}{NO_CHANNELS}"))
    };

    let dir = work.join("intake-json");
    let mut d = Daemon::start(&dir, &carrier(&dir));
    d.create_bench_shop().await;
    // The baseline for memory: the daemon with nothing stored.
    let empty_rss = d.rss();
    let (took, json_points) =
        intake::through_daemon(&d, n, Via::Json(10_000), intake::parcel, &marks).await;
    let json_rate = n as f64 / took.as_secs_f64();
    let peak = d.peak_rss();
    d.stop();
    let disk = d.disk_bytes();
    let empty_ready = d.ready_after;
    let restarted = Daemon::start(&dir, &d.config_text());
    let full_ready = restarted.ready_after;
    restarted.remove();

    let sled_dir = work.join("raw-sled");
    let sled_took = intake::raw_sled(&sled_dir, n, 64 * 1024 * 1024);
    let sled_rate = n as f64 / sled_took.as_secs_f64();
    // The baseline for disk: the same records in one plain sled tree.
    let sled_disk = daemon::disk_usage(&sled_dir);
    let _ = std::fs::remove_dir_all(&sled_dir);

    let dir = work.join("intake-csv");
    let d = Daemon::start(&dir, &carrier(&dir));
    d.create_bench_shop().await;
    let (took, csv_points) =
        intake::through_daemon(&d, n, Via::Csv(100_000), intake::parcel, &marks).await;
    let csv_rate = n as f64 / took.as_secs_f64();
    d.remove();

    println!(
        "intake of {n} parcels: JSON {json_rate:.0}/s, CSV {csv_rate:.0}/s, raw sled {sled_rate:.0}/s; ratios {:.3} and {:.3}",
        json_rate / sled_rate,
        csv_rate / sled_rate
    );
    for c in &json_points {
        println!(
            "  at {:>9} parcels: {:>8.0}/s, RSS {:>7.1} MiB ({:.0} B/parcel), peak {:>7.1} MiB ({:.0} B/parcel), disk {:>8.1} MiB ({:.0} B/parcel)",
            c.parcels,
            c.rate,
            mib(c.rss),
            c.rss as f64 / c.parcels as f64,
            mib(c.peak_rss),
            c.peak_rss as f64 / c.parcels as f64,
            mib(c.disk),
            c.disk as f64 / c.parcels as f64
        );
    }
    println!(
        "footprint at {n}: peak RSS {:.1} MiB ({:.0} B/parcel; {:.1} MiB with nothing stored), disk {:.1} MiB ({:.0} B/parcel; raw sled {:.0} B/parcel, ratio {:.2}); start to READY {:.2} s (empty store {:.2} s)",
        mib(peak),
        peak as f64 / n as f64,
        mib(empty_rss),
        mib(disk),
        disk as f64 / n as f64,
        sled_disk as f64 / n as f64,
        disk as f64 / sled_disk.max(1) as f64,
        full_ready.as_secs_f64(),
        empty_ready.as_secs_f64()
    );
    if let Err(e) = plot::cost(&json_points, &csv_points, sled_rate, out) {
        eprintln!("plot: {e}");
    }
    results.insert(
        "intake".into(),
        serde_json::json!({
            "parcels": n, "json_batch": 10_000, "csv_rows": 100_000,
            "json_rate": json_rate, "csv_rate": csv_rate, "sled_rate": sled_rate,
            "json_checkpoints": json_points, "csv_checkpoints": csv_points,
        }),
    );
    results.insert(
        "footprint".into(),
        serde_json::json!({
            "parcels": n, "peak_rss": peak, "disk": disk,
            "empty_rss": empty_rss, "sled_disk": sled_disk,
            "ready_after_s": full_ready.as_secs_f64(),
            "ready_after_empty_s": empty_ready.as_secs_f64(),
        }),
    );
    json_rate
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/results");
    std::fs::create_dir_all(&out_dir).expect("results dir");
    let (json_out, svg_out) = if a.tag == "latest" {
        (out_dir.join("latest.json"), out_dir.join("cost.svg"))
    } else {
        (
            out_dir.join(format!("{}.json", a.tag)),
            out_dir.join(format!("{}-cost.svg", a.tag)),
        )
    };
    let work = tempfile::tempdir().expect("temp dir");
    let mut results = serde_json::Map::new();
    results.insert("parcels".into(), a.parcels.into());
    results.insert("machine".into(), machine().into());
    results.insert(
        "command".into(),
        std::env::args()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
            .into(),
    );
    println!("machine: {}", machine());

    rt.block_on(async {
        let n = a.parcels;
        let mut intake_rate = None;
        if wants(&a, "intake") {
            intake_rate = Some(intake_phase(work.path(), n, &svg_out, &mut results).await);
        }
        if wants(&a, "cycle") {
            let estimate = Duration::from_secs_f64(n as f64 / intake_rate.unwrap_or(5_000.0));
            let c = cycle::nightly(&work.path().join("cycle"), n, estimate).await;
            let m = &c.stages_per_million;
            println!(
                "nightly cycle: {:.0} polls, {:.0} messages queued in {:.1} s from the window opening ({} carrier requests); daemon CPU {:.1} s",
                c.polled, c.messages, c.wall_s, c.carrier_requests, c.cpu_s
            );
            println!(
                "  per million parcels: parse {:.1} s, lifecycle {:.1} s, store {:.1} s, outbox {:.1} s, total {:.1} s; CPU {:.1} s",
                m.parse,
                m.lifecycle,
                m.store,
                m.outbox,
                m.total(),
                c.cpu_s * 1e6 / c.polled.max(1.0)
            );
            println!(
                "  peak RSS {:.1} MiB, disk after {:.1} MiB{}",
                mib(c.peak_rss),
                mib(c.disk_after),
                if c.overlapped_intake {
                    " (the window opened before the intake ended)"
                } else {
                    ""
                }
            );
            if let (Some(idle), Some(busy)) = (&c.latency_idle, &c.latency_busy) {
                println!(
                    "  latency idle: p50 {} µs, p99 {} µs ({:.0} req/s, {} errors); during the cycle: p50 {} µs, p99 {} µs ({:.0} req/s, {} errors); p99 ratio {:.2}",
                    idle.p50_us,
                    idle.p99_us,
                    idle.achieved_rate,
                    idle.errors,
                    busy.p50_us,
                    busy.p99_us,
                    busy.achieved_rate,
                    busy.errors,
                    busy.p99_us as f64 / idle.p99_us.max(1) as f64
                );
            }
            results.insert(
                "cycle".into(),
                serde_json::to_value(&c).unwrap_or_default(),
            );
        }
        if wants(&a, "rate") {
            let r =
                cycle::configured_rate(&work.path().join("rate"), a.rate_parcels, a.rate).await;
            println!(
                "configured rate {:.0}/s: {} requests, achieved {:.1}/s ({:.3} of it); at most {} in any second ({:.3}); {:.2} s lost to gaps, the longest {:.0} ms",
                r.configured, r.requests, r.achieved, r.fraction, r.max_in_one_second, r.max_fraction, r.idle_s, r.longest_gap_s * 1e3
            );
            results.insert("rate".into(), serde_json::to_value(&r).unwrap_or_default());
        }
        if wants(&a, "sending") {
            let s = sending::run(&work.path().join("sending"), a.send).await;
            for (name, c) in [("e-mail", s.email), ("SMS", s.sms)] {
                println!(
                    "sending {name}: {} messages, {:.0}/s through the daemon, plain client {:.0}/s, ratio {:.3}; {:.2} ms CPU per message",
                    c.messages,
                    c.daemon_rate,
                    c.plain_rate,
                    c.daemon_rate / c.plain_rate,
                    c.cpu_ms_per_message
                );
            }
            results.insert(
                "sending".into(),
                serde_json::to_value(s).unwrap_or_default(),
            );
        }
        if wants(&a, "webhooks") {
            let h = webhooks::run(&work.path().join("webhooks"), a.hooks).await;
            println!(
                "webhooks: {} events of {} bytes, {:.0}/s through the daemon, plain client {:.0}/s, ratio {:.3}; {:.2} ms CPU per event",
                h.events,
                h.body_bytes,
                h.daemon_rate,
                h.plain_rate,
                h.daemon_rate / h.plain_rate,
                h.cpu_ms_per_event
            );
            results.insert(
                "webhooks".into(),
                serde_json::to_value(h).unwrap_or_default(),
            );
        }
        if wants(&a, "page") {
            let p = page::run(
                &work.path().join("page"),
                a.pages,
                500,
                Duration::from_secs(30),
            )
            .await;
            for (name, l) in [("static /robots.txt", p.static_file), ("tracking page", p.page)] {
                println!(
                    "{name}: {} requests at {:.0}/s, {} errors, {} bytes; p50 {} µs, p99 {} µs",
                    l.requests, l.achieved_rate, l.errors, l.body_bytes, l.p50_us, l.p99_us
                );
            }
            println!(
                "  tracking page of {} parcels against the static file: p50 ratio {:.2}, p99 ratio {:.2}",
                p.parcels,
                p.page.p50_us as f64 / p.static_file.p50_us.max(1) as f64,
                p.page.p99_us as f64 / p.static_file.p99_us.max(1) as f64
            );
            results.insert("page".into(), serde_json::to_value(p).unwrap_or_default());
        }
        if wants(&a, "lanes") {
            let l = lanes::run_both(&work.path().join("lanes"), a.lanes).await;
            let share = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0));
            println!(
                "lanes: {} parcels over {} routes; {} estimates scored: within the range {}, on the most likely day {}, mean absolute error {} days",
                l.parcels,
                l.routes,
                l.with.scored,
                share(l.with.within_share),
                share(l.with.exact_day_share),
                l.with.mean_error_days.map_or_else(|| "-".into(), |e| format!("{e:.2}"))
            );
            for r in [&l.with, &l.without] {
                println!(
                    "  lanes {}: handover {:.0}/s, polls applied {:.0}/s, CPU {:.3} ms and store stage {:.3} ms per poll",
                    if r.lanes { "kept" } else { "off " },
                    r.intake_rate,
                    r.poll_rate,
                    r.cpu_ms_per_poll,
                    r.store_ms_per_poll
                );
            }
            results.insert("lanes".into(), serde_json::to_value(&l).unwrap_or_default());
        }
    });

    let json =
        serde_json::to_string_pretty(&serde_json::Value::Object(results)).unwrap_or_default();
    if let Err(e) = std::fs::write(&json_out, json) {
        eprintln!("cannot write results: {e}");
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {:.0} GiB, Linux {}",
        mem as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}
