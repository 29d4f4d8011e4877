//! Building a shop's report from the store and mailing it through the e-mail transport: once a
//! day at the shop's `report_at` (a marker in the store per shop and day, so a restart does not
//! send it twice; a file transport that already holds the day's message counts as sent), and on
//! demand.
//!
//! The message's key is deterministic per shop and day (`<shop>-report-<day>-…`), so sending
//! the same day's report again replaces the same `.eml` file rather than adding a second.

use super::html::{self, Rendered as Html};
use super::morning::{Builder, MorningReport};
use super::stats::{Collector, Period};
use super::workbook;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::notification::{Channel, NotificationKind};
use crate::domain::outbox::OutboxKey;
use crate::domain::shop::Shop;
use crate::domain::track::TrackNumber;
use crate::notify::{Attachment, Outgoing, Rendered, Transport};
use crate::store::{Store, StoreError, SyncStore};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;

/// The MIME type of the attachment.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Why a report could not be made or sent.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The workbook could not be written.
    #[error("cannot build the report workbook: {0}")]
    Workbook(String),
    /// Nowhere to send it.
    #[error("shop {0} has no report_email; set one with PATCH /v1/shops/{0}")]
    NoRecipient(String),
    /// E-mail is off.
    #[error("e-mail is disabled in the config ([email] enabled = false); reports cannot be sent")]
    NoMailer,
    /// The transport refused.
    #[error("the report could not be sent: {0}")]
    Send(String),
}

/// What a report needs.
#[derive(Clone)]
pub struct ReportContext {
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// Settings (rules, report period, send timeout).
    pub settings: Arc<Settings>,
    /// The e-mail transport, when e-mail is on.
    pub mailer: Option<Arc<dyn Transport>>,
}

/// A built report: content, e-mail text and workbook.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The content.
    pub report: MorningReport,
    /// Subject, text and HTML.
    pub rendered: Html,
    /// The workbook.
    pub xlsx: Vec<u8>,
    /// The workbook's file name.
    pub filename: String,
}

/// The shop's time zone (UTC if the name is unknown).
pub fn shop_tz(shop: &Shop) -> TimeZone {
    TimeZone::get(&shop.timezone).unwrap_or(TimeZone::UTC)
}

/// The shop's day at `now`, when its report time has come that day (`2026-11-25`).
pub fn due_day(now: Timestamp, tz: &TimeZone, report_at: jiff::civil::Time) -> Option<String> {
    let local = now.to_zoned(tz.clone());
    (local.time() >= report_at).then(|| local.date().to_string())
}

/// Builds the report of `shop` at `now`: scans the shop's parcels and builds the workbook, one
/// step on one blocking thread (run it through [`Store::in_one_step`]).
pub(crate) fn prepare(
    store: &SyncStore,
    settings: &Settings,
    shop: &Shop,
    now: Timestamp,
) -> Result<Prepared, ReportError> {
    let days = settings.reports.compare_days;
    let since = now
        .checked_sub(SignedDuration::from_hours(24))
        .unwrap_or(now);
    let period = Period {
        from: now
            .checked_sub(SignedDuration::from_hours(24 * i64::from(days)))
            .unwrap_or(Timestamp::MIN),
        to: now,
    };
    let mut stats = Collector::new(period);
    let mut b = Builder::new(shop, now, since, &settings.rules, days);
    b.stalled_carriers(store.stalled_carriers()?);
    store.for_each_parcel(Some(&shop.id), |p| {
        stats.parcel(&p);
        b.parcel(&p);
        true
    })?;
    let s = stats.finish();
    b.return_rates(s.return_rate(), s.previous_return_rate());
    let mut report = b.finish();
    report.webhooks = super::webhooks::notes(
        shop.id.as_str(),
        &store.hook_troubles(shop.id.as_str())?,
        &shop_tz(shop),
    );
    let rendered = html::render(&report);
    let xlsx = workbook::build(&report).map_err(|e| ReportError::Workbook(e.to_string()))?;
    let day = now.to_zoned(shop_tz(shop)).date();
    Ok(Prepared {
        filename: format!("parceld-{}-{day}.xlsx", shop.id),
        report,
        rendered,
        xlsx,
    })
}

/// The message key of a report: per shop and day for the daily one, per minute on demand.
pub fn key(shop: &Shop, label: &str) -> OutboxKey {
    OutboxKey {
        shop: shop.id.clone(),
        // Not a parcel's: a stand-in that names the report.
        track: TrackNumber::from_trusted(format!("report-{label}")),
        parcel_id: 0,
        kind: NotificationKind::ShopReport,
        occurrence: 1,
        channel: Channel::Email,
    }
}

/// An outbox entry standing for a report, so the e-mail transport can be asked whether the
/// report went out (reports are not outbox messages; only the key and recipient matter).
fn lookup_entry(
    shop: &Shop,
    key: &OutboxKey,
    to: &str,
    now: jiff::Timestamp,
) -> crate::domain::outbox::OutboxEntry {
    use crate::domain::outbox::{MessageFacts, OutboxEntry};
    let facts = MessageFacts::minimal(
        &shop.name,
        shop.language,
        key.track.as_str(),
        &shop.timezone,
    );
    OutboxEntry::new(key.clone(), to.to_string(), facts, now, now)
}

