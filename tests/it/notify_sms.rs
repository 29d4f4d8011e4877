//! SMS through a fake gateway on loopback speaking the SMS.ru and SMSC.ru protocols: sender
//! names, the gateway's message id kept, delivery reports polled and pushed, a shop choosing its
//! own gateway, and the gateway's faults (connection refused, 5xx, slow answers, refused numbers,
//! refused accounts) ending in retries, pauses or dead letters. Replies of STOP are in
//! `notify_stop`. The parcels are Russian Post's (the fake): the sandbox carrier's messages never
//! reach a gateway.

use crate::fakes::russian_post::FakeRussianPost;
use crate::fakes::sms_gateway::{Fault, Gateway, copies};
use crate::harness::{Daemon, parcel, set, wait_for, walk};
use crate::notify_support::{
    journey, load_offices, metrics, notification, parcel_to, rp_track, wait_state,
};
use parceld::api::dto::PatchShop;
use std::time::Duration;

/// SMS.ru as the default gateway (the key file lives in `dir`), reports asked for every second.
fn smsru(c: &str, gw: &Gateway, dir: &std::path::Path) -> String {
    let c = set(c, "sms", "transport", "\"smsru\"");
    let c = set(&c, "sms", "status_every", "\"1s\"");
    gw.smsru_config(&c, dir)
}

/// The `n`th Russian Post number of a test.
fn rp(n: u32) -> String {
    rp_track(n)
}

/// The Russian Post fake with these numbers on these journeys.
fn post(parcels: impl IntoIterator<Item = (u32, &'static [&'static str])>) -> FakeRussianPost {
    let post = FakeRussianPost::start();
    for (n, j) in parcels {
        post.journey(&rp(n), j);
    }
    post
}

#[tokio::test]
async fn smsru_carries_the_sender_keeps_the_id_and_shows_delivery_polled_and_pushed() {
    let post = post([(1, journey::ARRIVED)]);
    let gw = Gateway::start();
    gw.deliver_as(102);
    let secrets = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(|c| {
        let c = post.config(c, &[]);
        let c = smsru(&c, &gw, secrets.path());
        set(&c, "sms.smsru", "sender", "\"KnigaDom\"")
    })
    .await;
    load_offices(&d).await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel(&rp(1), "A-1001")])
        .await
        .unwrap();
    walk(&d, "acme", &rp(1), "arrived_at_pickup").await;
    let sent = wait_for(
        Duration::from_secs(20),
        "two SMS at the gateway",
        async || {
            let s = gw.sent();
            (s.len() >= 2).then_some(s)
        },
    )
    .await;
    for s in &sent {
        assert_eq!(
            (s.gateway, s.phone.as_str(), s.sender.as_str()),
            ("smsru", "79123456789", "KnigaDom")
        );
    }
    let arrival = sent
        .iter()
        .find(|s| s.text.contains("ждёт"))
        .expect("the arrival SMS");
    for needle in ["A-1001", "630099", "1\u{a0}490,00 ₽", &rp(1)] {
        assert!(
            arrival.text.contains(needle),
            "{needle} in {}",
            arrival.text
        );
    }
    let n = wait_state(&d, "acme", &rp(1), "arrived", "sms", "sent").await;
    assert_eq!(n.provider.as_deref(), Some("smsru"));
    assert_eq!(
        n.provider_id.as_deref(),
        Some(arrival.id.as_str()),
        "the gateway's id is kept"
    );
    assert_eq!(
        n.segments,
        Some(3),
        "Cyrillic with the address and the page: three UCS-2 segments"
    );
    // Polled: the gateway says "in transit".
    wait_for(Duration::from_secs(20), "a polled report", async || {
        let n = notification(&d, "acme", &rp(1), "arrived", "sms").await?;
        (n.delivery_status.as_deref() == Some("in_transit")).then_some(())
    })
    .await;
    assert!(gw.status_requests() >= 1);

    // Pushed: the gateway calls back with "delivered" (code 103) and expects "100".
    let urls = d.socket.callback_urls().await.unwrap();
    let url = urls.get("smsru").expect("a callback URL").clone();
    assert!(
        url.starts_with(&format!(
            "http://127.0.0.1:{}/v1/callbacks/sms/smsru/",
            d.port
        )),
        "{url}"
    );
    let http = reqwest::Client::new();
    let body = format!("data%5B%5D=sms_status%0A{}%0A103%0A1798794000", arrival.id);
    let r = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "100");
    let n = notification(&d, "acme", &rp(1), "arrived", "sms")
        .await
        .unwrap();
    assert_eq!(n.delivery_status.as_deref(), Some("delivered"));
    // A forged token is not an endpoint.
    let forged = format!("{}0", url.trim_end_matches(|c: char| c.is_ascii_hexdigit()));
    let r = http
        .post(&forged)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let m = metrics(&d).await;
    assert!(
        m.contains("parceld_delivery_reports_total{channel=\"sms\",status=\"delivered\"}"),
        "{m}"
    );
}

