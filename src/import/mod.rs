//! Parcel tables uploaded as files: CSV (UTF-8 or Windows-1251, comma, semicolon or tab, as
//! Russian Excel saves it) and XLSX. Plain functions over bytes, no I/O.
//!
//! Both formats become a grid of cells with the row numbers the user sees in Excel; the header
//! row is found among the first rows by its column names ([`columns`]), title rows and empty
//! rows are skipped, and every data row becomes a [`ParcelDraft`] for the same intake as the
//! JSON API. A file that cannot be read at all (truncated archive, binary junk, no header) is an
//! [`ImportError`] and nothing of it is stored.

pub mod columns;
pub mod csv;
pub mod template;
pub mod text;
pub mod xlsx;

use crate::domain::intake::{FieldError, ParcelDraft};
use columns::Field;

/// How many rows from the top may hold titles before the header.
const HEADER_SEARCH_ROWS: usize = 20;

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma/semicolon/tab separated text.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
}

/// A file that cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Nothing in it.
    #[error("the file is empty")]
    Empty,
    /// An XLSX that cannot be opened.
    #[error(
        "the file is not a readable XLSX workbook ({0}); save it again from Excel or upload a CSV"
    )]
    BadXlsx(String),
    /// The old binary Excel format.
    #[error("the file is in the old Excel 97-2003 (.xls) format; save it as .xlsx or CSV")]
    Xls,
    /// Neither text nor a workbook.
    #[error("the file is neither a CSV text nor an XLSX workbook (it has binary data at byte {0})")]
    Binary(usize),
    /// Text in an encoding that is not supported.
    #[error("{0}")]
    Encoding(String),
    /// The CSV cannot be parsed.
    #[error("the CSV cannot be read at row {row}: {message}")]
    Csv {
        /// The row.
        row: usize,
        /// Why.
        message: String,
    },
    /// No row names a track column.
    #[error(
        "no header row found: none of the first {HEADER_SEARCH_ROWS} rows has a column named \
         \"Трек\" or \"Track\" (the first row reads {first_row:?}){hint}; see the template at \
         GET /v1/import-template.xlsx"
    )]
    NoHeader {
        /// The first non-empty row, shortened.
        first_row: String,
        /// What may be wrong (the encoding, the separator).
        hint: String,
    },
    /// A workbook whose cells reach far beyond any parcel table.
    #[error(
        "cell {cell} lies far to the right of the table: a sheet of this import may hold at most \
         {max_cells} cells, {} columns a row on average; clear the cells beyond the table",
        xlsx::COLUMNS_PER_ROW
    )]
    TooWide {
        /// Where the limit was crossed, as Excel names the cell ("XFD7").
        cell: String,
        /// The limit.
        max_cells: usize,
    },
    /// A workbook that unpacks to far more than a parcel table does (a zip bomb).
    #[error(
        "the workbook unpacks to {mib} MiB, more than the {max_mib} MiB a parcel table unpacks \
         to; save it again from Excel or upload a CSV"
    )]
    Unpacks {
        /// What it would unpack to.
        mib: u64,
        /// The limit.
        max_mib: u64,
    },
    /// More data rows than allowed.
    #[error(
        "the file has more than {max} data rows (import.max_rows); split it into smaller files"
    )]
    TooManyRows {
        /// The limit.
        max: usize,
    },
}

/// One cell as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (everything in a CSV).
    Text(String),
    /// A number in a workbook.
    Number(f64),
    /// A cell that cannot be used: an Excel error value, a formula without a value.
    Bad(String),
}

impl Cell {
    fn is_blank(&self) -> bool {
        matches!(self, Cell::Text(s) if s.trim().is_empty())
    }

    /// The cell as text for `field`: numbers as Excel shows them (amounts with kopecks).
    fn text_for(&self, field: Field) -> Result<String, String> {
        match self {
            Cell::Text(s) => Ok(s.trim().to_string()),
            Cell::Bad(why) => Err(why.clone()),
            Cell::Number(n) if field == Field::Amount => Ok(format!("{n:.2}")),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(format!("{}", *n as i64)),
            Cell::Number(n) => Ok(n.to_string()),
        }
    }
}

/// A row as read: its number in the file (as Excel shows it) and its cells.
pub type GridRow = (usize, Vec<Cell>);

