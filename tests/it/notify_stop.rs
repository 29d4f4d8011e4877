//! Replies of STOP, pushed by the gateways the way they push them: two shops write to the same
//! phone; the customer's STOP answers one of them (the latest SMS through that gateway, or the
//! one with the sender name the reply was written to), whose unsent SMS to that number are
//! withdrawn and who writes no more, while the other shop's SMS keep arriving. Replies that are
//! not a stop word, and a STOP from a number nobody wrote to, change nothing.

use crate::fakes::russian_post::FakeRussianPost;
use crate::fakes::sms_gateway::{Answer, Gateway};
use crate::harness::{Daemon, set, wait_for};
use crate::notify_support::{
    journey, metrics, notification, parcel_to, rp_track, wait_state, window,
};
use parceld::api::dto::PatchShop;
use std::time::Duration;

/// The customer both shops write to.
const PHONE: &str = "+79120000001";

/// Russian Post parcel `n` (the fake's): the sandbox carrier's messages never reach a gateway.
fn rp(n: u32) -> String {
    rp_track(n)
}

/// The Russian Post fake, where parcels 1 to 7 are accepted and go no further.
fn post() -> FakeRussianPost {
    let post = FakeRussianPost::start();
    for n in 1..=7 {
        post.journey(&rp(n), journey::ACCEPTED);
    }
    post
}

/// The daemon with `gateway` (`smsru` or `smsc`) as its SMS transport, Russian Post's fake as
/// its carrier, and a send window open now in Moscow (closed in Vladivostok).
async fn daemon(
    gw: &Gateway,
    post: &FakeRussianPost,
    gateway: &str,
    dir: &std::path::Path,
) -> Daemon {
    Daemon::start_with(|c| {
        let c = post.config(c, &[]);
        let c = set(&c, "sms", "transport", &format!("\"{gateway}\""));
        let c = set(&c, "notify", "send_window", &window("Europe/Moscow", 0));
        match gateway {
            "smsru" => gw.smsru_config(&c, dir),
            _ => gw.smsc_config(&c, dir),
        }
    })
    .await
}

