//! The e-mail channel's transport: the `.eml` folder (`email.outbox_dir`), which is always
//! there, and SMTP when `email.transport = "smtp"`. Like the SMS router, it sends each message
//! through the route recorded on it when it was claimed (`file` or `smtp`) and asks that same
//! route whether a message went out, so the sandbox carrier's messages, routed to the folder
//! whatever the transport (see [`super::route`]), never reach the SMTP server.

use super::email::FileMailer;
use super::smtp::SmtpMailer;
use super::{FILE_ROUTE, Lookup, Outgoing, Receipt, Transport};
use crate::domain::notification::Channel;
use crate::domain::outbox::{Failure, OutboxEntry};
use crate::domain::shop::Shop;
use async_trait::async_trait;
use std::time::Duration;

/// The e-mail routes.
pub struct Mailer {
    file: FileMailer,
    smtp: Option<SmtpMailer>,
}

impl Mailer {
    /// A mailer with the folder and, if configured, SMTP (the default route then).
    pub fn new(file: FileMailer, smtp: Option<SmtpMailer>) -> Self {
        Mailer { file, smtp }
    }

    /// The transport of a route: `file` is the folder; anything else (`smtp`, or no route for
    /// messages that are not outbox entries, such as the shops' reports) the default.
    fn pick(&self, route: Option<&str>) -> &dyn Transport {
        match (route, &self.smtp) {
            (Some(FILE_ROUTE), _) | (_, None) => &self.file,
            (_, Some(smtp)) => smtp,
        }
    }
}

#[async_trait]
impl Transport for Mailer {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn name(&self) -> &'static str {
        self.pick(None).name()
    }

    async fn send(&self, msg: &Outgoing) -> Result<Receipt, Failure> {
        self.pick(msg.gateway.as_deref()).send(msg).await
    }

    async fn find_sent(&self, entry: &OutboxEntry) -> Lookup {
        self.pick(entry.provider.as_deref()).find_sent(entry).await
    }

    fn route(&self, shop: Option<&Shop>) -> &'static str {
        self.pick(None).route(shop)
    }

    fn paused(&self) -> Vec<(String, String)> {
        self.smtp.as_ref().map(|s| s.paused()).unwrap_or_default()
    }

    fn paused_for(&self, route: &str) -> Option<Duration> {
        match route {
            FILE_ROUTE => None,
            _ => self.smtp.as_ref().and_then(|s| s.paused_for(route)),
        }
    }
}
