//! The parcel table template shops download (`GET /v1/import-template.xlsx`): the header row
//! with every column the import understands, two example rows, and a sheet explaining each
//! column. `config/import-template.csv` is the same table as CSV.

use super::columns::Field;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// What each column takes, for the instructions sheet.
fn explain(f: Field) -> (&'static str, &'static str) {
    match f {
        Field::Track => (
            "обязательно",
            "Трек-номер (ШПИ): 14 цифр или вида RA123456789RU. Также: «Трек-номер», «ШПИ», «Tracking number».",
        ),
        Field::Order => (
            "",
            "Номер заказа в магазине; по нему ищут посылку. В одном заказе может быть несколько посылок.",
        ),
        Field::Name => ("", "ФИО получателя: «Иванов Иван Иванович»."),
        Field::Phone => ("", "Мобильный в любом виде: 8 912 345-67-89, +7 912…, 912…"),
        Field::Email => ("", "Адрес для писем покупателю."),
        Field::Amount => (
            "",
            "Наложенный платёж в рублях: 1490,00 или 1 490.00; 0 — оплачено (у новой посылки пусто — тоже).",
        ),
        Field::Contents => ("", "Состав заказа; показывается покупателю в уведомлениях."),
        Field::Carrier => (
            "",
            "Служба: Почта России, EMS, Почта Китая; пусто — по трек-номеру.",
        ),
        Field::StorageDays => (
            "",
            "Срок хранения в отделении, дней, если договор с почтой задаёт его для посылки; пусто — по правилам почты для вида отправления.",
        ),
    }
}

/// Builds the template workbook.
pub fn workbook() -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold().set_background_color("#DDEBF7");
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet().set_name("Посылки")?;
    for (i, f) in Field::ALL.into_iter().enumerate() {
        let col = i as u16;
        ws.write_with_format(0, col, f.template_header(), &bold)?;
        ws.set_column_width(col, 22)?;
        // Text columns, so that Excel keeps leading zeros and long numbers as typed.
        if f != Field::Amount {
            ws.set_column_format(col, &text)?;
        }
    }
    let examples = [
        [
            "10100012000016",
            "A-1001",
            "Иванов Иван Иванович",
            "8 912 345-67-89",
            "ivan@example.ru",
            "1490,00",
            "Книга «Мастер и Маргарита»",
            "Почта России",
        ],
        [
            "RA644000005RU",
            "A-1002",
            "Петрова Мария",
            "+7 903 000-11-22",
            "",
            "0",
            "Футболка, 2 шт.",
            "",
        ],
    ];
    for (r, row) in examples.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write(r as u32 + 1, c as u16, *v)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    let help = wb.add_worksheet().set_name("Инструкция")?;
    help.write_with_format(0, 0, "Столбец", &bold)?;
    help.write_with_format(0, 1, "", &bold)?;
    help.write_with_format(0, 2, "Что писать", &bold)?;
    help.set_column_width(0, 22)?;
    help.set_column_width(1, 14)?;
    help.set_column_width(2, 100)?;
    for (i, f) in Field::ALL.into_iter().enumerate() {
        let (required, what) = explain(f);
        help.write(i as u32 + 1, 0, f.template_header())?;
        help.write(i as u32 + 1, 1, required)?;
        help.write(i as u32 + 1, 2, what)?;
    }
    let n = Field::ALL.len() as u32 + 2;
    help.write(
        n,
        0,
        "Заголовки можно писать по-русски или по-английски, в любом порядке и в любом падеже \
         («Сумма наложенного платежа, руб.», «Ф.И.О. получателя»); лишние столбцы, пустые строки \
         и строка «Итого» пропускаются. Повторная загрузка того же файла ничего не меняет; \
         исправленные данные обновляют посылку. Пустая ячейка оставляет прежнее значение, \
         одиночный «-» стирает его.",
    )?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_imports_as_is() {
        let bytes = workbook().unwrap();
        let t = crate::import::parse(&bytes, crate::import::Format::Xlsx, 10).unwrap();
        assert_eq!(t.columns.len(), Field::ALL.len());
        assert!(t.ignored.is_empty());
        assert_eq!(t.rows.len(), 2);
        for r in &t.rows {
            let v = crate::domain::intake::validate(r.draft.as_ref().unwrap()).unwrap();
            assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        }
    }

    #[test]
    fn the_csv_template_in_config_imports_as_is() {
        let bytes = include_bytes!("../../config/import-template.csv");
        let t = crate::import::parse(bytes, crate::import::Format::Csv, 10).unwrap();
        assert_eq!(t.columns.len(), Field::ALL.len());
        assert_eq!(t.rows.len(), 2);
        for r in &t.rows {
            let v = crate::domain::intake::validate(r.draft.as_ref().unwrap()).unwrap();
            assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        }
    }
}
