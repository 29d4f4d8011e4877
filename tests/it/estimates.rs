//! Expected arrivals and "probably at the office", against the Russian Post fake: finished
//! journeys fill their lanes as their arrivals are applied, a parcel accepted afterwards gets
//! an expected arrival (in the API and its "accepted" message), revised when it enters the
//! office's region and scored when it arrives; a notice at the office without a recorded
//! arrival, or a parcel overdue in the office's region, makes the parcel "probably arrived"
//! with a message of its own, which the real arrival then confirms.

use crate::carriers_support::poll_all;
use crate::fakes::russian_post::{FakeRussianPost, Op};
use crate::harness::{Daemon, SmsLine, parcel, set, wait_for};
use crate::page::{page_link, unescape};
use jiff::{SignedDuration, Timestamp};
use parceld::api::dto::ParcelView;
use parceld::domain::track::domestic_check_digit;
use std::time::Duration;

/// A valid 14-digit Russian Post number, the `n`-th of these tests.
fn track(n: u32) -> String {
    let first13 = format!("1010003{n:06}");
    let digits: Vec<u8> = first13.bytes().map(|b| b - b'0').collect();
    format!("{first13}{}", domestic_check_digit(&digits))
}

fn hours_ago(h: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(h)
}

/// The same moment, as the service writes it (to the millisecond).
fn near(a: Timestamp, b: Timestamp) -> bool {
    a.duration_since(b).abs() < SignedDuration::from_secs(1)
}

/// Accepted in Moscow at `at`.
fn accepted(at: Timestamp) -> Op {
    Op {
        index: "101000",
        place: "Москва 101000",
        ..Op::at_office(1, 1, "Приём", at)
    }
}

/// At the Novosibirsk sorting centre (the pickup office's region) at `at`.
fn in_region(at: Timestamp) -> Op {
    Op {
        index: "630960",
        place: "Новосибирск СЦ 630960",
        ..Op::at_office(8, 3, "Прибыло в сортировочный центр", at)
    }
}

/// At the pickup office 630099 at `at`.
fn arrived(at: Timestamp) -> Op {
    Op::at_office(8, 2, "Прибыло в место вручения", at)
}

/// The tracking page linked from the first SMS whose key contains `key`, as text.
async fn page_text(d: &Daemon, key: &str) -> String {
    let link = page_link(d, key).await;
    unescape(&reqwest::get(&link).await.unwrap().text().await.unwrap())
}

async fn view(d: &Daemon, track: &str) -> ParcelView {
    d.socket.parcel("acme", track).await.expect("parcel")
}

fn sms_of(d: &Daemon, track: &str, kind: &str) -> Vec<SmsLine> {
    d.sms()
        .into_iter()
        .filter(|s| s.key.contains(&format!("-{track}-")) && s.key.contains(&format!("-{kind}-")))
        .collect()
}

async fn wait_sms(d: &Daemon, track: &str, kind: &str) -> SmsLine {
    let what = format!("a {kind} SMS about {track}");
    wait_for(Duration::from_secs(20), &what, async || {
        sms_of(d, track, kind).into_iter().next()
    })
    .await
}

/// A daemon with the fake and lanes that answer from five finished journeys.
async fn daemon(rp: &FakeRussianPost, margin: &str) -> Daemon {
    let d = Daemon::start_with(|c| {
        let c = rp.config(c, &[]);
        let c = set(&c, "lanes", "min_samples", "5");
        set(&c, "lanes", "probable_margin", &format!("\"{margin}\""))
    })
    .await;
    d.create_shop("acme").await;
    d
}

/// Six journeys Moscow → Novosibirsk 630099 that took 60, 62, … 70 hours (12 to 22 of them
/// from the region's sorting centre), all finished long ago.
async fn fill_lanes(d: &Daemon, rp: &FakeRussianPost) {
    let mut tracks = Vec::new();
    for i in 0..6 {
        let t = track(100 + i);
        let start = hours_ago(400 + 10 * i64::from(i));
        let took = SignedDuration::from_hours(60 + 2 * i64::from(i));
        rp.records(
            &t,
            &[&[
                accepted(start),
                in_region(start + SignedDuration::from_hours(48)),
                arrived(start + took),
            ]],
        );
        tracks.push(parcel(&t, &format!("F-{i}")));
    }
    d.socket.add_parcels("acme", &tracks).await.unwrap();
    poll_all(d).await;
}

