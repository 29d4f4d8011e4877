//! The customers' tracking page over plain HTTP: the short link in every customer message, the
//! page it opens (status, office, deadline, how to extend, amount, masked personal data), one
//! "not found" for a wrong code, a deleted parcel and an erased one; the shop's order form with
//! its neutral answers, its answer time and its limits per address and per order; several
//! parcels of one order; the shop's colour and logo.

use crate::carriers_support::{closed_window, poll_all};
use crate::fakes::russian_post::FakeRussianPost;
use crate::harness::{Daemon, parcel, set, wait_for, walk};
use crate::notify_support::metrics;
use parceld::api::dto::PatchShop;
use std::process::Command;
use std::time::{Duration, Instant};

/// The link to the tracking page in the first SMS that carries one and whose outbox key
/// contains `key`. A parcel's messages may reach the gateway in any order (they go out
/// side by side), and some, like "delivered", carry no link.
pub async fn page_link(d: &Daemon, key: &str) -> String {
    order_link(d, &[key]).await
}

/// The link to the tracking page in the first SMS, of any of the parcels named by `keys`, that
/// carries one.
async fn order_link(d: &Daemon, keys: &[&str]) -> String {
    let prefix = format!("http://127.0.0.1:{}/t/", d.port);
    let what = keys.join(" or ");
    let text = wait_for(Duration::from_secs(30), &what, async || {
        d.sms()
            .into_iter()
            .find(|s| keys.iter().any(|k| s.key.contains(k)) && s.text.contains(&prefix))
            .map(|s| s.text)
    })
    .await;
    let start = text.find(&prefix).unwrap_or_default();
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// HTML as text to search: the entities the page's escaping writes, read back.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn get(url: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.text().await.unwrap(), headers)
}

/// Sends the order form of `shop`, from `client` (an `X-Forwarded-For` address) if given.
async fn form(
    d: &Daemon,
    shop: &str,
    order: &str,
    phone: &str,
    client: Option<&str>,
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/t/{shop}", d.port))
        .form(&[("order", order), ("phone", phone)]);
    if let Some(c) = client {
        req = req.header("x-forwarded-for", c);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn parcelctl(d: &Daemon, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_parcelctl"))
        .arg("--socket")
        .arg(d.path().join("run/control.sock"))
        .args(args)
        .output()
        .expect("run parcelctl")
}

#[tokio::test]
async fn every_message_links_the_parcels_page_and_a_gone_parcel_is_not_found() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "P-1")])
        .await
        .unwrap();
    let accepted = page_link(&d, "-accepted-1-sms").await;
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    let link = page_link(&d, "-arrived-1-sms").await;
    assert_eq!(link, accepted, "one parcel, one link");
    let code = link.rsplit('/').next().unwrap();
    assert_eq!(code.len(), 10, "{link}");
    let mail = wait_for(Duration::from_secs(20), "the arrival e-mail", async || {
        d.mails()
            .into_iter()
            .find(|m| m.file.contains("-arrived-1-email"))
    })
    .await;
    assert!(mail.text.contains(&link), "{}", mail.text);

    let (status, html, headers) = get(&link).await;
    assert_eq!(status, 200, "{html}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script"),
        "{csp}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert!(!html.contains("<script"), "no scripts");
    let page = unescape(&html);
    for needle in [
        "lang=\"ru\"",
        "Заказ P-1",
        "Ждёт вас в отделении",
        "Новосибирск, ул. Советская, 33",
        "https://yandex.ru/maps/?text=",
        "tel:88001000000",
        "class=\"today\"",
        "Срок хранения",
        "Почему эта дата",
        "Не успеваете забрать?",
        "https://www.pochta.ru/tracking?barcode=SANDBOX-ARRIVED-1",
        "1\u{a0}490,00 ₽",
        "Мастер и Маргарита",
        "Прибыло в место вручения",
        "И***в И.",
        "+7 *** ***-67-89",
        "i***@example.ru",
        "/u/acme/SANDBOX-ARRIVED-1/sms/",
        "/u/acme/SANDBOX-ARRIVED-1/email/",
    ] {
        assert!(page.contains(needle), "{needle:?} missing:\n{page}");
    }
    for secret in [
        "Иванов",
        "Иван ",
        "+79123456789",
        "345-67-89",
        "ivan@example.ru",
    ] {
        assert!(!page.contains(secret), "{secret:?} shown:\n{page}");
    }
    // The page's unsubscribe links are the real ones.
    let start = page.find("/u/acme/SANDBOX-ARRIVED-1/sms/").unwrap();
    let path = page[start..].split('"').next().unwrap();
    let (status, confirm, _) = get(&format!("http://127.0.0.1:{}{path}", d.port)).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("Отписаться"), "{confirm}");

    // Search engines are asked to keep out of the personal pages.
    let (status, robots, headers) = get(&format!("http://127.0.0.1:{}/robots.txt", d.port)).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        robots.lines().any(|l| l == "Disallow: /t/") && robots.contains("User-agent: *"),
        "{robots}"
    );

    // A code never made and the deleted parcel's code: the same answer.
    let made_up = format!("http://127.0.0.1:{}/t/Zz9Zz9Zz9Z", d.port);
    let (wrong_status, wrong, _) = get(&made_up).await;
    assert_eq!(wrong_status, 404);
    assert!(
        wrong.contains("Страница не найдена") && wrong.contains("Page not found"),
        "{wrong}"
    );
    d.socket.delete("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    let (status, gone, _) = get(&link).await;
    assert_eq!((status, gone.as_str()), (wrong_status, wrong.as_str()));
    // Handed over again under the same number, it is another parcel with another link.
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "P-1")])
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(20),
        "the new accepted SMS",
        async || {
            (d.sms()
                .iter()
                .filter(|s| s.key.contains("-accepted-1-sms"))
                .count()
                == 2)
                .then_some(())
        },
    )
    .await;
    let again = d
        .sms()
        .into_iter()
        .rfind(|s| s.key.contains("-accepted-1-sms"))
        .unwrap();
    assert!(!again.text.contains(&link), "{}", again.text);
    let (status, old, _) = get(&link).await;
    assert_eq!((status, old.as_str()), (wrong_status, wrong.as_str()));
    let m = metrics(&d).await;
    assert!(
        m.contains("parceld_page_answers_total{via=\"link\",outcome=\"found\"} 1"),
        "{m}"
    );
}

