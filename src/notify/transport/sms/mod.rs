//! SMS: the gateways and the router that is the SMS channel's transport.
//!
//! A gateway ([`SmsGateway`]) speaks one provider's protocol: send a text, say whether a message
//! it may have taken is there ([`SmsGateway::find`]), fetch delivery reports, and read the
//! provider's callbacks. A new provider is one file here implementing it, one match arm in
//! [`SmsRouter::new`] and in [`parse_callback`], and its config section.
//!
//! The router ([`SmsRouter`]) picks the gateway of each message (the shop's choice, else
//! `sms.transport`), applies the sender name (the shop's, else the gateway's, else
//! `sms.sender`), counts segments, and pauses a gateway that refused the account (credentials,
//! funds, sender name) so messages wait instead of using up their attempts.

pub mod file;
pub mod http;
pub mod smsc;
pub mod smsru;

use super::{Lookup, Outgoing, Receipt, Rendered, Transport};
use crate::clock::Clock;
use crate::config::{SmsSettings, SmsTransport};
use crate::domain::delivery::DeliveryReport;
use crate::domain::notification::Channel;
use crate::domain::outbox::{Failure, OutboxEntry, OutboxKey};
use crate::domain::shop::Shop;
use crate::notify::render::segments;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One text to one phone.
#[derive(Debug, Clone, Copy)]
pub struct SmsMessage<'a> {
    /// The outbox key (gateways that take a client id derive it from this).
    pub key: &'a OutboxKey,
    /// The phone, E.164 (`+79123456789`).
    pub phone: &'a str,
    /// The text.
    pub text: &'a str,
    /// The sender name.
    pub sender: &'a str,
}

/// A gateway took a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    /// The gateway's id for it.
    pub id: Option<String>,
    /// Segments, as the gateway counted them.
    pub segments: Option<u32>,
}

/// One SMS provider.
#[async_trait]
pub trait SmsGateway: Send + Sync + 'static {
    /// The gateway's name in config, the API and metrics (`smsru`).
    fn name(&self) -> &'static str;

    /// Sends one text.
    async fn send(&self, msg: &SmsMessage<'_>) -> Result<Accepted, Failure>;

    /// Whether the gateway reports delivery (so sent messages wait for a report).
    fn reports_delivery(&self) -> bool {
        false
    }

    /// Whether the gateway has this message.
    async fn find(&self, entry: &OutboxEntry) -> Lookup {
        let _ = entry;
        Lookup::Unknown
    }

    /// Delivery reports of messages it accepted.
    async fn status(&self, entries: &[OutboxEntry]) -> Vec<(OutboxKey, DeliveryReport)> {
        let _ = entries;
        Vec::new()
    }
}

/// What a gateway's callback says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackEvent {
    /// A delivery report for one of its message ids.
    Report {
        /// The gateway's message id.
        id: String,
        /// What happened.
        report: DeliveryReport,
    },
    /// A reply from a phone.
    Inbound(Reply),
}

/// A reply from a phone, as a gateway forwarded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The phone it came from, E.164.
    pub phone: String,
    /// The text.
    pub text: String,
    /// The sender name or number it was written to, when the gateway says.
    pub to: Option<String>,
}

/// The sender name a shop's SMS carry through a gateway: the shop's own, else the gateway's
/// (`sms.<gateway>.sender`), else `sms.sender`.
pub fn sender_name(s: &SmsSettings, gateway: &str, shop_sender: Option<&str>) -> String {
    let configured = match gateway {
        "smsru" => s.smsru.as_ref().and_then(|c| c.sender.as_deref()),
        "smsc" => s.smsc.as_ref().and_then(|c| c.sender.as_deref()),
        _ => None,
    };
    shop_sender.or(configured).unwrap_or(&s.sender).to_string()
}

/// Reads a gateway's callback (form fields); `None` if the gateway has no callbacks.
pub fn parse_callback(gateway: &str, form: &[(String, String)]) -> Option<Vec<CallbackEvent>> {
    match gateway {
        "smsru" => Some(smsru::parse_callback(form)),
        "smsc" => Some(smsc::parse_callback(form)),
        _ => None,
    }
}

/// What a gateway's callback must be answered with.
pub fn callback_reply(gateway: &str) -> &'static str {
    match gateway {
        // SMS.ru treats any other answer as a failed handler and repeats the call.
        "smsru" => "100",
        _ => "OK",
    }
}

struct Route {
    gateway: Arc<dyn SmsGateway>,
    sender: String,
}

/// The SMS channel's transport: routes each message to its gateway.
pub struct SmsRouter {
    routes: BTreeMap<&'static str, Route>,
    default: &'static str,
    paused: Mutex<BTreeMap<&'static str, (Instant, String)>>,
}

