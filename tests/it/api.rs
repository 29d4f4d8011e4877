//! The control API: shops, intake with field-level errors, lookup by track and order number,
//! deletion, and shop isolation on the TCP listener.

use crate::harness::{Daemon, parcel, walk};
use parceld::api::dto::{CreateShop, IntakeOutcome, PatchShop, PollRequest};
use parceld::client::ClientError;
use reqwest::Method;
use serde_json::json;

fn api_error(e: ClientError) -> (u16, String, Option<String>) {
    match e {
        ClientError::Api { status, error } => (status, error.code, error.field),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn shops_are_created_once_and_validated() {
    let d = Daemon::start().await;
    let token = d.create_shop("acme").await;
    assert!(token.starts_with("pcl_") && token.len() > 40);

    let dup = d
        .socket
        .create_shop(&CreateShop {
            id: "acme".into(),
            name: "Again".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_error(dup).0, 409);

    let bad = d
        .socket
        .create_shop(&CreateShop {
            id: "Bad Shop!".into(),
            name: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        api_error(bad),
        (400, "invalid_field".into(), Some("id".into()))
    );

    let bad_tz = d
        .socket
        .create_shop(&CreateShop {
            id: "tz".into(),
            name: "x".into(),
            timezone: Some("Mars/Base".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(api_error(bad_tz).2.as_deref(), Some("timezone"));

    let shop = d.socket.shop("acme").await.unwrap();
    assert_eq!(shop.timezone, "Europe/Moscow");
    assert_eq!(shop.report_email.as_deref(), Some("ops@acme.test"));

    let patched = d
        .socket
        .patch_shop(
            "acme",
            &PatchShop {
                name: Some("Acme Books".into()),
                phone: Some("+7 495 000-00-00".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.name, "Acme Books");
    assert_eq!(d.socket.shops().await.unwrap().len(), 1);

    // Unknown fields and malformed JSON are named.
    let r = d
        .socket
        .raw(
            Method::POST,
            "/v1/shops",
            Some(br#"{"id":"x","name":"y","colour":"red"}"#.to_vec()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("colour"));
    let r = d
        .socket
        .raw(Method::POST, "/v1/shops", Some(b"{not json".to_vec()), None)
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("invalid_json"));
}

#[tokio::test]
async fn intake_is_idempotent_and_names_every_bad_field() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let body = json!([
        {"track": "SANDBOX-DELIVERED-1", "order_id": "A-1001", "customer": {"name": "Иванов Иван", "phone": "8 912 345-67-89", "email": "ivan@example.ru"}, "cod_amount": "1490.00", "contents": "Книга"},
        {"track": "RA644000001RU", "order_id": 1002, "customer": {"phone": "+79123456780"}, "cod_amount": 990},
        {"track": "ABC123", "customer": {"phone": "12", "email": "nope"}, "cod_amount": "-5"},
        {"track": "SANDBOX-ARRIVED-2", "customer": {"phone": 79123456789u64}},
        {"order_id": "no track"},
        {"track": "SANDBOX-ARRIVED-3", "custmer": {}}
    ]);
    let r = d.socket.add_json("acme", &body).await.unwrap();
    assert_eq!((r.created, r.rejected), (2, 4), "{r:?}");
    assert_eq!(r.results[0].outcome, IntakeOutcome::Created);
    assert_eq!(r.results[1].outcome, IntakeOutcome::Created);
    assert!(
        r.results[1]
            .warnings
            .iter()
            .any(|w| w.contains("check digit")),
        "wrong check digit is a warning: {:?}",
        r.results[1]
    );
    assert!(
        r.results[1]
            .warnings
            .iter()
            .any(|w| w.contains("russian_post is not enabled"))
    );
    let fields: Vec<&str> = r.results[2]
        .errors
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(
        fields,
        ["track", "customer.phone", "customer.email", "cod_amount"]
    );
    assert_eq!(
        r.results[3].errors[0].field, "customer.phone",
        "a number where text is expected"
    );
    assert_eq!(r.results[4].errors[0].field, "(parcel)");
    assert!(r.results[4].errors[0].message.contains("track"));
    assert!(r.results[5].errors[0].message.contains("custmer"));

    // The same file again changes nothing.
    let again = d.socket.add_json("acme", &body).await.unwrap();
    assert_eq!((again.created, again.unchanged, again.rejected), (0, 2, 4));
    assert_eq!(again.results[0].outcome, IntakeOutcome::AlreadyPresent);

    // A corrected phone updates the parcel and keeps it.
    let mut p = parcel("SANDBOX-DELIVERED-1", "A-1001");
    p.customer.as_mut().unwrap().phone = "+7 999 000-11-22".into();
    let upd = d.socket.add_parcels("acme", &[p]).await.unwrap();
    assert_eq!(upd.results[0].outcome, IntakeOutcome::Updated);
    let view = d
        .socket
        .parcel("acme", "sandbox-delivered-1")
        .await
        .unwrap();
    assert_eq!(view.customer.phone.as_deref(), Some("+79990001122"));
    assert_eq!(view.cod_amount, "1490.00");

    // A single object gets 201 or 422.
    let r = d
        .socket
        .raw(
            Method::POST,
            "/v1/shops/acme/parcels",
            Some(br#"{"track":"SANDBOX-LOST-9"}"#.to_vec()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let r = d
        .socket
        .raw(
            Method::POST,
            "/v1/shops/acme/parcels",
            Some(br#"{"track":"nope"}"#.to_vec()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 422);
    // Unknown shop.
    let err = d
        .socket
        .add_parcels("nobody", &[parcel("SANDBOX-LOST-1", "X")])
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 404);
}

#[tokio::test]
async fn lookup_by_track_and_order_and_delete() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    d.create_shop("other").await;
    d.socket
        .add_parcels(
            "acme",
            &[
                parcel("SANDBOX-ARRIVED-1", "ORD-7"),
                parcel("SANDBOX-ARRIVED-2", "ORD-7"),
                parcel("SANDBOX-STUCK-3", "ORD-8"),
            ],
        )
        .await
        .unwrap();
    d.socket
        .add_parcels("other", &[parcel("SANDBOX-ARRIVED-9", "ORD-7")])
        .await
        .unwrap();

    let by_order = d
        .socket
        .list("acme", &[("order_id", "ORD-7".into())])
        .await
        .unwrap();
    let mut tracks: Vec<&str> = by_order.parcels.iter().map(|p| p.track.as_str()).collect();
    tracks.sort();
    assert_eq!(
        tracks,
        ["SANDBOX-ARRIVED-1", "SANDBOX-ARRIVED-2"],
        "the other shop's ORD-7 is not listed"
    );

    let p = d.socket.parcel("acme", "SANDBOX-STUCK-3").await.unwrap();
    assert_eq!(p.order_id.as_deref(), Some("ORD-8"));
    assert_eq!(p.customer.phone.as_deref(), Some("+79123456789"));
    assert_eq!(p.contents.as_deref(), Some("Книга «Мастер и Маргарита»"));

    let all = d
        .socket
        .list("acme", &[("limit", "2".into())])
        .await
        .unwrap();
    assert_eq!(all.parcels.len(), 2);
    let rest = d
        .socket
        .list("acme", &[("after", all.next.clone().unwrap())])
        .await
        .unwrap();
    assert_eq!(rest.parcels.len(), 1);

    // Walk one to "arrived", then delete it: nothing more is sent about it.
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    walk(&d, "acme", "SANDBOX-ARRIVED-2", "arrived_at_pickup").await;
    let arrived = d
        .socket
        .list("acme", &[("status", "arrived_at_pickup".into())])
        .await
        .unwrap();
    assert_eq!(arrived.parcels.len(), 2);
    d.socket.delete("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    let err = d
        .socket
        .parcel("acme", "SANDBOX-ARRIVED-1")
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 404);
    let err = d
        .socket
        .delete("acme", "SANDBOX-ARRIVED-1")
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 404);
    assert_eq!(
        d.socket
            .list("acme", &[("order_id", "ORD-7".into())])
            .await
            .unwrap()
            .parcels
            .len(),
        1
    );
    // The other shop's parcel is untouched, and the other shop never sees acme's.
    assert!(d.socket.parcel("other", "SANDBOX-ARRIVED-9").await.is_ok());
    assert_eq!(
        api_error(
            d.socket
                .parcel("other", "SANDBOX-ARRIVED-2")
                .await
                .unwrap_err()
        )
        .0,
        404
    );
    let err = d
        .socket
        .list("acme", &[("status", "teleported".into())])
        .await
        .unwrap_err();
    assert_eq!(api_error(err).2.as_deref(), Some("status"));
}

#[tokio::test]
async fn shop_tokens_reach_only_their_own_shop() {
    let d = Daemon::start().await;
    let acme = d.create_shop("acme").await;
    let other = d.create_shop("other").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "A-1")])
        .await
        .unwrap();

    let mine = d.shop_client(Some(&acme));
    assert_eq!(
        mine.parcel("acme", "SANDBOX-ARRIVED-1")
            .await
            .unwrap()
            .order_id
            .as_deref(),
        Some("A-1")
    );
    let r = mine
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-2", "A-2")])
        .await
        .unwrap();
    assert_eq!(r.created, 1);

    let theirs = d.shop_client(Some(&other));
    for err in [
        theirs
            .parcel("acme", "SANDBOX-ARRIVED-1")
            .await
            .unwrap_err(),
        theirs
            .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-3", "X")])
            .await
            .unwrap_err(),
        theirs
            .delete("acme", "SANDBOX-ARRIVED-1")
            .await
            .unwrap_err(),
        theirs.list("acme", &[]).await.unwrap_err(),
    ] {
        assert_eq!(api_error(err).0, 403);
    }
    // Socket-only routes are refused on TCP even with a valid token.
    assert_eq!(
        api_error(
            mine.create_shop(&CreateShop {
                id: "x".into(),
                name: "x".into(),
                ..Default::default()
            })
            .await
            .unwrap_err()
        )
        .0,
        403
    );
    assert_eq!(
        api_error(mine.poll(&PollRequest::default()).await.unwrap_err()).0,
        403
    );
    // No token, a wrong token.
    assert_eq!(
        api_error(
            d.shop_client(None)
                .parcel("acme", "SANDBOX-ARRIVED-1")
                .await
                .unwrap_err()
        )
        .0,
        401
    );
    assert_eq!(
        api_error(
            d.shop_client(Some("pcl_wrong"))
                .parcel("acme", "SANDBOX-ARRIVED-1")
                .await
                .unwrap_err()
        )
        .0,
        401
    );
    // A rotated token replaces the old one.
    let rotated = d
        .socket
        .patch_shop(
            "acme",
            &PatchShop {
                rotate_token: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let new = rotated.token.expect("new token");
    assert_eq!(
        api_error(mine.parcel("acme", "SANDBOX-ARRIVED-1").await.unwrap_err()).0,
        401
    );
    assert!(
        d.shop_client(Some(&new))
            .parcel("acme", "SANDBOX-ARRIVED-1")
            .await
            .is_ok()
    );
    // Health on TCP says only the status; metrics are socket-only.
    let h = d
        .shop_client(None)
        .raw(Method::GET, "/v1/health", None, None)
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&h.body), r#"{"status":"ok"}"#);
    let m = d.socket.metrics().await.unwrap();
    assert!(m.contains("parceld_parcels_intake_total"), "{m}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_a_clear_error() {
    let d = Daemon::start_with(|c| crate::harness::set(&c, "api", "max_items", "3")).await;
    d.create_shop("acme").await;
    let many: Vec<_> = (0..4)
        .map(|i| parcel(&format!("SANDBOX-ARRIVED-{i}"), "X"))
        .collect();
    let err = d.socket.add_parcels("acme", &many).await.unwrap_err();
    let (status, code, _) = api_error(err);
    assert_eq!((status, code.as_str()), (413, "too_large"));
    let big = vec![b' '; 17 * 1024 * 1024];
    let r = d
        .socket
        .raw(Method::POST, "/v1/shops/acme/parcels", Some(big), None)
        .await
        .unwrap();
    assert_eq!(r.status, 413);
    assert!(String::from_utf8_lossy(&r.body).contains("max_body_mb"));
    // Invalid UTF-8 is a JSON error, not a crash.
    let r = d
        .socket
        .raw(
            Method::POST,
            "/v1/shops/acme/parcels",
            Some(vec![b'"', 0xff, 0xfe, b'"']),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(d.socket.health().await.is_ok());
}
