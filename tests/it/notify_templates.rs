//! Shop templates through the API and parcelctl: refused with line, column and reason (syntax,
//! unknown macros, too many SMS segments, files, runaway loops, huge output), previewed with a
//! sample parcel, saved per shop, used for real messages, and reset to the default.

use crate::harness::{Daemon, parcel, wait_for, walk};
use parceld::api::dto::TemplateErrorBody;
use parceld::client::ClientError;
use reqwest::Method;
use std::process::Command;
use std::time::Duration;

/// PUTs a template and returns the refusal.
async fn refused(d: &Daemon, channel: &str, source: &str) -> TemplateErrorBody {
    let body = serde_json::to_vec(&serde_json::json!({ "template": source })).unwrap();
    let r = d
        .socket
        .raw(
            Method::PUT,
            &format!("/v1/shops/acme/templates/arrived/{channel}"),
            Some(body),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn templates_are_checked_previewed_saved_used_and_reset() {
    // Two parts at most: a shop that wants its SMS short.
    let d = Daemon::start_with(|c| crate::harness::set(&c, "sms", "max_segments", "2")).await;
    let token = d.create_shop("acme").await;
    d.create_shop("other").await;

    let e = refused(&d, "sms", "Заказ {{ order_id }}\nждёт вас {% if amount %}").await;
    assert_eq!((e.error.code.as_str(), e.line), ("invalid_template", 2));
    assert!(
        e.error.message.starts_with("line 2, column"),
        "{}",
        e.error.message
    );
    let e = refused(&d, "sms", "Заказ {{ order_id }} ждёт, трек {{ trak }}").await;
    assert_eq!((e.line, e.column), (1, 36));
    assert!(e.reason.contains("unknown macro \"trak\""), "{}", e.reason);
    let e = refused(
        &d,
        "sms",
        "Заказ {{ order_id }} ждёт вас в отделении {{ office_index }}, {{ office_address }} ({{ office_hours }}) до {{ deadline }}. К оплате {{ amount }}. Трек {{ track }}.",
    )
    .await;
    assert!(
        e.reason.contains("segments") && e.reason.contains("sms.max_segments allows 2"),
        "{}",
        e.reason
    );
    let e = refused(&d, "email_text", "{% include \"/etc/passwd\" %}").await;
    assert!(e.reason.contains("include"), "{}", e.reason);
    let e = refused(&d, "email_text", "{{ track }}\n{% for a in track %}{% for b in track %}{% for c in track %}{% for x in track %}.{% endfor %}{% endfor %}{% endfor %}{% endfor %}").await;
    assert!(
        e.reason.contains("fuel"),
        "a runaway loop stops: {}",
        e.reason
    );
    assert_eq!(e.line, 2);
    let e = refused(
        &d,
        "email_text",
        "{{ track ~ track ~ customer_name * 100000000 }}",
    )
    .await;
    assert!(e.reason.contains("*"), "{}", e.reason);
    let e = refused(&d, "email_html", "{{ track|replace('', 'xx') }}").await;
    assert!(e.reason.contains("unknown filter"), "{}", e.reason);

    // Preview an unsaved candidate, then save it.
    let source = "{{ shop_name }}: заказ {{ order_id }} в отделении {{ office_index }} до {{ deadline }}. {{ tracking_link }}";
    let p = d
        .socket
        .preview_template("acme", "arrived", "sms", Some(source))
        .await
        .unwrap();
    let sms = p.sms.unwrap();
    assert!(
        sms.starts_with("Магазин acme: заказ A-100123 в отделении 630099 до 20 сентября."),
        "{sms}"
    );
    // tracking_link is the parcel's own page, at its real length: a ten-character code.
    let page = format!("http://127.0.0.1:{}/t/", d.port);
    let code = sms.split(&page).nth(1).unwrap_or_default();
    assert!(
        code.len() == 10 && code.chars().all(|c| c.is_ascii_alphanumeric()),
        "{sms}"
    );
    let carrier = d
        .socket
        .preview_template("acme", "arrived", "sms", Some("{{ shop_tracking_link }}"))
        .await
        .unwrap();
    assert_eq!(
        carrier.sms.as_deref(),
        Some("https://www.pochta.ru/tracking?barcode=80082592345678"),
        "the shop's page, or the carrier's"
    );
    assert!(p.segments.unwrap().parts >= 1);
    let saved = d
        .socket
        .put_template("acme", "arrived", "sms", source)
        .await
        .unwrap();
    assert!(saved.custom);
    assert_eq!(saved.segments.map(|s| s.parts), p.segments.map(|s| s.parts));
    let other = d.socket.template("other", "arrived", "sms").await.unwrap();
    assert!(!other.custom, "another shop keeps the default");
    // A shop's token reaches only its own templates.
    let err = d
        .shop_client(Some(&token))
        .put_template("other", "arrived", "sms", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 403, .. }), "{err}");

    // parcelctl: set from a file (refused with the position), preview, list.
    let dir = d.path().to_path_buf();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "Привет, {{ first_nam }}!").unwrap();
    let ctl = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_parcelctl"))
            .arg("--socket")
            .arg(dir.join("run/control.sock"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = ctl(&[
        "template",
        "set",
        "acme",
        "delivered",
        "email_subject",
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1, column 12") && err.contains("first_nam"),
        "{err}"
    );
    let out = ctl(&[
        "template",
        "set",
        "acme",
        "delivered",
        "email_subject",
        "--text",
        "Спасибо, {{ first_name }}!",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ctl(&["template", "preview", "acme", "delivered", "email_subject"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Subject: Спасибо, Екатерина!"), "{text}");
    let out = ctl(&["template", "list", "acme"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().filter(|l| l.contains(" own ")).count(),
        2,
        "{text}"
    );

    // A real message uses the shop's template.
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "A-1001")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    let line = wait_for(Duration::from_secs(20), "the arrival SMS", async || {
        d.sms()
            .into_iter()
            .find(|s| s.key.contains("-arrived-1-sms"))
    })
    .await;
    assert!(
        line.text
            .starts_with("Магазин acme: заказ A-1001 в отделении 630099 до "),
        "{}",
        line.text
    );

    // Reset: the default again.
    let r = d
        .socket
        .reset_template("acme", "arrived", "sms")
        .await
        .unwrap();
    assert!(
        !r.custom && r.template.contains("ждёт вас в отделении"),
        "{}",
        r.template
    );
}
