//! The tracking page's wording, in Russian and English (the shop's `language`): the fixed
//! labels, the status of a parcel in plain words, and how to extend storage at the post.

use crate::domain::shop::Language;
use crate::domain::status::Status;
use serde::Serialize;

/// The page's fixed labels.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Words {
    /// `lang` attribute.
    pub lang: &'static str,
    /// The page's title.
    pub title: &'static str,
    /// "Order".
    pub order: &'static str,
    /// "Parcel" (one of several: "Parcel 1 of 2").
    pub parcel: &'static str,
    /// "of" in "1 of 2".
    pub of: &'static str,
    /// "Track number".
    pub track: &'static str,
    /// "Recipient".
    pub recipient: &'static str,
    /// The office card's heading.
    pub office: &'static str,
    /// "Opening hours".
    pub hours: &'static str,
    /// "today".
    pub today: &'static str,
    /// "Phone".
    pub phone: &'static str,
    /// The map link.
    pub map: &'static str,
    /// The deadline card's heading.
    pub deadline: &'static str,
    /// Before the deadline in the status card.
    pub collect_by: &'static str,
    /// Before the deadline's basis.
    pub basis: &'static str,
    /// The extension card's heading.
    pub extend: &'static str,
    /// The amount due's heading.
    pub amount: &'static str,
    /// When nothing is due.
    pub nothing_due: &'static str,
    /// Bring the passport.
    pub passport: &'static str,
    /// "Contents".
    pub contents: &'static str,
    /// The timeline's heading.
    pub history: &'static str,
    /// When the carrier said nothing yet.
    pub no_history: &'static str,
    /// The shop's section heading.
    pub shop: &'static str,
    /// The shop's own tracking page.
    pub shop_page: &'static str,
    /// The carrier's tracking page.
    pub carrier_page: &'static str,
    /// The review link.
    pub review: &'static str,
    /// The notifications section heading.
    pub notifications: &'static str,
    /// Stop SMS.
    pub stop_sms: &'static str,
    /// Stop e-mails.
    pub stop_email: &'static str,
    /// SMS are already off.
    pub sms_off: &'static str,
    /// E-mails are already off.
    pub email_off: &'static str,
    /// The form's heading.
    pub form_title: &'static str,
    /// What the form needs.
    pub form_intro: &'static str,
    /// The order number field.
    pub form_order: &'static str,
    /// The phone digits field.
    pub form_phone: &'static str,
    /// The button.
    pub form_submit: &'static str,
    /// Where else to look.
    pub form_hint: &'static str,
    /// The neutral "not found" of the form.
    pub form_not_found: &'static str,
    /// The order number is missing or too long.
    pub form_bad_order: &'static str,
    /// The phone digits are not four digits.
    pub form_bad_phone: &'static str,
    /// Too many tries.
    pub too_many: &'static str,
    /// How soon to try again, before the minutes.
    pub try_again_in: &'static str,
    /// "min".
    pub minutes: &'static str,
    /// The footer.
    pub footer: &'static str,
}

/// Russian.
pub const RU: Words = Words {
    lang: "ru",
    title: "Ваш заказ",
    order: "Заказ",
    parcel: "Посылка",
    of: "из",
    track: "Трек-номер",
    recipient: "Получатель",
    office: "Где забрать",
    hours: "Часы работы",
    today: "сегодня",
    phone: "Телефон",
    map: "Открыть на карте",
    deadline: "Срок хранения",
    collect_by: "Заберите до",
    basis: "Почему эта дата",
    extend: "Не успеваете забрать?",
    amount: "К оплате при получении",
    nothing_due: "При получении платить ничего не нужно.",
    passport: "Возьмите с собой паспорт.",
    contents: "Состав",
    history: "История",
    no_history: "Почта ещё не сообщала о посылке.",
    shop: "Магазин",
    shop_page: "Заказ на сайте магазина",
    carrier_page: "Посылка на сайте почты",
    review: "Оставить отзыв",
    notifications: "Уведомления",
    stop_sms: "Не присылать SMS об этой посылке",
    stop_email: "Не присылать письма об этой посылке",
    sms_off: "SMS об этой посылке отключены.",
    email_off: "Письма об этой посылке отключены.",
    form_title: "Где мой заказ?",
    form_intro: "Введите номер заказа в магазине и последние 4 цифры телефона, который вы указали при заказе.",
    form_order: "Номер заказа",
    form_phone: "Последние 4 цифры телефона",
    form_submit: "Найти",
    form_hint: "Ссылка на эту страницу есть и в SMS и письмах о заказе.",
    form_not_found: "Заказ не найден. Проверьте номер заказа и цифры телефона.",
    form_bad_order: "Введите номер заказа.",
    form_bad_phone: "Введите последние 4 цифры телефона.",
    too_many: "Слишком много попыток.",
    try_again_in: "Попробуйте снова через",
    minutes: "мин.",
    footer: "Страница показывает то, что сообщили почта и магазин.",
};

