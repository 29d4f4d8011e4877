//! The recipient's time zone from a Russian postal index.
//!
//! Russia spans eleven time zones, and a customer collects a parcel near home, so the pickup
//! office's index is a good guess of where the customer lives. The first three digits of an
//! index name the region; `postal_zones.tsv` (compiled in) maps ranges of them to IANA zones.
//! Customer messages wait for the send window in that zone.

/// The table, compiled in.
const TABLE: &str = include_str!("postal_zones.tsv");

/// The zone of indexes that fall in no range: the European part runs on Moscow time.
pub const DEFAULT_ZONE: &str = "Europe/Moscow";

/// One line of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    first: u16,
    last: u16,
    zone: &'static str,
}

fn ranges() -> impl Iterator<Item = Range> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Range {
                first: f.next()?.parse().ok()?,
                last: f.next()?.parse().ok()?,
                zone: f.next()?,
            })
        })
}

/// The IANA zone of a Russian postal index (six digits), or `None` if the text is not one.
pub fn zone_of_index(index: &str) -> Option<&'static str> {
    let index = index.trim();
    if index.len() != 6 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u16 = index.get(..3)?.parse().ok()?;
    if prefix < 100 {
        return None;
    }
    Some(
        ranges()
            .find(|r| (r.first..=r.last).contains(&prefix))
            .map_or(DEFAULT_ZONE, |r| r.zone),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_well_formed() {
        let data_lines = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        let rs: Vec<Range> = ranges().collect();
        assert_eq!(rs.len(), data_lines, "every line parses");
        for r in &rs {
            assert!(
                r.first <= r.last && r.first >= 100 && r.last <= 999,
                "{r:?}"
            );
            assert!(
                jiff::tz::TimeZone::get(r.zone).is_ok(),
                "{} is not a known zone",
                r.zone
            );
        }
        for (i, a) in rs.iter().enumerate() {
            for b in &rs[i + 1..] {
                assert!(a.last < b.first || b.last < a.first, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn known_indexes() {
        for (index, zone) in [
            ("101000", "Europe/Moscow"),
            ("190000", "Europe/Moscow"),
            ("236000", "Europe/Kaliningrad"),
            ("443001", "Europe/Samara"),
            ("620014", "Asia/Yekaterinburg"),
            ("630099", "Asia/Novosibirsk"),
            ("644000", "Asia/Omsk"),
            ("660049", "Asia/Krasnoyarsk"),
            ("664003", "Asia/Irkutsk"),
            ("680000", "Asia/Vladivostok"),
            ("683000", "Asia/Kamchatka"),
            ("690091", "Asia/Vladivostok"),
            ("693000", "Asia/Sakhalin"),
            ("350000", "Europe/Moscow"),
        ] {
            assert_eq!(zone_of_index(index), Some(zone), "{index}");
        }
    }

    #[test]
    fn non_indexes() {
        for bad in ["", "63009", "6300990", "63OO99", "012345", "Москва"] {
            assert_eq!(zone_of_index(bad), None, "{bad}");
        }
    }
}
