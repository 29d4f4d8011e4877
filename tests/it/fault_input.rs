//! Bad input through the real API: 10 MB bodies, deeply nested JSON, invalid UTF-8 in bodies
//! and paths, names made of SQL and HTML (stored as given, shown escaped in the HTML e-mail and
//! the report), header injection, and template bombs. Nothing crashes the daemon, and every
//! refusal of a value names its field.

use crate::harness::{Daemon, set, wait_for, walk};
use parceld::api::dto::{CustomerIn, Field, ParcelIn};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const TEN_MB: usize = 10 * 1024 * 1024;

/// Markup that must never reach an HTML page unescaped.
const RAW_MARKUP: [&str; 4] = ["<script>", "<img src=x", "<b>A-1</b>", "<iframe"];

async fn send(d: &Daemon, method: Method, path: &str, body: Vec<u8>) -> (u16, Value) {
    let r = d
        .socket
        .raw(method.clone(), path, Some(body), Some("application/json"))
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// The fields an intake answer refused, in order.
fn refused_fields(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["errors"].as_array().cloned().unwrap_or_default())
        .map(|e| e["field"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn ten_megabyte_bodies_nested_json_and_invalid_utf8_are_refused_by_name() {
    let d = Daemon::start_with(|c| set(&c, "api", "max_body_mb", "16")).await;
    d.create_shop("acme").await;
    let path = "/v1/shops/acme/parcels";
    let big = "Я".repeat(TEN_MB / 2);

    // 10 MB in one field: refused naming it, and not echoed back.
    for (field, body) in [
        ("track", json!({ "track": big })),
        (
            "customer.name",
            json!({ "track": "SANDBOX-ARRIVED-1", "customer": { "name": big } }),
        ),
        (
            "contents",
            json!({ "track": "SANDBOX-ARRIVED-2", "contents": big }),
        ),
        (
            "order_id",
            json!({ "track": "SANDBOX-ARRIVED-3", "order_id": big }),
        ),
    ] {
        let body = serde_json::to_vec(&body).unwrap();
        assert!(body.len() >= TEN_MB);
        let r = d
            .socket
            .raw(Method::POST, path, Some(body), None)
            .await
            .unwrap();
        assert_eq!(r.status, 422, "{field}");
        assert!(
            r.body.len() < 4096,
            "{field}: the answer is {} bytes",
            r.body.len()
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(refused_fields(&v), [field], "{v}");
    }
    // 10 MB of parcels: refused as too many items, naming the key to raise.
    let many: Vec<Value> = (0..200_000)
        .map(|i| json!({ "track": format!("SANDBOX-ARRIVED-{i}") }))
        .collect();
    let body = serde_json::to_vec(&many).unwrap();
    assert!(body.len() >= 6 * 1024 * 1024);
    let (status, v) = send(&d, Method::POST, path, body).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api.max_items")
    );
    // 10 MB as a spreadsheet cell: the row is refused naming the column.
    let csv = format!(
        "Трек;Заказ;ФИО\nSANDBOX-ARRIVED-5;A-5;{}\n",
        "Ж".repeat(TEN_MB / 2)
    );
    let r = d
        .socket
        .raw(
            Method::POST,
            "/v1/shops/acme/parcels/import",
            Some(csv.into_bytes()),
            Some("text/csv"),
        )
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(r.status, 200, "{v}");
    assert_eq!(
        v["results"][0]["errors"][0]["field"], "customer.name",
        "{v}"
    );
    assert_eq!(v["results"][0]["errors"][0]["column"], "ФИО", "{v}");
    // 10 MB as a template: past the route's own limit, said in units that fit.
    let (status, v) = send(
        &d,
        Method::PUT,
        "/v1/shops/acme/templates/arrived/email_text",
        serde_json::to_vec(&json!({ "template": big })).unwrap(),
    )
    .await;
    assert_eq!(status, 413, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 64 KiB"),
        "{v}"
    );

    // Nested 10 000 deep (under the small routes' 64 KiB), on every JSON route.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    for (method, route) in [
        (Method::POST, path),
        (Method::PATCH, "/v1/shops/acme"),
        (Method::POST, "/v1/shops"),
        (Method::PUT, "/v1/shops/acme/templates/arrived/sms"),
        (Method::POST, "/v1/poll"),
        (Method::POST, "/v1/outbox/dead/retry"),
        (Method::PUT, "/v1/shops/acme/plan"),
    ] {
        for body in [&deep, &deep_obj] {
            let (status, v) = send(&d, method.clone(), route, body.clone().into_bytes()).await;
            assert!(
                status == 400 || status == 422,
                "{method} {route}: {status} {v}"
            );
        }
    }
    // Invalid UTF-8 in a value, in a key, in a path.
    for body in [
        b"{\"track\":\"SANDBOX-ARRIVED-1\",\"customer\":{\"name\":\"\xff\xfe\"}}".to_vec(),
        b"{\"tr\xc3\x28ck\":\"x\"}".to_vec(),
        b"{\"name\":\"\xed\xa0\x80\"}".to_vec(),
    ] {
        for (method, route) in [(Method::POST, path), (Method::PATCH, "/v1/shops/acme")] {
            let (status, v) = send(&d, method.clone(), route, body.clone()).await;
            assert_eq!(status, 400, "{method} {route}: {v}");
        }
    }
    for route in [
        "/v1/shops/acme/parcels/%FF%FE",
        "/v1/shops/%C3%28/parcels",
        "/v1/shops/acme/templates/%00/sms",
        "/v1/offices/%FF",
    ] {
        let r = d.socket.raw(Method::GET, route, None, None).await.unwrap();
        assert!(r.status == 404 || r.status == 400, "{route}: {}", r.status);
    }
    // Lone surrogates escaped in JSON.
    let (status, v) = send(
        &d,
        Method::POST,
        path,
        br#"{"track":"SANDBOX-ARRIVED-9","customer":{"name":"\ud800"}}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let h = d.socket.health().await.unwrap();
    assert_eq!(h.status, "ok");
}

#[tokio::test]
async fn sql_and_html_in_names_are_kept_as_given_and_shown_escaped() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let evil = "<script>alert('x')</script> Robert'); DROP TABLE parcels;-- \" OR 1=1 <img src=x onerror=alert(1)>";
    let p = ParcelIn {
        track: "SANDBOX-STUCK-1".into(),
        order_id: "<b>A-1</b>' OR '1'='1".into(),
        customer: CustomerIn {
            name: evil.into(),
            phone: "+79121234567".into(),
            email: "ivan@example.ru".into(),
        }
        .into(),
        cod_amount: Field::Absent,
        contents: "<iframe src=//evil></iframe>".into(),
        carrier: None,
        storage_days: Field::Absent,
    };
    let r = d.socket.add_parcels("acme", &[p]).await.unwrap();
    assert_eq!(r.created, 1);
    let v = d.socket.parcel("acme", "SANDBOX-STUCK-1").await.unwrap();
    assert_eq!(v.customer.name, evil, "kept as given");
    let found = d
        .socket
        .list("acme", &[("order_id", "<b>A-1</b>' OR '1'='1".into())])
        .await
        .unwrap();
    assert_eq!(
        found.parcels.len(),
        1,
        "an order number is only an order number"
    );
    assert!(
        d.socket
            .list("acme", &[("order_id", "' OR '1'='1".into())])
            .await
            .unwrap()
            .parcels
            .is_empty()
    );

    // The HTML e-mail escapes what the customer's name and the order number carry.
    walk(&d, "acme", "SANDBOX-STUCK-1", "in_transit").await;
    let mail = wait_for(Duration::from_secs(20), "the e-mail", async || {
        d.mails()
            .into_iter()
            .find(|m| m.file.contains("-accepted-1-email"))
    })
    .await;
    for raw in RAW_MARKUP {
        assert!(
            !mail.html.contains(raw),
            "{raw} in the HTML e-mail:\n{}",
            mail.html
        );
    }
    assert!(mail.html.contains("&lt;b&gt;A-1"), "{}", mail.html);

    // The report shows the stuck parcel's customer, escaped.
    let r = d
        .socket
        .raw(Method::GET, "/v1/shops/acme/report.html", None, None)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, 200);
    for raw in RAW_MARKUP {
        assert!(!html.contains(raw), "{raw} in the report");
    }

    // Line breaks cannot smuggle headers into e-mails: refused, naming the field.
    let (status, v) = send(
        &d,
        Method::PATCH,
        "/v1/shops/acme",
        br#"{"name":"Shop\r\nBcc: all@evil.example"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("name")),
        "{v}"
    );
    let bad = ParcelIn {
        customer: CustomerIn {
            name: "Иван\r\nBcc: all@evil.example".into(),
            email: "a@b.ru\r\nBcc: all@evil.example".into(),
            phone: Field::Absent,
        }
        .into(),
        track: "SANDBOX-STUCK-2".into(),
        ..ParcelIn::default()
    };
    let r = d.socket.add_parcels("acme", &[bad]).await.unwrap();
    let fields: Vec<String> = r.results[0]
        .errors
        .iter()
        .map(|e| e.field.clone())
        .collect();
    assert_eq!(fields, ["customer.name", "customer.email"]);
}

#[tokio::test]
async fn template_bombs_are_refused_and_the_daemon_keeps_serving() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let bombs = [
        // Nested loops over long strings: fuel runs out.
        "{% for a in customer_name %}{% for b in customer_name %}{% for c in customer_name %}{% for e in customer_name %}{{ a }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
        // range() in nested loops.
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        // Text multiplied.
        "{{ track * 100000000 }}",
        "{{ (track ~ track ~ track ~ track) * 99999 }}",
        // Recursion and stored values.
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        "{% set x = track %}{% set x = x ~ x %}{{ x }}",
        // Files.
        "{% extends \"/etc/passwd\" %}",
        "{% import \"x\" as y %}",
        // A huge output from filters that repeat.
        "{{ track|center(100000000) }}",
        "{{ ' '|join(range(10000000)) }}",
    ];
    for (i, bomb) in bombs.iter().enumerate() {
        let body = serde_json::to_vec(&json!({ "template": bomb })).unwrap();
        let (status, v) = send(
            &d,
            Method::PUT,
            "/v1/shops/acme/templates/arrived/email_text",
            body.clone(),
        )
        .await;
        assert_eq!(status, 422, "bomb {i} {bomb}: {v}");
        assert!(
            v["line"].as_u64().is_some() && v["reason"].as_str().is_some(),
            "{v}"
        );
        // A preview of the same candidate is refused too, and quickly enough to come back.
        let (status, _) = send(
            &d,
            Method::POST,
            "/v1/shops/acme/templates/arrived/email_text/preview",
            body,
        )
        .await;
        assert_eq!(status, 422, "preview of bomb {i}");
    }
    assert_eq!(d.socket.health().await.unwrap().status, "ok");
}
