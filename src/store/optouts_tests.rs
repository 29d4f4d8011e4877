//! Tests of the opt-out records: per parcel, per shop from a STOP, and the move of a store
//! whose STOPs applied to every shop.

use super::*;
use crate::domain::intake::{ParcelDraft, validate};
use crate::domain::notification::{Intent, NotificationKind};
use crate::domain::outbox::{DeliveryState, OutboxEntry, SendTiming};
use crate::domain::schedule::DailyWindow;
use crate::domain::shop::ShopId;
use crate::store::recipients::tests::{queue_sms, send, two_shops};
use crate::store::test_support::{pk, sid, t, temp_store};

fn store_with(tracks: &[&str]) -> (tempfile::TempDir, SyncStore) {
    let (d, store) = temp_store();
    let mut shop = crate::store::shops::tests::shop("acme", "h");
    shop.report_email = Some(crate::domain::contact::EmailAddress::from_trusted(
        "ops@acme.ru",
    ));
    store.create_shop(&shop).unwrap();
    for track in tracks {
        let v = validate(&ParcelDraft {
            track: (*track).into(),
            phone: crate::domain::intake::Patch::Set("+79123456789".into()),
            email: crate::domain::intake::Patch::Set("ivan@example.ru".into()),
            ..ParcelDraft::default()
        })
        .unwrap();
        store
            .intake(&ShopId::from_trusted("acme"), &v, t(0), t(0))
            .unwrap();
    }
    (d, store)
}

