//! Webhooks to a shop's own systems, against a receiver on loopback (allowed by the config) that
//! checks every signature: every event arrives, in order per parcel, through a receiver that
//! fails, answers slowly, dies and comes back, and a daemon killed with SIGKILL while webhooks
//! go out; a repeat carries the same idempotency key; a dead letter is replayed; an endpoint
//! failing for its whole period is disabled, said so in the morning report, and enabled again;
//! URLs into the operator's network or over plain HTTP are refused unless the config allows
//! them.

use crate::fakes::receiver::{Hit, Mode, Receiver};
use crate::fault_support::api_error;
use crate::harness::{Daemon, parcel, set, wait_for, walk};
use parceld::api::dto::{PollRequest, WebhookIn};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The test config: loopback allowed over plain HTTP, quick retries.
pub fn allow_loopback(c: &str) -> String {
    let c = set(c, "webhooks", "allow_http", "[\"127.0.0.1\"]");
    let c = set(&c, "webhooks", "allow_addresses", "[\"127.0.0.0/8\"]");
    let c = set(&c, "webhooks", "retry_base", "\"100ms\"");
    let c = set(&c, "webhooks", "retry_cap", "\"500ms\"");
    set(&c, "webhooks", "timeout", "\"1s\"")
}

/// Registers the receiver for `shop` and tells it the secret.
pub async fn register(d: &Daemon, shop: &str, r: &Receiver, events: &[&str]) -> String {
    let created = d
        .socket
        .add_webhook(
            shop,
            &WebhookIn {
                url: r.url.clone(),
                events: (!events.is_empty())
                    .then(|| events.iter().map(|e| e.to_string()).collect()),
            },
        )
        .await
        .expect("register the receiver");
    assert!(created.secret.starts_with("whsec_"));
    r.set_secrets(&[&created.secret]);
    created.id
}

/// Checks what a receiver got, per parcel: every request signed, its idempotency key the body's
/// id, its type the body's; the first copies of the events in sequence 0, 1, 2, … without a
/// gap; a repeat the same event (same key, same body). Returns the events in order per track.
pub fn in_order(hits: &[Hit]) -> BTreeMap<String, Vec<Hit>> {
    let mut by_track: BTreeMap<String, Vec<Hit>> = BTreeMap::new();
    for h in hits {
        assert!(
            h.signed,
            "a request whose signature does not check out: {}",
            h.raw
        );
        assert_eq!(
            h.body["id"].as_str(),
            Some(h.key.as_str()),
            "Idempotency-Key is the id"
        );
        assert_eq!(h.body["type"].as_str(), Some(h.kind.as_str()));
        let track = h.body["parcel"]["track"]
            .as_str()
            .expect("a track")
            .to_string();
        by_track.entry(track).or_default().push(h.clone());
    }
    let mut firsts = BTreeMap::new();
    for (track, list) in &by_track {
        let mut seen: BTreeMap<u64, &Hit> = BTreeMap::new();
        let mut order = Vec::new();
        for h in list {
            match seen.get(&h.sequence) {
                Some(first) => {
                    assert_eq!(
                        first.key, h.key,
                        "{track}: sequence {} carried two events",
                        h.sequence
                    );
                    assert_eq!(first.raw, h.raw, "{track}: a repeat with another body");
                }
                None => {
                    assert_eq!(
                        h.sequence,
                        seen.len() as u64,
                        "{track}: event {} ({}) came before the one ahead of it was delivered",
                        h.sequence,
                        h.kind
                    );
                    seen.insert(h.sequence, h);
                    order.push(h.clone());
                }
            }
        }
        let ids: BTreeSet<&str> = order.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(
            ids.len(),
            order.len(),
            "{track}: one event under two sequence numbers"
        );
        firsts.insert(track.clone(), order);
    }
    firsts
}

/// The events a sandbox DELIVERED journey gives, polled to its end, with its six messages.
fn journey_events(list: &[Hit]) -> Vec<String> {
    list.iter()
        .map(|h| match h.kind.as_str() {
            "parcel.status_changed" => format!("status:{}", h.body["data"]["to"].as_str().unwrap()),
            "notification.sent" => format!(
                "sent:{}:{}",
                h.body["data"]["notification"]["kind"].as_str().unwrap(),
                h.body["data"]["notification"]["channel"].as_str().unwrap()
            ),
            k => k.to_string(),
        })
        .collect()
}

async fn poll_all(d: &Daemon) {
    d.socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await
        .expect("poll");
}

