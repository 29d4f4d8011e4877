//! Rendering messages with minijinja: the context every template sees (the macros), the
//! sandbox it runs in, and the choice between a shop's own wording and the defaults.
//!
//! The sandbox: no loader (no file access: `include`, `import`, `extends` fail), only filters
//! and tests that cannot multiply text (no `replace`, `join`, `center`, `indent`, `format`),
//! a fuel limit (a loop cannot run away), a small recursion limit, strict undefined variables
//! (a typo in a macro is an error, not an empty string), HTML auto-escaping in HTML parts, and
//! a cap on the rendered size. [`super::validate`] refuses, when a shop saves a template, the
//! constructs that could still grow values without bound (`set`, `with`, `macro`, `*`).

use super::Rendered;
use super::dates;
use super::defaults::{self, Part};
use crate::domain::notification::{Channel, NotificationKind};
use crate::domain::outbox::{MessageFacts, OutboxEntry};
use crate::domain::outlook::MessageOutlook;
use crate::domain::shop::Language;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;

/// Fuel for one render: enough for any sensible message, far too little for a runaway loop.
const FUEL: u64 = 20_000;

/// The largest rendered part.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// A template failed to render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template}: {message}")]
pub struct RenderError {
    /// Which template.
    pub template: String,
    /// Why.
    pub message: String,
}

/// Everything a template can use. Absent values are `none`, so `{% if amount %}` works.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessageContext {
    /// The customer's full name.
    pub customer_name: String,
    /// The customer's first name.
    pub first_name: String,
    /// The customer's phone (shop messages).
    pub customer_phone: Option<String>,
    /// The customer's e-mail (shop messages).
    pub customer_email: Option<String>,
    /// The shop's order number.
    pub order_id: Option<String>,
    /// The track number.
    pub track: String,
    /// The carrier's name as customers know it.
    pub carrier: String,
    /// Amount due, `1 490,00 ₽`; none when prepaid.
    pub amount: Option<String>,
    /// What is inside.
    pub contents: Option<String>,
    /// The office's postal index.
    pub office_index: Option<String>,
    /// The office's short name.
    pub office_name: Option<String>,
    /// The office's street address.
    pub office_address: Option<String>,
    /// The office's opening hours.
    pub office_hours: Option<String>,
    /// The office's phone.
    pub office_phone: Option<String>,
    /// The storage deadline, `12 марта`.
    pub deadline: Option<String>,
    /// The storage deadline, `12.03.2027`.
    pub deadline_date: Option<String>,
    /// Whole days left before the deadline.
    pub days_left: Option<i64>,
    /// Days left in words, `3 дня`.
    pub days_left_text: Option<String>,
    /// The shop's name.
    pub shop_name: String,
    /// The shop's phone.
    pub shop_phone: Option<String>,
    /// A link to the parcel's tracking page (`<public_url>/t/<code>`, see [`crate::page`]).
    pub tracking_link: Option<String>,
    /// The shop's own tracking page (`tracking_url`), or the carrier's public one.
    pub shop_tracking_link: Option<String>,
    /// The one-click unsubscribe link.
    pub unsubscribe_link: Option<String>,
    /// The shop's review page.
    pub review_link: Option<String>,
    /// The status label.
    pub status: String,
    /// The earliest expected arrival at the office, `12 декабря`; none while no lane has
    /// enough finished journeys.
    pub expected_from: Option<String>,
    /// The latest expected arrival at the office, `14 декабря`.
    pub expected_to: Option<String>,
    /// The expected arrival as a range, `12–14 декабря` (one day when both are the same).
    pub expected: Option<String>,
    /// An earlier message told the customer the parcel was probably at the office: the
    /// arrival confirms it.
    pub was_probable: bool,
}

/// Links that depend on the deployment, not on the parcel.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The parcel's tracking page.
    pub tracking: Option<String>,
    /// The shop's tracking page, or the carrier's.
    pub shop_tracking: Option<String>,
    /// One-click unsubscribe.
    pub unsubscribe: Option<String>,
    /// The shop's review page.
    pub review: Option<String>,
}

