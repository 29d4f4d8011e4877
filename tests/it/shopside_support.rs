//! Helpers for the shop-side tests: workbooks made with rust_xlsxwriter, reading them back with
//! calamine, and the report e-mail's attachment.

use calamine::{Data, Reader, Xlsx};
use mail_parser::MimeHeaders;
use parceld::api::dto::{ImportResponse, RowResult};
use std::io::Cursor;

/// The XLSX content type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A fixture file from `tests/fixtures/import/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An XLSX with one sheet: a header row and the given rows (all text).
pub fn xlsx(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in header.iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write(r as u32 + 1, c as u16, v.as_str()).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

/// The result of a row, by its number in the file.
pub fn row(r: &ImportResponse, number: usize) -> &RowResult {
    r.results
        .iter()
        .find(|x| x.row == number)
        .unwrap_or_else(|| panic!("no result for row {number}: {r:#?}"))
}

/// A sheet of a workbook read back: cell texts by row, and whether each row's first cell is
/// filled with `argb`.
pub fn read_sheet(bytes: &[u8], sheet: &str, argb: u32) -> Vec<(Vec<String>, bool)> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = book.worksheet_range(sheet).unwrap();
    let styles = book.worksheet_style(sheet).unwrap();
    let (r0, c0) = range.start().unwrap();
    range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let texts = cells
                .iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect();
            let filled = styles
                .get((r0 + i as u32, c0))
                .and_then(|s| s.fill.as_ref())
                .and_then(|f| f.get_color())
                .is_some_and(|c| c.to_argb() & 0x00FF_FFFF == argb & 0x00FF_FFFF);
            (texts, filled)
        })
        .collect()
}

/// The first attachment of a raw e-mail: file name and bytes.
pub fn attachment(raw: &str) -> (String, Vec<u8>) {
    let m = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable e-mail");
    let a = m.attachments().next().expect("an attachment");
    (
        a.attachment_name().unwrap_or_default().to_string(),
        a.contents().to_vec(),
    )
}
