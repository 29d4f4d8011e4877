//! The columns of a parcel table: the fields the import understands, the headers the template
//! gives them, and how a cell's text sets a field of a draft. Which field a header names, in
//! Russian or English as shops and their accounting programs write it ("Трек-номер", "ШПИ",
//! "№ заказа", "Ф.И.О. получателя", "Сумма наложенного платежа, руб.", "Tracking number"), is
//! decided by the stem rules of [`super::headers`].

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

    /// A header that plainly names this field, suggested when a column only looks like it.
    pub fn clear_header(self) -> &'static str {
        match self {
            Field::Track => "Трек-номер",
            Field::Order => "Номер заказа",
            Field::Name => "ФИО получателя",
            Field::Phone => "Телефон",
            Field::Email => "E-mail",
            Field::Amount => "Сумма НП",
            Field::Contents => "Состав заказа",
            Field::Carrier => "Служба доставки",
            Field::StorageDays => "Срок хранения, дней",
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

/// The field a header names, if any (see [`super::headers`]).
pub fn field_of(header: &str) -> Option<Field> {
    super::headers::classify(header).field()
}

/// Carrier names as shops write them, in the names the intake knows.
fn carrier_name(value: &str) -> String {
    // "Почта России" → "почтароссии".
    let n = super::headers::words(value).concat();
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
            assert_eq!(field_of(f.clear_header()), Some(f));
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
