//! CSV files: decoded ([`super::text`]), split with the `csv` crate (quotes, separators and
//! line breaks inside quoted cells as Excel writes them), and handed to [`super::table`].

use super::{Cell, Format, ImportError, Table, text};

/// Parses a CSV file.
pub fn parse(bytes: &[u8], max_rows: usize) -> Result<Table, ImportError> {
    let decoded = text::decode(bytes)?;
    let (sep, skip) = text::separator(&decoded.text);
    let body = decoded.text.get(skip..).unwrap_or("");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut grid = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ImportError::Csv {
            row: i + 1,
            message: e.to_string(),
        })?;
        grid.push((
            i + 1,
            record
                .iter()
                .map(|c| Cell::Text(c.to_string()))
                .collect::<Vec<_>>(),
        ));
    }
    let shown = match sep {
        b'\t' => "tab".to_string(),
        b => format!("'{}'", b as char),
    };
    let hint = if decoded.encoding == "windows-1251" {
        format!(
            "; the file was read as Windows-1251 text separated by {shown}: if the Russian text \
             above looks garbled, the file is in another encoding; save it as CSV in UTF-8 or \
             Windows-1251"
        )
    } else {
        format!(
            "; the file was read as {} text separated by {shown}",
            decoded.encoding
        )
    };
    let detected = format!("{}, separator {shown}", decoded.encoding);
    super::table(Format::Csv, Some(detected), grid, max_rows, &hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::columns::Field;

    #[test]
    fn russian_excel_csv() {
        let text = "Реестр;;;\nТрек;Заказ;ФИО;Сумма\n\
                    10100012000016;A-1;\"Иванов; Иван\";1 490,00\n;;;\n\
                    \"RA644000001RU\";\"A-2\";\"Петрова\nМария\";0\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let t = parse(&bytes, 100).unwrap();
        assert_eq!(t.detected.as_deref(), Some("windows-1251, separator ';'"));
        assert_eq!(t.columns.len(), 4);
        assert_eq!(t.rows.len(), 2);
        let d = t.rows[0].draft.as_ref().unwrap();
        assert_eq!(d.name.as_deref(), Some("Иванов; Иван"));
        assert_eq!(d.cod_amount.as_deref(), Some("1 490,00"));
        assert_eq!(t.rows[0].number, 3);
        assert_eq!(
            t.rows[1].number, 5,
            "the empty row counts in Excel's numbering"
        );
        assert_eq!(
            t.rows[1].draft.as_ref().unwrap().name.as_deref(),
            Some("Петрова\nМария")
        );
        assert_eq!(t.columns[2], (Field::Name, "ФИО".to_string()));
    }

    #[test]
    fn koi8_text_is_a_clear_error() {
        let (bytes, _, _) = encoding_rs::KOI8_R.encode("Трек;Заказ\n10100012000016;A-1\n");
        let e = parse(&bytes, 10).unwrap_err().to_string();
        assert!(e.contains("no header row found"), "{e}");
        assert!(e.contains("Windows-1251"), "{e}");
    }
}
