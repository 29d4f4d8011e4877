//! Group commit for work that must be on disk before its caller goes on: the senders' claims
//! (on disk before a message leaves) and receipts (on disk right after the provider's answer).
//!
//! One thread takes the store work of every caller waiting at that moment, runs it, flushes
//! once and only then answers each. A caller sees its own result, or the flush's error when the
//! flush failed; either way nothing is answered before the flush that covers it has ended. Under
//! load one flush and one thread hand-over serve many messages instead of two of each per
//! message; alone, a caller pays what it did before.

use super::{Store, StoreError, SyncStore};
use std::sync::mpsc;

/// Work run by the commit thread; returns how to answer once the flush is done.
type Job = Box<dyn FnOnce(&SyncStore) -> Answer + Send>;
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store| {
            let result = f(store);
            Box::new(move |flushed: Result<(), &sled::Error>| {
                let answer = match flushed {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Sled(e.clone())),
                };
                // The caller may have gone (its future dropped); nothing to tell then.
                let _ = tx.send(answer);
            })
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

fn run(store: &SyncStore, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut answers = vec![first(store)];
        while answers.len() < GROUP {
            match rx.try_recv() {
                Ok(job) => answers.push(job(store)),
                Err(_) => break,
            }
        }
        // The same shared flush as [`Store::flush`], with sled's error to hand to each caller.
        let flushed = store.flusher.flush(|| store.db.flush());
        for answer in answers {
            answer(flushed.as_ref().map(|_| ()));
        }
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
}