impl SmsRouter {
    /// The router of the configured gateways. `timeout` bounds one HTTP request; `pause` is how
    /// long a gateway rests after refusing the account.
    pub fn new(
        s: &SmsSettings,
        timeout: Duration,
        pause: Duration,
        clock: &Clock,
    ) -> std::io::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("parceld/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(std::io::Error::other)?;
        let mut routes = BTreeMap::new();
        for t in SmsTransport::ALL {
            let gateway: Arc<dyn SmsGateway> = match t {
                SmsTransport::File => Arc::new(file::SmsFile::new(s.file.clone(), clock.clone())?),
                SmsTransport::SmsRu => match &s.smsru {
                    Some(c) => Arc::new(smsru::SmsRu::new(http.clone(), c, pause)),
                    None => continue,
                },
                SmsTransport::Smsc => match &s.smsc {
                    Some(c) => Arc::new(smsc::Smsc::new(http.clone(), c, pause)),
                    None => continue,
                },
            };
            routes.insert(
                t.as_str(),
                Route {
                    gateway,
                    sender: sender_name(s, t.as_str(), None),
                },
            );
        }
        Ok(SmsRouter {
            routes,
            default: s.transport.as_str(),
            paused: Mutex::new(BTreeMap::new()),
        })
    }

    /// The gateway called `name` if configured, else the default one.
    fn named(&self, name: Option<&str>) -> Option<(&'static str, &Route)> {
        name.and_then(|n| self.routes.get_key_value(n))
            .or_else(|| self.routes.get_key_value(self.default))
            .map(|(k, r)| (*k, r))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, (Instant, String)>> {
        self.paused.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Transport for SmsRouter {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn name(&self) -> &'static str {
        self.default
    }

    fn route(&self, shop: Option<&Shop>) -> &'static str {
        let choice = shop.and_then(|s| s.messaging.sms_provider.as_deref());
        self.named(choice).map_or(self.default, |(n, _)| n)
    }

    async fn send(&self, msg: &Outgoing) -> Result<Receipt, Failure> {
        let Rendered::Sms { text } = &msg.body else {
            return Err(Failure::Permanent("not an SMS body".into()));
        };
        let Some((name, route)) = self.named(msg.gateway.as_deref()) else {
            return Err(Failure::Permanent("no SMS gateway is configured".into()));
        };
        if let Some((until, reason)) = self.lock().get(name).cloned() {
            let now = Instant::now();
            if until > now {
                return Err(Failure::Paused {
                    reason,
                    retry_after: until - now,
                });
            }
        }
        let sms = SmsMessage {
            key: &msg.key,
            phone: &msg.recipient,
            text,
            sender: msg.sender.as_deref().unwrap_or(&route.sender),
        };
        match route.gateway.send(&sms).await {
            Ok(a) => {
                self.lock().remove(name);
                metrics::counter!("parceld_sms_segments_total", "gateway" => name)
                    .increment(u64::from(a.segments.unwrap_or(1)));
                Ok(Receipt {
                    segments: a.segments.or(Some(segments::count(text).parts)),
                    provider_id: a.id,
                    provider: Some(name.to_string()),
                    reports: route.gateway.reports_delivery(),
                })
            }
            Err(Failure::Paused {
                reason,
                retry_after,
            }) => {
                self.lock()
                    .insert(name, (Instant::now() + retry_after, reason.clone()));
                tracing::error!(gateway = name, reason = %reason, pause = %humantime::format_duration(retry_after), "SMS gateway refused the account; pausing it");
                Err(Failure::Paused {
                    reason,
                    retry_after,
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn find_sent(&self, entry: &OutboxEntry) -> Lookup {
        let Some((name, route)) = self.named(entry.provider.as_deref()) else {
            return Lookup::Unknown;
        };
        match route.gateway.find(entry).await {
            Lookup::Sent(mut r) => {
                r.provider = Some(name.to_string());
                r.reports = route.gateway.reports_delivery() && r.provider_id.is_some();
                Lookup::Sent(r)
            }
            other => other,
        }
    }

    async fn reports(&self, entries: &[OutboxEntry]) -> Vec<(OutboxKey, DeliveryReport)> {
        let mut by_gateway: BTreeMap<&'static str, Vec<OutboxEntry>> = BTreeMap::new();
        for e in entries {
            if let Some((name, _)) = self.named(e.provider.as_deref()) {
                by_gateway.entry(name).or_default().push(e.clone());
            }
        }
        let mut out = Vec::new();
        for (name, group) in by_gateway {
            if let Some(route) = self.routes.get(name) {
                out.extend(route.gateway.status(&group).await);
            }
        }
        out
    }

    fn paused_for(&self, route: &str) -> Option<Duration> {
        let now = Instant::now();
        self.lock()
            .get(route)
            .filter(|(until, _)| *until > now)
            .map(|(until, _)| *until - now)
    }

    fn paused(&self) -> Vec<(String, String)> {
        let now = Instant::now();
        self.lock()
            .iter()
            .filter(|(_, (until, _))| *until > now)
            .map(|(k, (_, reason))| (k.to_string(), reason.clone()))
            .collect()
    }
}

/// Test helpers shared by the transports' unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::domain::outbox::{MessageFacts, OutboxEntry, OutboxKey};
    use crate::domain::shop::Language;
    use crate::domain::status::Status;

    /// A pending entry with this key and recipient.
    pub fn entry_for(key: &OutboxKey, recipient: &str) -> OutboxEntry {
        let t = jiff::Timestamp::from_second(1_741_000_000).unwrap();
        let mut facts =
            MessageFacts::minimal("Acme", Language::Ru, key.track.as_str(), "Europe/Moscow");
        facts.status = Status::ArrivedAtPickup;
        OutboxEntry::new(key.clone(), recipient.into(), facts, t, t)
    }
}
