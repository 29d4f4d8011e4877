//! A parcel's journey through the real daemon: polls walk sandbox parcels, notifications reach
//! the outbox folder and the SMS file once each, reminders repeat while a parcel waits, stuck
//! parcels are flagged, and the shop hears about returns.

use crate::harness::{Daemon, parcel, set, wait_for, walk};
use parceld::api::dto::{Field, PollRequest};
use std::time::Duration;

async fn poll_all(d: &Daemon) {
    d.socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn arrival_tells_the_customer_where_what_and_until_when() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-DELIVERED-1", "A-1001")])
        .await
        .unwrap();
    // The first poll is due at once (accepted); two more steps to "arrived".
    walk(&d, "acme", "SANDBOX-DELIVERED-1", "arrived_at_pickup").await;
    let p = d
        .socket
        .parcel("acme", "SANDBOX-DELIVERED-1")
        .await
        .unwrap();
    assert_eq!(p.status, "arrived_at_pickup");
    let arrival = p.arrival.expect("waiting");
    assert_eq!(arrival.office.index.as_deref(), Some("630099"));
    // A parcel (the sandbox reports Russian Post's MailType 4) waits 15 calendar days from the
    // day after it arrived, in the office's zone.
    assert_eq!(arrival.days_left, 15);
    assert!(
        arrival.deadline_basis.starts_with("15 days, parcel, from "),
        "{}",
        arrival.deadline_basis
    );

    let sms = wait_for(Duration::from_secs(20), "the arrival SMS", async || {
        d.sms()
            .into_iter()
            .find(|s| s.key.contains("-arrived-1-sms"))
    })
    .await;
    assert_eq!(sms.phone, "+79123456789");
    // The address, hours and map are on the parcel's page, which the SMS links.
    let page = format!("http://127.0.0.1:{}/t/", d.port);
    for needle in [
        "A-1001",
        "630099",
        page.as_str(),
        "1\u{a0}490,00 ₽",
        "SANDBOX-DELIVERED-1",
        "до ",
    ] {
        assert!(
            sms.text.contains(needle),
            "{needle:?} missing in the SMS: {}",
            sms.text
        );
    }
    // The date as the customer's office counts it: Novosibirsk is four hours ahead of Moscow,
    // so late in a Moscow evening the two disagree on the day.
    let office_zone = parceld::domain::postal_zone::zone_of_index("630099").unwrap();
    assert_eq!(office_zone, "Asia/Novosibirsk");
    let deadline_day = arrival
        .deadline
        .to_zoned(jiff::tz::TimeZone::get(office_zone).unwrap())
        .day();
    assert!(
        sms.text.contains(&format!("до {deadline_day} ")),
        "deadline day in the SMS: {}",
        sms.text
    );

    let mail = wait_for(Duration::from_secs(20), "the arrival e-mail", async || {
        d.mails()
            .into_iter()
            .find(|m| m.file.contains("-arrived-1-email"))
    })
    .await;
    assert_eq!(mail.to, "ivan@example.ru");
    assert!(
        mail.subject.contains("A-1001") && mail.subject.contains("630099"),
        "{}",
        mail.subject
    );
    for needle in [
        "Здравствуйте, Иван!",
        "Новосибирск, ул. Советская, 33",
        "Часы работы",
        "Хранится до",
        "1\u{a0}490,00 ₽",
        "Мастер и Маргарита",
        "SANDBOX-DELIVERED-1",
    ] {
        assert!(
            mail.text.contains(needle),
            "{needle:?} missing in the e-mail:\n{}",
            mail.text
        );
    }
    assert!(
        mail.html.contains("&laquo;") || mail.html.contains("«"),
        "{}",
        mail.html
    );
    assert!(mail.raw.contains("Reply-To: ops@acme.test"));

    // Collected: a thank-you, and nothing else afterwards.
    walk(&d, "acme", "SANDBOX-DELIVERED-1", "delivered").await;
    poll_all(&d).await;
    let p = wait_for(Duration::from_secs(20), "six messages sent", async || {
        let p = d.socket.parcel("acme", "SANDBOX-DELIVERED-1").await.ok()?;
        (p.notifications.iter().filter(|n| n.state == "sent").count() == 6).then_some(p)
    })
    .await;
    assert_eq!(p.next_poll_at, None);
    let keys: Vec<String> = d.sms().into_iter().map(|s| s.key).collect();
    assert_eq!(keys.len(), 3, "accepted, arrived, delivered: {keys:?}");
    assert_eq!(d.mails().len(), 3);
}

