//! Parcel tables uploaded as files to the real daemon: XLSX made here with rust_xlsxwriter,
//! checked-in samples as Russian Excel writes them (Windows-1251 with semicolons and declined
//! headers; merged header cells, empty rows, formulas and total lines), headers that only look
//! like a field named in warnings, a 50 000-row sheet, per-row outcomes with the row and column
//! the user sees, idempotent re-uploads, clearing a field with a dash, limits, plans, and files
//! that cannot be read changing nothing.

use crate::harness::{Daemon, set};
use crate::shopside_support::{XLSX, fixture, row, xlsx};
use parceld::api::dto::{ImportResponse, IntakeOutcome, PlanIn};
use parceld::client::ClientError;

const HEADER: [&str; 8] = [
    "Трек",
    "Заказ",
    "ФИО",
    "Телефон",
    "E-mail",
    "Сумма",
    "Состав",
    "Служба",
];

fn r(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

fn api_error(e: ClientError) -> (u16, String, String) {
    match e {
        ClientError::Api { status, error } => (status, error.code, error.message),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn xlsx_upload_answers_per_row_and_twice_changes_nothing() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let rows = vec![
        r(&[
            "SANDBOX-DELIVERED-1",
            "A-1",
            "Иванов Иван",
            "8 912 345-67-89",
            "ivan@example.ru",
            "1490,00",
            "Книга",
            "",
        ]),
        r(&[
            "SANDBOX-ARRIVED-2",
            "A-1",
            "Иванов Иван",
            "8 912 345-67-89",
            "",
            "0",
            "Закладка",
            "",
        ]),
        r(&["ABC", "A-2", "", "", "", "", "", ""]),
        r(&["", "", "", "", "", "", "", ""]),
        r(&["SANDBOX-STUCK-3", "B-1", "Петрова", "12", "", "", "", ""]),
        r(&["SANDBOX-DELIVERED-1", "A-9", "", "", "", "", "", ""]),
        r(&[
            "SANDBOX-LOST-4",
            "C-1",
            "",
            "+79160001122",
            "",
            "",
            "",
            "Почта России",
        ]),
    ];
    let file = xlsx(&HEADER, &rows);
    let res = d
        .socket
        .import_file("acme", file.clone(), XLSX)
        .await
        .unwrap();
    assert_eq!(res.format, "xlsx");
    assert_eq!(res.rows, 6, "the empty row is skipped");
    assert_eq!(
        (res.created, res.updated, res.unchanged, res.rejected),
        (2, 0, 0, 4)
    );
    assert_eq!(row(&res, 2).outcome, IntakeOutcome::Created);
    assert_eq!(row(&res, 3).outcome, IntakeOutcome::Created);
    let bad_track = row(&res, 4);
    assert_eq!(bad_track.outcome, IntakeOutcome::Rejected);
    assert_eq!(bad_track.errors[0].column, "Трек");
    assert!(bad_track.errors[0].message.contains("ABC"), "{bad_track:?}");
    let bad_phone = row(&res, 6);
    assert_eq!(
        (
            bad_phone.errors[0].column.as_str(),
            bad_phone.errors[0].field.as_str()
        ),
        ("Телефон", "customer.phone")
    );
    assert!(row(&res, 7).errors[0].message.contains("on row 2 already"));
    assert_eq!(row(&res, 8).errors[0].column, "Служба");

    // The good rows are there, found by order number, with the details from the sheet.
    let order = d
        .socket
        .list("acme", &[("order_id", "A-1".into())])
        .await
        .unwrap();
    assert_eq!(order.parcels.len(), 2);
    let p = d
        .socket
        .parcel("acme", "SANDBOX-DELIVERED-1")
        .await
        .unwrap();
    assert_eq!(p.customer.phone.as_deref(), Some("+79123456789"));
    assert_eq!(p.cod_amount, "1490.00");
    assert_eq!(p.contents.as_deref(), Some("Книга"));

    // The same file again changes nothing.
    let again = d.socket.import_file("acme", file, XLSX).await.unwrap();
    assert_eq!(
        (
            again.created,
            again.updated,
            again.unchanged,
            again.rejected
        ),
        (0, 0, 2, 4)
    );
    // A corrected file updates what changed.
    let mut fixed = rows.clone();
    fixed[0][3] = "+7 999 000-11-22".into();
    let upd = d
        .socket
        .import_file("acme", xlsx(&HEADER, &fixed), XLSX)
        .await
        .unwrap();
    assert_eq!((upd.created, upd.updated, upd.unchanged), (0, 1, 1));
    let p = d
        .socket
        .parcel("acme", "SANDBOX-DELIVERED-1")
        .await
        .unwrap();
    assert_eq!(p.customer.phone.as_deref(), Some("+79990001122"));

    // A shop uploads over TCP with its token; the template needs none.
    let token = d.create_shop("other").await;
    let shop = d.shop_client(Some(&token));
    let res = shop
        .import_file("other", xlsx(&HEADER, &rows[..1]), XLSX)
        .await
        .unwrap();
    assert_eq!(res.created, 1);
    let (status, _, _) = api_error(shop.import_file("acme", vec![1], XLSX).await.unwrap_err());
    assert_eq!(status, 403);
    let template = d.shop_client(None).import_template().await.unwrap();
    let t = d.socket.import_file("other", template, XLSX).await.unwrap();
    assert_eq!(t.columns.len(), 9, "{t:?}");
    assert!(t.ignored_columns.is_empty());
    assert!(t.warnings.is_empty() && t.skipped_rows.is_empty(), "{t:?}");
}

#[tokio::test]
async fn russian_excel_samples() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;

    let res = d
        .socket
        .import_file("acme", fixture("excel-1251-semicolon.csv"), "text/csv")
        .await
        .unwrap();
    assert_eq!(res.format, "csv");
    assert_eq!(res.detected.as_deref(), Some("windows-1251, separator ';'"));
    assert_eq!(res.ignored_columns, ["Примечание"]);
    assert_eq!(res.rows, 4);
    assert_eq!(row(&res, 2).outcome, IntakeOutcome::Created);
    assert_eq!(row(&res, 4).outcome, IntakeOutcome::Created);
    assert_eq!(row(&res, 5).errors[0].column, "Трек-номер");
    assert_eq!(row(&res, 6).errors[0].column, "E-mail");
    let p = d.socket.parcel("acme", "RA644000002RU").await.unwrap();
    assert_eq!(p.customer.name, "Кузнецова Ольга");
    assert_eq!(p.cod_amount, "1250.50");
    let p = d.socket.parcel("acme", "10100012000030").await.unwrap();
    assert_eq!(p.contents.as_deref(), Some("Чайник; 2 шт."));

    let res = d
        .socket
        .import_file("acme", fixture("merged-header.xlsx"), XLSX)
        .await
        .unwrap();
    let cols: Vec<(&str, &str)> = res
        .columns
        .iter()
        .map(|c| (c.field.as_str(), c.header.as_str()))
        .collect();
    assert_eq!(
        cols,
        [
            ("track", "Трек-номер"),
            ("order_id", "№ заказа"),
            ("customer.name", "ФИО"),
            ("customer.phone", "Телефон"),
            ("customer.email", "E-mail"),
            ("cod_amount", "Сумма, руб."),
            ("contents", "Состав"),
        ]
    );
    assert_eq!(res.ignored_columns, ["Вес, кг"]);
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
    assert_eq!((res.rows, res.created, res.rejected), (3, 2, 1));
    assert_eq!(row(&res, 4).outcome, IntakeOutcome::Created);
    assert_eq!(row(&res, 7).outcome, IntakeOutcome::Created);
    assert_eq!(row(&res, 8).errors[0].column, "Телефон");
    // The total line ("Итого" and a SUM formula) is passed over, not refused.
    let skipped: Vec<usize> = res.skipped_rows.iter().map(|s| s.row).collect();
    assert_eq!(skipped, [10]);
    assert!(res.results.iter().all(|r| r.row != 10), "{res:?}");
    let p = d.socket.parcel("acme", "10100012000016").await.unwrap();
    assert_eq!(p.cod_amount, "1490.00", "the formula's saved value");
    assert_eq!(p.customer.phone.as_deref(), Some("+79123456789"));
    let order = d
        .socket
        .list("acme", &[("order_id", "R-1".into())])
        .await
        .unwrap();
    assert_eq!(order.parcels.len(), 2);
}

fn warned(res: &ImportResponse) -> Vec<(&str, Vec<&str>)> {
    res.warnings
        .iter()
        .map(|w| {
            let fields = w.looks_like.iter().map(String::as_str).collect();
            (w.column.as_str(), fields)
        })
        .collect()
}

fn columns(res: &ImportResponse) -> Vec<(&str, &str)> {
    res.columns
        .iter()
        .map(|c| (c.field.as_str(), c.header.as_str()))
        .collect()
}

#[tokio::test]
async fn declined_headers_warnings_and_a_total_row_in_excel_csv() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let res = d
        .socket
        .import_file("acme", fixture("excel-1251-declined.csv"), "text/csv")
        .await
        .unwrap();
    assert_eq!(res.detected.as_deref(), Some("windows-1251, separator ';'"));
    assert_eq!(
        columns(&res),
        [
            ("track", "Трек номер посылки"),
            ("order_id", "Номер заказа в магазине"),
            ("customer.name", "Ф.И.О. получателя"),
            ("customer.phone", "Телефон получателя"),
            ("customer.email", "Email получателя"),
            ("cod_amount", "Сумма наложенного платежа, руб."),
            ("contents", "Состав заказа"),
            ("storage_days", "Срок хранения, дней"),
        ]
    );
    assert_eq!(
        res.ignored_columns,
        ["№ п/п", "Сумма заказа", "Дата заказа", "Адрес получателя"]
    );
    // The order's total and date look like fields and are named; the address is just ignored.
    assert_eq!(
        warned(&res),
        [
            ("Сумма заказа", vec!["order_id", "cod_amount"]),
            ("Дата заказа", vec!["order_id"]),
        ]
    );
    assert!(
        res.warnings[0].message.contains("\"Сумма НП\""),
        "{:?}",
        res.warnings
    );
    assert_eq!(res.skipped_rows.len(), 1, "{:?}", res.skipped_rows);
    assert_eq!(res.skipped_rows[0].row, 7);
    assert!(res.skipped_rows[0].reason.contains("Итого"));
    assert_eq!((res.rows, res.created, res.rejected), (3, 3, 0), "{res:?}");

    let p = d.socket.parcel("acme", "10100012000016").await.unwrap();
    assert_eq!(p.order_id.as_deref(), Some("L-101"));
    assert_eq!(p.customer.name, "Смирнова Анна Сергеевна");
    assert_eq!(p.customer.phone.as_deref(), Some("+79165550101"));
    assert_eq!(p.customer.email.as_deref(), Some("anna@example.ru"));
    assert_eq!(p.cod_amount, "1490.00");
    assert_eq!(p.contents.as_deref(), Some("Платок пуховый"));
    assert_eq!(p.storage_days, Some(30));
    let p = d.socket.parcel("acme", "RA644000005RU").await.unwrap();
    assert_eq!(p.customer.name, "Орлов Пётр");
    assert_eq!(p.contents.as_deref(), Some("Книги; 3 шт."));
    assert_eq!((p.customer.email, p.storage_days), (None, None));
    let p = d.socket.parcel("acme", "10100012000023").await.unwrap();
    assert_eq!(p.cod_amount, "990.50");

    // Handed over again: an empty cell keeps what is stored, a lone dash clears it.
    let again = "Трек-номер;Телефон покупателя;E-mail покупателя;Срок хранения, дней;Состав\r\n\
                 10100012000016;;-;-;Платок пуховый, серый\r\n";
    let res = d
        .socket
        .import_file("acme", again.as_bytes().to_vec(), "text/csv")
        .await
        .unwrap();
    assert_eq!((res.updated, res.rejected), (1, 0), "{res:?}");
    let p = d.socket.parcel("acme", "10100012000016").await.unwrap();
    assert_eq!(p.customer.phone.as_deref(), Some("+79165550101"));
    assert_eq!((p.customer.email, p.storage_days), (None, None));
    assert_eq!(p.contents.as_deref(), Some("Платок пуховый, серый"));
    assert_eq!(p.cod_amount, "1490.00");
}

