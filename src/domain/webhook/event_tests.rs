use super::*;
use crate::domain::carrier::CarrierId;
use crate::domain::lifecycle::{Rules, apply_events};
use crate::domain::money::Kopecks;
use crate::domain::parcel::{Customer, NotifyMarks, PollState};
use crate::domain::shop::ShopId;
use crate::domain::track::TrackNumber;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_741_000_000 + secs).unwrap()
}

fn parcel() -> Parcel {
    Parcel {
        id: 7,
        shop: ShopId::from_trusted("acme"),
        track: TrackNumber::from_trusted("10100012000016"),
        carrier: CarrierId::RussianPost,
        track_warning: None,
        order_id: Some("A-1".into()),
        customer: Customer {
            name: "Иванов Иван".into(),
            ..Customer::default()
        },
        cod: Kopecks(149_000),
        contents: None,
        created_at: t(0),
        updated_at: t(0),
        status: Status::Registered,
        events: vec![],
        arrival: None,
        marks: NotifyMarks::default(),
        next_poll_at: Some(t(0)),
        next_reminder_at: None,
        poll: PollState::default(),
        unsubscribed: vec![],
        cod_paid_at: None,
        previous_tracks: vec![],
        tracked_as: None,
        storage_days: None,
        mail_type: None,
        handed_over_from: None,
        abandoned_at: None,
        revived_at: None,
        outlook: Default::default(),
    }
}

fn ev(at: i64, status: Status, code: &str) -> CarrierEvent {
    CarrierEvent {
        at: t(at),
        status,
        code: code.into(),
        description: format!("operation {code}"),
        office: Some(Office {
            index: Some("630099".into()),
            name: "Новосибирск 630099".into(),
            ..Office::default()
        }),
        storage: None,
        presence: false,
    }
}

fn json(e: &Event) -> serde_json::Value {
    serde_json::from_str(&e.body).unwrap()
}

#[test]
fn a_created_event_names_the_parcel_and_no_customer() {
    let e = created(&parcel(), t(1));
    let v = json(&e);
    assert_eq!(v["id"], e.id.as_str());
    assert!(e.id.starts_with("evt_") && e.id.len() == 36, "{}", e.id);
    assert_eq!(v["type"], "parcel.created");
    assert_eq!(v["shop"], "acme");
    assert_eq!(v["parcel"]["track"], "10100012000016");
    assert_eq!(v["parcel"]["order_id"], "A-1");
    assert_eq!(v["parcel"]["status"], "registered");
    assert_eq!(v["parcel"]["carrier"], "russian_post");
    assert_eq!(v["data"]["cod_amount"], "1490.00");
    assert_eq!(v["created_at"], "2025-03-03T11:06:41Z");
    assert!(!e.body.contains("Иванов"), "{}", e.body);
    // The same event derived again has the same id; a later one of the same kind does not.
    assert_eq!(created(&parcel(), t(99)).id, e.id);
    let mut again = parcel();
    again.id = 8;
    assert_ne!(
        created(&again, t(1)).id,
        e.id,
        "a parcel handed over again is new"
    );
}

#[test]
fn an_arrival_report_tells_the_status_change_and_the_deadline_with_its_basis() {
    let before = parcel();
    let mut p = before.clone();
    let rules = Rules::default();
    let terms = ShopTerms::default();
    let o = apply_events(
        &mut p,
        vec![
            ev(10, Status::Accepted, "1/1"),
            ev(20, Status::ArrivedAtPickup, "8/2"),
        ],
        t(30),
        &rules,
        &terms,
    );
    let events = from_report(&before, &p, &o, &terms, t(30));
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventType::StatusChanged, EventType::Arrived]);
    let s = json(&events[0]);
    assert_eq!(s["data"]["from"], "registered");
    assert_eq!(s["data"]["to"], "arrived_at_pickup");
    assert_eq!(s["data"]["event"]["code"], "8/2");
    assert_eq!(s["data"]["event"]["description"], "operation 8/2");
    assert_eq!(s["data"]["event"]["place"]["index"], "630099");
    let a = json(&events[1]);
    assert_eq!(a["data"]["office"]["name"], "Новосибирск 630099");
    assert_eq!(a["data"]["deadline"]["basis"]["kind"], "period");
    let text = a["data"]["deadline"]["basis"]["text"].as_str().unwrap();
    assert!(text.starts_with("15 days"), "{text}");
    assert_eq!(a["data"]["arrival"], 1);
    // Derived again from the same facts: the same ids.
    let again = from_report(&before, &p, &o, &terms, t(31));
    assert_eq!(
        again.iter().map(|e| &e.id).collect::<Vec<_>>(),
        events.iter().map(|e| &e.id).collect::<Vec<_>>()
    );
    // Collected: status change and delivery.
    let before = p.clone();
    let o = apply_events(
        &mut p,
        vec![ev(40, Status::Delivered, "2/1")],
        t(50),
        &rules,
        &terms,
    );
    let events = from_report(&before, &p, &o, &terms, t(50));
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventType::StatusChanged, EventType::Delivered]);
    assert_eq!(json(&events[1])["data"]["at"], "2025-03-03T11:07:20Z");
}

#[test]
fn a_moved_deadline_names_both_and_the_new_basis() {
    let mut p = parcel();
    let rules = Rules::default();
    let terms = ShopTerms::default();
    apply_events(
        &mut p,
        vec![ev(20, Status::ArrivedAtPickup, "8/2")],
        t(30),
        &rules,
        &terms,
    );
    let before = p.clone();
    let mut extended = ev(3600, Status::ArrivedAtPickup, "8/23");
    extended.storage = Some(crate::domain::storage::StorageSignal::Extended(
        crate::domain::storage::Extender::Addressee,
    ));
    let o = apply_events(&mut p, vec![extended], t(3700), &rules, &terms);
    let change = o.deadline_moved.clone().expect("moved");
    let events = from_report(&before, &p, &o, &terms, t(3700));
    let d = events
        .iter()
        .find(|e| e.kind == EventType::DeadlineChanged)
        .expect("deadline_changed");
    let v = json(d);
    assert_eq!(v["data"]["from"]["basis"]["kind"], "period");
    assert_eq!(v["data"]["to"]["basis"]["kind"], "extended");
    assert_eq!(
        v["data"]["to"]["at"],
        serde_json::to_value(change.to).unwrap(),
    );
    assert_eq!(
        deadline_changed(&before, &p, &change, &terms, t(1))
            .unwrap()
            .id,
        d.id
    );
}

#[test]
fn stuck_once_per_silence() {
    let mut p = parcel();
    p.events.push(ev(10, Status::InTransit, "2/0"));
    let week = std::time::Duration::from_secs(7 * 86_400);
    let a = stuck(&p, week, t(700_000));
    assert_eq!(stuck(&p, week, t(800_000)).id, a.id, "the same silence");
    let v = json(&a);
    assert_eq!(v["data"]["stuck_after"], "7days");
    assert_eq!(v["data"]["last_event"]["code"], "2/0");
    p.events.push(ev(900_000, Status::InTransit, "2/0"));
    assert_ne!(stuck(&p, week, t(1_700_000)).id, a.id, "a new silence");
}
