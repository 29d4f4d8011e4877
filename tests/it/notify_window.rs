//! When messages go: customer messages wait for the send window in the recipient's time zone
//! (from the pickup office's postal index, else the shop's zone); the shop's return alert goes
//! at once, through SMTP, whatever the window.

use crate::fakes::russian_post::FakeRussianPost;
use crate::fakes::smtp::SmtpSink;
use crate::harness::{Daemon, parcel, set, wait_for, walk};
use crate::notify_support::{journey, notification, rp_track, wait_state, window};
use std::time::Duration;

#[tokio::test]
async fn customer_messages_wait_for_the_window_in_the_recipients_zone() {
    // Open now in Moscow (for two hours); in Novosibirsk it is four hours later: closed.
    let w = window("Europe/Moscow", 0);
    let d = Daemon::start_with(|c| set(&c, "notify", "send_window", &w)).await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "Z-1")])
        .await
        .unwrap();
    // "Accepted" has no pickup office yet: the shop's zone (Moscow), open: sent.
    wait_state(&d, "acme", "SANDBOX-ARRIVED-1", "accepted", "sms", "sent").await;
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    // "Arrived" at office 630099: Novosibirsk, closed: waits for the window to open there.
    let n = wait_for(
        Duration::from_secs(10),
        "the arrival to be planned",
        async || notification(&d, "acme", "SANDBOX-ARRIVED-1", "arrived", "sms").await,
    )
    .await;
    assert_eq!(n.state, "pending", "{n:?}");
    let at = n.next_attempt_at.expect("a time");
    let start: i8 = w.trim_matches('"')[..2].parse().unwrap();
    let local = at.to_zoned(jiff::tz::TimeZone::get("Asia/Novosibirsk").unwrap());
    assert_eq!(
        (local.hour(), local.minute()),
        (start, 0),
        "the window's opening in Novosibirsk: {local}"
    );
    assert!(at > jiff::Timestamp::now());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !d.sms().iter().any(|s| s.key.contains("-arrived-")),
        "nothing goes out before the window opens"
    );
}

#[tokio::test]
async fn the_return_alert_goes_at_once_through_smtp_whatever_the_window() {
    let sink = SmtpSink::start();
    // A Russian Post parcel: the sandbox carrier's messages never reach SMTP.
    let post = FakeRussianPost::start();
    let track = rp_track(1);
    post.journey(&track, journey::RETURNED);
    let d = Daemon::start_with(|c| {
        let c = post.config(sink.config(&c), &[]);
        // Closed now in Moscow and in Novosibirsk.
        set(&c, "notify", "send_window", &window("Europe/Moscow", 8))
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel(&track, "RET-1")])
        .await
        .unwrap();
    walk(&d, "acme", &track, "returned_to_sender").await;
    let alert = wait_for(Duration::from_secs(20), "the return alert", async || {
        sink.received()
            .into_iter()
            .find(|m| m.message_id().contains("-return_started-1-email"))
    })
    .await;
    assert_eq!(alert.to, ["ops@acme.test"]);
    let text = alert.parsed().body_text(0).unwrap().into_owned();
    assert!(
        text.contains("+79123456789") && text.contains("ivan@example.ru"),
        "{text}"
    );
    assert!(
        alert.parsed().header_raw("List-Unsubscribe").is_none(),
        "no unsubscribe link for the shop"
    );
    assert_eq!(
        sink.received().len(),
        1,
        "customer messages still wait for the window"
    );
    let held = notification(&d, "acme", &track, "accepted", "email")
        .await
        .unwrap();
    assert_eq!(held.state, "pending");
}