/// English.
pub const EN: Words = Words {
    lang: "en",
    title: "Your order",
    order: "Order",
    parcel: "Parcel",
    of: "of",
    track: "Track number",
    recipient: "Recipient",
    office: "Where to collect it",
    hours: "Opening hours",
    today: "today",
    phone: "Phone",
    map: "Open on a map",
    deadline: "Kept until",
    collect_by: "Collect it by",
    basis: "Why this date",
    extend: "Cannot make it in time?",
    amount: "Due on collection",
    nothing_due: "Nothing to pay on collection.",
    passport: "Bring your passport.",
    contents: "Contents",
    history: "History",
    no_history: "The post has not reported the parcel yet.",
    shop: "Shop",
    shop_page: "The order on the shop's site",
    carrier_page: "The parcel on the post's site",
    review: "Leave a review",
    notifications: "Notifications",
    stop_sms: "Stop text messages about this parcel",
    stop_email: "Stop e-mails about this parcel",
    sms_off: "Text messages about this parcel are off.",
    email_off: "E-mails about this parcel are off.",
    form_title: "Where is my order?",
    form_intro: "Enter the shop's order number and the last 4 digits of the phone number you gave with the order.",
    form_order: "Order number",
    form_phone: "Last 4 digits of the phone",
    form_submit: "Find",
    form_hint: "The text messages and e-mails about your order link to this page too.",
    form_not_found: "No order found. Check the order number and the phone digits.",
    form_bad_order: "Enter the order number.",
    form_bad_phone: "Enter the last 4 digits of the phone number.",
    too_many: "Too many tries.",
    try_again_in: "Try again in",
    minutes: "min",
    footer: "This page shows what the post and the shop reported.",
};

/// The words of a language.
pub fn of(lang: Language) -> &'static Words {
    match lang {
        Language::Ru => &RU,
        Language::En => &EN,
    }
}

/// How a status feels on the page: the colour of its badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// On its way.
    Moving,
    /// Waiting for the customer: act.
    Waiting,
    /// Done.
    Done,
    /// Something went wrong.
    Trouble,
}

/// A status in plain words: a headline and a sentence.
pub fn status(s: Status, lang: Language) -> (&'static str, &'static str, Tone) {
    use Language::{En, Ru};
    match (s, lang) {
        (Status::Registered, Ru) => (
            "Передан в доставку",
            "Магазин передал заказ почте. Почта ещё не сообщила о нём; мы напишем, когда он будет в пути.",
            Tone::Moving,
        ),
        (Status::Accepted, Ru) => (
            "Принят почтой",
            "Почта приняла посылку. Мы напишем, когда она прибудет в отделение.",
            Tone::Moving,
        ),
        (Status::InTransit, Ru) => (
            "В пути",
            "Посылка едет в отделение. Мы напишем, когда она прибудет.",
            Tone::Moving,
        ),
        (Status::ArrivedAtPickup, Ru) => (
            "Ждёт вас в отделении",
            "Посылка прибыла в отделение. Заберите её до конца срока хранения.",
            Tone::Waiting,
        ),
        (Status::DeliveryFailed, Ru) => (
            "Не удалось вручить",
            "Доставка не удалась; посылка ждёт вас в отделении.",
            Tone::Waiting,
        ),
        (Status::Delivered, Ru) => (
            "Получен",
            "Посылка вручена. Спасибо за покупку!",
            Tone::Done,
        ),
        (Status::Returning, Ru) => (
            "Возвращается в магазин",
            "Посылка едет обратно отправителю. Если вы ещё хотите её получить, позвоните в магазин.",
            Tone::Trouble,
        ),
        (Status::ReturnedToSender, Ru) => (
            "Вернулся в магазин",
            "Посылка вернулась отправителю. Позвоните в магазин, если вы ещё хотите её получить.",
            Tone::Trouble,
        ),
        (Status::Lost, Ru) => (
            "Утерян",
            "Почта сообщила, что посылка утрачена. Позвоните в магазин.",
            Tone::Trouble,
        ),
        (Status::Registered, En) => (
            "Handed over for delivery",
            "The shop has handed the order to the post, which has not reported it yet; we will tell you when it is on its way.",
            Tone::Moving,
        ),
        (Status::Accepted, En) => (
            "Accepted by the post",
            "The post has accepted the parcel. We will tell you when it reaches the office.",
            Tone::Moving,
        ),
        (Status::InTransit, En) => (
            "On its way",
            "The parcel is on its way to the office. We will tell you when it arrives.",
            Tone::Moving,
        ),
        (Status::ArrivedAtPickup, En) => (
            "Waiting for you at the post office",
            "The parcel has arrived. Collect it before the storage period ends.",
            Tone::Waiting,
        ),
        (Status::DeliveryFailed, En) => (
            "Delivery failed",
            "The delivery did not work out; the parcel waits for you at the office.",
            Tone::Waiting,
        ),
        (Status::Delivered, En) => (
            "Collected",
            "The parcel has been handed over. Thank you for your order!",
            Tone::Done,
        ),
        (Status::Returning, En) => (
            "Going back to the shop",
            "The parcel is on its way back to the sender. If you still want it, call the shop.",
            Tone::Trouble,
        ),
        (Status::ReturnedToSender, En) => (
            "Back at the shop",
            "The parcel went back to the sender. Call the shop if you still want it.",
            Tone::Trouble,
        ),
        (Status::Lost, En) => (
            "Lost",
            "The post reported the parcel lost. Please call the shop.",
            Tone::Trouble,
        ),
    }
}

