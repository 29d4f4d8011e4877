//! Russian Post's batch access against a fake `fc` service (SOAP 1.1): one ticket for a batch,
//! the wait before asking for the answer, "not ready" answers, an answer in several items, a
//! ticket that survives kill -9 and is resumed instead of asked for again, and an expired
//! ticket replaced by a new one.

use crate::carriers_support::{carrier_health, closed_window, poll_all, wait_status};
use crate::fakes::russian_post::FakeRussianPost;
use crate::harness::{Daemon, parcel, wait_for};
use std::time::Duration;

const TRACKS: [&str; 3] = ["10100012000016", "EE123456785RU", "10100012000030"];

/// A daemon whose scheduler leaves the parcels alone until the test polls them (the window is
/// closed); retries after a failure and resumed tickets do not wait for the window.
async fn start(rp: &FakeRussianPost) -> Daemon {
    let window = closed_window();
    Daemon::start_with(|c| {
        rp.config(
            c,
            &[
                ("batch", "true"),
                ("ticket_wait", "\"1s\""),
                ("ticket_gather", "\"1s\""),
                ("retry_base", "\"1s\""),
                ("retry_cap", "\"2s\""),
                ("window", window.as_str()),
            ],
        )
    })
    .await
}

async fn check_answer_applied(d: &Daemon) {
    let p = wait_status(d, "10100012000016", "delivered").await;
    assert_eq!(
        p.cod_paid_at,
        Some("2025-03-11T10:42:00Z".parse().unwrap()),
        "paid, asked by single access after the batch answer"
    );
    let p = wait_status(d, "EE123456785RU", "arrived_at_pickup").await;
    assert_eq!(p.arrival.unwrap().office.index.as_deref(), Some("190000"));
    let p = d.socket.parcel("acme", "10100012000030").await.unwrap();
    assert_eq!((p.status.as_str(), p.last_poll_error), ("registered", None));
}

#[tokio::test]
async fn a_batch_ticket_survives_kill_9_and_is_resumed() {
    let rp = FakeRussianPost::start();
    rp.cod("10100012000016", "cod_events.xml");
    rp.not_ready_for(1);
    let mut d = start(&rp).await;
    d.create_shop("acme").await;
    let parcels: Vec<_> = TRACKS.iter().map(|t| parcel(t, t)).collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();

    // One ticket for the three; once it is in the store, kill.
    let socket = d.socket.clone();
    let polling = tokio::spawn(async move {
        let _ = socket
            .poll(&parceld::api::dto::PollRequest {
                shop: None,
                all: true,
            })
            .await;
    });
    wait_for(Duration::from_secs(20), "an open ticket", async || {
        (carrier_health(&d, "russian_post").await.open_tickets == 1).then_some(())
    })
    .await;
    d.kill9();
    let _ = polling.await;
    assert_eq!(rp.count("ticketRequest"), 1);
    let ticket = rp
        .seen()
        .into_iter()
        .find(|s| s.op == "ticketRequest")
        .unwrap();
    let mut asked = ticket.barcodes.clone();
    asked.sort();
    let mut want: Vec<String> = TRACKS.iter().map(|t| t.to_string()).collect();
    want.sort();
    assert_eq!(asked, want);

    d.spawn().await;
    check_answer_applied(&d).await;
    assert_eq!(
        rp.count("ticketRequest"),
        1,
        "the ticket was resumed, not asked again"
    );
    let asks: Vec<_> = rp
        .seen()
        .into_iter()
        .filter(|s| s.op == "answerByTicketRequest")
        .collect();
    assert!(asks.len() >= 2, "not ready once, then the answer");
    let id = asks[0].ticket.clone().unwrap();
    assert!(
        asks.iter()
            .all(|a| a.ticket.as_deref() == Some(id.as_str()))
    );
    assert!(
        asks[0].at - ticket.at >= Duration::from_secs(1),
        "the first ask waits ticket_wait"
    );
    for w in asks.windows(2) {
        assert!(
            w[1].at - w[0].at >= Duration::from_secs(1),
            "asks are ticket_wait apart"
        );
    }
    assert_eq!(carrier_health(&d, "russian_post").await.open_tickets, 0);
}

#[tokio::test]
async fn an_expired_ticket_is_replaced_by_a_new_one() {
    let rp = FakeRussianPost::start();
    rp.cod("10100012000016", "cod_events.xml");
    rp.expire_next(1);
    let d = start(&rp).await;
    d.create_shop("acme").await;
    let parcels: Vec<_> = TRACKS.iter().map(|t| parcel(t, t)).collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();
    let s = poll_all(&d).await;
    assert_eq!(s.failed, 3, "the ticket expired: {s:?}");
    // The scheduler asks again, all three in one new ticket.
    check_answer_applied(&d).await;
    assert_eq!(
        rp.count("ticketRequest"),
        2,
        "asked again after ErrorTypeID 17"
    );
    assert!(d.log().contains("ErrorTypeID 17"), "logged");
}
