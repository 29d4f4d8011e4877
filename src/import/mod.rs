//! Parcel tables uploaded as files: CSV (UTF-8 or Windows-1251, comma, semicolon or tab, as
//! Russian Excel saves it) and XLSX. Plain functions over bytes, no I/O.
//!
//! Both formats become a grid of cells with the row numbers the user sees in Excel; the header
//! row is found among the first rows by its column names ([`headers`], [`columns`]), title
//! rows, empty rows and total rows ("Итого") are skipped, and every data row becomes a
//! [`ParcelDraft`] for the same intake as the JSON API. Headers that look like a parcel's field
//! but are not read as one are reported ([`ColumnWarning`]). A file that cannot be read at all (truncated archive, binary junk, no header) is an
//! [`ImportError`] and nothing of it is stored.

pub mod columns;
pub mod csv;
pub mod headers;
pub mod template;
pub mod text;
pub mod xlsx;

use crate::domain::intake::{FieldError, ParcelDraft};
use columns::Field;
use headers::Header;

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

/// A column not read although its header looks like a parcel's field: "Сумма заказа" (the
/// order's total, not the cash on delivery), "Дата заказа", a second phone column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnWarning {
    /// The header as written in the file.
    pub header: String,
    /// The fields it looks like, or could be.
    pub fields: Vec<Field>,
    /// Why it is not read, and what to do if it should be.
    pub message: String,
}

/// A row passed over on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The row number the user sees in Excel.
    pub number: usize,
    /// Why it was passed over.
    pub reason: String,
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
    /// Ignored headers that look like a parcel's field (they are in `ignored` too).
    pub warnings: Vec<ColumnWarning>,
    /// Rows passed over on purpose: total rows.
    pub skipped: Vec<SkippedRow>,
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

/// What the cells of a row say as headers.
fn headers_of(cells: &[Cell]) -> Vec<Header> {
    cells
        .iter()
        .map(|c| match c {
            Cell::Text(s) => headers::classify(s),
            _ => Header::Other,
        })
        .collect()
}

/// How many different fields a row's cells name, when one of them is the track number.
fn names_track(kinds: &[Header]) -> Option<usize> {
    let mut fields: Vec<Field> = kinds.iter().filter_map(Header::field).collect();
    fields.sort();
    fields.dedup();
    fields.contains(&Field::Track).then_some(fields.len())
}