/// Builds the context for a message.
pub fn context(
    facts: &MessageFacts,
    customer_contacts: (Option<String>, Option<String>),
    now: Timestamp,
    links: &Links,
) -> MessageContext {
    let tz = TimeZone::get(&facts.timezone).unwrap_or(TimeZone::UTC);
    let lang = facts.language;
    let days_left = facts
        .deadline
        .map(|d| ((d.as_second() - now.as_second()).max(0)) / 86_400);
    let office = facts.office.as_ref();
    MessageContext {
        customer_name: facts.customer_name.clone(),
        first_name: facts.first_name.clone(),
        customer_phone: customer_contacts.0,
        customer_email: customer_contacts.1,
        order_id: facts.order_id.clone(),
        track: facts.track.clone(),
        carrier: facts.carrier.display_ru().to_string(),
        amount: (!facts.cod.is_zero()).then(|| facts.cod.format_rub()),
        contents: facts.contents.clone(),
        office_index: office.and_then(|o| o.index.clone()),
        office_name: office.map(|o| o.name.clone()),
        office_address: office.and_then(|o| o.address.clone()),
        office_hours: office.and_then(|o| o.hours.clone()),
        office_phone: office.and_then(|o| o.phone.clone()),
        deadline: facts.deadline.map(|d| dates::day_month(d, &tz, lang)),
        deadline_date: facts.deadline.map(|d| dates::numeric(d, &tz)),
        days_left,
        days_left_text: days_left.map(|n| dates::days(n, lang)),
        shop_name: facts.shop_name.clone(),
        shop_phone: facts.shop_phone.clone(),
        tracking_link: links.tracking.clone(),
        shop_tracking_link: links.shop_tracking.clone(),
        unsubscribe_link: links.unsubscribe.clone(),
        review_link: links.review.clone(),
        status: match lang {
            Language::Ru => facts.status.label_ru().to_string(),
            Language::En => facts.status.as_str().replace('_', " "),
        },
        expected_from: None,
        expected_to: None,
        expected: None,
        was_probable: false,
    }
}

impl MessageContext {
    /// The context with what the message says of the outlook (expected arrival, an earlier
    /// "probably arrived"), in the recipient's time zone.
    pub fn with_outlook(mut self, o: &MessageOutlook, facts: &MessageFacts) -> MessageContext {
        let tz = TimeZone::get(&facts.timezone).unwrap_or(TimeZone::UTC);
        let lang = facts.language;
        if let (Some(from), Some(to)) = (o.expected_from, o.expected_to) {
            self.expected_from = Some(dates::day_month(from, &tz, lang));
            self.expected_to = Some(dates::day_month(to, &tz, lang));
            self.expected = Some(dates::range(from, to, &tz, lang));
        }
        self.was_probable = o.was_probable;
        self
    }
}

impl MessageContext {
    /// A typical parcel waiting at a distant office, with every macro set and realistic
    /// lengths: previews and the SMS length check render with it. The shop's own name, phone,
    /// language and links are used.
    pub fn sample(
        shop_name: &str,
        shop_phone: Option<&str>,
        language: Language,
        links: &Links,
    ) -> MessageContext {
        use crate::domain::carrier::CarrierId;
        use crate::domain::money::Kopecks;
        use crate::domain::parcel::Office;
        use crate::domain::status::Status;
        let now: Timestamp = "2027-09-08T07:00:00Z".parse().unwrap_or_default();
        let deadline: Timestamp = "2027-09-20T07:00:00Z".parse().unwrap_or_default();
        let (name, first) = match language {
            Language::Ru => ("Константинопольская Екатерина", "Екатерина"),
            Language::En => ("Catherine Constantinople", "Catherine"),
        };
        let facts = MessageFacts {
            shop_name: shop_name.to_string(),
            shop_phone: shop_phone.map(str::to_string),
            shop_email: None,
            language,
            customer_name: name.into(),
            first_name: first.into(),
            order_id: Some("A-100123".into()),
            track: "80082592345678".into(),
            carrier: CarrierId::RussianPost,
            cod: Kopecks(1_249_000),
            contents: Some("Книга «Мастер и Маргарита»".into()),
            status: Status::ArrivedAtPickup,
            office: Some(Office {
                index: Some("630099".into()),
                name: "Новосибирск 630099".into(),
                address: Some("Новосибирск, ул. Советская, 33".into()),
                hours: Some("пн–пт 08:00–20:00, сб 09:00–18:00".into()),
                phone: Some("8 800 100-00-00".into()),
            }),
            arrived_at: Some(now),
            deadline: Some(deadline),
            timezone: "Asia/Novosibirsk".into(),
        };
        let expected = crate::domain::outlook::MessageOutlook {
            expected_from: Some(deadline),
            expected_to: "2027-09-22T07:00:00Z".parse().ok(),
            was_probable: false,
        };
        context(
            &facts,
            (
                Some("+79123456789".into()),
                Some("customer@example.ru".into()),
            ),
            now,
            links,
        )
        .with_outlook(&expected, &facts)
    }

