//! Tests of the delivery engine on a temporary store, through a transport written for them
//! that records what it is handed and answers as told.

use super::*;
use crate::config::secret::Secret;
use crate::domain::notification::Channel;
use crate::notify::Rendered;
use crate::store::SyncStore;
use crate::store::test_support::{arrived_parcels, arrived_store, pk, t};
use async_trait::async_trait;
use governor::Quota;
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;

/// An SMS transport that records every message it is handed and answers with the next of its
/// scripted answers (accepted, with a made-up id, once they run out).
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Outgoing>>,
    answers: Mutex<VecDeque<Result<Receipt, Failure>>>,
    /// What asking for a message in hand finds.
    lookup: Mutex<Option<Lookup>>,
}

impl Recorder {
    fn answering(answers: impl IntoIterator<Item = Result<Receipt, Failure>>) -> Arc<Recorder> {
        Arc::new(Recorder {
            answers: Mutex::new(answers.into_iter().collect()),
            ..Recorder::default()
        })
    }

    fn sent(&self) -> Vec<Outgoing> {
        self.sent.lock().unwrap().clone()
    }
}

fn accepted(id: &str) -> Receipt {
    Receipt {
        provider_id: Some(id.into()),
        provider: Some("fake".into()),
        segments: Some(1),
        reports: false,
    }
}

#[async_trait]
impl Transport for Recorder {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn name(&self) -> &'static str {
        "fake"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Receipt, Failure> {
        let n = {
            let mut sent = self.sent.lock().unwrap();
            sent.push(msg.clone());
            sent.len()
        };
        let next = self.answers.lock().unwrap().pop_front();
        next.unwrap_or_else(|| Ok(accepted(&format!("id-{n}"))))
    }

    async fn find_sent(&self, _: &OutboxEntry) -> Lookup {
        self.lookup
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Lookup::Unknown)
    }
}

fn context(store: &SyncStore, transport: Arc<Recorder>) -> SendContext {
    let store = Store::from_sync(store.clone());
    SendContext {
        committer: Committer::start(&store).unwrap(),
        store,
        clock: Clock::system(),
        transport,
        templates: Arc::new(Templates::new().unwrap()),
        limiter: Arc::new(limiter(
            Quota::per_second(NonZeroU32::new(1000).unwrap()),
            wave_size(1000.0, 4),
        )),
        wave: wave_size(1000.0, 4),
        slots: Arc::new(Semaphore::new(4)),
        policy: RetryPolicy {
            max_attempts: 2,
            base: Duration::from_secs(60),
            cap: Duration::from_secs(60),
        },
        timeout: Duration::from_secs(30),
        health: Arc::new(Health::default()),
        links: Arc::new(LinkSigner::new(
            Secret::new("test"),
            "https://parcels.example",
        )),
        window: DailyWindow::ALWAYS,
        reports: ReportPolicy {
            every: Duration::from_secs(300),
            give_up_after: Duration::from_secs(86_400),
        },
    }
}