/// The e-mail for a prepared report.
pub fn outgoing(shop: &Shop, p: &Prepared, to: &str, key: OutboxKey) -> Outgoing {
    Outgoing {
        key,
        recipient: to.to_string(),
        shop_name: format!("parceld · {}", shop.name),
        reply_to: None,
        gateway: None,
        sender: None,
        body: Rendered::Email {
            subject: p.rendered.subject.clone(),
            text: p.rendered.text.clone(),
            html: p.rendered.html.clone(),
            attachments: vec![Attachment {
                filename: p.filename.clone(),
                content_type: XLSX_TYPE.into(),
                bytes: p.xlsx.clone(),
            }],
        },
        unsubscribe_url: None,
    }
}

impl ReportContext {
    /// Builds the report of `shop` at `now` on a blocking thread.
    async fn prepare(&self, shop: &Shop, now: Timestamp) -> Result<Prepared, ReportError> {
        let (settings, shop) = (self.settings.clone(), shop.clone());
        self.store
            .in_one_step(move |s| prepare(s, &settings, &shop, now))
            .await
    }

    async fn deliver(&self, msg: &Outgoing) -> Result<(), ReportError> {
        let mailer = self.mailer.as_ref().ok_or(ReportError::NoMailer)?;
        let limit = self.settings.notify.send_timeout;
        match tokio::time::timeout(limit, mailer.send(msg)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(f)) => Err(ReportError::Send(format!("{f:?}"))),
            Err(_) => Err(ReportError::Send(format!(
                "no answer within {}",
                humantime::format_duration(limit)
            ))),
        }
    }

    /// Builds the report of `shop` now and, unless `dry_run`, mails it to `to` (or the shop's
    /// report address). Returns the report and the recipient.
    pub async fn on_demand(
        &self,
        shop: Shop,
        to: Option<String>,
        dry_run: bool,
    ) -> Result<(Prepared, Option<String>), ReportError> {
        let now = self.clock.now();
        let recipient = to.or_else(|| shop.report_email.as_ref().map(|e| e.as_str().to_string()));
        if !dry_run && recipient.is_none() {
            return Err(ReportError::NoRecipient(shop.id.as_str().to_string()));
        }
        let prepared = self.prepare(&shop, now).await?;
        if dry_run {
            return Ok((prepared, None));
        }
        let to = recipient.unwrap_or_default();
        let label = now
            .to_zoned(shop_tz(&shop))
            .strftime("%Y-%m-%d-%H%M%S")
            .to_string();
        self.deliver(&outgoing(&shop, &prepared, &to, key(&shop, &label)))
            .await?;
        metrics::counter!("parceld_reports_total", "kind" => "on_demand").increment(1);
        tracing::info!(shop = %shop.id, stuck = prepared.report.stuck.len(), "Report sent on demand");
        Ok((prepared, Some(to)))
    }

    /// Sends the daily report of every shop whose report time has come today and whose report
    /// of today has not gone out. Returns how many went.
    pub async fn send_due(&self) -> Result<usize, ReportError> {
        let shops = self.store.shops().await?;
        let now = self.clock.now();
        let mut sent = 0;
        for shop in shops {
            let Some(to) = shop.report_email.as_ref().map(|e| e.as_str().to_string()) else {
                continue;
            };
            let at = shop.report_at.unwrap_or(self.settings.reports.report_at);
            let Some(day) = due_day(now, &shop_tz(&shop), at) else {
                continue;
            };
            if self.store.report_sent(&shop.id, &day).await?.is_some() {
                continue;
            }
            let k = key(&shop, &day);
            // Sent before a crash that came before the marker: the transport shows it.
            let already = match &self.mailer {
                Some(m) => matches!(
                    m.find_sent(&lookup_entry(&shop, &k, &to, now)).await,
                    crate::notify::Lookup::Sent(_)
                ),
                None => return Err(ReportError::NoMailer),
            };
            if !already {
                let prepared = self.prepare(&shop, now).await?;
                if let Err(e) = self.deliver(&outgoing(&shop, &prepared, &to, k)).await {
                    tracing::warn!(shop = %shop.id, error = %e, "Daily report not sent; will try again");
                    metrics::counter!("parceld_reports_total", "kind" => "failed").increment(1);
                    continue;
                }
                sent += 1;
                metrics::counter!("parceld_reports_total", "kind" => "daily").increment(1);
                tracing::info!(shop = %shop.id, day = %day, stuck = prepared.report.stuck.len(), "Daily report sent");
            }
            self.store.mark_report_sent(&shop.id, &day, now).await?;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_due_from_its_time_in_the_shops_zone() {
        let moscow = TimeZone::get("Europe/Moscow").unwrap();
        let eight = jiff::civil::time(8, 0, 0, 0);
        // 04:59 UTC is 07:59 in Moscow.
        let t: Timestamp = "2026-11-25T04:59:00Z".parse().unwrap();
        assert_eq!(due_day(t, &moscow, eight), None);
        let t: Timestamp = "2026-11-25T05:00:00Z".parse().unwrap();
        assert_eq!(due_day(t, &moscow, eight).as_deref(), Some("2026-11-25"));
        let vladivostok = TimeZone::get("Asia/Vladivostok").unwrap();
        // 22:00 UTC on the 24th is 08:00 on the 25th in Vladivostok.
        let t: Timestamp = "2026-11-24T22:00:00Z".parse().unwrap();
        assert_eq!(
            due_day(t, &vladivostok, eight).as_deref(),
            Some("2026-11-25")
        );
    }
}
