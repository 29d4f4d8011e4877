//! Carrier faults: Russian Post's service resets connections, answers 429, sends an HTML page
//! or half an XML document instead of its answer, answers only after 30 s, refuses our
//! credentials or says the limit is spent. Meanwhile the daemon keeps answering its API, the
//! sandbox and China Post (17TRACK) keep going, and once the fake service heals the failed
//! carrier goes on by itself, without anyone asking it to poll.

use crate::carriers_support::wait_status;
use crate::fakes::front::Front;
use crate::fakes::russian_post::{FakeRussianPost, Fault, PASSWORD};
use crate::fakes::track17::FakeTrack17;
use crate::harness::{Daemon, parcel, set, wait_for};
use parceld::api::dto::{Field, ParcelIn};
use parceld::domain::track::{domestic_check_digit, s10_check_digit};
use std::time::Duration;

/// A valid Russian Post number with serial `n`.
fn rp_track(n: u32) -> String {
    let first = format!("101000120{n:04}");
    format!("{first}{}", domestic_check_digit(first.as_bytes()))
}

/// A valid China Post number with serial `n`.
fn cn_track(n: u32) -> String {
    let serial = format!("{n:08}");
    let mut digits = [0u8; 8];
    digits.copy_from_slice(serial.as_bytes());
    format!("RR{serial}{}CN", s10_check_digit(&digits))
}

fn prepaid(track: &str) -> ParcelIn {
    ParcelIn {
        cod_amount: Field::Absent,
        ..parcel(track, track)
    }
}

/// Russian Post behind a front door that can reset connections; 17TRACK; the sandbox; every
/// carrier polled by the scheduler on its own every second.
fn config(
    c: String,
    rp: &FakeRussianPost,
    front: &Front,
    t17: &FakeTrack17,
    timeout: &str,
) -> String {
    let endpoint = format!("\"{}/rtm34\"", front.base);
    let c = rp.config(
        c,
        &[
            ("endpoint", endpoint.as_str()),
            ("timeout", timeout),
            ("poll_every", "\"1s\""),
            ("concurrency", "1"),
        ],
    );
    let c = t17.config(c, &[("poll_every", "\"1s\""), ("handoff", "false")]);
    set(&c, "carriers.sandbox", "poll_every", "\"1s\"")
}

/// Hands over a sandbox and a China Post parcel and waits until both moved on by themselves.
async fn others_keep_going(d: &Daemon, t17: &FakeTrack17, n: u32) {
    let sandbox = format!("SANDBOX-DELIVERED-{n}");
    let cn = cn_track(n);
    t17.script(&cn, &["info_received.json", "in_transit.json"]);
    let r = d
        .socket
        .add_parcels("acme", &[prepaid(&sandbox), prepaid(&cn)])
        .await
        .expect("the API takes parcels while a carrier fails");
    assert_eq!(r.created, 2, "{r:?}");
    wait_status(d, &sandbox, "in_transit").await;
    wait_status(d, &cn, "in_transit").await;
}

async fn add(d: &Daemon, track: &str) {
    let r = d
        .socket
        .add_parcels("acme", &[prepaid(track)])
        .await
        .unwrap();
    assert_eq!(r.created, 1, "{r:?}");
}

#[tokio::test]
async fn each_fault_leaves_the_api_and_the_other_carriers_alone_and_heals_by_itself() {
    let rp = FakeRussianPost::start();
    let front = Front::start(rp.base());
    let t17 = FakeTrack17::start();
    let d = Daemon::start_with(|c| config(c, &rp, &front, &t17, "\"2s\"")).await;
    d.create_shop("acme").await;

    let faults: Vec<(&str, Option<Fault>, &str)> = vec![
        ("connection reset", None, "connection"),
        ("429", Some(Fault::TooMany), "rate limited (retry after 1s)"),
        ("HTML", Some(Fault::Html), "unreadable answer"),
        ("truncated XML", Some(Fault::Truncated), "unreadable answer"),
        (
            "an answer after 30 s",
            Some(Fault::Slow(Duration::from_secs(30))),
            "no answer in time",
        ),
    ];
    for (n, (what, fault, says)) in faults.into_iter().enumerate() {
        let n = n as u32 + 1;
        let track = rp_track(n);
        rp.history_as(&track, &["history_arrived.xml"], "10100012000016");
        match &fault {
            None => front.reset_always(true),
            Some(f) => rp.fail_always(Some(f.clone())),
        }
        add(&d, &track).await;
        let error = wait_for(Duration::from_secs(30), what, async || {
            let p = d.socket.parcel("acme", &track).await.ok()?;
            p.last_poll_error
        })
        .await;
        assert!(error.contains(says), "{what}: {error}");
        let h = d.socket.health().await.unwrap();
        assert_eq!(h.carriers["russian_post"].state, "failing", "{what}: {h:?}");
        assert_eq!(h.carriers["sandbox"].state, "ok", "{what}");
        others_keep_going(&d, &t17, n).await;
        assert_eq!(
            d.socket.parcel("acme", &track).await.unwrap().status,
            "registered",
            "{what}: no answer got through"
        );

        // Healed: the scheduler asks again by itself and the parcel arrives.
        front.reset_always(false);
        rp.fail_always(None);
        wait_status(&d, &track, "arrived_at_pickup").await;
        let h = d.socket.health().await.unwrap();
        assert_eq!(h.carriers["russian_post"].state, "ok", "{what}: {h:?}");
    }
    assert!(front.resets() > 0, "the front door reset connections");
    assert!(d.socket.health().await.is_ok());
}

