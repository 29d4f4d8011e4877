//! Checking a shop's template before it is saved: syntax, constructs the sandbox does not allow,
//! unknown macros, errors when rendered with a sample parcel, and, for SMS, the number of
//! segments against `sms.max_segments`. Every problem comes back with the line, the column and
//! the reason, so the shop can fix it; nothing is truncated later at send time.

use super::segments::{self, Segments};
use super::templates::{self, MessageContext, render_source};
use crate::domain::template::Part;
use minijinja::value::{Serde, Value};
use std::collections::BTreeSet;

/// The largest template source accepted.
pub const MAX_SOURCE: usize = 16 * 1024;

/// What is wrong with a template, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct TemplateError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

/// Tags that could store or repeat values without bound, or reach other templates.
const FORBIDDEN_TAGS: [&str; 14] = [
    "set",
    "with",
    "macro",
    "call",
    "include",
    "import",
    "from",
    "extends",
    "block",
    "autoescape",
    "do",
    "endset",
    "endwith",
    "endmacro",
];

/// Line and column (1-based, characters) of a byte offset.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn error_at(source: &str, offset: usize, reason: impl Into<String>) -> TemplateError {
    let (line, column) = position(source, offset);
    TemplateError {
        line,
        column,
        reason: reason.into(),
    }
}

