//! Group commit for the senders' store work, which must be on disk before the caller goes on:
//! claims, on disk before a message leaves ([`Committer::run`]), and receipts, on disk right
//! after the provider's answer ([`Committer::finish`]).
//!
//! One thread takes the store work of every caller waiting at that moment, runs it in order
//! (the receipts that come one after another in one transaction: sled writes its log out at
//! every transaction's start and end, so a transaction per message was most of a message's
//! cost), flushes once and only then answers each. A caller sees its own result, or the flush's
//! error when the flush failed; either way nothing is answered before the flush that covers it
//! has ended. Under load one transaction, one flush and one thread hand-over serve many messages
//! instead of several of each per message; alone, a caller pays what it did before.

use super::{Store, StoreError, SyncStore};
use crate::domain::outbox::{OutboxEntry, OutboxKey};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Work for the commit thread.
enum Job {
    /// Any store work; returns how to answer once the flush is done.
    Run(Box<dyn FnOnce(&SyncStore) -> Answer + Send>),
    /// A receipt, merged with the receipts next to it into one transaction.
    Finish(Finish),
}

/// What a receipt changes, and whom to tell.
struct Finish {
    key: OutboxKey,
    update: super::outbox::Update,
    reply: oneshot::Sender<Result<Option<OutboxEntry>, StoreError>>,
}

/// Answers one caller with the flush's outcome.
type Answer = Box<dyn FnOnce(Result<(), &sled::Error>) + Send>;

/// How many callers' work one flush covers at most.
const GROUP: usize = 64;

/// The handle callers use; the thread ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the commit thread over `store`.
    pub fn start(store: &Store) -> std::io::Result<Committer> {
        let store = store.sync().clone();
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("parceld-commit".into())
            .spawn(move || run(&store, &rx))?;
        Ok(Committer { jobs })
    }

    /// Runs `f` on the commit thread and returns its result once a flush after it has ended.
    /// `f` uses the store's blocking calls: it runs on the commit thread, never on an async one.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SyncStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job = Job::Run(Box::new(move |store| {
            let result = f(store);
            Box::new(move |flushed: Result<(), &sled::Error>| {
                // The caller may have gone (its future dropped); nothing to tell then.
                let _ = tx.send(after_flush(result, flushed));
            })
        }));
        self.jobs.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Records what happened to a claimed entry ([`SyncStore::finish`]), in one transaction
    /// with the other receipts of the moment; returns once a flush after it has ended.
    pub(crate) async fn finish(
        &self,
        key: OutboxKey,
        update: impl Fn(&mut OutboxEntry) + Send + 'static,
    ) -> Result<Option<OutboxEntry>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let job = Job::Finish(Finish {
            key,
            update: Box::new(update),
            reply,
        });
        self.jobs.send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Sled(sled::Error::ReportableBug(
        "the store's commit thread has stopped".into(),
    ))
}

/// A caller's result once the flush that covers it has ended.
fn after_flush<T>(
    result: Result<T, StoreError>,
    flushed: Result<(), &sled::Error>,
) -> Result<T, StoreError> {
    match flushed {
        Ok(()) => result,
        Err(e) => Err(StoreError::Sled(e.clone())),
    }
}

fn run(store: &SyncStore, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut answers: Vec<Answer> = Vec::new();
        let mut receipts: Vec<Finish> = Vec::new();
        for job in jobs {
            match job {
                Job::Finish(f) => receipts.push(f),
                Job::Run(work) => {
                    // In the order they came: the receipts before it are written first.
                    finish_all(store, std::mem::take(&mut receipts), &mut answers);
                    answers.push(work(store));
                }
            }
        }
        finish_all(store, receipts, &mut answers);
        // The same shared flush as [`Store::flush`], with sled's error to hand to each caller.
        let flushed = store.flusher.flush(|| store.db.flush());
        for answer in answers {
            answer(flushed.as_ref().map(|_| ()));
        }
    }
}

