//! parceld's benchmark suite: how much one box carries, each figure beside a baseline measured
//! in the same run on the same machine, so the ratio holds on a noisy machine.
//!
//! `cargo bench --bench parceld -- [--parcels N] [--only intake,footprint,latency]`
//! (default: one million parcels). Results go to `benches/results/latest.json`, a table on
//! stdout, and the plot `benches/results/cost.svg`.

mod daemon;
mod intake;
mod latency;
mod plot;

use daemon::Daemon;
use parceld::api::dto::{CreateShop, PollRequest};
use std::path::PathBuf;
use std::time::Duration;

struct Args {
    parcels: usize,
    only: Vec<String>,
}

fn args() -> Args {
    let mut a = Args {
        parcels: 1_000_000,
        only: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--parcels" => a.parcels = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.parcels),
            "--only" => {
                a.only = it
                    .next()
                    .map(|v| v.split(',').map(str::to_string).collect())
                    .unwrap_or_default()
            }
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

/// A polling window that stays closed for the next hours, so intake is measured alone.
fn closed_window() -> String {
    let h = (jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/Moscow").unwrap_or(jiff::tz::TimeZone::UTC))
        .hour()
        + 12)
        % 24;
    format!("{h:02}:00-{h:02}:01")
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
    let work = tempfile::tempdir().expect("temp dir");
    let mut results = serde_json::Map::new();
    results.insert("parcels".into(), a.parcels.into());
    results.insert("machine".into(), machine().into());

    rt.block_on(async {
        let n = a.parcels;
        let extra = format!(
            "[carriers.sandbox]\nrate = \"1000/s\"\nconcurrency = 4\nbatch_size = 100\nwindow = \"{}\"\npoll_every = \"1d\"\n",
            closed_window()
        );
        let mut d = Daemon::start(&work.path().join("daemon"), &daemon::config(&work.path().join("daemon"), &extra));
        d.socket
            .create_shop(&CreateShop { id: "bench".into(), name: "Bench".into(), ..CreateShop::default() })
            .await
            .expect("shop");

        if wants(&a, "intake") || wants(&a, "footprint") || wants(&a, "latency") {
            let marks: Vec<usize> = [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000]
                .into_iter()
                .filter(|&m| m < n)
                .collect();
            let (took, checkpoints) = intake::through_daemon(&d, n, 10_000, &marks).await;
            let daemon_rate = n as f64 / took.as_secs_f64();
            let sled_dir = work.path().join("raw-sled");
            let sled_took = intake::raw_sled(&sled_dir, n, 64 * 1024 * 1024);
            let sled_rate = n as f64 / sled_took.as_secs_f64();
            let _ = std::fs::remove_dir_all(&sled_dir);
            println!("intake: {n} parcels in {:.1} s: {daemon_rate:.0}/s through the socket, raw sled {sled_rate:.0}/s, ratio {:.2}", took.as_secs_f64(), daemon_rate / sled_rate);
            for c in &checkpoints {
                println!("  at {:>9} parcels: {:>8.0}/s, RSS {:>7.1} MiB ({:.0} B/parcel), disk {:>8.1} MiB ({:.0} B/parcel)", c.parcels, c.rate, mib(c.rss), c.rss as f64 / c.parcels as f64, mib(c.disk), c.disk as f64 / c.parcels as f64);
            }
            if let Err(e) = plot::cost(&checkpoints, sled_rate, &out_dir.join("cost.svg")) {
                eprintln!("plot: {e}");
            }
            results.insert(
                "intake".into(),
                serde_json::to_value(intake::IntakeResult { parcels: n, batch: 10_000, daemon_rate, sled_rate, checkpoints: checkpoints.clone() }).unwrap_or_default(),
            );

            let peak = d.peak_rss();
            let disk = d.disk_bytes();
            d.stop();
            let restarted = Daemon::start(&work.path().join("daemon"), &std::fs::read_to_string(work.path().join("daemon/parceld.toml")).unwrap_or_default());
            println!(
                "footprint at {n}: peak RSS {:.1} MiB ({:.0} B/parcel), disk {:.1} MiB ({:.0} B/parcel), start to READY {:.2} s (empty store: {:.2} s)",
                mib(peak), peak as f64 / n as f64, mib(disk), disk as f64 / n as f64, restarted.ready_after.as_secs_f64(), d.ready_after.as_secs_f64()
            );
            results.insert(
                "footprint".into(),
                serde_json::json!({
                    "parcels": n, "peak_rss": peak, "disk": disk,
                    "ready_after_s": restarted.ready_after.as_secs_f64(),
                    "ready_after_empty_s": d.ready_after.as_secs_f64(),
                }),
            );
            d = restarted;
        }

        if wants(&a, "latency") {
            let idle = latency::lookups(&d, n, 1000, Duration::from_secs(20)).await;
            let socket = d.socket.clone();
            let cycle = tokio::spawn(async move { socket.poll(&PollRequest { shop: None, all: true }).await });
            let busy = latency::lookups(&d, n, 1000, Duration::from_secs(20)).await;
            let summary = cycle.await.ok().and_then(Result::ok);
            println!("latency idle: p50 {} µs, p99 {} µs ({:.0} req/s, {} errors)", idle.p50_us, idle.p99_us, idle.achieved_rate, idle.errors);
            println!("latency during a polling cycle: p50 {} µs, p99 {} µs ({:.0} req/s, {} errors); p99 ratio busy/idle {:.2}", busy.p50_us, busy.p99_us, busy.achieved_rate, busy.errors, busy.p99_us as f64 / idle.p99_us.max(1) as f64);
            if let Some(s) = summary {
                println!("  the polling cycle: {} polled, {} changed", s.polled, s.changed);
            }
            results.insert("latency".into(), serde_json::json!({ "idle": idle, "busy": busy }));
        }
    });

    let json =
        serde_json::to_string_pretty(&serde_json::Value::Object(results)).unwrap_or_default();
    if let Err(e) = std::fs::write(out_dir.join("latest.json"), json) {
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
    format!(
        "{cpu}, {cores} cores, {:.0} GiB",
        mem as f64 / 1024.0 / 1024.0
    )
}