/// Refuses the constructs the sandbox does not allow: the tags above and the `*` operator,
/// anywhere inside `{{ }}` or `{% %}` (outside string literals).
fn check_constructs(source: &str) -> Result<(), TemplateError> {
    let bytes = source.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let open = &bytes[i..i + 2];
        let close: &[u8] = match open {
            b"{{" => b"}}",
            b"{%" => b"%}",
            b"{#" => {
                i = find(bytes, i + 2, b"#}").map_or(bytes.len(), |e| e + 2);
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i + 2;
        if open == b"{%" {
            let mut j = start;
            while j < bytes.len() && (bytes[j] == b'-' || bytes[j] == b'+' || bytes[j] == b'~') {
                j += 1;
            }
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let word_end = (j..bytes.len())
                .find(|&k| !(bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_'))
                .unwrap_or(bytes.len());
            let word = &source[j..word_end];
            if FORBIDDEN_TAGS.contains(&word) {
                return Err(error_at(
                    source,
                    j,
                    format!(
                        "the {word:?} tag is not allowed in message templates; use if, for and the macros"
                    ),
                ));
            }
            if word == "raw" {
                i = find(bytes, word_end, b"endraw").map_or(bytes.len(), |e| e + 6);
                continue;
            }
        }
        let mut j = start;
        let mut quote: Option<u8> = None;
        while j < bytes.len() {
            let b = bytes[j];
            match quote {
                Some(_) if b == b'\\' => j += 1,
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if bytes[j..].starts_with(close) => break,
                None if b == b'*' => {
                    return Err(error_at(
                        source,
                        j,
                        "the * operator is not allowed in message templates",
                    ));
                }
                None => {}
            }
            j += 1;
        }
        i = j + 2;
    }
    Ok(())
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The macros a template may use.
pub fn macro_names(part: Part) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = match serde_json::to_value(MessageContext::sample_shape()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => BTreeSet::new(),
    };
    names.insert("loop".into());
    if part == Part::Html {
        names.insert("text_lines".into());
    }
    names
}

/// The first whole-word occurrence of `name` inside a template block, for error positions.
fn occurrence(source: &str, name: &str) -> usize {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    source
        .match_indices(name)
        .find(|(i, _)| {
            !word(source[..*i].chars().next_back())
                && !word(source[i + name.len()..].chars().next())
        })
        .map_or(0, |(i, _)| i)
}

fn from_minijinja(source: &str, e: &minijinja::Error) -> TemplateError {
    let reason = e
        .detail()
        .map(|d| format!("{}: {d}", e.kind()))
        .unwrap_or_else(|| e.kind().to_string());
    match (e.range(), e.line()) {
        (Some(r), _) => error_at(source, r.start, reason),
        (None, Some(line)) => TemplateError {
            line,
            column: 1,
            reason,
        },
        (None, None) => TemplateError {
            line: 1,
            column: 1,
            reason,
        },
    }
}

/// A template that passed, rendered with the sample parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The sample rendering (SMS and subject on one line).
    pub preview: String,
    /// For SMS, what the sample costs.
    pub segments: Option<Segments>,
}

/// Checks a shop's template for one part. `samples` are contexts it must render with (a full
/// one first: its rendering is the preview and is measured); `max_segments` limits SMS.
pub fn check(
    source: &str,
    part: Part,
    samples: &[MessageContext],
    max_segments: u32,
) -> Result<Checked, TemplateError> {
    if source.len() > MAX_SOURCE {
        return Err(error_at(
            source,
            0,
            format!("the template is longer than {} KiB", MAX_SOURCE / 1024),
        ));
    }
    if source.trim().is_empty() {
        return Err(error_at(source, 0, "the template is empty"));
    }
    check_constructs(source)?;
    let mut env = templates::sandbox();
    env.add_template_owned(templates::source_name(part), source.to_string())
        .map_err(|e| from_minijinja(source, &e))?;
    let t = env
        .get_template(templates::source_name(part))
        .map_err(|e| from_minijinja(source, &e))?;
    let known = macro_names(part);
    let mut unknown: Vec<String> = t
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !known.contains(v))
        .collect();
    unknown.sort();
    if let Some(name) = unknown.first() {
        return Err(error_at(
            source,
            occurrence(source, name),
            format!(
                "unknown macro {name:?}; the macros are {}",
                known
                    .iter()
                    .filter(|n| n.as_str() != "loop")
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut preview = None;
    for sample in samples {
        let value = Value::from(Serde(sample));
        let value = if part == Part::Html {
            templates::html_context(&value, "Sample line one\nSample line two")
        } else {
            value
        };
        let out = render_source(source, part, &value).map_err(|e| from_minijinja(source, &e))?;
        preview.get_or_insert(out);
    }
    let preview = preview.unwrap_or_default();
    let preview = match part {
        Part::Sms | Part::Subject => templates::collapse(&preview),
        Part::Text | Part::Html => preview,
    };
    let segments = (part == Part::Sms).then(|| segments::count(&preview));
    if let Some(s) = segments
        && s.parts > max_segments
    {
        return Err(error_at(
            source,
            0,
            format!(
                "with a typical parcel the SMS needs {} segments ({} characters, {}); sms.max_segments allows {max_segments}",
                s.parts,
                s.chars,
                match s.encoding {
                    segments::Encoding::Gsm7 => "GSM-7: 160 per SMS, 153 per part",
                    segments::Encoding::Ucs2 => "UCS-2: 70 per SMS, 67 per part",
                }
            ),
        ));
    }
    if part == Part::Subject && preview.chars().count() > 200 {
        return Err(error_at(
            source,
            0,
            "the subject is longer than 200 characters",
        ));
    }
    Ok(Checked { preview, segments })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notification::NotificationKind;
    use crate::domain::shop::Language;
    use crate::notify::render::defaults;

    fn samples() -> Vec<MessageContext> {
        vec![
            MessageContext::sample_shape(),
            MessageContext::sparse_sample(),
        ]
    }

    fn err(source: &str, part: Part) -> TemplateError {
        check(source, part, &samples(), 2).unwrap_err()
    }

    #[test]
    fn every_default_passes() {
        for lang in [Language::Ru, Language::En] {
            for kind in NotificationKind::ALL {
                for part in Part::ALL {
                    let src = defaults::template(lang, kind, part);
                    // The arrival SMS carries the address too: three parts, the default limit.
                    let max = if kind == NotificationKind::Arrived {
                        3
                    } else {
                        2
                    };
                    check(&src, part, &samples(), max)
                        .unwrap_or_else(|e| panic!("{lang:?} {kind} {part}: {e}"));
                }
            }
        }
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = err("Заказ {{ order_id }}\nждёт {% if amount %}", Part::Sms);
        assert_eq!(e.line, 2, "{e}");
        assert!(e.reason.contains("syntax"), "{e}");
        let e = err("Hi {{ track ", Part::Sms);
        assert_eq!(e.line, 1, "{e}");
        assert!(e.column > 1, "{e}");
    }

    #[test]
    fn unknown_macros_are_named() {
        let e = err("Здравствуйте!\n  Трек: {{ trak }}", Part::Sms);
        assert_eq!((e.line, e.column), (2, 12), "{e}");
        assert!(
            e.reason.contains("\"trak\"") && e.reason.contains("track"),
            "{e}"
        );
        assert!(check("{{ text_lines }}", Part::Sms, &samples(), 2).is_err());
        assert!(
            check(
                "{% for l in text_lines %}{{ l }}{% endfor %}",
                Part::Html,
                &samples(),
                2
            )
            .is_ok()
        );
    }

    #[test]
    fn forbidden_constructs() {
        let e = err("a\n{%- set x = track %}{{ x }}", Part::Sms);
        assert_eq!((e.line, e.column), (2, 5), "{e}");
        assert!(e.reason.contains("\"set\""), "{e}");
        assert!(
            err("{% include 'x' %}", Part::Sms)
                .reason
                .contains("include")
        );
        assert!(
            err("{% macro f() %}{% endmacro %}", Part::Sms)
                .reason
                .contains("macro")
        );
        let e = err("{{ track * 3 }}", Part::Sms);
        assert_eq!(e.column, 10, "{e}");
        assert!(check("{{ \"*\" }} {# 2 * 2 #} * ok", Part::Sms, &samples(), 2).is_ok());
    }

    #[test]
    fn render_errors_and_runaway_loops() {
        let e = err(
            "{% for a in track %}{% for b in track %}{% for c in track %}{% for d in track %}.{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
            Part::Text,
        );
        assert!(e.reason.contains("fuel"), "{e}");
        let e = err("Осталось {{ days_left + 1 }}", Part::Sms);
        assert!(
            e.reason.contains("invalid operation"),
            "fails on the sparse sample: {e}"
        );
        assert_eq!((e.line, e.column), (1, 13), "{e}");
        let e = err("{{ track|replace('1', '2') }}", Part::Sms);
        assert!(e.reason.contains("unknown filter"), "{e}");
    }

    #[test]
    fn sms_longer_than_allowed_is_refused_with_the_count() {
        let long = "Заказ {{ order_id }} ждёт вас в отделении {{ office_index }}, {{ office_address }}, часы работы {{ office_hours }}, до {{ deadline }}. К оплате {{ amount }}. Трек {{ track }}. Магазин {{ shop_name }}";
        let e = err(long, Part::Sms);
        assert!(
            e.reason.contains("segments") && e.reason.contains("UCS-2"),
            "{e}"
        );
        let ok = check(long, Part::Sms, &samples(), 4).unwrap();
        assert!(ok.segments.unwrap().parts > 2);
        let short = check("Заказ {{ order_id }} ждёт", Part::Sms, &samples(), 1).unwrap();
        assert_eq!(short.segments.unwrap().parts, 1);
        assert!(
            short.preview.starts_with("Заказ A-1001"),
            "{}",
            short.preview
        );
    }

    #[test]
    fn positions() {
        assert_eq!(position("ab\ncdé f", 7), (2, 4));
        assert_eq!(position("x", 0), (1, 1));
    }
}
