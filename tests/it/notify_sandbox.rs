//! The sandbox carrier is test mode: with SMTP and SMS.ru configured, and a shop that chose
//! SMS.ru, a sandbox parcel's messages land in the `.eml` folder and the SMS file and nothing of
//! it reaches the SMTP server or the gateway, while a Russian Post parcel's messages do. The
//! API and the log say which transport took each, and after a crash in the middle of a send the
//! file is asked whether it has the message, not the gateway.

use crate::fakes::russian_post::FakeRussianPost;
use crate::fakes::sms_gateway::Gateway;
use crate::fakes::smtp::SmtpSink;
use crate::harness::{Daemon, parcel, set, wait_for, walk};
use crate::notify_support::{journey, notification, parcel_to, rp_track, wait_idle};
use parceld::api::dto::PatchShop;
use std::time::Duration;

/// SMTP and SMS.ru (the default gateway), Russian Post through its fake.
fn real_transports(
    c: &str,
    post: &FakeRussianPost,
    sink: &SmtpSink,
    gw: &Gateway,
    dir: &std::path::Path,
) -> String {
    let c = post.config(sink.config(c), &[]);
    let c = set(&c, "sms", "transport", "\"smsru\"");
    gw.smsru_config(&c, dir)
}

#[tokio::test]
async fn sandbox_messages_go_to_the_files_whatever_the_transports_and_the_shop_say() {
    let sink = SmtpSink::start();
    let gw = Gateway::start();
    let post = FakeRussianPost::start();
    let real = rp_track(1);
    post.journey(&real, journey::ARRIVED);
    let secrets = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(|c| real_transports(&c, &post, &sink, &gw, secrets.path())).await;
    d.create_shop("acme").await;
    d.socket
        .patch_shop(
            "acme",
            &PatchShop {
                sms_provider: Some("smsru".into()),
                ..PatchShop::default()
            },
        )
        .await
        .unwrap();
    let sandbox = "SANDBOX-ARRIVED-1";
    d.socket
        .add_parcels("acme", &[parcel(sandbox, "S-1"), parcel(&real, "R-1")])
        .await
        .unwrap();
    walk(&d, "acme", sandbox, "arrived_at_pickup").await;
    walk(&d, "acme", &real, "arrived_at_pickup").await;
    wait_for(
        Duration::from_secs(30),
        "the Russian Post parcel's messages at SMTP and the gateway",
        async || (gw.sent().len() >= 2 && sink.received().len() >= 2).then_some(()),
    )
    .await;
    wait_idle(&d, Duration::from_secs(30)).await;

    // The sandbox parcel: accepted and arrived, by SMS and e-mail, in the files only.
    let lines: Vec<_> = d
        .sms()
        .into_iter()
        .filter(|l| l.key.contains(sandbox))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().any(|l| l.text.contains("ждёт")), "{lines:?}");
    let mails: Vec<_> = d
        .mails()
        .into_iter()
        .filter(|m| m.file.contains(sandbox))
        .collect();
    assert_eq!(
        mails.len(),
        2,
        "{:?}",
        mails.iter().map(|m| &m.file).collect::<Vec<_>>()
    );
    assert!(
        gw.sent().iter().all(|s| !s.text.contains(sandbox)),
        "no sandbox SMS at the gateway: {:?}",
        gw.sent()
    );
    assert!(
        sink.received()
            .iter()
            .all(|m| !m.message_id().contains(sandbox)),
        "no sandbox e-mail at the SMTP server"
    );

    // The Russian Post parcel: at the gateway and the SMTP server, not in the files.
    assert_eq!(gw.sent().len(), 2, "{:?}", gw.sent());
    assert!(gw.sent().iter().all(|s| s.text.contains(&real)));
    assert_eq!(sink.received().len(), 2);
    assert!(d.sms().iter().all(|l| !l.key.contains(&real)));
    assert!(d.mails().iter().all(|m| !m.file.contains(&real)));

    // The API says which transport took each message, and so does the log.
    for kind in ["accepted", "arrived"] {
        for (channel, transport) in [("sms", "smsru"), ("email", "smtp")] {
            let n = notification(&d, "acme", sandbox, kind, channel)
                .await
                .unwrap();
            assert_eq!(
                (n.state.as_str(), n.provider.as_deref()),
                ("sent", Some("file")),
                "{n:?}"
            );
            let n = notification(&d, "acme", &real, kind, channel)
                .await
                .unwrap();
            assert_eq!(
                (n.state.as_str(), n.provider.as_deref()),
                ("sent", Some(transport)),
                "{n:?}"
            );
        }
    }
    let log = d.plain_log();
    let sent: Vec<_> = log
        .lines()
        .filter(|l| l.contains("Message sent") && l.contains(sandbox))
        .collect();
    assert_eq!(sent.len(), 4, "{log}");
    assert!(
        sent.iter().all(|l| l.contains("gateway=\"file\"")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn after_a_crash_mid_send_the_file_is_asked_not_the_gateway() {
    let sink = SmtpSink::start();
    let gw = Gateway::start();
    let post = FakeRussianPost::start();
    let secrets = tempfile::tempdir().unwrap();
    let mut d =
        Daemon::start_with(|c| real_transports(&c, &post, &sink, &gw, secrets.path())).await;
    d.create_shop("acme").await;
    // The SMS file has the message; the daemon dies before writing the receipt.
    d.env = vec![("PARCELD_FAULTS".into(), "sender.crash_after_send".into())];
    d.kill9();
    d.spawn().await;
    d.socket
        .add_parcels(
            "acme",
            &[parcel_to("SANDBOX-STUCK-1", "C-1", "+79121000001", None)],
        )
        .await
        .unwrap();
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert!(!status.success(), "aborted inside the window");
    assert_eq!(d.sms().len(), 1, "the file has it");
    d.env.clear();
    d.spawn().await;
    let n = wait_for(Duration::from_secs(30), "the SMS marked sent", async || {
        notification(&d, "acme", "SANDBOX-STUCK-1", "accepted", "sms")
            .await
            .filter(|n| n.state == "sent")
    })
    .await;
    // SMS.ru cannot be asked: had the recovery asked it, the message would have gone again,
    // counted as a doubtful resend.
    assert_eq!(n.provider.as_deref(), Some("file"));
    assert_eq!(n.doubtful_resends, 0, "{n:?}");
    assert_eq!(d.sms().len(), 1, "not sent again");
    assert!(gw.sent().is_empty());
    assert!(
        d.log().contains("Recovered messages that were in hand"),
        "{}",
        d.log()
    );
}
