//! Security: the control socket refuses other users (its permissions, checked by running
//! `parcelctl` as another user); a shop's token reaches neither another shop's data nor the
//! socket-only routes, on every route the API has; tokens are stored hashed; unsubscribe links
//! cannot be forged or moved onto another parcel, channel or shop; and the secrets of the
//! carriers, the SMS gateway, the SMTP server and the link signer appear in no log line, no
//! health, metrics or API answer.

use crate::fakes::russian_post::{self, FakeRussianPost};
use crate::fakes::sms_gateway::{self, Gateway};
use crate::fakes::smtp::SmtpSink;
use crate::harness::{Daemon, parcel, set, wait_for};
use crate::notify_support::{parcel_to, wait_idle};
use reqwest::Method;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// `parcelctl health` on the daemon's socket, as `uid`:`gid`.
fn parcelctl_as(d: &Daemon, uid: u32, gid: u32) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_parcelctl"))
        .arg("--socket")
        .arg(d.path().join("run/control.sock"))
        .arg("health")
        .env_remove("PARCELD_SOCKET")
        .uid(uid)
        .gid(gid)
        .output()
        .expect("run parcelctl")
}

#[tokio::test]
async fn the_control_socket_refuses_other_users() {
    let d = Daemon::start().await;
    let sock = d.path().join("run/control.sock");
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "socket_mode 0660");
    // Only the socket's own permissions stand in the way: its folders are open to all.
    for dir in [d.path().to_path_buf(), d.path().join("run")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let nobody = parcelctl_as(&d, 65534, 65534);
    assert!(!nobody.status.success(), "another user got in");
    let err = String::from_utf8_lossy(&nobody.stderr);
    assert!(err.to_lowercase().contains("permission denied"), "{err}");
    // The socket's group may use it (the systemd unit's "parceld" group).
    let member = parcelctl_as(&d, 65534, meta.gid());
    assert!(
        member.status.success(),
        "{}",
        String::from_utf8_lossy(&member.stderr)
    );
}