/// One way to extend storage: what to do, and where, when it is online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Way {
    /// What to do.
    pub text: &'static str,
    /// The link's text, when there is a link.
    pub link_text: Option<&'static str>,
    /// Where.
    pub href: Option<String>,
}

/// How the post lets an addressee extend storage (Russian Post: online when signed in, or an
/// application at the office), and what to know first. `online` is the post's page of the
/// parcel (`page.extend_url`).
pub fn extend(lang: Language, online: String) -> (Vec<Way>, &'static str) {
    match lang {
        Language::Ru => (
            vec![
                Way {
                    text: "В приложении «Почта России» или на сайте почты: войдите, откройте посылку и выберите продление срока хранения.",
                    link_text: Some("Открыть посылку на pochta.ru"),
                    href: Some(online),
                },
                Way {
                    text: "В отделении: напишите заявление на продление, с паспортом.",
                    link_text: None,
                    href: None,
                },
            ],
            "Просите не позже чем за сутки до конца срока. Почта может отказать, например если магазин не разрешает продление; тогда позвоните в магазин.",
        ),
        Language::En => (
            vec![
                Way {
                    text: "In the Russian Post app or on the post's site: sign in, open the parcel and ask to extend its storage.",
                    link_text: Some("Open the parcel on pochta.ru"),
                    href: Some(online),
                },
                Way {
                    text: "At the office: fill in an application to extend storage, with your passport.",
                    link_text: None,
                    href: None,
                },
            ],
            "Ask at least a day before the deadline. The post may refuse, for instance when the shop does not allow extensions; then call the shop.",
        ),
    }
}

/// The names of the days, Monday first.
pub fn weekdays(lang: Language) -> [&'static str; 7] {
    match lang {
        Language::Ru => [
            "Понедельник",
            "Вторник",
            "Среда",
            "Четверг",
            "Пятница",
            "Суббота",
            "Воскресенье",
        ],
        Language::En => [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ],
    }
}

/// A day's hours in words: "выходной", "круглосуточно", "не указано".
pub fn day_state(lang: Language) -> (&'static str, &'static str, &'static str, &'static str) {
    match lang {
        Language::Ru => ("выходной", "круглосуточно", "не указано", "перерыв"),
        Language::En => ("closed", "24 hours", "not stated", "break"),
    }
}

/// Days left in words: "ещё 5 дней", "последний день", "срок истёк".
pub fn days_left(n: i64, expired: bool, lang: Language) -> String {
    use crate::notify::render::dates::days;
    match (lang, expired, n) {
        (Language::Ru, true, _) => "срок хранения истёк".into(),
        (Language::Ru, false, 0) => "сегодня последний день".into(),
        (Language::Ru, false, n) => format!("осталось {}", days(n, lang)),
        (Language::En, true, _) => "the storage period has ended".into(),
        (Language::En, false, 0) => "today is the last day".into(),
        (Language::En, false, n) => format!("{} left", days(n, lang)),
    }
}
