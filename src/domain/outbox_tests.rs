//! Tests of the outbox entry: planning intents into entries, the state machine, doubt about
//! what a provider has, pauses, the send window at send time and delivery reports.
use super::*;
use crate::domain::contact::EmailAddress;
use crate::domain::parcel::{Arrival, Customer, NotifyMarks, PollState};
use crate::domain::phone::Phone;
use crate::domain::shop::ShopId;
use crate::domain::track::TrackNumber;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn shop(report: Option<&str>) -> Shop {
    Shop {
        id: ShopId::from_trusted("acme"),
        name: "Acme".into(),
        report_email: report.map(EmailAddress::from_trusted),
        timezone: "Europe/Moscow".into(),
        phone: None,
        language: Language::Ru,
        token_sha256: String::new(),
        created_at: t("2025-03-01T00:00:00Z"),
        messaging: Default::default(),
        storage_days: None,
        plan: Default::default(),
        report_at: None,
        brand: Default::default(),
    }
}

fn parcel() -> Parcel {
    Parcel {
        id: 9,
        shop: ShopId::from_trusted("acme"),
        track: TrackNumber::from_trusted("10100012000016"),
        carrier: CarrierId::RussianPost,
        track_warning: None,
        order_id: Some("A-1".into()),
        customer: Customer {
            name: "Иванов Иван".into(),
            phone: Some(Phone::from_trusted("+79123456789")),
            email: Some(EmailAddress::from_trusted("ivan@example.ru")),
        },
        cod: Kopecks(149_000),
        contents: None,
        created_at: t("2025-03-01T00:00:00Z"),
        updated_at: t("2025-03-01T00:00:00Z"),
        status: Status::ArrivedAtPickup,
        events: vec![],
        arrival: Some(Arrival {
            office: Office::default(),
            at: t("2025-03-05T00:00:00Z"),
            deadline: crate::domain::storage::Deadline::plain(
                t("2025-03-05T00:00:00Z"),
                t("2025-04-04T00:00:00Z"),
            ),
        }),
        marks: NotifyMarks::default(),
        next_poll_at: None,
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

#[test]
fn customer_intent_goes_to_both_channels_in_the_window() {
    let w = DailyWindow::parse("09:00-21:00").unwrap();
    // 02:00 MSK: held until 09:00 MSK = 06:00 UTC.
    let now = t("2025-03-05T23:00:00Z");
    let entries = plan(
        &parcel(),
        &shop(None),
        Intent::new(NotificationKind::Arrived, 1),
        now,
        &SendTiming { window: &w },
    );
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].key.channel, Channel::Sms);
    assert_eq!(entries[0].recipient, "+79123456789");
    assert_eq!(entries[1].key.channel, Channel::Email);
    assert_eq!(entries[0].next_attempt_at, t("2025-03-06T06:00:00Z"));
    assert_eq!(entries[0].facts.first_name, "Иван");
    assert!(entries[0].key.slug().contains("arrived-1-sms"));
}

#[test]
fn unsubscribed_channels_and_missing_contacts_are_skipped() {
    let mut p = parcel();
    p.unsubscribed.push(Channel::Sms);
    p.customer.email = None;
    let now = t("2025-03-05T10:00:00Z");
    let w = DailyWindow::ALWAYS;
    let timing = SendTiming { window: &w };
    assert!(
        plan(
            &p,
            &shop(None),
            Intent::new(NotificationKind::Arrived, 1),
            now,
            &timing
        )
        .is_empty()
    );
    // The shop alert goes to the shop's address whatever the customer chose.
    let e = plan(
        &p,
        &shop(Some("ops@acme.ru")),
        Intent::new(NotificationKind::ReturnStarted, 1),
        now,
        &timing,
    );
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].recipient, "ops@acme.ru");
    assert!(
        plan(
            &p,
            &shop(None),
            Intent::new(NotificationKind::ReturnStarted, 1),
            now,
            &timing
        )
        .is_empty()
    );
}

