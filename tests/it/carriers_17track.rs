//! China Post through a fake 17TRACK API: numbers are registered on first sight, asked about
//! in batches of 40, mapped to our statuses, stopped when finished or handed to Russian Post
//! (whose poller then continues), and 17TRACK's pushes are accepted on the shops' listener only
//! with a `sign` that matches the raw body.

use crate::carriers_support::{closed_window, poll_all, prepaid, show};
use crate::fakes::fixture;
use crate::fakes::russian_post::FakeRussianPost;
use crate::fakes::track17::{FakeTrack17, TOKEN};
use crate::harness::Daemon;
use parceld::api::dto::{IntakeOutcome, ParcelIn};
use parceld::carriers::track17::wire::sign;

const RR: &str = "RR123456785CN";

fn s10(prefix: &str, serial: u32, country: &str) -> String {
    let digits = format!("{serial:08}");
    let sum: u32 = digits
        .bytes()
        .zip([8, 6, 4, 2, 3, 5, 9, 7])
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let c = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    };
    format!("{prefix}{digits}{c}{country}")
}

#[tokio::test]
async fn china_post_is_registered_polled_in_forties_and_handed_to_russian_post() {
    let t17 = FakeTrack17::start();
    let rp = FakeRussianPost::start();
    t17.script(
        RR,
        &[
            "info_received.json",
            "in_transit.json",
            "available_for_pickup.json",
        ],
    );
    rp.history(RR, &["history_cn_delivered.xml"]);
    let window = closed_window();
    let d = Daemon::start_with(|c| {
        let c = t17.config(c, &[("window", window.as_str())]);
        rp.config(c, &[("window", window.as_str())])
    })
    .await;
    d.create_shop("acme").await;
    let mut parcels = vec![prepaid(RR, "A-1")];
    let others: Vec<String> = (1..=40).map(|n| s10("LX", n, "CN")).collect();
    parcels.extend(others.iter().map(|t| prepaid(t, t)));
    parcels.push(prepaid(&s10("EE", 7, "CN"), "A-EMS"));
    d.socket.add_parcels("acme", &parcels).await.unwrap();
    for p in d
        .socket
        .list("acme", &[("limit", "100".into())])
        .await
        .unwrap()
        .parcels
    {
        assert_eq!(p.carrier, "china_post", "{}", p.track);
    }

    // First sight: not registered, so registered (China Post 3011, China EMS 3013).
    let s = poll_all(&d).await;
    assert_eq!((s.polled, s.failed), (42, 0), "{s:?}");
    let info: Vec<usize> = t17
        .seen()
        .iter()
        .filter(|r| r.op == "gettrackinfo")
        .map(|r| r.items.len())
        .collect();
    let mut sizes = info.clone();
    sizes.sort();
    assert_eq!(sizes, [2, 40], "42 numbers in batches of at most 40");
    assert_eq!(t17.registration(RR).unwrap()["carrier"], 3011);
    assert_eq!(
        t17.registration(&s10("EE", 7, "CN")).unwrap()["carrier"],
        3013
    );
    assert_eq!(show(&d, RR).await.status, "registered");

    // Info received changes nothing; in transit does.
    poll_all(&d).await;
    assert_eq!(show(&d, RR).await.status, "registered");
    poll_all(&d).await;
    let p = show(&d, RR).await;
    assert_eq!(p.status, "in_transit");
    assert!(p.events.iter().any(|e| e.code == "InTransit_Departure"));

    // At the pickup office, reported by Russian Post through 17TRACK: arrived, stopped at
    // 17TRACK, and handed to the Russian Post poller.
    poll_all(&d).await;
    let p = show(&d, RR).await;
    assert_eq!(p.status, "arrived_at_pickup");
    assert_eq!(p.carrier, "russian_post");
    assert_eq!(p.arrival.unwrap().office.index.as_deref(), Some("630099"));
    assert!(t17.stopped().contains(&RR.to_string()));
    assert_eq!(rp.asked(RR), 0);
    // The shop uploads the same sheet again, which names China Post: the parcel stays with
    // Russian Post, and the answer says why.
    let again = d
        .socket
        .add_parcels(
            "acme",
            &[ParcelIn {
                carrier: Some("china_post".into()),
                ..prepaid(RR, "A-1")
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        again.results[0].outcome,
        IntakeOutcome::AlreadyPresent,
        "{again:?}"
    );
    assert!(
        again.results[0]
            .warnings
            .iter()
            .any(|w| w.contains("china_post handed the parcel over to russian_post")),
        "{again:?}"
    );
    assert_eq!(show(&d, RR).await.carrier, "russian_post");
    poll_all(&d).await;
    assert_eq!(rp.asked(RR), 1, "Russian Post's poller asks now");
    assert_eq!(show(&d, RR).await.status, "delivered");
    let before = t17
        .seen()
        .iter()
        .filter(|r| r.items.iter().any(|i| i["number"] == RR))
        .count();
    poll_all(&d).await;
    let after = t17
        .seen()
        .iter()
        .filter(|r| r.items.iter().any(|i| i["number"] == RR))
        .count();
    assert_eq!(before, after, "17TRACK is not asked about it any more");
}

#[tokio::test]
async fn pushes_are_applied_only_with_a_matching_sign() {
    let t17 = FakeTrack17::start();
    let window = closed_window();
    let d = Daemon::start_with(|c| t17.config(c, &[("window", window.as_str())])).await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[prepaid(RR, "A-1")])
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}/v1/webhooks/17track", d.port);
    let http = reqwest::Client::new();
    let body = fixture("track17/push_updated.json");
    let good = "4e8a9dbf7cc527dbb4fd39486f4ff30c5ebad87fc97b43a2e52eff02b51dc3cc";
    assert_eq!(sign(body.as_bytes(), TOKEN), good);

    // A wrong sign, a missing one, or the same JSON re-serialised: refused, nothing applied.
    let reformatted =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&body).unwrap())
            .unwrap();
    for (b, s) in [
        (body.clone(), Some("0".repeat(64))),
        (body.clone(), None),
        (reformatted, Some(good.to_string())),
    ] {
        let mut req = http
            .post(&url)
            .header("Content-Type", "application/json")
            .body(b);
        if let Some(s) = s {
            req = req.header("sign", s);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
    }
    assert_eq!(show(&d, RR).await.status, "registered");

    // The real push, byte for byte: applied at once, without a bearer token.
    let r = http
        .post(&url)
        .header("Content-Type", "application/json")
        .header("sign", good)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["applied"], 1);
    let p = show(&d, RR).await;
    assert_eq!(p.status, "arrived_at_pickup");
    assert_eq!(p.arrival.unwrap().office.name, "630099, Novosibirsk");

    // A stop notice and an unknown number are acknowledged, so 17TRACK does not retry them.
    let stopped = fixture("track17/push_stopped.json");
    let r = http
        .post(&url)
        .header("sign", sign(stopped.as_bytes(), TOKEN))
        .body(stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let other = fixture("track17/push_updated.json").replace(RR, "LX000000014CN");
    let r = http
        .post(&url)
        .header("sign", sign(other.as_bytes(), TOKEN))
        .body(other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["applied"], 0);
}