#[tokio::test]
async fn every_event_arrives_signed_and_in_order_through_failures_and_sigkills() {
    let mut r = Receiver::start();
    let mut d = Daemon::start_with(|c| allow_loopback(&c)).await;
    d.create_shop("acme").await;
    let id = register(&d, "acme", &r, &[]).await;
    let tracks: Vec<String> = (1..=12).map(|i| format!("SANDBOX-DELIVERED-{i}")).collect();
    let parcels: Vec<_> = tracks
        .iter()
        .map(|t| parcel(t, &format!("A-{t}")))
        .collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();

    // The receiver fails for a while, answers slowly (past the time limit), dies and comes back,
    // while the daemon is killed twice as the webhooks go out.
    r.set_mode(Mode::Fail(503));
    poll_all(&d).await;
    wait_for(Duration::from_secs(20), "failed attempts", async || {
        (r.hits().len() >= 6).then_some(())
    })
    .await;
    r.set_mode(Mode::Slow(Duration::from_millis(1500)));
    poll_all(&d).await;
    wait_for(Duration::from_secs(20), "slow answers", async || {
        (r.hits().iter().filter(|h| h.answered == 0).count() >= 2).then_some(())
    })
    .await;
    r.set_mode(Mode::Ok);
    r.kill();
    poll_all(&d).await;
    d.kill9();
    r.restart();
    d.spawn().await;
    let before = r.accepted().len();
    wait_for(
        Duration::from_secs(20),
        "webhooks flowing after the restart",
        async || (r.accepted().len() > before).then_some(()),
    )
    .await;
    d.kill9();
    d.spawn().await;
    for t in &tracks {
        walk(&d, "acme", t, "delivered").await;
    }

    // Every parcel's whole journey arrives, in order, each event signed: its status changes,
    // and a notice of each message that went out (an "arrived" message for a parcel collected
    // before it went is withdrawn, and has none).
    let journey = [
        "parcel.created",
        "status:accepted",
        "status:in_transit",
        "status:arrived_at_pickup",
        "parcel.arrived",
        "status:delivered",
        "parcel.delivered",
    ];
    crate::notify_support::wait_idle(&d, Duration::from_secs(60)).await;
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &tracks {
        let p = d.socket.parcel("acme", t).await.unwrap();
        let mut want: Vec<String> = journey.iter().map(|e| e.to_string()).collect();
        for n in p.notifications.iter().filter(|n| n.state == "sent") {
            want.push(format!("sent:{}:{}", n.kind, n.channel));
        }
        want.sort();
        expected.insert(t.clone(), want);
    }
    let notices: usize = expected.values().map(|w| w.len() - journey.len()).sum();
    assert!(notices >= tracks.len() * 2, "messages went out: {notices}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let all = loop {
        let got = in_order(&r.accepted());
        let complete = tracks
            .iter()
            .all(|t| got.get(t).is_some_and(|l| l.len() >= expected[t].len()));
        if complete {
            break got;
        }
        if std::time::Instant::now() > deadline {
            let w = d.socket.webhook("acme", &id).await;
            let short: Vec<_> = got
                .iter()
                .map(|(t, l)| format!("{t}: {:?}", journey_events(l)))
                .collect();
            panic!("not every event arrived: {w:?}\n{}", short.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for t in &tracks {
        let got = journey_events(&all[t]);
        // A message's receipt and the next status change may commit in either order: the
        // status events in order, and the whole as a set.
        let statuses: Vec<_> = got
            .iter()
            .filter(|e| !e.starts_with("sent:"))
            .cloned()
            .collect();
        assert_eq!(statuses, journey.map(String::from).to_vec(), "{t}");
        let mut got = got;
        got.sort();
        assert_eq!(got, expected[t], "{t}: every event, once");
    }
    // The whole history (including requests that failed or were cut) is consistent.
    in_order(&r.hits());
    let repeats = r.accepted().len() - all.values().map(Vec::len).sum::<usize>();
    println!(
        "webhooks: {} events delivered, {repeats} repeated with the same key",
        all.values().map(Vec::len).sum::<usize>()
    );
    let w = d.socket.webhook("acme", &id).await.unwrap();
    assert_eq!((w.queued, w.dead, w.state.as_str()), (0, 0, "enabled"));
    // Nothing more arrives once all is delivered.
    let n = r.hits().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.hits().len(), n);
}

#[tokio::test]
async fn dead_letters_are_replayed_and_a_failing_endpoint_is_disabled_then_enabled() {
    let r = Receiver::start();
    let d = Daemon::start_with(|c| {
        let c = allow_loopback(&c);
        let c = set(&c, "webhooks", "retry_for", "\"2s\"");
        set(&c, "webhooks", "disable_after", "\"3s\"")
    })
    .await;
    d.create_shop("acme").await;
    let id = register(&d, "acme", &r, &["parcel.created", "parcel.status_changed"]).await;
    r.set_mode(Mode::Fail(500));
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "A-1")])
        .await
        .unwrap();
    // The first poll's status change waits behind the created event; the created event dies
    // after two seconds of failures, then the status change is tried, until the endpoint has
    // failed for three seconds and is disabled.
    let dead = wait_for(Duration::from_secs(20), "a dead letter", async || {
        let l = d.socket.webhook_dead("acme", &id).await.ok()?;
        (!l.dead.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(dead.dead[0].kind, "parcel.created");
    assert_eq!(dead.dead[0].track, "SANDBOX-ARRIVED-1");
    assert_eq!(dead.dead[0].last_status, Some(500));
    assert!(
        dead.dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("gave up after")
    );
    // Failing for disable_after: disabled, and the report says so.
    let w = wait_for(
        Duration::from_secs(20),
        "the endpoint disabled",
        async || {
            let w = d.socket.webhook("acme", &id).await.ok()?;
            (w.state == "disabled").then_some(w)
        },
    )
    .await;
    assert!(
        w.disabled_reason.as_deref().unwrap().contains("HTTP 500"),
        "{w:?}"
    );
    let html = String::from_utf8(d.socket.report_file("acme", "html").await.unwrap()).unwrap();
    assert!(
        html.contains(&format!("Вебхук {id}")) && html.contains("отключён"),
        "{html}"
    );
    // Nothing is tried while it is disabled.
    let tried = r.hits().len();
    poll_all(&d).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(r.hits().len(), tried, "nothing goes to a disabled endpoint");
    // The shop fixes its side and enables it: what waited goes, in order; then the replay.
    r.set_mode(Mode::Ok);
    let e = d.socket.enable_webhook("acme", &id).await.unwrap();
    assert_eq!(e.webhook.state, "enabled");
    assert!(e.resumed >= 1);
    wait_for(Duration::from_secs(20), "the waiting events", async || {
        let w = d.socket.webhook("acme", &id).await.ok()?;
        (w.queued == 0).then_some(())
    })
    .await;
    let accepted: Vec<_> = r.accepted().iter().map(|h| h.kind.clone()).collect();
    assert!(
        !accepted.contains(&"parcel.created".to_string()),
        "{accepted:?}"
    );
    assert_eq!(
        d.socket.replay_webhook("acme", &id).await.unwrap().replayed,
        1
    );
    let created = wait_for(
        Duration::from_secs(20),
        "the replayed dead letter",
        async || {
            r.accepted()
                .into_iter()
                .find(|h| h.kind == "parcel.created")
        },
    )
    .await;
    assert_eq!(
        created.key, dead.dead[0].event_id,
        "the same event, the same key"
    );
    assert_eq!(created.raw, dead.dead[0].body);
    assert!(
        d.socket
            .webhook_dead("acme", &id)
            .await
            .unwrap()
            .dead
            .is_empty()
    );
    // A rotated secret: both sign during the overlap.
    let rotated = d.socket.rotate_webhook("acme", &id).await.unwrap();
    assert!(rotated.previous_secret_until.is_some());
    r.set_secrets(&[&rotated.secret]);
    let before = r.accepted().len();
    poll_all(&d).await;
    wait_for(
        Duration::from_secs(20),
        "an event signed with the new secret",
        async || (r.accepted().len() > before).then_some(()),
    )
    .await;
    // The replayed dead letter came after the events behind it (by design): only signatures.
    assert!(r.accepted().iter().all(|h| h.signed));
    assert_eq!(
        d.socket.delete_webhook("acme", &id).await.unwrap().deleted,
        id
    );
    assert!(d.socket.webhooks("acme").await.unwrap().webhooks.is_empty());
}

#[tokio::test]
async fn urls_into_the_operators_network_or_over_plain_http_are_refused() {
    let r = Receiver::start();
    let d = Daemon::start().await;
    let token = d.create_shop("acme").await;
    d.create_shop("other").await;
    let shop = d.shop_client(Some(&token));
    for url in [
        r.url.as_str(),
        "http://shop.example/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:192.168.1.1]/hook",
        "https://100.64.0.1/hook",
        "https://user:pass@shop.example/hook",
        "not a url",
    ] {
        let e = shop
            .add_webhook(
                "acme",
                &WebhookIn {
                    url: url.into(),
                    events: None,
                },
            )
            .await
            .expect_err(url);
        let (status, _, field, message) = api_error(e);
        assert_eq!(
            (status, field.as_deref()),
            (400, Some("url")),
            "{url}: {message}"
        );
    }
    let e = shop
        .add_webhook(
            "acme",
            &WebhookIn {
                url: "https://shop.example/hook".into(),
                events: Some(vec!["parcel.teleported".into()]),
            },
        )
        .await
        .unwrap_err();
    let (status, _, field, _) = api_error(e);
    assert_eq!((status, field.as_deref()), (400, Some("events[0]")));
    // Another shop's token reaches nothing.
    let e = shop.webhooks("other").await.unwrap_err();
    assert_eq!(api_error(e).0, 403);
    assert!(shop.webhooks("acme").await.unwrap().webhooks.is_empty());
    assert!(r.hits().is_empty(), "nothing was sent anywhere");

    // The same receiver allowed by the config: registered with the shop's token, and a
    // redirect is not followed.
    drop(d);
    let d = Daemon::start_with(|c| allow_loopback(&c)).await;
    let token = d.create_shop("acme").await;
    let shop = d.shop_client(Some(&token));
    let created = shop
        .add_webhook(
            "acme",
            &WebhookIn {
                url: r.url.clone(),
                events: None,
            },
        )
        .await
        .unwrap();
    let list = shop.webhooks("acme").await.unwrap();
    assert_eq!(list.webhooks.len(), 1);
    assert!(
        !serde_json::to_string(&list)
            .unwrap()
            .contains(&created.secret),
        "no secret in the list"
    );
    let redirect = r.url.replace("/hook", "/redirect");
    let e = shop
        .add_webhook(
            "acme",
            &WebhookIn {
                url: redirect,
                events: Some(vec!["parcel.created".into()]),
            },
        )
        .await
        .unwrap();
    r.set_secrets(&[&created.secret]);
    shop.add_parcels("acme", &[parcel("SANDBOX-ARRIVED-5", "A-5")])
        .await
        .unwrap();
    let w = wait_for(
        Duration::from_secs(20),
        "the redirect refused",
        async || {
            let w = shop.webhook("acme", &e.id).await.ok()?;
            w.last_error
                .clone()
                .filter(|m| m.contains("redirects are not followed"))
                .map(|_| w)
        },
    )
    .await;
    assert!(w.failing_since.is_some());
    assert!(
        r.hits()
            .iter()
            .all(|h| h.body["type"] != "parcel.created" || h.signed),
        "the redirect target got nothing unsigned"
    );
    let e = shop
        .add_webhook(
            "acme",
            &WebhookIn {
                url: r.url.clone(),
                events: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(e).0, 409, "one endpoint per URL");
}

#[tokio::test]
async fn a_silent_parcel_is_reported_stuck_once_per_silence() {
    let r = Receiver::start();
    let d =
        Daemon::start_with(|c| set(&allow_loopback(&c), "rules", "stuck_after", "\"2s\"")).await;
    d.create_shop("acme").await;
    register(&d, "acme", &r, &["parcel.status_changed", "parcel.stuck"]).await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-STUCK-1", "S-1")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-STUCK-1", "in_transit").await;
    let stuck = wait_for(Duration::from_secs(20), "parcel.stuck", async || {
        r.accepted().into_iter().find(|h| h.kind == "parcel.stuck")
    })
    .await;
    // It names the silence: since the last carrier event.
    let p = d.socket.parcel("acme", "SANDBOX-STUCK-1").await.unwrap();
    let last = p.events.last().expect("carrier events").at;
    assert_eq!(
        stuck.body["data"]["silent_since"],
        serde_json::to_value(last).unwrap()
    );
    assert_eq!(stuck.body["data"]["stuck_after"], "2s");
    assert_eq!(
        stuck.body["data"]["last_event"]["code"],
        p.events.last().unwrap().code.as_str()
    );
    let listed = d
        .socket
        .list("acme", &[("stuck", "true".into())])
        .await
        .unwrap();
    assert_eq!(listed.parcels.len(), 1, "the API agrees it is stuck");
    // A poll that hears nothing new does not end the silence: no second event, however long.
    poll_all(&d).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let events = in_order(&r.accepted());
    let kinds: Vec<&str> = events["SANDBOX-STUCK-1"]
        .iter()
        .map(|h| h.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "parcel.status_changed",
            "parcel.status_changed",
            "parcel.stuck"
        ],
        "accepted, sorting, then stuck once"
    );
}
