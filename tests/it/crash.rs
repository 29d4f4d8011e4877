//! Restarts and crashes: state survives a clean restart; after kill -9 in the middle of a poll,
//! the daemon resumes, finishes the work, and no notification is lost or repeated.

use crate::harness::{Daemon, parcel, set, wait_for, walk, walk_all};
use parceld::api::dto::PollRequest;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn sigterm_exits_cleanly_and_a_restart_keeps_everything() {
    let mut d = Daemon::start().await;
    let token = d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "A-1")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    wait_for(Duration::from_secs(20), "two SMS", async || {
        (d.sms().len() == 2).then_some(())
    })
    .await;
    let before = d.socket.parcel("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    let status = d.terminate();
    assert!(status.success(), "exit status {status}:\n{}", d.log());
    assert!(d.log().contains("Store flushed"), "{}", d.log());
    assert!(
        !d.path().join("run/control.sock").exists(),
        "the socket file is removed"
    );

    d.spawn().await;
    let after = d.socket.parcel("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    assert_eq!(before.status, after.status);
    assert_eq!(before.events, after.events);
    assert_eq!(before.notifications.len(), after.notifications.len());
    assert!(
        d.shop_client(Some(&token))
            .parcel("acme", "SANDBOX-ARRIVED-1")
            .await
            .is_ok(),
        "the token survives"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(d.sms().len(), 2, "nothing is sent again after a restart");
}

#[tokio::test]
async fn a_second_daemon_on_the_same_socket_is_refused() {
    let d = Daemon::start().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parceld"))
        .arg("run")
        .arg("--config")
        .arg(&d.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("already") || msg.contains("lock"), "{msg}");
    assert!(
        d.socket.health().await.is_ok(),
        "the first one keeps serving"
    );
}

/// Steps walked by all parcels together (accepted 1, in transit 2, arrived 3).
async fn progress(d: &Daemon) -> usize {
    let Ok(l) = d.socket.list("acme", &[("limit", "1000".into())]).await else {
        return 0;
    };
    l.parcels
        .iter()
        .map(|p| match p.status.as_str() {
            "accepted" => 1,
            "in_transit" => 2,
            "arrived_at_pickup" => 3,
            _ => 0,
        })
        .sum()
}

/// Counts messages per outbox key in the SMS file and the outbox folder.
fn sent(d: &Daemon) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for s in d.sms() {
        *n.entry(s.key).or_default() += 1;
    }
    for m in d.mails() {
        *n.entry(m.file.trim_end_matches(".eml").to_string())
            .or_default() += 1;
    }
    n
}

#[tokio::test]
async fn kill_9_during_a_poll_loses_and_repeats_nothing() {
    const PARCELS: usize = 150;
    // A slow carrier rate so the kill lands while the poll is half done.
    let mut d = Daemon::start_with(|c| {
        set(
            &set(&c, "carriers.sandbox", "rate", "\"100/s\""),
            "carriers.sandbox",
            "batch_size",
            "1",
        )
    })
    .await;
    d.create_shop("acme").await;
    let parcels: Vec<_> = (0..PARCELS)
        .map(|i| parcel(&format!("SANDBOX-ARRIVED-{i}"), &format!("K-{i}")))
        .collect();
    d.socket.add_parcels("acme", &parcels).await.unwrap();

    for _round in 0..3 {
        let before = progress(&d).await;
        let socket = d.socket.clone();
        let poll = tokio::spawn(async move {
            socket
                .poll(&PollRequest {
                    shop: None,
                    all: true,
                })
                .await
        });
        // Kill once some parcels, far from all, moved on.
        wait_for(
            Duration::from_secs(20),
            "the poll to be under way",
            async || (progress(&d).await >= before + 10).then_some(()),
        )
        .await;
        d.kill9();
        let _ = poll.await;
        d.spawn().await;
    }
    assert!(
        d.log()
            .contains("Polls that were in flight at the last stop are due again"),
        "the kill landed mid-poll:\n{}",
        d.log()
    );

    // Finish the journeys: poll until every parcel waits at the office.
    walk_all(&d, &["acme"], PARCELS, Duration::from_secs(60)).await;
    // Every parcel gets its "accepted" (if still news when polled) and "arrived" message on both
    // channels, each exactly once.
    let counts = wait_for(Duration::from_secs(60), "the outbox to drain", async || {
        let h = d.socket.health().await.ok()?;
        let idle = h
            .channels
            .values()
            .all(|c| c.pending == 0 && c.sending == 0);
        idle.then(|| sent(&d))
    })
    .await;
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "sent more than once: {repeated:?}");
    for i in 0..PARCELS {
        for ch in ["sms", "email"] {
            let key = counts.keys().find(|k| {
                k.contains(&format!("-SANDBOX-ARRIVED-{i}-"))
                    && k.ends_with(&format!("-arrived-1-{ch}"))
            });
            assert!(key.is_some(), "parcel {i} lost its arrival {ch}");
        }
    }
    // The store agrees with what went out.
    for i in [0, PARCELS / 2, PARCELS - 1] {
        let p = d
            .socket
            .parcel("acme", &format!("SANDBOX-ARRIVED-{i}"))
            .await
            .unwrap();
        assert!(
            p.notifications.iter().all(|n| n.state == "sent"),
            "{:?}",
            p.notifications
        );
    }
}
