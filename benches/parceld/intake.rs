//! Intake: parcels per second through the control socket, as bulk JSON requests and as CSV
//! files, against raw sled inserts of the same encoded parcel records in the same run (the
//! baseline: what the storage engine alone can do). Checkpoints record memory and disk use per
//! parcel as the store grows.

use crate::daemon::Daemon;
use crate::fake_post;
use parceld::api::dto::{CustomerIn, Field, ParcelIn};
use parceld::domain::intake::{ParcelDraft, Patch, Upsert, upsert, validate};
use parceld::domain::shop::ShopId;
use std::time::{Duration, Instant};

/// The shop every benchmark hands parcels to.
pub const SHOP: &str = "bench";

fn customer(i: usize) -> CustomerIn {
    CustomerIn {
        name: "Иванов Иван Иванович".into(),
        phone: format!(
            "+7 912 {:03}-{:02}-{:02}",
            i % 1000,
            (i / 1000) % 100,
            (i / 100_000) % 100
        )
        .into(),
        email: format!("customer{i}@example.ru").into(),
    }
}

/// A Russian Post parcel as a shop would hand it over; `i` makes it unique. Two parcels share
/// each order number.
pub fn parcel(i: usize) -> ParcelIn {
    ParcelIn {
        track: fake_post::track(i),
        order_id: format!("B-{}", i / 2).into(),
        customer: customer(i).into(),
        cod_amount: format!("{}.00", 500 + i % 5000).into(),
        contents: "Книга, 2 шт.".into(),
        carrier: None,
        storage_days: Field::Absent,
    }
}

/// Parcels `from..to` as a CSV file the way Russian Excel saves it (`;`, decimal comma),
/// with the template's header.
pub fn csv(from: usize, to: usize) -> Vec<u8> {
    let mut out = String::with_capacity((to - from) * 130 + 200);
    out.push_str("Трек (track);Заказ (order);ФИО (name);Телефон (phone);E-mail;Сумма (amount);Состав (contents)\r\n");
    for i in from..to {
        let p = parcel(i);
        let c = p.customer.into_option().unwrap_or_default();
        out.push_str(&format!(
            "{};{};{};{};{};{},00;\"{}\"\r\n",
            p.track,
            p.order_id.into_option().unwrap_or_default(),
            c.name.into_option().unwrap_or_default(),
            c.phone.into_option().unwrap_or_default(),
            c.email.into_option().unwrap_or_default(),
            500 + i % 5000,
            p.contents.into_option().unwrap_or_default()
        ));
    }
    out.into_bytes()
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
    /// Peak resident memory so far, bytes.
    pub peak_rss: u64,
    /// State directory on disk, bytes.
    pub disk: u64,
}

/// How parcels are handed over.
#[derive(Debug, Clone, Copy)]
pub enum Via {
    /// JSON arrays of this many parcels.
    Json(usize),
    /// CSV files of this many rows.
    Csv(usize),
}

/// Hands `n` parcels made by `make` to the daemon, taking checkpoints at `marks`. Returns the
/// time it took and the checkpoints.
pub async fn through_daemon(
    d: &Daemon,
    n: usize,
    via: Via,
    make: fn(usize) -> ParcelIn,
    marks: &[usize],
) -> (Duration, Vec<Checkpoint>) {
    let mut checkpoints = Vec::new();
    let started = Instant::now();
    let mut last = (0usize, Instant::now());
    let mut i = 0;
    while i < n {
        let (end, created) = match via {
            Via::Json(batch) => {
                let end = (i + batch).min(n);
                let items: Vec<ParcelIn> = (i..end).map(make).collect();
                let r = d.socket.add_parcels(SHOP, &items).await.expect("intake");
                if r.created != end - i {
                    panic!(
                        "not every parcel was created: {:?}",
                        r.results.iter().find(|x| !x.errors.is_empty())
                    );
                }
                (end, r.created)
            }
            Via::Csv(rows) => {
                let end = (i + rows).min(n);
                let file = csv(i, end);
                let r = d
                    .socket
                    .import_file(SHOP, file, "text/csv")
                    .await
                    .expect("import");
                if r.created != end - i {
                    panic!(
                        "not every row was created: {:?}",
                        r.results.iter().find(|x| !x.errors.is_empty())
                    );
                }
                (end, r.created)
            }
        };
        debug_assert_eq!(created, end - i);
        i = end;
        if marks.iter().any(|&m| m > last.0 && m <= i) || i == n {
            let dt = last.1.elapsed().as_secs_f64();
            checkpoints.push(Checkpoint {
                parcels: i,
                rate: (i - last.0) as f64 / dt,
                rss: d.rss(),
                peak_rss: d.peak_rss(),
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
    let shop = ShopId::from_trusted(SHOP);
    let now = jiff::Timestamp::now();
    // Validating and encoding are part of both paths, so the baseline does them too.
    let started = Instant::now();
    for i in 0..n {
        let p = parcel(i);
        let c = p.customer.clone().into_option().unwrap_or_default();
        let v = validate(&ParcelDraft {
            track: p.track,
            order_id: p.order_id.into(),
            name: c.name.into(),
            phone: c.phone.into(),
            email: c.email.into(),
            cod_amount: p.cod_amount.into(),
            contents: p.contents.into(),
            carrier: None,
            storage_days: Patch::Keep,
        })
        .expect("valid");
        let Upsert::Created(parcel) = upsert(None, &v, &shop, i as u64, now, now) else {
            unreachable!()
        };
        let bytes = parceld::store::codec::encode(1, &parcel).expect("encode");
        let key = parceld::store::keys::parcel(SHOP, parcel.track.as_str());
        tree.insert(key, bytes).expect("insert");
    }
    db.flush().expect("flush");
    started.elapsed()
}
