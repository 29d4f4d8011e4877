//! Statuses against the Russian Post fake: operation codes outside the service's dictionary are
//! kept, counted with sample parcels and mappable in the config; statuses set by hand (by the
//! operator or the shop) send what the carrier's event would, once, and a later carrier event
//! that says otherwise is shown, not silently taken; a carrier whose answers stop bringing news
//! is stalled, and its parcels are not called stuck meanwhile.

use crate::carriers_support::{closed_window, poll_all};
use crate::fakes::russian_post::{FakeRussianPost, Op};
use crate::harness::{Daemon, parcel, set, wait_for};
use jiff::{SignedDuration, Timestamp};
use parceld::api::dto::{ParcelView, SetStatus};
use std::time::Duration;

fn hours_ago(h: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(h)
}

/// Accepted in Moscow 50 hours ago, then operation `oper_type/attr` at Novosibirsk 630099.
fn accepted_then(oper_type: u32, attr: u32, name: &'static str) -> Vec<Op> {
    vec![
        Op {
            index: "101000",
            place: "Москва 101000",
            ..Op::at_office(1, 1, "Приём", hours_ago(50))
        },
        Op::at_office(oper_type, attr, name, hours_ago(20)),
    ]
}

async fn view(d: &Daemon, track: &str) -> ParcelView {
    d.socket.parcel("acme", track).await.expect("parcel")
}

/// The SMS lines about `track` of one kind (`arrived`, `delivered`, …).
fn sms_of(d: &Daemon, track: &str, kind: &str) -> usize {
    d.sms()
        .into_iter()
        .filter(|s| s.key.contains(&format!("-{track}-")) && s.key.contains(&format!("-{kind}-")))
        .count()
}

async fn wait_sms(d: &Daemon, track: &str, kind: &str, n: usize) {
    let what = format!("{n} {kind} SMS about {track}");
    wait_for(Duration::from_secs(20), &what, async || {
        (sms_of(d, track, kind) >= n).then_some(())
    })
    .await
}

