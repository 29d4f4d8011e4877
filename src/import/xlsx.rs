//! XLSX workbooks, read with calamine: the first sheet that has a header row is used. Merged
//! header cells count for every column they span; a formula's saved value is used, and a
//! formula saved without one (files written by programs that do not compute) is reported for
//! its row instead of being read as empty.
//!
//! A workbook is outside input and a small one can describe a huge sheet, so it is read
//! within bounds: the archive's unpacked size is checked before anything is unpacked; cells
//! are streamed one by one and kept row by row (a sheet with cells in A1 and XFD1048576 is
//! two cells, not the rectangle between them); no more cells are read once the sheet has more
//! rows than the import allows; and the cells kept are limited to [`COLUMNS_PER_ROW`] a row
//! on average.

use super::{Cell, Format, GridRow, HEADER_SEARCH_ROWS, ImportError, Table};
use calamine::{Data, Dimensions, Reader, Xlsx, XlsxError};
use std::collections::BTreeMap;
use std::io::Cursor;

/// How far down merged regions are spread (titles and headers live at the top).
const MERGE_ROWS: u32 = 40;
/// Excel's own size of a sheet; a cell beyond it means a damaged file.
const SHEET_ROWS: u32 = 1_048_576;
const SHEET_COLUMNS: u32 = 16_384;
/// Cells kept per row on average, counting the empty ones left of each row's last cell.
/// Parcel tables have one or two dozen columns.
pub const COLUMNS_PER_ROW: usize = 64;
/// What a workbook may unpack to. A 100 000-row parcel table written by Excel unpacks to
/// well under a tenth of this.
const MAX_UNPACKED: u64 = 1 << 30;

/// Parses an XLSX file.
pub fn parse(bytes: &[u8], max_rows: usize) -> Result<Table, ImportError> {
    parse_within(bytes, max_rows, MAX_UNPACKED)
}

fn parse_within(bytes: &[u8], max_rows: usize, max_unpacked: u64) -> Result<Table, ImportError> {
    let unpacked = unpacked_size(bytes)?;
    if unpacked > max_unpacked {
        return Err(ImportError::Unpacks {
            mib: unpacked.div_ceil(1 << 20),
            max_mib: max_unpacked >> 20,
        });
    }
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: XlsxError| ImportError::BadXlsx(e.to_string()))?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err(ImportError::BadXlsx("it has no sheets".into()));
    }
    let mut first_err = None;
    for name in &names {
        match sheet(&mut book, name, max_rows) {
            Ok(t) => return Ok(t),
            Err(e @ (ImportError::NoHeader { .. } | ImportError::Empty)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(first_err.unwrap_or(ImportError::Empty))
}

/// The sum of the archive's entries as its central directory declares them (the zip reader
/// refuses to unpack an entry past its declared size).
fn unpacked_size(bytes: &[u8]) -> Result<u64, ImportError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError::BadXlsx(e.to_string()))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_data(i)
            .map_err(|e| ImportError::BadXlsx(e.to_string()))?;
        total = total.saturating_add(entry.size());
    }
    Ok(total)
}

fn sheet(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    max_rows: usize,
) -> Result<Table, ImportError> {
    let bad = |e: XlsxError| ImportError::BadXlsx(format!("sheet {name:?}: {e}"));
    let merged = book.merge_cells_by_sheet_name(name).map_err(bad)?;
    let mut cells = Cells::new(max_rows);
    let mut reader = match book.worksheet_cells_reader(name) {
        Ok(r) => r,
        // A chart sheet: no table on it.
        Err(XlsxError::NotAWorksheet(_)) => return Err(ImportError::Empty),
        Err(e) => return Err(bad(e)),
    };
    while let Some(c) = reader.next_cell_with_formula().map_err(bad)? {
        let formula = c.formula.filter(|f| !f.is_empty());
        let cell = cell(Data::from(c.value), formula.as_deref());
        if cell.is_blank() {
            continue;
        }
        if c.pos.0 >= SHEET_ROWS || c.pos.1 >= SHEET_COLUMNS {
            return Err(bad(XlsxError::Unexpected(
                "a cell lies outside the sheet's 1 048 576 rows and 16 384 columns",
            )));
        }
        if !cells.put(c.pos, cell)? {
            // More rows than the import allows: the table says so without reading the rest.
            break;
        }
    }
    cells.spread_merged(&merged)?;
    super::table(
        Format::Xlsx,
        Some(format!("sheet {name:?}")),
        cells.into_grid(),
        max_rows,
        &format!(" on sheet {name:?}"),
    )
}

