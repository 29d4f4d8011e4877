//! What the tracking page says, worked out from the parcels, the shop and the office directory
//! at a given moment: plain data with every text already in the shop's language, for
//! [`super::html`] to lay out. No I/O and no clock reads.
//!
//! Also which parcels a page may show ([`by_code`], [`by_phone`]): a parcel whose customer's
//! personal data was erased shows nothing, and an order's other parcels only when they are for
//! the same customer.

use super::hours::{self, Day};
use super::mask;
use super::words::{self, Tone, Way, Words};
use crate::domain::brand;
use crate::domain::lifecycle::{ShopTerms, office_zone};
use crate::domain::notification::{Channel, NotificationKind};
use crate::domain::offices::OfficeEntry;
use crate::domain::outbox::OutboxKey;
use crate::domain::parcel::{Customer, Office, Parcel};
use crate::domain::postal_zone;
use crate::domain::shop::{Language, Shop};
use crate::domain::storage::{self, Basis};
use crate::notify::render::dates;
use crate::notify::render::links::{LinkSigner, tracking_link};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::BTreeMap;

/// The page's accent colour when the shop has not set one.
pub const DEFAULT_COLOR: &str = "#1a5fb4";

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct PageView {
    /// The fixed labels.
    pub w: &'static Words,
    /// The shop.
    pub shop: ShopCard,
    /// The order number, when the parcels have one.
    pub order_id: Option<String>,
    /// Who collects, masked.
    pub recipient: Option<Recipient>,
    /// The parcels, each a card.
    pub parcels: Vec<ParcelCard>,
    /// Whether there are several parcels.
    pub several: bool,
}

