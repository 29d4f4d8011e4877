//! What a column header says. Real exports name their columns in declined, abbreviated and
//! decorated Russian ("Сумма наложенного платежа, руб.", "Наложенным платежом", "Трек номер
//! посылки", "Ф.И.О. получателя", "Номер заказа в магазине", "Срок хранения, дней") or in
//! English, so a header is read as words and matched against a small table of rules over
//! word stems (`RULES`), not compared with a list of phrases.
//!
//! **Words.** Text in brackets is left out ("Трек (track)" reads as "Трек"); the rest is
//! lower-cased, `ё` read as `е`, and split at everything that is not a letter, a digit or `№`
//! (`#` counts as `№`). A run of single letters is one word ("Ф.И.О." is "фио"). Units ("руб.",
//! "р.", "RUB", "дней", "days"; "₽" is punctuation anyway) are dropped.
//!
//! **Stems.** A stem ending in `*` matches every word that begins with it (`сумм*`: сумма,
//! суммы, сумме); a stem without it matches that word only (`тел`, `нп`, `cod`), since a short
//! stem would also catch unrelated words (телевизор, code). Russian inflects at the end of a
//! word, so a stem cut before the ending covers every case form. The few words that begin like
//! a stem but are other words ("заказчик") are listed in `NOT_STEMS`.
//!
//! Why stems written here and not a stemming library: Snowball's Russian stemmer (the
//! `rust-stemmers` crate) was tried on these headers' words. It stems "состав" to "соста" but
//! "состава" to "состав", "фио" to "фи", "имя" to "им"; it keeps `ё` ("платёж" is not
//! "платеж"); and it gives "платеж" for "платежа" but "плат" for "плата". Comparing its stems
//! would still need exceptions word by word, plus an English stemmer for English headers. For
//! a vocabulary of a few dozen words, prefixes are shorter to read, are checked by the tests
//! below, and cannot change under a library update.
//!
//! **Rules.** A rule names a field and stems that must each name a word of the header
//! (`сумм*` and `нп`). A rule made with `alone` also wants no other words in the header
//! (prepositions aside), for words too general to stand with others: "Сумма" alone is the
//! cash on delivery, "Сумма заказа" is the order's total. A rule may list stems that rule it
//! out (`товар*` is the contents, but "Количество товара" is not). A header that the rules of
//! two fields accept ("ФИО и телефон") is ambiguous and names neither.
//!
//! **Look-alikes.** A header that no rule accepts but that has a key word of a field
//! ([`hints`]) looks like that field: the import ignores it and says so ("Сумма заказа", "Дата
//! заказа"), unless another of its words says it is about something a parcel does not keep
//! (address, weight, price, comment: `OTHER_THINGS`).

use super::columns::Field::{self, *};

/// What a header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// It names this field.
    Field(Field),
    /// The rules of more than one field accept it.
    Ambiguous(Vec<Field>),
    /// No rule accepts it, but it has a key word of these fields.
    LooksLike(Vec<Field>),
    /// Nothing the import reads.
    Other,
}

impl Header {
    /// The field it names, if it names one.
    pub fn field(&self) -> Option<Field> {
        match self {
            Header::Field(f) => Some(*f),
            _ => None,
        }
    }
}

/// One way a header names a field.
struct Rule {
    field: Field,
    /// Each of these stems names a word of the header.
    with: &'static [&'static str],
    /// No word of the header matches one of these.
    unless: &'static [&'static str],
    /// The header has no words besides those `with` names (and [`FILLERS`]).
    alone: bool,
}

/// A rule: the header has words for every stem, and maybe others.
const fn has(field: Field, with: &'static [&'static str]) -> Rule {
    Rule {
        field,
        with,
        unless: &[],
        alone: false,
    }
}

/// A rule: the header is these words and nothing else.
const fn alone(field: Field, with: &'static [&'static str]) -> Rule {
    Rule {
        field,
        with,
        unless: &[],
        alone: true,
    }
}