    /// [`Self::sample`] with the defaults' shop and links: every macro present.
    pub fn sample_shape() -> MessageContext {
        let link = |s: &str| Some(format!("https://parcels.example.ru/{s}"));
        MessageContext::sample(
            "Книжный дом",
            Some("+7 495 123-45-67"),
            Language::Ru,
            &Links {
                // A code has ten characters: the sample has the real length.
                tracking: link("t/K7pQ2xWm9Z"),
                shop_tracking: link("track?barcode=80082592345678"),
                unsubscribe: link(
                    "u/shop/80082592345678/sms/123456/0123456789abcdef0123456789abcdef",
                ),
                review: link("review"),
            },
        )
    }

    /// A prepaid parcel with nothing optional known: templates must render with it too.
    pub fn sparse_sample() -> MessageContext {
        let mut c = MessageContext::sample_shape();
        c.customer_name = String::new();
        c.first_name = String::new();
        c.customer_phone = None;
        c.customer_email = None;
        c.order_id = None;
        c.amount = None;
        c.contents = None;
        c.office_index = None;
        c.office_name = None;
        c.office_address = None;
        c.office_hours = None;
        c.office_phone = None;
        c.deadline = None;
        c.deadline_date = None;
        c.days_left = None;
        c.days_left_text = None;
        c.shop_phone = None;
        c.tracking_link = None;
        c.shop_tracking_link = None;
        c.unsubscribe_link = None;
        c.review_link = None;
        c.expected_from = None;
        c.expected_to = None;
        c.expected = None;
        c
    }
}

/// The compiled default templates.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

fn name(lang: Language, kind: NotificationKind, part: Part) -> String {
    let lang = match lang {
        Language::Ru => "ru",
        Language::En => "en",
    };
    let ext = if part == Part::Html { "html" } else { "txt" };
    format!("{lang}/{}/{}.{ext}", kind.as_str(), part.as_str())
}

/// A sandboxed environment: no loader, a short list of safe filters and tests, fuel, a small
/// recursion limit, strict undefined, HTML escaping for templates named `*.html`.
pub fn sandbox() -> Environment<'static> {
    use minijinja::filters as f;
    use minijinja::tests as t;
    let mut env = Environment::empty();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(16);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("upper", f::upper);
    env.add_filter("lower", f::lower);
    env.add_filter("title", f::title);
    env.add_filter("capitalize", f::capitalize);
    env.add_filter("trim", f::trim);
    env.add_filter("default", f::default);
    env.add_filter("d", f::default);
    env.add_filter("escape", f::escape);
    env.add_filter("e", f::escape);
    env.add_filter("urlencode", f::urlencode);
    env.add_filter("length", f::length);
    env.add_filter("first", f::first);
    env.add_filter("last", f::last);
    env.add_filter("string", f::string);
    env.add_filter("int", f::int);
    env.add_filter("abs", f::abs);
    env.add_filter("round", f::round);
    env.add_test("defined", t::is_defined);
    env.add_test("undefined", t::is_undefined);
    env.add_test("none", t::is_none);
    env.add_test("number", t::is_number);
    env.add_test("string", t::is_string);
    env.add_test("true", t::is_true);
    env.add_test("false", t::is_false);
    env.add_test("eq", t::is_eq);
    env.add_test("ne", t::is_ne);
    env.add_test("lt", t::is_lt);
    env.add_test("gt", t::is_gt);
    env
}

/// A writer that refuses to grow past [`MAX_OUTPUT`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            return Err(std::io::Error::other("output too long"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renders a compiled template within the size cap.
pub fn render_capped(
    t: &minijinja::Template<'_, '_>,
    ctx: &Value,
) -> Result<String, minijinja::Error> {
    let mut out = Capped(Vec::new());
    match t.render_captured_to(ctx, &mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out.0).into_owned()),
        Err(e) if e.kind() == minijinja::ErrorKind::WriteFailure => Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("the rendered text is longer than {} KiB", MAX_OUTPUT / 1024),
        )),
        Err(e) => Err(e),
    }
}

