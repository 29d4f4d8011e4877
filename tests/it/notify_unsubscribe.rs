//! Unsubscribing: the signed link in a message (GET asks, POST unsubscribes, one-click per
//! RFC 8058), a forged link refused, nothing more sent on that channel for the parcel; the shop
//! unsubscribing its customer withdraws what was waiting.

use crate::harness::{Daemon, parcel, set, wait_for, walk};
use crate::notify_support::{metrics, notification, wait_state, window};
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn the_link_asks_on_get_unsubscribes_on_post_and_nothing_more_is_sent() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-DELIVERED-1", "U-1")])
        .await
        .unwrap();
    let mail = wait_for(Duration::from_secs(20), "the first e-mail", async || {
        d.mails()
            .into_iter()
            .find(|m| m.file.contains("-accepted-1-email"))
    })
    .await;
    let url = mail.unsubscribe_url();
    let http = reqwest::Client::new();

    // GET only asks (mail scanners fetch links).
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\">") && html.contains("Магазин acme"),
        "{html}"
    );
    let p = d
        .socket
        .parcel("acme", "SANDBOX-DELIVERED-1")
        .await
        .unwrap();
    assert!(p.unsubscribed.is_empty(), "a GET changes nothing");

    // A forged signature is refused.
    let forged = format!(
        "{}{}",
        &url[..url.len() - 1],
        if url.ends_with('0') { "1" } else { "0" }
    );
    let r = http
        .post(&forged)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // One-click POST, as a mail client sends it.
    let r = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Вы отписались"));
    let p = d
        .socket
        .parcel("acme", "SANDBOX-DELIVERED-1")
        .await
        .unwrap();
    assert_eq!(p.unsubscribed, ["email"]);
    let again = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("Вы уже отписались"), "{again}");

    // The journey goes on: SMS keep coming, e-mails do not.
    walk(&d, "acme", "SANDBOX-DELIVERED-1", "delivered").await;
    wait_state(
        &d,
        "acme",
        "SANDBOX-DELIVERED-1",
        "delivered",
        "sms",
        "sent",
    )
    .await;
    let p = d
        .socket
        .parcel("acme", "SANDBOX-DELIVERED-1")
        .await
        .unwrap();
    let emails: Vec<&str> = p
        .notifications
        .iter()
        .filter(|n| n.channel == "email")
        .map(|n| n.kind.as_str())
        .collect();
    assert_eq!(emails, ["accepted"], "no e-mail after unsubscribing");
    assert_eq!(d.mails().len(), 1);
    let m = metrics(&d).await;
    assert!(
        m.contains("parceld_unsubscribes_total{channel=\"email\",source=\"one_click\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn the_shop_unsubscribes_its_customer_and_waiting_messages_are_withdrawn() {
    let d =
        Daemon::start_with(|c| set(&c, "notify", "send_window", &window("Europe/Moscow", 6))).await;
    let token = d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-STUCK-1", "W-1")])
        .await
        .unwrap();
    wait_state(&d, "acme", "SANDBOX-STUCK-1", "accepted", "sms", "pending").await;
    let r = d
        .shop_client(Some(&token))
        .unsubscribe("acme", "SANDBOX-STUCK-1", Some(vec!["sms".into()]))
        .await
        .unwrap();
    assert_eq!(
        (r.unsubscribed.as_slice(), r.cancelled),
        (&["sms".to_string()][..], 1)
    );
    let sms = notification(&d, "acme", "SANDBOX-STUCK-1", "accepted", "sms")
        .await
        .unwrap();
    assert_eq!(sms.state, "cancelled");
    assert_eq!(
        sms.last_error.as_deref(),
        Some("the shop unsubscribed the customer")
    );
    let mail = notification(&d, "acme", "SANDBOX-STUCK-1", "accepted", "email")
        .await
        .unwrap();
    assert_eq!(mail.state, "pending");
    let out = Command::new(env!("CARGO_BIN_EXE_parcelctl"))
        .arg("--socket")
        .arg(d.path().join("run/control.sock"))
        .args([
            "unsubscribe",
            "acme",
            "SANDBOX-STUCK-1",
            "--channel",
            "email",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 unsent messages withdrawn"));
    let p = d.socket.parcel("acme", "SANDBOX-STUCK-1").await.unwrap();
    assert!(
        p.notifications.iter().all(|n| n.state == "cancelled"),
        "{:?}",
        p.notifications
    );
    assert_eq!(p.unsubscribed, ["sms", "email"]);
}