#[tokio::test]
async fn xlsx_with_declined_headers_repeated_columns_and_total_rows() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let header = [
        "№",
        "Номер отправления",
        "ФИО покупателя",
        "Телефон",
        "Моб. телефон",
        "E-mail покупателя",
        "Наложенным платежом",
        "Сумма НП",
        "Вложение",
        "Служба доставки",
        "Дата отправления",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write(0, c as u16, *h).unwrap();
    }
    let first = [
        "10100012000030",
        "Сидоров Пётр",
        "8 903 111-22-33",
        "8 903 000-00-00",
        "petr@example.ru",
    ];
    ws.write(1, 0, 1).unwrap();
    for (c, v) in first.iter().enumerate() {
        ws.write(1, c as u16 + 1, *v).unwrap();
    }
    ws.write(1, 6, 1250.5).unwrap();
    ws.write(1, 7, 1250.5).unwrap();
    ws.write(1, 8, "Чайник").unwrap();
    ws.write(1, 9, "Почта России").unwrap();
    ws.write(1, 10, "01.12.2026").unwrap();
    ws.write(2, 0, 2).unwrap();
    ws.write(2, 1, "RA644000005RU").unwrap();
    ws.write(2, 2, "Белова Ольга").unwrap();
    ws.write(2, 3, 79_160_001_122_f64).unwrap();
    ws.write(2, 6, 0).unwrap();
    ws.write(2, 8, "Шарф").unwrap();
    // Totals: a label under the names with the sums beside it, and Excel's "Общий итог".
    ws.write(3, 2, "Всего:").unwrap();
    ws.write(3, 6, 1250.5).unwrap();
    ws.write(3, 7, 1250.5).unwrap();
    ws.write(5, 0, "Общий итог").unwrap();
    ws.write(5, 6, 1250.5).unwrap();
    let file = wb.save_to_buffer().unwrap();

    let res = d
        .socket
        .import_file("acme", file.clone(), XLSX)
        .await
        .unwrap();
    assert_eq!(
        columns(&res),
        [
            ("track", "Номер отправления"),
            ("customer.name", "ФИО покупателя"),
            ("customer.phone", "Телефон"),
            ("customer.email", "E-mail покупателя"),
            ("cod_amount", "Наложенным платежом"),
            ("contents", "Вложение"),
            ("carrier", "Служба доставки"),
        ]
    );
    assert_eq!(
        warned(&res),
        [
            ("Моб. телефон", vec!["customer.phone"]),
            ("Сумма НП", vec!["cod_amount"]),
            ("Дата отправления", vec!["track"]),
        ]
    );
    assert!(
        res.warnings[1]
            .message
            .contains("\"Наложенным платежом\" already gives cod_amount"),
        "{:?}",
        res.warnings
    );
    let skipped: Vec<usize> = res.skipped_rows.iter().map(|s| s.row).collect();
    assert_eq!(skipped, [4, 6]);
    assert_eq!((res.rows, res.created, res.rejected), (2, 2, 0), "{res:?}");
    let p = d.socket.parcel("acme", "10100012000030").await.unwrap();
    assert_eq!(p.customer.name, "Сидоров Пётр");
    assert_eq!(p.customer.phone.as_deref(), Some("+79031112233"));
    assert_eq!(p.cod_amount, "1250.50");
    assert_eq!(p.carrier, "russian_post");
    let p = d.socket.parcel("acme", "RA644000005RU").await.unwrap();
    assert_eq!(p.customer.phone.as_deref(), Some("+79160001122"));
    assert_eq!(p.contents.as_deref(), Some("Шарф"));

    // parcelctl shows the warnings and the skipped rows.
    let path = d.path().join("declined.xlsx");
    std::fs::write(&path, &file).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_parcelctl"))
        .arg("--socket")
        .arg(d.path().join("run/control.sock"))
        .args(["import", "acme"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2 unchanged"), "{text}");
    assert!(
        text.contains("warning: column \"Дата отправления\" is not read"),
        "{text}"
    );
    assert!(text.contains("skipped row 6: a total row"), "{text}");
}

#[tokio::test]
async fn unreadable_files_change_nothing() {
    let d = Daemon::start_with(|c| set(&c, "import", "max_file_mb", "1")).await;
    d.create_shop("acme").await;
    let good = fixture("merged-header.xlsx");
    let junk: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let mut utf16 = Vec::new();
    for u in "Трек;Заказ\r\nSANDBOX-STUCK-1;A\r\n".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let (koi8, _, _) = encoding_rs::KOI8_R.encode("Трек;Заказ\r\nSANDBOX-STUCK-1;A\r\n");
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "truncated zip",
            good[..good.len() / 2].to_vec(),
            XLSX,
            "not a readable XLSX",
        ),
        (
            "binary junk",
            junk,
            "application/octet-stream",
            "neither a CSV",
        ),
        ("UTF-16 without BOM", utf16, "text/csv", "UTF-16"),
        ("KOI8-R", koi8.to_vec(), "text/csv", "Windows-1251"),
        (
            "old xls",
            vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
            XLSX,
            ".xls",
        ),
        ("empty", Vec::new(), "text/csv", "empty"),
        (
            "cell references beyond the sheet",
            fixture("absurd-references.xlsx"),
            XLSX,
            "outside the sheet",
        ),
    ];
    for (what, bytes, ct, needle) in cases {
        let (status, code, message) =
            api_error(d.socket.import_file("acme", bytes, ct).await.unwrap_err());
        assert_eq!(
            (status, code.as_str()),
            (400, "bad_file"),
            "{what}: {message}"
        );
        assert!(message.contains(needle), "{what}: {message}");
    }
    let big = vec![b'a'; 1024 * 1024 + 1];
    let (status, _, message) = api_error(
        d.socket
            .import_file("acme", big, "text/csv")
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 413);
    assert!(message.contains("import.max_file_mb"), "{message}");
    let list = d.socket.list("acme", &[]).await.unwrap();
    assert!(list.parcels.is_empty(), "nothing was stored: {list:?}");

    // Cells in A1 and XFD1048576 are two cells, not a rectangle of 17 billion: the table is
    // read, and the far cell is a row without a track number.
    let res = d
        .socket
        .import_file("acme", fixture("far-corners.xlsx"), XLSX)
        .await
        .unwrap();
    assert_eq!((res.rows, res.created, res.rejected), (2, 1, 1));
    assert_eq!(row(&res, 2).outcome, IntakeOutcome::Created);
    assert_eq!(row(&res, 1_048_576).errors[0].field, "track");
}

