//! Storage deadlines told to customers come from the post's rules and its own records, against
//! the Russian Post fake: the period of the mail type the service reports, the shop's and the
//! parcel's own periods, "days left", extensions applied for, granted and refused, expiry, and
//! a return; each deadline's basis is shown, and the messages that go out state the deadline in
//! force when they go (also one queued before the deadline moved).

use crate::carriers_support::{closed_window, poll_all};
use crate::fakes::russian_post::{FakeRussianPost, Op};
use crate::fakes::sms_gateway::{Fault, Gateway};
use crate::harness::{Daemon, SmsLine, parcel, set, wait_for};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use parceld::api::dto::{CreateShop, CustomerIn, Field, ParcelIn, ParcelView, RetryDead};
use std::time::Duration;

const MONTHS: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// The office's zone: 630099 is Novosibirsk.
fn nsk() -> TimeZone {
    TimeZone::get("Asia/Novosibirsk").unwrap()
}

/// The local date `days` days after the day of `t` at the office.
fn day_after(t: Timestamp, days: i64) -> Date {
    t.to_zoned(nsk()).date() + jiff::Span::new().days(days)
}

/// "22 декабря", as the messages write it.
fn ru(d: Date) -> String {
    format!("{} {}", d.day(), MONTHS[(d.month() - 1) as usize])
}

fn hours_ago(h: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(h)
}

/// Accepted three days before `arrived`, then at the office at `arrived`.
fn arrival(arrived: Timestamp) -> Vec<Op> {
    vec![
        Op {
            index: "101000",
            place: "Москва 101000",
            ..Op::at_office(1, 1, "Приём", arrived - SignedDuration::from_hours(72))
        },
        Op::at_office(8, 2, "Прибыло в место вручения", arrived),
    ]
}