/// The name a shop's template is compiled under (HTML parts escape).
pub fn source_name(part: Part) -> &'static str {
    if part == Part::Html {
        "shop.html"
    } else {
        "shop.txt"
    }
}

/// Renders one template source in a fresh sandbox.
pub fn render_source(source: &str, part: Part, ctx: &Value) -> Result<String, minijinja::Error> {
    let mut env = sandbox();
    env.add_template_owned(source_name(part), source.to_string())?;
    let t = env.get_template(source_name(part))?;
    render_capped(&t, ctx)
}

impl Templates {
    /// Compiles the defaults. They are tested, so a failure here is a bug in this build.
    pub fn new() -> Result<Templates, RenderError> {
        let mut env = sandbox();
        for lang in [Language::Ru, Language::En] {
            for kind in NotificationKind::ALL {
                for part in Part::ALL {
                    let n = name(lang, kind, part);
                    env.add_template_owned(n.clone(), defaults::template(lang, kind, part))
                        .map_err(|e| RenderError {
                            template: n,
                            message: e.to_string(),
                        })?;
                }
            }
        }
        Ok(Templates { env })
    }

    fn render_part(
        &self,
        lang: Language,
        kind: NotificationKind,
        part: Part,
        ctx: &Value,
        overrides: &BTreeMap<Part, String>,
    ) -> Result<String, RenderError> {
        if let Some(source) = overrides.get(&part) {
            return render_source(source, part, ctx).map_err(|e| RenderError {
                template: format!("the shop's {kind} {part}"),
                message: e.to_string(),
            });
        }
        let n = name(lang, kind, part);
        let err = |e: minijinja::Error| RenderError {
            template: n.clone(),
            message: e.to_string(),
        };
        let t = self.env.get_template(&n).map_err(err)?;
        render_capped(&t, ctx).map_err(err)
    }

    /// Renders an entry's message, with the shop's own templates (`overrides`) where it has
    /// them and the defaults elsewhere.
    pub fn render(
        &self,
        entry: &OutboxEntry,
        customer_contacts: (Option<String>, Option<String>),
        now: Timestamp,
        links: &Links,
        overrides: &BTreeMap<Part, String>,
    ) -> Result<Rendered, RenderError> {
        let ctx = context(&entry.facts, customer_contacts, now, links)
            .with_outlook(&entry.outlook, &entry.facts);
        self.render_context(
            &ctx,
            entry.facts.language,
            entry.key.kind,
            entry.key.channel,
            overrides,
        )
    }

    /// Renders a message from its context.
    pub fn render_context(
        &self,
        ctx: &MessageContext,
        lang: Language,
        kind: NotificationKind,
        channel: Channel,
        overrides: &BTreeMap<Part, String>,
    ) -> Result<Rendered, RenderError> {
        let value = Value::from(Serde(ctx));
        match channel {
            Channel::Sms => Ok(Rendered::Sms {
                text: collapse(&self.render_part(lang, kind, Part::Sms, &value, overrides)?),
            }),
            Channel::Email => {
                let subject =
                    collapse(&self.render_part(lang, kind, Part::Subject, &value, overrides)?);
                let text = self.render_part(lang, kind, Part::Text, &value, overrides)?;
                let html_ctx = html_context(&value, &text);
                let html = self.render_part(lang, kind, Part::Html, &html_ctx, overrides)?;
                Ok(Rendered::Email {
                    subject,
                    text,
                    html,
                    attachments: Vec::new(),
                })
            }
        }
    }
}

/// The HTML part's context: the macros plus `text_lines`, the plain-text part line by line.
pub fn html_context(value: &Value, text: &str) -> Value {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    minijinja::context! { text_lines => lines, ..value.clone() }
}