#[tokio::test]
async fn quota_refuses_rows_past_it_in_files_and_json() {
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    let plan = d
        .socket
        .set_plan(
            "acme",
            &PlanIn {
                name: "small".into(),
                monthly_quota: Some(2),
                trial_ends: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((plan.used, plan.remaining), (0, Some(2)));
    let rows: Vec<Vec<String>> = (1..=3)
        .map(|i| {
            r(&[
                &format!("SANDBOX-STUCK-{i}"),
                "Q",
                "",
                "+79160001122",
                "",
                "",
                "",
                "",
            ])
        })
        .collect();
    let res = d
        .socket
        .import_file("acme", xlsx(&HEADER, &rows), XLSX)
        .await
        .unwrap();
    assert_eq!((res.created, res.rejected), (2, 1));
    let refused = row(&res, 4);
    assert_eq!(refused.errors[0].field, "plan");
    assert!(
        refused.errors[0]
            .message
            .contains("quota of plan \"small\" is used up: 2 new parcels"),
        "{refused:?}"
    );
    // Handing over known parcels again is not new use.
    let again = d
        .socket
        .import_file("acme", xlsx(&HEADER, &rows[..2]), XLSX)
        .await
        .unwrap();
    assert_eq!(again.unchanged, 2);
    let json = d
        .socket
        .add_parcels("acme", &[crate::harness::parcel("SANDBOX-STUCK-9", "Q")])
        .await
        .unwrap();
    assert_eq!(json.rejected, 1);
    assert_eq!(json.results[0].errors[0].field, "plan");
    let stats = d.socket.stats(Some("acme"), None, None).await.unwrap();
    let p = stats.plan.unwrap();
    assert_eq!((p.used, p.remaining), (2, Some(0)));

    // A trial that ended refuses new parcels too.
    d.socket
        .set_plan(
            "acme",
            &PlanIn {
                name: "trial".into(),
                monthly_quota: None,
                trial_ends: Some("2020-01-31".into()),
            },
        )
        .await
        .unwrap();
    let json = d
        .socket
        .add_parcels("acme", &[crate::harness::parcel("SANDBOX-STUCK-9", "Q")])
        .await
        .unwrap();
    assert!(
        json.results[0].errors[0]
            .message
            .contains("ended on 2020-01-31")
    );
    // Shops cannot change their own plan.
    let token = d.create_shop("b").await;
    let (status, _, _) = api_error(
        d.shop_client(Some(&token))
            .set_plan(
                "b",
                &PlanIn {
                    name: "big".into(),
                    ..PlanIn::default()
                },
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
}

#[tokio::test]
async fn fifty_thousand_rows() {
    // Nothing is polled while the sheet is stored: the sandbox window opens in twelve hours.
    let opens = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Moscow").unwrap())
        .checked_add(jiff::SignedDuration::from_hours(12))
        .unwrap();
    let window = format!("\"{:02}:00-{:02}:30\"", opens.hour(), opens.hour());
    let d = Daemon::start_with(|c| {
        let c = set(&c, "carriers.sandbox", "window", &window);
        set(&c, "import", "max_rows", "50000")
    })
    .await;
    d.create_shop("bulk").await;
    let rows: Vec<Vec<String>> = (0..50_000)
        .map(|i| {
            r(&[
                &format!("SANDBOX-STUCK-{i}"),
                &format!("N-{}", i / 2),
                "Покупатель",
                &format!("+7916{:07}", i),
                "",
                "100",
                "",
                "",
            ])
        })
        .collect();
    let file = xlsx(&HEADER, &rows);
    let res = d.socket.import_file("bulk", file, XLSX).await.unwrap();
    assert_eq!((res.rows, res.created, res.rejected), (50_000, 50_000, 0));
    assert_eq!(res.results.last().unwrap().row, 50_001);
    let order = d
        .socket
        .list("bulk", &[("order_id", "N-24999".into())])
        .await
        .unwrap();
    assert_eq!(order.parcels.len(), 2);

    // One row more than allowed: a clear error, nothing stored.
    let mut more = rows[..2].to_vec();
    more.extend(
        (0..50_000).map(|i| r(&[&format!("SANDBOX-LOST-{i}"), "", "", "", "", "", "", ""])),
    );
    let (status, _, message) = api_error(
        d.socket
            .import_file("bulk", xlsx(&HEADER, &more), XLSX)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 413);
    assert!(
        message.contains("more than 50000 data rows (import.max_rows)"),
        "{message}"
    );
    assert!(d.socket.parcel("bulk", "SANDBOX-LOST-0").await.is_err());
}
