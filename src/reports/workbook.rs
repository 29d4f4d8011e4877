//! The report's workbook (rust_xlsxwriter): a "Посылки" sheet with every parcel on its way and
//! those that finished since yesterday, stuck ones first and filled red, with filters on the
//! header; and a "Сводка" sheet with the counts and return rates.

use super::html::{STUCK_RED, percent, when};
use super::morning::MorningReport;
use crate::domain::status::Status;
use jiff::tz::TimeZone;
use rust_xlsxwriter::{Color, Format, Workbook, XlsxError};

/// The sheet with the parcels.
pub const PARCELS_SHEET: &str = "Посылки";
/// The sheet with the counts.
pub const SUMMARY_SHEET: &str = "Сводка";

/// The parcels sheet's columns.
pub const HEADERS: [&str; 15] = [
    "Трек",
    "Служба",
    "Заказ",
    "Посылок в заказе",
    "ФИО",
    "Телефон",
    "E-mail",
    "Статус",
    "Последнее событие",
    "Где",
    "Дней без движения",
    "Застряла",
    "Сумма НП",
    "Срок хранения",
    "Опрос остановлен",
];

fn hex(c: &str) -> Color {
    u32::from_str_radix(c.trim_start_matches('#'), 16)
        .map(Color::RGB)
        .unwrap_or(Color::Red)
}

/// Builds the workbook.
pub fn build(r: &MorningReport) -> Result<Vec<u8>, XlsxError> {
    let tz = TimeZone::get(&r.timezone).unwrap_or(TimeZone::UTC);
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold().set_background_color("#DDEBF7");
    let red = Format::new().set_background_color(hex(STUCK_RED));
    let red_money = red.clone().set_num_format("#,##0.00");
    let money = Format::new().set_num_format("#,##0.00");

    let ws = wb.add_worksheet().set_name(PARCELS_SHEET)?;
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, l) in r.all.iter().enumerate() {
        let row = i as u32 + 1;
        let text = [
            l.track.clone(),
            l.carrier.clone(),
            l.order_id.clone().unwrap_or_default(),
        ];
        let fmt = l.stuck.then_some(&red);
        let put = |ws: &mut rust_xlsxwriter::Worksheet, col: u16, v: &str| match fmt {
            Some(f) => ws.write_string_with_format(row, col, v, f).map(|_| ()),
            None => ws.write_string(row, col, v).map(|_| ()),
        };
        for (c, v) in text.iter().enumerate() {
            put(ws, c as u16, v)?;
        }
        let parcels = if l.order_parcels > 1 {
            l.order_parcels.to_string()
        } else {
            String::new()
        };
        put(ws, 3, &parcels)?;
        put(ws, 4, &l.name)?;
        put(ws, 5, l.phone.as_deref().unwrap_or(""))?;
        put(ws, 6, l.email.as_deref().unwrap_or(""))?;
        put(ws, 7, l.status.label_ru())?;
        put(
            ws,
            8,
            &l.last_event_at.map(|a| when(a, &tz)).unwrap_or_default(),
        )?;
        put(ws, 9, &l.last_place)?;
        match fmt {
            Some(f) => ws.write_number_with_format(row, 10, l.silent_days as f64, f)?,
            None => ws.write_number(row, 10, l.silent_days as f64)?,
        };
        put(ws, 11, if l.stuck { "да" } else { "" })?;
        let rub = l.cod.0 as f64 / 100.0;
        match fmt {
            Some(_) => ws.write_number_with_format(row, 12, rub, &red_money)?,
            None => ws.write_number_with_format(row, 12, rub, &money)?,
        };
        put(ws, 13, l.storage.as_deref().unwrap_or(""))?;
        put(ws, 14, if l.abandoned { "да" } else { "" })?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, r.all.len() as u32, HEADERS.len() as u16 - 1)?;
    for (c, w) in [18, 12, 12, 8, 28, 14, 24, 24, 17, 36, 10, 9, 11, 40, 9]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w)?;
    }

    let s = wb.add_worksheet().set_name(SUMMARY_SHEET)?;
    let mut row = 0;
    let mut line = |s: &mut rust_xlsxwriter::Worksheet, k: &str, v: String| {
        let r = row;
        row += 1;
        s.write(r, 0, k)?;
        s.write(r, 1, v)?;
        Ok::<(), XlsxError>(())
    };
    line(s, "Магазин", r.shop_name.clone())?;
    line(s, "Отчёт на", when(r.at, &tz))?;
    line(s, "В пути и в отделениях", r.live().to_string())?;
    for st in Status::ALL {
        if let Some(n) = r.by_status.get(&st) {
            line(s, st.label_ru(), n.to_string())?;
        }
    }
    line(s, "Застряли", r.stuck.len().to_string())?;
    line(s, "Прибыли со вчера", r.arrived.len().to_string())?;
    line(s, "Вручены со вчера", r.delivered.len().to_string())?;
    line(s, "Возвращаются со вчера", r.returning.len().to_string())?;
    line(
        s,
        &format!("Доля возвратов, {} дн.", r.period_days),
        percent(r.return_rate),
    )?;
    line(
        s,
        &format!("Доля возвратов, предыдущие {} дн.", r.period_days),
        percent(r.previous_return_rate),
    )?;
    s.set_column_width(0, 36)?;
    s.set_column_width(1, 20)?;
    wb.save_to_buffer()
}
