//! Tests of the poll engine on a temporary store, through a carrier written for them that
//! answers as told and counts what it is asked.

use super::*;
use crate::domain::carrier::CarrierId;
use crate::domain::intake::{ParcelDraft, Patch, validate};
use crate::domain::notification::Channel;
use crate::domain::parcel::{CarrierEvent, Office};
use crate::domain::shop::ShopId;
use crate::domain::status::Status;
use crate::store::test_support::{pk, temp_store};
use crate::store::{DueKind, SyncStore};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A carrier that answers each number with the next of its scripted answers (nothing new, once
/// they run out), every request through the gate.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<TrackReport, CarrierError>>>,
    asked: AtomicUsize,
}

impl Scripted {
    fn answering(
        answers: impl IntoIterator<Item = Result<TrackReport, CarrierError>>,
    ) -> Arc<Self> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into_iter().collect()),
            asked: AtomicUsize::new(0),
        })
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Carrier for Scripted {
    fn id(&self) -> CarrierId {
        CarrierId::Sandbox
    }

    async fn track(
        &self,
        queries: &[TrackQuery],
        gate: &Gate,
    ) -> Vec<Result<TrackReport, CarrierError>> {
        let mut out = Vec::with_capacity(queries.len());
        for _ in queries {
            if let Err(e) = gate.pass().await {
                out.push(Err(e));
                continue;
            }
            self.asked.fetch_add(1, Ordering::SeqCst);
            let next = self.answers.lock().unwrap().pop_front();
            out.push(next.unwrap_or_else(|| Ok(TrackReport::default())));
        }
        out
    }
}

/// The sandbox carrier's poll engine over a store with the shop `acme` and these parcels (a
/// phone each), due now.
fn engine(
    carrier: Arc<Scripted>,
    tracks: &[&str],
) -> (tempfile::TempDir, SyncStore, PollContext, Vec<DueItem>) {
    let (dir, sync) = temp_store();
    let settings = crate::config::parse(
        "[carriers.sandbox]\nwindow = \"always\"\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    let polling = settings.carriers[&CarrierId::Sandbox].clone();
    let clock = Clock::system();
    sync.create_shop(&crate::store::shops::tests::shop("acme", "h"))
        .unwrap();
    let now = clock.now();
    let mut items = Vec::new();
    for track in tracks {
        let v = validate(&ParcelDraft {
            track: (*track).into(),
            phone: Patch::Set("+79123456789".into()),
            ..ParcelDraft::default()
        })
        .unwrap();
        sync.intake(&ShopId::from_trusted("acme"), &v, now, now)
            .unwrap();
        items.push(DueItem {
            kind: DueKind::Poll,
            at: now,
            parcel: pk("acme", track),
            carrier: CarrierId::Sandbox,
        });
    }
    let ctx = PollContext::new(
        Store::from_sync(sync.clone()),
        clock,
        Arc::new(Health::default()),
        &settings,
        carrier,
        polling,
    );
    (dir, sync, ctx, items)
}

/// The carrier says the parcel arrived at its office at `at`.
fn arrived(at: Timestamp) -> TrackReport {
    TrackReport {
        events: vec![CarrierEvent {
            at,
            status: Status::ArrivedAtPickup,
            code: "8/2".into(),
            description: String::new(),
            office: Some(Office::default()),
            storage: None,
            presence: false,
        }],
        ..TrackReport::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_applied_with_its_message_and_the_next_poll() {
    let an_hour_ago = Clock::system().now() - std::time::Duration::from_secs(3600);
    let carrier = Scripted::answering([Ok(arrived(an_hour_ago))]);
    let (_d, sync, ctx, items) = engine(carrier.clone(), &["SANDBOX-ARRIVED-1"]);
    let before = ctx.clock.now();
    let summary = ctx.poll(items).await.unwrap();
    assert_eq!(carrier.asked(), 1);
    assert_eq!(
        (summary.polled, summary.changed, summary.failed),
        (1, 1, 0),
        "{summary:?}"
    );
    assert!(summary.messages >= 1, "{summary:?}");
    let key = pk("acme", "SANDBOX-ARRIVED-1");
    let p = sync.parcel(&key).unwrap().unwrap();
    assert_eq!(p.status, Status::ArrivedAtPickup);
    assert!(
        p.next_poll_at.is_some_and(|at| at > before),
        "polled again later"
    );
    assert!(!sync.is_leased(&key).unwrap());
    let queued = sync.parcel_entries(&key).unwrap();
    assert!(
        queued.iter().any(|e| e.key.channel == Channel::Sms),
        "{queued:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_pause_the_carrier_and_nothing_more_is_asked() {
    let carrier = Scripted::answering([Err(CarrierError::Auth("bad key".into()))]);
    let (_d, sync, ctx, items) =
        engine(carrier.clone(), &["SANDBOX-ARRIVED-1", "SANDBOX-ARRIVED-2"]);
    let now = ctx.clock.now();
    let first = ctx.poll(items[..1].to_vec()).await.unwrap();
    assert_eq!((first.polled, first.failed), (1, 1));
    let pause = sync.pause(CarrierId::Sandbox).unwrap().expect("kept");
    assert!(pause.until > now);
    // The next parcel waits for the pause to end without a request.
    let second = ctx.poll(items[1..].to_vec()).await.unwrap();
    assert_eq!(carrier.asked(), 1, "not asked while paused");
    assert_eq!(second.skipped, 1);
    let p = sync
        .parcel(&pk("acme", "SANDBOX-ARRIVED-2"))
        .unwrap()
        .unwrap();
    assert!(p.next_poll_at.is_some_and(|at| at >= pause.until));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_failure_is_recorded_and_backed_off() {
    let carrier = Scripted::answering([Err(CarrierError::Transient("timeout".into()))]);
    let (_d, sync, ctx, items) = engine(carrier.clone(), &["SANDBOX-ARRIVED-1"]);
    let now = ctx.clock.now();
    let summary = ctx.poll(items).await.unwrap();
    assert_eq!((summary.polled, summary.failed), (1, 1));
    let p = sync
        .parcel(&pk("acme", "SANDBOX-ARRIVED-1"))
        .unwrap()
        .unwrap();
    assert_eq!(p.poll.failures, 1);
    assert!(
        p.poll
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("timeout")),
        "{:?}",
        p.poll.last_error
    );
    assert!(p.next_poll_at.is_some_and(|at| at > now), "backed off");
    assert_eq!(sync.pause(CarrierId::Sandbox).unwrap(), None, "not paused");
}
