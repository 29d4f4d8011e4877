//! Sending: the outbox filled with one "accepted" SMS and e-mail for each of `n` parcels (a
//! first poll of the fake Russian Post's single access, with both channels off; the sandbox
//! carrier's messages would go to the files whatever the transport), then the daemon restarted
//! with one channel on: e-mail through SMTP to the counting sink, then SMS through SMS.ru's protocol to the
//! gateway fake. Messages per second from READY to the last message the sink counted, against
//! the sink's own capacity measured by a plain client in the same run.

use crate::daemon::{self, Daemon, NO_CHANNELS};
use crate::fake_post::FakePost;
use crate::intake::{self, Via};
use crate::sinks::{self, SmsGateway, SmtpSink};
use parceld::api::dto::PollRequest;
use std::path::Path;
use std::time::{Duration, Instant};

/// One channel's figures.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ChannelResult {
    /// Messages sent.
    pub messages: usize,
    /// Through the daemon, messages per second.
    pub daemon_rate: f64,
    /// A plain client against the same sink, messages per second.
    pub plain_rate: f64,
    /// Daemon CPU time per message, milliseconds.
    pub cpu_ms_per_message: f64,
}

/// The sending figures.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SendResult {
    /// E-mail through SMTP.
    pub email: ChannelResult,
    /// SMS through SMS.ru's protocol.
    pub sms: ChannelResult,
    /// Average e-mail size, bytes.
    pub email_bytes: u64,
}

fn channels(email: Option<&SmtpSink>, sms: Option<(&SmsGateway, &Path)>) -> String {
    let mut c = String::new();
    match email {
        Some(s) => c.push_str(&format!(
            "[email]\ntransport = \"smtp\"\nrate = \"1000000/s\"\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
            s.port
        )),
        None => c.push_str("[email]\nenabled = false\n"),
    }
    match sms {
        Some((g, dir)) => {
            let key = dir.join("smsru.key");
            std::fs::write(&key, "bench\n").expect("key file");
            c.push_str(&format!(
                "[sms]\ntransport = \"smsru\"\nrate = \"1000000/s\"\nstatus_every = \"1h\"\n[sms.smsru]\nurl = \"{}\"\napi_id_file = \"{}\"\nrate = \"1000000/s\"\n",
                g.url,
                key.display()
            ));
        }
        None => c.push_str("[sms]\nenabled = false\n"),
    }
    c
}

async fn wait_count(what: &str, n: usize, count: impl Fn() -> u64) -> Duration {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(3600);
    while count() < n as u64 {
        if Instant::now() > deadline {
            eprintln!("sending: {what}: only {} of {n} arrived", count());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// Fills the outbox with `n` SMS and `n` e-mails, then sends each channel on its own.
pub async fn run(dir: &Path, n: usize) -> SendResult {
    let fake = FakePost::start(2);
    // Polled only when asked: every parcel once, then never again.
    let carrier = daemon::russian_post(
        dir,
        &fake.base,
        false,
        "1000000/s",
        &daemon::closed_window(),
    );
    let mut d = Daemon::start(
        dir,
        &daemon::config(dir, &format!("{carrier}{NO_CHANNELS}")),
    );
    d.create_bench_shop().await;
    intake::through_daemon(&d, n, Via::Json(10_000), intake::parcel, &[]).await;
    let s = d
        .socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await
        .expect("poll");
    println!(
        "sending: {} parcels polled, {} messages queued",
        s.polled, s.messages
    );
    d.stop();

    let sink = SmtpSink::start();
    let d = Daemon::start(
        dir,
        &daemon::config(dir, &format!("{carrier}{}", channels(Some(&sink), None))),
    );
    let cpu = d.cpu_seconds();
    let took = wait_count("e-mail", n, || sink.count()).await + d.ready_after;
    let email_cpu = d.cpu_seconds() - cpu;
    let mut d = d;
    d.stop();
    let sent = sink.count() as usize;
    let email_bytes = sink.bytes() / sink.count().max(1);
    let plain = sinks::plain_smtp(sink.port, n, email_bytes as usize).await;
    let email = ChannelResult {
        messages: sent,
        daemon_rate: sent as f64 / took.as_secs_f64(),
        plain_rate: n as f64 / plain.as_secs_f64(),
        cpu_ms_per_message: email_cpu * 1000.0 / sent.max(1) as f64,
    };

    let gateway = SmsGateway::start(2);
    let d = Daemon::start(
        dir,
        &daemon::config(
            dir,
            &format!("{carrier}{}", channels(None, Some((&gateway, dir)))),
        ),
    );
    let cpu = d.cpu_seconds();
    let took = wait_count("SMS", n, || gateway.count()).await + d.ready_after;
    let sms_cpu = d.cpu_seconds() - cpu;
    let sent = gateway.count() as usize;
    d.remove();
    let before = gateway.count();
    let plain = sinks::plain_sms(&gateway.url, n).await;
    assert_eq!(gateway.count() - before, n as u64);
    let sms = ChannelResult {
        messages: sent,
        daemon_rate: sent as f64 / took.as_secs_f64(),
        plain_rate: n as f64 / plain.as_secs_f64(),
        cpu_ms_per_message: sms_cpu * 1000.0 / sent.max(1) as f64,
    };
    SendResult {
        email,
        sms,
        email_bytes,
    }
}
