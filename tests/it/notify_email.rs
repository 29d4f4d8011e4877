//! E-mail through a real SMTP server on loopback: what arrives (headers, both MIME parts,
//! macros, RFC 8058 unsubscribe headers, one message per event), STARTTLS with AUTH and DKIM,
//! the server's refusals ending in retries or dead letters, and DKIM in the `.eml` files. The
//! parcels are Russian Post's (the fake): the sandbox carrier's messages never reach SMTP.

use crate::fakes::russian_post::FakeRussianPost;
use crate::fakes::smtp::{SmtpSink, fixture_path};
use crate::harness::{Daemon, parcel, set, wait_for, walk};
use crate::notify_support::{journey, load_offices, metrics, rp_track, wait_idle, wait_state};
use parceld::api::dto::{Field, PatchShop};
use std::time::Duration;

#[tokio::test]
async fn smtp_delivers_each_event_once_with_both_parts_and_unsubscribe_headers() {
    let sink = SmtpSink::start();
    let post = FakeRussianPost::start();
    let track = rp_track(1);
    post.journey(&track, journey::DELIVERED);
    let mut d = Daemon::start_with(|c| post.config(sink.config(&c), &[])).await;
    load_offices(&d).await;
    d.create_shop("acme").await;
    d.socket
        .patch_shop(
            "acme",
            &PatchShop {
                review_url: Some("https://acme.example/review".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
    d.socket
        .add_parcels("acme", &[parcel(&track, "A-1001")])
        .await
        .unwrap();
    walk(&d, "acme", &track, "delivered").await;
    wait_idle(&d, Duration::from_secs(30)).await;
    let got = wait_for(Duration::from_secs(20), "three e-mails", async || {
        let r = sink.received();
        (r.len() >= 3).then_some(r)
    })
    .await;
    // Settled: no message twice.
    let mut ids: Vec<String> = got.iter().map(|m| m.message_id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "one message per event: {ids:?}");
    assert_eq!(got.len(), 3, "accepted, arrived, delivered");

    let arrived = got
        .iter()
        .find(|m| m.message_id().contains("-arrived-1-email"))
        .expect("the arrival e-mail");
    assert_eq!(arrived.to, vec!["ivan@example.ru"]);
    assert_eq!(arrived.from, "noreply@parceld.test");
    let m = arrived.parsed();
    assert!(
        arrived.message_id().ends_with("@parceld.test"),
        "{}",
        arrived.message_id()
    );
    let from = m.from().and_then(|a| a.first()).unwrap();
    assert_eq!(
        from.name(),
        Some("Магазин acme"),
        "the shop's name is the display name"
    );
    assert_eq!(
        m.reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("ops@acme.test")
    );
    let raw = arrived.raw();
    let unsubscribe = m
        .header_raw("List-Unsubscribe")
        .map(|v| v.split_whitespace().collect::<String>())
        .expect("List-Unsubscribe");
    let url = unsubscribe
        .trim_matches(|c| c == '<' || c == '>')
        .to_string();
    assert!(
        url.starts_with(&format!(
            "http://127.0.0.1:{}/u/acme/{track}/email/",
            d.port
        )),
        "{url}"
    );
    assert_eq!(
        m.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(raw.contains("multipart/alternative"), "{raw}");
    let text = m.body_text(0).unwrap().into_owned();
    let html = m.body_html(0).unwrap().into_owned();
    for needle in [
        "Здравствуйте, Иван!",
        "Советская, 33",
        "1\u{a0}490,00 ₽",
        &track,
        "Хранится до",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} missing in the text part:\n{text}"
        );
    }
    // minijinja's HTML escaping writes "/" as "&#x2f;".
    let unescaped = html.replace("&#x2f;", "/");
    assert!(
        html.contains("Советская, 33") && unescaped.contains(&format!("href=\"{url}\"")),
        "{html}"
    );
    let thanks = got
        .iter()
        .find(|m| m.message_id().contains("-delivered-1-email"))
        .unwrap();
    assert!(
        thanks
            .parsed()
            .body_text(0)
            .unwrap()
            .contains("https://acme.example/review"),
        "the review link"
    );
    let n = wait_state(&d, "acme", &track, "arrived", "email", "sent").await;
    assert_eq!(n.provider.as_deref(), Some("smtp"));
    assert_eq!(n.provider_id, Some(format!("<{}>", arrived.message_id())));
    // Pooled SMTP connections do not get in the way of a clean stop.
    let status = d.terminate();
    assert!(status.success(), "exit status {status}:\n{}", d.log());
}

#[tokio::test]
async fn starttls_auth_and_dkim_signing() {
    let sink = SmtpSink::start_tls("mailer", "s3cret");
    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("smtp.password");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let post = FakeRussianPost::start();
    let track = rp_track(1);
    post.journey(&track, journey::ARRIVED);
    let d =
        Daemon::start_with(|c| dkim_config(&post.config(sink.starttls_config(&c, &pw), &[]))).await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel(&track, "T-1")])
        .await
        .unwrap();
    walk(&d, "acme", &track, "arrived_at_pickup").await;
    let got = wait_for(
        Duration::from_secs(30),
        "two e-mails over STARTTLS",
        async || {
            let r = sink.received();
            (r.len() >= 2).then_some(r)
        },
    )
    .await;
    for m in &got {
        assert_eq!(m.user.as_deref(), Some("mailer"), "authenticated");
        check_dkim(&m.raw());
    }
    assert!(d.log().contains("Message sent"));
}