#[tokio::test]
async fn a_lane_fills_and_later_parcels_are_told_when_to_expect_them() {
    let rp = FakeRussianPost::start();
    let d = daemon(&rp, "2h").await;
    // Before any journey finished, nothing is promised.
    let early = track(1);
    rp.records(&early, &[&[accepted(hours_ago(3))]]);
    d.socket
        .add_parcels("acme", &[parcel(&early, "E-1")])
        .await
        .unwrap();
    poll_all(&d).await;
    assert_eq!(view(&d, &early).await.expected, None);
    let sms = wait_sms(&d, &early, "accepted").await;
    assert!(!sms.text.contains("Ожидаем"), "{}", sms.text);

    fill_lanes(&d, &rp).await;

    // Accepted 66 hours ago, then in the region, then at the office an hour ago.
    let t = track(2);
    let start = hours_ago(66);
    let entered = hours_ago(20);
    rp.records(
        &t,
        &[
            &[accepted(start)],
            &[accepted(start), in_region(entered)],
            &[accepted(start), in_region(entered), arrived(hours_ago(1))],
        ],
    );
    d.socket
        .add_parcels("acme", &[parcel(&t, "N-1")])
        .await
        .unwrap();
    poll_all(&d).await;
    let v = view(&d, &t).await;
    assert_eq!(v.destination_index.as_deref(), Some("630099"));
    let e = v.expected.expect("an expected arrival");
    assert_eq!(e.leg, "to_office");
    assert_eq!(e.lane, "101000 → 630099");
    assert_eq!(e.samples, 6);
    assert!(near(e.since, start), "{e:?}");
    let h = |x: Timestamp| x.duration_since(start).as_hours();
    assert!(
        (58..=62).contains(&h(e.earliest)) && (68..=72).contains(&h(e.latest)),
        "{e:?}"
    );
    let sms = wait_sms(&d, &t, "accepted").await;
    assert!(sms.text.contains("Ожидаем "), "{}", sms.text);
    // The tracking page says it too.
    let page = page_text(&d, &format!("-{t}-")).await;
    assert!(page.contains("Ожидаем в отделении "), "{page}");

    // In the region: the estimate now runs from there.
    poll_all(&d).await;
    let e = view(&d, &t).await.expected.expect("revised");
    assert_eq!(e.leg, "from_region");
    assert!(near(e.since, entered), "{e:?}");
    assert_eq!(e.lane, "630960 → 630099");
    assert_eq!(view(&d, &t).await.probably_arrived, None);

    // The arrival: no estimate any more, and the one made at acceptance is scored.
    poll_all(&d).await;
    assert_eq!(view(&d, &t).await.expected, None);
    let stats = d.socket.stats(Some("acme"), None, None).await.unwrap();
    let rp_stats = stats.estimates["russian_post"];
    assert_eq!((rp_stats.scored, rp_stats.within), (1, 1), "{rp_stats:?}");
    // The most likely day (64 hours after acceptance) is the real one or the day before.
    assert!(
        rp_stats.mean_error_days.is_some_and(|e| e <= 1.0),
        "{rp_stats:?}"
    );
    let all = d.socket.stats(None, None, None).await.unwrap();
    assert_eq!(all.estimates["russian_post"].scored, 1);
}

#[tokio::test]
async fn a_notice_at_the_office_says_it_is_probably_there_and_the_arrival_confirms() {
    let rp = FakeRussianPost::start();
    let d = daemon(&rp, "1d").await;
    let t = track(3);
    let before = [accepted(hours_ago(50)), in_region(hours_ago(20))];
    let notice = Op::at_office(8, 25, "Извещение доставлено", hours_ago(5));
    let mut with_notice = before.to_vec();
    with_notice.push(notice.clone());
    let mut with_arrival = with_notice.clone();
    with_arrival.push(arrived(hours_ago(1)));
    rp.records(&t, &[&with_notice, &with_arrival]);
    d.socket
        .add_parcels("acme", &[parcel(&t, "P-1")])
        .await
        .unwrap();
    poll_all(&d).await;
    let v = view(&d, &t).await;
    let p = v.probably_arrived.expect("probably arrived");
    assert_eq!(p.office_index.as_deref(), Some("630099"));
    assert_eq!(p.reason, "seen_there");
    assert!(v.arrival.is_none());
    assert_eq!(
        v.next_reminder_at, None,
        "no reminder before a real arrival"
    );
    let sms = wait_sms(&d, &t, "probably_arrived").await;
    assert!(
        sms.text.contains("скорее всего, уже в отделении 630099"),
        "{}",
        sms.text
    );
    assert!(sms.text.contains("паспорт"), "{}", sms.text);
    let page = page_text(&d, "-probably_arrived-1-sms").await;
    assert!(
        page.contains("Скорее всего, заказ уже в отделении"),
        "{page}"
    );
    assert!(!page.contains("Ожидаем в отделении"), "{page}");

    // The real arrival: the arrival message confirms, and the inference counts as right.
    poll_all(&d).await;
    let sms = wait_sms(&d, &t, "arrived").await;
    assert!(sms.text.starts_with("Подтверждаем: заказ"), "{}", sms.text);
    assert_eq!(sms_of(&d, &t, "probably_arrived").len(), 1);
    let stats = d.socket.stats(Some("acme"), None, None).await.unwrap();
    let s = stats.estimates["russian_post"];
    assert_eq!((s.probable, s.probable_confirmed), (1, 1), "{s:?}");
    assert!(s.probable_days_earlier.is_some());
}

#[tokio::test]
async fn a_parcel_overdue_in_the_offices_region_is_probably_there() {
    let rp = FakeRussianPost::start();
    let d = daemon(&rp, "2h").await;
    fill_lanes(&d, &rp).await;
    // In the region for 40 hours; the lane takes 12 to 22 hours from there.
    let late = track(4);
    rp.records(
        &late,
        &[&[accepted(hours_ago(90)), in_region(hours_ago(40))]],
    );
    // In the region for 10 hours: not overdue yet.
    let on_time = track(5);
    rp.records(
        &on_time,
        &[&[accepted(hours_ago(60)), in_region(hours_ago(10))]],
    );
    d.socket
        .add_parcels("acme", &[parcel(&late, "L-1"), parcel(&on_time, "L-2")])
        .await
        .unwrap();
    poll_all(&d).await;
    let p = view(&d, &late)
        .await
        .probably_arrived
        .expect("overdue: probably there");
    assert_eq!(p.reason, "overdue");
    assert_eq!(p.office_index.as_deref(), Some("630099"));
    wait_sms(&d, &late, "probably_arrived").await;
    assert_eq!(view(&d, &on_time).await.probably_arrived, None);
}
