//! The shop's morning report from the real daemon: sandbox parcels walked into every state, the
//! report mailed on demand with the stuck parcels in red in the HTML and in the attached
//! workbook (read back with calamine); the daily report at `report_at`, once a day across
//! restarts; statistics; retention and erasing a shop.

use crate::harness::{Daemon, parcel, set, wait_for, walk};
use crate::shopside_support::{attachment, read_sheet};
use parceld::api::dto::{ParcelIn, PatchShop, ReportRequest};
use std::time::Duration;

const RED: u32 = 0xF4CCCC;

async fn stuck_now(d: &Daemon) -> Vec<String> {
    let list = d.socket.list("acme", &[]).await.unwrap();
    let mut stuck: Vec<String> = list
        .parcels
        .iter()
        .filter(|p| p.stuck)
        .map(|p| p.track.clone())
        .collect();
    stuck.sort();
    stuck
}

#[tokio::test]
async fn report_shows_every_state_with_stuck_parcels_in_red() {
    let d = Daemon::start_with(|c| set(&c, "rules", "stuck_after", "\"5s\"")).await;
    d.create_shop("acme").await;
    // The stuck one first: walked to "in transit", then silent for longer than stuck_after.
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-STUCK-1", "S-1")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-STUCK-1", "in_transit").await;
    wait_for(
        Duration::from_secs(30),
        "the parcel to be stuck",
        async || {
            let p = d.socket.parcel("acme", "SANDBOX-STUCK-1").await.ok()?;
            p.stuck.then_some(())
        },
    )
    .await;
    // Two parcels of one order, and one of every other state.
    let mut others = vec![
        parcel("SANDBOX-DELIVERED-2", "A-1"),
        parcel("SANDBOX-ARRIVED-3", "A-1"),
        parcel("SANDBOX-RETURNED-4", "R-1"),
        parcel("SANDBOX-LOST-5", "L-1"),
    ];
    // A Russian Post parcel: that carrier is not enabled here, so it stays registered.
    others.push(ParcelIn {
        track: "10100012000016".into(),
        ..parcel("x", "P-1")
    });
    d.socket.add_parcels("acme", &others).await.unwrap();
    walk(&d, "acme", "SANDBOX-DELIVERED-2", "delivered").await;
    walk(&d, "acme", "SANDBOX-LOST-5", "lost").await;
    walk(&d, "acme", "SANDBOX-RETURNED-4", "returned_to_sender").await;

    // A parcel may turn stuck while the report is made: what the API says just before is the
    // least the report must show, what it says just after the most.
    let before = stuck_now(&d).await;
    let summary = d
        .socket
        .report("acme", &ReportRequest::default())
        .await
        .unwrap();
    let after = stuck_now(&d).await;
    assert!(
        before.contains(&"SANDBOX-STUCK-1".to_string()),
        "{before:?}"
    );
    assert_eq!(summary.sent_to.as_deref(), Some("ops@acme.test"));
    assert!((before.len()..=after.len()).contains(&summary.stuck));
    let stuck = if summary.stuck == before.len() {
        before
    } else {
        after
    };
    for (status, n) in [
        ("delivered", 1),
        ("arrived_at_pickup", 1),
        ("returned_to_sender", 1),
        ("lost", 1),
        ("in_transit", 1),
        ("registered", 1),
    ] {
        assert_eq!(
            summary.by_status.get(status),
            Some(&n),
            "{status}: {summary:?}"
        );
    }
    assert_eq!((summary.delivered, summary.returning), (1, 1));
    assert_eq!(
        summary.arrived, 3,
        "the delivered, waiting and returned parcels arrived today"
    );

    let mail = wait_for(Duration::from_secs(20), "the report e-mail", async || {
        d.mails().into_iter().find(|m| m.file.contains("-report-"))
    })
    .await;
    assert_eq!(mail.to, "ops@acme.test");
    assert!(
        mail.subject.contains(&format!("застряло {}", stuck.len())),
        "{}",
        mail.subject
    );
    for t in &stuck {
        assert!(
            mail.html.contains(&format!(
                r#"<tr class="stuck" style="background:#F4CCCC"><td>{t}</td>"#
            )),
            "{t} is not red: {}",
            mail.html
        );
    }
    assert_eq!(mail.html.matches(r#"class="stuck""#).count(), stuck.len());
    for (status, n) in [
        ("delivered", 1),
        ("lost", 1),
        ("registered", 1),
        ("live", 3),
    ] {
        assert!(
            mail.html
                .contains(&format!(r#"data-status="{status}">{n}<"#))
                || mail
                    .html
                    .contains(&format!(r#"data-status="{status}"><b>{n}</b>"#)),
            "count of {status}: {}",
            mail.html
        );
    }
    assert!(mail.html.contains("A-1 (2 посылки)"), "{}", mail.html);
    assert!(mail.text.contains("SANDBOX-STUCK-1"));
    assert!(mail.text.contains("+79123456789"), "contacts for the call");

    // The attachment: the same parcels, stuck rows filled red.
    let (name, bytes) = attachment(&mail.raw);
    assert!(
        name.starts_with("parceld-acme-") && name.ends_with(".xlsx"),
        "{name}"
    );
    let rows = read_sheet(&bytes, "Посылки", RED);
    assert_eq!(rows[0].0[0], "Трек");
    let data = &rows[1..];
    let mut red: Vec<String> = data
        .iter()
        .filter(|(_, filled)| *filled)
        .map(|(cells, _)| cells[0].clone())
        .collect();
    red.sort();
    assert_eq!(red, stuck, "red rows in the workbook");
    for (cells, filled) in data {
        assert_eq!(cells[11] == "да", *filled, "{cells:?}");
    }
    let tracks: Vec<&str> = data.iter().map(|(c, _)| c[0].as_str()).collect();
    for t in [
        "SANDBOX-STUCK-1",
        "SANDBOX-DELIVERED-2",
        "SANDBOX-ARRIVED-3",
        "SANDBOX-RETURNED-4",
        "SANDBOX-LOST-5",
        "10100012000016",
    ] {
        assert!(
            tracks.contains(&t),
            "{t} missing from the workbook: {tracks:?}"
        );
    }
    let stuck_row = data
        .iter()
        .find(|(c, _)| c[0] == "SANDBOX-STUCK-1")
        .unwrap();
    assert_eq!(stuck_row.0[4], "Иванов Иван Иванович");
    assert_eq!(stuck_row.0[5], "+79123456789");
    assert_eq!(stuck_row.0[6], "ivan@example.ru");
    assert!(!stuck_row.0[9].is_empty(), "the last known place");
    let summary_sheet = read_sheet(&bytes, "Сводка", RED);
    assert!(
        summary_sheet
            .iter()
            .any(|(c, _)| c[0] == "Застряли" && c[1] == stuck.len().to_string())
    );

    // Statistics of the same parcels.
    let s = d.socket.stats(Some("acme"), None, None).await.unwrap();
    assert_eq!(s.handed_over, 6);
    assert_eq!(s.orders, 5, "S-1, A-1 (two parcels), R-1, L-1, P-1");
    assert_eq!(s.finished.get("delivered"), Some(&1));
    assert_eq!(s.finished.get("returned_to_sender"), Some(&1));
    assert_eq!(s.return_rate, Some(0.3333));
    assert_eq!(s.arrived_to_pickup_days.count, 1);
    assert!(s.notifications["sms"].total > 0);
    let all = d.socket.stats(None, None, None).await.unwrap();
    assert_eq!(all.handed_over, 6);
    let token = d.create_shop("other").await;
    let shop = d.shop_client(Some(&token));
    assert_eq!(
        shop.stats(None, None, None).await.unwrap_err().status(),
        Some(403)
    );
    assert_eq!(
        shop.stats(Some("acme"), None, None)
            .await
            .unwrap_err()
            .status(),
        Some(403)
    );
}

#[tokio::test]
async fn daily_report_goes_once_a_day_across_restarts() {
    let mut d = Daemon::start_with(|c| {
        set(
            &set(&c, "reports", "check_every", "\"1s\""),
            "reports",
            "enabled",
            "true",
        )
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-STUCK-1", "S-1")])
        .await
        .unwrap();
    // Midnight has passed in every time zone: today's report is due at once.
    d.socket
        .patch_shop(
            "acme",
            &PatchShop {
                report_at: Some("00:00".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
    let first = wait_for(Duration::from_secs(30), "the daily report", async || {
        d.mails()
            .into_iter()
            .find(|m| m.file.starts_with("acme-report-"))
    })
    .await;
    let sent_line = "Daily report sent";
    wait_for(
        Duration::from_secs(10),
        "the report to be recorded",
        async || d.log().contains(sent_line).then_some(()),
    )
    .await;
    d.terminate();
    d.spawn().await;
    // A shop created after the restart gets its report: the reporter has looked at every shop.
    d.create_shop("late").await;
    d.socket
        .patch_shop(
            "late",
            &PatchShop {
                report_at: Some("00:00".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(30),
        "the second shop's report",
        async || {
            d.mails()
                .into_iter()
                .find(|m| m.file.starts_with("late-report-"))
        },
    )
    .await;
    let acme: Vec<_> = d
        .mails()
        .into_iter()
        .filter(|m| m.file.starts_with("acme-report-"))
        .collect();
    assert_eq!(acme.len(), 1);
    assert_eq!(acme[0].raw, first.raw, "not sent again");
    assert_eq!(d.log().matches(sent_line).count(), 2, "once for each shop");
}

#[tokio::test]
async fn personal_data_is_erased_after_retention_and_statistics_stay() {
    let d = Daemon::start_with(|c| {
        let c = set(&c, "retention", "erase_after", "\"1s\"");
        set(&c, "retention", "check_every", "\"1s\"")
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels(
            "acme",
            &[
                parcel("SANDBOX-DELIVERED-1", "A-1"),
                parcel("SANDBOX-ARRIVED-2", "A-2"),
            ],
        )
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-DELIVERED-1", "delivered").await;
    let p = wait_for(Duration::from_secs(30), "the erasure", async || {
        let p = d.socket.parcel("acme", "SANDBOX-DELIVERED-1").await.ok()?;
        p.customer.name.is_empty().then_some(p)
    })
    .await;
    assert_eq!(p.customer.phone, None);
    assert_eq!(p.customer.email, None);
    assert_eq!(p.status, "delivered");
    assert_eq!(p.order_id.as_deref(), Some("A-1"));
    assert!(
        p.notifications
            .iter()
            .all(|n| !n.recipient.contains("@example.ru")),
        "{:?}",
        p.notifications
    );
    // The parcel still waiting keeps its customer.
    let w = d.socket.parcel("acme", "SANDBOX-ARRIVED-2").await.unwrap();
    assert_eq!(w.customer.name, "Иванов Иван Иванович");
    let s = d.socket.stats(Some("acme"), None, None).await.unwrap();
    assert_eq!(s.finished.get("delivered"), Some(&1));
    assert_eq!(s.arrived_to_pickup_days.count, 1);
}

#[tokio::test]
async fn erasing_a_shop_removes_everything_even_after_a_crash_midway() {
    let mut d = Daemon::start().await;
    let token = d.create_shop("acme").await;
    d.create_shop("keep").await;
    for shop in ["acme", "keep"] {
        d.socket
            .add_parcels(
                shop,
                &[
                    parcel("SANDBOX-ARRIVED-1", "A-1"),
                    parcel("SANDBOX-STUCK-2", "A-1"),
                ],
            )
            .await
            .unwrap();
    }
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;

    // The daemon dies right after the erasure started.
    d.terminate();
    d.env
        .push(("PARCELD_FAULTS".into(), "shop_erase.abort".into()));
    d.spawn().await;
    assert!(
        d.socket.erase_shop("acme").await.is_err(),
        "the daemon died"
    );
    let _ = d.wait_exit(Duration::from_secs(30)).await;
    d.env.clear();
    d.spawn().await;
    // The janitor finishes it at start.
    wait_for(
        Duration::from_secs(30),
        "the erasure to finish",
        async || {
            let l = d.socket.list("acme", &[]).await.ok()?;
            l.parcels.is_empty().then_some(())
        },
    )
    .await;
    assert_eq!(d.socket.shop("acme").await.unwrap_err().status(), Some(404));
    assert_eq!(
        d.shop_client(Some(&token))
            .shops()
            .await
            .unwrap_err()
            .status(),
        Some(401)
    );
    assert_eq!(d.socket.list("keep", &[]).await.unwrap().parcels.len(), 2);

    // Without a crash: erased in one call; the id is free again, with nothing of the old shop.
    let r = d.socket.erase_shop("keep").await.unwrap();
    assert_eq!((r.erased.as_str(), r.parcels), ("keep", 2));
    assert_eq!(
        d.socket.erase_shop("keep").await.unwrap_err().status(),
        Some(404)
    );
    d.create_shop("keep").await;
    assert!(d.socket.list("keep", &[]).await.unwrap().parcels.is_empty());
    let shop = d.shop_client(Some(&token));
    assert_eq!(
        shop.erase_shop("keep").await.unwrap_err().status(),
        Some(401)
    );
}