/// One data row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row number the user sees in Excel (1-based, counting the header and titles).
    pub number: usize,
    /// The parcel it describes, or the cells that could not be read.
    pub draft: Result<ParcelDraft, Vec<FieldError>>,
}

/// A parsed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// CSV or XLSX.
    pub format: Format,
    /// For CSV: the encoding and the separator found.
    pub detected: Option<String>,
    /// The columns used: field and header as written in the file.
    pub columns: Vec<(Field, String)>,
    /// Headers that name no known column (ignored).
    pub ignored: Vec<String>,
    /// Data rows, empty rows left out.
    pub rows: Vec<Row>,
}

impl Table {
    /// The header of the column a field came from, for error messages.
    pub fn column_of(&self, api_field: &str) -> Option<&str> {
        let f = Field::from_api_name(api_field)?;
        self.columns
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, h)| h.as_str())
    }
}

/// Decides the format from the first bytes (and the content type the client sent).
pub fn sniff(bytes: &[u8], content_type: Option<&str>) -> Result<Format, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ImportError::Xls);
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.contains("spreadsheetml") || ct.contains("ms-excel") {
        return Err(ImportError::BadXlsx("it is not a zip archive".into()));
    }
    Ok(Format::Csv)
}

/// Parses a file of a known format, allowing at most `max_rows` data rows.
pub fn parse(bytes: &[u8], format: Format, max_rows: usize) -> Result<Table, ImportError> {
    match format {
        Format::Csv => csv::parse(bytes, max_rows),
        Format::Xlsx => xlsx::parse(bytes, max_rows),
    }
}