/// Finds the header among the first rows and turns the rows under it into drafts.
///
/// The header is the first row that names the track number and another column; failing
/// that, the first row that names the track number (a title such as "Трек-номера за
/// ноябрь" above the header names it too, but alone).
pub fn table(
    format: Format,
    detected: Option<String>,
    grid: impl IntoIterator<Item = GridRow>,
    max_rows: usize,
    hint: &str,
) -> Result<Table, ImportError> {
    let mut grid = grid.into_iter();
    let mut seen: Vec<(GridRow, Vec<Header>)> = Vec::new();
    let mut lone_track: Option<usize> = None;
    let mut header: Option<usize> = None;
    for row in grid.by_ref() {
        if row.1.iter().all(Cell::is_blank) {
            continue;
        }
        let kinds = headers_of(&row.1);
        let named = names_track(&kinds);
        seen.push((row, kinds));
        match named {
            Some(n) if n >= 2 => {
                header = Some(seen.len() - 1);
                break;
            }
            Some(_) => {
                lone_track.get_or_insert(seen.len() - 1);
            }
            None => {}
        }
        if seen.len() >= HEADER_SEARCH_ROWS {
            break;
        }
    }
    let Some(at) = header.or(lone_track) else {
        let first_row = seen
            .first()
            .map(|((_, cells), _)| {
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
    // Rows read past the header while looking for it are data.
    let after: Vec<GridRow> = seen.split_off(at + 1).into_iter().map(|(r, _)| r).collect();
    let Some(((_, mut header_cells), mut kinds)) = seen.pop() else {
        return Err(ImportError::Empty);
    };
    let mut grid = after.into_iter().chain(grid).peekable();
    // A header over two rows ("Получатель" above "ФИО" and "Телефон"): the lower row names
    // the columns it has a name for.
    if let Some((_, next)) = grid.peek() {
        let sub = headers_of(next);
        // Every cell names a column, is empty, or repeats the cell above (a merged header).
        let all_names = next.iter().zip(&sub).enumerate().all(|(i, (c, k))| {
            c.is_blank() || k.field().is_some() || header_cells.get(i) == Some(c)
        });
        if all_names && sub.iter().any(|k| k.field().is_some()) {
            for (i, k) in sub.into_iter().enumerate() {
                if k.field().is_some() {
                    if i >= kinds.len() {
                        kinds.resize(i + 1, Header::Other);
                        header_cells.resize(i + 1, Cell::Text(String::new()));
                    }
                    header_cells[i] = next[i].clone();
                    kinds[i] = k;
                }
            }
            grid.next();
        }
    }
    let HeaderRow {
        used,
        ignored,
        warnings,
    } = columns_used(&header_cells, &kinds);
    let track_at = used
        .iter()
        .find(|(_, f, _)| *f == Field::Track)
        .map(|(i, _, _)| *i);
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (number, cells) in grid {
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        if let Some(label) = total_label(&cells, track_at) {
            skipped.push(SkippedRow {
                number,
                reason: format!("a total row ({label:?}), not a parcel"),
            });
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
        warnings,
        skipped,
        rows,
    })
}

/// What a header row says about its columns.
struct HeaderRow {
    /// The columns read: index, field, header.
    used: Vec<(usize, Field, String)>,
    /// The headers ignored.
    ignored: Vec<String>,
    /// Why some of the ignored ones are worth a look.
    warnings: Vec<ColumnWarning>,
}

/// Reads a header row: the first column naming a field is read; a cell repeating a header
/// already seen (a merged header) is passed over.
fn columns_used(cells: &[Cell], kinds: &[Header]) -> HeaderRow {
    let mut used: Vec<(usize, Field, String)> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    for (i, (cell, kind)) in cells.iter().zip(kinds).enumerate() {
        let text = match cell {
            Cell::Text(s) => s.trim().to_string(),
            _ => String::new(),
        };
        if text.is_empty() || used.iter().any(|(_, _, h)| *h == text) || ignored.contains(&text) {
            continue;
        }
        let warning = match kind {
            Header::Field(f) => match used.iter().find(|(_, g, _)| g == f) {
                None => {
                    used.push((i, *f, text));
                    continue;
                }
                Some((_, _, first)) => ColumnWarning {
                    message: format!(
                        "column {text:?} is not read: column {first:?} already gives {}",
                        f.api_name()
                    ),
                    header: text.clone(),
                    fields: vec![*f],
                },
            },
            Header::LooksLike(fields) => ColumnWarning {
                message: format!(
                    "column {text:?} is not read: it looks like {} but its header does not say                      so; if it holds {}, name it {}",
                    api_names(fields),
                    if fields.len() == 1 {
                        "that"
                    } else {
                        "one of them"
                    },
                    fields
                        .iter()
                        .map(|f| format!("{:?}", f.clear_header()))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
                header: text.clone(),
                fields: fields.clone(),
            },
            Header::Ambiguous(fields) => ColumnWarning {
                message: format!(
                    "column {text:?} is not read: it could be {}; give each its own column",
                    api_names(fields)
                ),
                header: text.clone(),
                fields: fields.clone(),
            },
            Header::Other => {
                ignored.push(text);
                continue;
            }
        };
        ignored.push(text);
        warnings.push(warning);
    }
    HeaderRow {
        used,
        ignored,
        warnings,
    }
}

/// `cod_amount or order_id`.
fn api_names(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.api_name())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The label of a total row: its first filled cell reads "Итого", "Всего", "Total" (see
/// [`headers::is_total_label`]) and its track cell holds nothing else; the sums may stand in
/// any other column.
fn total_label(cells: &[Cell], track: Option<usize>) -> Option<String> {
    let (at, Cell::Text(label)) = cells.iter().enumerate().find(|(_, c)| !c.is_blank())? else {
        return None;
    };
    let track_free = track.is_none_or(|t| t == at || cells.get(t).is_none_or(Cell::is_blank));
    (track_free && headers::is_total_label(label)).then(|| label.trim().to_string())
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
    fn a_title_naming_the_track_is_not_the_header() {
        let title = "Трек-номера за ноябрь";
        let grid = vec![
            text_row(1, &[title, title]),
            text_row(
                2,
                &["Трек номер посылки", "Сумма наложенного платежа, руб."],
            ),
            text_row(3, &["10100012000016", "1490"]),
        ];
        let t = table(Format::Xlsx, None, grid, 10, "").unwrap();
        assert_eq!(
            t.columns,
            [
                (Field::Track, "Трек номер посылки".to_string()),
                (Field::Amount, "Сумма наложенного платежа, руб.".to_string())
            ]
        );
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].number, 3);
        // A table of track numbers only: its one header names the track.
        let grid = vec![text_row(1, &["Трек"]), text_row(2, &["10100012000016"])];
        let t = table(Format::Csv, None, grid, 10, "").unwrap();
        assert_eq!((t.columns.len(), t.rows.len()), (1, 1));
    }

    #[test]
    fn look_alikes_and_repeats_are_warned_about() {
        let header = [
            "Трек",
            "Сумма заказа",
            "Дата заказа",
            "Телефон",
            "Моб. телефон",
            "Адрес получателя",
            "ФИО и телефон",
        ];
        let grid = vec![text_row(1, &header), text_row(2, &["10100012000016"])];
        let t = table(Format::Csv, None, grid, 10, "").unwrap();
        assert_eq!(
            t.ignored,
            [
                "Сумма заказа",
                "Дата заказа",
                "Моб. телефон",
                "Адрес получателя",
                "ФИО и телефон"
            ]
        );
        let warned: Vec<(&str, &[Field])> = t
            .warnings
            .iter()
            .map(|w| (w.header.as_str(), w.fields.as_slice()))
            .collect();
        assert_eq!(
            warned,
            [
                ("Сумма заказа", &[Field::Order, Field::Amount][..]),
                ("Дата заказа", &[Field::Order][..]),
                ("Моб. телефон", &[Field::Phone][..]),
                ("ФИО и телефон", &[Field::Name, Field::Phone][..]),
            ]
        );
        let m = &t.warnings[0].message;
        assert!(m.contains("\"Сумма заказа\" is not read"), "{m}");
        assert!(m.contains("cod_amount"), "{m}");
        assert!(m.contains("\"Сумма НП\""), "{m}");
        assert!(t.warnings[2].message.contains("\"Телефон\" already"));
    }

    #[test]
    fn total_rows_are_skipped_wherever_the_sum_stands() {
        let grid = vec![
            text_row(1, &["Трек", "ФИО", "Сумма"]),
            text_row(2, &["10100012000016", "Иванов", "1490"]),
            (
                3,
                vec![
                    Cell::Text("Итого:".into()),
                    Cell::Text(String::new()),
                    Cell::Number(1490.0),
                ],
            ),
            text_row(4, &["", "Всего отправлений: 1", "1490"]),
            text_row(5, &["10100012000023", "Итого", ""]),
            text_row(6, &["", "Петров", ""]),
        ];
        let t = table(Format::Csv, None, grid, 3, "").unwrap();
        let skipped: Vec<usize> = t.skipped.iter().map(|s| s.number).collect();
        assert_eq!(skipped, [3, 4]);
        assert!(
            t.skipped[0].reason.contains("\"Итого:\""),
            "{:?}",
            t.skipped
        );
        let rows: Vec<usize> = t.rows.iter().map(|r| r.number).collect();
        assert_eq!(rows, [2, 5, 6], "a row with a track number is a parcel");
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
