//! Delivering due webhooks: claim (on disk before anything leaves), check the URL against the
//! policy, sign, post with a time limit and without following redirects, read at most
//! `webhooks.max_response_kb` of the answer, and record the outcome (on disk before the next
//! event of the parcel may go). Also the recovery of deliveries in hand at a crash, and the
//! stuck timers.
//!
//! Plain async code over a [`HookContext`]; the actor ([`crate::actors::hooks`]) only decides
//! when to run it.

use super::address::{self, GuardedResolver, Policy};
use crate::clock::Clock;
use crate::config::webhooks::WebhookSettings;
use crate::domain::lifecycle::Rules;
use crate::domain::webhook::delivery::{Attempt, Delivery, HookState};
use crate::domain::webhook::signature;
use crate::store::{Committer, HookClaim, Store, StoreError};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// Everything the engine needs.
#[derive(Clone)]
pub struct HookContext {
    /// The store.
    pub store: Store,
    /// Claims and outcomes go through it.
    pub committer: Committer,
    /// The clock.
    pub clock: Clock,
    /// `[webhooks]`.
    pub settings: Arc<WebhookSettings>,
    /// The lifecycle rules (`stuck_after`).
    pub rules: Rules,
    /// Where webhooks may go.
    pub policy: Arc<Policy>,
    /// The HTTP client: no proxy, no redirects, every connection through the guarded resolver.
    pub client: reqwest::Client,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct ClientError(String);

/// The HTTP client webhooks go out with.
pub fn client(
    settings: &WebhookSettings,
    policy: Arc<Policy>,
) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver::new(policy)))
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!(
            "parceld/",
            env!("CARGO_PKG_VERSION"),
            " (webhooks)"
        ))
        .build()
        .map_err(|e| ClientError(e.to_string()))
}

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HookSummary {
    /// Answered 2xx.
    pub delivered: usize,
    /// Failed, to be tried again.
    pub retried: usize,
    /// Given up: dead letters.
    pub dead: usize,
    /// Set aside: their endpoint is disabled.
    pub parked: usize,
}

/// How many deliveries one drain takes from the queue at a time.
const BATCH: usize = 256;

/// An error and its causes in one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

