//! Sent once, through crashes: the daemon is killed with SIGKILL at seeded points while a few
//! hundred notifications go out through the fake gateways (SMS.ru for one shop, SMSC.ru for the
//! other) and a real SMTP server, restarted each time, and at the end every due message has
//! arrived, and any message that arrived twice is one the daemon itself marked as a doubtful
//! resend (the crash window: provider accepted, receipt not yet written). SMSC.ru closes that
//! window (messages are looked up by their client id), so it gets none.
//!
//! A fault point also crashes the daemon exactly inside the window, for each gateway.
//!
//! The parcels are Russian Post's (the fake): the sandbox carrier's messages never reach the
//! gateways or SMTP.

use crate::fakes::russian_post::FakeRussianPost;
use crate::fakes::sms_gateway::{Gateway, copies};
use crate::fakes::smtp::{self, SmtpSink};
use crate::harness::{Daemon, set, wait_for, walk_all};
use crate::notify_support::{journey, notification, parcel_to, poll_all, rp_track, wait_idle};
use parceld::api::dto::{NotificationView, PatchShop};
use std::collections::HashMap;
use std::time::Duration;

/// A small deterministic generator, so a failing run can be replayed (`PARCELD_CRASH_SEED`).
struct Rng(u64);

impl Rng {
    fn next(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo + 1)
    }
}

/// Russian Post (the fake, polled quickly), both SMS gateways (SMS.ru the default) and SMTP, at
/// rates that spread the sending out.
fn config(
    c: &str,
    post: &FakeRussianPost,
    gw: &Gateway,
    sink: &SmtpSink,
    secrets: &std::path::Path,
) -> String {
    let c = post.config(
        sink.config(c),
        &[("rate", "\"200/s\""), ("concurrency", "4")],
    );
    let c = set(&c, "sms", "transport", "\"smsru\"");
    let c = gw.smsru_config(&c, secrets);
    let c = gw.smsc_config(&c, secrets);
    let c = set(&c, "sms", "rate", "\"60/s\"");
    let c = set(&c, "sms.smsru", "rate", "\"60/s\"");
    let c = set(&c, "sms.smsc", "rate", "\"60/s\"");
    let c = set(&c, "email", "rate", "\"60/s\"");
    let c = set(&c, "notify", "concurrency", "4");
    set(&c, "daemon", "shutdown_timeout", "\"2s\"")
}