impl Rule {
    /// The same rule, refused when a word matches one of `stems`.
    const fn unless(self, stems: &'static [&'static str]) -> Rule {
        Rule {
            unless: stems,
            ..self
        }
    }
}

/// Words that make a number the parcel's, not the order's ("Трек-номер заказа").
const TRACK_WORDS: &[&str] = &["трек*", "шпи", "отправлен*", "track*"];
/// Words that make a name, phone or e-mail the sender's ("Телефон отправителя").
const SENDER: &[&str] = &["отправител*", "магазин*", "sender*", "shop*"];
/// Words that make a goods column something other than what is inside ("Количество товара").
const NOT_CONTENTS: &[&str] = &[
    "кол*",
    "цен*",
    "стоимост*",
    "сумм*",
    "вес*",
    "артикул*",
    "qty",
    "quantity*",
    "price*",
    "weight*",
    "sku",
];
/// Words that make an English "name" something else's ("Product name").
const NOT_A_PERSON: &[&str] = &[
    "product*", "item*", "goods", "company*", "shop*", "store*", "sender*", "file*",
];

/// Every rule, by field. A header names a field when one of the field's rules accepts it.
const RULES: &[Rule] = &[
    // Track number: "Трек", "Трек-номер", "Трек номер посылки", "ШПИ", "Номер отправления".
    has(Track, &["трек*"]),
    has(Track, &["шпи"]),
    has(Track, &["номер*", "отправлен*"]),
    has(Track, &["№", "отправлен*"]),
    has(Track, &["номер*", "посылк*"]),
    alone(Track, &["идентификатор*"]),
    has(Track, &["почтов*", "идентификатор*"]),
    has(Track, &["track*"]),
    has(Track, &["barcode*"]),
    // Order number: "Заказ", "№ заказа", "Номер заказа в магазине", "Order ID".
    alone(Order, &["заказ*"]),
    has(Order, &["заказ*", "номер*"]).unless(TRACK_WORDS),
    has(Order, &["заказ*", "№"]).unless(TRACK_WORDS),
    has(Order, &["заказ*", "id"]),
    has(Order, &["заказ*", "код"]),
    alone(Order, &["order*"]),
    has(Order, &["order*", "id"]),
    has(Order, &["order*", "no"]),
    has(Order, &["order*", "number*"]),
    has(Order, &["order*", "№"]),
    // Customer's name: "ФИО получателя", "Ф.И.О.", "Получатель", "ФИО покупателя", "Name".
    has(Name, &["фио*"]).unless(SENDER),
    has(Name, &["фамил*"]).unless(SENDER),
    has(Name, &["имя"]).unless(SENDER),
    alone(Name, &["получател*"]),
    alone(Name, &["покупател*"]),
    alone(Name, &["клиент*"]),
    alone(Name, &["адресат*"]),
    has(Name, &["name"]).unless(NOT_A_PERSON),
    has(Name, &["fullname"]),
    alone(Name, &["customer*"]),
    alone(Name, &["recipient*"]),
    // Customer's phone: "Телефон получателя", "Тел.", "Моб. телефон", "Phone".
    has(Phone, &["телефон*"]).unless(SENDER),
    has(Phone, &["тел"]).unless(SENDER),
    has(Phone, &["моб*"]).unless(SENDER),
    has(Phone, &["сотов*"]).unless(SENDER),
    has(Phone, &["phone*"]).unless(SENDER),
    has(Phone, &["mobile*"]).unless(SENDER),
    has(Phone, &["tel"]).unless(SENDER),
    // Customer's e-mail: "E-mail получателя", "Эл. почта", "Электронная почта", "Почта".
    has(Email, &["email*"]).unless(SENDER),
    has(Email, &["mail"]).unless(SENDER),
    has(Email, &["емейл*"]).unless(SENDER),
    has(Email, &["имейл*"]).unless(SENDER),
    has(Email, &["эл", "почт*"]).unless(SENDER),
    has(Email, &["э", "почт*"]).unless(SENDER),
    has(Email, &["электрон*", "почт*"]).unless(SENDER),
    alone(Email, &["почт*"]),
    // Cash on delivery: "Сумма НП", "Сумма наложенного платежа", "Наложенным платежом",
    // "Сумма" alone, "Сумма к оплате", "COD".
    has(Amount, &["налож*"]),
    has(Amount, &["нп"]),
    alone(Amount, &["сумм*"]),
    has(Amount, &["сумм*", "оплат*"]),
    has(Amount, &["к", "оплат*"]),
    has(Amount, &["cod"]),
    has(Amount, &["cash", "delivery"]),
    alone(Amount, &["amount*"]),
    // What is inside: "Состав заказа", "Вложение", "Товары", "Наименование".
    has(Contents, &["состав*"]),
    has(Contents, &["вложен*"]),
    has(Contents, &["содерж*"]),
    has(Contents, &["товар*"]).unless(NOT_CONTENTS),
    alone(Contents, &["наименован*"]),
    alone(Contents, &["описан*"]),
    has(Contents, &["content*"]),
    has(Contents, &["items"]).unless(NOT_CONTENTS),
    alone(Contents, &["description"]),
    // Carrier: "Служба доставки", "Перевозчик", "Транспортная компания", "Доставка".
    has(Carrier, &["служб*"]),
    has(Carrier, &["перевозчик*"]),
    has(Carrier, &["транспорт*", "компан*"]),
    alone(Carrier, &["доставк*"]),
    has(Carrier, &["carrier*"]),
    alone(Carrier, &["service*"]),
    // Storage period: "Срок хранения, дней", "Хранение", "Storage days".
    has(StorageDays, &["срок*", "хранен*"]),
    alone(StorageDays, &["хранен*"]),
    has(StorageDays, &["storage*"]),
];

