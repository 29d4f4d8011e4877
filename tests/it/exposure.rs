//! The shops' listener exposed: one address calling the routes without a token too fast gets
//! 429 with `Retry-After` and a JSON error, while a shop's routes with its token and the
//! control socket are not held back; and a loopback `api.public_url` with real transports is
//! warned about at start.

use crate::fakes::sms_gateway::Gateway;
use crate::harness::{Daemon, set};
use reqwest::StatusCode;

#[tokio::test]
async fn a_burst_without_a_token_is_limited_and_shops_with_tokens_are_not() {
    let d = Daemon::start_with(|c| {
        // Five at once, then one an hour: the burst runs out within the test.
        let c = set(&c, "api", "public_rate", "\"1/h\"");
        set(&c, "api", "public_burst", "5")
    })
    .await;
    let token = d.create_shop("acme").await;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", d.port);
    let mut statuses = Vec::new();
    let mut refused = None;
    for i in 0..12 {
        // Health and the import template share the address's allowance.
        let path = if i % 2 == 0 {
            "/v1/health"
        } else {
            "/v1/import-template.xlsx"
        };
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS && refused.is_none() {
            refused = Some(r);
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| s.is_success()).count(),
        5,
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let r = refused.unwrap();
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api.public_rate"),
        "{body}"
    );
    // An unsubscribe page from the same address is held back too.
    let r = http
        .get(format!("{base}/u/acme/SANDBOX-ARRIVED-1/sms/1/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // The shop with its token is not limited, from the same address.
    let shop = d.shop_client(Some(&token));
    for _ in 0..10 {
        shop.shop("acme").await.expect("a shop's own route");
    }
    // Nor is the control socket.
    for _ in 0..10 {
        d.socket.health().await.expect("health on the socket");
    }
    let m = d.socket.metrics().await.unwrap();
    assert!(
        m.lines()
            .any(|l| l.starts_with("parceld_api_limited_total{route=\"health\"}")),
        "{m}"
    );
}

#[tokio::test]
async fn a_loopback_public_url_with_real_transports_is_warned_about() {
    let gw = Gateway::start();
    let secrets = tempfile::tempdir().unwrap();
    // The test config's public_url is http://127.0.0.1:<port>.
    let d = Daemon::start_with(|c| gw.smsru_config(&c, secrets.path())).await;
    let log = d.log();
    let warnings: Vec<_> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("api.public_url"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("127.0.0.1") && warnings[0].contains("smsru"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("loopback"), "{}", warnings[0]);

    // Files only: nothing to warn about.
    let quiet = Daemon::start().await;
    assert!(!quiet.log().contains("api.public_url"), "{}", quiet.log());
}
