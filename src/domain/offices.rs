//! The post office directory: street address, opening hours and phone of each office by its
//! postal index, for the arrival message. Carriers report only the index and a short name
//! ("Новосибирск 630099"); customers need to know where to go and when.
//!
//! The directory is loaded from a CSV file with a header row:
//!
//! ```text
//! index,address,hours,phone
//! 630099,"Новосибирск, ул. Советская, 33","пн–пт 08:00–20:00, сб 09:00–18:00",8 800 100-00-00
//! ```
//!
//! `index` (six digits) and `address` are required, `hours` and `phone` may be empty; columns
//! may come in any order and unknown columns are refused. The separator is a comma, or a
//! semicolon when the header uses one (as spreadsheets in a Russian locale write it); a UTF-8
//! byte-order mark is ignored. A file with any bad line is refused as a whole, with every bad
//! line named, so that a half-imported directory never happens.

use super::parcel::Office;
use serde::{Deserialize, Serialize};

/// One office of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeEntry {
    /// Postal index, six digits.
    pub index: String,
    /// Street address, e.g. "Новосибирск, ул. Советская, 33".
    pub address: String,
    /// Opening hours, as customers should read them.
    pub hours: Option<String>,
    /// The office's phone.
    pub phone: Option<String>,
}

impl OfficeEntry {
    /// Fills what the carrier did not say about `office` (address, hours, phone).
    pub fn complete(&self, office: &mut Office) {
        if office.address.is_none() {
            office.address = Some(self.address.clone());
        }
        if office.hours.is_none() {
            office.hours = self.hours.clone();
        }
        if office.phone.is_none() {
            office.phone = self.phone.clone();
        }
        if office.name.trim().is_empty() {
            office.name = self.index.clone();
        }
    }
}

/// One bad line of a directory file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvProblem {
    /// The line number, 1 for the header.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// Whether `s` is a Russian postal index.
pub fn is_index(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

const COLUMNS: [&str; 4] = ["index", "address", "hours", "phone"];

/// Parses a directory file. Returns the entries, or every problem found.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<OfficeEntry>, Vec<CsvProblem>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b';') && !first_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let problem = |line: u64, message: String| CsvProblem { line, message };

    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![problem(1, format!("cannot read the header: {e}"))]),
    };
    let mut pos = [None; 4];
    let mut problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        match COLUMNS.iter().position(|c| *c == name) {
            Some(c) if pos[c].is_none() => pos[c] = Some(i),
            Some(_) => problems.push(problem(1, format!("column {name:?} appears twice"))),
            None => problems.push(problem(
                1,
                format!("unknown column {name:?}; expected index, address, hours, phone"),
            )),
        }
    }
    for (c, p) in COLUMNS.iter().zip(pos).take(2) {
        if p.is_none() {
            problems.push(problem(1, format!("the header has no {c:?} column")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut entries = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(problem(line, e.to_string()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |c: usize| {
            pos[c]
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let index = field(0).unwrap_or_default();
        if !is_index(&index) {
            problems.push(problem(
                line,
                format!("index {index:?} is not a postal index of six digits"),
            ));
            continue;
        }
        let Some(address) = field(1) else {
            problems.push(problem(line, format!("office {index} has no address")));
            continue;
        };
        if let Some(first) = seen.insert(index.clone(), line) {
            problems.push(problem(
                line,
                format!("office {index} is listed again (first on line {first})"),
            ));
            continue;
        }
        entries.push(OfficeEntry {
            index,
            address,
            hours: field(2),
            phone: field(3),
        });
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_format() {
        let csv = "index,address,hours,phone\n\
                   630099,\"Новосибирск, ул. Советская, 33\",\"пн–пт 08:00–20:00\",8 800 100-00-00\n\
                   101000,\"Москва, ул. Мясницкая, 26\",,\n";
        let e = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].address, "Новосибирск, ул. Советская, 33");
        assert_eq!(e[0].phone.as_deref(), Some("8 800 100-00-00"));
        assert_eq!(e[1].hours, None);
    }

    #[test]
    fn semicolons_bom_and_any_column_order() {
        let csv = "\u{feff}Address;Index\nМосква, Мясницкая, 26;101000\n";
        let e = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(e[0].index, "101000");
        assert_eq!(e[0].address, "Москва, Мясницкая, 26");
    }

    #[test]
    fn every_bad_line_is_named() {
        let csv = "index,address,hours,phone\n63009,x,,\n630099,,,\n630100,a,,\n630100,b,,\n";
        let p = parse_csv(csv.as_bytes()).unwrap_err();
        let lines: Vec<u64> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 5], "{p:?}");
        assert!(p[2].message.contains("line 4"), "{}", p[2]);
        let p = parse_csv(b"idx,address\n").unwrap_err();
        assert!(p.iter().any(|p| p.message.contains("\"idx\"")), "{p:?}");
        assert!(p.iter().any(|p| p.message.contains("\"index\"")), "{p:?}");
    }

    #[test]
    fn completes_what_the_carrier_left_out() {
        let entry = OfficeEntry {
            index: "630099".into(),
            address: "ул. Советская, 33".into(),
            hours: Some("08-20".into()),
            phone: None,
        };
        let mut o = Office {
            index: Some("630099".into()),
            name: "Новосибирск 630099".into(),
            ..Office::default()
        };
        entry.complete(&mut o);
        assert_eq!(o.address.as_deref(), Some("ул. Советская, 33"));
        assert_eq!(o.hours.as_deref(), Some("08-20"));
        assert_eq!(o.name, "Новосибирск 630099", "the carrier's name stays");
    }
}
