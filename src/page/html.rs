//! The tracking page's HTML: server-rendered with minijinja templates (`templates/*.html`),
//! HTML auto-escaping every value, one inline style sheet, no scripts, nothing loaded from
//! other sites except the shop's logo (by its own URL, without a referrer). The response's
//! content security policy ([`security_policy`]) holds the browser to that.

use super::view::{PageView, ShopCard, shop_card};
use super::words::{self, Words};
use crate::domain::brand;
use crate::domain::shop::{Language, Shop};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use std::sync::OnceLock;

/// A template failed to render (a bug in this build: the templates are tested).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the tracking page cannot be rendered: {0}")]
pub struct HtmlError(String);

fn env() -> Result<&'static Environment<'static>, HtmlError> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("page.html", include_str!("templates/page.html")),
            ("form.html", include_str!("templates/form.html")),
            ("message.html", include_str!("templates/message.html")),
        ] {
            env.add_template(name, source).map_err(|e| e.to_string())?;
        }
        Ok(env)
    })
    .as_ref()
    .map_err(|e| HtmlError(e.clone()))
}

fn render(name: &str, ctx: impl Serialize) -> Result<String, HtmlError> {
    env()?
        .get_template(name)
        .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&ctx))))
        .map_err(|e| HtmlError(e.to_string()))
}

/// The page of one or more parcels.
pub fn page(view: &PageView) -> Result<String, HtmlError> {
    render("page.html", view)
}

#[derive(Serialize)]
struct FormView<'a> {
    w: &'static Words,
    shop: ShopCard,
    error: Option<&'a str>,
}

/// The order form of a shop, with a message above it (a neutral "not found", a bad field).
pub fn form(shop: &Shop, error: Option<&str>) -> Result<String, HtmlError> {
    render(
        "form.html",
        FormView {
            w: words::of(shop.language),
            shop: shop_card(shop),
            error,
        },
    )
}

#[derive(Serialize)]
struct Message {
    lang: &'static str,
    title: String,
    text: String,
}

#[derive(Serialize)]
struct MessageView {
    w: &'static Words,
    shop: ShopCard,
    title: String,
    messages: Vec<Message>,
}

/// The shop card of a page that belongs to no shop.
fn no_shop() -> ShopCard {
    ShopCard {
        name: String::new(),
        phone: None,
        phone_href: None,
        logo_url: None,
        color: super::view::DEFAULT_COLOR.into(),
        on_color: "#ffffff",
        review_url: None,
    }
}

/// The one answer for a link that leads nowhere: a code never made, or a parcel deleted or
/// erased since. In both languages, since no shop can be named.
pub fn not_found() -> Result<String, HtmlError> {
    render(
        "message.html",
        MessageView {
            w: &words::RU,
            shop: no_shop(),
            title: "Страница не найдена / Page not found".into(),
            messages: vec![
                Message {
                    lang: "ru",
                    title: "Страница не найдена".into(),
                    text: "Ссылка неверна или заказ больше не отслеживается. Проверьте, что ссылка скопирована целиком, или спросите магазин.".into(),
                },
                Message {
                    lang: "en",
                    title: "Page not found".into(),
                    text: "The link is wrong or the order is no longer tracked. Check that the whole link was copied, or ask the shop.".into(),
                },
            ],
        },
    )
}

/// Too many tries: when to try again (whole minutes, at least one).
pub fn too_many(shop: Option<&Shop>, minutes: u64) -> Result<String, HtmlError> {
    let lang = shop.map_or(Language::Ru, |s| s.language);
    let w = words::of(lang);
    render(
        "message.html",
        MessageView {
            w,
            shop: shop.map_or_else(no_shop, shop_card),
            title: w.too_many.into(),
            messages: vec![Message {
                lang: w.lang,
                title: w.too_many.into(),
                text: format!("{} {} {}", w.try_again_in, minutes.max(1), w.minutes),
            }],
        },
    )
}

/// The content security policy of the pages: nothing but their own inline style, images only
/// from the shop's logo's origin (and the blank icon), forms only to themselves, no scripts,
/// no frames.
pub fn security_policy(logo_url: Option<&str>) -> String {
    let img = match logo_url.and_then(brand::origin) {
        Some(origin) => format!("data: {origin}"),
        None => "data:".into(),
    };
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src {img}; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_compile_and_escape() {
        let mut shop = crate::store::shops::tests::shop("acme", "h");
        shop.name = "<script>alert(1)</script> & Co".into();
        shop.brand.logo_url = Some("https://cdn.example/logo.png?a=1&b=\"2\"".into());
        let html = form(&shop, Some("<b>")).unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; Co"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"));
        assert!(html.contains("referrerpolicy=\"no-referrer\""));
        assert!(
            html.contains(
                "src=\"https:&#x2f;&#x2f;cdn.example&#x2f;logo.png?a=1&amp;b=&quot;2&quot;\""
            ),
            "{html}"
        );
        assert!(!html.contains("<script"), "no scripts");
        let nf = not_found().unwrap();
        assert!(nf.contains("Страница не найдена") && nf.contains("Page not found"));
        assert!(too_many(Some(&shop), 0).unwrap().contains("через 1 мин."));
    }

    #[test]
    fn the_policy_allows_the_logo_only() {
        assert_eq!(
            security_policy(Some("https://cdn.example:8443/x/logo.png")),
            "default-src 'none'; style-src 'unsafe-inline'; img-src data: https://cdn.example:8443; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        );
        assert!(security_policy(None).contains("img-src data:;"));
    }
}
