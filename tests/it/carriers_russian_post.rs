//! Russian Post's single access against a fake service on loopback that speaks SOAP 1.2: every
//! path reaches its status and office (delivered, returned, arrived, lost, a new number, EMS,
//! an unknown number), cash-on-delivery payment is read, faults back off without a crash,
//! refused credentials pause the carrier (and stay paused across a restart) until they change,
//! the rate is never exceeded and the daily budget holds across restarts, spent on the parcels
//! likeliest to have moved.

use crate::carriers_support::{
    carrier_health, closed_window, poll_all, prepaid, show, wait_status,
};
use crate::fakes::russian_post::{FakeRussianPost, Fault, PASSWORD};
use crate::harness::{Daemon, parcel, set, wait_for};
use jiff::Timestamp;
use std::time::Duration;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn every_path_reaches_its_status_and_office() {
    let rp = FakeRussianPost::start();
    rp.history(
        "10100012000016",
        &[
            "history_accepted.xml",
            "history_in_transit.xml",
            "history_arrived.xml",
            "history_delivered.xml",
        ],
    );
    rp.cod("10100012000016", "cod_events.xml");
    rp.history("10100012000023", &["history_returned.xml"]);
    rp.history("10100012000061", &["history_lost.xml"]);
    rp.history("10100012000047", &["history_renumbered.xml"]);
    rp.history("10100012000054", &["history_renumbered_new.xml"]);
    rp.history("10100012000078", &["history_arrived_variant.xml"]);
    rp.history("EE123456785RU", &["history_ems_arrived.xml"]);
    let window = closed_window();
    let d = Daemon::start_with(|c| rp.config(c, &[("window", window.as_str())])).await;
    d.create_shop("acme").await;
    let tracks = [
        "10100012000016",
        "10100012000023",
        "10100012000030",
        "10100012000047",
        "10100012000061",
        "10100012000078",
        "EE123456785RU",
    ];
    let parcels: Vec<_> = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| parcel(t, &format!("A-{i}")))
        .collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();

    let s = poll_all(&d).await;
    assert_eq!((s.polled, s.failed), (7, 0), "{s:?}");

    // One record with every optional group.
    let p = show(&d, "10100012000016").await;
    assert_eq!(p.status, "accepted");
    assert_eq!(p.events[0].code, "1/1");
    assert_eq!(p.events[0].at, ts("2025-03-03T11:20:00Z"));
    // Returned: 2/2 after 3/1; the 8/2 at the sender's office is not an arrival.
    let p = show(&d, "10100012000023").await;
    assert_eq!(p.status, "returned_to_sender");
    assert!(p.arrival.is_none());
    assert_eq!(p.next_poll_at, None, "finished: no more polls");
    // Lost.
    assert_eq!(show(&d, "10100012000061").await.status, "lost");
    // A well-formed number the post has never seen: no information yet, no error.
    let p = show(&d, "10100012000030").await;
    assert_eq!((p.status.as_str(), p.last_poll_error), ("registered", None));
    assert!(p.events.is_empty());
    // Out of order, other prefixes, offsets: arrived, at the 8/2 record's office.
    let p = show(&d, "10100012000078").await;
    assert_eq!(p.status, "arrived_at_pickup");
    let a = p.arrival.expect("waiting");
    assert_eq!(a.office.index.as_deref(), Some("630099"));
    assert_eq!(a.office.name, "Новосибирск 630099");
    assert_eq!(a.arrived_at, ts("2025-03-08T06:30:00Z"));
    // EMS through the same service.
    let p = show(&d, "EE123456785RU").await;
    assert_eq!(
        (p.carrier.as_str(), p.status.as_str()),
        ("ems", "arrived_at_pickup")
    );
    assert_eq!(p.arrival.unwrap().office.index.as_deref(), Some("190000"));
    // Re-registered: arrived under the new number, which is followed from now on.
    let p = show(&d, "10100012000047").await;
    assert_eq!(p.status, "arrived_at_pickup");
    assert_eq!(p.tracked_as.as_deref(), Some("10100012000054"));

    poll_all(&d).await;
    assert_eq!(show(&d, "10100012000016").await.status, "in_transit");
    assert_eq!(rp.asked("10100012000054"), 1, "the new number is asked for");
    assert_eq!(show(&d, "10100012000047").await.status, "delivered");

    poll_all(&d).await;
    let p = show(&d, "10100012000016").await;
    assert_eq!(p.status, "arrived_at_pickup");
    let a = p.arrival.expect("waiting");
    assert_eq!(a.office.index.as_deref(), Some("630099"));
    assert_eq!(a.arrived_at, ts("2025-03-08T02:12:00Z"), "09:12+07:00");

    poll_all(&d).await;
    let p = show(&d, "10100012000016").await;
    assert_eq!(p.status, "delivered");
    assert_eq!(
        p.cod_paid_at,
        Some(ts("2025-03-11T10:42:00Z")),
        "the money order was accepted at the office"
    );

    // Finished parcels are never asked about again.
    let asked: Vec<usize> = ["10100012000016", "10100012000023", "10100012000061"]
        .iter()
        .map(|t| rp.asked(t))
        .collect();
    poll_all(&d).await;
    let again: Vec<usize> = ["10100012000016", "10100012000023", "10100012000061"]
        .iter()
        .map(|t| rp.asked(t))
        .collect();
    assert_eq!(asked, again);

    // Every request was SOAP 1.2 with the right content type; payments were asked for only
    // for delivered parcels with cash due.
    for r in rp.seen() {
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/soap+xml;charset=UTF-8")
        );
    }
    let cod: Vec<_> = rp
        .seen()
        .into_iter()
        .filter(|r| r.op == "PostalOrderEventsForMail")
        .filter_map(|r| r.barcode)
        .collect();
    assert!(cod.contains(&"10100012000016".to_string()), "{cod:?}");
    assert!(!cod.contains(&"10100012000023".to_string()), "{cod:?}");

    // The customer of the returned parcel never heard "arrived"; its shop heard of the return.
    let sms = wait_for(Duration::from_secs(20), "arrival SMS", async || {
        let s = d.sms();
        s.iter()
            .any(|l| l.key.contains("10100012000078") && l.key.contains("-arrived-"))
            .then_some(s)
    })
    .await;
    assert!(!sms.iter().any(|l| l.key.contains("10100012000023")));
}