#[tokio::test]
async fn an_answer_that_takes_30_s_holds_up_nothing_else() {
    let rp = FakeRussianPost::start();
    let front = Front::start(rp.base());
    let t17 = FakeTrack17::start();
    // A time limit above the wait: the answer is waited for, and used.
    let d = Daemon::start_with(|c| config(c, &rp, &front, &t17, "\"60s\"")).await;
    d.create_shop("acme").await;
    let track = rp_track(100);
    rp.history_as(&track, &["history_arrived.xml"], "10100012000016");
    rp.fail_always(Some(Fault::Slow(Duration::from_secs(30))));
    add(&d, &track).await;
    wait_for(Duration::from_secs(10), "the slow request", async || {
        (rp.count("getOperationHistory") > 0).then_some(())
    })
    .await;
    rp.fail_always(None);

    // While the answer is on its way: the API answers, the other carriers walk on.
    others_keep_going(&d, &t17, 100).await;
    let sandbox = "SANDBOX-DELIVERED-100";
    wait_status(&d, sandbox, "delivered").await;
    assert_eq!(
        d.socket.parcel("acme", &track).await.unwrap().status,
        "registered",
        "the slow answer is still on its way"
    );
    let p = wait_for(Duration::from_secs(60), "the slow answer", async || {
        let p = d.socket.parcel("acme", &track).await.ok()?;
        (p.status == "arrived_at_pickup").then_some(p)
    })
    .await;
    assert_eq!(p.last_poll_error, None);
}

#[tokio::test]
async fn refused_credentials_and_a_spent_limit_pause_only_that_carrier() {
    for (n, (what, says)) in [
        ("refused credentials", "авторизации"),
        ("a spent limit", "лимит"),
    ]
    .into_iter()
    .enumerate()
    {
        let n = n as u32 + 200;
        let rp = FakeRussianPost::start();
        let front = Front::start(rp.base());
        let t17 = FakeTrack17::start();
        let d = Daemon::start_with(|c| config(c, &rp, &front, &t17, "\"2s\"")).await;
        d.create_shop("acme").await;
        let track = rp_track(n);
        rp.history_as(&track, &["history_arrived.xml"], "10100012000016");
        if n == 200 {
            rp.accept_password("changed-at-the-post");
        } else {
            rp.fail_always(Some(Fault::Limit));
        }
        add(&d, &track).await;
        let h = wait_for(Duration::from_secs(30), what, async || {
            let h = d.socket.health().await.ok()?;
            (h.carriers["russian_post"].state == "paused").then_some(h)
        })
        .await;
        let rp_health = &h.carriers["russian_post"];
        assert!(
            rp_health
                .paused_reason
                .as_deref()
                .unwrap_or("")
                .contains(says),
            "{what}: {rp_health:?}"
        );
        assert_eq!(h.status, "degraded");
        // Paused until the next window (with `window = "always"`, an hour), or for a spent
        // limit until the next budget day.
        let until = rp_health.paused_until.expect("until");
        let most = if n == 200 { 3601 } else { 86_401 };
        assert!(
            until <= jiff::Timestamp::now() + Duration::from_secs(most),
            "{what}: {until}"
        );
        others_keep_going(&d, &t17, n).await;
        assert!(
            !d.log().contains(PASSWORD),
            "the password stays out of the log"
        );

        // Healed at the post: the pause holds until its time (a restart with the same
        // credentials keeps it), so that refused credentials are not tried again and again.
        rp.accept_password(PASSWORD);
        rp.fail_always(None);
        let asked = rp.count("getOperationHistory");
        others_keep_going(&d, &t17, n + 50).await;
        assert_eq!(
            rp.count("getOperationHistory"),
            asked,
            "{what}: asked while paused"
        );
    }
}