/// Sets a shop's time zone (its customers' send window follows it) and sender name.
async fn shop_zone(d: &Daemon, shop: &str, zone: &str, sender: &str) {
    d.socket
        .patch_shop(
            shop,
            &PatchShop {
                timezone: Some(zone.into()),
                sms_sender: Some(sender.into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
}

/// Hands a shop a parcel for `phone`.
async fn hand_over(d: &Daemon, shop: &str, track: &str, phone: &str) {
    d.socket
        .add_parcels(shop, &[parcel_to(track, track, phone, None)])
        .await
        .unwrap();
}

/// How many SMS with this sender name the gateway took.
fn from(gw: &Gateway, sender: &str) -> usize {
    gw.sent().iter().filter(|s| s.sender == sender).count()
}

/// Shops `acme` ("Acme") and `books` ("Books"): each sends PHONE its first SMS (`first`'s goes
/// out first), then each queues one more for PHONE that waits for the send window (the shops
/// are moved to Vladivostok, where it is closed). Returns the tracks of the waiting ones.
async fn two_shops_one_phone(d: &Daemon, gw: &Gateway, first: &str) -> (String, String) {
    for (shop, sender) in [("acme", "Acme"), ("books", "Books")] {
        d.create_shop(shop).await;
        shop_zone(d, shop, "Europe/Moscow", sender).await;
    }
    let second = if first == "acme" { "books" } else { "acme" };
    for (i, shop) in [first, second].into_iter().enumerate() {
        let track = rp(i as u32 + 1);
        hand_over(d, shop, &track, PHONE).await;
        wait_state(d, shop, &track, "accepted", "sms", "sent").await;
    }
    assert_eq!((from(gw, "Acme"), from(gw, "Books")), (1, 1));
    for (shop, sender) in [("acme", "Acme"), ("books", "Books")] {
        shop_zone(d, shop, "Asia/Vladivostok", sender).await;
    }
    hand_over(d, "acme", &rp(3), PHONE).await;
    hand_over(d, "books", &rp(4), PHONE).await;
    for (shop, track) in [("acme", &rp(3)), ("books", &rp(4))] {
        wait_state(d, shop, track, "accepted", "sms", "pending").await;
    }
    (rp(3), rp(4))
}

/// After acme's customer replied STOP: acme's waiting SMS is withdrawn and the opt-out is on
/// the parcel view; books' still waits. Then, with the window open again, a new parcel of each:
/// acme's SMS is born withdrawn, books' arrives.
async fn acme_stopped_books_goes_on(d: &Daemon, gw: &Gateway, acme: &str, books: &str) {
    let n = notification(d, "acme", acme, "accepted", "sms")
        .await
        .unwrap();
    assert_eq!(n.state, "cancelled");
    assert_eq!(
        n.last_error.as_deref(),
        Some("the recipient asked for no more messages")
    );
    let n = notification(d, "books", books, "accepted", "sms")
        .await
        .unwrap();
    assert_eq!(n.state, "pending", "the other shop's SMS still waits");
    let p = d.socket.parcel("acme", acme).await.unwrap();
    assert_eq!(p.optouts.len(), 1, "{:?}", p.optouts);
    let o = &p.optouts[0];
    assert_eq!(
        (o.channel.as_str(), o.scope.as_str(), o.source.as_str()),
        ("sms", "shop", "sms_stop")
    );
    assert!(
        d.socket
            .parcel("books", books)
            .await
            .unwrap()
            .optouts
            .is_empty()
    );
    let show = std::process::Command::new(env!("CARGO_BIN_EXE_parcelctl"))
        .arg("--socket")
        .arg(d.path().join("run/control.sock"))
        .args(["show", "acme", acme])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(
        text.contains("opted out: sms (every message of this shop to this customer), by sms_stop"),
        "{text}"
    );

    for (shop, sender) in [("acme", "Acme"), ("books", "Books")] {
        shop_zone(d, shop, "Europe/Moscow", sender).await;
    }
    hand_over(d, "acme", &rp(5), PHONE).await;
    hand_over(d, "books", &rp(6), PHONE).await;
    wait_state(d, "books", &rp(6), "accepted", "sms", "sent").await;
    wait_state(d, "acme", &rp(5), "accepted", "sms", "cancelled").await;
    assert_eq!(
        (from(gw, "Acme"), from(gw, "Books")),
        (1, 2),
        "acme writes no more; books does"
    );
    let m = metrics(d).await;
    assert!(
        m.contains("parceld_unsubscribes_total{channel=\"sms\",source=\"sms_stop\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn a_stop_through_smsru_unsubscribes_from_the_shop_it_answered_only() {
    let gw = Gateway::start();
    let post = post();
    let secrets = tempfile::tempdir().unwrap();
    let d = daemon(&gw, &post, "smsru", secrets.path()).await;
    // books wrote last; the reply is written to acme's sender name.
    let (acme, books) = two_shops_one_phone(&d, &gw, "acme").await;
    let url = d.socket.callback_urls().await.unwrap()["smsru"].clone();
    let ok = Answer {
        status: 200,
        body: "100".into(),
    };

    // Replies that are not a stop word, and a STOP from a number nobody wrote to.
    for text in ["нет", "stop sending me spam", "Отменить"] {
        assert_eq!(gw.smsru_reply(&url, "79120000001", "Acme", text).await, ok);
    }
    assert_eq!(
        gw.smsru_reply(&url, "79120000099", "Acme", "STOP").await,
        ok
    );
    for (shop, track) in [("acme", &acme), ("books", &books)] {
        let n = notification(&d, shop, track, "accepted", "sms")
            .await
            .unwrap();
        assert_eq!(n.state, "pending", "{shop}: nothing changed");
        let p = d.socket.parcel(shop, track).await.unwrap();
        assert!(p.optouts.is_empty(), "{:?}", p.optouts);
    }
    assert!(
        d.log().contains("nothing recorded"),
        "a STOP from an unknown number is logged"
    );
    assert!(
        !metrics(&d)
            .await
            .contains("parceld_unsubscribes_total{channel=\"sms\""),
        "no unsubscribe counted"
    );

    // The STOP, written to acme's name, while books' SMS is the latest to that number.
    assert_eq!(
        gw.smsru_reply(&url, "79120000001", "Acme", " Стоп! ").await,
        ok
    );
    acme_stopped_books_goes_on(&d, &gw, &acme, &books).await;

    // Nobody wrote to +79120000099 before its STOP: a shop writing to it now is not stopped.
    hand_over(&d, "acme", &rp(7), "+79120000099").await;
    wait_state(&d, "acme", &rp(7), "accepted", "sms", "sent").await;
    // The gateway's delivery reports still come through the same callback.
    let sent = gw.sent();
    let last = sent.last().unwrap();
    assert_eq!(gw.smsru_report(&url, &last.id, 103).await, ok);
    wait_for(Duration::from_secs(20), "the pushed report", async || {
        let n = notification(&d, "acme", &rp(7), "accepted", "sms").await?;
        (n.delivery_status.as_deref() == Some("delivered")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_stop_through_smsc_unsubscribes_from_the_shop_of_the_latest_sms() {
    let gw = Gateway::start();
    let post = post();
    let secrets = tempfile::tempdir().unwrap();
    let d = daemon(&gw, &post, "smsc", secrets.path()).await;
    // books wrote first, acme last; the reply does not say to whom it was written.
    let (acme, books) = two_shops_one_phone(&d, &gw, "books").await;
    let url = d.socket.callback_urls().await.unwrap()["smsc"].clone();
    let r = gw.smsc_reply(&url, "79120000001", None, "нет").await;
    assert_eq!(r.status, 200);
    let n = notification(&d, "acme", &acme, "accepted", "sms")
        .await
        .unwrap();
    assert_eq!(n.state, "pending", "«нет» is not a stop word");
    let r = gw.smsc_reply(&url, "79120000001", None, "STOP").await;
    assert_eq!(r.status, 200);
    acme_stopped_books_goes_on(&d, &gw, &acme, &books).await;
}