/// The shop's name, contacts and look.
#[derive(Debug, Clone, Serialize)]
pub struct ShopCard {
    /// Its name.
    pub name: String,
    /// Its phone as written.
    pub phone: Option<String>,
    /// `tel:` link of the phone.
    pub phone_href: Option<String>,
    /// Its logo.
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb`.
    pub color: String,
    /// Text on the accent colour: dark or white.
    pub on_color: &'static str,
    /// Where to leave a review.
    pub review_url: Option<String>,
}

/// The customer, masked.
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    /// "И***в И."
    pub name: Option<String>,
    /// "+7 *** ***-67-89"
    pub phone: Option<String>,
    /// "i***@example.ru"
    pub email: Option<String>,
}

/// One parcel.
#[derive(Debug, Clone, Serialize)]
pub struct ParcelCard {
    /// 1-based, for "Parcel 1 of 2".
    pub number: usize,
    /// The track number.
    pub track: String,
    /// The status in a few words.
    pub status_title: &'static str,
    /// The status in a sentence.
    pub status_text: &'static str,
    /// How the status feels.
    pub tone: Tone,
    /// When it is expected at the office, while it is on its way and a lane knows:
    /// "Ожидаем в отделении 12–14 декабря".
    pub expected: Option<String>,
    /// The post recorded no arrival, but the parcel is very likely at the office.
    pub probable: Option<String>,
    /// Where to collect it, while it waits (or probably waits).
    pub office: Option<OfficeCard>,
    /// Until when, while it waits.
    pub deadline: Option<DeadlineCard>,
    /// How to extend storage, while it waits.
    pub extend: Option<ExtendCard>,
    /// The amount due on collection, `1 490,00 ₽`, while it is not collected.
    pub amount: Option<String>,
    /// Whether nothing is due.
    pub nothing_due: bool,
    /// What is inside.
    pub contents: Option<String>,
    /// The carrier's events, newest first.
    pub events: Vec<EventLine>,
    /// The shop's tracking page, or the carrier's.
    pub tracking: Option<Link>,
    /// Stopping messages about this parcel.
    pub unsubscribe: Vec<Link>,
}

/// A link, or a line of text when `href` is absent.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// What it says.
    pub text: String,
    /// Where it goes.
    pub href: Option<String>,
}

/// The pickup office.
#[derive(Debug, Clone, Serialize)]
pub struct OfficeCard {
    /// The carrier's name for it ("Новосибирск 630099").
    pub name: String,
    /// Its postal index.
    pub index: Option<String>,
    /// Its street address.
    pub address: Option<String>,
    /// A map search for the address.
    pub map_url: Option<String>,
    /// Its phone.
    pub phone: Option<String>,
    /// `tel:` link of the phone.
    pub phone_href: Option<String>,
    /// The hours as written, when they cannot be read into a week.
    pub hours_text: Option<String>,
    /// The hours day by day, Monday first, when they can be read.
    pub week: Vec<DayLine>,
}

/// One day of the office's week.
#[derive(Debug, Clone, Serialize)]
pub struct DayLine {
    /// The day's name.
    pub day: &'static str,
    /// Its hours in words.
    pub hours: String,
    /// Whether it is today in the office's time zone.
    pub today: bool,
}

/// The storage deadline.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineCard {
    /// "22 декабря".
    pub date: String,
    /// "осталось 5 дней".
    pub left: String,
    /// What the date rests on.
    pub basis: String,
    /// What else the post said about storage.
    pub notes: Vec<String>,
    /// Two days or fewer left, or ended.
    pub urgent: bool,
}

/// How to extend storage.
#[derive(Debug, Clone, Serialize)]
pub struct ExtendCard {
    /// The ways.
    pub ways: Vec<Way>,
    /// What to know first.
    pub note: &'static str,
}

/// One carrier event.
#[derive(Debug, Clone, Serialize)]
pub struct EventLine {
    /// When, in the place's time zone: `08.12.2026 14:05`.
    pub when: String,
    /// The carrier's words.
    pub what: String,
    /// Where.
    pub place: Option<String>,
}

/// Whether a parcel's customer data was erased (retention): its page is gone.
pub fn erased(p: &Parcel) -> bool {
    p.customer == Customer::default()
}

fn same_customer(a: &Customer, b: &Customer) -> bool {
    (a.phone.is_some() && a.phone == b.phone) || (a.email.is_some() && a.email == b.email)
}

/// The parcels a short code's page shows: the code's own (first in `parcels`) unless it was
/// erased, then the other parcels of its order that are for the same customer.
pub fn by_code(parcels: Vec<Parcel>) -> Vec<Parcel> {
    let mut it = parcels.into_iter();
    let Some(first) = it.next().filter(|p| !erased(p)) else {
        return Vec::new();
    };
    let mut out: Vec<Parcel> = it
        .filter(|p| !erased(p) && same_customer(&first.customer, &p.customer))
        .collect();
    out.sort_by(|a, b| (a.created_at, &a.track).cmp(&(b.created_at, &b.track)));
    out.insert(0, first);
    out
}

/// The parcels an order form's answer shows: those of the order whose customer's phone ends
/// with `last4`.
pub fn by_phone(parcels: Vec<Parcel>, last4: &str) -> Vec<Parcel> {
    let mut out: Vec<Parcel> = parcels
        .into_iter()
        .filter(|p| {
            !erased(p)
                && p.customer
                    .phone
                    .as_ref()
                    .and_then(|ph| mask::last_four(ph.as_str()))
                    .is_some_and(|d| d == last4)
        })
        .collect();
    out.sort_by(|a, b| (a.created_at, &a.track).cmp(&(b.created_at, &b.track)));
    out
}

/// What the page needs besides the parcels.
pub struct Context<'a> {
    /// The shop.
    pub shop: &'a Shop,
    /// Directory entries of the offices, by index.
    pub offices: &'a BTreeMap<String, OfficeEntry>,
    /// Now.
    pub now: Timestamp,
    /// Makes the unsubscribe links.
    pub links: &'a LinkSigner,
    /// The post's page of a parcel, `{track}` standing for the track number.
    pub extend_url: &'a str,
}

/// The page of `parcels` (at least one, as [`by_code`] or [`by_phone`] chose them).
pub fn build(ctx: &Context<'_>, parcels: &[Parcel]) -> PageView {
    let lang = ctx.shop.language;
    let shop = shop_card(ctx.shop);
    let recipient = parcels.first().map(|p| Recipient {
        name: (!p.customer.name.trim().is_empty()).then(|| mask::name(&p.customer.name)),
        phone: p.customer.phone.as_ref().map(|x| mask::phone(x.as_str())),
        email: p.customer.email.as_ref().map(|x| mask::email(x.as_str())),
    });
    PageView {
        w: words::of(lang),
        shop,
        order_id: parcels.iter().find_map(|p| p.order_id.clone()),
        recipient,
        parcels: parcels
            .iter()
            .enumerate()
            .map(|(i, p)| card(ctx, p, i + 1))
            .collect(),
        several: parcels.len() > 1,
    }
}

/// The shop as its pages show it.
pub fn shop_card(shop: &Shop) -> ShopCard {
    let color = shop
        .brand
        .color
        .clone()
        .unwrap_or_else(|| DEFAULT_COLOR.into());
    ShopCard {
        name: shop.name.clone(),
        phone: shop.phone.clone(),
        phone_href: shop.phone.as_deref().and_then(tel),
        logo_url: shop.brand.logo_url.clone(),
        on_color: if brand::prefers_dark_text(&color) {
            "#111111"
        } else {
            "#ffffff"
        },
        color,
        review_url: shop.messaging.review_url.clone(),
    }
}

fn card(ctx: &Context<'_>, p: &Parcel, number: usize) -> ParcelCard {
    let lang = ctx.shop.language;
    let w = words::of(lang);
    let terms = ShopTerms::of(ctx.shop);
    let (status_title, status_text, tone) = words::status(p.status, lang);
    let waiting = p.is_waiting_for_pickup();
    let arrival = p.arrival.as_ref().filter(|_| waiting);
    let probable = p
        .outlook
        .probable
        .as_ref()
        .filter(|_| !waiting && !p.status.is_final());
    let office = arrival
        .map(|a| office_card(ctx, &a.office, &terms))
        .or_else(|| probable.map(|pr| office_card(ctx, &pr.office, &terms)));
    let expected = p
        .outlook
        .estimate
        .as_ref()
        .filter(|_| probable.is_none())
        .map(|e| {
            let tz = p
                .outlook
                .destination
                .as_deref()
                .and_then(postal_zone::zone_of_index)
                .and_then(|z| TimeZone::get(z).ok())
                .unwrap_or_else(|| terms.timezone.clone());
            let range = dates::range(e.earliest, e.latest, &tz, lang);
            match lang {
                Language::Ru => format!("Ожидаем в отделении {range}"),
                Language::En => format!("Expected at the post office {range}"),
            }
        });
    let probable = probable.map(|_| {
        match lang {
            Language::Ru => "Скорее всего, заказ уже в отделении: почта ещё не отметила его прибытие. Возьмите паспорт и трек-номер.",
            Language::En => "The order has very likely reached the post office, though the post has not recorded it yet. Take your passport and the track number.",
        }
        .to_string()
    });
    let deadline = arrival.map(|a| {
        let tz = office_zone(&a.office, &terms);
        let expired = a.deadline.at <= ctx.now || matches!(a.deadline.basis, Basis::Expired { .. });
        let n = storage::days_left(a.deadline.at, ctx.now, &tz);
        DeadlineCard {
            date: dates::day_month(a.deadline.at, &tz, lang),
            left: words::days_left(n, expired, lang),
            basis: a.deadline.basis.describe(&tz, lang),
            notes: a
                .deadline
                .notes
                .iter()
                .map(|n| n.describe(&tz, lang))
                .collect(),
            urgent: expired || n <= 2,
        }
    });
    let extend = arrival.map(|_| {
        let (ways, note) = words::extend(lang, ctx.extend_url.replace("{track}", p.track.as_str()));
        ExtendCard { ways, note }
    });
    let collected = p.status.is_final();
    let amount = (!p.cod.is_zero() && !collected).then(|| p.cod.format_rub());
    let events = p
        .events
        .iter()
        .rev()
        .map(|e| {
            let tz = e
                .office
                .as_ref()
                .and_then(|o| o.index.as_deref())
                .and_then(postal_zone::zone_of_index)
                .and_then(|z| TimeZone::get(z).ok())
                .unwrap_or_else(|| terms.timezone.clone());
            EventLine {
                when: e.at.to_zoned(tz).strftime("%d.%m.%Y %H:%M").to_string(),
                what: e.description.clone(),
                place: e
                    .office
                    .as_ref()
                    .map(|o| o.name.clone())
                    .filter(|n| !n.is_empty()),
            }
        })
        .collect();
    let tracking =
        tracking_link(p.track.as_str(), p.carrier, &ctx.shop.messaging).map(|href| Link {
            text: if ctx.shop.messaging.tracking_url.is_some() {
                w.shop_page
            } else {
                w.carrier_page
            }
            .into(),
            href: Some(href),
        });
    let mut unsubscribe = Vec::new();
    if !collected {
        for (channel, has, stop, off) in [
            (
                Channel::Sms,
                p.customer.phone.is_some(),
                w.stop_sms,
                w.sms_off,
            ),
            (
                Channel::Email,
                p.customer.email.is_some(),
                w.stop_email,
                w.email_off,
            ),
        ] {
            if !has {
                continue;
            }
            unsubscribe.push(if p.may_notify(channel) {
                Link {
                    text: stop.into(),
                    href: Some(ctx.links.unsubscribe_url(&OutboxKey {
                        shop: p.shop.clone(),
                        track: p.track.clone(),
                        parcel_id: p.id,
                        kind: NotificationKind::Arrived,
                        occurrence: 1,
                        channel,
                    })),
                }
            } else {
                Link {
                    text: off.into(),
                    href: None,
                }
            });
        }
    }
    ParcelCard {
        number,
        track: p.track.as_str().to_string(),
        status_title,
        status_text,
        tone,
        expected,
        probable,
        office,
        deadline,
        extend,
        nothing_due: p.cod.is_zero() && !collected,
        amount,
        contents: p.contents.clone(),
        events,
        tracking,
        unsubscribe,
    }
}

fn office_card(ctx: &Context<'_>, office: &Office, terms: &ShopTerms) -> OfficeCard {
    let lang = ctx.shop.language;
    let entry = office.index.as_ref().and_then(|i| ctx.offices.get(i));
    let address = office
        .address
        .clone()
        .or_else(|| entry.map(|e| e.address.clone()));
    let phone = office
        .phone
        .clone()
        .or_else(|| entry.and_then(|e| e.phone.clone()));
    let hours_text = office
        .hours
        .clone()
        .or_else(|| entry.and_then(|e| e.hours.clone()));
    let tz = office_zone(office, terms);
    let today = ctx.now.to_zoned(tz).weekday().to_monday_zero_offset() as usize;
    let week = hours_text.as_deref().and_then(hours::read);
    let (closed, all_day, unknown, break_word) = words::day_state(lang);
    let week_lines: Vec<DayLine> = week
        .iter()
        .flat_map(|week| week.iter().enumerate())
        .map(|(i, d)| DayLine {
            day: words::weekdays(lang)[i],
            hours: match d {
                Day::Unknown => unknown.to_string(),
                Day::Closed => closed.to_string(),
                Day::AllDay => all_day.to_string(),
                Day::Open { ranges, breaks } => {
                    let span = |(a, b): &(jiff::civil::Time, jiff::civil::Time)| {
                        format!("{}–{}", hours::clock(*a), hours::clock(*b))
                    };
                    let mut s = ranges.iter().map(span).collect::<Vec<_>>().join(", ");
                    for b in breaks {
                        s.push_str(&format!(", {break_word} {}", span(b)));
                    }
                    s
                }
            },
            today: i == today,
        })
        .collect();
    OfficeCard {
        name: office.name.clone(),
        index: office.index.clone(),
        map_url: address.as_deref().map(map_url),
        address,
        phone_href: phone.as_deref().and_then(tel),
        phone,
        hours_text: week.is_none().then_some(hours_text).flatten(),
        week: week_lines,
    }
}

/// A search for `address` on Yandex Maps.
pub fn map_url(address: &str) -> String {
    url::Url::parse_with_params("https://yandex.ru/maps/", &[("text", address)])
        .map(String::from)
        .unwrap_or_else(|_| "https://yandex.ru/maps/".into())
}

/// A `tel:` link for a phone number as written ("8 800 100-00-00"), when it has digits.
pub fn tel(phone: &str) -> Option<String> {
    let mut out = String::from("tel:");
    for (i, c) in phone.chars().enumerate() {
        if c.is_ascii_digit() || (c == '+' && i == 0) {
            out.push(c);
        }
    }
    (out.len() > 6).then_some(out)
}

#[cfg(test)]
mod tests;
