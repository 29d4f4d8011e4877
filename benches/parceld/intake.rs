//! Intake: parcels per second through the control socket (bulk JSON requests), against raw sled
//! inserts of the same encoded parcel records in the same run (the baseline: what the storage
//! engine alone can do). Checkpoints record memory and disk use per parcel as the store grows.

use crate::daemon::Daemon;
use parceld::api::dto::{CustomerIn, ParcelIn};
use parceld::domain::intake::{ParcelDraft, Upsert, upsert, validate};
use parceld::domain::shop::ShopId;
use std::time::{Duration, Instant};

/// A parcel as a shop would hand it over; `i` makes it unique.
pub fn parcel(i: usize) -> ParcelIn {
    ParcelIn {
        track: format!("SANDBOX-ARRIVED-{i}"),
        order_id: Some(format!("B-{}", i / 2)),
        customer: Some(CustomerIn {
            name: Some("Иванов Иван Иванович".into()),
            phone: Some(format!(
                "+7 912 {:03}-{:02}-{:02}",
                i % 1000,
                (i / 1000) % 100,
                (i / 100_000) % 100
            )),
            email: Some(format!("customer{i}@example.ru")),
        }),
        cod_amount: Some(format!("{}.00", 500 + i % 5000)),
        contents: Some("Книга, 2 шт.".into()),
        carrier: None,
    }
}

/// One measurement point during intake.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Checkpoint {
    /// Parcels stored so far.
    pub parcels: usize,
    /// Parcels per second over the last stretch.
    pub rate: f64,
    /// Resident memory now, bytes.
    pub rss: u64,
    /// State directory on disk, bytes.
    pub disk: u64,
}

/// The result of the intake benchmark.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntakeResult {
    /// Parcels handed over.
    pub parcels: usize,
    /// Parcels per request.
    pub batch: usize,
    /// Through the daemon, parcels per second.
    pub daemon_rate: f64,
    /// Raw sled inserts of the same records, per second.
    pub sled_rate: f64,
    /// Checkpoints.
    pub checkpoints: Vec<Checkpoint>,
}

/// Hands `n` parcels to the daemon in requests of `batch`.
pub async fn through_daemon(
    d: &Daemon,
    n: usize,
    batch: usize,
    marks: &[usize],
) -> (Duration, Vec<Checkpoint>) {
    let mut checkpoints = Vec::new();
    let started = Instant::now();
    let mut last = (0usize, Instant::now());
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let items: Vec<ParcelIn> = (i..end).map(parcel).collect();
        let r = d.socket.add_parcels("bench", &items).await.expect("intake");
        assert_eq!(
            r.created,
            end - i,
            "every parcel is created: {:?}",
            r.results.iter().find(|x| !x.errors.is_empty())
        );
        i = end;
        if marks.iter().any(|&m| m > last.0 && m <= i) || i == n {
            let dt = last.1.elapsed().as_secs_f64();
            checkpoints.push(Checkpoint {
                parcels: i,
                rate: (i - last.0) as f64 / dt,
                rss: d.rss(),
                disk: d.disk_bytes(),
            });
            last = (i, Instant::now());
        }
    }
    (started.elapsed(), checkpoints)
}

/// Inserts the same parcel records straight into a sled tree (same cache size): the baseline.
pub fn raw_sled(dir: &std::path::Path, n: usize, cache_bytes: u64) -> Duration {
    let db = sled::Config::new()
        .path(dir)
        .cache_capacity(cache_bytes)
        .open()
        .expect("sled");
    let tree = db.open_tree("parcels").expect("tree");
    let shop = ShopId::from_trusted("bench");
    let now = jiff::Timestamp::now();
    // Validating and encoding are part of both paths, so the baseline does them too.
    let started = Instant::now();
    for i in 0..n {
        let p = parcel(i);
        let c = p.customer.clone().unwrap_or_default();
        let v = validate(&ParcelDraft {
            track: p.track,
            order_id: p.order_id,
            name: c.name,
            phone: c.phone,
            email: c.email,
            cod_amount: p.cod_amount,
            contents: p.contents,
            carrier: None,
        })
        .expect("valid");
        let Upsert::Created(parcel) = upsert(None, &v, &shop, i as u64, now, now) else {
            unreachable!()
        };
        let bytes = parceld::store::codec::encode(1, &parcel).expect("encode");
        let key = parceld::store::keys::parcel("bench", parcel.track.as_str());
        tree.insert(key, bytes).expect("insert");
    }
    db.flush().expect("flush");
    started.elapsed()
}
