//! A store written by release 1 (`tests/fixtures/store/release-1.tar.gz`: two shops, parcels in
//! every state, sent messages, an opt-out, a template, a plan, a report marker) opens in today's
//! daemon with everything in it, its waiting parcels' deadlines worked out under the storage
//! rules, and the daemon goes on with them.

use crate::harness::Daemon;
use parceld::api::dto::PollRequest;

/// A daemon whose store is the release-1 fixture.
async fn on_release_1() -> Daemon {
    let mut d = Daemon::start().await;
    d.terminate();
    let state = d.path().join("state");
    std::fs::remove_dir_all(state.join("db")).unwrap();
    let untar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/store/release-1.tar.gz"
        ))
        .arg("-C")
        .arg(&state)
        .status()
        .unwrap();
    assert!(untar.success());
    d.spawn().await;
    d
}

#[tokio::test]
async fn a_store_of_release_1_opens_and_goes_on() {
    let d = on_release_1().await;
    let shops: Vec<String> = d
        .socket
        .shops()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(shops, ["acme", "books"]);
    let acme = d.socket.shop("acme").await.unwrap();
    assert_eq!(acme.name, "Книжный дом");
    assert_eq!(acme.plan.as_deref(), Some("small"));
    assert_eq!(acme.storage_days, None);
    let listed = |shop: &'static str| {
        let socket = d.socket.clone();
        async move {
            let mut l: Vec<(String, String)> = socket
                .list(shop, &[])
                .await
                .unwrap()
                .parcels
                .into_iter()
                .map(|p| (p.track, p.status))
                .collect();
            l.sort();
            l
        }
    };
    // The returning parcel may already walk on: its polls came due while the store lay still.
    let acme = listed("acme").await;
    assert_eq!(acme.len(), 5, "{acme:?}");
    for (track, status) in [
        ("10100012000016", "registered"),
        ("SANDBOX-ARRIVED-2", "arrived_at_pickup"),
        ("SANDBOX-DELIVERED-1", "delivered"),
        ("SANDBOX-STUCK-4", "in_transit"),
    ] {
        assert!(
            acme.contains(&(track.to_string(), status.to_string())),
            "{acme:?}"
        );
    }
    assert_eq!(listed("books").await.len(), 2);

    // The waiting parcel: release 1 told 30 days; today's rules say 15 from the day after
    // arrival, worked out at the first start (release 1 kept no mail type; the sandbox reports
    // "parcel" if it was polled since).
    let p = d.socket.parcel("acme", "SANDBOX-ARRIVED-2").await.unwrap();
    let a = p.arrival.expect("waiting");
    let tz = jiff::tz::TimeZone::get("Asia/Novosibirsk").unwrap();
    let arrived = a.arrived_at.to_zoned(tz.clone()).date();
    assert_eq!(
        a.deadline.to_zoned(tz).date(),
        arrived + jiff::Span::new().days(15)
    );
    assert!(
        a.deadline_basis.starts_with("15 days, "),
        "{}",
        a.deadline_basis
    );
    let log = d.plain_log();
    assert!(log.contains("deadlines_moved=2"), "{log}");
    // What was recorded stays: the opt-out, the messages sent.
    assert_eq!(p.unsubscribed, ["email"]);
    let sent: Vec<(String, String)> = p
        .notifications
        .iter()
        .map(|n| (n.kind.clone(), n.state.clone()))
        .collect();
    assert_eq!(
        sent,
        [
            ("accepted".to_string(), "sent".to_string()),
            ("arrived".into(), "sent".into())
        ]
    );
    let delivered = d
        .socket
        .parcel("acme", "SANDBOX-DELIVERED-1")
        .await
        .unwrap();
    assert_eq!(
        delivered.notifications.len(),
        6,
        "{:?}",
        delivered.notifications
    );

    // And the daemon goes on: the returning parcel walks on, nothing already sent is sent again.
    let before = d.sms().len();
    d.socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await
        .unwrap();
    d.socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await
        .unwrap();
    assert_eq!(
        d.socket
            .parcel("acme", "SANDBOX-RETURNED-3")
            .await
            .unwrap()
            .status,
        "returned_to_sender"
    );
    assert_eq!(d.sms().len(), before, "nothing is said twice");
}
