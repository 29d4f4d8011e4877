//! Lanes: how good the expected arrivals are, measured on a generated history whose lanes have
//! known distributions, and what keeping lanes costs.
//!
//! Six routes, each with its own journey time (a near-normal spread around its own mean, one of
//! them with a slow tail). A fake Russian Post single access answers each number from its
//! journey: the *finished* parcels (half of them) with their whole history, which fills the
//! lanes as the answers are applied; the *new* parcels first with their acceptance only (they
//! get an estimate, kept to be scored), then with their arrival (the estimate is scored). The
//! stats API gives the share of arrivals within the range and the mean absolute error.
//!
//! The same run is made twice, with `[lanes] enabled = true` and `false`: the handover and both
//! polling rounds are timed in each, with the daemon's CPU time and its poll stage times.

use crate::daemon::{self, Daemon, NO_CHANNELS};
use crate::intake::SHOP;
use crate::prom::Snapshot;
use crate::server::{self, Server};
use actix_web::{HttpResponse, web};
use jiff::{SignedDuration, Timestamp};
use parceld::api::dto::{CustomerIn, Field, ParcelIn, PollRequest};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A route and its journey time: mean and spread in hours, and a share of journeys that take
/// `tail_h` longer.
struct Route {
    from: &'static str,
    from_name: &'static str,
    to: &'static str,
    to_name: &'static str,
    region: &'static str,
    mean_h: f64,
    sd_h: f64,
    tail_share: f64,
    tail_h: f64,
}

const ROUTES: [Route; 6] = [
    Route {
        from: "101000",
        from_name: "Москва 101000",
        to: "630099",
        to_name: "Новосибирск 630099",
        region: "630960",
        mean_h: 96.0,
        sd_h: 10.0,
        tail_share: 0.0,
        tail_h: 0.0,
    },
    Route {
        from: "101000",
        from_name: "Москва 101000",
        to: "690091",
        to_name: "Владивосток 690091",
        region: "690960",
        mean_h: 192.0,
        sd_h: 24.0,
        tail_share: 0.0,
        tail_h: 0.0,
    },
    Route {
        from: "190000",
        from_name: "Санкт-Петербург 190000",
        to: "630099",
        to_name: "Новосибирск 630099",
        region: "630960",
        mean_h: 120.0,
        sd_h: 16.0,
        tail_share: 0.0,
        tail_h: 0.0,
    },
    Route {
        from: "190000",
        from_name: "Санкт-Петербург 190000",
        to: "420111",
        to_name: "Казань 420111",
        region: "420960",
        mean_h: 48.0,
        sd_h: 6.0,
        tail_share: 0.0,
        tail_h: 0.0,
    },
    Route {
        from: "420000",
        from_name: "Казань 420000",
        to: "690091",
        to_name: "Владивосток 690091",
        region: "690960",
        mean_h: 168.0,
        sd_h: 30.0,
        tail_share: 0.0,
        tail_h: 0.0,
    },
    Route {
        from: "620000",
        from_name: "Екатеринбург 620000",
        to: "630099",
        to_name: "Новосибирск 630099",
        region: "630960",
        mean_h: 60.0,
        sd_h: 12.0,
        tail_share: 0.05,
        tail_h: 72.0,
    },
];

/// One generated journey.
#[derive(Clone)]
struct Journey {
    route: usize,
    accepted: Timestamp,
    in_region: Timestamp,
    arrived: Timestamp,
    /// Finished before the run: its whole history from the first answer.
    finished: bool,
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// About normal: the sum of four uniforms, scaled to unit variance.
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.next()).sum::<f64>() - 2.0) * 3.0_f64.sqrt()
    }
}

fn hours(h: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(h * 3600.0)
}

/// `n` journeys, half finished long ago and half arriving within the last half day; `i`-th
/// on route `i % 6`.
fn journeys(n: usize, now: Timestamp) -> Vec<Journey> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let r = &ROUTES[i % ROUTES.len()];
            let mut took = (r.mean_h + r.sd_h * rng.normal()).max(6.0);
            if rng.next() < r.tail_share {
                took += r.tail_h;
            }
            let finished = i < n / 2;
            let arrived = if finished {
                now - hours(24.0 * 20.0 + rng.next() * 24.0 * 10.0)
            } else {
                now - hours(1.0 + rng.next() * 12.0)
            };
            let accepted = arrived - hours(took);
            let in_region = arrived - hours(took * (0.1 + 0.2 * rng.next()));
            Journey {
                route: i % ROUTES.len(),
                accepted,
                in_region,
                arrived,
                finished,
            }
        })
        .collect()
}

