use super::*;
use crate::config::secret::Secret;
use crate::domain::intake::{ParcelDraft, Patch, Upsert, upsert, validate};
use crate::domain::parcel::{Arrival, CarrierEvent};
use crate::domain::shop::{Language, ShopId};
use crate::domain::status::Status;
use crate::domain::storage::Deadline;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn shop(lang: Language) -> Shop {
    let mut s = crate::store::shops::tests::shop("acme", "h");
    s.name = "Книжный <дом>".into();
    s.phone = Some("+7 495 123-45-67".into());
    s.language = lang;
    s
}

fn pickup() -> Office {
    Office {
        index: Some("630099".into()),
        name: "Новосибирск 630099".into(),
        address: None,
        hours: None,
        phone: None,
    }
}

fn parcel(track: &str, id: u64, phone: &str, cod: &str) -> Parcel {
    let v = validate(&ParcelDraft {
        track: track.into(),
        order_id: Patch::Set("A-1001".into()),
        name: Patch::Set("Иванов Иван Иванович".into()),
        phone: Patch::Set(phone.into()),
        email: Patch::Set("ivan@example.ru".into()),
        cod_amount: Patch::Set(cod.into()),
        contents: Patch::Set("Книга".into()),
        ..ParcelDraft::default()
    })
    .unwrap();
    let now = t("2026-12-01T09:00:00Z");
    let Upsert::Created(p) = upsert(None, &v, &ShopId::from_trusted("acme"), id, now, now) else {
        panic!()
    };
    *p
}

/// Arrived on Monday 7 December 2026 at 10:00 Novosibirsk time, kept until 22 December.
fn arrived(mut p: Parcel) -> Parcel {
    let at = t("2026-12-07T03:00:00Z");
    p.status = Status::ArrivedAtPickup;
    p.events.push(CarrierEvent {
        at: t("2026-12-02T09:00:00Z"),
        status: Status::Accepted,
        code: "1/1".into(),
        description: "Прием. Единичный".into(),
        office: Some(Office {
            index: Some("101000".into()),
            name: "Москва 101000".into(),
            ..Office::default()
        }),
        storage: None,
        presence: false,
    });
    p.events.push(CarrierEvent {
        at,
        status: Status::ArrivedAtPickup,
        code: "8/2".into(),
        description: "Обработка. Прибыло в место вручения".into(),
        office: Some(pickup()),
        storage: None,
        presence: false,
    });
    p.arrival = Some(Arrival {
        office: pickup(),
        at,
        deadline: Deadline::plain(at, t("2026-12-22T16:59:59Z")),
    });
    p
}

fn directory() -> BTreeMap<String, OfficeEntry> {
    let mut m = BTreeMap::new();
    m.insert(
        "630099".into(),
        OfficeEntry {
            index: "630099".into(),
            address: "Новосибирск, ул. Советская, 33".into(),
            hours: Some("пн–пт 08:00–20:00, сб 09:00–18:00, вс выходной".into()),
            phone: Some("8 800 100-00-00".into()),
        },
    );
    m
}

fn links() -> LinkSigner {
    LinkSigner::new(Secret::new("k"), "https://parcels.example")
}

#[test]
fn a_waiting_parcel_shows_office_deadline_extension_amount_and_masked_customer() {
    let shop = shop(Language::Ru);
    let offices = directory();
    let links = links();
    // Thursday 17 December, 23:30 in Moscow, already Friday 18 December in Novosibirsk.
    let ctx = Context {
        shop: &shop,
        offices: &offices,
        now: t("2026-12-17T20:30:00Z"),
        links: &links,
        extend_url: "https://www.pochta.ru/tracking?barcode={track}",
    };
    let p = arrived(parcel("10100012000016", 7, "+7 912 345-67-89", "1490.00"));
    let v = build(&ctx, std::slice::from_ref(&p));
    let r = v.recipient.as_ref().unwrap();
    assert_eq!(r.name.as_deref(), Some("И***в И."));
    assert_eq!(r.phone.as_deref(), Some("+7 *** ***-67-89"));
    assert_eq!(r.email.as_deref(), Some("i***@example.ru"));
    assert_eq!(v.order_id.as_deref(), Some("A-1001"));
    assert!(!v.several);
    assert_eq!(v.shop.color, DEFAULT_COLOR);
    assert_eq!(v.shop.phone_href.as_deref(), Some("tel:+74951234567"));

    let c = &v.parcels[0];
    assert_eq!(c.status_title, "Ждёт вас в отделении");
    assert_eq!(c.tone, Tone::Waiting);
    let o = c.office.as_ref().unwrap();
    assert_eq!(
        o.address.as_deref(),
        Some("Новосибирск, ул. Советская, 33"),
        "from the directory"
    );
    assert_eq!(o.phone_href.as_deref(), Some("tel:88001000000"));
    assert!(
        o.map_url
            .as_deref()
            .unwrap()
            .starts_with("https://yandex.ru/maps/?text=%D0%9D%D0%BE%D0%B2"),
        "{:?}",
        o.map_url
    );
    assert_eq!(o.week.len(), 7);
    let today: Vec<&str> = o.week.iter().filter(|d| d.today).map(|d| d.day).collect();
    assert_eq!(today, ["Пятница"], "the office's day, not Moscow's");
    assert_eq!(o.week[4].hours, "08:00–20:00");
    assert_eq!(o.week[6].hours, "выходной");
    assert!(o.hours_text.is_none());

    let d = c.deadline.as_ref().unwrap();
    assert_eq!(d.date, "22 декабря");
    assert_eq!(d.left, "осталось 4 дня");
    assert!(!d.urgent);
    assert!(!d.basis.is_empty());
    let e = c.extend.as_ref().unwrap();
    assert_eq!(
        e.ways[0].href.as_deref(),
        Some("https://www.pochta.ru/tracking?barcode=10100012000016")
    );
    assert_eq!(c.amount.as_deref(), Some("1\u{a0}490,00 ₽"));
    assert!(!c.nothing_due);
    assert_eq!(c.events.len(), 2);
    assert_eq!(
        c.events[0].when, "07.12.2026 10:00",
        "newest first, office time"
    );
    assert_eq!(
        c.events[1].when, "02.12.2026 12:00",
        "Moscow's office, Moscow time"
    );
    assert_eq!(
        c.tracking.as_ref().unwrap().href.as_deref(),
        Some("https://www.pochta.ru/tracking?barcode=10100012000016")
    );
    assert_eq!(c.unsubscribe.len(), 2);
    let sms = c.unsubscribe[0].href.as_deref().unwrap();
    assert!(sms.starts_with("https://parcels.example/u/acme/10100012000016/sms/7/"));
    let sig = sms.rsplit('/').next().unwrap();
    assert!(links.verify_unsubscribe("acme", "10100012000016", Channel::Sms, 7, sig));
}

