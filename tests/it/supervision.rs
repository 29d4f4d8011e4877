//! Supervision: an actor that fails stops, its supervisor restarts it and it resumes from the
//! store; a panic aborts the whole process, and a restart resumes from the store. Both without
//! losing or repeating a notification. The failures come from the daemon's fault points.

use crate::harness::{Daemon, parcel, wait_for, walk};
use std::time::Duration;

fn once_each(d: &Daemon) {
    let mut keys: Vec<String> = d.sms().into_iter().map(|s| s.key).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "an SMS went out twice: {keys:?}");
}

#[tokio::test]
async fn a_failed_sender_is_restarted_by_its_supervisor() {
    let mut d = Daemon::start().await;
    d.env
        .push(("PARCELD_FAULTS".into(), "sender.fail_once".into()));
    d.kill9();
    d.spawn().await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "A-1")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    wait_for(Duration::from_secs(30), "the arrival SMS", async || {
        d.sms()
            .iter()
            .any(|s| s.key.contains("-arrived-1-sms"))
            .then_some(())
    })
    .await;
    let log = d.log();
    assert!(
        log.contains("Sender cannot use the store; restarting"),
        "{log}"
    );
    assert!(log.contains("Sender restarting"), "{log}");
    once_each(&d);
}

#[tokio::test]
async fn a_panic_aborts_the_process_and_a_restart_resumes() {
    let mut d = Daemon::start().await;
    d.create_shop("acme").await;
    d.env.push(("PARCELD_FAULTS".into(), "poller.panic".into()));
    d.kill9();
    d.spawn().await;
    // The first poll of the new parcel panics: the process must abort, not limp on.
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-DELIVERED-1", "P-1")])
        .await
        .unwrap();
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert!(!status.success(), "{status}");
    assert!(d.log().contains("Panic; aborting"), "{}", d.log());

    d.env.clear();
    d.spawn().await;
    walk(&d, "acme", "SANDBOX-DELIVERED-1", "arrived_at_pickup").await;
    wait_for(Duration::from_secs(30), "the arrival SMS", async || {
        d.sms()
            .iter()
            .any(|s| s.key.contains("-arrived-1-sms"))
            .then_some(())
    })
    .await;
    once_each(&d);
}