#[tokio::test]
async fn an_erased_parcels_page_is_not_found() {
    let d = Daemon::start_with(|c| {
        let c = set(&c, "retention", "erase_after", "\"1s\"");
        set(&c, "retention", "check_every", "\"1s\"")
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-DELIVERED-1", "E-1")])
        .await
        .unwrap();
    let link = page_link(&d, "-accepted-1-sms").await;
    let (status, html, _) = get(&link).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Принят почтой"), "{html}");
    walk(&d, "acme", "SANDBOX-DELIVERED-1", "delivered").await;
    wait_for(Duration::from_secs(30), "the erasure", async || {
        let p = d.socket.parcel("acme", "SANDBOX-DELIVERED-1").await.ok()?;
        p.customer.name.is_empty().then_some(())
    })
    .await;
    let (status, gone, _) = get(&link).await;
    let (_, wrong, _) = get(&format!("http://127.0.0.1:{}/t/Zz9Zz9Zz9Z", d.port)).await;
    assert_eq!((status, gone), (404, wrong));
}

#[tokio::test]
async fn the_form_finds_an_orders_parcels_and_answers_a_wrong_order_as_a_wrong_phone() {
    let d = Daemon::start_with(|c| set(&c, "page", "answer_time", "\"300ms\"")).await;
    d.create_shop("acme").await;
    let mut other = parcel("SANDBOX-ARRIVED-3", "M-2");
    if let Some(c) = other.customer.as_mut() {
        c.phone = "+7 999 000-11-22".into();
    }
    d.socket
        .add_parcels(
            "acme",
            &[
                parcel("SANDBOX-ARRIVED-1", "M-1"),
                parcel("SANDBOX-DELIVERED-2", "M-1"),
                other,
            ],
        )
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;

    let (status, html, _) = get(&format!("http://127.0.0.1:{}/t/acme", d.port)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Где мой заказ?") && html.contains("<form method=\"post\">"),
        "{html}"
    );
    let (status, _, _) = get(&format!("http://127.0.0.1:{}/t/nosuchshop", d.port)).await;
    assert_eq!(status, 404);

    let started = Instant::now();
    let (status, found) = form(&d, "acme", "m-1", "6789", None).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{found}");
    assert!(took >= Duration::from_millis(300), "paced: {took:?}");
    let page = unescape(&found);
    for needle in [
        "Заказ M-1",
        "Посылка 1 из 2",
        "Посылка 2 из 2",
        "SANDBOX-ARRIVED-1",
        "SANDBOX-DELIVERED-2",
        "Ждёт вас в отделении",
    ] {
        assert!(page.contains(needle), "{needle:?} missing:\n{page}");
    }
    assert!(!page.contains("SANDBOX-ARRIVED-3"), "another order");

    // Wrong phone, wrong order, an order of another customer: one answer, as slow as a find.
    let started = Instant::now();
    let (s1, wrong_phone) = form(&d, "acme", "M-1", "1122", None).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    let (s2, wrong_order) = form(&d, "acme", "M-404", "6789", None).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let (s3, crossed) = form(&d, "acme", "M-2", "6789", None).await;
    assert_eq!((s1, s2, s3), (404, 404, 404));
    assert_eq!(wrong_phone, wrong_order);
    assert_eq!(wrong_phone, crossed);
    assert!(wrong_phone.contains("Заказ не найден"), "{wrong_phone}");
    let (s, other_page) = form(&d, "acme", "M-2", "11-22", None).await;
    assert_eq!(s, 200);
    assert!(unescape(&other_page).contains("+7 *** ***-11-22"));

    // Malformed input is told apart (it says nothing about the store).
    let (s, bad) = form(&d, "acme", "M-1", "67", None).await;
    assert_eq!(s, 400);
    assert!(bad.contains("последние 4 цифры"), "{bad}");
    let (s, _) = form(&d, "acme", "  ", "6789", None).await;
    assert_eq!(s, 400);

    // The short link of either parcel shows the whole order. Parcel 2 may be handed over
    // before its "accepted" and "arrived" SMS, the ones with a link, leave (the walk polls
    // both parcels): those are then not sent (`stale_reason`), so the link is taken from
    // whichever parcel's SMS carries one.
    let link = order_link(&d, &["SANDBOX-DELIVERED-2-", "SANDBOX-ARRIVED-1-"]).await;
    let (status, html, _) = get(&link).await;
    assert_eq!(status, 200);
    let page = unescape(&html);
    assert!(page.contains("SANDBOX-ARRIVED-1") && page.contains("Посылка 2 из 2"));
    let m = metrics(&d).await;
    assert!(
        m.contains("parceld_page_answers_total{via=\"form\",outcome=\"not_found\"} 3"),
        "{m}"
    );
}

#[tokio::test]
async fn the_form_is_limited_per_order_from_any_address_and_per_address() {
    let d = Daemon::start_with(|c| {
        let c = set(&c, "api", "trusted_proxies", "[\"127.0.0.1\"]");
        let c = set(&c, "page", "answer_time", "\"0s\"");
        let c = set(&c, "page", "order_burst", "2");
        let c = set(&c, "page", "order_rate", "\"1/h\"");
        let c = set(&c, "page", "form_burst", "3");
        set(&c, "page", "form_rate", "\"1/h\"")
    })
    .await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "L-1")])
        .await
        .unwrap();
    // Per order: two tries from two addresses, then the right answer from a third is held.
    assert_eq!(
        form(&d, "acme", "L-1", "0000", Some("198.51.100.1"))
            .await
            .0,
        404
    );
    assert_eq!(
        form(&d, "acme", "l-1", "1111", Some("198.51.100.2"))
            .await
            .0,
        404
    );
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/t/acme", d.port))
        .header("x-forwarded-for", "198.51.100.3")
        .form(&[("order", "L-1"), ("phone", "6789")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 60, "{wait}");
    assert!(r.text().await.unwrap().contains("Слишком много попыток"));
    // Unknown orders are limited the same way: being held says nothing.
    assert_eq!(
        form(&d, "acme", "NOPE", "0000", Some("198.51.100.4"))
            .await
            .0,
        404
    );
    assert_eq!(
        form(&d, "acme", "NOPE", "0000", Some("198.51.100.5"))
            .await
            .0,
        404
    );
    assert_eq!(
        form(&d, "acme", "NOPE", "0000", Some("198.51.100.6"))
            .await
            .0,
        429
    );

    // Per address: three tries of different orders, then held, while another address is not.
    for order in ["X-1", "X-2", "X-3"] {
        assert_eq!(
            form(&d, "acme", order, "0000", Some("203.0.113.9")).await.0,
            404
        );
    }
    assert_eq!(
        form(&d, "acme", "X-4", "0000", Some("203.0.113.9")).await.0,
        429
    );
    assert_eq!(
        form(&d, "acme", "X-4", "0000", Some("203.0.113.10"))
            .await
            .0,
        404
    );

    let m = metrics(&d).await;
    assert!(
        m.contains("parceld_page_limited_total{by=\"order\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("parceld_page_limited_total{by=\"address\"} 1"),
        "{m}"
    );
    // The control socket is not limited (operators).
    let r = d.socket.shop("acme").await.unwrap();
    assert_eq!(r.id, "acme");
}

#[tokio::test]
async fn a_shops_colour_and_logo_are_checked_stored_and_shown_escaped() {
    let d = Daemon::start().await;
    let token = d.create_shop("acme").await;
    let shop = d.shop_client(Some(&token));
    let v = shop
        .patch_shop(
            "acme",
            &PatchShop {
                name: Some("Книги <script>alert(1)</script>".into()),
                brand_color: Some("#C62828".into()),
                logo_url: Some("https://cdn.example/logo.png?v=1&s=2".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.brand_color.as_deref(), Some("#c62828"));
    assert_eq!(
        v.logo_url.as_deref(),
        Some("https://cdn.example/logo.png?v=1&s=2")
    );
    for (field, patch) in [
        (
            "brand_color",
            PatchShop {
                brand_color: Some("red".into()),
                ..PatchShop::default()
            },
        ),
        (
            "logo_url",
            PatchShop {
                logo_url: Some("http://cdn.example/logo.png".into()),
                ..PatchShop::default()
            },
        ),
        (
            "logo_url",
            PatchShop {
                logo_url: Some("javascript:alert(1)".into()),
                ..PatchShop::default()
            },
        ),
    ] {
        let e = shop
            .patch_shop("acme", &patch)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{field}: {e}");
    }
    assert_eq!(
        d.socket.shop("acme").await.unwrap().brand_color.as_deref(),
        Some("#c62828"),
        "a refused change changes nothing"
    );

    let (status, html, headers) = get(&format!("http://127.0.0.1:{}/t/acme", d.port)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("--brand:#c62828;--on-brand:#ffffff"),
        "{html}"
    );
    assert!(
        html.contains(
            "<img class=\"logo\" src=\"https:&#x2f;&#x2f;cdn.example&#x2f;logo.png?v=1&amp;s=2\""
        ) && html.contains("referrerpolicy=\"no-referrer\""),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("Книги &lt;script&gt;"), "{html}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("img-src data: https://cdn.example;"), "{csp}");

    // parcelctl sets and removes them too.
    let out = parcelctl(
        &d,
        &[
            "shop",
            "set",
            "acme",
            "--brand-color",
            "#00AA55",
            "--logo-url",
            "",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = d.socket.shop("acme").await.unwrap();
    assert_eq!(
        (s.brand_color.as_deref(), s.logo_url),
        (Some("#00aa55"), None)
    );
    let out = parcelctl(&d, &["shop", "set", "acme", "--brand-color", "#00AA5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("brand_color"));
    let (_, html, headers) = get(&format!("http://127.0.0.1:{}/t/acme", d.port)).await;
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("--brand:#00aa55;--on-brand:#111111"),
        "{html}"
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("img-src data:;")
    );
}

#[tokio::test]
async fn a_parcel_of_an_earlier_release_gets_its_link_with_its_next_message() {
    // Release 1's store has a Russian Post parcel the carrier never reported; now it does.
    let rp = FakeRussianPost::start();
    rp.journey("10100012000016", &["history_accepted.xml"]);
    let window = closed_window();
    let mut d = Daemon::start_with(|c| rp.config(c, &[("window", window.as_str())])).await;
    d.terminate();
    let state = d.path().join("state");
    std::fs::remove_dir_all(state.join("db")).unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/store/release-1.tar.gz"
        ))
        .arg("-C")
        .arg(&state)
        .status()
        .unwrap();
    assert!(untar.success());
    d.spawn().await;
    poll_all(&d).await;
    let link = page_link(&d, "acme-10100012000016-").await;
    let (status, html, _) = get(&link).await;
    assert_eq!(status, 200, "{html}");
    let page = unescape(&html);
    assert!(
        page.contains("Принят почтой")
            && page.contains("10100012000016")
            && page.contains("A-1005"),
        "{page}"
    );
    assert!(page.contains("+7 *** ***-00-02"), "{page}");
}
