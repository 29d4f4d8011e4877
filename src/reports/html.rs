//! The morning report as an e-mail a shop owner reads in a minute: the subject says what needs
//! attention, the top has the counts and the return rate beside the previous period's, then the
//! stuck parcels (highlighted red, with the customer's contacts and the last known place), then
//! what arrived, was collected and started back since yesterday. The HTML uses inline styles
//! only (mail clients drop style sheets); the text part says the same.

use super::morning::{Line, MorningReport};
use crate::domain::status::Status;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::fmt::Write;

/// The red of stuck rows, in the e-mail and the workbook.
pub const STUCK_RED: &str = "#F4CCCC";

/// How many lines a section shows in the e-mail; the workbook has them all.
pub const MAX_LINES: usize = 200;

/// The rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Escapes text for HTML (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A date and time in the shop's zone: `25.11.2026 08:15`.
pub fn when(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%d.%m.%Y %H:%M")
        .to_string()
}

/// A rate as a percentage: `12,5 %`.
pub fn percent(r: Option<f64>) -> String {
    match r {
        None => "—".into(),
        Some(r) => format!("{:.1} %", r * 100.0).replace('.', ","),
    }
}

fn order(l: &Line) -> String {
    match (&l.order_id, l.order_parcels) {
        (None, _) => String::new(),
        (Some(o), n) if n > 1 => format!("{o} ({n} посылки)"),
        (Some(o), _) => o.clone(),
    }
}

