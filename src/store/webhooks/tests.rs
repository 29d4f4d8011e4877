use super::*;
use crate::domain::notification::Channel;
use crate::domain::outbox::SendTiming;
use crate::domain::parcel::{CarrierEvent, Office};
use crate::domain::schedule::DailyWindow;
use crate::domain::status::Status;
use crate::store::polling::Report;
use crate::store::test_support::{t, temp_store};

const TRACK: &str = "SANDBOX-ARRIVED-1";

fn pk() -> crate::domain::parcel::ParcelKey {
    crate::domain::parcel::ParcelKey {
        shop: ShopId::from_trusted("acme"),
        track: crate::domain::track::TrackNumber::from_trusted(TRACK),
    }
}

fn endpoint(id: &str, events: Vec<EventType>) -> Endpoint {
    Endpoint {
        id: id.into(),
        url: format!("https://shop.example/{id}"),
        events,
        secret: "whsec_x".into(),
        previous_secret: None,
        previous_until: None,
        created_at: t(0),
        failing_since: None,
        last_error: None,
        disabled_at: None,
        disabled_reason: None,
    }
}

/// A shop `acme` with the endpoints, then its parcel handed over at `t(0)`.
fn setup(endpoints: Vec<Endpoint>) -> (tempfile::TempDir, SyncStore) {
    let (d, store) = temp_store();
    store
        .create_shop(&crate::store::shops::tests::shop("acme", "h"))
        .unwrap();
    store
        .tx(|t| t.put_hook_endpoints("acme", &endpoints))
        .unwrap();
    let v = crate::domain::intake::validate(&crate::domain::intake::ParcelDraft {
        track: TRACK.into(),
        phone: crate::domain::intake::Patch::Set("+79123456789".into()),
        ..Default::default()
    })
    .unwrap();
    store
        .intake(
            &crate::domain::shop::ShopId::from_trusted("acme"),
            &v,
            t(0),
            t(0),
        )
        .unwrap();
    (d, store)
}

fn report(store: &SyncStore, at: i64, status: Status, code: &str) {
    let w = DailyWindow::ALWAYS;
    let r = Report {
        events: vec![CarrierEvent {
            at: t(at),
            status,
            code: code.into(),
            description: code.into(),
            office: Some(Office {
                index: Some("630099".into()),
                name: "Новосибирск 630099".into(),
                ..Office::default()
            }),
            storage: None,
            presence: false,
        }],
        ..Report::default()
    };
    store
        .apply_report(
            &pk(),
            &r,
            t(at + 1),
            &Rules::default(),
            t(99_999),
            &SendTiming { window: &w },
        )
        .unwrap();
}

/// Every delivery of the endpoint with its state, in lane order.
fn lane(store: &SyncStore, ep: &str) -> Vec<(EventType, HookState)> {
    store
        .t
        .webhooks
        .scan_prefix(k::scope(b'D', "acme", ep))
        .map(|kv| {
            let (key, v) = kv.unwrap();
            let d = decode_delivery(&key, &v).unwrap();
            (d.kind, d.state)
        })
        .collect()
}

fn delivered() -> Attempt {
    Attempt::Delivered { status: 200 }
}

fn failed() -> Attempt {
    Attempt::Failed {
        status: Some(500),
        error: "HTTP 500".into(),
    }
}

fn retry() -> HookRetry {
    HookRetry {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(1),
        retry_for: Duration::from_secs(100),
    }
}

const DAY: Duration = Duration::from_secs(86_400);

