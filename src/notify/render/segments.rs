//! How many SMS segments a text costs.
//!
//! A text in the GSM 03.38 default alphabet is sent as GSM-7: 160 septets in one SMS, 153 per
//! part once it needs several (the concatenation header takes the rest). Characters of the
//! extension table (`^ { } \ [ ~ ] | €`, form feed) take two septets, and an escape pair is never
//! split between parts. Any other character (Cyrillic, `№`, `«»`, emoji) switches the whole text
//! to UCS-2: 70 UTF-16 units in one SMS, 67 per part, and a surrogate pair is never split.
//! Providers bill per segment, so shops see the count when they save a template.

use serde::{Deserialize, Serialize};

/// How a text is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The GSM 7-bit default alphabet (with its extension table).
    Gsm7,
    /// UTF-16 (UCS-2 on the wire): any character outside GSM-7.
    Ucs2,
}

/// The cost of one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segments {
    /// The encoding the whole text needs.
    pub encoding: Encoding,
    /// Characters (Unicode scalar values).
    pub chars: usize,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// SMS parts the provider sends and bills.
    pub parts: u32,
}

/// The GSM 03.38 default alphabet, without the escape code.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                     ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Characters reached through the escape code: two septets each.
const EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// Septets a character costs in GSM-7, or `None` if GSM-7 cannot carry it.
fn septets(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Packs units greedily into parts of `per_part`, never splitting one character's units.
fn pack(costs: impl Iterator<Item = usize>, per_part: usize) -> u32 {
    let mut parts = 1u32;
    let mut used = 0;
    for c in costs {
        if used + c > per_part {
            parts += 1;
            used = 0;
        }
        used += c;
    }
    parts
}

/// Counts the segments of `text`.
pub fn count(text: &str) -> Segments {
    let chars = text.chars().count();
    let gsm: Option<Vec<usize>> = text.chars().map(septets).collect();
    match gsm {
        Some(costs) => {
            let units: usize = costs.iter().sum();
            let parts = if units <= 160 {
                1
            } else {
                pack(costs.into_iter(), 153)
            };
            Segments {
                encoding: Encoding::Gsm7,
                chars,
                units,
                parts,
            }
        }
        None => {
            let units: usize = text.chars().map(char::len_utf16).sum();
            let parts = if units <= 70 {
                1
            } else {
                pack(text.chars().map(char::len_utf16), 67)
            };
            Segments {
                encoding: Encoding::Ucs2,
                chars,
                units,
                parts,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> u32 {
        count(s).parts
    }

    #[test]
    fn gsm7_limits() {
        assert_eq!(parts(&"A".repeat(160)), 1);
        assert_eq!(parts(&"A".repeat(161)), 2);
        assert_eq!(parts(&"A".repeat(306)), 2);
        assert_eq!(parts(&"A".repeat(307)), 3);
        assert_eq!(count("Hello").encoding, Encoding::Gsm7);
        assert_eq!(parts(""), 1);
    }

    #[test]
    fn extension_characters_cost_two_septets_and_stay_whole() {
        assert_eq!(count(&"€".repeat(80)).units, 160);
        assert_eq!(parts(&"€".repeat(80)), 1);
        assert_eq!(parts(&"€".repeat(81)), 2);
        // 152 plain septets then an escape pair: the pair moves to the next part.
        let s = format!("{}{}{}", "A".repeat(152), "€", "A".repeat(10));
        assert_eq!(count(&s).units, 164);
        assert_eq!(parts(&s), 2);
        let s = format!("{}{}", "A".repeat(152), "€".repeat(77));
        assert_eq!(parts(&s), 3, "the pair at 152 cannot be split");
    }

    #[test]
    fn ucs2_limits() {
        assert_eq!(count("Я").encoding, Encoding::Ucs2);
        assert_eq!(parts(&"Я".repeat(70)), 1);
        assert_eq!(parts(&"Я".repeat(71)), 2);
        assert_eq!(parts(&"Я".repeat(134)), 2);
        assert_eq!(parts(&"Я".repeat(135)), 3);
        // One Cyrillic letter switches the whole text.
        let s = format!("{}Ж", "A".repeat(69));
        assert_eq!((count(&s).encoding, parts(&s)), (Encoding::Ucs2, 1));
        let s = format!("{}Ж", "A".repeat(70));
        assert_eq!(parts(&s), 2);
    }

    #[test]
    fn surrogate_pairs_count_twice_and_stay_whole() {
        let s = "😀".repeat(35);
        assert_eq!(count(&s).units, 70);
        assert_eq!(parts(&s), 1);
        let s = format!("{}{}", "Я".repeat(66), "😀");
        assert_eq!(count(&s).units, 68);
        assert_eq!(parts(&s), 1, "68 units fit one SMS of 70");
        // 66 units, then a pair that would straddle unit 67: it moves whole to part two.
        let s = format!("{}{}{}", "Я".repeat(66), "😀", "Я".repeat(66));
        assert_eq!(count(&s).units, 134);
        assert_eq!(
            parts(&s),
            3,
            "67 + 67 units would be two parts if the pair were split"
        );
    }

    #[test]
    fn typographic_signs_are_not_gsm7() {
        for c in ["№", "«", "»", "—", "`"] {
            assert_eq!(count(c).encoding, Encoding::Ucs2, "{c}");
        }
    }
}