/// Every route that names a shop, with a body where it takes one.
fn shop_routes(shop: &str) -> Vec<(Method, String, Option<&'static str>)> {
    let p = format!("/v1/shops/{shop}");
    let t = format!("{p}/templates/arrived/sms");
    vec![
        (Method::GET, p.clone(), None),
        (Method::PATCH, p.clone(), Some(r#"{"name":"taken over"}"#)),
        (
            Method::POST,
            format!("{p}/parcels"),
            Some(r#"{"track":"SANDBOX-ARRIVED-77"}"#),
        ),
        (Method::GET, format!("{p}/parcels"), None),
        (Method::GET, format!("{p}/parcels?order_id=A-1"), None),
        (Method::GET, format!("{p}/parcels/SANDBOX-ARRIVED-1"), None),
        (
            Method::DELETE,
            format!("{p}/parcels/SANDBOX-ARRIVED-1"),
            None,
        ),
        (
            Method::POST,
            format!("{p}/parcels/import"),
            Some("track;order\nSANDBOX-ARRIVED-78;X\n"),
        ),
        (
            Method::POST,
            format!("{p}/parcels/SANDBOX-ARRIVED-1/unsubscribe"),
            Some("{}"),
        ),
        (
            Method::POST,
            format!("{p}/report"),
            Some(r#"{"dry_run":true}"#),
        ),
        (Method::GET, format!("{p}/report.xlsx"), None),
        (Method::GET, format!("{p}/report.html"), None),
        (Method::GET, format!("{p}/stats"), None),
        (Method::GET, format!("{p}/plan"), None),
        (Method::GET, format!("{p}/templates"), None),
        (Method::GET, t.clone(), None),
        (Method::PUT, t.clone(), Some(r#"{"template":"taken over"}"#)),
        (Method::DELETE, t.clone(), None),
        (Method::POST, format!("{t}/preview"), Some("{}")),
        (Method::GET, format!("/v1/outbox/dead?shop={shop}"), None),
        (
            Method::POST,
            "/v1/outbox/dead/retry".into(),
            Some(r#"{"shop":"SHOP"}"#),
        ),
    ]
}

/// Routes for operators only.
fn socket_routes(shop: &str) -> Vec<(Method, String, Option<&'static str>)> {
    vec![
        (Method::GET, "/metrics".into(), None),
        (Method::POST, "/v1/poll".into(), Some(r#"{"all":true}"#)),
        (
            Method::POST,
            "/v1/shops".into(),
            Some(r#"{"id":"x","name":"x"}"#),
        ),
        (Method::GET, "/v1/stats".into(), None),
        (
            Method::PUT,
            format!("/v1/shops/{shop}/plan"),
            Some(r#"{"name":"free","monthly_quota":0}"#),
        ),
        (Method::DELETE, format!("/v1/shops/{shop}"), None),
        (
            Method::POST,
            "/v1/offices".into(),
            Some("index,address\n630099,x\n"),
        ),
        (Method::GET, "/v1/sms/callbacks".into(), None),
    ]
}

#[tokio::test]
async fn a_shop_token_reaches_neither_other_shops_nor_socket_only_routes() {
    let d = Daemon::start().await;
    let acme = d.create_shop("acme").await;
    let other = d.create_shop("other").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "A-1")])
        .await
        .unwrap();
    let before = d.socket.parcel("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    let theirs = d.shop_client(Some(&other));
    let mine = d.shop_client(Some(&acme));

    let mut checked = 0;
    for (method, path, body) in shop_routes("acme") {
        let body = body.map(|b| b.replace("SHOP", "acme").into_bytes());
        let r = theirs
            .raw(method.clone(), &path, body, Some("application/json"))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, 403, "{method} {path}: {text}");
        assert!(text.contains("\"forbidden\""), "{method} {path}: {text}");
        assert!(
            !text.contains("Иванов") && !text.contains("A-1"),
            "{method} {path} leaks: {text}"
        );
        checked += 1;
    }
    for (method, path, body) in socket_routes("acme") {
        let r = mine
            .raw(
                method.clone(),
                &path,
                body.map(|b| b.as_bytes().to_vec()),
                Some("application/json"),
            )
            .await
            .unwrap();
        assert_eq!(
            r.status,
            403,
            "{method} {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        checked += 1;
    }
    assert!(checked >= 29, "{checked} routes");
    // Lists show only the caller's own.
    let shops = theirs
        .raw(Method::GET, "/v1/shops", None, None)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&shops.body);
    assert!(
        text.contains("\"other\"") && !text.contains("\"acme\""),
        "{text}"
    );
    let dead = theirs
        .raw(Method::GET, "/v1/outbox/dead", None, None)
        .await
        .unwrap();
    assert_eq!(dead.status, 200);
    // Nothing of acme changed.
    let after = d.socket.parcel("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    assert_eq!(before.unsubscribed, after.unsubscribed);
    assert_eq!(d.socket.shop("acme").await.unwrap().name, "Магазин acme");
    assert!(d.socket.parcel("acme", "SANDBOX-ARRIVED-77").await.is_err());
    let t = d
        .socket
        .raw(
            Method::GET,
            "/v1/shops/acme/templates/arrived/sms",
            None,
            None,
        )
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&t.body).contains("taken over"));
    assert!(d.socket.shop("acme").await.is_ok(), "not erased");
}

/// Every file under `dir`, read whole.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    let mut d = Daemon::start().await;
    let first = d.create_shop("acme").await;
    let rotated = d
        .socket
        .patch_shop(
            "acme",
            &parceld::api::dto::PatchShop {
                rotate_token: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .token
        .expect("a new token");
    assert!(d.shop_client(Some(&rotated)).shop("acme").await.is_ok());
    assert_eq!(d.terminate().code(), Some(0));
    let stored = files(&d.path().join("state"));
    assert!(!stored.is_empty());
    for token in [&first, &rotated] {
        for (path, bytes) in &stored {
            assert!(
                !contains(bytes, token.as_bytes()),
                "the token is in {}",
                path.display()
            );
            // Nor without its prefix.
            let bare = token.trim_start_matches("pcl_");
            assert!(!contains(bytes, bare.as_bytes()), "{}", path.display());
        }
    }
    // The hash is what is kept: the rotated token still works after a restart.
    d.spawn().await;
    assert!(d.shop_client(Some(&rotated)).shop("acme").await.is_ok());
    assert!(d.shop_client(Some(&first)).shop("acme").await.is_err());
}

/// The unsubscribe link of a parcel's first e-mail.
async fn link_of(d: &Daemon, track: &str) -> String {
    let mail = wait_for(Duration::from_secs(20), "the first e-mail", async || {
        d.mails().into_iter().find(|m| {
            m.file.starts_with(&format!("acme-{track}-")) && m.file.contains("-accepted-1-email")
        })
    })
    .await;
    mail.unsubscribe_url()
}

#[tokio::test]
async fn unsubscribe_links_cannot_be_forged_or_moved_to_another_parcel() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    d.create_shop("other").await;
    d.socket
        .add_parcels(
            "acme",
            &[
                parcel("SANDBOX-ARRIVED-1", "A-1"),
                parcel("SANDBOX-ARRIVED-2", "A-2"),
            ],
        )
        .await
        .unwrap();
    d.socket
        .add_parcels("other", &[parcel("SANDBOX-ARRIVED-1", "O-1")])
        .await
        .unwrap();
    let url = link_of(&d, "SANDBOX-ARRIVED-1").await;
    let (base, rest) = url.split_once("/u/").expect("a /u/ link");
    let parts: Vec<&str> = rest.split('/').collect();
    assert_eq!(parts.len(), 5, "{url}");
    let (shop, track, channel, id, sig) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
    let b_link = link_of(&d, "SANDBOX-ARRIVED-2").await;
    let other_id = b_link.rsplit('/').nth(1).unwrap_or("0").to_string();
    let attempts = [
        // Onto another parcel of the same shop, with the first one's id or its own.
        format!("acme/SANDBOX-ARRIVED-2/{channel}/{id}/{sig}"),
        format!("acme/SANDBOX-ARRIVED-2/{channel}/{other_id}/{sig}"),
        // Onto the same track at another shop.
        format!("other/{track}/{channel}/{id}/{sig}"),
        // Onto the other channel.
        format!("{shop}/{track}/sms/{id}/{sig}"),
        // Another parcel id under the same track (a number reused after deletion).
        format!(
            "{shop}/{track}/{channel}/{}/{sig}",
            id.parse::<u64>().unwrap_or(0) + 1
        ),
        // A made-up or cut signature.
        format!("{shop}/{track}/{channel}/{id}/{}", "0".repeat(sig.len())),
        format!("{shop}/{track}/{channel}/{id}/{}", &sig[..sig.len() / 2]),
        format!("{shop}/{track}/{channel}/{id}/"),
    ];
    let http = reqwest::Client::new();
    for a in &attempts {
        let r = http
            .post(format!("{base}/u/{a}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 404 || r.status() == 400,
            "{a}: {}",
            r.status()
        );
    }
    for (s, t) in [
        ("acme", "SANDBOX-ARRIVED-1"),
        ("acme", "SANDBOX-ARRIVED-2"),
        ("other", "SANDBOX-ARRIVED-1"),
    ] {
        let p = d.socket.parcel(s, t).await.unwrap();
        assert!(p.unsubscribed.is_empty(), "{s}/{t}: {:?}", p.unsubscribed);
    }
    // The genuine link works, once, for that parcel and channel only.
    let r = http
        .post(&url)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let p = d.socket.parcel("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    assert_eq!(p.unsubscribed, ["email"]);
    for (s, t) in [
        ("acme", "SANDBOX-ARRIVED-2"),
        ("other", "SANDBOX-ARRIVED-1"),
    ] {
        assert!(d.socket.parcel(s, t).await.unwrap().unsubscribed.is_empty());
    }
}

#[tokio::test]
async fn secrets_appear_in_no_log_and_no_answer() {
    let rp = FakeRussianPost::start();
    rp.history("10100012000016", &["history_arrived.xml"]);
    let gw = Gateway::start();
    let smtp_password = "smtp-Pa55-9f3c1d";
    let sink = SmtpSink::start_tls("mailer", smtp_password);
    let secrets = tempfile::tempdir().unwrap();
    let pw = secrets.path().join("smtp.password");
    std::fs::write(&pw, format!("{smtp_password}\n")).unwrap();
    let link_secret = secrets.path().join("link.secret");
    let link_key = "link-S3cret-7a7a7a7a7a7a7a7a7a7a7a7a7a7a";
    std::fs::write(&link_secret, link_key).unwrap();
    let mut d = Daemon::start_with(|c| {
        let c = rp.config(c, &[]);
        let c = set(&c, "sms", "transport", "\"smsru\"");
        let c = gw.smsru_config(&c, secrets.path());
        let c = sink.starttls_config(&c, &pw);
        let c = set(
            &c,
            "api",
            "link_secret_file",
            &format!("{:?}", link_secret.display().to_string()),
        );
        // The most talkative level an operator would set.
        set(&c, "daemon", "log_filter", "\"debug\"")
    })
    .await;
    let token = d.create_shop("acme").await;
    d.socket
        .add_parcels(
            "acme",
            &[parcel_to(
                "10100012000016",
                "S-1",
                "+79121234567",
                Some("s@example.ru"),
            )],
        )
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(30),
        "an SMS and an e-mail",
        async || (!gw.sent().is_empty() && !sink.received().is_empty()).then_some(()),
    )
    .await;
    wait_idle(&d, Duration::from_secs(30)).await;

    let mut seen = vec![("log".to_string(), String::new())];
    for path in [
        "/v1/health",
        "/metrics",
        "/v1/shops",
        "/v1/shops/acme",
        "/v1/shops/acme/parcels/10100012000016",
        "/v1/shops/acme/templates",
        "/v1/sms/callbacks",
        "/v1/outbox/dead",
    ] {
        let r = d.socket.raw(Method::GET, path, None, None).await.unwrap();
        seen.push((
            path.to_string(),
            String::from_utf8_lossy(&r.body).into_owned(),
        ));
    }
    let check = Command::new(env!("CARGO_BIN_EXE_parceld"))
        .arg("check-config")
        .arg("--config")
        .arg(&d.config)
        .output()
        .unwrap();
    seen.push((
        "check-config".into(),
        String::from_utf8_lossy(&check.stdout).into_owned(),
    ));
    assert_eq!(d.terminate().code(), Some(0));
    seen[0].1 = d.log();
    let secrets = [
        russian_post::PASSWORD,
        sms_gateway::SECRET,
        smtp_password,
        link_key,
        token.as_str(),
    ];
    for (place, text) in &seen {
        for s in secrets {
            assert!(!text.contains(s), "a secret ({s}) is in {place}");
        }
    }
    // The callback URLs carry a token of their own, derived from the link secret, not it.
    assert!(
        seen.iter()
            .any(|(p, t)| p == "/v1/sms/callbacks" && t.contains("/v1/callbacks/sms/"))
    );
}
