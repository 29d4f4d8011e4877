//! Helpers for the notification tests: parcels with their own contacts, polling, waiting for the
//! outbox to drain, send windows relative to the current time, and reading a parcel's
//! notifications.

use crate::harness::{Daemon, wait_for};
use parceld::api::dto::{CustomerIn, Field, NotificationView, ParcelIn, PollRequest};
use std::time::Duration;

/// A parcel whose customer has this phone and e-mail.
pub fn parcel_to(track: &str, order: &str, phone: &str, email: Option<&str>) -> ParcelIn {
    ParcelIn {
        track: track.into(),
        order_id: order.into(),
        customer: CustomerIn {
            name: "Петрова Мария".into(),
            phone: phone.into(),
            email: email.map(str::to_string).into(),
        }
        .into(),
        cod_amount: "990.00".into(),
        contents: "Кружка".into(),
        carrier: None,
        storage_days: Field::Absent,
    }
}

/// Polls every live parcel once.
pub async fn poll_all(d: &Daemon) {
    let _ = d
        .socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await;
}

/// Waits until no message is pending or in hand on any channel.
pub async fn wait_idle(d: &Daemon, timeout: Duration) {
    wait_for(timeout, "the outbox to drain", async || {
        let h = d.socket.health().await.ok()?;
        h.channels
            .values()
            .all(|c| c.pending == 0 && c.sending == 0)
            .then_some(())
    })
    .await
}

/// One notification of a parcel, by kind and channel (`arrived`, `sms`).
pub async fn notification(
    d: &Daemon,
    shop: &str,
    track: &str,
    kind: &str,
    channel: &str,
) -> Option<NotificationView> {
    d.socket
        .parcel(shop, track)
        .await
        .ok()?
        .notifications
        .into_iter()
        .find(|n| n.kind == kind && n.channel == channel)
}

/// Waits until a parcel's notification reaches a state (`sent`, `dead`, …).
pub async fn wait_state(
    d: &Daemon,
    shop: &str,
    track: &str,
    kind: &str,
    channel: &str,
    state: &str,
) -> NotificationView {
    let what = format!("{track} {kind} {channel} to be {state}");
    wait_for(Duration::from_secs(30), &what, async || {
        notification(d, shop, track, kind, channel)
            .await
            .filter(|n| n.state == state)
    })
    .await
}

/// The current hour in a zone.
fn hour_in(zone: &str) -> i8 {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get(zone).expect("zone"))
        .hour()
}

/// A two-hour send window that starts `from_now` hours after the current hour in `zone`
/// (0: open now, with at least an hour to go).
pub fn window(zone: &str, from_now: i8) -> String {
    let start = (hour_in(zone) + from_now).rem_euclid(24);
    let end = (start + 2).rem_euclid(24);
    format!("\"{start:02}:00-{end:02}:00\"")
}

/// The daemon's metrics text.
pub async fn metrics(d: &Daemon) -> String {
    d.socket.metrics().await.unwrap_or_default()
}