/// Writes `receipts` in one transaction (one each if that fails, so that each caller gets its
/// own error) and adds their answers.
fn finish_all(store: &SyncStore, receipts: Vec<Finish>, answers: &mut Vec<Answer>) {
    if receipts.is_empty() {
        return;
    }
    let (updates, replies): (Vec<_>, Vec<_>) = receipts
        .into_iter()
        .map(|f| ((f.key, f.update), f.reply))
        .unzip();
    let results: Vec<_> = match store.finish_many(&updates) {
        Ok(done) => done.into_iter().map(Ok).collect(),
        Err(_) => updates
            .iter()
            .map(|(key, update)| store.finish(key, update))
            .collect(),
    };
    for (reply, result) in replies.into_iter().zip(results) {
        answers.push(Box::new(move |flushed| {
            let _ = reply.send(after_flush(result, flushed));
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_caller_gets_its_own_result_and_the_work_is_on_disk() {
        let (dir, store) = temp_store();
        let c = Committer::start(&Store::from_sync(store.clone())).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let calls = (0..200).map(|i| {
            let (c, ran) = (c.clone(), ran.clone());
            async move {
                c.run(move |s| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    s.meta.insert(format!("k{i}"), &[i as u8])?;
                    if i % 7 == 0 {
                        return Err(StoreError::NotFound(format!("n{i}")));
                    }
                    Ok(i)
                })
                .await
            }
        });
        let results = futures_util::future::join_all(calls).await;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => assert_eq!(v, i),
                Err(StoreError::NotFound(m)) => assert_eq!((m, i % 7), (format!("n{i}"), 0)),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ran.load(Ordering::SeqCst), 200);
        // The thread lets go of the store once the last handle is gone.
        drop((c, store));
        let mut reopened = SyncStore::open(&dir.path().join("db"), 8 << 20);
        for _ in 0..100 {
            if reopened.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            reopened = SyncStore::open(&dir.path().join("db"), 8 << 20);
        }
        let reopened = reopened.unwrap();
        let v = reopened.meta.get("k199").unwrap().map(|v| v.to_vec());
        assert_eq!(v, Some(vec![199]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_went_away_does_not_stop_the_thread_and_its_work_still_counts() {
        use futures_util::FutureExt;
        let (_dir, store) = temp_store();
        let c = Committer::start(&Store::from_sync(store.clone())).unwrap();
        // Handed over, then given up on before its answer (a sender's future dropped).
        let gone = c.run(|s| {
            s.meta.insert("gone", &[1])?;
            Ok(())
        });
        // One poll hands the work over; whatever it found, the caller is gone after it.
        drop(gone.now_or_never());
        // The next caller's work runs after it: the first one's is there by then.
        let seen = c
            .run(|s| Ok(s.meta.get("gone")?.map(|v| v.to_vec())))
            .await
            .unwrap();
        assert_eq!(seen, Some(vec![1]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn receipts_that_come_together_each_get_their_own_answer() {
        use crate::domain::notification::Channel;
        use crate::domain::outbox::{Acceptance, DeliveryState};
        use crate::store::Claim;
        use crate::store::test_support::{arrived_parcels, t};
        let (_dir, store) = arrived_parcels(12);
        let c = Committer::start(&Store::from_sync(store.clone())).unwrap();
        let due = store.pending(Channel::Sms, t(20), 100).unwrap();
        assert_eq!(due.len(), 12);
        let wave: Vec<_> = due.iter().map(|e| (e.key.clone(), "fake")).collect();
        let claims = store.claim_many(&wave, t(20), |_| None).unwrap();
        assert!(claims.iter().all(|c| matches!(c, Claim::Claimed(_))));
        // One names an entry that is not there.
        let mut gone = due[0].key.clone();
        gone.parcel_id += 1_000;
        let calls = due
            .iter()
            .map(|e| e.key.clone())
            .chain([gone])
            .enumerate()
            .map(|(i, key)| {
                let c = c.clone();
                async move {
                    let id = format!("id-{i}");
                    let done = c
                        .finish(key, move |e| {
                            e.succeed(
                                Acceptance {
                                    provider: "fake".into(),
                                    provider_id: Some(id.clone()),
                                    ..Default::default()
                                },
                                t(21),
                            )
                        })
                        .await
                        .unwrap();
                    (i, done)
                }
            });
        let results = futures_util::future::join_all(calls).await;
        for (i, done) in results {
            match done {
                Some(e) => {
                    assert_eq!(e.state, DeliveryState::Sent);
                    assert_eq!(e.provider_id, Some(format!("id-{i}")));
                }
                None => assert_eq!(i, 12, "only the missing entry finds nothing"),
            }
        }
        assert!(store.in_hand(Channel::Sms, 100).unwrap().is_empty());
        assert!(store.pending(Channel::Sms, t(30), 100).unwrap().is_empty());
    }
}