#[tokio::test]
async fn faults_back_off_and_nothing_crashes() {
    let rp = FakeRussianPost::start();
    rp.history("10100012000016", &["history_arrived.xml"]);
    rp.fail_next(vec![
        Fault::Status500,
        Fault::Garbage,
        Fault::Hang(Duration::from_secs(3)),
        Fault::Status500,
    ]);
    let d = Daemon::start_with(|c| {
        rp.config(
            c,
            &[
                ("timeout", "\"1s\""),
                ("retry_base", "\"1s\""),
                ("retry_cap", "\"4s\""),
            ],
        )
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[prepaid("10100012000016", "A-1")])
        .await
        .unwrap();
    // The scheduler polls by itself, backing off after each failure, until the service answers.
    wait_status(&d, "10100012000016", "arrived_at_pickup").await;
    let times: Vec<_> = rp
        .seen()
        .into_iter()
        .filter(|r| r.op == "getOperationHistory")
        .map(|r| r.at)
        .collect();
    assert_eq!(times.len(), 5, "four failures, then the answer");
    // Each retry waits at least a tenth of base·2^(n-1) (full jitter with a floor).
    for (i, w) in times.windows(2).enumerate() {
        let floor = Duration::from_millis(100 << i.min(2));
        assert!(
            w[1] - w[0] >= floor,
            "retry {i} came after {:?}",
            w[1] - w[0]
        );
    }
    let log = d.log();
    for needle in ["HTTP 500", "unreadable answer", "no answer in time"] {
        assert!(log.contains(needle), "{needle:?} in the log");
    }
    let h = d.socket.health().await.unwrap();
    assert_eq!(h.carriers["russian_post"].state, "ok");
    let p = show(&d, "10100012000016").await;
    assert_eq!(p.last_poll_error, None, "cleared by the success");
}

#[tokio::test]
async fn refused_credentials_pause_the_carrier_until_they_change() {
    let rp = FakeRussianPost::start();
    rp.history("10100012000016", &["history_arrived.xml"]);
    rp.history("10100012000078", &["history_arrived_variant.xml"]);
    rp.write_password("not-the-password");
    let mut d = Daemon::start_with(|c| rp.config(c, &[])).await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[prepaid("10100012000016", "A-1")])
        .await
        .unwrap();
    let h = wait_for(
        Duration::from_secs(20),
        "the carrier to pause",
        async || {
            let h = carrier_health(&d, "russian_post").await;
            (h.state == "paused").then_some(h)
        },
    )
    .await;
    assert!(
        h.paused_reason
            .as_deref()
            .unwrap_or_default()
            .contains("авторизации"),
        "{h:?}"
    );
    assert!(h.paused_until.is_some_and(|u| u > Timestamp::now()));
    assert_eq!(d.socket.health().await.unwrap().status, "degraded");
    let metrics = d.socket.metrics().await.unwrap();
    assert!(
        metrics.contains("parceld_carrier_paused{carrier=\"russian_post\"} 1"),
        "{metrics}"
    );
    assert!(!d.log().contains(PASSWORD) && !d.log().contains("not-the-password"));

    // Paused: asking again does not reach the carrier, not even after a restart.
    let before = rp.seen().len();
    let s = poll_all(&d).await;
    assert_eq!((s.polled, s.skipped), (0, 1), "{s:?}");
    assert_eq!(d.terminate().code(), Some(0));
    d.spawn().await;
    assert_eq!(carrier_health(&d, "russian_post").await.state, "paused");
    poll_all(&d).await;
    assert_eq!(rp.seen().len(), before, "no request while paused");

    // New credentials lift the pause at the next start.
    rp.write_password(PASSWORD);
    assert_eq!(d.terminate().code(), Some(0));
    d.spawn().await;
    assert_eq!(carrier_health(&d, "russian_post").await.state, "ok");
    poll_all(&d).await;
    assert_eq!(show(&d, "10100012000016").await.status, "arrived_at_pickup");

    // The service's daily limit pauses it too.
    rp.fail_always(Some(Fault::Limit));
    d.socket
        .add_parcels("acme", &[prepaid("10100012000078", "A-2")])
        .await
        .unwrap();
    let h = wait_for(Duration::from_secs(20), "the limit pause", async || {
        let h = carrier_health(&d, "russian_post").await;
        (h.state == "paused").then_some(h)
    })
    .await;
    assert!(h.paused_reason.unwrap_or_default().contains("лимит"));
}