/// The key words of a field: a header with one of them that no rule accepts looks like it.
pub fn hints(field: Field) -> &'static [&'static str] {
    match field {
        Track => &[
            "трек*",
            "шпи",
            "отправлен*",
            "идентификатор*",
            "track*",
            "barcode*",
        ],
        Order => &["заказ*", "order*"],
        Name => &[
            "фио*",
            "получател*",
            "покупател*",
            "name",
            "customer*",
            "recipient*",
        ],
        Phone => &["телефон*", "тел", "моб*", "phone*"],
        Email => &["email*", "mail", "почт*"],
        Amount => &["сумм*", "налож*", "нп", "cod", "amount*"],
        Contents => &["состав*", "вложен*", "товар*", "content*"],
        Carrier => &["служб*", "перевозчик*", "carrier*"],
        StorageDays => &["хранен*", "storage*"],
    }
}

/// Words that say a column is about something a parcel does not keep: such a column is
/// ignored without a warning even when it shares a word with a field ("Адрес получателя").
const OTHER_THINGS: &[&str] = &[
    "адрес*",
    "индекс*",
    "город*",
    "област*",
    "регион*",
    "стран*",
    "улиц*",
    "отделен*",
    "опс",
    "вес*",
    "габарит*",
    "стоимост*",
    "цен*",
    "коммент*",
    "примечан*",
    "статус*",
    "address*",
    "zip*",
    "postcode*",
    "city",
    "country*",
    "weight*",
    "price*",
    "cost*",
    "comment*",
    "note*",
    "status*",
];

/// Words that begin like a stem but are other words.
const NOT_STEMS: &[&str] = &["заказчик*"];

/// Units, dropped from headers.
const UNITS: &[&str] = &[
    "руб*", "р", "rub", "rur", "коп*", "дн", "дней", "день", "дня", "days", "day", "шт",
];

/// Words that may stand beside a rule made with [`alone`].
const FILLERS: &[&str] = &[
    "в", "во", "на", "по", "для", "к", "из", "of", "in", "the", "for",
];

/// Whether `word` is one `stem` names.
fn matches(stem: &str, word: &str) -> bool {
    let named = |stem: &str| match stem.strip_suffix('*') {
        Some(prefix) => word.starts_with(prefix),
        None => word == stem,
    };
    named(stem) && !NOT_STEMS.iter().any(|s| named(s))
}

