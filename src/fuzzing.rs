//! Entry points for fuzzing: each takes arbitrary bytes, runs them through one of the parsers
//! that read what comes from outside (track numbers, CSV and XLSX files, Russian Post's SOAP
//! answers, 17TRACK's JSON answers and pushes, the API's JSON intake) the way the daemon does,
//! and checks what must hold whatever the input: nothing panics, and every refusal names the
//! field it is about.
//!
//! The cargo-fuzz targets in `fuzz/` call these; the seeded random-input tests below run them
//! in `cargo test` too, over mutations of the checked-in corpus (`fuzz/corpus/<target>/`).

use crate::carriers::http::Answer;
use crate::carriers::{russian_post, track17};
use crate::domain::{intake, track};
use crate::import::{self, Format};

/// Rows the importers are allowed per input: enough to reach every code path.
const MAX_ROWS: usize = 200;

/// Checks that a refusal names its field and says why.
fn named(errors: &[intake::FieldError]) {
    for e in errors {
        assert!(!e.field.is_empty(), "a refusal without a field: {e:?}");
        assert!(!e.message.is_empty(), "a refusal without a reason: {e:?}");
    }
}

/// A track number as a shop types it: a number that parses is normalised for good (parsing
/// it again gives the same).
pub fn track_number(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = track::parse(&text) {
        let again = track::parse(p.number.as_str());
        assert_eq!(
            again.as_ref().map(|a| &a.number),
            Ok(&p.number),
            "{text:?} normalises to {:?}, which does not parse the same",
            p.number
        );
    }
}

fn rows(table: &import::Table) {
    for row in &table.rows {
        match &row.draft {
            Ok(d) => {
                if let Err(errors) = intake::validate(d) {
                    named(&errors);
                }
            }
            Err(errors) => named(errors),
        }
    }
}

/// A parcel table uploaded as CSV.
pub fn csv_import(data: &[u8]) {
    if let Ok(table) = import::parse(data, Format::Csv, MAX_ROWS) {
        rows(&table);
    }
}

/// A parcel table uploaded as XLSX (or anything sniffed as a zip archive).
pub fn xlsx_import(data: &[u8]) {
    if let Ok(format) = import::sniff(data, None)
        && let Ok(table) = import::parse(data, format, MAX_ROWS)
    {
        rows(&table);
    }
}

/// An answer of Russian Post's tracking service, single access (history and cash-on-delivery
/// events) and batch access (tickets and answers).
pub fn russian_post(data: &[u8]) {
    let body = String::from_utf8_lossy(data).into_owned();
    for status in [200, 500] {
        let a = Answer {
            status,
            body: body.clone(),
            retry_after: None,
        };
        let _ = russian_post::read_history("10100012000016", &a);
    }
    let _ = russian_post::wire::parse_cod(&body);
    let _ = russian_post::batch::parse_ticket(&body);
    let _ = russian_post::batch::parse_answer(&body);
}

/// An answer of 17TRACK's API (the first byte picks the HTTP status) and a signed push.
pub fn track17(data: &[u8]) {
    let (status, body) = match data.split_first() {
        Some((b, rest)) => ([200, 401, 429, 500][usize::from(*b % 4)], rest),
        None => (200, data),
    };
    let text = String::from_utf8_lossy(body);
    if let Ok(d) = track17::wire::envelope(status, &text) {
        for a in &d.accepted {
            if let Some(info) = &a.track_info {
                let _ = track17::wire::report(info, true);
                let _ = track17::wire::finished(info);
            }
        }
    }
    let _ = track17::wire::verify(body, "key", &text);
    if let Ok(push) = serde_json::from_slice::<track17::wire::Push>(body)
        && let Some(info) = &push.data.track_info
    {
        let _ = track17::wire::report(info, false);
    }
}

/// The body of `POST /v1/shops/{shop}/parcels`, read as the API reads it: every item is
/// accepted or refused with the fields at fault named.
pub fn parcel_json(data: &[u8]) {
    let value: serde_json::Value = match crate::api::parse_json(data) {
        Ok(v) => v,
        Err(e) => {
            assert!(!e.message.is_empty());
            return;
        }
    };
    let items = match value {
        serde_json::Value::Array(a) => a,
        v => vec![v],
    };
    for item in items {
        match crate::api::parcels::draft(item) {
            Ok(d) => {
                if let Err(errors) = intake::validate(&d) {
                    named(&errors);
                }
            }
            Err(e) => named(&[e]),
        }
    }
}

/// A fuzz target: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/` and `fuzz/corpus/` name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("track_number", track_number),
    ("csv_import", csv_import),
    ("xlsx_import", xlsx_import),
    ("russian_post", russian_post),
    ("track17", track17),
    ("parcel_json", parcel_json),
];

#[cfg(test)]
mod tests;
