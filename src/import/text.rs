//! Reading CSV text as Russian Excel writes it: the encoding (UTF-8 with or without a byte
//! order mark, UTF-16 from "Unicode text", else Windows-1251) and the separator (Russian Excel
//! uses `;` because `,` is the decimal mark; others use `,` or tab; a first line `sep=;` says it
//! outright).

use super::ImportError;

/// Text and the encoding it was read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// `UTF-8`, `UTF-16LE`, `windows-1251`.
    pub encoding: &'static str,
}

/// Decodes the bytes of a text file.
pub fn decode(bytes: &[u8]) -> Result<Decoded, ImportError> {
    for (bom, enc) in [
        (&[0xFF, 0xFE][..], encoding_rs::UTF_16LE),
        (&[0xFE, 0xFF][..], encoding_rs::UTF_16BE),
    ] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let (text, had_errors) = enc.decode_without_bom_handling(rest);
            if had_errors {
                return Err(ImportError::Encoding(format!(
                    "the file says it is {} but is not; save it as CSV in UTF-8 or Windows-1251",
                    enc.name()
                )));
            }
            return checked(text.into_owned(), enc.name());
        }
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let utf16 = looks_like_utf16(body);
    if let Some(i) = body.iter().position(|&b| b == 0).or(utf16.then_some(0)) {
        return Err(if utf16 {
            ImportError::Encoding(
                "the file looks like UTF-16 text without a byte order mark; save it as CSV in \
                 UTF-8 or Windows-1251"
                    .into(),
            )
        } else {
            ImportError::Binary(i)
        });
    }
    match std::str::from_utf8(body) {
        Ok(s) => checked(s.to_string(), "UTF-8"),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1251.decode_without_bom_handling(body);
            checked(text.into_owned(), "windows-1251")
        }
    }
}

/// UTF-16 without a byte order mark: every other byte is 0x00 (Latin) or 0x04 (Cyrillic).
fn looks_like_utf16(body: &[u8]) -> bool {
    let high = |skip: usize| {
        let sample: Vec<u8> = body
            .iter()
            .skip(skip)
            .step_by(2)
            .take(256)
            .copied()
            .collect();
        sample.len() >= 4
            && sample.iter().filter(|&&b| b == 0 || b == 4).count() * 10 >= sample.len() * 9
    };
    high(0) || high(1)
}

/// Refuses text that is mostly control characters (a binary file that happens to decode).
fn checked(text: String, encoding: &'static str) -> Result<Decoded, ImportError> {
    let sample: Vec<char> = text.chars().take(4096).collect();
    let controls = sample
        .iter()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
        .count();
    if controls * 20 > sample.len().max(1) || sample.contains(&'\u{0}') {
        let at = text
            .char_indices()
            .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
            .map_or(0, |(i, _)| i);
        return Err(ImportError::Binary(at));
    }
    Ok(Decoded { text, encoding })
}

/// The separator of a CSV text, and where the data starts (after a `sep=` line).
pub fn separator(text: &str) -> (u8, usize) {
    let first = text.lines().next().unwrap_or("");
    if let Some(sep) = first.trim().strip_prefix("sep=")
        && let [b] = sep.as_bytes()
    {
        return (*b, first.len() + 1);
    }
    let mut best = (b',', 0usize);
    for sep in [b';', b',', b'\t'] {
        let count: usize = text
            .lines()
            .take(20)
            .map(|l| l.bytes().filter(|&b| b == sep).count())
            .sum();
        if count > best.1 {
            best = (sep, count);
        }
    }
    (best.0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Трек;ФИО\n");
        let d = decode(&cp1251).unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding),
            ("Трек;ФИО\n", "windows-1251")
        );
        let d = decode("\u{feff}Трек,ФИО".as_bytes()).unwrap();
        assert_eq!((d.text.as_str(), d.encoding), ("Трек,ФИО", "UTF-8"));
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "Трек\tФИО".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&utf16).unwrap().text, "Трек\tФИО");
        assert!(matches!(decode(&utf16[2..]), Err(ImportError::Encoding(_))));
    }

    #[test]
    fn binary_junk_is_refused() {
        let junk: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(matches!(decode(&junk), Err(ImportError::Binary(_))));
        assert!(matches!(
            decode(b"\x01\x02\x03\x04\x05abc"),
            Err(ImportError::Binary(_))
        ));
    }

    #[test]
    fn separators() {
        assert_eq!(separator("Трек;Заказ;ФИО\n1;2;3\n"), (b';', 0));
        assert_eq!(separator("track,order\n1,2\n"), (b',', 0));
        assert_eq!(separator("track\torder\n"), (b'\t', 0));
        assert_eq!(separator("sep=;\ntrack;order\n"), (b';', 6));
        assert_eq!(separator("track\n1\n"), (b',', 0));
    }
}