fn cell(d: Data, formula: Option<&str>) -> Cell {
    match d {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s),
        Data::Int(i) => Cell::Number(i as f64),
        Data::Float(f) => Cell::Number(f),
        Data::Bool(b) => Cell::Text(if b { "TRUE" } else { "FALSE" }.into()),
        Data::DateTime(t) => Cell::Text(t.to_string()),
        Data::Error(e) => Cell::Bad(format!("the cell shows the Excel error {e}")),
        Data::Empty => match formula {
            Some(f) => Cell::Bad(format!(
                "the formula ={f} has no saved value; open the file in Excel and save it again"
            )),
            None => Cell::Text(String::new()),
        },
    }
}

/// The non-empty rows of a sheet as they are read, each from column A to its last cell.
struct Cells {
    rows: BTreeMap<u32, Vec<Cell>>,
    /// Cells held in `rows`, the empty ones included.
    held: usize,
    max_cells: usize,
    /// Rows enough for the table to find its header and say there are too many.
    enough_rows: usize,
}

impl Cells {
    fn new(max_rows: usize) -> Self {
        let enough_rows = max_rows.saturating_add(HEADER_SEARCH_ROWS + 2);
        Self {
            rows: BTreeMap::new(),
            held: 0,
            max_cells: enough_rows.saturating_mul(COLUMNS_PER_ROW),
            enough_rows,
        }
    }

    /// Keeps a cell; false once the sheet has more rows than the import could take.
    fn put(&mut self, (r, c): (u32, u32), cell: Cell) -> Result<bool, ImportError> {
        let row = self.rows.entry(r).or_default();
        let at = c as usize;
        if at >= row.len() {
            self.held += at + 1 - row.len();
            if self.held > self.max_cells {
                return Err(ImportError::TooWide {
                    cell: cell_name(r, c),
                    max_cells: self.max_cells,
                });
            }
            row.resize(at + 1, Cell::Text(String::new()));
        }
        row[at] = cell;
        Ok(self.rows.len() <= self.enough_rows)
    }

