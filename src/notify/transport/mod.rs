//! Transports: getting rendered words to the customer over a channel. E-mail goes to a folder
//! of `.eml` files ([`email`]) or over SMTP ([`smtp`], signed by [`dkim`]), routed by
//! [`mailer`]; SMS goes through one module per gateway under [`sms`].
//!
//! A [`Transport`] sends one rendered message and classifies its failure (transient, unknown,
//! permanent, or an account problem that pauses the channel). A transport that can tell
//! whether a message already went out ([`Transport::find_sent`]) closes the crash window
//! between "provider accepted" and "receipt written" for its channel.
//!
//! Each channel's transport is a router over named routes, one of which is always the local
//! file ([`FILE_ROUTE`]). [`route`] chooses a message's route when it is claimed: the sandbox
//! carrier's parcels are test mode, like a payment API's, and their messages always go to the
//! files, whatever the shop and the config say.

pub mod dkim;
pub mod email;
pub mod mailer;
pub mod sms;
pub mod smtp;

use super::Rendered;
use crate::clock::Clock;
use crate::config::{EmailTransport, Settings};
use crate::domain::carrier::CarrierId;
use crate::domain::delivery::DeliveryReport;
use crate::domain::notification::Channel;
use crate::domain::outbox::{Failure, OutboxEntry, OutboxKey};
use crate::domain::shop::Shop;
use async_trait::async_trait;
use std::sync::Arc;

/// The route every channel's transport has: the `.eml` folder (`email.outbox_dir`) for e-mail,
/// the SMS file (`sms.file`) for SMS.
pub const FILE_ROUTE: &str = "file";

/// The route a message goes through, recorded on it when it is claimed: the file for the
/// sandbox carrier's parcels (test mode: they never reach a real gateway or mailbox, whatever
/// the shop chose and whatever `email.transport` and `sms.transport` say), else the one the
/// transport chooses for the shop.
pub fn route(transport: &dyn Transport, shop: Option<&Shop>, carrier: CarrierId) -> &'static str {
    match carrier {
        CarrierId::Sandbox => FILE_ROUTE,
        _ => transport.route(shop),
    }
}

/// The transports the config enables, one per channel, telling the time by `clock`. A channel
/// waits `notify.retry_cap` after a provider refused the account (credentials, funds, sender
/// name).
pub fn transports(settings: &Settings, clock: &Clock) -> std::io::Result<Vec<Arc<dyn Transport>>> {
    let pause = settings.notify.retry_cap;
    let mut out: Vec<Arc<dyn Transport>> = Vec::new();
    if let Some(e) = &settings.email {
        let file = email::FileMailer::new(
            e.outbox_dir.clone(),
            e.from.clone(),
            e.dkim.as_ref().map(dkim::Signer::new),
        );
        let smtp = match &e.transport {
            EmailTransport::File => {
                // The folder is the transport: a folder that cannot be made stops the start.
                std::fs::create_dir_all(&e.outbox_dir)?;
                None
            }
            EmailTransport::Smtp(smtp) => Some(
                smtp::SmtpMailer::new(smtp, e, settings.notify.concurrency, pause)
                    .map_err(std::io::Error::other)?,
            ),
        };
        out.push(Arc::new(mailer::Mailer::new(file, smtp)));
    }
    if let Some(s) = &settings.sms {
        out.push(Arc::new(sms::SmsRouter::new(
            s,
            settings.notify.send_timeout,
            pause,
            clock,
        )?));
    }
    Ok(out)
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The outbox key (idempotency key for providers that take one).
    pub key: OutboxKey,
    /// Phone (E.164) or e-mail address.
    pub recipient: String,
    /// The shop's name (e-mail display name).
    pub shop_name: String,
    /// The shop's address for replies.
    pub reply_to: Option<String>,
    /// What to say.
    pub body: Rendered,
    /// The one-click unsubscribe link for this parcel and channel.
    pub unsubscribe_url: Option<String>,
    /// The gateway to use (the one recorded when the message was claimed).
    pub gateway: Option<String>,
    /// The shop's own SMS sender name.
    pub sender: Option<String>,
}

/// The provider accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// The provider's id for it.
    pub provider_id: Option<String>,
    /// The gateway that took it (for transports with several), else the transport's name.
    pub provider: Option<String>,
    /// SMS segments, as the provider counted them (or as parceld did).
    pub segments: Option<u32>,
    /// The provider can report delivery for it (ask with [`Transport::reports`]).
    pub reports: bool,
}

/// Whether a message the daemon had in hand reached the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It did.
    Sent(Receipt),
    /// It certainly did not: sending it is safe.
    NotSent,
    /// The transport cannot tell.
    Unknown,
}

/// A way to deliver messages of one channel.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The channel this transport serves.
    fn channel(&self) -> Channel;

    /// A short name for logs and metrics (`file`, `smtp`, `smsru`).
    fn name(&self) -> &'static str;

    /// The gateway a shop's messages go through; recorded on the entry when it is claimed, so
    /// that after a crash the same gateway is asked. Callers use [`route`], which
    /// keeps the sandbox carrier's messages on the file route.
    fn route(&self, shop: Option<&Shop>) -> &'static str {
        let _ = shop;
        self.name()
    }

    /// Sends one message.
    async fn send(&self, msg: &Outgoing) -> Result<Receipt, Failure>;

    /// Whether this message already went out (after a crash while it was in hand, or an
    /// attempt that got no answer).
    async fn find_sent(&self, entry: &OutboxEntry) -> Lookup {
        let _ = entry;
        Lookup::Unknown
    }

    /// Delivery reports of sent messages, for those the provider knows about.
    async fn reports(&self, entries: &[OutboxEntry]) -> Vec<(OutboxKey, DeliveryReport)> {
        let _ = entries;
        Vec::new()
    }

    /// The gateways paused after refusing the account, with why.
    fn paused(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// How much longer the gateway `route` rests after refusing the account, if it does.
    fn paused_for(&self, route: &str) -> Option<std::time::Duration> {
        let _ = route;
        None
    }
}