fn contacts(l: &Line) -> String {
    [l.phone.as_deref(), l.email.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the report.
pub fn render(r: &MorningReport) -> Rendered {
    let tz = TimeZone::get(&r.timezone).unwrap_or(TimeZone::UTC);
    let date = r.at.to_zoned(tz.clone()).strftime("%d.%m.%Y").to_string();
    let subject = if r.stuck.is_empty() {
        format!("{}: отчёт о посылках за {date}", r.shop_name)
    } else {
        format!(
            "{}: отчёт о посылках за {date} — застряло {}",
            r.shop_name,
            r.stuck.len()
        )
    };
    Rendered {
        text: text(r, &tz, &subject),
        html: html(r, &tz, &subject),
        subject,
    }
}

fn counts(r: &MorningReport) -> Vec<(&'static str, u64)> {
    Status::ALL
        .iter()
        .filter_map(|s| r.by_status.get(s).map(|n| (s.label_ru(), *n)))
        .collect()
}

/// The section of parcels probably at the office.
const PROBABLY: &str = "Вероятно, в отделении (почта не отметила прибытие, покупателю написали)";

/// How the "probably at the office" inferences came out, when any was judged.
fn probable_line(r: &MorningReport) -> Option<String> {
    let o = &r.probable_outcomes;
    let judged = o.confirmed + o.elsewhere;
    (judged > 0).then(|| {
        format!(
            "«Вероятно, в отделении»: подтвердилось {} из {}{}.",
            o.confirmed,
            judged,
            o.mean_days_earlier()
                .map(|d| format!(", в среднем на {d:.1} дн. раньше отметки почты"))
                .unwrap_or_default()
        )
    })
}

fn text(r: &MorningReport, tz: &TimeZone, subject: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{subject}\n");
    let _ = writeln!(t, "В пути и в отделениях: {}", r.live());
    for (label, n) in counts(r) {
        let _ = writeln!(t, "  {label}: {n}");
    }
    let _ = writeln!(
        t,
        "\nСо вчерашнего дня ({}): прибыло в отделение {}, вручено {}, возвращается {}.",
        when(r.since, tz),
        r.arrived.len(),
        r.delivered.len(),
        r.returning.len()
    );
    let _ = writeln!(
        t,
        "Доля возвратов за {} дн.: {} (за предыдущие {} дн.: {}).",
        r.period_days,
        percent(r.return_rate),
        r.period_days,
        percent(r.previous_return_rate)
    );
    if r.stuck.is_empty() {
        let _ = writeln!(
            t,
            "Застрявших посылок нет: у всех были события за последние {} дн.",
            r.stuck_after_days
        );
    }
    if let Some(line) = probable_line(r) {
        let _ = writeln!(t, "{line}");
    }
    for w in &r.webhooks {
        let _ = writeln!(t, "{w}");
    }
    for s in &r.stalled {
        let _ = writeln!(t, "{s}");
    }
    let sections: [(&str, &[Line]); 6] = [
        (
            "Застряли (нет движения дольше срока): позвоните покупателю и подайте заявку на розыск",
            &r.stuck,
        ),
        (
            "Служба доставки сообщает не то, что установлено вручную: проверьте статус",
            &r.contradicted,
        ),
        ("Прибыли в отделение", &r.arrived),
        (PROBABLY, &r.probably),
        ("Вручены", &r.delivered),
        ("Возвращаются", &r.returning),
    ];
    for (title, lines) in sections {
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(t, "\n{title} ({}):", lines.len());
        for l in lines.iter().take(MAX_LINES) {
            let _ = writeln!(
                t,
                "- {} {} | {} | {} | {} | {}{}",
                l.track,
                order(l),
                l.name,
                contacts(l),
                l.last_place,
                l.last_event_at.map(|a| when(a, tz)).unwrap_or_default(),
                match (l.stuck, note(l)) {
                    (true, n) if !n.is_empty() =>
                        format!(" | без движения {} дн.; {n}", l.silent_days),
                    (true, _) => format!(" | без движения {} дн.", l.silent_days),
                    (false, n) if !n.is_empty() => format!(" | {n}"),
                    _ => String::new(),
                }
            );
        }
        if lines.len() > MAX_LINES {
            let _ = writeln!(t, "… и ещё {} — во вложении.", lines.len() - MAX_LINES);
        }
    }
    let _ = writeln!(t, "\nВсе посылки — во вложенном файле Excel.");
    t
}

/// What a line says beyond its columns: polling stopped, or until when it is kept and why.
fn note(l: &Line) -> String {
    if let Some(c) = &l.contradiction {
        return format!("установлено вручную: {c}");
    }
    match (l.abandoned, &l.storage) {
        (true, _) => {
            "опрос остановлен: нет событий дольше срока (возобновить: parcelctl revive)".to_string()
        }
        (false, Some(storage)) => format!("хранится {storage}"),
        (false, None) => String::new(),
    }
}

fn table(h: &mut String, title: &str, lines: &[Line], tz: &TimeZone, red: bool) {
    if lines.is_empty() {
        return;
    }
    let _ = write!(
        h,
        r#"<h3 style="margin:18px 0 6px">{} ({})</h3><table cellpadding="4" cellspacing="0" style="border-collapse:collapse;font-size:13px"><tr style="background:#eeeeee"><th align="left">Трек</th><th align="left">Заказ</th><th align="left">Покупатель</th><th align="left">Телефон, e-mail</th><th align="left">Где</th><th align="left">Последнее событие</th><th align="left">Без движения, дн.</th><th align="left">Примечание</th></tr>"#,
        esc(title),
        lines.len()
    );
    for l in lines.iter().take(MAX_LINES) {
        let style = if red && l.stuck {
            format!(r#" class="stuck" style="background:{STUCK_RED}""#)
        } else {
            String::new()
        };
        let _ = write!(
            h,
            "<tr{style}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td align=\"right\">{}</td><td>{}</td></tr>",
            esc(&l.track),
            esc(&order(l)),
            esc(&l.name),
            esc(&contacts(l)),
            esc(&l.last_place),
            l.last_event_at.map(|a| when(a, tz)).unwrap_or_default(),
            l.silent_days,
            esc(&note(l))
        );
    }
    h.push_str("</table>");
    if lines.len() > MAX_LINES {
        let _ = write!(
            h,
            "<p>… и ещё {} — во вложенном файле.</p>",
            lines.len() - MAX_LINES
        );
    }
}

fn html(r: &MorningReport, tz: &TimeZone, subject: &str) -> String {
    let mut h = String::from(
        r#"<!doctype html><html><body style="font-family:Arial,sans-serif;font-size:14px;color:#222">"#,
    );
    let _ = write!(h, "<h2>{}</h2>", esc(subject));
    h.push_str(
        r#"<table id="counts" cellpadding="4" cellspacing="0" style="border-collapse:collapse">"#,
    );
    let _ = write!(
        h,
        r#"<tr><td><b>В пути и в отделениях</b></td><td align="right" data-status="live"><b>{}</b></td></tr>"#,
        r.live()
    );
    for s in Status::ALL {
        if let Some(n) = r.by_status.get(&s) {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td align="right" data-status="{}">{n}</td></tr>"#,
                s.label_ru(),
                s.as_str()
            );
        }
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<p>Со вчерашнего дня ({}): прибыло в отделение <b>{}</b>, вручено <b>{}</b>, возвращается <b>{}</b>.</p>",
        when(r.since, tz),
        r.arrived.len(),
        r.delivered.len(),
        r.returning.len()
    );
    let _ = write!(
        h,
        r#"<p>Доля возвратов за {} дн.: <b id="return-rate">{}</b> (за предыдущие {} дн.: <span id="previous-return-rate">{}</span>).</p>"#,
        r.period_days,
        percent(r.return_rate),
        r.period_days,
        percent(r.previous_return_rate)
    );
    if r.stuck.is_empty() {
        let _ = write!(
            h,
            "<p>Застрявших посылок нет: у всех были события за последние {} дн.</p>",
            r.stuck_after_days
        );
    } else {
        let _ = write!(
            h,
            r#"<p style="color:#a00000">Застряли: нет событий от службы доставки дольше {} дн. Позвоните покупателю и подайте заявку на розыск.</p>"#,
            r.stuck_after_days
        );
    }
    if let Some(line) = probable_line(r) {
        let _ = write!(h, r#"<p id="probable">{}</p>"#, esc(&line));
    }
    for w in &r.webhooks {
        let _ = write!(
            h,
            r#"<p class="webhook" style="color:#a00000">{}</p>"#,
            esc(w)
        );
    }
    for s in &r.stalled {
        let _ = write!(
            h,
            r#"<p class="stalled" style="color:#a00000">{}</p>"#,
            esc(s)
        );
    }
    table(&mut h, "Застряли", &r.stuck, tz, true);
    table(
        &mut h,
        "Служба доставки сообщает не то, что установлено вручную",
        &r.contradicted,
        tz,
        false,
    );
    table(&mut h, "Прибыли в отделение", &r.arrived, tz, false);
    table(&mut h, PROBABLY, &r.probably, tz, false);
    table(&mut h, "Вручены", &r.delivered, tz, false);
    table(&mut h, "Возвращаются", &r.returning, tz, false);
    h.push_str("<p>Все посылки — во вложенном файле Excel.</p></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::Rules;
    use crate::reports::morning::Builder;

    #[test]
    fn html_marks_stuck_rows_red_and_escapes() {
        let shop = crate::store::shops::tests::shop("acme", "h");
        let now = Timestamp::from_second(1_767_225_600 + 30 * 86_400).unwrap();
        let mut b = Builder::new(
            &shop,
            now,
            now - jiff::SignedDuration::from_hours(24),
            &Rules::default(),
            30,
        );
        let mut p = crate::reports::morning::tests::parcel(
            "SANDBOX-STUCK-1",
            "<A&B>",
            &[(1.0, crate::domain::status::Status::Accepted)],
        );
        p.customer.name = "Иванов <script>".into();
        b.parcel(&p);
        b.return_rates(Some(0.125), None);
        let r = render(&b.finish());
        assert!(r.subject.contains("застряло 1"), "{}", r.subject);
        assert!(r.html.contains(&format!(
            r#"<tr class="stuck" style="background:{STUCK_RED}"><td>SANDBOX-STUCK-1</td><td>&lt;A&amp;B&gt;</td><td>Иванов &lt;script&gt;</td>"#
        )), "{}", r.html);
        assert!(r.html.contains(r#"<b id="return-rate">12,5 %</b>"#));
        assert!(
            r.html
                .contains(r#"<span id="previous-return-rate">—</span>"#)
        );
        assert!(
            r.text
                .contains("SANDBOX-STUCK-1 <A&B> | Иванов <script> | +79123456789"),
            "{}",
            r.text
        );
    }
}