fn track(i: usize) -> String {
    crate::fake_post::track(700_000_000 + i)
}

fn record(
    out: &mut String,
    barcode: &str,
    dest: (&str, &str),
    op: (u32, u32, &str),
    at: Timestamp,
    place: (&str, &str),
) {
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::offset(3));
    let date = at.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%.3f%:z");
    let _ = write!(
        out,
        "<ns3:historyRecord><ns3:AddressParameters><ns3:DestinationAddress><ns3:Index>{}</ns3:Index><ns3:Description>{}</ns3:Description></ns3:DestinationAddress>\
<ns3:OperationAddress><ns3:Index>{}</ns3:Index><ns3:Description>{}</ns3:Description></ns3:OperationAddress></ns3:AddressParameters>\
<ns3:ItemParameters><ns3:Barcode>{barcode}</ns3:Barcode><ns3:MailType><ns3:Id>4</ns3:Id><ns3:Name>Посылка</ns3:Name></ns3:MailType></ns3:ItemParameters>\
<ns3:OperationParameters><ns3:OperType><ns3:Id>{}</ns3:Id><ns3:Name>{}</ns3:Name></ns3:OperType><ns3:OperAttr><ns3:Id>{}</ns3:Id><ns3:Name>{}</ns3:Name></ns3:OperAttr>\
<ns3:OperDate>{date}</ns3:OperDate></ns3:OperationParameters></ns3:historyRecord>",
        dest.0, dest.1, place.0, place.1, op.0, op.2, op.1, op.2
    );
}

/// The history of `j` as the service writes it: everything when `whole`, the acceptance only
/// otherwise.
fn history(barcode: &str, j: &Journey, whole: bool) -> String {
    let r = &ROUTES[j.route];
    let dest = (r.to, r.to_name);
    let mut records = String::with_capacity(2000);
    record(
        &mut records,
        barcode,
        dest,
        (1, 1, "Приём"),
        j.accepted,
        (r.from, r.from_name),
    );
    if whole {
        record(
            &mut records,
            barcode,
            dest,
            (8, 3, "Прибыло в сортировочный центр"),
            j.in_region,
            (r.region, "Сортировочный центр"),
        );
        record(
            &mut records,
            barcode,
            dest,
            (8, 2, "Прибыло в место вручения"),
            j.arrived,
            (r.to, r.to_name),
        );
    }
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S=\"http://www.w3.org/2003/05/soap-envelope\"><S:Body>\
<ns7:getOperationHistoryResponse xmlns:ns3=\"http://russianpost.org/operationhistory/data\" xmlns:ns7=\"http://russianpost.org/operationhistory\"><ns3:OperationHistoryData>{records}</ns3:OperationHistoryData>\
</ns7:getOperationHistoryResponse></S:Body></S:Envelope>"
    )
}

struct State {
    journeys: HashMap<String, Journey>,
    asked: Mutex<HashMap<String, u32>>,
    answered: AtomicU64,
}

async fn rtm34(body: web::Bytes, state: web::Data<Arc<State>>) -> HttpResponse {
    let text = String::from_utf8_lossy(&body);
    let barcode = text
        .split("Barcode>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap_or_default()
        .trim()
        .to_string();
    let Some(j) = state.journeys.get(&barcode) else {
        return HttpResponse::NotFound().finish();
    };
    let n = {
        let mut asked = state.asked.lock().unwrap();
        let n = asked.entry(barcode.clone()).or_default();
        *n += 1;
        *n
    };
    state.answered.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok()
        .content_type("application/soap+xml;charset=utf-8")
        .body(history(&barcode, j, j.finished || n > 1))
}

/// One run's figures.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Run {
    /// Lanes kept.
    pub lanes: bool,
    /// Parcels handed over per second.
    pub intake_rate: f64,
    /// Polls applied per second, over both rounds.
    pub poll_rate: f64,
    /// Daemon CPU time per poll applied, milliseconds.
    pub cpu_ms_per_poll: f64,
    /// Store stage time per poll applied (the transaction where lanes are kept), milliseconds.
    pub store_ms_per_poll: f64,
    /// Estimates scored.
    pub scored: u64,
    /// Share of arrivals whose day fell within the range.
    pub within_share: Option<f64>,
    /// Mean absolute error of the most likely day, days.
    pub mean_error_days: Option<f64>,
    /// Share of arrivals within the range of a single most likely day (the day itself).
    pub exact_day_share: Option<f64>,
}

