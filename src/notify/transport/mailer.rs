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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::carrier::CarrierId;
    use crate::domain::notification::{Channel, NotificationKind};
    use crate::domain::outbox::OutboxKey;
    use crate::notify::{Rendered, route};

    /// A mailer whose SMTP server is a closed port, and its folder.
    fn mailer() -> (tempfile::TempDir, Mailer) {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = crate::config::parse(
            &format!(
                "[email]\ntransport = \"smtp\"\noutbox_dir = {:?}\n[email.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nconnect_timeout = \"1s\"\n",
                dir.path().join("out").display().to_string()
            ),
            std::path::Path::new("t.toml"),
        )
        .unwrap();
        let e = s.email.unwrap();
        let crate::config::EmailTransport::Smtp(smtp) = &e.transport else {
            panic!("smtp")
        };
        let smtp = SmtpMailer::new(smtp, &e, 1, Duration::from_secs(1)).unwrap();
        let file = FileMailer::new(e.outbox_dir.clone(), e.from.clone(), None);
        (dir, Mailer::new(file, Some(smtp)))
    }

    fn outgoing(gateway: &str) -> Outgoing {
        Outgoing {
            key: OutboxKey {
                shop: crate::domain::shop::ShopId::from_trusted("acme"),
                track: crate::domain::track::TrackNumber::from_trusted("SANDBOX-ARRIVED-1"),
                parcel_id: 1,
                kind: NotificationKind::Arrived,
                occurrence: 1,
                channel: Channel::Email,
            },
            recipient: "ivan@example.ru".into(),
            shop_name: "Acme".into(),
            reply_to: None,
            body: Rendered::Email {
                subject: "s".into(),
                text: "t".into(),
                html: "<p>t</p>".into(),
                attachments: Vec::new(),
            },
            unsubscribe_url: None,
            gateway: Some(gateway.into()),
            sender: None,
        }
    }

    #[tokio::test]
    async fn sandbox_messages_take_the_folder_and_others_smtp() {
        let (dir, m) = mailer();
        assert_eq!(m.name(), "smtp");
        assert_eq!(route(&m, None, CarrierId::Sandbox), FILE_ROUTE);
        assert_eq!(route(&m, None, CarrierId::RussianPost), "smtp");
        let r = m.send(&outgoing(FILE_ROUTE)).await.unwrap();
        assert_eq!(r.provider.as_deref(), Some(FILE_ROUTE));
        assert_eq!(
            std::fs::read_dir(dir.path().join("out")).unwrap().count(),
            1
        );
        // The SMTP route goes to the (closed) server.
        let e = m.send(&outgoing("smtp")).await.unwrap_err();
        assert!(e.message().contains("smtp"), "{e:?}");
        // A paused SMTP server does not hold the folder's messages.
        assert_eq!(m.paused_for(FILE_ROUTE), None);
    }
}
