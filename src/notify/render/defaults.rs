//! The default wording of every message, in Russian and English, as minijinja templates.
//!
//! SMS texts stay within two UCS-2 segments (134 characters) for a 14-digit track number, a
//! typical order and a `public_url` of about 25 characters: the parcel's tracking page
//! (`tracking_link`) stands in for the office's address, which it shows with the hours, a map
//! and how to extend storage. E-mails say everything a customer needs to act without calling,
//! and link the page too.

use crate::domain::notification::NotificationKind;
use crate::domain::shop::Language;

pub use crate::domain::template::Part;

const HTML_HEAD: &str =
    r#"<!doctype html><html><body style="font-family:Arial,sans-serif;font-size:15px;color:#222">"#;

/// The default template for a kind, part and language.
pub fn template(lang: Language, kind: NotificationKind, part: Part) -> String {
    use NotificationKind as K;
    let ru = lang == Language::Ru;
    match (kind, part) {
        (K::Accepted, Part::Sms) => if ru {
            "{{ shop_name }}: заказ{% if order_id %} {{ order_id }}{% endif %} принят почтой, трек {{ track }}.{% if expected %} Ожидаем {{ expected }}.{% endif %}{% if tracking_link %}{% if not expected %} Где он:{% endif %} {{ tracking_link }}{% elif not expected %} Сообщим, когда он прибудет в отделение.{% endif %}"
        } else {
            "{{ shop_name }}: order{% if order_id %} {{ order_id }}{% endif %} is with the post, track {{ track }}.{% if expected %} Expected {{ expected }}.{% endif %}{% if tracking_link %}{% if not expected %} Follow it:{% endif %} {{ tracking_link }}{% elif not expected %} We will tell you when it reaches the office.{% endif %}"
        }.into(),
        (K::Accepted, Part::Subject) => if ru {
            "Заказ{% if order_id %} {{ order_id }}{% endif %} передан в {{ carrier }}"
        } else {
            "Order{% if order_id %} {{ order_id }}{% endif %} has been handed to {{ carrier }}"
        }.into(),
        (K::Accepted, Part::Text) => if ru {
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n\
             Ваш заказ{% if order_id %} {{ order_id }}{% endif %} в магазине «{{ shop_name }}» принят службой {{ carrier }}.\n\
             Трек-номер: {{ track }}\n\
             {% if contents %}Состав: {{ contents }}\n{% endif %}\
             {% if amount %}Оплата при получении: {{ amount }}\n{% endif %}\n\
             {% if expected %}Ожидаем посылку в отделении {{ expected }}. {% endif %}Мы сообщим, когда она прибудет.\n\
             {% if tracking_link %}Где заказ сейчас: {{ tracking_link }}\n{% endif %}\
             {% if shop_phone %}Вопросы: {{ shop_phone }}\n{% endif %}\
             {% if unsubscribe_link %}\nОтписаться от уведомлений: {{ unsubscribe_link }}\n{% endif %}"
        } else {
            "Hello{% if first_name %}, {{ first_name }}{% endif %}!\n\n\
             Your order{% if order_id %} {{ order_id }}{% endif %} from {{ shop_name }} has been accepted by {{ carrier }}.\n\
             Track number: {{ track }}\n\
             {% if contents %}Contents: {{ contents }}\n{% endif %}\
             {% if amount %}Cash on delivery: {{ amount }}\n{% endif %}\n\
             {% if expected %}We expect it at the pickup office {{ expected }}. {% endif %}We will tell you when it gets there.\n\
             {% if tracking_link %}Where it is now: {{ tracking_link }}\n{% endif %}\
             {% if shop_phone %}Questions: {{ shop_phone }}\n{% endif %}\
             {% if unsubscribe_link %}\nUnsubscribe: {{ unsubscribe_link }}\n{% endif %}"
        }.into(),

        (K::Arrived, Part::Sms) => if ru {
            "{% if was_probable %}Подтверждаем: з{% else %}З{% endif %}аказ{% if order_id %} {{ order_id }}{% endif %} ждёт вас в отделении {{ office_index }}{% if office_address %}, {{ office_address }}{% endif %} до {{ deadline }}.{% if amount %} К оплате {{ amount }}.{% endif %} Трек {{ track }}{% if tracking_link %} {{ tracking_link }}{% endif %}"
        } else {
            "{% if was_probable %}Confirmed: o{% else %}O{% endif %}rder{% if order_id %} {{ order_id }}{% endif %} is at post office {{ office_index }}{% if office_address %}, {{ office_address }}{% endif %} until {{ deadline }}.{% if amount %} Due {{ amount }}.{% endif %} Track {{ track }}{% if tracking_link %} {{ tracking_link }}{% endif %}"
        }.into(),
        (K::Arrived, Part::Subject) => if ru {
            "Заказ{% if order_id %} {{ order_id }}{% endif %} ждёт вас в отделении {{ office_index }} до {{ deadline }}"
        } else {
            "Order{% if order_id %} {{ order_id }}{% endif %} is waiting at post office {{ office_index }} until {{ deadline }}"
        }.into(),
        (K::Arrived | K::Reminder | K::LastReminder, Part::Text) => {
            let intro = match (kind, ru) {
                (K::Arrived, true) => "{% if was_probable %}Почта подтвердила: в{% else %}В{% endif %}аш заказ{% if order_id %} {{ order_id }}{% endif %} в магазине «{{ shop_name }}» прибыл в отделение и ждёт вас.",
                (K::Reminder, true) => "Напоминаем: ваш заказ{% if order_id %} {{ order_id }}{% endif %} в магазине «{{ shop_name }}» ждёт вас в отделении ещё {{ days_left_text }}.",
                (_, true) => "Последнее напоминание: заказ{% if order_id %} {{ order_id }}{% endif %} хранится в отделении только до {{ deadline }}, потом он вернётся в магазин «{{ shop_name }}».",
                (K::Arrived, false) => "{% if was_probable %}The post has confirmed it: y{% else %}Y{% endif %}our order{% if order_id %} {{ order_id }}{% endif %} from {{ shop_name }} has reached the post office and is waiting for you.",
                (K::Reminder, false) => "A reminder: your order{% if order_id %} {{ order_id }}{% endif %} from {{ shop_name }} waits at the post office for {{ days_left_text }} more.",
                (_, false) => "Last reminder: order{% if order_id %} {{ order_id }}{% endif %} stays at the post office only until {{ deadline }}; then it goes back to {{ shop_name }}.",
            };
            let body = if ru {
                "\n\nОтделение: {{ office_index }}{% if office_address %}, {{ office_address }}{% else %} {{ office_name }}{% endif %}\n\
                 {% if office_hours %}Часы работы: {{ office_hours }}\n{% endif %}\
                 Хранится до: {{ deadline }} (ещё {{ days_left_text }})\n\
                 {% if amount %}К оплате при получении: {{ amount }}\n{% endif %}\
                 Трек-номер: {{ track }} ({{ carrier }})\n\
                 {% if contents %}Состав: {{ contents }}\n{% endif %}\
                 {% if tracking_link %}Отделение на карте, часы работы и как продлить хранение: {{ tracking_link }}\n{% endif %}\n\
                 Возьмите с собой паспорт{% if not amount %}.{% else %} и {{ amount }} для оплаты.{% endif %}\n\
                 {% if shop_phone %}Вопросы: {{ shop_phone }}\n{% endif %}\
                 {% if unsubscribe_link %}\nОтписаться от уведомлений: {{ unsubscribe_link }}\n{% endif %}"
            } else {
                "\n\nPost office: {{ office_index }}{% if office_address %}, {{ office_address }}{% else %} {{ office_name }}{% endif %}\n\
                 {% if office_hours %}Opening hours: {{ office_hours }}\n{% endif %}\
                 Kept until: {{ deadline }} ({{ days_left_text }} left)\n\
                 {% if amount %}Due on pickup: {{ amount }}\n{% endif %}\
                 Track number: {{ track }} ({{ carrier }})\n\
                 {% if contents %}Contents: {{ contents }}\n{% endif %}\
                 {% if tracking_link %}The office on a map, its hours and how to extend storage: {{ tracking_link }}\n{% endif %}\n\
                 Bring your passport{% if not amount %}.{% else %} and {{ amount }}.{% endif %}\n\
                 {% if shop_phone %}Questions: {{ shop_phone }}\n{% endif %}\
                 {% if unsubscribe_link %}\nUnsubscribe: {{ unsubscribe_link }}\n{% endif %}"
            };
            let greeting = if ru {
                "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            } else {
                "Hello{% if first_name %}, {{ first_name }}{% endif %}!\n\n"
            };
            format!("{greeting}{intro}{body}")
        }
        (K::ProbablyArrived, Part::Sms) => if ru {
            "Заказ{% if order_id %} {{ order_id }}{% endif %}, скорее всего, уже в отделении{% if office_index %} {{ office_index }}{% endif %}. Возьмите паспорт и трек {{ track }}.{% if tracking_link %} {{ tracking_link }}{% endif %}"
        } else {
            "Order{% if order_id %} {{ order_id }}{% endif %} has very likely reached post office{% if office_index %} {{ office_index }}{% endif %}. Take your passport and track {{ track }}.{% if tracking_link %} {{ tracking_link }}{% endif %}"
        }.into(),
        (K::ProbablyArrived, Part::Subject) => if ru {
            "Заказ{% if order_id %} {{ order_id }}{% endif %}, скорее всего, уже в отделении{% if office_index %} {{ office_index }}{% endif %}"
        } else {
            "Order{% if order_id %} {{ order_id }}{% endif %} has very likely reached post office{% if office_index %} {{ office_index }}{% endif %}"
        }.into(),
        (K::ProbablyArrived, Part::Text) => if ru {
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n\
             Ваш заказ{% if order_id %} {{ order_id }}{% endif %} в магазине «{{ shop_name }}», скорее всего, уже прибыл в отделение\
             {% if office_index %} {{ office_index }}{% if office_address %}, {{ office_address }}{% elif office_name %} ({{ office_name }}){% endif %}{% endif %}: \
             почта ещё не отметила его прибытие, но всё говорит о том, что он там.\n\n\
             Возьмите с собой паспорт и трек-номер {{ track }}{% if amount %}, к оплате при получении {{ amount }}{% endif %}.\n\
             Когда почта подтвердит прибытие, мы напишем, до какого числа заказ хранится.\n\
             {% if tracking_link %}Где заказ сейчас: {{ tracking_link }}\n{% endif %}\
             {% if shop_phone %}Вопросы: {{ shop_phone }}\n{% endif %}\
             {% if unsubscribe_link %}\nОтписаться от уведомлений: {{ unsubscribe_link }}\n{% endif %}"
        } else {
            "Hello{% if first_name %}, {{ first_name }}{% endif %}!\n\n\
             Your order{% if order_id %} {{ order_id }}{% endif %} from {{ shop_name }} has very likely reached post office\
             {% if office_index %} {{ office_index }}{% if office_address %}, {{ office_address }}{% elif office_name %} ({{ office_name }}){% endif %}{% endif %}: \
             the post has not recorded its arrival yet, but everything says it is there.\n\n\
             Take your passport and the track number {{ track }}{% if amount %}; due on pickup: {{ amount }}{% endif %}.\n\
             Once the post confirms the arrival, we will tell you until when it is kept.\n\
             {% if tracking_link %}Where it is now: {{ tracking_link }}\n{% endif %}\
             {% if shop_phone %}Questions: {{ shop_phone }}\n{% endif %}\
             {% if unsubscribe_link %}\nUnsubscribe: {{ unsubscribe_link }}\n{% endif %}"
        }.into(),

        (K::Reminder, Part::Sms) => if ru {
            "Напоминаем: заказ{% if order_id %} {{ order_id }}{% endif %} ждёт в отделении {{ office_index }} до {{ deadline }}.{% if amount %} К оплате {{ amount }}.{% endif %}{% if tracking_link %} {{ tracking_link }}{% else %} Трек {{ track }}{% endif %}"
        } else {
            "Reminder: order{% if order_id %} {{ order_id }}{% endif %} waits at post office {{ office_index }} until {{ deadline }}.{% if amount %} Due: {{ amount }}.{% endif %}{% if tracking_link %} {{ tracking_link }}{% else %} Track {{ track }}{% endif %}"
        }.into(),
        (K::Reminder, Part::Subject) => if ru {
            "Напоминание: заказ{% if order_id %} {{ order_id }}{% endif %} ждёт вас в отделении до {{ deadline }}"
        } else {
            "Reminder: order{% if order_id %} {{ order_id }}{% endif %} is waiting for you until {{ deadline }}"
        }.into(),
        (K::LastReminder, Part::Sms) => if ru {
            "Последний срок: заказ{% if order_id %} {{ order_id }}{% endif %} {% if tracking_link %}в{% else %}хранится в{% endif %} отделении {{ office_index }} до {{ deadline }}, затем вернётся отправителю.{% if tracking_link %} {{ tracking_link }}{% else %} Трек {{ track }}{% endif %}"
        } else {
            "Last call: order{% if order_id %} {{ order_id }}{% endif %} stays at post office {{ office_index }} until {{ deadline }}, then goes back.{% if tracking_link %} {{ tracking_link }}{% else %} Track {{ track }}{% endif %}"
        }.into(),
        (K::LastReminder, Part::Subject) => if ru {
            "Последний срок: заказ{% if order_id %} {{ order_id }}{% endif %} вернётся отправителю после {{ deadline }}"
        } else {
            "Last call: order{% if order_id %} {{ order_id }}{% endif %} goes back after {{ deadline }}"
        }.into(),

        (K::Delivered, Part::Sms) => if ru {
            "Заказ{% if order_id %} {{ order_id }}{% endif %} получен. Спасибо за покупку! {{ shop_name }}"
        } else {
            "Order{% if order_id %} {{ order_id }}{% endif %} collected. Thank you for shopping with {{ shop_name }}!"
        }.into(),
        (K::Delivered, Part::Subject) => if ru {
            "Заказ{% if order_id %} {{ order_id }}{% endif %} получен — спасибо!"
        } else {
            "Order{% if order_id %} {{ order_id }}{% endif %} collected — thank you!"
        }.into(),
        (K::Delivered, Part::Text) => if ru {
            "Здравствуйте{% if first_name %}, {{ first_name }}{% endif %}!\n\n\
             Вы получили заказ{% if order_id %} {{ order_id }}{% endif %} (трек {{ track }}). Спасибо, что выбрали «{{ shop_name }}»!\n\
             {% if review_link %}\nБудем рады вашему отзыву: {{ review_link }}\n{% endif %}\
             {% if shop_phone %}Вопросы: {{ shop_phone }}\n{% endif %}"
        } else {
            "Hello{% if first_name %}, {{ first_name }}{% endif %}!\n\n\
             You have collected order{% if order_id %} {{ order_id }}{% endif %} (track {{ track }}). Thank you for choosing {{ shop_name }}!\n\
             {% if review_link %}\nWe would love your review: {{ review_link }}\n{% endif %}\
             {% if shop_phone %}Questions: {{ shop_phone }}\n{% endif %}"
        }.into(),

        (K::ReturnStarted, Part::Sms) => if ru {
            "Возврат: заказ{% if order_id %} {{ order_id }}{% endif %}, трек {{ track }}, возвращается отправителю. Клиент: {{ customer_name }} {{ customer_phone }}"
        } else {
            "Return: order{% if order_id %} {{ order_id }}{% endif %}, track {{ track }}, is going back. Customer: {{ customer_name }} {{ customer_phone }}"
        }.into(),
        (K::ReturnStarted, Part::Subject) => if ru {
            "Возврат: заказ{% if order_id %} {{ order_id }}{% endif %} (трек {{ track }}) возвращается в магазин"
        } else {
            "Return: order{% if order_id %} {{ order_id }}{% endif %} (track {{ track }}) is coming back"
        }.into(),
        (K::ReturnStarted, Part::Text) => if ru {
            "Посылка возвращается отправителю.\n\n\
             Заказ: {% if order_id %}{{ order_id }}{% else %}—{% endif %}\n\
             Трек-номер: {{ track }} ({{ carrier }})\n\
             Клиент: {{ customer_name }}{% if customer_phone %}, {{ customer_phone }}{% endif %}{% if customer_email %}, {{ customer_email }}{% endif %}\n\
             {% if amount %}Наложенный платёж: {{ amount }}\n{% endif %}\
             {% if contents %}Состав: {{ contents }}\n{% endif %}\n\
             Свяжитесь с клиентом: возможно, он ещё хочет получить заказ."
        } else {
            "A parcel is going back to the sender.\n\n\
             Order: {% if order_id %}{{ order_id }}{% else %}—{% endif %}\n\
             Track number: {{ track }} ({{ carrier }})\n\
             Customer: {{ customer_name }}{% if customer_phone %}, {{ customer_phone }}{% endif %}{% if customer_email %}, {{ customer_email }}{% endif %}\n\
             {% if amount %}Cash on delivery: {{ amount }}\n{% endif %}\
             {% if contents %}Contents: {{ contents }}\n{% endif %}\n\
             Call the customer: they may still want the order."
        }.into(),

        // Built by the reporter (`crate::reports`), not from templates.
        (K::ShopReport, _) => String::new(),

        (_, Part::Html) => {
            // The HTML part is the text part, escaped, with line breaks and the links made
            // clickable; shops that want their own design replace it.
            let page = match kind {
                K::Accepted | K::Arrived | K::ProbablyArrived | K::Reminder | K::LastReminder => format!(
                    "{{% if tracking_link %}}<p style=\"margin:16px 0\"><a href=\"{{{{ tracking_link }}}}\" style=\"display:inline-block;padding:10px 18px;border-radius:6px;background:#1a5fb4;color:#fff;text-decoration:none\">{}</a></p>{{% endif %}}",
                    if ru { "Страница заказа" } else { "Your order's page" }
                ),
                _ => String::new(),
            };
            format!(
                "{HTML_HEAD}{{% for line in text_lines %}}{{% if line %}}<p style=\"margin:0 0 8px\">{{{{ line }}}}</p>{{% endif %}}{{% endfor %}}{page}\
                 {{% if unsubscribe_link %}}<p style=\"font-size:12px;color:#888\"><a href=\"{{{{ unsubscribe_link }}}}\">{}</a></p>{{% endif %}}</body></html>",
                if ru { "Отписаться от уведомлений" } else { "Unsubscribe" }
            )
        }
    }
}