/// What the phase measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LanesResult {
    /// Parcels: half finished (filling the lanes), half new (scored).
    pub parcels: usize,
    /// Routes.
    pub routes: usize,
    /// With lanes.
    pub with: Run,
    /// Without.
    pub without: Run,
}

async fn poll_round(d: &Daemon, state: &State, until: u64) {
    d.socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await
        .expect("poll");
    let deadline = Instant::now() + Duration::from_secs(1800);
    while state.answered.load(Ordering::Relaxed) < until && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(dir: &Path, n: usize, lanes: bool) -> Run {
    let now = Timestamp::now();
    let js = journeys(n, now);
    let state = Arc::new(State {
        journeys: js
            .iter()
            .enumerate()
            .map(|(i, j)| (track(i), j.clone()))
            .collect(),
        asked: Mutex::default(),
        answered: AtomicU64::new(0),
    });
    let s = state.clone();
    let server: Server = Server::serve(server::free_port(), 2, move |cfg| {
        cfg.app_data(web::Data::new(s.clone()))
            .route("/rtm34", web::post().to(rtm34));
    });
    let extra = format!(
        "{}{NO_CHANNELS}[lanes]\nenabled = {lanes}\nmin_samples = 20\n",
        daemon::russian_post(
            dir,
            &server.base,
            false,
            "100000/s",
            &daemon::closed_window()
        )
    );
    let d = Daemon::start(dir, &daemon::config(dir, &extra));
    d.create_bench_shop().await;

    // The finished half first, then the new half: the lanes are full before the new parcels'
    // first answer.
    let parcel = |i: usize| ParcelIn {
        track: track(i),
        order_id: format!("L-{i}").into(),
        customer: CustomerIn {
            name: "Иванов Иван Иванович".into(),
            phone: format!(
                "+7 912 {:03}-{:02}-{:02}",
                i / 10_000 % 1000,
                i / 100 % 100,
                i % 100
            )
            .into(),
            email: Field::Absent,
        }
        .into(),
        cod_amount: Field::Absent,
        contents: Field::Absent,
        carrier: None,
        storage_days: Field::Absent,
    };
    let half = n / 2;
    let mut intake = Duration::ZERO;
    let mut polling = Duration::ZERO;
    let before = Snapshot::of(&d).await;
    let cpu_before = d.cpu_seconds();
    let mut answered = 0;
    for (range, rounds) in [(0..half, 1), (half..n, 2)] {
        let started = Instant::now();
        let items: Vec<ParcelIn> = range.clone().map(parcel).collect();
        for chunk in items.chunks(10_000) {
            d.socket.add_parcels(SHOP, chunk).await.expect("handover");
        }
        intake += started.elapsed();
        for _ in 0..rounds {
            // Every live parcel is asked each round: the finished ones too.
            answered += range.end as u64;
            let started = Instant::now();
            poll_round(&d, &state, answered).await;
            polling += started.elapsed();
        }
    }
    let cpu = d.cpu_seconds() - cpu_before;
    let after = Snapshot::of(&d).await;
    let polls = answered as f64;
    let store_s = after.sum("parceld_poll_stage_seconds_sum", &[("stage", "store")])
        - before.sum("parceld_poll_stage_seconds_sum", &[("stage", "store")]);
    let stats = d.socket.stats(Some(SHOP), None, None).await.expect("stats");
    let e = stats
        .estimates
        .get("russian_post")
        .copied()
        .unwrap_or_default();
    d.remove();
    drop(server);
    Run {
        lanes,
        intake_rate: n as f64 / intake.as_secs_f64(),
        poll_rate: polls / polling.as_secs_f64(),
        cpu_ms_per_poll: cpu * 1e3 / polls,
        store_ms_per_poll: store_s * 1e3 / polls,
        scored: e.scored,
        within_share: e.within_share,
        mean_error_days: e.mean_error_days,
        exact_day_share: e.exact_day_share,
    }
}

/// Runs the phase over `n` parcels (half of them filling the lanes).
pub async fn run_both(dir: &Path, n: usize) -> LanesResult {
    let with = run(&dir.join("with"), n, true).await;
    let without = run(&dir.join("without"), n, false).await;
    LanesResult {
        parcels: n,
        routes: ROUTES.len(),
        with,
        without,
    }
}