    /// Gives every cell of a merged region near the top the value of its top-left cell, so
    /// that a header merged over two rows or several columns names each of them. Regions are
    /// cut to the top rows and to the widest row; merged regions do not overlap in a sound
    /// file, so spreading them visits each cell of that area at most once.
    fn spread_merged(&mut self, merged: &[Dimensions]) -> Result<(), ImportError> {
        let (Some(&row0), Some(&last)) = (self.rows.keys().next(), self.rows.keys().next_back())
        else {
            return Ok(());
        };
        let bottom = last.min(row0.saturating_add(MERGE_ROWS - 1));
        let width = self.rows.values().map(Vec::len).max().unwrap_or(0) as u32;
        let mut budget = (bottom - row0 + 1) as usize * width as usize;
        for m in merged {
            let (r, c) = m.start;
            if r > bottom {
                continue;
            }
            // Rows start at `row0` and none is wider than `width`: a region starting outside
            // them finds no cell.
            let Some(value) = self
                .rows
                .get(&r)
                .and_then(|row| row.get(c as usize))
                .filter(|v| !v.is_blank())
                .cloned()
            else {
                continue;
            };
            for rr in r..=m.end.0.min(bottom) {
                for cc in c..=m.end.1.min(width - 1) {
                    budget = budget
                        .checked_sub(1)
                        .ok_or_else(|| ImportError::BadXlsx("its merged cells overlap".into()))?;
                    let blank = self
                        .rows
                        .get(&rr)
                        .and_then(|row| row.get(cc as usize))
                        .is_none_or(Cell::is_blank);
                    if blank {
                        self.put((rr, cc), value.clone())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Every row from the first non-empty one to the last, empty ones included, each from
    /// the sheet's leftmost used column.
    fn into_grid(self) -> impl Iterator<Item = GridRow> {
        let col0 = self
            .rows
            .values()
            .filter_map(|row| row.iter().position(|c| !c.is_blank()))
            .min()
            .unwrap_or(0);
        // No rows: an empty span.
        let first = self.rows.keys().next().copied().unwrap_or(1);
        let last = self.rows.keys().next_back().copied().unwrap_or(0);
        let mut rows = self.rows;
        (first..=last).map(move |r| {
            let mut cells = rows.remove(&r).unwrap_or_default();
            cells.drain(..col0.min(cells.len()));
            (r as usize + 1, cells)
        })
    }
}

/// A cell's name as Excel shows it: zero-based (2, 0) is "A3".
/// Only called with cells inside the sheet, so `col` < 16 384 fits Excel's column numbers.
fn cell_name(row: u32, col: u32) -> String {
    rust_xlsxwriter::utility::row_col_to_cell(row, col as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::columns::Field;
    use rust_xlsxwriter::{Formula, Workbook};

    #[test]
    fn merged_headers_formulas_and_numbers() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.merge_range(0, 0, 0, 3, "Реестр", &Default::default())
            .unwrap();
        ws.merge_range(1, 0, 2, 0, "Трек", &Default::default())
            .unwrap();
        ws.merge_range(1, 1, 1, 2, "Получатель", &Default::default())
            .unwrap();
        ws.write(2, 1, "ФИО").unwrap();
        ws.write(2, 2, "Телефон").unwrap();
        ws.merge_range(1, 3, 2, 3, "Сумма", &Default::default())
            .unwrap();
        ws.write(3, 0, "10100012000016").unwrap();
        ws.write(3, 1, "Иванов Иван").unwrap();
        ws.write(3, 2, 79123456789.0).unwrap();
        ws.write(3, 3, Formula::new("=1000+490.5").set_result("1490.5"))
            .unwrap();
        ws.write(5, 0, 10100012000023.0).unwrap();
        ws.write(5, 3, Formula::new("=A1*2")).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let t = parse(&bytes, 10).unwrap();
        let fields: Vec<Field> = t.columns.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [Field::Track, Field::Name, Field::Phone, Field::Amount]
        );
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].number, 4);
        let d = t.rows[0].draft.as_ref().unwrap();
        assert_eq!(d.phone.as_deref(), Some("79123456789"));
        assert_eq!(d.cod_amount.as_deref(), Some("1490.50"));
        assert_eq!(t.rows[1].number, 6);
        // rust_xlsxwriter saves a formula without a result as 0, like other writers do.
        let second = t.rows[1].draft.as_ref();
        assert!(second.is_ok() || second.unwrap_err()[0].field == "cod_amount");
    }

    #[test]
    fn broken_archives_are_a_clear_error() {
        let mut wb = Workbook::new();
        wb.add_worksheet().write(0, 0, "Трек").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let e = parse(&bytes[..bytes.len() / 2], 10).unwrap_err();
        assert!(matches!(e, ImportError::BadXlsx(_)), "{e}");
        assert!(e.to_string().contains("not a readable XLSX"), "{e}");
        assert_eq!(parse(&bytes, 10).unwrap().rows.len(), 0);
    }
}

#[cfg(test)]
mod hostile {
    use super::*;
    use std::io::Write;

    /// A workbook whose first sheet is `sheet_xml`, written with the zip crate so the XML can
    /// say what no spreadsheet program would write.
    fn workbook(sheet_xml: &str) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        let files = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            (
                "xl/workbook.xml",
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
            ),
            (
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
            ),
            ("xl/worksheets/sheet1.xml", sheet_xml),
        ];
        for (name, body) in files {
            z.start_file(name, opts).unwrap();
            z.write_all(body.as_bytes()).unwrap();
        }
        z.finish().unwrap();
        out.into_inner()
    }

