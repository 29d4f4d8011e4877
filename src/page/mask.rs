//! Personal data as the tracking page shows it: enough for the customer to recognise their own
//! parcel, too little for anyone else to learn who it is. "Иванов Иван Иванович" is
//! "И***в И.", `+79123456789` is "+7 *** ***-67-89", `ivan@example.ru` is "i***@example.ru".

/// A name: the first word's first and last letters, then the second word's initial.
pub fn name(full: &str) -> String {
    let mut words = full.split_whitespace();
    let Some(first) = words.next() else {
        return String::new();
    };
    let letters: Vec<char> = first.chars().collect();
    let mut out = match letters.as_slice() {
        [] => String::new(),
        [a] => a.to_string(),
        [a, _] => format!("{a}*"),
        [a, .., z] => format!("{a}***{z}"),
    };
    if let Some(initial) = words.next().and_then(|w| w.chars().next()) {
        out.push(' ');
        out.push(initial);
        out.push('.');
    }
    out
}

/// A phone number in E.164: only its last four digits. Russian numbers keep their shape,
/// "+7 *** ***-67-89".
pub fn phone(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return "***".into();
    }
    let n = digits.len();
    let tail = format!(
        "{}{}-{}{}",
        digits[n - 4],
        digits[n - 3],
        digits[n - 2],
        digits[n - 1]
    );
    if digits.len() == 11 && digits[0] == '7' {
        format!("+7 *** ***-{tail}")
    } else {
        format!("+*** ***-{tail}")
    }
}

/// An e-mail address: the first character of the mailbox, and the domain.
pub fn email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// The last four digits of a phone number, when it has at least six.
pub fn last_four(e164: &str) -> Option<String> {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 6).then(|| digits[digits.len() - 4..].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("Иванов Иван Иванович"), "И***в И.");
        assert_eq!(name("Иванов Иван"), "И***в И.");
        assert_eq!(name("  Анна "), "А***а");
        assert_eq!(name("Ли Мин"), "Л* М.");
        assert_eq!(name("Я"), "Я");
        assert_eq!(name("John Smith"), "J***n S.");
        assert_eq!(name(""), "");
    }

    #[test]
    fn phones_and_emails() {
        assert_eq!(phone("+79123456789"), "+7 *** ***-67-89");
        assert_eq!(phone("+375291234567"), "+*** ***-45-67");
        assert_eq!(phone("+12"), "***");
        assert_eq!(email("ivan@example.ru"), "i***@example.ru");
        assert_eq!(email("@example.ru"), "***@example.ru");
        assert_eq!(email("nothing"), "***");
        assert_eq!(last_four("+79123456789").as_deref(), Some("6789"));
        assert_eq!(last_four("+7912"), None);
    }
}
