//! Output helpers: aligned tables, optional values, times and JSON.

use parceld::api::dto::{IntakeResponse, ParcelView};

/// Prints rows as aligned columns.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c}{}", " ".repeat(widths[i] - c.chars().count())))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    for r in rows {
        line(r);
    }
}

pub fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "-".into())
}

pub fn ts(t: &Option<jiff::Timestamp>) -> String {
    t.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// A time in the office's zone as the daemon names it (`2027-01-06 01:06 Asia/Novosibirsk`),
/// as the customer's messages give it; UTC where the office has no known zone.
pub fn office_time(zone: Option<&str>, t: jiff::Timestamp) -> String {
    let zone = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok().map(|tz| (z, tz)));
    match zone {
        Some((name, tz)) => format!("{} {name}", t.to_zoned(tz).strftime("%Y-%m-%d %H:%M")),
        None => format!("{} UTC", t.strftime("%Y-%m-%d %H:%M")),
    }
}

pub fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub fn parcel_rows(parcels: &[ParcelView]) -> Vec<Vec<String>> {
    parcels
        .iter()
        .map(|p| {
            vec![
                p.track.clone(),
                opt(&p.order_id),
                format!("{}{}", p.status, if p.stuck { " (stuck)" } else { "" }),
                p.customer.name.clone(),
                opt(&p.customer.phone),
                p.cod_amount.clone(),
                ts(&p.last_event_at),
            ]
        })
        .collect()
}

pub const PARCEL_HEADER: [&str; 7] = [
    "TRACK",
    "ORDER",
    "STATUS",
    "CUSTOMER",
    "PHONE",
    "COD",
    "LAST EVENT",
];

pub fn print_intake(r: &IntakeResponse) {
    println!(
        "created {}, updated {}, already present {}, rejected {}",
        r.created, r.updated, r.unchanged, r.rejected
    );
    for item in &r.results {
        for e in &item.errors {
            println!(
                "  #{} {}: {}: {}",
                item.index,
                item.track.as_deref().unwrap_or("-"),
                e.field,
                e.message
            );
        }
        for w in &item.warnings {
            println!(
                "  #{} {}: warning: {w}",
                item.index,
                item.track.as_deref().unwrap_or("-")
            );
        }
        if !item.changed.is_empty() {
            println!(
                "  #{} {}: changed: {}",
                item.index,
                item.track.as_deref().unwrap_or("-"),
                item.changed.join(", ")
            );
        }
    }
}