/// Whether one of the words is one of the stems names.
fn any(stems: &[&str], words: &[String]) -> bool {
    words.iter().any(|w| stems.iter().any(|s| matches(s, w)))
}

/// Ends the word being read.
fn flush(word: &mut String, raw: &mut Vec<String>) {
    if !word.is_empty() {
        raw.push(std::mem::take(word));
    }
}

/// The words of a header (see the module's doc).
pub fn words(header: &str) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut depth = 0usize;
    for c in header.chars() {
        match c {
            '(' | '[' => {
                flush(&mut word, &mut raw);
                depth += 1;
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            'ё' | 'Ё' => word.push('е'),
            '№' | '#' => {
                flush(&mut word, &mut raw);
                raw.push("№".into());
            }
            c if c.is_alphanumeric() => word.extend(c.to_lowercase()),
            _ => flush(&mut word, &mut raw),
        }
    }
    flush(&mut word, &mut raw);
    raw.retain(|w| !UNITS.iter().any(|u| matches(u, w)));
    // A run of single letters is one abbreviation: "ф.и.о." is "фио".
    let mut words: Vec<String> = Vec::with_capacity(raw.len());
    let mut run = 0usize;
    for w in raw {
        let letter = w.chars().count() == 1 && w.chars().all(char::is_alphabetic);
        match words.last_mut() {
            Some(last) if letter && run > 0 => {
                last.push_str(&w);
                run += 1;
            }
            _ => {
                words.push(w);
                run = usize::from(letter);
            }
        }
    }
    words
}

/// Whether a rule accepts a header's words.
fn accepts(rule: &Rule, words: &[String]) -> bool {
    rule.with
        .iter()
        .all(|s| words.iter().any(|w| matches(s, w)))
        && !any(rule.unless, words)
        && (!rule.alone
            || words
                .iter()
                .all(|w| rule.with.iter().chain(FILLERS).any(|s| matches(s, w))))
}

/// What a header says.
pub fn classify(header: &str) -> Header {
    let words = words(header);
    if words.is_empty() {
        return Header::Other;
    }
    let mut fields: Vec<Field> = RULES
        .iter()
        .filter(|r| accepts(r, &words))
        .map(|r| r.field)
        .collect();
    fields.dedup();
    match fields.as_slice() {
        [f] => return Header::Field(*f),
        [_, _, ..] => return Header::Ambiguous(fields),
        [] => {}
    }
    if any(OTHER_THINGS, &words) {
        return Header::Other;
    }
    let like: Vec<Field> = Field::ALL
        .into_iter()
        .filter(|f| any(hints(*f), &words))
        .collect();
    if like.is_empty() {
        Header::Other
    } else {
        Header::LooksLike(like)
    }
}

/// Words a total row's label begins with ("Итого", "Всего:", "Total", "Общий итог").
const TOTAL_WORDS: &[&str] = &["итог*", "всего", "total*"];