async fn setup_shops(d: &Daemon) {
    d.create_shop("acme").await;
    d.create_shop("books").await;
    d.socket
        .patch_shop(
            "books",
            &PatchShop {
                sms_provider: Some("smsc".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
}

fn phone(shop: usize, i: usize) -> String {
    format!("+7912{shop}{i:06}")
}

/// The track number of a shop's `i`th parcel: each its own, so that the fake plays each
/// journey once.
fn track(shop: usize, i: usize) -> String {
    rp_track((shop * 1000 + i) as u32)
}

#[tokio::test]
async fn sigkill_while_sending_loses_nothing_and_repeats_only_doubtful_resends() {
    const PER_SHOP: usize = 50;
    const KILLS: usize = 8;
    let seed = std::env::var("PARCELD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2027_u64);
    let mut rng = Rng(seed);
    let gw = Gateway::start();
    let sink = SmtpSink::start();
    let post = FakeRussianPost::start();
    for s in 0..2 {
        for i in 0..PER_SHOP {
            post.journey(&track(s, i), journey::ARRIVED);
        }
    }
    let secrets = tempfile::tempdir().unwrap();
    let mut d = Daemon::start_with(|c| config(&c, &post, &gw, &sink, secrets.path())).await;
    setup_shops(&d).await;
    for (s, shop) in ["acme", "books"].iter().enumerate() {
        let parcels: Vec<_> = (0..PER_SHOP)
            .map(|i| {
                parcel_to(
                    &track(s, i),
                    &format!("{shop}-{i}"),
                    &phone(s, i),
                    Some(&format!("c{i}@{shop}.example.ru")),
                )
            })
            .collect();
        d.socket.add_parcels(shop, &parcels).await.unwrap();
    }
    // The carrier's first answers are in before the first kill: a carrier answer lost in a kill
    // would make the next one (at the office) the first the daemon hears, with no "accepted".
    wait_for(Duration::from_secs(30), "every first poll", async || {
        for shop in ["acme", "books"] {
            let l = d
                .socket
                .list(shop, &[("status", "registered".into())])
                .await
                .ok()?;
            if !l.parcels.is_empty() {
                return None;
            }
        }
        Some(())
    })
    .await;
    let expected = 2 * PER_SHOP * 4;
    let arrived = || gw.sent().len() + sink.received().len();
    let mut kills = 0;
    for round in 0..KILLS {
        // Keep the journeys going: "in transit", then "arrived" (a second message each).
        if round < 2 {
            poll_all(&d).await;
        }
        let target = arrived() + rng.next(5, 40) as usize;
        let reached = wait_for(Duration::from_secs(60), "messages to flow", async || {
            let n = arrived();
            if n >= target {
                return Some(true);
            }
            let h = d.socket.health().await.ok()?;
            let idle = h
                .channels
                .values()
                .all(|c| c.pending == 0 && c.sending == 0);
            if idle && n >= expected {
                return Some(false);
            }
            if idle {
                // A poll that a kill interrupted leaves some journeys a step behind.
                poll_all(&d).await;
            }
            None
        })
        .await;
        if !reached {
            break;
        }
        d.kill9();
        kills += 1;
        d.spawn().await;
    }
    // Finish: every parcel at the office, every message out.
    walk_all(
        &d,
        &["acme", "books"],
        2 * PER_SHOP,
        Duration::from_secs(60),
    )
    .await;
    wait_idle(&d, Duration::from_secs(120)).await;

    // Every due message arrived.
    let sms = copies(&gw.sent());
    for s in 0..2 {
        for i in 0..PER_SHOP {
            let texts = sms.keys().filter(|(p, _)| p == &phone(s, i)[1..]).count();
            assert_eq!(texts, 2, "parcel {s}/{i}: accepted and arrived SMS");
        }
    }
    let mails = smtp::copies(&sink.received());
    assert_eq!(
        mails.len(),
        2 * PER_SHOP * 2,
        "accepted and arrived e-mails"
    );

    // Copies beyond the first, and the doubtful resends the daemon recorded.
    let mut doubtful: HashMap<(String, String, String, String), u32> = HashMap::new();
    for shop in ["acme", "books"] {
        for i in 0..PER_SHOP {
            let s = usize::from(shop == "books");
            let p = d.socket.parcel(shop, &track(s, i)).await.unwrap();
            assert!(
                p.notifications.iter().all(|n| n.state == "sent"),
                "{shop}/{i}: {:?}",
                p.notifications
            );
            for n in &p.notifications {
                doubtful.insert(
                    (
                        shop.to_string(),
                        p.track.clone(),
                        n.kind.clone(),
                        n.channel.clone(),
                    ),
                    n.doubtful_resends,
                );
            }
        }
    }
    let kind_of = |text: &str| {
        if text.contains("ждёт") {
            "arrived"
        } else {
            "accepted"
        }
    };
    let mut extra_sms = HashMap::from([("smsru", 0), ("smsc", 0)]);
    for ((p, text), n) in &sms {
        if *n < 2 {
            continue;
        }
        let s = usize::from(p.as_bytes()[4] == b'1');
        let i: usize = p[5..].parse().unwrap();
        let shop = ["acme", "books"][s];
        let key = (
            shop.to_string(),
            track(s, i),
            kind_of(text).to_string(),
            "sms".to_string(),
        );
        assert!(
            doubtful.get(&key).copied().unwrap_or(0) >= 1,
            "{key:?} arrived {n} times but was not a doubtful resend"
        );
        *extra_sms
            .entry(if s == 0 { "smsru" } else { "smsc" })
            .or_default() += n - 1;
    }
    let mut extra_mail = 0;
    for (id, n) in &mails {
        if *n < 2 {
            continue;
        }
        let mut parts = id.split('-');
        let shop = parts.next().unwrap().to_string();
        let t = parts.next().unwrap().to_string();
        let kind = if id.contains("-arrived-1-") {
            "arrived"
        } else {
            "accepted"
        };
        let key = (shop, t, kind.to_string(), "email".to_string());
        assert!(
            doubtful.get(&key).copied().unwrap_or(0) >= 1,
            "{key:?} arrived {n} times but was not a doubtful resend"
        );
        extra_mail += n - 1;
    }
    assert_eq!(
        extra_sms["smsc"], 0,
        "SMSC.ru is asked before a resend: no duplicates"
    );
    let recorded: u32 = doubtful.values().sum();
    let extra = extra_sms["smsru"] + extra_mail;
    assert!(
        extra <= recorded as usize,
        "{extra} duplicates, {recorded} doubtful resends"
    );
    assert!(
        kills >= 3,
        "the kills landed while messages were flowing ({kills})"
    );
    println!(
        "crash test (seed {seed:#x}): {kills} SIGKILLs, {expected} messages due, all arrived; \
         duplicates: SMS.ru {}, SMSC.ru {}, e-mail {extra_mail}; doubtful resends recorded: {recorded}",
        extra_sms["smsru"], extra_sms["smsc"]
    );
}

async fn one_sms(d: &Daemon, shop: &str, track: &str) -> NotificationView {
    let what = format!("{shop} {track} SMS sent");
    wait_for(Duration::from_secs(30), &what, async || {
        notification(d, shop, track, "accepted", "sms")
            .await
            .filter(|n| n.state == "sent")
    })
    .await
}

#[tokio::test]
async fn a_crash_between_acceptance_and_receipt_repeats_only_what_the_gateway_cannot_look_up() {
    let gw = Gateway::start();
    let sink = SmtpSink::start();
    let post = FakeRussianPost::start();
    let (smsru_track, smsc_track) = (rp_track(1), rp_track(2));
    post.journey(&smsru_track, journey::ACCEPTED);
    post.journey(&smsc_track, journey::ACCEPTED);
    let secrets = tempfile::tempdir().unwrap();
    let mut d = Daemon::start_with(|c| config(&c, &post, &gw, &sink, secrets.path())).await;
    setup_shops(&d).await;
    let crashing = |d: &mut Daemon| {
        d.env = vec![("PARCELD_FAULTS".into(), "sender.crash_after_send".into())];
        d.kill9();
    };

    // SMS.ru: accepted, then the daemon dies before writing the receipt. It cannot ask SMS.ru,
    // so the message goes again: two copies, one doubtful resend recorded.
    crashing(&mut d);
    d.spawn().await;
    d.socket
        .add_parcels(
            "acme",
            &[parcel_to(&smsru_track, "W-1", "+79121000001", None)],
        )
        .await
        .unwrap();
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert!(!status.success(), "aborted inside the window");
    assert_eq!(gw.sent().len(), 1, "the gateway has it");
    d.env.clear();
    d.spawn().await;
    let n = one_sms(&d, "acme", &smsru_track).await;
    assert_eq!(n.doubtful_resends, 1);
    assert_eq!(
        copies(&gw.sent()).values().copied().collect::<Vec<_>>(),
        [2]
    );

    // SMSC.ru: the same crash, but after the restart SMSC is asked by client id: found, not
    // sent again.
    crashing(&mut d);
    d.spawn().await;
    d.socket
        .add_parcels(
            "books",
            &[parcel_to(&smsc_track, "W-2", "+79121000002", None)],
        )
        .await
        .unwrap();
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert!(!status.success());
    d.env.clear();
    d.spawn().await;
    let n = one_sms(&d, "books", &smsc_track).await;
    assert_eq!(n.doubtful_resends, 0);
    let smsc: Vec<_> = gw
        .sent()
        .into_iter()
        .filter(|s| s.gateway == "smsc")
        .collect();
    assert_eq!(smsc.len(), 1, "sent once");
    assert_eq!(n.provider_id.as_deref(), Some(smsc[0].id.as_str()));
    assert!(
        d.log().contains("Recovered messages that were in hand"),
        "{}",
        d.log()
    );
}