#[test]
fn the_last_days_a_collected_parcel_and_unreadable_hours() {
    let mut shop = shop(Language::En);
    shop.brand.color = Some("#ffd400".into());
    let offices = BTreeMap::new();
    let links = links();
    let ctx = Context {
        shop: &shop,
        offices: &offices,
        now: t("2026-12-22T05:00:00Z"),
        links: &links,
        extend_url: "https://post.example/{track}",
    };
    let mut p = arrived(parcel("10100012000016", 7, "+7 912 345-67-89", "0"));
    if let Some(a) = &mut p.arrival {
        a.office.hours = Some("по записи".into());
    }
    p.unsubscribed.push(Channel::Email);
    let v = build(&ctx, std::slice::from_ref(&p));
    assert_eq!(v.shop.on_color, "#111111", "dark text on yellow");
    let c = &v.parcels[0];
    let d = c.deadline.as_ref().unwrap();
    assert_eq!(d.left, "today is the last day");
    assert!(d.urgent);
    let o = c.office.as_ref().unwrap();
    assert!(o.week.is_empty());
    assert_eq!(o.hours_text.as_deref(), Some("по записи"));
    assert!(
        o.address.is_none() && o.map_url.is_none(),
        "no directory entry"
    );
    assert!(c.nothing_due && c.amount.is_none());
    assert_eq!(c.unsubscribe[1].href, None);
    assert_eq!(c.unsubscribe[1].text, words::EN.email_off);

    p.status = Status::Delivered;
    let v = build(&ctx, std::slice::from_ref(&p));
    let c = &v.parcels[0];
    assert_eq!(c.status_title, "Collected");
    assert!(c.office.is_none() && c.deadline.is_none() && c.extend.is_none());
    assert!(c.unsubscribe.is_empty(), "nothing more is sent");
    assert!(!c.nothing_due);
}

#[test]
fn which_parcels_a_page_shows() {
    let a = parcel("10100012000016", 1, "+7 912 345-67-89", "0");
    let b = parcel("10100012000023", 2, "+7 912 345-67-89", "0");
    let mut other = parcel("10100012000030", 3, "+7 999 000-11-22", "0");
    other.customer.email = None;
    let mut gone = parcel("10100012000047", 4, "+7 912 345-67-89", "0");
    gone.customer = Customer::default();

    let ids = |ps: &[Parcel]| ps.iter().map(|p| p.id).collect::<Vec<_>>();
    let all = vec![b.clone(), a.clone(), other.clone(), gone.clone()];
    assert_eq!(ids(&by_code(all.clone())), [2, 1], "the code's own first");
    assert_eq!(
        ids(&by_code(vec![gone.clone(), a.clone()])),
        Vec::<u64>::new()
    );
    assert_eq!(ids(&by_phone(all.clone(), "6789")), [1, 2]);
    assert_eq!(ids(&by_phone(all.clone(), "1122")), [3]);
    assert!(by_phone(all, "0000").is_empty());
}

#[test]
fn tel_links() {
    assert_eq!(tel("8 800 100-00-00").as_deref(), Some("tel:88001000000"));
    assert_eq!(
        tel("+7 (495) 123-45-67").as_deref(),
        Some("tel:+74951234567")
    );
    assert_eq!(tel("звоните"), None);
}
