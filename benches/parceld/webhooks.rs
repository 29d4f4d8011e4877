//! Webhooks: `n` parcels handed over with the webhook sender off (each queues one
//! `parcel.created` event for the shop's endpoint, in its own parcel's lane), then the daemon
//! restarted with it on: events per second from READY to the last one the receiver counted,
//! each claimed, signed, posted over HTTP to a counting receiver on loopback and recorded.
//! Against a plain client posting the same bodies to the same receiver with as many requests
//! in flight, in the same run.

use crate::daemon::{self, Daemon, NO_CHANNELS};
use crate::intake::{self, SHOP, Via};
use crate::server::{self, Server};
use crate::sinks::CONCURRENCY;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use parceld::api::dto::WebhookIn;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookResult {
    /// Events delivered.
    pub events: usize,
    /// Through the daemon, events per second.
    pub daemon_rate: f64,
    /// A plain client posting the same bodies, per second.
    pub plain_rate: f64,
    /// Daemon CPU time per event, milliseconds.
    pub cpu_ms_per_event: f64,
    /// Average body size, bytes.
    pub body_bytes: u64,
}

#[derive(Default)]
struct Counter {
    hits: AtomicU64,
    bytes: AtomicU64,
    sample: Mutex<Option<String>>,
}

async fn hook(state: web::Data<Arc<Counter>>, body: web::Bytes) -> HttpResponse {
    state.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    if state.hits.fetch_add(1, Ordering::Relaxed) == 0
        && let Ok(mut s) = state.sample.lock()
    {
        *s = Some(String::from_utf8_lossy(&body).into_owned());
    }
    HttpResponse::Ok().finish()
}

fn hooks_config(enabled: bool) -> String {
    format!(
        "[webhooks]\nenabled = {enabled}\nconcurrency = {CONCURRENCY}\nallow_http = [\"127.0.0.1\"]\nallow_addresses = [\"127.0.0.0/8\"]\n"
    )
}

async fn wait_count(n: usize, count: impl Fn() -> u64) -> Duration {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(3600);
    while count() < n as u64 {
        if Instant::now() > deadline {
            eprintln!("webhooks: only {} of {n} arrived", count());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// Queues `n` events, then delivers them; then the plain client.
pub async fn run(dir: &Path, n: usize) -> HookResult {
    let counter = Arc::new(Counter::default());
    let c = counter.clone();
    let receiver = Server::serve(server::free_port(), 2, move |cfg| {
        cfg.app_data(web::Data::new(c.clone()))
            .route("/hook", web::post().to(hook));
    });
    let url = format!("{}/hook", receiver.base);
    // Russian Post parcels polled in a window hours away: nothing but the intake happens.
    let carrier = daemon::russian_post(
        dir,
        "http://127.0.0.1:9",
        true,
        "1/s",
        &daemon::closed_window(),
    );
    let base = format!("{carrier}{NO_CHANNELS}");

    let mut d = Daemon::start(
        dir,
        &daemon::config(dir, &format!("{base}{}", hooks_config(true))),
    );
    d.create_bench_shop().await;
    d.socket
        .add_webhook(
            SHOP,
            &WebhookIn {
                url: url.clone(),
                events: Some(vec!["parcel.created".into()]),
            },
        )
        .await
        .expect("register the receiver");
    d.stop();
    let mut d = Daemon::start(
        dir,
        &daemon::config(dir, &format!("{base}{}", hooks_config(false))),
    );
    intake::through_daemon(&d, n, Via::Json(10_000), intake::parcel, &[]).await;
    d.stop();

    let d = Daemon::start(
        dir,
        &daemon::config(dir, &format!("{base}{}", hooks_config(true))),
    );
    let cpu = d.cpu_seconds();
    let took = wait_count(n, || counter.hits.load(Ordering::Relaxed)).await + d.ready_after;
    let daemon_cpu = d.cpu_seconds() - cpu;
    let events = counter.hits.load(Ordering::Relaxed) as usize;
    d.remove();
    let body_bytes = counter.bytes.load(Ordering::Relaxed) / (events.max(1) as u64);
    let sample = counter
        .sample
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_else(|| "{}".into());

    // The plain client: the same body, signed the same way, with as many requests in flight.
    let http = reqwest::Client::new();
    let started = Instant::now();
    let ok: usize = futures_util::stream::iter(0..n)
        .map(|_| {
            let (http, url, body) = (&http, &url, &sample);
            async move {
                let t = jiff::Timestamp::now().as_second();
                let sig = parceld::domain::webhook::signature::header(
                    &["whsec_bench"],
                    t,
                    body.as_bytes(),
                );
                let r = http
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("Parceld-Signature", sig)
                    .body(body.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) => usize::from(r.bytes().await.is_ok()),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |a, b| async move { a + b })
        .await;
    let plain = started.elapsed();
    assert_eq!(ok, n, "the plain client posted every event");
    HookResult {
        events,
        daemon_rate: events as f64 / took.as_secs_f64(),
        plain_rate: n as f64 / plain.as_secs_f64(),
        cpu_ms_per_event: daemon_cpu * 1000.0 / events.max(1) as f64,
        body_bytes,
    }
}