impl HookContext {
    /// Deliveries in hand when the daemon stopped go back to the queue; the stuck timers are
    /// armed again if `stuck_after` changed. Returns how many deliveries were requeued.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        let (n, armed) = self
            .store
            .hook_restart(self.clock.now(), self.rules.clone())
            .await?;
        if n > 0 {
            tracing::warn!(
                deliveries = n,
                "Webhooks that were in hand when the daemon stopped go again (same ids)"
            );
        }
        if let Some(armed) = armed.filter(|a| *a > 0) {
            tracing::info!(parcels = armed, "Stuck timers armed for rules.stuck_after");
        }
        Ok(n)
    }

    /// When the next delivery or stuck timer is due.
    pub async fn next_at(&self) -> Result<Option<Timestamp>, StoreError> {
        self.store.next_hook_at().await
    }

    /// Fires the stuck timers that are due. Returns how many `parcel.stuck` events were queued.
    pub async fn fire_stuck(&self) -> Result<usize, StoreError> {
        self.store
            .fire_stuck_due(self.clock.now(), self.rules.clone(), BATCH)
            .await
    }

    /// Sends every delivery that is due now.
    pub async fn drain(&self) -> Result<HookSummary, StoreError> {
        use futures_util::StreamExt;
        let mut total = HookSummary::default();
        loop {
            let due = self.store.hook_due(self.clock.now(), BATCH).await?;
            if due.is_empty() {
                break;
            }
            let n = due.len();
            let results: Vec<Result<Option<Outcome>, StoreError>> = futures_util::stream::iter(due)
                .map(|k| self.deliver(k))
                .buffer_unordered(self.settings.concurrency)
                .collect()
                .await;
            for r in results {
                match r? {
                    Some(Outcome::Delivered) => total.delivered += 1,
                    Some(Outcome::Retry) => total.retried += 1,
                    Some(Outcome::Dead) => total.dead += 1,
                    Some(Outcome::Parked) => total.parked += 1,
                    None => {}
                }
            }
            if n < BATCH {
                break;
            }
        }
        Ok(total)
    }

    /// Claims, sends and records one delivery.
    async fn deliver(&self, dkey: Vec<u8>) -> Result<Option<Outcome>, StoreError> {
        let now = self.clock.now();
        let key = dkey.clone();
        let claim = self.committer.run(move |s| s.hook_claim(&key, now)).await?;
        let (delivery, url, secrets, sequence) = match claim {
            HookClaim::Claimed {
                delivery,
                url,
                secrets,
                sequence,
            } => (delivery, url, secrets, sequence),
            HookClaim::Parked => return Ok(Some(Outcome::Parked)),
            HookClaim::Skipped => return Ok(None),
        };
        let attempt = self.post(&url, &secrets, &delivery, sequence).await;
        let now = self.clock.now();
        let retry = self.settings.retry;
        let disable_after = self.settings.disable_after;
        let random = getrandom::u64().unwrap_or(0);
        let a = attempt.clone();
        let key = dkey.clone();
        let done = self
            .committer
            .run(move |s| s.hook_finish(&key, &a, now, &retry, disable_after, random))
            .await?;
        let outcome = match (&attempt, done.state) {
            (Attempt::Delivered { .. }, _) => Outcome::Delivered,
            (_, Some(HookState::Dead)) => Outcome::Dead,
            (_, Some(HookState::Pending)) if done.disabled => Outcome::Parked,
            _ => Outcome::Retry,
        };
        self.report(&delivery, &url, &attempt, outcome, done.disabled);
        Ok(Some(outcome))
    }

    /// Posts the body, signed, and reads the answer (at most `max_response` bytes of it).
    /// `sequence` is the event's place among its parcel's events to this endpoint.
    pub async fn post(
        &self,
        url: &str,
        secrets: &[String],
        d: &Delivery,
        sequence: u64,
    ) -> Attempt {
        let failed = |status, error: String| Attempt::Failed { status, error };
        // The config may have changed since the URL was registered: checked every time (names
        // are checked by the resolver when a connection is made).
        let target = match address::check_url(url, &self.policy) {
            Ok(t) => t,
            Err(e) => return failed(None, e.to_string()),
        };
        let t = self.clock.now().as_second();
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let req = self
            .client
            .post(target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                signature::HEADER,
                signature::header(&refs, t, d.body.as_bytes()),
            )
            .header("Idempotency-Key", &d.event_id)
            .header("Parceld-Event", d.kind.as_str())
            .header("Parceld-Sequence", sequence.to_string())
            .body(d.body.clone());
        let max = self.settings.max_response;
        let exchange = async move {
            let mut resp = req.send().await?;
            let status = resp.status().as_u16();
            let mut read = 0usize;
            while read < max {
                match resp.chunk().await? {
                    Some(c) => read += c.len(),
                    None => break,
                }
            }
            Ok::<u16, reqwest::Error>(status)
        };
        match tokio::time::timeout(self.settings.timeout, exchange).await {
            Err(_) => failed(
                None,
                format!(
                    "no answer within {} (webhooks.timeout)",
                    humantime::format_duration(self.settings.timeout)
                ),
            ),
            Ok(Err(e)) if e.is_timeout() => failed(
                None,
                format!(
                    "no answer within {} (webhooks.timeout)",
                    humantime::format_duration(self.settings.timeout)
                ),
            ),
            Ok(Err(e)) => failed(e.status().map(|s| s.as_u16()), chain(&e)),
            Ok(Ok(status)) if (200..300).contains(&status) => Attempt::Delivered { status },
            Ok(Ok(status)) if (300..400).contains(&status) => failed(
                Some(status),
                format!("HTTP {status}: redirects are not followed"),
            ),
            Ok(Ok(status)) => failed(Some(status), format!("HTTP {status}")),
        }
    }

    /// Logs and metrics of one attempt.
    fn report(&self, d: &Delivery, url: &str, attempt: &Attempt, outcome: Outcome, disabled: bool) {
        let label = match outcome {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
            Outcome::Parked => "disabled",
        };
        metrics::counter!("parceld_webhooks_total", "outcome" => label).increment(1);
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        match attempt {
            Attempt::Delivered { status } => {
                tracing::debug!(event_id = %d.event_id, event = d.kind.as_str(), host, status, "Webhook delivered");
            }
            Attempt::Failed { error, .. } => {
                if disabled {
                    tracing::error!(event_id = %d.event_id, host, error = %error, "Webhook endpoint disabled: every delivery failed for webhooks.disable_after");
                } else if outcome == Outcome::Dead {
                    tracing::warn!(event_id = %d.event_id, event = d.kind.as_str(), host, error = %error, "Webhook given up (dead letter)");
                } else {
                    tracing::info!(event_id = %d.event_id, host, attempts = d.attempts, error = %error, "Webhook failed; will retry");
                }
            }
        }
    }
}

/// How one delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Retry,
    Dead,
    Parked,
}