fn parcelctl(d: &Daemon, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parcelctl"))
        .arg("--socket")
        .arg(d.path().join("run/control.sock"))
        .args(args)
        .output()
        .expect("parcelctl");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn an_operation_outside_the_dictionary_is_counted_and_can_be_mapped_in_the_config() {
    let rp = FakeRussianPost::start();
    for track in ["10100012000016", "10100012000023", "10100012000030"] {
        rp.records(track, &[&accepted_then(8, 99, "Обработка. Новый атрибут")]);
    }
    let window = closed_window();
    let mut d = Daemon::start_with(|c| rp.config(c, &[("window", window.as_str())])).await;
    d.create_shop("acme").await;
    let parcels = [
        parcel("10100012000016", "A-1"),
        parcel("10100012000023", "A-2"),
    ];
    d.socket.add_parcels("acme", &parcels).await.unwrap();
    poll_all(&d).await;

    // The unknown operation is kept on the parcel and changes nothing.
    let p = view(&d, "10100012000016").await;
    assert_eq!(p.status, "accepted");
    let kept = p
        .events
        .iter()
        .find(|e| e.code == "8/99")
        .expect("8/99 kept");
    assert_eq!(kept.status, "registered");
    let codes = d.socket.unmapped_codes().await.unwrap();
    assert_eq!(codes.len(), 1, "{codes:?}");
    let c = &codes[0];
    assert_eq!(
        (c.carrier.as_str(), c.code.as_str(), c.count, c.mapped_now),
        ("russian_post", "8/99", 2, false)
    );
    let mut samples = c.samples.clone();
    samples.sort();
    assert_eq!(samples, ["acme/10100012000016", "acme/10100012000023"]);
    assert!(c.description.contains("Новый атрибут"), "{c:?}");

    // Asked again, the same history counts nothing more.
    poll_all(&d).await;
    assert_eq!(d.socket.unmapped_codes().await.unwrap()[0].count, 2);
    let table = parcelctl(&d, &["unmapped"]);
    assert!(table.contains("8/99"), "{table}");
    assert!(table.contains("acme/10100012000016"), "{table}");

    // Mapped in the config: the next parcel with it arrives at the office.
    assert_eq!(d.terminate().code(), Some(0));
    let text = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(
        &d.config,
        set(
            &text,
            "carriers.russian_post",
            "codes",
            r#"{ "8/99" = "arrived_at_pickup" }"#,
        ),
    )
    .unwrap();
    d.spawn().await;
    d.socket
        .add_parcels("acme", &[parcel("10100012000030", "A-3")])
        .await
        .unwrap();
    poll_all(&d).await;
    let p = view(&d, "10100012000030").await;
    assert_eq!(p.status, "arrived_at_pickup");
    assert_eq!(
        p.arrival.expect("waiting").office.index.as_deref(),
        Some("630099")
    );
    wait_sms(&d, "10100012000030", "arrived", 1).await;
    let codes = d.socket.unmapped_codes().await.unwrap();
    assert_eq!((codes[0].count, codes[0].mapped_now), (2, true));
}

#[test]
fn a_bad_code_mapping_is_refused_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "x").unwrap();
    let cfg = dir.path().join("parceld.toml");
    std::fs::write(
        &cfg,
        format!(
            "[carriers.russian_post]\nlogin = \"x\"\npassword_file = {:?}\n\
             [carriers.russian_post.codes]\n\"8/99\" = \"teleported\"\n",
            pw.display().to_string()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parceld"))
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains(
            r#"parceld.toml: carriers.russian_post.codes."8/99": unknown status "teleported""#
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_status_set_by_hand_sends_once_and_a_contradicting_carrier_is_shown() {
    let rp = FakeRussianPost::start();
    // Waiting at the office for the carrier; then the carrier says it was lost there.
    let arrived = accepted_then(8, 2, "Прибыло в место вручения");
    let mut lost = arrived.clone();
    lost.push(Op::at_office(
        5,
        1,
        "Неудачная попытка вручения. Утрата",
        hours_ago(2),
    ));
    rp.records("10100012000016", &[&arrived, &arrived, &lost]);
    // In transit for the carrier; the shop knows it is at the office, then the carrier agrees.
    let moving = accepted_then(8, 0, "Сортировка");
    let mut at_office = moving.clone();
    at_office.push(Op::at_office(
        8,
        2,
        "Прибыло в место вручения",
        hours_ago(1),
    ));
    rp.records("10100012000023", &[&moving, &at_office]);

    let window = closed_window();
    let d = Daemon::start_with(|c| rp.config(c, &[("window", window.as_str())])).await;
    let token = d.create_shop("acme").await;
    d.socket
        .add_parcels(
            "acme",
            &[
                parcel("10100012000016", "A-1"),
                parcel("10100012000023", "A-2"),
            ],
        )
        .await
        .unwrap();
    poll_all(&d).await;
    wait_sms(&d, "10100012000016", "arrived", 1).await;

    // The operator: collected at the office, the post has not scanned it.
    let p = d
        .socket
        .set_status(
            "acme",
            "10100012000016",
            &SetStatus {
                status: "delivered".into(),
                reason: "выдано без сканирования".into(),
                ..SetStatus::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p.status, "delivered");
    let last = p.events.last().unwrap();
    assert_eq!(
        (
            last.code.as_str(),
            last.set_by.as_deref(),
            last.description.as_str()
        ),
        (
            "manual:operator",
            Some("operator"),
            "выдано без сканирования"
        )
    );
    assert!(p.next_poll_at.is_some(), "asked until the carrier says so");
    wait_sms(&d, "10100012000016", "delivered", 1).await;

    // The shop, with its token: at the office (the carrier still says in transit).
    let shop = d.shop_client(Some(&token));
    let p = shop
        .set_status(
            "acme",
            "10100012000023",
            &SetStatus {
                status: "arrived".into(),
                reason: "покупатель получил извещение".into(),
                office_index: Some("630099".into()),
                office_name: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(p.status, "arrived_at_pickup");
    assert_eq!(p.events.last().unwrap().set_by.as_deref(), Some("shop"));
    wait_sms(&d, "10100012000023", "arrived", 1).await;
    // Another shop's token may not; a status that cannot be set by hand is refused by field.
    let other = d.create_shop("beta").await;
    let err = d
        .shop_client(Some(&other))
        .set_status(
            "acme",
            "10100012000023",
            &SetStatus {
                status: "lost".into(),
                reason: "r".into(),
                ..SetStatus::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("another shop"), "{err}");
    let err = d
        .socket
        .set_status(
            "acme",
            "10100012000023",
            &SetStatus {
                status: "in_transit".into(),
                reason: "r".into(),
                ..SetStatus::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("status"), "{err}");

    // The carrier: the second parcel arrives at the same office (nothing more is sent); the
    // first one is lost, which contradicts the operator: shown, the hand's status stands.
    poll_all(&d).await;
    poll_all(&d).await;
    let p = view(&d, "10100012000023").await;
    assert_eq!(p.status, "arrived_at_pickup");
    assert!(p.contradiction.is_none(), "{:?}", p.contradiction);
    let p = view(&d, "10100012000016").await;
    assert_eq!(p.status, "delivered");
    let c = p.contradiction.expect("contradicted");
    assert_eq!(
        (c.set_by.as_str(), c.status.as_str()),
        ("operator", "delivered")
    );
    assert_eq!(c.carrier_events.len(), 1, "{c:?}");
    assert_eq!(c.carrier_events[0].code, "5/1");
    // (Still polled: its cash on delivery is not reported paid. The history was asked for
    // even so, while the hand's "delivered" waited for the carrier's word.)
    let show = parcelctl(&d, &["show", "acme", "10100012000016"]);
    assert!(
        show.contains("CONTRADICTED: delivered set by the operator"),
        "{show}"
    );
    assert!(
        show.contains("manual:operator (by hand, operator)"),
        "{show}"
    );

    // Same outbox keys: one "arrived" and one "delivered" each, whatever the carrier said.
    assert_eq!(sms_of(&d, "10100012000023", "arrived"), 1);
    assert_eq!(sms_of(&d, "10100012000016", "delivered"), 1);
    assert_eq!(sms_of(&d, "10100012000016", "arrived"), 1);
}

#[tokio::test]
async fn a_carrier_whose_answers_are_all_empty_is_stalled_and_its_parcels_are_not_stuck() {
    let rp = FakeRussianPost::start();
    let window = closed_window();
    let d = Daemon::start_with(|c| {
        let c = rp.config(c, &[("window", window.as_str())]);
        let c = set(&c, "rules", "stuck_after", "\"1s\"");
        let c = set(&c, "outages", "window", "\"1s\"");
        set(&c, "outages", "min_answers", "2")
    })
    .await;
    d.create_shop("acme").await;
    // The service knows none of these numbers: every answer is empty.
    let tracks = ["10100012000016", "10100012000023", "10100012000030"];
    let parcels: Vec<_> = tracks.iter().map(|t| parcel(t, t)).collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();

    // Answers are counted per window; the window after them judges them: stalled.
    let h = wait_for(
        Duration::from_secs(20),
        "the carrier to stall",
        async || {
            poll_all(&d).await;
            let h = d.socket.health().await.ok()?;
            let c = h.carriers.get("russian_post")?.clone();
            (c.state == "stalled").then_some((h, c))
        },
    )
    .await;
    let (health, carrier) = h;
    assert_eq!(health.status, "degraded");
    assert!(carrier.stalled_since.is_some());
    assert!(
        carrier
            .stalled_reason
            .as_deref()
            .is_some_and(|r| r.contains("empty")),
        "{carrier:?}"
    );
    // Silent longer than stuck_after, yet not stuck while the carrier is stalled.
    let p = view(&d, "10100012000016").await;
    assert!(!p.stuck, "{p:?}");
    let stuck = d
        .socket
        .list("acme", &[("stuck", "true".into())])
        .await
        .unwrap();
    assert!(stuck.parcels.is_empty(), "{stuck:?}");
    let text = parcelctl(&d, &["health"]);
    assert!(text.contains("stalled since"), "{text}");
    let said = |log: &str| log.matches("Carrier stalled").count();
    assert_eq!(said(&d.plain_log()), 1, "{}", d.plain_log());

    // The carrier moves again: the stall ends, and silent parcels are stuck again.
    rp.records("10100012000016", &[&accepted_then(8, 0, "Сортировка")]);
    wait_for(
        Duration::from_secs(20),
        "the carrier to move again",
        async || {
            poll_all(&d).await;
            let h = d.socket.health().await.ok()?;
            (h.carriers.get("russian_post")?.state == "ok").then_some(())
        },
    )
    .await;
    assert!(view(&d, "10100012000023").await.stuck);
    assert_eq!(said(&d.plain_log()), 1, "told once");
    assert!(d.plain_log().contains("Carrier moves again"));
}