fn claim(store: &SyncStore, now: i64) -> (Vec<u8>, Delivery) {
    let due = store.hook_due(t(now), 10).unwrap();
    assert_eq!(due.len(), 1, "one delivery due");
    match store.hook_claim(&due[0], t(now)).unwrap() {
        HookClaim::Claimed {
            delivery,
            url,
            secrets,
            ..
        } => {
            assert!(url.starts_with("https://shop.example/"));
            assert_eq!(secrets, vec!["whsec_x".to_string()]);
            (due[0].clone(), *delivery)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn events_are_queued_with_the_change_and_go_in_order_per_parcel() {
    let (_d, store) = setup(vec![endpoint("we_a", vec![])]);
    let bell = store.hook_bell.subscribe();
    report(&store, 10, Status::ArrivedAtPickup, "8/2");
    assert!(
        !bell.has_changed().unwrap(),
        "nothing new is due: the events wait behind the head"
    );
    use EventType::*;
    use HookState::*;
    assert_eq!(
        lane(&store, "we_a"),
        vec![
            (ParcelCreated, Pending),
            (StatusChanged, Waiting),
            (Arrived, Waiting)
        ]
    );
    // Only the head is due; the next waits until it is delivered.
    let (k1, d1) = claim(&store, 20);
    assert_eq!(d1.kind, ParcelCreated);
    assert!(store.hook_due(t(20), 10).unwrap().is_empty());
    let f = store
        .hook_finish(&k1, &delivered(), t(21), &retry(), DAY, 0)
        .unwrap();
    assert_eq!(f.state, None, "delivered and removed");
    assert!(
        bell.has_changed().unwrap(),
        "the next one is due: the bell rang"
    );
    assert_eq!(
        lane(&store, "we_a"),
        vec![(StatusChanged, Pending), (Arrived, Waiting)]
    );
    // A failure keeps the lane's order: the next waits while the head retries.
    let (k2, _) = claim(&store, 22);
    let f = store
        .hook_finish(&k2, &failed(), t(23), &retry(), DAY, 0)
        .unwrap();
    assert_eq!(f.state, Some(Pending));
    assert_eq!(
        lane(&store, "we_a"),
        vec![(StatusChanged, Pending), (Arrived, Waiting)]
    );
    // Spent its retry period: dead, and the next one goes.
    let (k2b, _) = claim(&store, 24);
    assert_eq!(k2b, k2);
    let f = store
        .hook_finish(&k2, &failed(), t(200), &retry(), DAY, 0)
        .unwrap();
    assert_eq!(f.state, Some(Dead));
    assert_eq!(
        lane(&store, "we_a"),
        vec![(StatusChanged, Dead), (Arrived, Pending)]
    );
    let (k3, d3) = claim(&store, 201);
    assert_eq!(d3.kind, Arrived);
    store
        .hook_finish(&k3, &delivered(), t(202), &retry(), DAY, 0)
        .unwrap();
    assert_eq!(lane(&store, "we_a"), vec![(StatusChanged, Dead)]);
}

#[test]
fn the_same_event_is_queued_once_and_filters_apply() {
    let (_d, store) = setup(vec![
        endpoint("we_a", vec![]),
        endpoint("we_b", vec![EventType::Delivered]),
    ]);
    report(&store, 10, Status::ArrivedAtPickup, "8/2");
    report(&store, 10, Status::ArrivedAtPickup, "8/2");
    assert_eq!(
        lane(&store, "we_a").len(),
        3,
        "the same report again queues nothing"
    );
    assert!(
        lane(&store, "we_b").is_empty(),
        "we_b wants deliveries only"
    );
    report(&store, 30, Status::Delivered, "2/1");
    assert_eq!(
        lane(&store, "we_b"),
        vec![(EventType::Delivered, HookState::Pending)]
    );
    // Queueing an event already queued (the same id) finds it.
    let p = store.parcel(&pk()).unwrap().unwrap();
    let again = store
        .tx(|t| {
            let eps = t.hook_endpoints("acme")?;
            t.queue_event("acme", &eps[0], &event::created(&p, t_now()), t_now())
        })
        .unwrap();
    assert!(!again);
}

fn t_now() -> Timestamp {
    t(5)
}

#[test]
fn notifications_sent_and_failed_are_told() {
    let (_d, store) = setup(vec![endpoint(
        "we_n",
        vec![EventType::NotificationSent, EventType::NotificationFailed],
    )]);
    report(&store, 10, Status::ArrivedAtPickup, "8/2");
    let sms = store.pending(Channel::Sms, t(20), 10).unwrap();
    let key = sms[0].key.clone();
    store.claim(&key, t(20), |_| None, "file").unwrap();
    crate::store::test_support::sent_by_file(&store, &key, t(21));
    let l = lane(&store, "we_n");
    assert_eq!(l, vec![(EventType::NotificationSent, HookState::Pending)]);
    let (_, d) = claim(&store, 22);
    let v: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(v["data"]["notification"]["channel"], "sms");
    assert_eq!(v["data"]["notification"]["kind"], "arrived");
    assert!(
        !d.body.contains("79123456789"),
        "no recipient in the body: {}",
        d.body
    );
}

#[test]
fn a_failing_endpoint_is_disabled_its_events_wait_and_go_when_enabled() {
    let (_d, store) = setup(vec![endpoint("we_a", vec![])]);
    let (k, _) = claim(&store, 1);
    let f = store
        .hook_finish(&k, &failed(), t(2), &retry(), Duration::from_secs(50), 0)
        .unwrap();
    assert!(!f.disabled);
    let (k, _) = claim(&store, 3);
    let f = store
        .hook_finish(&k, &failed(), t(60), &retry(), Duration::from_secs(50), 0)
        .unwrap();
    assert!(f.disabled, "failing since t(2), 58 s > 50 s");
    assert_eq!(f.state, Some(HookState::Pending));
    assert!(
        store.hook_due(t(1_000), 10).unwrap().is_empty(),
        "parked, not due"
    );
    report(&store, 70, Status::InTransit, "2/0");
    assert!(
        store.hook_due(t(1_000), 10).unwrap().is_empty(),
        "new events wait behind it"
    );
    let troubles = store.hook_troubles("acme").unwrap();
    assert!(troubles[0].endpoint.is_disabled());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (e, resumed) = rt
        .block_on(Store::from_sync(store.clone()).hooks().enable(
            ShopId::from_trusted("acme"),
            "we_a".into(),
            t(80),
        ))
        .unwrap();
    assert!(!e.is_disabled());
    assert_eq!(resumed, 1);
    let (k, d) = claim(&store, 81);
    assert_eq!(d.kind, EventType::ParcelCreated);
    assert_eq!(d.first_attempt_at, Some(t(81)), "a fresh retry period");
    store
        .hook_finish(&k, &delivered(), t(82), &retry(), DAY, 0)
        .unwrap();
    let (_, d) = claim(&store, 83);
    assert_eq!(d.kind, EventType::StatusChanged);
}

#[test]
fn dead_letters_replay_outside_their_lane_and_in_hand_ones_recover() {
    let (_d, store) = setup(vec![endpoint("we_a", vec![])]);
    let (k, _) = claim(&store, 1);
    store
        .hook_finish(&k, &failed(), t(500), &retry(), DAY, 0)
        .unwrap();
    assert_eq!(
        lane(&store, "we_a"),
        vec![(EventType::ParcelCreated, HookState::Dead)]
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let shop = ShopId::from_trusted("acme");
    let dead = rt
        .block_on(
            Store::from_sync(store.clone())
                .hooks()
                .dead(shop.clone(), "we_a".into(), 10),
        )
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].track, TRACK);
    let n = rt
        .block_on(Store::from_sync(store.clone()).hooks().replay(
            shop.clone(),
            "we_a".into(),
            t(600),
        ))
        .unwrap();
    assert_eq!(n, 1);
    let (k, d) = claim(&store, 600);
    assert!(d.replay);
    // The daemon stops with it in hand: at the next start it goes again, in doubt.
    assert_eq!(store.hook_recover(t(700)).unwrap(), 1);
    let (k2, d) = claim(&store, 700);
    assert_eq!(k2, k);
    assert!(d.in_doubt);
    store
        .hook_finish(&k, &delivered(), t(701), &retry(), DAY, 0)
        .unwrap();
    assert!(lane(&store, "we_a").is_empty());
    // Deleting the endpoint takes everything of it.
    report(&store, 800, Status::InTransit, "2/0");
    rt.block_on(
        Store::from_sync(store.clone())
            .hooks()
            .delete(shop, "we_a".into()),
    )
    .unwrap();
    assert_eq!(store.t.webhooks.scan_prefix(b"D").count(), 0);
    assert_eq!(store.t.webhooks.scan_prefix(b"P").count(), 0);
}

#[test]
fn stuck_fires_once_per_silence_and_moves_with_activity() {
    let rules = Rules {
        stuck_after: Duration::from_secs(100),
        ..Rules::default()
    };
    let (_d, store) = setup(vec![endpoint("we_s", vec![EventType::Stuck])]);
    // The parcel was handed over with the default rules (7 days); arm under these.
    assert_eq!(store.arm_stuck_timers(None, &rules).unwrap(), 1);
    assert_eq!(store.stuck_due(t(99), 10).unwrap(), vec![]);
    let due = store.stuck_due(t(100), 10).unwrap();
    assert_eq!(due, vec![("acme".into(), TRACK.into(), t(100))]);
    assert!(
        store
            .fire_stuck("acme", TRACK, t(100), t(101), &rules)
            .unwrap()
    );
    assert!(
        store.stuck_due(t(10_000), 10).unwrap().is_empty(),
        "once per silence"
    );
    assert_eq!(
        lane(&store, "we_s"),
        vec![(EventType::Stuck, HookState::Pending)]
    );
    // Activity starts a new silence: a new timer at the last event + stuck_after.
    let w = DailyWindow::ALWAYS;
    let r = Report {
        events: vec![CarrierEvent {
            at: t(150),
            status: Status::InTransit,
            code: "2/0".into(),
            description: String::new(),
            office: None,
            storage: None,
            presence: false,
        }],
        ..Report::default()
    };
    store
        .apply_report(
            &pk(),
            &r,
            t(160),
            &rules,
            t(99_999),
            &SendTiming { window: &w },
        )
        .unwrap();
    assert_eq!(store.stuck_due(t(250), 10).unwrap().len(), 1);
    assert!(
        store
            .fire_stuck("acme", TRACK, t(250), t(251), &rules)
            .unwrap()
    );
    assert_eq!(
        lane(&store, "we_s").len(),
        2,
        "a second silence, a second event"
    );
    assert_eq!(
        store.rearm_stuck_if_changed(&rules).unwrap(),
        Some(1),
        "the live parcel armed again"
    );
    assert_eq!(
        store.rearm_stuck_if_changed(&rules).unwrap(),
        None,
        "remembered"
    );
}

#[test]
fn stuck_waits_while_the_carrier_is_stalled() {
    use crate::domain::carrier::CarrierId;
    use crate::domain::outage::OutageRules;
    let rules = Rules {
        stuck_after: Duration::from_secs(100),
        ..Rules::default()
    };
    let (_d, store) = setup(vec![endpoint("we_s", vec![EventType::Stuck])]);
    store.arm_stuck_timers(None, &rules).unwrap();
    let outages = OutageRules {
        min_answers: 2,
        ..OutageRules::default()
    };
    let hour = Duration::from_secs(3600);
    let sandbox = CarrierId::Sandbox;
    store
        .record_answers(sandbox, t(0), hour, &[(0, 0), (0, 0)], &outages)
        .unwrap();
    let (_, stalled) = store
        .record_answers(sandbox, t(3600), hour, &[(1, 1)], &outages)
        .unwrap();
    assert!(stalled);
    assert!(
        !store
            .fire_stuck("acme", TRACK, t(100), t(101), &rules)
            .unwrap(),
        "the alert waits"
    );
    assert!(lane(&store, "we_s").is_empty());
    assert_eq!(
        store.stuck_due(t(10_000), 10).unwrap(),
        vec![("acme".into(), TRACK.into(), t(201))],
        "it looks again later"
    );
    let (_, stalled) = store
        .record_answers(sandbox, t(7200), hour, &[], &outages)
        .unwrap();
    assert!(!stalled, "that window brought news");
    assert!(
        store
            .fire_stuck("acme", TRACK, t(201), t(202), &rules)
            .unwrap()
    );
    assert_eq!(
        lane(&store, "we_s"),
        vec![(EventType::Stuck, HookState::Pending)]
    );
}

#[test]
fn keys_read_back() {
    let key = k::delivery("acme", "we_1", "SANDBOX-1", 42);
    assert_eq!(
        k::read_delivery(&key),
        Some(("acme".into(), "we_1".into(), "SANDBOX-1".into(), 42))
    );
    assert_eq!(k::read_delivery(b"Dnope"), None);
    let l = Lane { next: 5, head: 3 };
    assert_eq!(Lane::read(&l.bytes()), l);
}