#[test]
fn state_machine() {
    let now = t("2025-03-05T10:00:00Z");
    let w = DailyWindow::ALWAYS;
    let mut e = plan(
        &parcel(),
        &shop(None),
        Intent::new(NotificationKind::Arrived, 1),
        now,
        &SendTiming { window: &w },
    )
    .remove(0);
    let policy = RetryPolicy {
        max_attempts: 2,
        base: Duration::from_secs(10),
        cap: Duration::from_secs(60),
    };
    assert!(e.claim(now));
    assert!(!e.claim(now), "a claimed entry cannot be claimed twice");
    e.fail(Failure::Transient("timeout".into()), now, &policy, 0);
    assert_eq!(e.state, DeliveryState::Pending);
    assert!(e.next_attempt_at > now);
    assert!(e.claim(now));
    e.recover(false);
    assert_eq!((e.state, e.attempts), (DeliveryState::Pending, 1));
    assert!(e.claim(now));
    e.fail(Failure::Transient("timeout".into()), now, &policy, 0);
    assert_eq!(e.state, DeliveryState::Dead, "two attempts used");
    assert!(!e.cancel("late"));

    let mut e2 = plan(
        &parcel(),
        &shop(None),
        Intent::new(NotificationKind::Arrived, 1),
        now,
        &SendTiming { window: &w },
    )
    .remove(0);
    e2.claim(now);
    e2.fail(Failure::Permanent("bad number".into()), now, &policy, 0);
    assert_eq!(e2.state, DeliveryState::Dead);

    let mut e3 = plan(
        &parcel(),
        &shop(None),
        Intent::new(NotificationKind::Arrived, 1),
        now,
        &SendTiming { window: &w },
    )
    .remove(0);
    e3.claim(now);
    e3.succeed(
        Acceptance {
            provider: "smsru".into(),
            provider_id: Some("id-1".into()),
            ..Acceptance::default()
        },
        now,
    );
    assert_eq!(e3.state, DeliveryState::Sent);
    assert_eq!(e3.provider.as_deref(), Some("smsru"));
    assert_eq!(e3.doubtful_resends, 0);
}

fn arrived_entry() -> OutboxEntry {
    let w = DailyWindow::ALWAYS;
    plan(
        &parcel(),
        &shop(None),
        Intent::new(NotificationKind::Arrived, 1),
        t("2025-03-05T10:00:00Z"),
        &SendTiming { window: &w },
    )
    .remove(0)
}

#[test]
fn doubt_is_kept_until_the_message_is_accepted_and_a_doubtful_resend_is_counted() {
    let now = t("2025-03-05T10:00:00Z");
    let policy = RetryPolicy {
        max_attempts: 5,
        base: Duration::from_secs(10),
        cap: Duration::from_secs(60),
    };
    let mut e = arrived_entry();
    e.claim(now);
    e.fail(Failure::Unknown("no answer".into()), now, &policy, 0);
    assert!(e.in_doubt, "no answer: the provider may have it");
    e.claim(now);
    assert_eq!(e.doubtful_resends, 1, "counted before the send leaves");
    e.fail(Failure::Transient("503".into()), now, &policy, 0);
    assert!(
        e.in_doubt,
        "a clear refusal does not clear the earlier doubt"
    );
    e.claim(now);
    e.succeed(Acceptance::default(), now);
    assert_eq!((e.in_doubt, e.doubtful_resends), (false, 2));
    // Asking the provider first settles it: no doubtful send.
    let mut e = arrived_entry();
    e.claim(now);
    e.fail(Failure::Unknown("no answer".into()), now, &policy, 0);
    e.claim(now);
    e.doubt_resolved();
    e.succeed(Acceptance::default(), now);
    assert_eq!((e.in_doubt, e.doubtful_resends), (false, 0));

    // In hand at a crash: the transport cannot tell, so it is in doubt; found sent later.
    let mut e = arrived_entry();
    e.claim(now);
    e.recover(true);
    assert!(e.in_doubt && e.state == DeliveryState::Pending && e.attempts == 0);
    e.claim(now);
    e.doubt_resolved();
    e.found_sent(Acceptance::default(), now);
    assert_eq!((e.state, e.doubtful_resends), (DeliveryState::Sent, 0));
}

