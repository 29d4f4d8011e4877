//! Notifications: turning an outbox entry into words ([`templates`]) and getting the words to
//! the customer over a channel ([`email`], [`sms`]).
//!
//! A [`Transport`] sends one rendered message and classifies its failure as transient or
//! permanent; the sender actor owns claiming, rate limits, timeouts and retries. A transport that
//! can tell whether a message already went out ([`Transport::find_sent`]) closes the crash
//! window between "provider accepted" and "receipt written" for its channel.

pub mod dates;
pub mod defaults;
pub mod deliver;
pub mod email;
pub mod sms;
pub mod templates;

use crate::config::{EmailTransport, Settings, SmsTransport};
use crate::domain::notification::Channel;
use crate::domain::outbox::{Failure, OutboxKey};
use async_trait::async_trait;
use std::sync::Arc;

/// The transports the config enables, one per channel.
pub fn transports(settings: &Settings) -> std::io::Result<Vec<Arc<dyn Transport>>> {
    let mut out: Vec<Arc<dyn Transport>> = Vec::new();
    if let Some(e) = &settings.email {
        match &e.transport {
            EmailTransport::File { dir } => out.push(Arc::new(email::FileMailer::new(
                dir.clone(),
                e.from.clone(),
            )?)),
        }
    }
    if let Some(s) = &settings.sms {
        match &s.transport {
            SmsTransport::File { path } => {
                out.push(Arc::new(sms::SmsFile::new(path.clone(), s.sender.clone())?))
            }
        }
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
}

/// Rendered text for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// A text message.
    Sms {
        /// The text.
        text: String,
    },
    /// An e-mail.
    Email {
        /// Subject line.
        subject: String,
        /// Plain-text part.
        text: String,
        /// HTML part.
        html: String,
        /// Files attached (the shop report's workbook).
        attachments: Vec<Attachment>,
    },
}

/// A file attached to an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the recipient sees.
    pub filename: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The provider accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// The provider's id for it.
    pub provider_id: Option<String>,
}

/// A way to deliver messages of one channel.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The channel this transport serves.
    fn channel(&self) -> Channel;

    /// A short name for logs and metrics (`file`, `smtp`, `smsru`).
    fn name(&self) -> &'static str;

    /// Sends one message.
    async fn send(&self, msg: &Outgoing) -> Result<Receipt, Failure>;

    /// Whether this message already went out (after a crash while it was in hand). Transports
    /// that cannot tell return `None`, and the message is sent again.
    async fn find_sent(&self, key: &OutboxKey) -> Option<Receipt> {
        let _ = key;
        None
    }
}