#[tokio::test]
async fn a_shop_chooses_smsc_with_its_own_sender_and_reports_are_polled() {
    let post = post([1, 2].map(|n| (n, journey::ACCEPTED)));
    let gw = Gateway::start();
    let secrets = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(|c| {
        let c = post.config(c, &[]);
        let c = smsru(&c, &gw, secrets.path());
        gw.smsc_config(&c, secrets.path())
    })
    .await;
    d.create_shop("acme").await;
    d.create_shop("books").await;
    let bad = d
        .socket
        .patch_shop(
            "books",
            &PatchShop {
                sms_provider: Some("twilio".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("sms_provider"), "{bad}");
    let v = d
        .socket
        .patch_shop(
            "books",
            &PatchShop {
                sms_provider: Some("smsc".into()),
                sms_sender: Some("Books".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.sms_provider.as_deref(), Some("smsc"));
    d.socket
        .add_parcels("acme", &[parcel_to(&rp(1), "A-1", "+79120000001", None)])
        .await
        .unwrap();
    d.socket
        .add_parcels("books", &[parcel_to(&rp(2), "B-1", "+79120000002", None)])
        .await
        .unwrap();
    let sent = wait_for(Duration::from_secs(20), "one SMS per shop", async || {
        let s = gw.sent();
        (s.len() >= 2).then_some(s)
    })
    .await;
    let a = sent.iter().find(|s| s.phone == "79120000001").unwrap();
    let b = sent.iter().find(|s| s.phone == "79120000002").unwrap();
    assert_eq!((a.gateway, a.sender.as_str()), ("smsru", "parceld"));
    assert_eq!((b.gateway, b.sender.as_str()), ("smsc", "Books"));
    let n = wait_for(
        Duration::from_secs(20),
        "SMSC's delivery report",
        async || {
            let n = notification(&d, "books", &rp(2), "accepted", "sms").await?;
            (n.delivery_status.as_deref() == Some("delivered")).then_some(n)
        },
    )
    .await;
    assert_eq!(n.provider.as_deref(), Some("smsc"));
    assert_eq!(n.provider_id.as_deref(), Some(b.id.as_str()));
}

#[tokio::test]
async fn gateway_faults_retry_pause_or_dead_letter_and_never_stall_the_sender() {
    let post = post((1..=4).map(|n| (n, journey::ACCEPTED)));
    // Nothing listens on the gateway's port at first: connection refused.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    drop(held);
    let secrets = tempfile::tempdir().unwrap();
    let key = secrets.path().join("smsru.key");
    std::fs::write(&key, crate::fakes::sms_gateway::SECRET).unwrap();
    let d = Daemon::start_with(|c| {
        let c = post.config(c, &[]);
        let c = set(&c, "sms", "transport", "\"smsru\"");
        let c = set(
            &c,
            "sms.smsru",
            "url",
            &format!("\"http://127.0.0.1:{port}\""),
        );
        let c = set(
            &c,
            "sms.smsru",
            "api_id_file",
            &format!("\"{}\"", key.display()),
        );
        let c = set(&c, "notify", "send_timeout", "\"1s\"");
        let c = set(&c, "notify", "retry_base", "\"200ms\"");
        let c = set(&c, "notify", "retry_cap", "\"500ms\"");
        set(&c, "notify", "max_attempts", "20")
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel_to(&rp(1), "R-1", "+79120000001", None)])
        .await
        .unwrap();
    let failed = wait_for(
        Duration::from_secs(20),
        "a refused connection to be retried",
        async || {
            let n = notification(&d, "acme", &rp(1), "accepted", "sms").await?;
            (n.attempts >= 2 && n.state == "pending").then_some(n)
        },
    )
    .await;
    assert!(
        failed.last_error.as_deref().unwrap_or("").contains("smsru"),
        "{failed:?}"
    );
    // The gateway comes up on that port, answering 503 once: then the message goes.
    let gw = Gateway::start_on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    gw.fail_next([Fault::Http(503)]);
    let sent = wait_state(&d, "acme", &rp(1), "accepted", "sms", "sent").await;
    assert_eq!(gw.sent().len(), 1);
    assert_eq!(
        sent.doubtful_resends, 0,
        "refused and 503 attempts never reached the gateway"
    );

    // A slow answer: the gateway accepted, the daemon gave up waiting and, unable to ask SMS.ru,
    // sent again: a doubtful resend, counted.
    gw.fail_next([Fault::Slow(Duration::from_millis(2500))]);
    d.socket
        .add_parcels("acme", &[parcel_to(&rp(2), "R-2", "+79120000002", None)])
        .await
        .unwrap();
    let slow = wait_state(&d, "acme", &rp(2), "accepted", "sms", "sent").await;
    assert_eq!(slow.doubtful_resends, 1, "{slow:?}");
    let n = wait_for(
        Duration::from_secs(10),
        "the slow copy to land",
        async || {
            let c = copies(&gw.sent());
            c.iter()
                .find(|((p, _), _)| p == "79120000002")
                .map(|(_, n)| *n)
                .filter(|n| *n == 2)
        },
    )
    .await;
    assert_eq!(n, 2, "the one duplicate the doubt counter announced");

    // A refused number: dead at once, listed, counted.
    gw.fail_next([Fault::NumberCode(207)]);
    d.socket
        .add_parcels("acme", &[parcel_to(&rp(3), "R-3", "+79120000003", None)])
        .await
        .unwrap();
    let dead = wait_state(&d, "acme", &rp(3), "accepted", "sms", "dead").await;
    assert_eq!(dead.attempts, 1);
    assert!(
        dead.last_error.as_deref().unwrap_or("").contains("207"),
        "{dead:?}"
    );
    let letters = d
        .socket
        .dead_letters(Some("sms"), Some("acme"))
        .await
        .unwrap();
    assert_eq!(letters.dead.len(), 1);
    assert_eq!(letters.dead[0].recipient, "+7***0003");

    // A refused account: the gateway pauses, the message waits without using attempts.
    gw.fail_next([Fault::Code(201)]);
    d.socket
        .add_parcels("acme", &[parcel_to(&rp(4), "R-4", "+79120000004", None)])
        .await
        .unwrap();
    let h = wait_for(
        Duration::from_secs(20),
        "the gateway to pause",
        async || {
            let h = d.socket.health().await.ok()?;
            (!h.channels["sms"].paused.is_empty()).then_some(h)
        },
    )
    .await;
    assert!(h.channels["sms"].paused[0].starts_with("smsru: "), "{h:?}");
    let waiting = notification(&d, "acme", &rp(4), "accepted", "sms")
        .await
        .unwrap();
    assert_eq!((waiting.state.as_str(), waiting.attempts), ("pending", 0));
    // The sender is not stuck: health answers, and the pause ends (retry_cap) with a send.
    wait_state(&d, "acme", &rp(4), "accepted", "sms", "sent").await;
}

#[tokio::test]
async fn a_resting_gateway_does_not_hold_up_the_other() {
    let post = post((0..=99).map(|n| (n, journey::ACCEPTED)));
    let gw = Gateway::start();
    let secrets = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(|c| {
        let c = post.config(c, &[]);
        let c = smsru(&c, &gw, secrets.path());
        let c = gw.smsc_config(&c, secrets.path());
        // A refused account rests the gateway for an hour; a slow channel rate.
        let c = set(&c, "notify", "retry_cap", "\"1h\"");
        set(&c, "sms", "rate", "\"2/s\"")
    })
    .await;
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
    gw.fail_next([Fault::Code(201)]);
    d.socket
        .add_parcels("acme", &[parcel_to(&rp(0), "A-0", "+79120000100", None)])
        .await
        .unwrap();
    wait_for(Duration::from_secs(20), "SMS.ru to rest", async || {
        let h = d.socket.health().await.ok()?;
        (!h.channels["sms"].paused.is_empty()).then_some(())
    })
    .await;
    let many: Vec<_> = (1..=20)
        .map(|i| {
            parcel_to(
                &rp(i),
                &format!("A-{i}"),
                &format!("+791200001{i:02}"),
                None,
            )
        })
        .collect();
    d.socket.add_parcels("acme", &many).await.unwrap();
    d.socket
        .add_parcels("books", &[parcel_to(&rp(99), "B-1", "+79120000999", None)])
        .await
        .unwrap();
    wait_state(&d, "books", &rp(99), "accepted", "sms", "sent").await;
    for i in 1..=20 {
        let n = notification(&d, "acme", &rp(i), "accepted", "sms")
            .await
            .unwrap();
        assert_eq!((n.state.as_str(), n.attempts), ("pending", 0), "{i}: {n:?}");
        // Put back before taking a slot or a rate-limit token: never even tried.
        assert_eq!(n.last_error, None, "{i}: {n:?}");
        assert!(
            n.next_attempt_at.unwrap()
                > jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)
        );
    }
    assert_eq!(gw.sent().len(), 1, "only the SMSC message went out");
}