#[tokio::test]
async fn requests_never_exceed_the_rate() {
    let rp = FakeRussianPost::start();
    let tracks: Vec<String> = (1..=13)
        .map(|n| {
            let first = format!("1010001200{:03}", n);
            let sum: u32 = first
                .bytes()
                .enumerate()
                .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
                .sum();
            format!("{first}{}", (10 - sum % 10) % 10)
        })
        .collect();
    for t in &tracks {
        rp.history_as(t, &["history_in_transit.xml"], "10100012000016");
    }
    let window = closed_window();
    let d = Daemon::start_with(|c| {
        rp.config(
            c,
            &[
                ("rate", "\"5/s\""),
                ("concurrency", "3"),
                ("window", window.as_str()),
            ],
        )
    })
    .await;
    d.create_shop("acme").await;
    let parcels: Vec<_> = tracks.iter().map(|t| prepaid(t, t)).collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();
    let s = poll_all(&d).await;
    assert_eq!(s.polled, 13, "{s:?}");
    let mut times: Vec<_> = rp.seen().into_iter().map(|r| r.at).collect();
    times.sort();
    assert_eq!(times.len(), 13);
    // No one-second span holds more than five requests.
    for w in times.windows(6) {
        assert!(
            w[5] - w[0] >= Duration::from_secs(1),
            "six requests within {:?}",
            w[5] - w[0]
        );
    }
}

#[tokio::test]
async fn the_daily_budget_holds_across_restarts_and_goes_to_likely_movers() {
    let rp = FakeRussianPost::start();
    let waiting = ["10100012000016", "10100012000023"];
    let moving = [
        "10100012000030",
        "10100012000047",
        "10100012000054",
        "10100012000061",
    ];
    for t in waiting {
        rp.history_as(t, &["history_arrived.xml"], "10100012000016");
    }
    for t in moving {
        rp.history_as(t, &["history_in_transit.xml"], "10100012000016");
    }
    let window = closed_window();
    let config = |limit: &'static str| {
        let window = window.clone();
        let rp = &rp;
        move |c: String| rp.config(c, &[("daily_limit", limit), ("window", window.as_str())])
    };
    let mut d = Daemon::start_with(config("6")).await;
    d.create_shop("acme").await;
    let parcels: Vec<_> = waiting
        .iter()
        .chain(moving.iter())
        .map(|t| prepaid(t, t))
        .collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();
    let s = poll_all(&d).await;
    assert_eq!((s.polled, s.failed), (6, 0), "{s:?}");
    assert_eq!(rp.seen().len(), 6);
    let h = carrier_health(&d, "russian_post").await;
    assert_eq!((h.requests_today, h.daily_limit), (6, Some(6)));

    // Spent: nothing more today, not even after a restart.
    poll_all(&d).await;
    assert_eq!(rp.seen().len(), 6);
    let h = carrier_health(&d, "russian_post").await;
    assert_eq!(h.state, "paused");
    assert!(h.paused_reason.unwrap_or_default().contains("daily_limit"));
    assert_eq!(d.terminate().code(), Some(0));
    d.spawn().await;
    poll_all(&d).await;
    assert_eq!(rp.seen().len(), 6, "the count survives a restart");

    // Two more requests allowed: they go to the parcels waiting at the office.
    assert_eq!(d.terminate().code(), Some(0));
    let text = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(
        &d.config,
        set(&text, "carriers.russian_post", "daily_limit", "8"),
    )
    .unwrap();
    d.spawn().await;
    let s = poll_all(&d).await;
    assert_eq!(s.polled, 2, "{s:?}");
    let last: Vec<String> = rp.seen()[6..]
        .iter()
        .filter_map(|r| r.barcode.clone())
        .collect();
    let mut last_sorted = last.clone();
    last_sorted.sort();
    assert_eq!(last_sorted, waiting, "asked: {last:?}");
    assert_eq!(carrier_health(&d, "russian_post").await.requests_today, 8);
}
