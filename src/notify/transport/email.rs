//! E-mail: building the MIME message (text + HTML, a Message-ID derived from the outbox key,
//! the shop as display name and Reply-To, RFC 8058 one-click unsubscribe headers) and the file
//! transport; SMTP is in [`super::smtp`], the choice between them in [`super::mailer`].
//!
//! The file transport writes each message to `<outbox key>.eml` through a temporary file and a
//! rename, signed with DKIM when `[email.dkim]` is set, so the file holds exactly what SMTP
//! would carry. lettre's own file transport names files by a random UUID, so a message re-sent
//! after a crash would appear twice; a name derived from the outbox key makes a resend
//! overwrite the same file, and lets [`FileMailer::find_sent`] prove the message went out.

use super::dkim::Signer;
use super::{Lookup, Outgoing, Receipt, Rendered, Transport};
use crate::domain::notification::Channel;
use crate::domain::outbox::{Failure, OutboxEntry, OutboxKey};
use async_trait::async_trait;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use std::path::PathBuf;

/// The Message-ID of a message: the outbox key at the sender's domain, so a message sent again
/// after a crash carries the same id (mail systems can spot the duplicate).
pub fn message_id(msg: &Outgoing, from: &lettre::Address) -> String {
    format!("<{}@{}>", msg.key_slug(), from.domain())
}

/// Builds the e-mail for an outgoing message.
pub fn build(msg: &Outgoing, from: &lettre::Address) -> Result<Message, Failure> {
    let Rendered::Email {
        subject,
        text,
        html,
        attachments,
    } = &msg.body
    else {
        return Err(Failure::Permanent("not an e-mail body".into()));
    };
    let to: Mailbox = msg
        .recipient
        .parse()
        .map_err(|e| Failure::Permanent(format!("recipient {:?}: {e}", msg.recipient)))?;
    let mut b = Message::builder()
        .from(Mailbox::new(Some(msg.shop_name.clone()), from.clone()))
        .to(to)
        .subject(subject.clone())
        .message_id(Some(message_id(msg, from)));
    if let Some(reply) = msg
        .reply_to
        .as_ref()
        .and_then(|r| r.parse::<Mailbox>().ok())
    {
        b = b.reply_to(reply);
    }
    if let Some(url) = &msg.unsubscribe_url {
        b = b
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let body = MultiPart::alternative_plain_html(text.clone(), html.clone());
    let body = if attachments.is_empty() {
        body
    } else {
        attachments
            .iter()
            .try_fold(MultiPart::mixed().multipart(body), |m, a| {
                let ct = ContentType::parse(&a.content_type)
                    .map_err(|e| Failure::Permanent(format!("attachment {}: {e}", a.filename)))?;
                Ok::<_, Failure>(
                    m.singlepart(Attachment::new(a.filename.clone()).body(a.bytes.clone(), ct)),
                )
            })?
    };
    b.multipart(body)
        .map_err(|e| Failure::Permanent(format!("cannot build the message: {e}")))
}

impl Outgoing {
    /// The outbox key as a file-name-safe slug.
    pub fn key_slug(&self) -> String {
        self.key.slug()
    }
}

/// Writes e-mails as `.eml` files into a folder.
pub struct FileMailer {
    dir: PathBuf,
    from: lettre::Address,
    dkim: Option<Signer>,
}

impl FileMailer {
    /// A mailer writing into `dir`, signing with `dkim` if given. The folder is created when the
    /// first message is written, if it is missing then.
    pub fn new(dir: PathBuf, from: lettre::Address, dkim: Option<Signer>) -> Self {
        FileMailer { dir, from, dkim }
    }

    /// The folder it writes into.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    fn path(&self, key: &OutboxKey) -> PathBuf {
        self.dir.join(format!("{}.eml", key.slug()))
    }

    fn receipt(&self, key: &OutboxKey) -> Receipt {
        Receipt {
            provider_id: Some(format!("{}.eml", key.slug())),
            provider: Some("file".into()),
            ..Receipt::default()
        }
    }
}