fn queue(store: &SyncStore, track: &str, kind: NotificationKind) {
    let w = DailyWindow::ALWAYS;
    let shop = store.shop(&sid("acme")).unwrap().unwrap();
    store
        .tx(|tx| {
            let p = tx.get_parcel("acme", track)?.unwrap();
            for e in crate::domain::outbox::plan(
                &p,
                &shop,
                Intent::new(kind, 1),
                t(1),
                &SendTiming { window: &w },
            ) {
                tx.insert_entry_if_absent(&e)?;
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_parcel_opt_out_withdraws_its_waiting_messages_and_is_recorded() {
    let (_d, store) = store_with(&["SANDBOX-ARRIVED-1"]);
    queue(&store, "SANDBOX-ARRIVED-1", NotificationKind::Accepted);
    let id = store
        .parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(
        store
            .opt_out_parcel(
                &pk("acme", "SANDBOX-ARRIVED-1"),
                Some(id + 1),
                &[Channel::Email],
                OptOutSource::Link,
                t(2)
            )
            .unwrap(),
        None,
        "a link of an earlier parcel with this number does nothing"
    );
    let o = store
        .opt_out_parcel(
            &pk("acme", "SANDBOX-ARRIVED-1"),
            Some(id),
            &[Channel::Email],
            OptOutSource::OneClick,
            t(2),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        o,
        OptOutOutcome {
            cancelled: 1,
            new_channels: 1
        }
    );
    let entries = store
        .parcel_entries(&pk("acme", "SANDBOX-ARRIVED-1"))
        .unwrap();
    let state = |c: Channel| entries.iter().find(|e| e.key.channel == c).unwrap().state;
    assert_eq!(state(Channel::Email), DeliveryState::Cancelled);
    assert_eq!(state(Channel::Sms), DeliveryState::Pending);
    let p = store
        .parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
        .unwrap()
        .unwrap();
    assert_eq!(p.unsubscribed, [Channel::Email]);
    let rec = store
        .parcel_optouts(&pk("acme", "SANDBOX-ARRIVED-1"))
        .unwrap();
    assert_eq!(rec[0].source, OptOutSource::OneClick);
    let again = store
        .opt_out_parcel(
            &pk("acme", "SANDBOX-ARRIVED-1"),
            None,
            &[Channel::Email],
            OptOutSource::Shop,
            t(3),
        )
        .unwrap()
        .unwrap();
    assert_eq!(again, OptOutOutcome::default());
    // Deleting the parcel forgets its records.
    store
        .delete_parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
        .unwrap();
    assert!(
        store
            .parcel_optouts(&pk("acme", "SANDBOX-ARRIVED-1"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_stop_opts_out_of_one_shop_and_withdraws_only_its_waiting_messages() {
    let (_d, store) = two_shops(&[
        ("acme", "SANDBOX-STUCK-1"),
        ("acme", "SANDBOX-STUCK-2"),
        ("books", "SANDBOX-STUCK-3"),
    ]);
    let sent = queue_sms(
        &store,
        "acme",
        "SANDBOX-STUCK-1",
        NotificationKind::Accepted,
    );
    send(&store, &sent, "smsru", 5);
    let waiting = queue_sms(
        &store,
        "acme",
        "SANDBOX-STUCK-2",
        NotificationKind::Accepted,
    );
    let other = queue_sms(
        &store,
        "books",
        "SANDBOX-STUCK-3",
        NotificationKind::Accepted,
    );
    let o = store
        .opt_out_shop_recipient(
            &sid("acme"),
            Channel::Sms,
            "+79123456789",
            OptOutSource::SmsStop,
            t(6),
        )
        .unwrap();
    assert_eq!(
        o,
        OptOutOutcome {
            cancelled: 1,
            new_channels: 1
        }
    );
    let state = |e: &OutboxEntry| {
        store
            .parcel_entries(&e.key.parcel())
            .unwrap()
            .into_iter()
            .find(|x| x.key == e.key)
            .unwrap()
    };
    assert_eq!(state(&sent).state, DeliveryState::Sent, "sent stays sent");
    let w = state(&waiting);
    assert_eq!(w.state, DeliveryState::Cancelled);
    assert_eq!(
        w.last_error.as_deref(),
        Some("the recipient asked for no more messages")
    );
    assert_eq!(state(&other).state, DeliveryState::Pending, "another shop");
    assert!(
        store
            .shop_opted_out(&sid("acme"), Channel::Sms, "+79123456789")
            .unwrap()
    );
    assert!(
        !store
            .shop_opted_out(&sid("books"), Channel::Sms, "+79123456789")
            .unwrap()
    );
    assert!(
        !store
            .shop_opted_out(&sid("acme"), Channel::Email, "+79123456789")
            .unwrap()
    );
    // Later messages of that shop are born cancelled; the other shop's are not.
    let later = queue_sms(&store, "acme", "SANDBOX-STUCK-1", NotificationKind::Arrived);
    assert_eq!(later.state, DeliveryState::Cancelled);
    let theirs = queue_sms(
        &store,
        "books",
        "SANDBOX-STUCK-3",
        NotificationKind::Arrived,
    );
    assert_eq!(theirs.state, DeliveryState::Pending);
    // Asked again: nothing new.
    assert_eq!(
        store
            .opt_out_shop_recipient(
                &sid("acme"),
                Channel::Sms,
                "+79123456789",
                OptOutSource::SmsStop,
                t(7)
            )
            .unwrap(),
        OptOutOutcome::default()
    );
    // The parcel view's list: the shop-wide opt-out of its phone, with its source.
    let p = store
        .parcel(&pk("acme", "SANDBOX-STUCK-2"))
        .unwrap()
        .unwrap();
    let all = store.customer_optouts(&p).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].0, OptOutScope::Shop);
    assert_eq!(
        (all[0].1.channel, all[0].1.source, all[0].1.at),
        (Channel::Sms, OptOutSource::SmsStop, t(6))
    );
    let p = store
        .parcel(&pk("books", "SANDBOX-STUCK-3"))
        .unwrap()
        .unwrap();
    assert!(store.customer_optouts(&p).unwrap().is_empty());
    // Erasing the shop forgets its opt-outs.
    store.remove_shop_optouts("acme").unwrap();
    assert!(
        !store
            .shop_opted_out(&sid("acme"), Channel::Sms, "+79123456789")
            .unwrap()
    );
}

/// Writes an opt-out from every shop as a store of the previous layout kept it.
fn legacy_stop(store: &SyncStore, recipient: &str, at: i64) {
    let k = keys::legacy_optout_recipient(Channel::Sms, recipient);
    let v = crate::store::codec::encode(
        versions::OPTOUT,
        &OptOut {
            channel: Channel::Sms,
            source: OptOutSource::SmsStop,
            at: t(at),
        },
    )
    .unwrap();
    store.t.optouts.insert(k, v).unwrap();
}

#[test]
fn a_store_with_stops_for_every_shop_moves_them_to_the_shop_they_answered() {
    let (dir, store) = two_shops(&[
        ("acme", "SANDBOX-STUCK-1"),
        ("books", "SANDBOX-STUCK-2"),
        ("acme", "SANDBOX-STUCK-3"),
    ]);
    // +79123456789: acme wrote first, books last; the STOP answered books.
    let a = queue_sms(
        &store,
        "acme",
        "SANDBOX-STUCK-1",
        NotificationKind::Accepted,
    );
    send(&store, &a, "smsru", 10);
    let b = queue_sms(
        &store,
        "books",
        "SANDBOX-STUCK-2",
        NotificationKind::Accepted,
    );
    send(&store, &b, "smsc", 20);
    // A parcel of acme to another number, never sent to: the STOP came before any SMS.
    store
        .tx(|tx| {
            let old = tx.get_parcel("acme", "SANDBOX-STUCK-3")?.unwrap();
            let mut p = old.clone();
            p.customer.phone = Some(crate::domain::phone::Phone::from_trusted("+79120000007"));
            tx.put_parcel(Some(&old), &p)?;
            Ok(())
        })
        .unwrap();
    let early = queue_sms(
        &store,
        "acme",
        "SANDBOX-STUCK-3",
        NotificationKind::Accepted,
    );
    assert_eq!(early.recipient, "+79120000007");
    // The old layout: no recipient index, no marker, opt-outs by recipient alone.
    store.t.recipients.clear().unwrap();
    store.meta.remove(MIGRATED).unwrap();
    legacy_stop(&store, "+79123456789", 30);
    legacy_stop(&store, "+79120000007", 31);
    legacy_stop(&store, "+79990000000", 32);
    store.flush().unwrap();
    drop(store);

    let store = SyncStore::open(&dir.path().join("db"), 8 << 20).unwrap();
    assert!(store.meta.get(MIGRATED).unwrap().is_some());
    assert!(
        store
            .t
            .optouts
            .scan_prefix([keys::LEGACY_OPTOUT])
            .next()
            .is_none(),
        "no opt-out from every shop is left"
    );
    let out = |shop: &str, r: &str| store.shop_opted_out(&sid(shop), Channel::Sms, r).unwrap();
    assert!(out("books", "+79123456789"), "the shop of the latest SMS");
    assert!(
        !out("acme", "+79123456789"),
        "an earlier sender keeps writing"
    );
    assert!(
        out("acme", "+79120000007"),
        "nothing sent: the shops that queued"
    );
    assert!(!out("books", "+79120000007"));
    assert!(!out("acme", "+79990000000") && !out("books", "+79990000000"));
    let p = store
        .parcel(&pk("books", "SANDBOX-STUCK-2"))
        .unwrap()
        .unwrap();
    let kept = store.customer_optouts(&p).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].1.source, kept[0].1.at),
        (OptOutSource::SmsStop, t(30))
    );
    // The index was built: the latest message to the number is found.
    let latest = store
        .sent_through(Channel::Sms, "+79123456789", "smsc", 5)
        .unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].key, b.key);
    assert_eq!(
        store
            .shop_entries_to(Channel::Sms, "+79120000007", "acme")
            .unwrap(),
        [keys::outbox(&early.key)]
    );
    // It runs once: an opt-out written in the old layout now stays where it is.
    legacy_stop(&store, "+79123456789", 40);
    store.flush().unwrap();
    drop(store);
    let store = SyncStore::open(&dir.path().join("db"), 8 << 20).unwrap();
    assert!(
        store
            .t
            .optouts
            .scan_prefix([keys::LEGACY_OPTOUT])
            .next()
            .is_some()
    );
}

#[test]
fn a_store_of_release_1_opens_keeps_its_opt_outs_and_gets_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let untar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/store/release-1.tar.gz"
        ))
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(untar.success());
    let store = SyncStore::open(&dir.path().join("db"), 8 << 20).unwrap();
    assert!(store.meta.get(MIGRATED).unwrap().is_some());
    // Its opt-out (one parcel's e-mail) is kept, and shown with its source.
    let p = store
        .parcel(&pk("acme", "SANDBOX-ARRIVED-2"))
        .unwrap()
        .unwrap();
    let kept = store.customer_optouts(&p).unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        (kept[0].0, kept[0].1.channel),
        (OptOutScope::Parcel, Channel::Email)
    );
    // Both shops wrote to +79123456789; the index knows every SMS sent, the latest first.
    let sent = store
        .sent_through(Channel::Sms, "+79123456789", "file", 50)
        .unwrap();
    let slugs: Vec<String> = sent.iter().map(|e| e.key.slug()).collect();
    assert_eq!(slugs.len(), 5, "{slugs:?}");
    assert!(sent.windows(2).all(|w| w[0].sent_at >= w[1].sent_at));
    assert!(slugs.iter().any(|s| s.starts_with("books-")));
    assert!(slugs.iter().any(|s| s.starts_with("acme-")));
    // A STOP now goes to one shop only.
    let o = store
        .opt_out_shop_recipient(
            &sid("books"),
            Channel::Sms,
            "+79123456789",
            OptOutSource::SmsStop,
            t(0),
        )
        .unwrap();
    assert_eq!(o.new_channels, 1);
    assert!(
        store
            .shop_opted_out(&sid("books"), Channel::Sms, "+79123456789")
            .unwrap()
    );
    assert!(
        !store
            .shop_opted_out(&sid("acme"), Channel::Sms, "+79123456789")
            .unwrap()
    );
}