/// Finds the header among the first rows and turns the rows under it into drafts.
pub fn table(
    format: Format,
    detected: Option<String>,
    grid: impl IntoIterator<Item = GridRow>,
    max_rows: usize,
    hint: &str,
) -> Result<Table, ImportError> {
    let mut grid = grid.into_iter();
    let mut seen: Vec<GridRow> = Vec::new();
    let mut header: Option<(usize, Vec<Option<Field>>)> = None;
    for row in grid.by_ref() {
        if row.1.iter().all(Cell::is_blank) {
            continue;
        }
        let fields: Vec<Option<Field>> = row
            .1
            .iter()
            .map(|c| match c {
                Cell::Text(s) => columns::field_of(s),
                _ => None,
            })
            .collect();
        seen.push(row);
        if fields.contains(&Some(Field::Track)) {
            header = Some((seen.len() - 1, fields));
            break;
        }
        if seen.len() >= HEADER_SEARCH_ROWS {
            break;
        }
    }
    let Some((at, fields)) = header else {
        let first_row = seen
            .first()
            .map(|(_, cells)| {
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Text(s) => s.trim().to_string(),
                        Cell::Number(n) => n.to_string(),
                        Cell::Bad(_) => "#".into(),
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
                    .chars()
                    .take(120)
                    .collect()
            })
            .unwrap_or_default();
        if seen.is_empty() {
            return Err(ImportError::Empty);
        }
        return Err(ImportError::NoHeader {
            first_row,
            hint: hint.to_string(),
        });
    };
    let mut header_cells = seen[at].1.clone();
    let mut fields = fields;
    let mut grid = grid.peekable();
    // A header over two rows ("Получатель" above "ФИО" and "Телефон"): the lower row names
    // the columns it has a name for.
    if let Some((_, next)) = grid.peek() {
        let sub: Vec<Option<Field>> = next
            .iter()
            .map(|c| match c {
                Cell::Text(s) => columns::field_of(s),
                _ => None,
            })
            .collect();
        // Every cell names a column, is empty, or repeats the cell above (a merged header).
        let all_names = next
            .iter()
            .zip(&sub)
            .enumerate()
            .all(|(i, (c, f))| c.is_blank() || f.is_some() || header_cells.get(i) == Some(c));
        if all_names && sub.iter().any(Option::is_some) {
            for (i, f) in sub.iter().enumerate() {
                if f.is_some() {
                    if i >= fields.len() {
                        fields.resize(i + 1, None);
                        header_cells.resize(i + 1, Cell::Text(String::new()));
                    }
                    fields[i] = *f;
                    header_cells[i] = next[i].clone();
                }
            }
            grid.next();
        }
    }
    let mut used: Vec<(usize, Field, String)> = Vec::new();
    let mut ignored = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let text = match &header_cells[i] {
            Cell::Text(s) => s.trim().to_string(),
            _ => String::new(),
        };
        match f {
            Some(f) if !used.iter().any(|(_, g, _)| g == f) => used.push((i, *f, text)),
            _ if !text.is_empty() && !used.iter().any(|(_, _, h)| *h == text) => ignored.push(text),
            _ => {}
        }
    }
    let mut rows = Vec::new();
    for (number, cells) in grid {
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        if rows.len() == max_rows {
            return Err(ImportError::TooManyRows { max: max_rows });
        }
        let mut draft = ParcelDraft::default();
        let mut errors = Vec::new();
        for (i, f, _) in &used {
            let Some(cell) = cells.get(*i) else { continue };
            match cell.text_for(*f) {
                Ok(v) if v.is_empty() => {}
                Ok(v) => f.set(&mut draft, &v),
                Err(why) => errors.push(FieldError::new(f.api_name(), why)),
            }
        }
        rows.push(Row {
            number,
            draft: if errors.is_empty() {
                Ok(draft)
            } else {
                Err(errors)
            },
        });
    }
    Ok(Table {
        format,
        detected,
        columns: used.into_iter().map(|(_, f, h)| (f, h)).collect(),
        ignored,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_row(n: usize, cells: &[&str]) -> GridRow {
        (n, cells.iter().map(|c| Cell::Text(c.to_string())).collect())
    }

    #[test]
    fn header_under_titles_and_empty_rows_skipped() {
        let grid = vec![
            text_row(1, &["Реестр отправлений за 25.11", "", ""]),
            text_row(2, &["", "", ""]),
            text_row(3, &["Трек", "Заказ", "Примечание"]),
            text_row(4, &["10100012000016", "A-1", "хрупкое"]),
            text_row(5, &["", "  ", ""]),
            (
                6,
                vec![
                    Cell::Number(10100012000023.0),
                    Cell::Bad("#REF!".into()),
                    Cell::Text("x".into()),
                ],
            ),
        ];
        let t = table(Format::Csv, None, grid, 10, "").unwrap();
        assert_eq!(
            t.columns,
            vec![
                (Field::Track, "Трек".to_string()),
                (Field::Order, "Заказ".to_string())
            ]
        );
        assert_eq!(t.ignored, ["Примечание"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].number, 4);
        assert_eq!(t.rows[0].draft.as_ref().unwrap().track, "10100012000016");
        assert_eq!(t.rows[1].number, 6);
        let errs = t.rows[1].draft.as_ref().unwrap_err();
        assert_eq!(errs[0].field, "order_id");
        assert_eq!(t.column_of("order_id"), Some("Заказ"));
    }

    #[test]
    fn no_header_and_too_many_rows() {
        let grid = vec![text_row(1, &["a", "b"]), text_row(2, &["c", "d"])];
        let e = table(Format::Csv, None, grid, 10, " (hint)").unwrap_err();
        assert!(e.to_string().contains("\"a | b\") (hint)"), "{e}");
        let grid = vec![
            text_row(1, &["track"]),
            text_row(2, &["1"]),
            text_row(3, &["2"]),
        ];
        assert_eq!(
            table(Format::Csv, None, grid, 1, "").unwrap_err(),
            ImportError::TooManyRows { max: 1 }
        );
        assert_eq!(
            table(Format::Csv, None, vec![text_row(1, &[""])], 1, "").unwrap_err(),
            ImportError::Empty
        );
    }

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(
            Cell::Number(79123456789.0).text_for(Field::Phone).unwrap(),
            "79123456789"
        );
        assert_eq!(
            Cell::Number(1490.1000000000001)
                .text_for(Field::Amount)
                .unwrap(),
            "1490.10"
        );
        assert_eq!(Cell::Number(2.5).text_for(Field::Order).unwrap(), "2.5");
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"PK\x03\x04rest", None), Ok(Format::Xlsx));
        assert_eq!(sniff(b"track\n1", Some("text/csv")), Ok(Format::Csv));
        assert_eq!(
            sniff(&[0xD0, 0xCF, 0x11, 0xE0, 0], None),
            Err(ImportError::Xls)
        );
        assert!(matches!(
            sniff(
                b"track",
                Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            ),
            Err(ImportError::BadXlsx(_))
        ));
        assert_eq!(sniff(b"", None), Err(ImportError::Empty));
    }
}
