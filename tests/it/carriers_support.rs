//! Helpers of the real-carrier tests: polling everything, reading a carrier's health, parcels
//! with or without cash on delivery.

use crate::harness::{Daemon, parcel, wait_for};
use parceld::api::dto::{CarrierHealthView, Field, ParcelIn, ParcelView, PollRequest};
use parceld::carriers::poll::PollSummary;
use std::time::Duration;

/// Polls every live parcel now and waits for the answer.
pub async fn poll_all(d: &Daemon) -> PollSummary {
    d.socket
        .poll(&PollRequest {
            shop: None,
            all: true,
        })
        .await
        .expect("poll")
}

/// A parcel without cash on delivery.
pub fn prepaid(track: &str, order: &str) -> ParcelIn {
    ParcelIn {
        cod_amount: Field::Absent,
        ..parcel(track, order)
    }
}

/// A carrier's health.
pub async fn carrier_health(d: &Daemon, carrier: &str) -> CarrierHealthView {
    d.socket.health().await.expect("health").carriers[carrier].clone()
}

/// A parcel as the API shows it.
pub async fn show(d: &Daemon, track: &str) -> ParcelView {
    d.socket.parcel("acme", track).await.expect("parcel")
}

/// Waits until a parcel has `status`.
pub async fn wait_status(d: &Daemon, track: &str, status: &str) -> ParcelView {
    let what = format!("{track} to be {status}");
    wait_for(Duration::from_secs(30), &what, async || {
        let p = d.socket.parcel("acme", track).await.ok()?;
        (p.status == status).then_some(p)
    })
    .await
}

/// A polling window that is closed now and for the next three hours (Moscow time, the test
/// daemon's zone): the scheduler leaves the carrier alone and only `POST /v1/poll` asks it.
pub fn closed_window() -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Moscow").expect("zone");
    let now = jiff::Timestamp::now().to_zoned(tz);
    let from = &now + jiff::SignedDuration::from_hours(3);
    let to = &now + jiff::SignedDuration::from_hours(4);
    format!("\"{}-{}\"", from.strftime("%H:%M"), to.strftime("%H:%M"))
}