#[tokio::test]
async fn reminders_repeat_while_the_parcel_waits_and_stop_when_collected() {
    let d = Daemon::start_with(|c| {
        let c = set(&c, "rules", "reminder_every", "\"2s\"");
        let c = set(&c, "rules.storage", "count_from", "\"arrival\"");
        let c = set(&c, "rules.storage", "parcel", "\"60s\"");
        set(&c, "rules", "last_reminder_before", "\"1s\"")
    })
    .await;
    d.create_shop("acme").await;
    let mut p = parcel("SANDBOX-FAILED-1", "R-1");
    p.customer.as_mut().unwrap().email = Field::Absent;
    d.socket.add_parcels("acme", &[p]).await.unwrap();
    walk(&d, "acme", "SANDBOX-FAILED-1", "arrived_at_pickup").await;
    let reminders = wait_for(Duration::from_secs(20), "two reminders", async || {
        let n = d
            .sms()
            .iter()
            .filter(|s| s.key.contains("-reminder-"))
            .count();
        (n >= 2).then_some(n)
    })
    .await;
    assert!(reminders >= 2);
    let lines = d.sms();
    let r1 = lines
        .iter()
        .find(|s| s.key.ends_with("-reminder-1-sms"))
        .expect("first reminder");
    assert!(r1.text.starts_with("Напоминаем"), "{}", r1.text);
    assert!(lines.iter().any(|s| s.key.ends_with("-reminder-2-sms")));

    // A failed courier attempt keeps it waiting; collecting it stops the reminders.
    walk(&d, "acme", "SANDBOX-FAILED-1", "delivery_failed").await;
    let p = d.socket.parcel("acme", "SANDBOX-FAILED-1").await.unwrap();
    assert!(
        p.arrival.is_some() && p.next_reminder_at.is_some(),
        "still waiting at the office"
    );
    walk(&d, "acme", "SANDBOX-FAILED-1", "delivered").await;
    let p = d.socket.parcel("acme", "SANDBOX-FAILED-1").await.unwrap();
    assert_eq!(p.next_reminder_at, None);
    let after = d
        .sms()
        .iter()
        .filter(|s| s.key.contains("-reminder-"))
        .count();
    tokio::time::sleep(Duration::from_secs(3)).await; // longer than reminder_every: a reminder would show up
    let later = d
        .sms()
        .iter()
        .filter(|s| s.key.contains("-reminder-"))
        .count();
    assert_eq!(after, later, "no reminder after delivery");
    // Every message is there once.
    let mut keys: Vec<String> = d.sms().into_iter().map(|s| s.key).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "a message was sent twice");
}

#[tokio::test]
async fn parcels_without_news_are_flagged_stuck() {
    let d = Daemon::start_with(|c| set(&c, "rules", "stuck_after", "\"2s\"")).await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels(
            "acme",
            &[
                parcel("SANDBOX-STUCK-1", "S-1"),
                parcel("SANDBOX-DELIVERED-2", "S-2"),
            ],
        )
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-DELIVERED-2", "delivered").await;
    walk(&d, "acme", "SANDBOX-STUCK-1", "in_transit").await;
    let stuck = wait_for(Duration::from_secs(10), "the stuck parcel", async || {
        let l = d
            .socket
            .list("acme", &[("stuck", "true".into())])
            .await
            .ok()?;
        (!l.parcels.is_empty()).then_some(l)
    })
    .await;
    let tracks: Vec<&str> = stuck.parcels.iter().map(|p| p.track.as_str()).collect();
    assert_eq!(
        tracks,
        ["SANDBOX-STUCK-1"],
        "the delivered parcel is never stuck"
    );
    assert_eq!(stuck.parcels[0].status, "in_transit");
    assert!(stuck.parcels[0].stuck);
    let fresh = d
        .socket
        .list("acme", &[("stuck", "false".into())])
        .await
        .unwrap();
    assert_eq!(fresh.parcels.len(), 1);
}

#[tokio::test]
async fn a_return_alerts_the_shop_and_stops_customer_messages() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-RETURNED-1", "RET-1")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-RETURNED-1", "returned_to_sender").await;
    let p = d.socket.parcel("acme", "SANDBOX-RETURNED-1").await.unwrap();
    assert_eq!(p.status, "returned_to_sender", "{}", d.log());
    let alert = wait_for(
        Duration::from_secs(20),
        "the shop's return alert",
        async || {
            d.mails()
                .into_iter()
                .find(|m| m.file.contains("return_started"))
        },
    )
    .await;
    assert_eq!(alert.to, "ops@acme.test");
    assert!(alert.subject.contains("RET-1"));
    assert!(
        alert.text.contains("+79123456789") && alert.text.contains("ivan@example.ru"),
        "customer contacts for the shop:\n{}",
        alert.text
    );
    assert!(
        !d.sms().iter().any(|s| s.key.contains("return")),
        "the customer gets no return SMS"
    );
}
