//! Statistics checked against values computed by hand for a fixed set of parcels.

use super::*;
use crate::domain::intake::{ParcelDraft, Upsert, upsert, validate};
use crate::domain::notification::{Intent, NotificationKind};
use crate::domain::outbox::{SendTiming, plan};
use crate::domain::parcel::CarrierEvent;
use crate::domain::schedule::DailyWindow;
use crate::domain::shop::ShopId;

fn t(days: f64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + (days * 86_400.0) as i64).unwrap()
}

fn parcel(track: &str, order: Option<&str>, created: f64, events: &[(f64, Status)]) -> Parcel {
    let v = validate(&ParcelDraft {
        track: track.into(),
        order_id: order.map_or(
            crate::domain::intake::Patch::Keep,
            crate::domain::intake::Patch::set,
        ),
        phone: crate::domain::intake::Patch::Set("+79123456789".into()),
        email: crate::domain::intake::Patch::Set("a@example.ru".into()),
        ..ParcelDraft::default()
    })
    .unwrap();
    let Upsert::Created(p) = upsert(
        None,
        &v,
        &ShopId::from_trusted("acme"),
        1,
        t(created),
        t(created),
    ) else {
        panic!("created")
    };
    let mut p = *p;
    for (d, s) in events {
        p.events.push(CarrierEvent {
            at: t(*d),
            status: *s,
            code: String::new(),
            description: String::new(),
            office: None,
            storage: None,
            presence: false,
        });
        p.status = *s;
    }
    p
}

fn fixed_parcels() -> Vec<Parcel> {
    use Status::*;
    let mut p8 = parcel("SANDBOX-STUCK-8", None, 10.0, &[]);
    p8.unsubscribed.push(Channel::Sms);
    vec![
        parcel(
            "SANDBOX-DELIVERED-1",
            Some("A"),
            0.0,
            &[(1.0, Accepted), (4.0, ArrivedAtPickup), (6.0, Delivered)],
        ),
        parcel(
            "SANDBOX-DELIVERED-2",
            Some("A"),
            0.0,
            &[(1.0, Accepted), (6.0, ArrivedAtPickup), (16.0, Delivered)],
        ),
        parcel(
            "SANDBOX-RETURNED-3",
            Some("B"),
            2.0,
            &[
                (2.0, Accepted),
                (4.5, ArrivedAtPickup),
                (22.0, Returning),
                (25.0, ReturnedToSender),
            ],
        ),
        parcel(
            "SANDBOX-LOST-4",
            Some("C"),
            3.0,
            &[(3.0, Accepted), (4.0, InTransit), (20.0, Lost)],
        ),
        parcel(
            "SANDBOX-ARRIVED-5",
            None,
            5.0,
            &[(5.0, Accepted), (12.0, ArrivedAtPickup)],
        ),
        parcel(
            "SANDBOX-DELIVERED-6",
            Some("D"),
            -10.0,
            &[(-9.0, Accepted), (-2.0, ArrivedAtPickup), (-1.0, Delivered)],
        ),
        parcel(
            "SANDBOX-RETURNED-7",
            None,
            -20.0,
            &[
                (-19.0, Accepted),
                (-15.0, ArrivedAtPickup),
                (-5.0, ReturnedToSender),
            ],
        ),
        p8,
        parcel("SANDBOX-STUCK-9", None, 31.0, &[(31.0, Accepted)]),
        parcel(
            "SANDBOX-DELIVERED-10",
            Some("E"),
            1.0,
            &[(2.0, InTransit), (3.0, ArrivedAtPickup), (35.0, Delivered)],
        ),
    ]
}

