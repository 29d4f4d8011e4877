//! A state directory on a real small file system (a tmpfs of a few MiB) that fills up or turns
//! read-only: the daemon says so (health, log, exit code), refuses changes with 503 instead of
//! acknowledging what is not on disk, keeps serving reads, loses nothing it acknowledged, and
//! goes on by itself once the space is back.

use crate::fault_support::{Tmpfs, api_error};
use crate::harness::{Daemon, parcel, set, wait_for};
use std::collections::HashSet;
use std::time::Duration;

/// A daemon whose state directory is on `fs`.
async fn start_on(fs: &Tmpfs) -> Daemon {
    let state = format!("{:?}", fs.path().join("state").display().to_string());
    Daemon::start_with(|c| set(&c, "daemon", "state_dir", &state)).await
}

/// A tmpfs, or `None` (with the reason printed) where this machine cannot mount one.
fn tmpfs(mib: u32) -> Option<Tmpfs> {
    match Tmpfs::mount(mib) {
        Ok(fs) => Some(fs),
        // In CI (`CI=true`, as .ci/run sets it) the test must run, not pass silently.
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("a disk-fault test needs a real small file system (mount, as root): {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: a disk-fault test needs a real small file system: {why}");
            None
        }
    }
}

/// Hands over parcels one request at a time until the daemon refuses one; returns the tracks it
/// acknowledged and the refusal's message.
async fn add_until_refused(d: &Daemon, from: usize) -> (Vec<String>, String) {
    let mut acked = Vec::new();
    for i in from..from + 2000 {
        let track = format!("SANDBOX-ARRIVED-{i}");
        match d
            .socket
            .add_parcels("acme", &[parcel(&track, &format!("D-{i}"))])
            .await
        {
            Ok(r) => {
                assert_eq!(r.created, 1, "{r:?}");
                acked.push(track);
            }
            Err(e) => {
                let (status, code, field, message) = api_error(e);
                assert_eq!((status, code.as_str(), field), (503, "unavailable", None));
                return (acked, message);
            }
        }
    }
    panic!("2000 parcels were acknowledged on a full disk");
}

async fn all_present(d: &Daemon, tracks: &[String]) {
    for t in tracks {
        let p = d.socket.parcel("acme", t).await;
        assert!(p.is_ok(), "acknowledged parcel {t} is missing: {p:?}");
    }
}

/// While the disk refuses writes: every acknowledged parcel is found, or the read is refused
/// as unavailable (sled may have to rewrite a page to read it); never "not found".
async fn found_or_unavailable(d: &Daemon, tracks: &[String]) -> usize {
    let mut found = 0;
    for t in tracks {
        match d.socket.parcel("acme", t).await {
            Ok(_) => found += 1,
            Err(e) => {
                let (status, code, _, _) = api_error(e);
                assert_eq!((status, code.as_str()), (503, "unavailable"), "{t}");
            }
        }
    }
    found
}

