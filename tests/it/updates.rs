//! Handing a known parcel over again loses nothing: a field left out (of the JSON, a sheet
//! without that column, an empty cell) keeps its value, JSON `null` and a `-` cell clear it,
//! and the answer names the fields that changed; parcels the carrier said nothing about for
//! `rules.give_up_after` are no longer polled until the shop revives them; and a message
//! leaves as soon as the transaction that queued it commits, while a long poll still runs.

use crate::carriers_support::{closed_window, poll_all, prepaid};
use crate::fakes::russian_post::{FakeRussianPost, Op};
use crate::harness::{Daemon, parcel, set, wait_for, walk};
use parceld::api::dto::{IntakeOutcome, PollRequest};
use std::time::Duration;

const CSV: &str = "text/csv";

#[tokio::test]
async fn handing_over_again_with_fewer_fields_erases_nothing() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let track = "SANDBOX-ARRIVED-1";
    d.socket
        .add_parcels("acme", &[parcel(track, "A-1")])
        .await
        .unwrap();

    // Only the track and the order: nothing changes.
    let r = d
        .socket
        .add_json(
            "acme",
            &serde_json::json!({"track": track, "order_id": "A-1"}),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].outcome, IntakeOutcome::AlreadyPresent, "{r:?}");

    // A sheet without the phone, e-mail and amount columns, and an empty name cell.
    let sheet = format!("Трек;Заказ;ФИО\r\n{track};A-1;\r\n");
    let r = d
        .socket
        .import_file("acme", sheet.into_bytes(), CSV)
        .await
        .unwrap();
    assert_eq!(r.results[0].outcome, IntakeOutcome::AlreadyPresent, "{r:?}");
    let p = d.socket.parcel("acme", track).await.unwrap();
    assert_eq!(p.customer.name, "Иванов Иван Иванович");
    assert_eq!(p.customer.phone.as_deref(), Some("+79123456789"));
    assert_eq!(p.customer.email.as_deref(), Some("ivan@example.ru"));
    assert_eq!(p.cod_amount, "1490.00");

    // JSON null clears a field; the answer names it.
    let r = d
        .socket
        .add_json(
            "acme",
            &serde_json::json!({"track": track, "customer": {"email": null}, "contents": "Две книги"}),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].outcome, IntakeOutcome::Updated);
    assert_eq!(r.results[0].changed, ["customer.email", "contents"]);
    let p = d.socket.parcel("acme", track).await.unwrap();
    assert_eq!(p.customer.email, None);
    assert_eq!(p.customer.phone.as_deref(), Some("+79123456789"));

    // In a sheet, a lone dash clears and a value sets.
    let sheet = format!("Трек;Состав;Телефон;Срок хранения\r\n{track};-;+7 999 000-11-22;10\r\n");
    let r = d
        .socket
        .import_file("acme", sheet.into_bytes(), CSV)
        .await
        .unwrap();
    assert_eq!(r.results[0].outcome, IntakeOutcome::Updated, "{r:?}");
    let p = d.socket.parcel("acme", track).await.unwrap();
    assert_eq!(p.contents, None);
    assert_eq!(p.customer.phone.as_deref(), Some("+79990001122"));
    assert_eq!(p.storage_days, Some(10));
    assert_eq!(p.cod_amount, "1490.00", "still due");

    // The customer is told the amount due that was kept, at the phone given last, with the
    // parcel's own storage period.
    walk(&d, "acme", track, "arrived_at_pickup").await;
    let sms = wait_for(Duration::from_secs(20), "the arrival SMS", async || {
        d.sms()
            .into_iter()
            .find(|s| s.key.contains("-arrived-1-sms"))
    })
    .await;
    assert_eq!(sms.phone, "+79990001122");
    assert!(sms.text.contains("1\u{a0}490,00 ₽"), "{}", sms.text);
    let a = d
        .socket
        .parcel("acme", track)
        .await
        .unwrap()
        .arrival
        .unwrap();
    assert_eq!(a.days_left, 10);
    assert!(
        a.deadline_basis
            .starts_with("10 days, the parcel's own period"),
        "{}",
        a.deadline_basis
    );
}

