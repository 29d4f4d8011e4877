//! Rendering messages with minijinja: the context every template sees (the macros), the
//! sandbox it runs in, and the choice between a shop's own wording and the defaults.
//!
//! Templates run with a fuel limit (a loop cannot run away), no loader (no file access),
//! strict undefined variables (a typo in a macro is an error, not an empty string) and HTML
//! auto-escaping in HTML parts.

use super::Rendered;
use super::dates;
use super::defaults::{self, Part};
use crate::domain::notification::{Channel, NotificationKind};
use crate::domain::outbox::{MessageFacts, OutboxEntry};
use crate::domain::shop::Language;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// Fuel for one render: enough for any sensible message, far too little for a runaway loop.
const FUEL: u64 = 20_000;

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
    /// A link to the parcel's tracking page.
    pub tracking_link: Option<String>,
    /// The one-click unsubscribe link.
    pub unsubscribe_link: Option<String>,
    /// The shop's review page.
    pub review_link: Option<String>,
    /// The status label.
    pub status: String,
}

/// Links that depend on the deployment, not on the parcel.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Tracking page.
    pub tracking: Option<String>,
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
        unsubscribe_link: links.unsubscribe.clone(),
        review_link: links.review.clone(),
        status: match lang {
            Language::Ru => facts.status.label_ru().to_string(),
            Language::En => facts.status.as_str().replace('_', " "),
        },
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

/// A sandboxed environment: no loader, fuel, strict undefined, HTML escaping for `.html`.
pub fn sandbox() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
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
    ) -> Result<String, RenderError> {
        let n = name(lang, kind, part);
        let err = |e: minijinja::Error| RenderError {
            template: n.clone(),
            message: e.to_string(),
        };
        let t = self.env.get_template(&n).map_err(err)?;
        t.render(ctx).map_err(err)
    }

    /// Renders an entry's message.
    pub fn render(
        &self,
        entry: &OutboxEntry,
        customer_contacts: (Option<String>, Option<String>),
        now: Timestamp,
        links: &Links,
    ) -> Result<Rendered, RenderError> {
        let ctx = context(&entry.facts, customer_contacts, now, links);
        let lang = entry.facts.language;
        let kind = entry.key.kind;
        let value = Value::from(Serde(&ctx));
        match entry.key.channel {
            Channel::Sms => Ok(Rendered::Sms {
                text: collapse(&self.render_part(lang, kind, Part::Sms, &value)?),
            }),
            Channel::Email => {
                let subject = collapse(&self.render_part(lang, kind, Part::Subject, &value)?);
                let text = self.render_part(lang, kind, Part::Text, &value)?;
                let lines: Vec<String> = text.lines().map(str::to_string).collect();
                let html_ctx = minijinja::context! { text_lines => lines, ..value.clone() };
                let html = self.render_part(lang, kind, Part::Html, &html_ctx)?;
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

/// One line, single spaces: SMS and subjects.
fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::carrier::CarrierId;
    use crate::domain::money::Kopecks;
    use crate::domain::outbox::{DeliveryState, OutboxKey};
    use crate::domain::parcel::Office;
    use crate::domain::status::Status;

    fn entry(kind: NotificationKind, channel: Channel, lang: Language) -> OutboxEntry {
        let deadline: Timestamp = "2027-03-12T09:00:00Z".parse().unwrap();
        OutboxEntry {
            key: OutboxKey {
                shop: "acme".into(),
                track: "10100012000016".into(),
                parcel_id: 1,
                kind,
                occurrence: 1,
                channel,
            },
            recipient: "+79123456789".into(),
            facts: MessageFacts {
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
            state: DeliveryState::Pending,
            attempts: 0,
            created_at: deadline,
            next_attempt_at: deadline,
            claimed_at: None,
            sent_at: None,
            provider_id: None,
            delivery_status: None,
            last_error: None,
        }
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