/// Checks the `DKIM-Signature` of a raw message: the test key's domain, selector and
/// algorithm, covering the headers RFC 8058 and mailbox providers care about.
fn check_dkim(raw: &str) {
    let sig: String = raw
        .split("\r\n")
        .skip_while(|l| !l.starts_with("DKIM-Signature:"))
        .take_while(|l| {
            l.starts_with("DKIM-Signature:") || l.starts_with(' ') || l.starts_with('\t')
        })
        .collect::<Vec<_>>()
        .join("")
        .to_lowercase();
    assert!(
        sig.contains("d=parceld.test") && sig.contains("s=mail2027"),
        "{sig}\n{raw}"
    );
    assert!(sig.contains("a=rsa-sha256"), "{sig}");
    let h: String = sig
        .split("h=")
        .nth(1)
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    for header in [
        "from",
        "subject",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(
            h.split(':').any(|x| x == header),
            "{header} is signed: h={h}"
        );
    }
}

/// `[email.dkim]` with the test key (selector `mail2027`, domain `parceld.test`).
fn dkim_config(c: &str) -> String {
    let c = set(c, "email.dkim", "selector", "\"mail2027\"");
    let c = set(&c, "email.dkim", "domain", "\"parceld.test\"");
    set(
        &c,
        "email.dkim",
        "private_key_file",
        &format!("\"{}\"", fixture_path("dkim", "rsa.pem")),
    )
}

#[tokio::test]
async fn eml_files_are_dkim_signed_as_smtp_would_carry_them() {
    let d = Daemon::start_with(|c| dkim_config(&c)).await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "E-1")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    let mails = wait_for(Duration::from_secs(20), "two .eml files", async || {
        let m = d.mails();
        (m.len() >= 2).then_some(m)
    })
    .await;
    for m in &mails {
        check_dkim(&m.raw);
    }
}

#[tokio::test]
async fn refused_recipients_retry_or_end_as_dead_letters_and_bad_credentials_pause() {
    let sink = SmtpSink::start();
    sink.reject("nobody@example.ru");
    sink.busy("busy@example.ru", 2);
    let post = FakeRussianPost::start();
    let (gone_track, busy_track) = (rp_track(1), rp_track(2));
    post.journey(&gone_track, journey::ACCEPTED);
    post.journey(&busy_track, journey::ACCEPTED);
    let d = Daemon::start_with(|c| post.config(sink.config(&c), &[])).await;
    d.create_shop("acme").await;
    let mut gone = parcel(&gone_track, "G-1");
    gone.customer.as_mut().unwrap().email = "nobody@example.ru".into();
    gone.customer.as_mut().unwrap().phone = Field::Absent;
    let mut busy = parcel(&busy_track, "B-1");
    busy.customer.as_mut().unwrap().email = "busy@example.ru".into();
    busy.customer.as_mut().unwrap().phone = Field::Absent;
    d.socket.add_parcels("acme", &[gone, busy]).await.unwrap();
    // The first poll reports "accepted": one e-mail each.
    let dead = wait_state(&d, "acme", &gone_track, "accepted", "email", "dead").await;
    assert_eq!(dead.attempts, 1, "a permanent refusal is not retried");
    assert!(
        dead.last_error.as_deref().unwrap_or("").contains("550"),
        "{dead:?}"
    );
    let sent = wait_state(&d, "acme", &busy_track, "accepted", "email", "sent").await;
    assert_eq!(sent.attempts, 3, "two 451 answers, then accepted");
    assert_eq!(
        sink.received()
            .iter()
            .filter(|m| m.to == ["busy@example.ru"])
            .count(),
        1
    );

    let letters = d.socket.dead_letters(Some("email"), None).await.unwrap();
    assert_eq!(letters.dead.len(), 1);
    assert_eq!(letters.dead[0].track, gone_track);
    assert_eq!(letters.dead[0].recipient, "n***@example.ru", "masked");
    let m = wait_for(
        Duration::from_secs(10),
        "the dead-letter gauge",
        async || {
            let m = metrics(&d).await;
            m.lines()
                .any(|l| l.starts_with("parceld_outbox_dead{channel=\"email\"} 1"))
                .then_some(m)
        },
    )
    .await;
    assert!(
        m.contains("parceld_notifications_total{channel=\"email\",outcome=\"dead\"} 1"),
        "{m}"
    );
    let h = d.socket.health().await.unwrap();
    assert_eq!(h.channels["email"].dead, 1);

    // Retrying the dead letter after the cause is gone delivers it.
    let r = d
        .socket
        .retry_dead(&parceld::api::dto::RetryDead::default())
        .await
        .unwrap();
    assert_eq!(r.requeued, 1);
    assert!(d.socket.dead_letters(None, None).await.unwrap().dead.len() <= 1);
}

#[tokio::test]
async fn a_server_that_refuses_the_credentials_pauses_the_channel_without_burning_attempts() {
    let sink = SmtpSink::start_tls("mailer", "right");
    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("smtp.password");
    std::fs::write(&pw, "wrong").unwrap();
    let post = FakeRussianPost::start();
    let track = rp_track(1);
    post.journey(&track, journey::ACCEPTED);
    let d = Daemon::start_with(|c| {
        let c = post.config(sink.starttls_config(&c, &pw), &[]);
        set(&c, "notify", "max_attempts", "1")
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel(&track, "P-1")])
        .await
        .unwrap();
    let h = wait_for(
        Duration::from_secs(20),
        "the channel to pause",
        async || {
            let h = d.socket.health().await.ok()?;
            h.channels["email"].paused_until.is_some().then_some(h)
        },
    )
    .await;
    assert_eq!(h.status, "degraded");
    assert!(
        h.channels["email"]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("535"),
        "{h:?}"
    );
    let n = crate::notify_support::notification(&d, "acme", &track, "accepted", "email")
        .await
        .unwrap();
    assert_eq!(
        (n.state.as_str(), n.attempts),
        ("pending", 0),
        "waits; max_attempts = 1 is not used up"
    );
    assert!(sink.received().is_empty());
}
