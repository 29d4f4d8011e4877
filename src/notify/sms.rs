//! SMS transports. The file transport appends one line per message to a local file, for a
//! machine without an SMS provider:
//!
//! ```text
//! 2027-03-09T09:00:00Z<TAB>+79123456789<TAB>parceld<TAB>acme-…-arrived-1-sms<TAB>Заказ A-1001 ждёт вас …
//! ```
//!
//! Each line is written with one `write` call on a file opened for appending, so lines never
//! interleave; the outbox key in every line lets [`SmsFile::find_sent`] prove a message went out.

use super::{Outgoing, Receipt, Rendered, Transport};
use crate::domain::notification::Channel;
use crate::domain::outbox::{Failure, OutboxKey};
use async_trait::async_trait;
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

/// Appends SMS as lines to a file.
pub struct SmsFile {
    path: PathBuf,
    sender: String,
    lock: tokio::sync::Mutex<()>,
}

impl SmsFile {
    /// A transport appending to `path` (its folder is created if missing).
    pub fn new(path: PathBuf, sender: String) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(SmsFile {
            path,
            sender,
            lock: tokio::sync::Mutex::new(()),
        })
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r', '\t'], " ")
}

#[async_trait]
impl Transport for SmsFile {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn name(&self) -> &'static str {
        "file"
    }

    async fn send(&self, msg: &Outgoing) -> Result<Receipt, Failure> {
        let Rendered::Sms { text } = &msg.body else {
            return Err(Failure::Permanent("not an SMS body".into()));
        };
        let slug = msg.key.slug();
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\n",
            jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now()),
            one_line(&msg.recipient),
            self.sender,
            slug,
            one_line(text)
        );
        let _guard = self.lock.lock().await;
        let write = async {
            let mut f = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await?;
            f.write_all(line.as_bytes()).await?;
            f.sync_data().await
        };
        write.await.map_err(|e| {
            Failure::Transient(format!("cannot write {}: {e}", self.path.display()))
        })?;
        Ok(Receipt {
            provider_id: Some(slug),
        })
    }

    async fn find_sent(&self, key: &OutboxKey) -> Option<Receipt> {
        let slug = key.slug();
        let text = tokio::fs::read_to_string(&self.path).await.ok()?;
        text.lines()
            .any(|l| l.split('\t').nth(3) == Some(slug.as_str()))
            .then_some(Receipt {
                provider_id: Some(slug),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notification::NotificationKind;

    #[tokio::test]
    async fn lines_carry_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let t = SmsFile::new(dir.path().join("sub/sms.log"), "parceld".into()).unwrap();
        let key = OutboxKey {
            shop: "acme".into(),
            track: "T".into(),
            parcel_id: 1,
            kind: NotificationKind::Arrived,
            occurrence: 1,
            channel: Channel::Sms,
        };
        let msg = Outgoing {
            key: key.clone(),
            recipient: "+79123456789".into(),
            shop_name: "Acme".into(),
            reply_to: None,
            body: Rendered::Sms {
                text: "Заказ\nждёт".into(),
            },
            unsubscribe_url: None,
        };
        assert!(t.find_sent(&key).await.is_none());
        t.send(&msg).await.unwrap();
        assert!(t.find_sent(&key).await.is_some());
        let text = std::fs::read_to_string(dir.path().join("sub/sms.log")).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("+79123456789\tparceld\tacme-T-1-arrived-1-sms\tЗаказ ждёт"));
    }
}