#[test]
fn an_account_error_pauses_without_using_an_attempt() {
    let now = t("2025-03-05T10:00:00Z");
    let policy = RetryPolicy {
        max_attempts: 1,
        base: Duration::from_secs(10),
        cap: Duration::from_secs(60),
    };
    let mut e = arrived_entry();
    e.claim(now);
    e.fail(
        Failure::Paused {
            reason: "bad api_id".into(),
            retry_after: Duration::from_secs(600),
        },
        now,
        &policy,
        0,
    );
    assert_eq!((e.state, e.attempts), (DeliveryState::Pending, 0));
    assert_eq!(e.next_attempt_at, t("2025-03-05T10:10:00Z"));
}

#[test]
fn the_recipient_zone_comes_from_the_office_index() {
    let mut p = parcel();
    assert_eq!(recipient_timezone(&p, &shop(None)), "Europe/Moscow");
    if let Some(a) = p.arrival.as_mut() {
        a.office.index = Some("690091".into());
    }
    assert_eq!(recipient_timezone(&p, &shop(None)), "Asia/Vladivostok");
    // 22:00 UTC is 08:00 in Vladivostok: held until 09:00 there (23:00 UTC), whereas
    // Moscow (01:00) would wait until 06:00 UTC.
    let w = DailyWindow::parse("09:00-21:00").unwrap();
    let e = plan(
        &p,
        &shop(None),
        Intent::new(NotificationKind::Arrived, 1),
        t("2025-03-05T22:00:00Z"),
        &SendTiming { window: &w },
    );
    assert_eq!(e[0].facts.timezone, "Asia/Vladivostok");
    assert_eq!(e[0].next_attempt_at, t("2025-03-05T23:00:00Z"));
}

#[test]
fn the_window_is_checked_again_at_send_time_for_customers_only() {
    let w = DailyWindow::parse("09:00-21:00").unwrap();
    let e = arrived_entry();
    // 03:00 in Moscow.
    let night = t("2025-03-06T00:00:00Z");
    assert_eq!(e.window_hold(night, &w), Some(t("2025-03-06T06:00:00Z")));
    assert_eq!(e.window_hold(t("2025-03-06T10:00:00Z"), &w), None);
    let mut alert = e.clone();
    alert.key.kind = NotificationKind::ReturnStarted;
    assert_eq!(alert.window_hold(night, &w), None, "shop alerts go at once");
}

#[test]
fn delivery_reports_are_asked_for_until_final_or_too_old() {
    let sent = t("2025-03-05T10:00:00Z");
    let p = ReportPolicy {
        every: Duration::from_secs(60),
        give_up_after: Duration::from_secs(3600),
    };
    assert_eq!(p.next_check(sent, 0, sent), Some(t("2025-03-05T10:01:00Z")));
    assert_eq!(p.next_check(sent, 2, sent), Some(t("2025-03-05T10:04:00Z")));
    assert_eq!(p.next_check(sent, 9, sent), Some(t("2025-03-05T10:16:00Z")));
    assert_eq!(p.next_check(sent, 0, t("2025-03-05T10:59:30Z")), None);
    let mut e = arrived_entry();
    use crate::domain::delivery::{DeliveryReport, DeliveryStatus};
    e.record_report(
        Some(&DeliveryReport::new(DeliveryStatus::InTransit)),
        Some(t("2025-03-05T10:05:00Z")),
    );
    assert_eq!(e.next_report_at, Some(t("2025-03-05T10:05:00Z")));
    e.record_report(
        Some(&DeliveryReport::with_detail(
            DeliveryStatus::Undeliverable,
            "phone off",
        )),
        Some(t("2025-03-05T10:09:00Z")),
    );
    assert_eq!(e.next_report_at, None);
    assert_eq!(e.delivery_status.as_deref(), Some("undeliverable"));
    assert_eq!(e.last_error.as_deref(), Some("phone off"));
}

#[test]
fn stale_messages() {
    let mut p = parcel();
    assert_eq!(
        stale_reason(NotificationKind::Reminder, Channel::Sms, &p),
        None
    );
    p.status = Status::Delivered;
    assert!(stale_reason(NotificationKind::Reminder, Channel::Sms, &p).is_some());
    assert_eq!(
        stale_reason(NotificationKind::Delivered, Channel::Sms, &p),
        None
    );
    p.unsubscribed.push(Channel::Email);
    assert!(stale_reason(NotificationKind::Delivered, Channel::Email, &p).is_some());
    assert_eq!(
        stale_reason(NotificationKind::ReturnStarted, Channel::Email, &p),
        None
    );
}