/// Whether a cell's text labels a total row: "Итого", "ИТОГО:", "Всего отправлений: 4",
/// "Total", "Grand total", "Общий итог".
pub fn is_total_label(text: &str) -> bool {
    let all = words(text);
    let mut words = all.iter();
    let first = match words.next() {
        Some(w) if matches("общ*", w) || w == "grand" => words.next(),
        w => w,
    };
    first.is_some_and(|w| TOTAL_WORDS.iter().any(|s| matches(s, w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_as_real_exports_write_them() {
        for (h, f) in [
            ("Сумма наложенного платежа, руб.", Amount),
            ("Сумма НП", Amount),
            ("Наложенным платежом", Amount),
            ("Наложенный платёж, ₽", Amount),
            ("Сумма к оплате", Amount),
            ("К оплате", Amount),
            ("Сумма в рублях", Amount),
            ("COD amount", Amount),
            ("Cash on delivery", Amount),
            ("Номер отправления", Track),
            ("Трек номер посылки", Track),
            ("Трек-номер заказа", Track),
            ("Почтовый идентификатор", Track),
            ("№ отправления", Track),
            ("Tracking code", Track),
            ("Телефон получателя", Phone),
            ("Моб. телефон", Phone),
            ("Тел.", Phone),
            ("Customer phone", Phone),
            ("Ф.И.О. получателя", Name),
            ("Ф. И. О.", Name),
            ("ФИО покупателя", Name),
            ("Получатель", Name),
            ("Покупатель (ФИО)", Name),
            ("Имя клиента", Name),
            ("Recipient name", Name),
            ("Номер заказа в магазине", Order),
            ("Заказ №", Order),
            ("№заказа", Order),
            ("Order #", Order),
            ("Order No.", Order),
            ("Состав заказа", Contents),
            ("Наименование товара", Contents),
            ("Вложение", Contents),
            ("Срок хранения, дней", StorageDays),
            ("Срок хранения (дней)", StorageDays),
            ("Хранение, дн.", StorageDays),
            ("Storage days", StorageDays),
            ("Email получателя", Email),
            ("E-mail покупателя", Email),
            ("Адрес электронной почты", Email),
            ("Э-почта", Email),
            ("Транспортная компания", Carrier),
            ("Перевозчик", Carrier),
        ] {
            assert_eq!(classify(h), Header::Field(f), "{h}");
        }
    }

    #[test]
    fn look_alikes_are_named_and_other_columns_are_not() {
        for (h, like) in [
            ("Сумма заказа", vec![Order, Amount]),
            ("Дата заказа", vec![Order]),
            ("Order date", vec![Order]),
            ("Дата отправления", vec![Track]),
            ("Телефон отправителя", vec![Phone]),
            ("Email магазина", vec![Email]),
            ("Сумма доставки", vec![Amount]),
            ("Количество товаров", vec![Contents]),
            ("Получатель посылки", vec![Name]),
            ("Хранение до", vec![StorageDays]),
        ] {
            assert_eq!(classify(h), Header::LooksLike(like), "{h}");
        }
        for h in [
            "Адрес получателя",
            "Индекс получателя",
            "Почтовый индекс",
            "Стоимость доставки",
            "Статус заказа",
            "Комментарий к заказу",
            "№ п/п",
            "Вес, кг",
            "Дата",
            "Заказчик",
            "руб.",
            "",
        ] {
            assert_eq!(classify(h), Header::Other, "{h}");
        }
        assert_eq!(
            classify("ФИО и телефон"),
            Header::Ambiguous(vec![Name, Phone])
        );
    }

    #[test]
    fn words_of_a_header() {
        assert_eq!(words("Сумма НП, руб."), ["сумма", "нп"]);
        assert_eq!(words("Ф.И.О. получателя"), ["фио", "получателя"]);
        assert_eq!(words("E-mail"), ["e", "mail"]);
        assert_eq!(words("№заказа (в магазине)"), ["№", "заказа"]);
        assert_eq!(words("Срок хранения, дней"), ["срок", "хранения"]);
        assert_eq!(words("Ёмкость"), ["емкость"]);
    }

    #[test]
    fn every_rule_reads_its_own_words() {
        for r in RULES {
            let header = r
                .with
                .iter()
                .map(|s| s.trim_end_matches('*'))
                .collect::<Vec<_>>();
            assert_eq!(
                classify(&header.join(" ")),
                Header::Field(r.field),
                "{:?}",
                r.with
            );
        }
    }

    #[test]
    fn total_labels() {
        for t in [
            "Итого",
            "ИТОГО:",
            "Итого по реестру",
            "Всего отправлений: 4",
            "Total",
            "Grand total",
            "Общий итог",
        ] {
            assert!(is_total_label(t), "{t}");
        }
        for t in ["Всеволод", "Сумма", "10100012000016", "Общая сумма", ""] {
            assert!(!is_total_label(t), "{t}");
        }
    }
}