/// One line, single spaces: SMS and subjects.
pub fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::carrier::CarrierId;
    use crate::domain::money::Kopecks;
    use crate::domain::outbox::OutboxKey;
    use crate::domain::parcel::Office;
    use crate::domain::status::Status;

    fn entry(kind: NotificationKind, channel: Channel, lang: Language) -> OutboxEntry {
        let deadline: Timestamp = "2027-03-12T09:00:00Z".parse().unwrap();
        OutboxEntry::new(
            OutboxKey {
                shop: crate::domain::shop::ShopId::from_trusted("acme"),
                track: crate::domain::track::TrackNumber::from_trusted("10100012000016"),
                parcel_id: 1,
                kind,
                occurrence: 1,
                channel,
            },
            "+79123456789".into(),
            MessageFacts {
                shop_name: "Книжный <Дом>".into(),
                shop_phone: Some("+7 495 000-00-00".into()),
                shop_email: None,
                language: lang,
                customer_name: "Иванов Иван".into(),
                first_name: "Иван".into(),
                order_id: Some("A-1001".into()),
                track: "10100012000016".into(),
                carrier: CarrierId::RussianPost,
                cod: Kopecks(149_000),
                contents: Some("Книга".into()),
                status: Status::ArrivedAtPickup,
                office: Some(Office {
                    index: Some("101000".into()),
                    name: "Москва 101000".into(),
                    address: Some("Москва, ул. Мясницкая, 26".into()),
                    hours: Some("пн–пт 08:00–20:00".into()),
                    phone: None,
                }),
                arrived_at: None,
                deadline: Some(deadline),
                timezone: "Europe/Moscow".into(),
            },
            deadline,
            deadline,
        )
    }

    fn now() -> Timestamp {
        "2027-03-09T09:00:00Z".parse().unwrap()
    }

    #[test]
    fn arrival_sms_says_what_the_customer_needs_in_two_segments() {
        let t = Templates::new().unwrap();
        let Rendered::Sms { text } = t
            .render(
                &entry(NotificationKind::Arrived, Channel::Sms, Language::Ru),
                (None, None),
                now(),
                &Links::default(),
                &BTreeMap::new(),
            )
            .unwrap()
        else {
            panic!()
        };
        for needle in [
            "A-1001",
            "101000",
            "Мясницкая, 26",
            "12 марта",
            "1\u{a0}490,00 ₽",
            "10100012000016",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
        assert!(
            text.chars().count() <= 134,
            "{} chars: {text}",
            text.chars().count()
        );
    }

    #[test]
    fn customer_sms_carry_the_tracking_page_and_the_arrival_the_address_too() {
        let t = Templates::new().unwrap();
        let links = Links {
            tracking: Some("https://parcels.example.ru/t/K7pQ2xWm9Z".into()),
            ..Links::default()
        };
        for kind in [
            NotificationKind::Accepted,
            NotificationKind::Arrived,
            NotificationKind::Reminder,
            NotificationKind::LastReminder,
        ] {
            for lang in [Language::Ru, Language::En] {
                let e = entry(kind, Channel::Sms, lang);
                let Rendered::Sms { text } = t
                    .render(&e, (None, None), now(), &links, &BTreeMap::new())
                    .unwrap()
                else {
                    panic!()
                };
                assert!(
                    text.ends_with(" https://parcels.example.ru/t/K7pQ2xWm9Z"),
                    "{text}"
                );
                // The arrival says where, the others leave it to the page.
                assert_eq!(
                    text.contains("Мясницкая"),
                    kind == NotificationKind::Arrived,
                    "{text}"
                );
                let seg = crate::notify::render::segments::count(&text);
                let max = if kind == NotificationKind::Arrived {
                    3
                } else {
                    2
                };
                assert!(seg.parts <= max, "{kind} {lang:?}: {seg:?} {text}");
                let Rendered::Email { text, html, .. } = t
                    .render(
                        &entry(kind, Channel::Email, lang),
                        (None, None),
                        now(),
                        &links,
                        &BTreeMap::new(),
                    )
                    .unwrap()
                else {
                    panic!()
                };
                assert!(
                    text.contains("https://parcels.example.ru/t/K7pQ2xWm9Z"),
                    "{text}"
                );
                assert!(
                    html.contains(
                        "<a href=\"https:&#x2f;&#x2f;parcels.example.ru&#x2f;t&#x2f;K7pQ2xWm9Z\""
                    ),
                    "{html}"
                );
            }
        }
    }

    #[test]
    fn every_default_renders_in_both_languages() {
        let t = Templates::new().unwrap();
        for lang in [Language::Ru, Language::En] {
            for kind in NotificationKind::ALL {
                for channel in Channel::ALL {
                    let r = t.render(
                        &entry(kind, channel, lang),
                        (Some("+79123456789".into()), None),
                        now(),
                        &Links {
                            unsubscribe: Some("http://x/u?a=1&b=2".into()),
                            ..Links::default()
                        },
                        &BTreeMap::new(),
                    );
                    let r = r.unwrap_or_else(|e| panic!("{lang:?} {kind} {channel}: {e}"));
                    if let Rendered::Sms { text } = &r {
                        assert!(text.chars().count() <= 160, "{kind} {lang:?}: {text}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_shops_own_template_replaces_the_default_part() {
        let t = Templates::new().unwrap();
        let mut own = BTreeMap::new();
        own.insert(
            Part::Sms,
            "{{ first_name|upper }}, заберите {{ track }}".to_string(),
        );
        own.insert(Part::Text, "Текст <{{ shop_name }}>".to_string());
        let Rendered::Sms { text } = t
            .render(
                &entry(NotificationKind::Arrived, Channel::Sms, Language::Ru),
                (None, None),
                now(),
                &Links::default(),
                &own,
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(text, "ИВАН, заберите 10100012000016");
        let Rendered::Email {
            text,
            html,
            subject,
            ..
        } = t
            .render(
                &entry(NotificationKind::Arrived, Channel::Email, Language::Ru),
                (None, None),
                now(),
                &Links::default(),
                &own,
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(text, "Текст <Книжный <Дом>>");
        assert!(
            html.contains("Текст &lt;Книжный &lt;Дом&gt;&gt;"),
            "the default HTML shows the shop's text: {html}"
        );
        assert!(subject.contains("A-1001"), "the default subject stays");
    }

    #[test]
    fn the_sandbox_has_no_files_no_runaway_loops_and_no_huge_output() {
        let ctx = Value::from(Serde(&context(
            &entry(NotificationKind::Arrived, Channel::Sms, Language::Ru).facts,
            (None, None),
            now(),
            &Links::default(),
        )));
        let e = render_source("{% include \"/etc/passwd\" %}", Part::Sms, &ctx).unwrap_err();
        assert!(e.to_string().contains("template"), "{e}");
        let e = render_source(
            "{% for a in text %}{% endfor %}{% for x in track %}{% for y in track %}{% for z in track %}{{ z }}{% endfor %}{% endfor %}{% endfor %}",
            Part::Sms,
            &ctx,
        );
        assert!(e.is_err(), "out of fuel or undefined");
        let e = render_source(
            "{% for w in track %}{% for x in track %}{% for y in track %}{% for z in track %}{{ z }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
            Part::Sms,
            &ctx,
        )
        .unwrap_err();
        assert!(e.to_string().contains("fuel"), "{e}");
        let e = render_source("{{ \"x\" * 100000 }}", Part::Sms, &ctx).unwrap_err();
        assert!(e.to_string().contains("longer than 64 KiB"), "{e}");
        for f in [
            "replace(\"\", \"xx\")",
            "center(100)",
            "join(\",\")",
            "format(1)",
        ] {
            let e = render_source(&format!("{{{{ track|{f} }}}}"), Part::Sms, &ctx).unwrap_err();
            assert!(e.to_string().contains("unknown filter"), "{f}: {e}");
        }
        let e = render_source("{{ range(10) }}", Part::Sms, &ctx).unwrap_err();
        assert!(e.to_string().contains("range"), "{e}");
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::new().unwrap();
        let Rendered::Email {
            subject,
            text,
            html,
            ..
        } = t
            .render(
                &entry(NotificationKind::Arrived, Channel::Email, Language::Ru),
                (None, None),
                now(),
                &Links {
                    unsubscribe: Some("http://x/u?a=1&b=2".into()),
                    ..Links::default()
                },
                &BTreeMap::new(),
            )
            .unwrap()
        else {
            panic!()
        };
        assert!(subject.contains("A-1001"));
        assert!(text.contains("Книжный <Дом>"));
        assert!(html.contains("Книжный &lt;Дом&gt;"));
        assert!(!html.contains("<Дом>"));
        assert!(html.contains("a=1&amp;b=2\""), "{html}");
        assert!(text.contains("ещё 3 дня"), "{text}");
        assert!(text.contains("Часы работы: пн–пт 08:00–20:00"));
    }
}