fn typed(ops: Vec<Op>, mail_type: Option<(u16, &'static str)>) -> Vec<Op> {
    ops.into_iter().map(|o| o.typed(mail_type)).collect()
}

fn with(mut ops: Vec<Op>, more: Op) -> Vec<Op> {
    ops.push(more);
    ops
}

async fn view(d: &Daemon, shop: &str, track: &str) -> ParcelView {
    d.socket.parcel(shop, track).await.expect("parcel")
}

/// The deadline's local date and its basis, as the API shows them.
async fn deadline(d: &Daemon, shop: &str, track: &str) -> (Date, String) {
    let a = view(d, shop, track).await.arrival.expect("waiting");
    (a.deadline.to_zoned(nsk()).date(), a.deadline_basis)
}

/// The SMS lines about `track` of one kind (`arrived`, `reminder`, …), oldest first.
fn sms_of(d: &Daemon, track: &str, kind: &str) -> Vec<SmsLine> {
    d.sms()
        .into_iter()
        .filter(|s| s.key.contains(&format!("-{track}-")) && s.key.contains(&format!("-{kind}-")))
        .collect()
}

async fn wait_sms(d: &Daemon, track: &str, kind: &str, n: usize) -> Vec<SmsLine> {
    let what = format!("{n} {kind} SMS about {track}");
    wait_for(Duration::from_secs(20), &what, async || {
        let l = sms_of(d, track, kind);
        (l.len() >= n).then_some(l)
    })
    .await
}

#[tokio::test]
async fn the_period_comes_from_the_mail_type_the_shop_and_the_parcel() {
    let rp = FakeRussianPost::start();
    let arrived = hours_ago(40);
    let parcel_type = Some((4, "Посылка"));
    rp.records("10100012000016", &[&typed(arrival(arrived), parcel_type)]);
    rp.records(
        "10100012000023",
        &[&typed(arrival(arrived), Some((5, "Мелкий пакет")))],
    );
    rp.records("10100012000030", &[&typed(arrival(arrived), None)]);
    rp.records(
        "10100012000047",
        &[&typed(arrival(arrived), Some((23, "Посылка онлайн")))],
    );
    rp.records("10100012000054", &[&typed(arrival(arrived), parcel_type)]);
    rp.records("10100012000061", &[&typed(arrival(arrived), parcel_type)]);
    let window = closed_window();
    let d = Daemon::start_with(|c| rp.config(c, &[("window", window.as_str())])).await;
    d.create_shop("acme").await;
    // A shop whose contract with the post keeps its parcels 7 days.
    d.socket
        .create_shop(&CreateShop {
            id: "beta".into(),
            name: "Бета".into(),
            storage_days: Field::Value(7),
            ..CreateShop::default()
        })
        .await
        .unwrap();
    let acme: Vec<ParcelIn> = [
        "10100012000016",
        "10100012000023",
        "10100012000030",
        "10100012000047",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| parcel(t, &format!("A-{i}")))
    .collect();
    d.socket.add_parcels("acme", &acme).await.unwrap();
    let own = ParcelIn {
        storage_days: "5".into(),
        ..parcel("10100012000061", "B-2")
    };
    d.socket
        .add_parcels("beta", &[parcel("10100012000054", "B-1"), own])
        .await
        .unwrap();
    poll_all(&d).await;

    let from = day_after(arrived, 1);
    for (shop, track, days, basis) in [
        (
            "acme",
            "10100012000016",
            15,
            format!("15 days, parcel, from {from}"),
        ),
        (
            "acme",
            "10100012000023",
            30,
            format!("30 days, small packet, from {from}"),
        ),
        (
            "acme",
            "10100012000030",
            15,
            format!("15 days, mail type not reported, from {from}"),
        ),
        (
            "acme",
            "10100012000047",
            15,
            format!("15 days, parcel online, from {from}"),
        ),
        (
            "beta",
            "10100012000054",
            7,
            format!("7 days, the shop's period, from {from}"),
        ),
        (
            "beta",
            "10100012000061",
            5,
            format!("5 days, the parcel's own period, from {from}"),
        ),
    ] {
        let expected = day_after(arrived, days);
        assert_eq!(
            deadline(&d, shop, track).await,
            (expected, basis),
            "{track}"
        );
        let sms = wait_sms(&d, track, "arrived", 1).await;
        assert!(
            sms[0].text.contains(&format!("до {}", ru(expected))),
            "{track}: {}",
            sms[0].text
        );
        let mail = wait_for(Duration::from_secs(20), "the arrival e-mail", async || {
            d.mails()
                .into_iter()
                .find(|m| m.file.contains(&format!("-{track}-")) && m.file.contains("-arrived-"))
        })
        .await;
        assert!(mail.text.contains(&ru(expected)), "{track}: {}", mail.text);
    }
    let p = view(&d, "acme", "10100012000023").await;
    let m = p.mail_type.expect("mail type");
    assert_eq!(
        (m.class.as_str(), m.code, m.name.as_str()),
        ("small_packet", 5, "Мелкий пакет")
    );

    // The shop changes its period: its waiting parcels follow, the parcel's own still wins.
    d.socket
        .patch_shop(
            "beta",
            &parceld::api::dto::PatchShop {
                storage_days: Field::Value(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        deadline(&d, "beta", "10100012000054").await.0,
        day_after(arrived, 10)
    );
    assert_eq!(
        deadline(&d, "beta", "10100012000061").await.0,
        day_after(arrived, 5)
    );
    // Back to the post's rules.
    d.socket
        .patch_shop(
            "beta",
            &parceld::api::dto::PatchShop {
                storage_days: Field::Null,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        deadline(&d, "beta", "10100012000054").await.0,
        day_after(arrived, 15)
    );
}

#[tokio::test]
async fn the_posts_own_records_count_down_extend_refuse_and_end_storage() {
    let rp = FakeRussianPost::start();
    let arrived = hours_ago(40);
    let said = hours_ago(2);
    let before = arrival(arrived);
    let at = |t, a, name| Op::at_office(t, a, name, said);
    // 5 days left, per the post.
    rp.records(
        "10100012000016",
        &[
            &before,
            &with(
                before.clone(),
                at(8, 28, "Истекает срок хранения (осталось 5 дней)"),
            ),
        ],
    );
    // The addressee extends storage.
    rp.records(
        "10100012000023",
        &[
            &before,
            &with(before.clone(), at(8, 23, "Продление срока хранения")),
        ],
    );
    // An extension applied for, then refused.
    let asked = with(
        before.clone(),
        Op::at_office(
            8,
            38,
            "Зарегистрировано заявление адресата на продление срока хранения",
            hours_ago(3),
        ),
    );
    rp.records(
        "10100012000030",
        &[
            &before,
            &asked,
            &with(
                asked.clone(),
                at(49, 3, "Отказ в продлении срока хранения. Позже чем за 24 ч"),
            ),
        ],
    );
    // Storage expired per the post, then the return starts.
    let expired = with(before.clone(), at(8, 40, "Истек срок хранения"));
    rp.records(
        "10100012000047",
        &[
            &before,
            &expired,
            &with(
                expired.clone(),
                Op::at_office(3, 1, "Возврат. Истек срок хранения", hours_ago(1)),
            ),
        ],
    );
    let window = closed_window();
    let d = Daemon::start_with(|c| {
        let c = rp.config(c, &[("window", window.as_str())]);
        // Reminders every few seconds, so that the dates they state can be read.
        set(&c, "rules", "reminder_every", "\"3s\"")
    })
    .await;
    d.create_shop("acme").await;
    let tracks = [
        "10100012000016",
        "10100012000023",
        "10100012000030",
        "10100012000047",
    ];
    let parcels: Vec<ParcelIn> = tracks
        .iter()
        .enumerate()
        .map(|(i, t)| parcel(t, &format!("A-{i}")))
        .collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();
    poll_all(&d).await;
    let fifteen = day_after(arrived, 15);
    for t in tracks {
        let sms = wait_sms(&d, t, "arrived", 1).await;
        assert!(
            sms[0].text.contains(&format!("до {}", ru(fifteen))),
            "{t}: {}",
            sms[0].text
        );
    }

    poll_all(&d).await;
    // "5 days left" on that day: the deadline moves nearer, and the next reminder says so.
    let five = day_after(said, 5);
    let (date, basis) = deadline(&d, "acme", "10100012000016").await;
    assert_eq!(date, five);
    assert_eq!(
        basis,
        format!(
            "5 days left per the post on {} (8/28)",
            said.to_zoned(nsk()).date()
        )
    );
    // Extended: 15 days more than the period it had.
    let extended = day_after(arrived, 30);
    let (date, basis) = deadline(&d, "acme", "10100012000023").await;
    assert_eq!(date, extended);
    assert_eq!(
        basis,
        format!(
            "extended by 15 days on {} (8/23)",
            said.to_zoned(nsk()).date()
        )
    );
    // Reminders that go from now on state the deadline in force.
    let n16 = sms_of(&d, "10100012000016", "reminder").len();
    let n23 = sms_of(&d, "10100012000023", "reminder").len();
    let r16 = wait_sms(&d, "10100012000016", "reminder", n16 + 1).await;
    let r23 = wait_sms(&d, "10100012000023", "reminder", n23 + 1).await;
    assert!(
        r16[n16].text.contains(&format!("до {}", ru(five))),
        "{}",
        r16[n16].text
    );
    assert!(
        r23[n23].text.contains(&format!("до {}", ru(extended))),
        "{}",
        r23[n23].text
    );

    // Applied for: the deadline stands, the request is noted.
    let a = view(&d, "acme", "10100012000030").await.arrival.unwrap();
    assert_eq!(a.deadline.to_zoned(nsk()).date(), fifteen);
    assert_eq!(a.storage_notes.len(), 1, "{:?}", a.storage_notes);
    assert!(
        a.storage_notes[0].starts_with("extension applied for on"),
        "{:?}",
        a.storage_notes
    );

    // Storage expired: no more reminders for it, and the parcel no longer counts as waiting
    // once the post says the return started.
    let (date, basis) = deadline(&d, "acme", "10100012000047").await;
    assert_eq!(date, said.to_zoned(nsk()).date());
    assert!(
        basis.starts_with("storage expired per the post on"),
        "{basis}"
    );
    assert_eq!(
        view(&d, "acme", "10100012000047").await.next_reminder_at,
        None
    );

    poll_all(&d).await;
    let a = view(&d, "acme", "10100012000030").await.arrival.unwrap();
    assert_eq!(
        a.deadline.to_zoned(nsk()).date(),
        fifteen,
        "a refusal moves nothing"
    );
    assert!(
        a.storage_notes[1].starts_with("extension refused on")
            && a.storage_notes[1].contains("(49/3)"),
        "{:?}",
        a.storage_notes
    );
    let returning = view(&d, "acme", "10100012000047").await;
    assert_eq!(returning.status, "returning");
    assert!(returning.arrival.is_none());
    let before_return = sms_of(&d, "10100012000047", "reminder").len();
    tokio::time::sleep(Duration::from_secs(4)).await; // longer than reminder_every
    assert_eq!(
        sms_of(&d, "10100012000047", "reminder").len(),
        before_return
    );
}

#[tokio::test]
async fn a_message_sent_again_states_the_current_deadline_and_goes_to_the_current_phone() {
    let rp = FakeRussianPost::start();
    let gw = Gateway::start();
    let arrived = hours_ago(40);
    let said = hours_ago(2);
    let before = arrival(arrived);
    rp.records(
        "10100012000016",
        &[
            &before,
            &with(
                before.clone(),
                Op::at_office(8, 28, "Истекает срок хранения (осталось 5 дней)", said),
            ),
        ],
    );
    let window = closed_window();
    let secrets = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(|c| {
        let c = rp.config(c, &[("window", window.as_str())]);
        let c = set(&c, "sms", "transport", "\"smsru\"");
        gw.smsru_config(&c, secrets.path())
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("10100012000016", "A-1")])
        .await
        .unwrap();
    // The gateway refuses the number: the arrival SMS is a dead letter.
    gw.fail_next([Fault::NumberCode(202)]);
    poll_all(&d).await;
    wait_for(
        Duration::from_secs(20),
        "the dead arrival SMS",
        async || {
            let p = d.socket.parcel("acme", "10100012000016").await.ok()?;
            p.notifications
                .iter()
                .any(|n| n.kind == "arrived" && n.channel == "sms" && n.state == "dead")
                .then_some(())
        },
    )
    .await;
    // The shop corrects the phone, handing over only the track, the order and the phone.
    let r = d
        .socket
        .add_parcels(
            "acme",
            &[ParcelIn {
                track: "10100012000016".into(),
                order_id: "A-1".into(),
                customer: CustomerIn {
                    phone: "+7 999 000-11-22".into(),
                    ..Default::default()
                }
                .into(),
                ..ParcelIn::default()
            }],
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].changed, ["customer.phone"]);
    let p = view(&d, "acme", "10100012000016").await;
    assert_eq!(p.customer.email.as_deref(), Some("ivan@example.ru"), "kept");
    assert_eq!(p.cod_amount, "1490.00", "kept");
    // The post then says 5 days are left.
    poll_all(&d).await;
    let five = day_after(said, 5);
    assert_eq!(deadline(&d, "acme", "10100012000016").await.0, five);

    // The dead letter is queued again: it goes to the new phone and states the deadline in
    // force now, and the amount due that was kept.
    d.socket
        .retry_dead(&RetryDead {
            channel: Some("sms".into()),
            shop: None,
        })
        .await
        .unwrap();
    let sms = wait_for(Duration::from_secs(20), "the arrival SMS", async || {
        gw.sent()
            .into_iter()
            .find(|s| s.text.contains("10100012000016"))
    })
    .await;
    assert_eq!(sms.phone, "79990001122");
    assert!(
        sms.text.contains(&format!("до {}", ru(five))),
        "{}",
        sms.text
    );
    assert!(sms.text.contains("1\u{a0}490,00"), "{}", sms.text);
}