#[tokio::test]
async fn a_parcel_the_carrier_forgot_is_given_up_on_until_the_shop_revives_it() {
    let rp = FakeRussianPost::start();
    let window = closed_window();
    let d = Daemon::start_with(|c| {
        let c = rp.config(c, &[("window", window.as_str())]);
        let c = set(&c, "rules", "stuck_after", "\"1s\"");
        set(&c, "rules", "give_up_after", "\"2s\"")
    })
    .await;
    d.create_shop("acme").await;
    let track = "10100012000016";
    d.socket
        .add_parcels("acme", &[prepaid(track, "A-1")])
        .await
        .unwrap();
    // The service knows nothing of it (an empty history), now and later.
    poll_all(&d).await;
    assert_eq!(rp.asked(track), 1);
    let p = d.socket.parcel("acme", track).await.unwrap();
    assert!(
        p.next_poll_at.is_some() && p.abandoned_at.is_none(),
        "{p:?}"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await; // longer than give_up_after
    poll_all(&d).await;
    assert_eq!(rp.asked(track), 2);
    let p = d.socket.parcel("acme", track).await.unwrap();
    assert!(p.abandoned_at.is_some(), "{p:?}");
    assert_eq!(p.next_poll_at, None);
    assert!(p.stuck);
    // Not asked again, not even by "poll everything".
    poll_all(&d).await;
    assert_eq!(rp.asked(track), 2);
    // The report says so.
    let html = String::from_utf8(d.socket.report_file("acme", "html").await.unwrap()).unwrap();
    assert!(html.contains("опрос остановлен"), "{html}");

    // The shop revives it: asked again, and given up only after another silence.
    let revived = d.socket.revive("acme", track).await.unwrap();
    assert_eq!(revived.abandoned_at, None);
    assert!(revived.next_poll_at.is_some());
    poll_all(&d).await;
    assert_eq!(rp.asked(track), 3);
    assert_eq!(
        d.socket.parcel("acme", track).await.unwrap().abandoned_at,
        None
    );
    let again = d.socket.revive("acme", track).await.unwrap_err();
    assert_eq!(again.status(), Some(409), "it is polled already");
}

#[tokio::test]
async fn a_message_leaves_while_a_long_poll_is_still_running() {
    let rp = FakeRussianPost::start();
    let arrived = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(5);
    let arrival = [Op::at_office(8, 2, "Прибыло в место вручения", arrived)];
    rp.records("10100012000016", &[&arrival]);
    rp.records("10100012000023", &[&arrival]);
    // The answer about the second parcel takes as long as the test wants.
    let gate = rp.hold("10100012000023");
    let window = closed_window();
    let d = Daemon::start_with(|c| {
        // A time limit far beyond the test: the held answer is waited for.
        rp.config(
            c,
            &[
                ("window", window.as_str()),
                ("concurrency", "2"),
                ("timeout", "\"120s\""),
            ],
        )
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels(
            "acme",
            &[
                prepaid("10100012000016", "A-1"),
                prepaid("10100012000023", "A-2"),
            ],
        )
        .await
        .unwrap();
    let socket = d.socket.clone();
    let poll = tokio::spawn(async move {
        socket
            .poll(&PollRequest {
                shop: None,
                all: true,
            })
            .await
    });
    // The first parcel's arrival is told while the poll waits for the second answer.
    wait_for(
        Duration::from_secs(15),
        "the first arrival SMS",
        async || {
            d.sms()
                .into_iter()
                .find(|s| s.key.contains("-10100012000016-") && s.key.contains("-arrived-"))
        },
    )
    .await;
    assert!(
        !poll.is_finished(),
        "the poll still waits for the held answer"
    );
    assert!(
        !d.sms().iter().any(|s| s.key.contains("-10100012000023-")),
        "nothing about the held parcel yet"
    );
    gate.add_permits(1);
    let summary = poll.await.unwrap().unwrap();
    assert_eq!(summary.polled, 2, "{summary:?}");
    wait_for(
        Duration::from_secs(15),
        "the second arrival SMS",
        async || {
            d.sms()
                .into_iter()
                .find(|s| s.key.contains("-10100012000023-") && s.key.contains("-arrived-"))
        },
    )
    .await;
}
