//! XLSX workbooks, read with calamine: the first sheet that has a header row is used. Merged
//! header cells count for every column they span; a formula's saved value is used, and a
//! formula saved without one (files written by programs that do not compute) is reported for
//! its row instead of being read as empty.

use super::{Cell, Format, GridRow, ImportError, Table};
use calamine::{Data, Dimensions, Reader, Xlsx};
use std::io::Cursor;

/// How far down merged regions are spread (titles and headers live at the top).
const MERGE_ROWS: u32 = 40;

/// Parses an XLSX file.
pub fn parse(bytes: &[u8], max_rows: usize) -> Result<Table, ImportError> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| ImportError::BadXlsx(e.to_string()))?;
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

fn sheet(
    book: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    max_rows: usize,
) -> Result<Table, ImportError> {
    let bad = |e: calamine::XlsxError| ImportError::BadXlsx(format!("sheet {name:?}: {e}"));
    let range = book.worksheet_range(name).map_err(bad)?;
    let Some((row0, col0)) = range.start() else {
        return Err(ImportError::Empty);
    };
    let formulas = book.worksheet_formula(name).map_err(bad)?;
    let merged = book.merge_cells_by_sheet_name(name).map_err(bad)?;
    let mut grid: Vec<GridRow> = Vec::with_capacity(range.height());
    for (i, cells) in range.rows().enumerate() {
        let abs_row = row0 + i as u32;
        let row = cells
            .iter()
            .enumerate()
            .map(|(j, d)| {
                let abs_col = col0 + j as u32;
                let formula = || {
                    formulas
                        .get_value((abs_row, abs_col))
                        .filter(|f| !f.is_empty())
                };
                cell(d, formula)
            })
            .collect();
        grid.push((abs_row as usize + 1, row));
    }
    spread_merged(&mut grid, &merged, row0, col0);
    super::table(
        Format::Xlsx,
        Some(format!("sheet {name:?}")),
        grid,
        max_rows,
        &format!(" on sheet {name:?}"),
    )
}

fn cell<'a>(d: &Data, formula: impl Fn() -> Option<&'a String>) -> Cell {
    match d {
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }.into()),
        Data::DateTime(t) => Cell::Text(t.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Bad(format!("the cell shows the Excel error {e}")),
        Data::Empty => match formula() {
            Some(f) => Cell::Bad(format!(
                "the formula ={f} has no saved value; open the file in Excel and save it again"
            )),
            None => Cell::Text(String::new()),
        },
    }
}

/// Gives every cell of a merged region near the top the value of its top-left cell, so that a
/// header merged over two rows or several columns names each of them.
fn spread_merged(grid: &mut [GridRow], merged: &[Dimensions], row0: u32, col0: u32) {
    for m in merged {
        if m.start.0 >= row0 + MERGE_ROWS || m.start.0 < row0 || m.start.1 < col0 {
            continue;
        }
        let (r, c) = ((m.start.0 - row0) as usize, (m.start.1 - col0) as usize);
        let Some(value) = grid.get(r).and_then(|(_, cells)| cells.get(c)).cloned() else {
            continue;
        };
        let last_row = ((m.end.0.saturating_sub(row0)) as usize).min(grid.len().saturating_sub(1));
        for (_, cells) in grid.iter_mut().take(last_row + 1).skip(r) {
            let last_col = (m.end.1.saturating_sub(col0)) as usize;
            for x in cells.iter_mut().take(last_col + 1).skip(c) {
                if matches!(x, Cell::Text(s) if s.is_empty()) {
                    *x = value.clone();
                }
            }
        }
    }
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