#[tokio::test]
async fn a_full_disk_is_reported_refuses_changes_keeps_what_was_acknowledged_and_resumes() {
    let Some(fs) = tmpfs(16) else { return };
    let mut d = start_on(&fs).await;
    d.create_shop("acme").await;
    let first: Vec<_> = (0..20)
        .map(|i| parcel(&format!("SANDBOX-ARRIVED-{i}"), &format!("D-{i}")))
        .collect();
    d.socket.add_parcels("acme", &first).await.unwrap();
    let mut acked: Vec<String> = first.iter().map(|p| p.track.clone()).collect();
    let started = d.socket.health().await.unwrap().started_at;

    fs.fill();
    let (more, refusal) = add_until_refused(&d, 20).await;
    acked.extend(more);
    assert!(refusal.contains("No space left on device"), "{refusal}");
    assert!(refusal.contains("try again later"), "{refusal}");

    // Health and the log say what is wrong; reads keep working.
    let h = wait_for(Duration::from_secs(20), "health to say so", async || {
        let h = d.socket.health().await.ok()?;
        h.store_error.is_some().then_some(h)
    })
    .await;
    assert_eq!(h.status, "degraded");
    assert!(
        h.store_error
            .as_deref()
            .is_some_and(|e| e.contains("No space left on device (os error 28)")),
        "{h:?}"
    );
    wait_for(Duration::from_secs(20), "the log to say so", async || {
        d.log()
            .contains("The store's disk refuses writes")
            .then_some(())
    })
    .await;
    let found = found_or_unavailable(&d, &acked).await;
    println!(
        "fault_disk: {found} of {} lookups answered while the disk was full",
        acked.len()
    );
    let metrics = d.socket.metrics().await.unwrap();
    assert!(metrics.contains("parceld_store_writable 0"), "{metrics}");
    // Still refused while the disk is full, however often asked.
    let (none, _) = add_until_refused(&d, 5000).await;
    assert!(none.is_empty(), "acknowledged on a full disk: {none:?}");

    // Space comes back: the daemon starts afresh by itself (same process) and goes on.
    fs.free();
    let freed = std::time::Instant::now();
    wait_for(
        Duration::from_secs(30),
        "the daemon to resume",
        async || {
            let h = d.socket.health().await.ok()?;
            (h.started_at != started && h.store_error.is_none()).then_some(())
        },
    )
    .await;
    println!(
        "fault_disk: {} parcels acknowledged, the rest refused with 503 while the disk was full; \
         serving writes again {} ms after the space came back",
        acked.len(),
        freed.elapsed().as_millis()
    );
    assert!(
        d.log()
            .contains("The disk takes writes again; restarting to reopen the store"),
        "{}",
        d.log()
    );
    all_present(&d, &acked).await;
    let r = d
        .socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-9000", "D-9000")])
        .await
        .unwrap();
    assert_eq!(r.created, 1);
    acked.push("SANDBOX-ARRIVED-9000".into());

    // Every acknowledged parcel gets its first message, once.
    wait_for(Duration::from_secs(60), "every accepted SMS", async || {
        let keys: Vec<String> = d.sms().into_iter().map(|s| s.key).collect();
        acked
            .iter()
            .all(|t| {
                keys.iter()
                    .any(|k| k.starts_with(&format!("acme-{t}-")) && k.ends_with("-accepted-1-sms"))
            })
            .then_some(())
    })
    .await;
    let keys: Vec<String> = d.sms().into_iter().map(|s| s.key).collect();
    let unique: HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "an SMS went out twice");
    assert_eq!(d.terminate().code(), Some(0), "{}", d.log());
}

#[tokio::test]
async fn stopping_on_a_full_disk_and_starting_on_a_read_only_one_exit_74_and_lose_nothing() {
    let Some(fs) = tmpfs(16) else { return };
    let mut d = start_on(&fs).await;
    d.create_shop("acme").await;
    let first: Vec<_> = (0..5)
        .map(|i| parcel(&format!("SANDBOX-ARRIVED-{i}"), &format!("D-{i}")))
        .collect();
    d.socket.add_parcels("acme", &first).await.unwrap();
    fs.fill();
    let (mut acked, _) = add_until_refused(&d, 5).await;
    acked.extend(first.iter().map(|p| p.track.clone()));

    // SIGTERM while the store cannot be flushed: EX_IOERR and why.
    let status = d.terminate();
    assert_eq!(status.code(), Some(74), "{}", d.log());
    assert!(
        d.log().contains("parceld stopped") && d.log().contains("No space left on device"),
        "{}",
        d.log()
    );

    // A read-only state directory at start: EX_IOERR and why, before anything else.
    fs.free();
    fs.remount(false);
    d.spawn_process();
    let status = d.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(74), "{}", d.log());
    assert!(
        d.log().contains("Read-only file system (os error 30)"),
        "{}",
        d.log()
    );

    // Writable again: everything acknowledged is there.
    fs.remount(true);
    d.spawn().await;
    all_present(&d, &acked).await;
    assert_eq!(d.terminate().code(), Some(0), "{}", d.log());
}
