//! The `file` SMS gateway: one line per message appended to a local file, for a machine
//! without an SMS provider:
//!
//! ```text
//! 2027-03-09T09:00:00Z<TAB>+79123456789<TAB>parceld<TAB>acme-…-arrived-1-sms<TAB>Заказ A-1001 ждёт вас …
//! ```
//!
//! Each line is written with one `write` call on a file opened for appending, so lines never
//! interleave; the outbox key in every line lets the gateway prove a message went out.

use super::{Accepted, SmsGateway, SmsMessage};
use crate::clock::Clock;
use crate::domain::outbox::{Failure, OutboxEntry};
use crate::notify::Lookup;
use async_trait::async_trait;
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

/// Appends SMS as lines to a file.
pub struct SmsFile {
    path: PathBuf,
    clock: Clock,
    lock: tokio::sync::Mutex<()>,
}

impl SmsFile {
    /// A gateway appending to `path` (its folder is created if missing), each line stamped
    /// with `clock`'s time.
    pub fn new(path: PathBuf, clock: Clock) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(SmsFile {
            path,
            clock,
            lock: tokio::sync::Mutex::new(()),
        })
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r', '\t'], " ")
}

#[async_trait]
impl SmsGateway for SmsFile {
    fn name(&self) -> &'static str {
        "file"
    }

    async fn send(&self, msg: &SmsMessage<'_>) -> Result<Accepted, Failure> {
        let slug = msg.key.slug();
        let now = self.clock.now();
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\n",
            now.round(jiff::Unit::Second).unwrap_or(now),
            one_line(msg.phone),
            one_line(msg.sender),
            slug,
            one_line(msg.text)
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
        Ok(Accepted {
            id: Some(slug),
            segments: None,
        })
    }

    async fn find(&self, entry: &OutboxEntry) -> Lookup {
        let slug = entry.key.slug();
        let text = match tokio::fs::read_to_string(&self.path).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::NotSent,
            Err(_) => return Lookup::Unknown,
        };
        if text
            .lines()
            .any(|l| l.split('\t').nth(3) == Some(slug.as_str()))
        {
            Lookup::Sent(crate::notify::Receipt {
                provider_id: Some(slug),
                provider: Some("file".into()),
                ..Default::default()
            })
        } else {
            Lookup::NotSent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notification::{Channel, NotificationKind};
    use crate::domain::outbox::OutboxKey;

    #[tokio::test]
    async fn lines_carry_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let t = SmsFile::new(dir.path().join("sub/sms.log"), Clock::system()).unwrap();
        let key = OutboxKey {
            shop: crate::domain::shop::ShopId::from_trusted("acme"),
            track: crate::domain::track::TrackNumber::from_trusted("T"),
            parcel_id: 1,
            kind: NotificationKind::Arrived,
            occurrence: 1,
            channel: Channel::Sms,
        };
        let entry = super::super::tests_support::entry_for(&key, "+79123456789");
        assert_eq!(t.find(&entry).await, Lookup::NotSent);
        t.send(&SmsMessage {
            key: &key,
            phone: "+79123456789",
            text: "Заказ\nждёт",
            sender: "parceld",
        })
        .await
        .unwrap();
        assert!(matches!(t.find(&entry).await, Lookup::Sent(_)));
        let text = std::fs::read_to_string(dir.path().join("sub/sms.log")).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("+79123456789\tparceld\tacme-T-1-arrived-1-sms\tЗаказ ждёт"));
    }
}