#[async_trait]
impl Transport for FileMailer {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn name(&self) -> &'static str {
        "file"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Receipt, Failure> {
        let mut email = build(msg, &self.from)?;
        if let Some(signer) = &self.dkim {
            signer
                .sign(&mut email)
                .map_err(|e| Failure::Transient(format!("file: {e}")))?;
        }
        let path = self.path(&msg.key);
        let tmp = path.with_extension("eml.tmp");
        let bytes = email.formatted();
        let write = async {
            if let Err(e) = tokio::fs::write(&tmp, &bytes).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(e);
                }
                tokio::fs::create_dir_all(&self.dir).await?;
                tokio::fs::write(&tmp, &bytes).await?;
            }
            let f = tokio::fs::File::open(&tmp).await?;
            f.sync_all().await?;
            tokio::fs::rename(&tmp, &path).await
        };
        write
            .await
            .map_err(|e| Failure::Transient(format!("cannot write {}: {e}", path.display())))?;
        Ok(self.receipt(&msg.key))
    }

    async fn find_sent(&self, entry: &OutboxEntry) -> Lookup {
        match tokio::fs::metadata(self.path(&entry.key)).await {
            Ok(_) => Lookup::Sent(self.receipt(&entry.key)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Lookup::NotSent,
            Err(_) => Lookup::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notification::NotificationKind;

    fn outgoing() -> Outgoing {
        Outgoing {
            key: OutboxKey {
                shop: crate::domain::shop::ShopId::from_trusted("acme"),
                track: crate::domain::track::TrackNumber::from_trusted("10100012000016"),
                parcel_id: 5,
                kind: NotificationKind::Arrived,
                occurrence: 1,
                channel: Channel::Email,
            },
            recipient: "ivan@example.ru".into(),
            shop_name: "Книжный дом".into(),
            reply_to: Some("shop@example.ru".into()),
            body: Rendered::Email {
                subject: "Заказ A-1 ждёт вас".into(),
                text: "Текст".into(),
                html: "<p>Текст</p>".into(),
                attachments: Vec::new(),
            },
            unsubscribe_url: Some("http://127.0.0.1:8787/u/abc".into()),
            gateway: None,
            sender: None,
        }
    }

    #[test]
    fn message_has_the_headers_customers_and_mailbox_providers_need() {
        let m = build(&outgoing(), &"noreply@example.ru".parse().unwrap()).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <acme-10100012000016-5-arrived-1-email@example.ru>"),
            "{raw}"
        );
        assert!(raw.contains("Reply-To: shop@example.ru"));
        assert!(raw.contains("List-Unsubscribe: <http://127.0.0.1:8787/u/abc>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("multipart/alternative"));
        assert!(
            raw.contains("From: =?utf-8?"),
            "display name encoded: {raw}"
        );
    }

    #[test]
    fn attachments_make_a_mixed_message() {
        let mut o = outgoing();
        if let Rendered::Email { attachments, .. } = &mut o.body {
            attachments.push(crate::notify::Attachment {
                filename: "report.xlsx".into(),
                content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    .into(),
                bytes: vec![1, 2, 3],
            });
        }
        let raw = String::from_utf8(
            build(&o, &"noreply@example.ru".parse().unwrap())
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(raw.contains("multipart/mixed"));
        assert!(raw.contains("report.xlsx"), "{raw}");
    }

    #[tokio::test]
    async fn file_mailer_is_idempotent_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let m = FileMailer::new(
            dir.path().join("out"),
            "noreply@example.ru".parse().unwrap(),
            None,
        );
        let o = outgoing();
        let entry = crate::notify::transport::sms::tests_support::entry_for(&o.key, &o.recipient);
        assert_eq!(m.find_sent(&entry).await, Lookup::NotSent);
        m.send(&o).await.unwrap();
        m.send(&o).await.unwrap();
        assert!(matches!(m.find_sent(&entry).await, Lookup::Sent(_)));
        assert_eq!(
            std::fs::read_dir(dir.path().join("out")).unwrap().count(),
            1
        );
    }
}
