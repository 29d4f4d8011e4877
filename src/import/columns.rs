//! Finding the columns of a parcel table by their header, in Russian or English, the way shops
//! and their accounting programs write them: "Трек-номер", "ШПИ", "№ заказа", "ФИО получателя",
//! "Сумма НП, руб.", "E-mail", "Tracking number"...
//!
//! A header is normalised (lower case, `ё` as `е`, text in brackets, units and punctuation
//! dropped) and compared with each field's names.

use crate::domain::intake::{ParcelDraft, Patch};

/// A column the import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Track number (required).
    Track,
    /// The shop's order number.
    Order,
    /// Customer's full name.
    Name,
    /// Customer's phone.
    Phone,
    /// Customer's e-mail.
    Email,
    /// Cash on delivery.
    Amount,
    /// What is inside.
    Contents,
    /// The carrier.
    Carrier,
    /// The storage period in days (when the shop's contract sets one per parcel).
    StorageDays,
}

impl Field {
    /// Every field, in template order.
    pub const ALL: [Field; 9] = [
        Field::Track,
        Field::Order,
        Field::Name,
        Field::Phone,
        Field::Email,
        Field::Amount,
        Field::Contents,
        Field::Carrier,
        Field::StorageDays,
    ];

    /// The name the API gives this field in errors (`customer.phone`).
    pub fn api_name(self) -> &'static str {
        match self {
            Field::Track => "track",
            Field::Order => "order_id",
            Field::Name => "customer.name",
            Field::Phone => "customer.phone",
            Field::Email => "customer.email",
            Field::Amount => "cod_amount",
            Field::Contents => "contents",
            Field::Carrier => "carrier",
            Field::StorageDays => "storage_days",
        }
    }

    /// The field an API error name refers to.
    pub fn from_api_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.api_name() == name)
    }

    /// The header the template uses (Russian first, English in brackets).
    pub fn template_header(self) -> &'static str {
        match self {
            Field::Track => "Трек (track)",
            Field::Order => "Заказ (order)",
            Field::Name => "ФИО (name)",
            Field::Phone => "Телефон (phone)",
            Field::Email => "E-mail",
            Field::Amount => "Сумма (amount)",
            Field::Contents => "Состав (contents)",
            Field::Carrier => "Служба (carrier)",
            Field::StorageDays => "Срок хранения, дней (storage days)",
        }
    }

    /// Normalised names a header may have.
    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Track => &[
                "трек",
                "трекномер",
                "номертрека",
                "треккод",
                "шпи",
                "почтовыйидентификатор",
                "идентификатор",
                "номеротправления",
                "track",
                "tracknumber",
                "trackno",
                "tracking",
                "trackingnumber",
                "trackingcode",
                "barcode",
            ],
            Field::Order => &[
                "заказ",
                "заказа",
                "номерзаказа",
                "заказномер",
                "заказ№",
                "order",
                "orderid",
                "orderno",
                "ordernumber",
            ],
            Field::Name => &[
                "фио",
                "фиополучателя",
                "получатель",
                "покупатель",
                "клиент",
                "имя",
                "name",
                "fullname",
                "customer",
                "customername",
                "recipient",
            ],
            Field::Phone => &[
                "телефон",
                "тел",
                "телефонполучателя",
                "мобильный",
                "мобильныйтелефон",
                "phone",
                "phonenumber",
                "mobile",
                "tel",
            ],
            Field::Email => &[
                "email",
                "емейл",
                "имейл",
                "эпочта",
                "элпочта",
                "электроннаяпочта",
                "почта",
                "mail",
            ],
            Field::Amount => &[
                "сумма",
                "суммакоплате",
                "коплате",
                "наложенныйплатеж",
                "сумманп",
                "нп",
                "суммаоплаты",
                "amount",
                "cod",
                "codamount",
                "cashondelivery",
            ],
            Field::Contents => &[
                "состав",
                "составзаказа",
                "содержимое",
                "вложение",
                "товары",
                "товар",
                "описание",
                "contents",
                "content",
                "items",
                "description",
            ],
            Field::Carrier => &[
                "служба",
                "службадоставки",
                "перевозчик",
                "доставка",
                "carrier",
                "service",
            ],
            Field::StorageDays => &[
                "срокхранения",
                "срокхранениядней",
                "срокхранениявднях",
                "хранение",
                "storagedays",
                "storage",
                "storageperiod",
            ],
        }
    }

    /// Sets this field of a draft from a cell's text: an empty cell keeps what is stored, a
    /// lone dash clears it (see [`Patch::from_cell`]).
    pub fn set(self, d: &mut ParcelDraft, value: &str) {
        let patch = Patch::from_cell(value);
        match self {
            Field::Track => d.track = value.trim().to_string(),
            Field::Order => d.order_id = patch,
            Field::Name => d.name = patch,
            Field::Phone => d.phone = patch,
            Field::Email => d.email = patch,
            Field::Amount => d.cod_amount = patch,
            Field::Contents => d.contents = patch,
            Field::Carrier => {
                if let Patch::Set(v) = patch {
                    d.carrier = Some(carrier_name(&v));
                }
            }
            Field::StorageDays => d.storage_days = patch,
        }
    }
}