/// The parcel's SMS as stored.
fn the_sms(store: &SyncStore) -> OutboxEntry {
    let entries = store
        .parcel_entries(&pk("acme", "SANDBOX-ARRIVED-1"))
        .unwrap();
    let mut sms = entries
        .into_iter()
        .filter(|e| e.key.channel == Channel::Sms);
    let e = sms.next().expect("an SMS");
    assert!(sms.next().is_none(), "one SMS");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_message_is_sent_once_and_kept_with_the_providers_id() {
    let (_d, store) = arrived_store();
    let transport = Recorder::answering([]);
    let send = context(&store, transport.clone());
    let summary = send.drain().await.unwrap();
    assert_eq!((summary.sent, summary.retried, summary.dead), (1, 0, 0));
    let sent = transport.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipient, "+79123456789");
    assert!(
        matches!(&sent[0].body, Rendered::Sms { text } if !text.is_empty()),
        "{:?}",
        sent[0].body
    );
    let e = the_sms(&store);
    assert_eq!(e.state, DeliveryState::Sent);
    assert_eq!(e.provider_id.as_deref(), Some("id-1"));
    // Nothing is due any more: a second drain sends nothing.
    assert_eq!(send.drain().await.unwrap(), DrainSummary::default());
    assert_eq!(transport.sent().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_tried_again_later_then_given_up() {
    let (_d, store) = arrived_store();
    let transport = Recorder::answering([
        Err(Failure::Transient("503 from the gateway".into())),
        Err(Failure::Transient("503 again".into())),
    ]);
    let send = context(&store, transport.clone());
    let summary = send.drain().await.unwrap();
    assert_eq!((summary.sent, summary.retried), (0, 1));
    let e = the_sms(&store);
    assert_eq!((e.state, e.attempts), (DeliveryState::Pending, 1));
    assert!(e.next_attempt_at > send.clock.now(), "later, not at once");
    // Due again (the retry's time moved to now): the second refusal uses the last attempt.
    store.defer(&e.key, t(0)).unwrap();
    let summary = send.drain().await.unwrap();
    assert_eq!((summary.sent, summary.dead), (0, 1));
    assert_eq!(the_sms(&store).state, DeliveryState::Dead);
    assert_eq!(transport.sent().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_hand_at_a_crash_that_went_out_is_not_sent_again() {
    let (_d, store) = arrived_store();
    let key = the_sms(&store).key;
    // Claimed before the crash: in hand.
    assert!(matches!(
        store.claim(&key, t(11), |_| None, "fake").unwrap(),
        crate::store::Claim::Claimed(_)
    ));
    let transport = Recorder::answering([]);
    *transport.lookup.lock().unwrap() = Some(Lookup::Sent(accepted("found-1")));
    let send = context(&store, transport.clone());
    let round = send.round(true).await.unwrap();
    assert_eq!(round.summary, DrainSummary::default());
    assert!(transport.sent().is_empty(), "asked for, not sent again");
    let e = the_sms(&store);
    assert_eq!(e.state, DeliveryState::Sent);
    assert_eq!(e.provider_id.as_deref(), Some("found-1"));
    assert_eq!(round.next, None, "nothing more to send or ask about");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_hand_that_never_left_goes_in_the_same_round() {
    let (_d, store) = arrived_store();
    let key = the_sms(&store).key;
    assert!(matches!(
        store.claim(&key, t(11), |_| None, "fake").unwrap(),
        crate::store::Claim::Claimed(_)
    ));
    let transport = Recorder::answering([]);
    *transport.lookup.lock().unwrap() = Some(Lookup::NotSent);
    let send = context(&store, transport.clone());
    let round = send.round(true).await.unwrap();
    assert_eq!(round.summary.sent, 1);
    assert_eq!(transport.sent().len(), 1);
    let e = the_sms(&store);
    assert_eq!(e.state, DeliveryState::Sent);
    assert_eq!(e.doubtful_resends, 0, "the transport said it never had it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_due_messages_go_in_waves_each_once() {
    let n = 40;
    let (_d, store) = arrived_parcels(n);
    let transport = Recorder::answering([]);
    let send = context(&store, transport.clone());
    assert!(send.wave < n, "more than one wave");
    let summary = send.drain().await.unwrap();
    assert_eq!((summary.sent, summary.retried, summary.dead), (n, 0, 0));
    let sent = transport.sent();
    let keys: std::collections::BTreeSet<String> = sent.iter().map(|m| m.key.slug()).collect();
    assert_eq!((sent.len(), keys.len()), (n, n), "each once");
    assert!(store.in_hand(Channel::Sms, usize::MAX).unwrap().is_empty());
    for i in 1..=n {
        let entries = store
            .parcel_entries(&pk("acme", &format!("SANDBOX-ARRIVED-{i}")))
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].state, DeliveryState::Sent, "parcel {i}");
        assert_eq!(entries[0].attempts, 1, "parcel {i}");
    }
    assert_eq!(send.drain().await.unwrap(), DrainSummary::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_channel_claims_one_message_at_a_time_and_still_sends_all() {
    let (_d, store) = arrived_parcels(3);
    let transport = Recorder::answering([Err(Failure::Transient("503".into()))]);
    let mut send = context(&store, transport.clone());
    send.wave = wave_size(5.0, 4);
    assert_eq!(send.wave, 1);
    send.limiter = Arc::new(limiter(Quota::per_second(NonZeroU32::new(50).unwrap()), 1));
    let summary = send.drain().await.unwrap();
    assert_eq!((summary.sent, summary.retried), (2, 1));
    assert_eq!(transport.sent().len(), 3);
    assert!(store.in_hand(Channel::Sms, usize::MAX).unwrap().is_empty());
}

#[test]
fn a_wave_holds_what_the_rate_lets_go_in_fifty_milliseconds() {
    // One per slot at most, one at least.
    assert_eq!(wave_size(1_000_000.0, 8), 8);
    assert_eq!(wave_size(100.0, 8), 5);
    assert_eq!(wave_size(20.0, 8), 1);
    assert_eq!(wave_size(0.01, 8), 1);
    assert_eq!(wave_size(f64::INFINITY, 2), 2);
    assert_eq!(wave_size(1000.0, 0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_takes_its_tokens_before_its_claim_and_the_rate_holds_on_average() {
    // 20 messages at 100 a second in waves of 5: 5 go at once, then 5 every 50 ms.
    let (_d, store) = arrived_parcels(20);
    let transport = Recorder::answering([]);
    let mut send = context(&store, transport.clone());
    send.wave = wave_size(100.0, 8);
    send.limiter = Arc::new(limiter(
        Quota::per_second(NonZeroU32::new(100).unwrap()),
        send.wave,
    ));
    let started = std::time::Instant::now();
    assert_eq!(send.drain().await.unwrap().sent, 20);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(140),
        "{took:?}: faster than the rate"
    );
    assert_eq!(transport.sent().len(), 20);
}