    fn sheet(dimension: &str, rows: &str) -> Vec<u8> {
        workbook(&format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>"#
        ))
    }

    fn text(r: &str, v: &str) -> String {
        format!(r#"<c r="{r}" t="inlineStr"><is><t>{v}</t></is></c>"#)
    }

    #[test]
    fn a_hand_written_sheet_reads() {
        let rows = format!(
            "<row r=\"1\">{}{}</row><row r=\"2\">{}{}</row>",
            text("A1", "Трек"),
            text("B1", "Заказ"),
            text("A2", "10100012000016"),
            text("B2", "A-1")
        );
        let t = parse(&sheet("A1:B2", &rows), 10).unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].number, 2);
        let d = t.rows[0].draft.as_ref().unwrap();
        assert_eq!(d.order_id.as_deref(), Some("A-1"));
    }

    #[test]
    fn absurd_cell_references_are_a_clear_error() {
        for (dimension, far) in [
            ("A1:B2", "ZZZZZZZZZZ2"),
            ("A1:B2", "B99999999999"),
            ("B2:A1", "XFD1048576"),
        ] {
            let rows = format!(
                "<row r=\"1\">{}</row><row r=\"2\">{}</row>",
                text("A1", "Трек"),
                text(far, "x")
            );
            let e = parse(&sheet(dimension, &rows), 10).unwrap_err();
            assert!(
                matches!(e, ImportError::BadXlsx(_) | ImportError::TooWide { .. }),
                "{far}: {e}"
            );
        }
    }

    #[test]
    fn a_declared_dimension_is_not_trusted() {
        let rows = format!(
            "<row r=\"1\">{}</row><row r=\"2\">{}</row>",
            text("A1", "Трек"),
            text("A2", "10100012000016")
        );
        for dimension in ["A1:ZZZZZZZZZZ99999999999", "B2:A1", "A1:XFD1048576"] {
            let t = parse(&sheet(dimension, &rows), 10).unwrap();
            assert_eq!(t.rows.len(), 1, "{dimension}");
        }
    }

    #[test]
    fn a_workbook_that_unpacks_too_far_is_refused_before_it_is_read() {
        let padding = " ".repeat(3 << 20);
        let rows = format!("<row r=\"1\">{}</row>{padding}", text("A1", "Трек"));
        let bytes = sheet("A1", &rows);
        assert!(bytes.len() < 1 << 20, "the padding compresses");
        let e = parse_within(&bytes, 10, 2 << 20).unwrap_err();
        assert_eq!(e, ImportError::Unpacks { mib: 4, max_mib: 2 });
        assert!(e.to_string().contains("unpacks to 4 MiB"), "{e}");
        parse_within(&bytes, 10, 4 << 20).unwrap();
    }

    #[test]
    fn reading_stops_once_there_are_too_many_rows() {
        let mut rows = format!("<row r=\"1\">{}</row>", text("A1", "Трек"));
        for r in 2..200 {
            rows += &format!("<row r=\"{r}\">{}</row>", text(&format!("A{r}"), "x"));
        }
        let e = parse(&sheet("A1:A199", &rows), 10).unwrap_err();
        assert_eq!(e, ImportError::TooManyRows { max: 10 });
        let mut cells = Cells::new(10);
        let mut kept = 0;
        while cells.put((kept, 0), Cell::Text("x".into())).unwrap() {
            kept += 1;
        }
        assert_eq!(kept as usize, 10 + HEADER_SEARCH_ROWS + 2);
    }

    #[test]
    fn overlapping_merges_are_refused_not_spread_forever() {
        let mut rows = String::from("<row r=\"1\">");
        for c in 0..60 {
            let name = cell_name(0, c);
            rows += &text(&name, &format!("Трек {name}"));
        }
        rows += "</row>";
        let merges: String = (0..60)
            .map(|c| format!("<mergeCell ref=\"{}:BH40\"/>", cell_name(0, c)))
            .collect();
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData><mergeCells count="60">{merges}</mergeCells></worksheet>"#
        );
        let e = parse(&workbook(&xml), 10).unwrap_err();
        assert!(e.to_string().contains("merged cells overlap"), "{e}");
    }

    #[test]
    fn cell_names() {
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(2, 25), "Z3");
        assert_eq!(cell_name(9, 26), "AA10");
        assert_eq!(cell_name(1_048_575, 16_383), "XFD1048576");
    }

    #[test]
    fn two_far_corners_do_not_make_a_huge_sheet() {
        // A1 and XFD1048576 are both legal; a reader that fills the rectangle between them
        // allocates 17 billion cells.
        let rows = format!(
            "<row r=\"1\">{}</row><row r=\"1048576\">{}</row>",
            text("A1", "Трек"),
            text("XFD1048576", "x")
        );
        let e = parse(&sheet("A1:XFD1048576", &rows), 10).unwrap_err();
        assert!(e.to_string().contains("XFD1048576"), "{e}");
    }
}