fn entries(p: &Parcel) -> Vec<OutboxEntry> {
    let shop = crate::store::shops::tests::shop("acme", "h");
    let w = DailyWindow::ALWAYS;
    let timing = SendTiming { window: &w };
    let mut out = Vec::new();
    let states = [
        (1.0, DeliveryState::Sent, true),
        (2.0, DeliveryState::Sent, true),
        (3.0, DeliveryState::Dead, false),
        (4.0, DeliveryState::Cancelled, false),
        (5.0, DeliveryState::Pending, false),
        (-3.0, DeliveryState::Sent, true),
    ];
    for (i, (day, state, with_email)) in states.into_iter().enumerate() {
        let intent = Intent::new(NotificationKind::Reminder, i as u32 + 1);
        for mut e in plan(p, &shop, intent, t(day), &timing) {
            if e.key.channel == Channel::Email && !with_email {
                continue;
            }
            e.state = state;
            e.created_at = t(day);
            out.push(e);
        }
    }
    out
}

#[test]
fn stats_match_hand_computed_values() {
    let parcels = fixed_parcels();
    let mut c = Collector::new(Period {
        from: t(0.0),
        to: t(30.0),
    });
    for p in &parcels {
        c.parcel(p);
    }
    for e in entries(&parcels[0]) {
        c.entry(&e);
    }
    let s = c.finish();

    assert_eq!(s.handed_over, 7, "P1, P2, P3, P4, P5, P8, P10");
    assert_eq!(s.orders, 4, "A (two parcels), B, C, E");
    assert_eq!(
        s.finished,
        BTreeMap::from([
            (Status::Delivered, 2),
            (Status::ReturnedToSender, 1),
            (Status::Lost, 1)
        ])
    );
    assert_eq!(s.return_rate(), Some(0.25));
    assert_eq!(
        s.previous_return_rate(),
        Some(0.5),
        "P6 delivered, P7 returned"
    );

    // Arrived in the period: 3, 5, 2.5, 7 and 1 (P10 from its first event) days.
    assert_eq!(
        s.accepted_to_arrived,
        Spread {
            count: 5,
            median: Some(3.0),
            p90: Some(7.0)
        }
    );
    // Delivered in the period: P1 after 2 days, P2 after 10.
    assert_eq!(
        s.arrived_to_pickup,
        Spread {
            count: 2,
            median: Some(6.0),
            p90: Some(10.0)
        }
    );

    let sms = s.channels[&Channel::Sms];
    assert_eq!(
        sms,
        ChannelCounts {
            total: 5,
            sent: 2,
            failed: 1,
            cancelled: 1,
            pending: 1
        }
    );
    assert_eq!(sms.delivery_rate(), Some(0.6667));
    assert_eq!(s.channels[&Channel::Email].total, 2);
    assert_eq!(s.channels[&Channel::Email].delivery_rate(), Some(1.0));
    assert_eq!(s.unsubscribed, BTreeMap::from([(Channel::Sms, 1)]));

    assert_eq!(s.by_status[&Status::Delivered], 4);
    assert_eq!(s.by_status[&Status::ReturnedToSender], 2);
    assert_eq!(s.by_status[&Status::Registered], 1);
    assert_eq!(s.by_status.values().sum::<u64>(), 10);
}

#[test]
fn spreads() {
    assert_eq!(spread(vec![]), Spread::default());
    let s = spread(vec![4.0]);
    assert_eq!((s.median, s.p90), (Some(4.0), Some(4.0)));
    // Ten values 1..=10: median 5.5, 90th percentile the 9th value.
    let s = spread((1..=10).map(f64::from).collect());
    assert_eq!((s.median, s.p90), (Some(5.5), Some(9.0)));
    // Eleven values: the 10th (⌈9.9⌉).
    let s = spread((1..=11).map(f64::from).collect());
    assert_eq!((s.median, s.p90), (Some(6.0), Some(10.0)));
    assert_eq!(spread(vec![1.0 / 3.0]).median, Some(0.33));
}

#[test]
fn nothing_finished_means_no_rate() {
    let s = Collector::new(Period {
        from: t(0.0),
        to: t(1.0),
    })
    .finish();
    assert_eq!(s.return_rate(), None);
    assert_eq!(ChannelCounts::default().delivery_rate(), None);
}