/// Reduces a header to letters and digits: `"Сумма НП, руб."` → `"сумманп"`.
pub fn normalise(header: &str) -> String {
    let mut s = String::new();
    let mut depth = 0usize;
    for c in header.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            'ё' | 'Ё' => s.push('е'),
            '№' => s.push('№'),
            c if c.is_alphanumeric() => s.extend(c.to_lowercase()),
            _ => {}
        }
    }
    for unit in ["руб", "rub"] {
        if let Some(stripped) = s.strip_suffix(unit)
            && !stripped.is_empty()
        {
            return stripped.to_string();
        }
    }
    s
}

/// The field a header names, if any.
pub fn field_of(header: &str) -> Option<Field> {
    let n = normalise(header);
    if n.is_empty() {
        return None;
    }
    let n = n.trim_start_matches('№');
    let n = if n.is_empty() { "№" } else { n };
    Field::ALL.into_iter().find(|f| f.names().contains(&n))
}

/// Carrier names as shops write them, in the names the intake knows.
fn carrier_name(value: &str) -> String {
    let n = normalise(value);
    match n.as_str() {
        "почтароссии" | "почта" | "пр" | "russianpost" => "russian_post".into(),
        "емс" | "ems" | "emsпочтароссии" | "emsrussianpost" => "ems".into(),
        "почтакитая" | "chinapost" => "china_post".into(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_and_english_headers() {
        for (h, f) in [
            ("Трек", Field::Track),
            ("Трек-номер", Field::Track),
            ("ШПИ", Field::Track),
            ("Tracking number", Field::Track),
            ("track", Field::Track),
            ("№ заказа", Field::Order),
            ("Номер заказа", Field::Order),
            ("Order ID", Field::Order),
            ("ФИО получателя", Field::Name),
            ("Name", Field::Name),
            ("Телефон", Field::Phone),
            ("phone", Field::Phone),
            ("E-mail", Field::Email),
            ("Эл. почта", Field::Email),
            ("Сумма НП, руб.", Field::Amount),
            ("Сумма (руб.)", Field::Amount),
            ("Amount", Field::Amount),
            ("Состав", Field::Contents),
            ("Служба доставки", Field::Carrier),
            ("  ТРЕК  ", Field::Track),
        ] {
            assert_eq!(field_of(h), Some(f), "{h}");
        }
        for h in ["", "Примечание", "Вес, кг", "Заказчик", "Дата"] {
            assert_eq!(field_of(h), None, "{h}");
        }
    }

    #[test]
    fn template_headers_are_understood() {
        for f in Field::ALL {
            assert_eq!(field_of(f.template_header()), Some(f));
            assert_eq!(Field::from_api_name(f.api_name()), Some(f));
        }
    }

    #[test]
    fn carriers_in_russian() {
        let mut d = ParcelDraft::default();
        Field::Carrier.set(&mut d, "Почта России");
        assert_eq!(d.carrier.as_deref(), Some("russian_post"));
        Field::Carrier.set(&mut d, "ЕМС");
        assert_eq!(d.carrier.as_deref(), Some("ems"));
        Field::Carrier.set(&mut d, "DHL");
        assert_eq!(d.carrier.as_deref(), Some("DHL"));
    }
}
