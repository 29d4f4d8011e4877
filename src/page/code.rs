//! The short code in a tracking link, `<public_url>/t/<code>`: ten characters made from an
//! HMAC of the parcel (shop, track number, parcel id) under the link secret, so that nobody
//! without the secret can make one, and codes of neighbouring parcels have nothing in common.
//!
//! The first character is a capital letter and the other nine are letters and digits:
//! 26 × 62⁹ ≈ 3.5 × 10¹⁷ codes, 58 bits. A shop id has no capital letters, so `/t/<code>` and
//! the order form's `/t/<shop>` never name the same thing. At the public routes' limit of 10
//! requests a second, one address trying codes at random would hit one of a million live codes
//! about once in 1 000 years.

/// Characters in a code.
pub const LEN: usize = 10;

const FIRST: &[u8; 26] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const REST: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The code made from a MAC tag (at least 16 bytes; fewer are padded with zeros).
pub fn from_tag(tag: &[u8]) -> String {
    let mut bytes = [0u8; 16];
    for (b, t) in bytes.iter_mut().zip(tag) {
        *b = *t;
    }
    // 2^128 is about 10^21 times the number of codes, so taking the number modulo each base
    // leaves no bias worth a thought.
    let mut n = u128::from_be_bytes(bytes);
    let mut out = String::with_capacity(LEN);
    out.push(char::from(FIRST[(n % 26) as usize]));
    n /= 26;
    for _ in 1..LEN {
        out.push(char::from(REST[(n % 62) as usize]));
        n /= 62;
    }
    out
}

/// Whether `s` has the shape of a code (says nothing about whether it leads anywhere).
pub fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == LEN && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_shape_and_differ() {
        let a = from_tag(&[0u8; 32]);
        assert_eq!(a, "A000000000");
        let b = from_tag(&[0xff; 32]);
        assert!(is_code(&a) && is_code(&b), "{a} {b}");
        let mut seen = std::collections::BTreeSet::new();
        for i in 0u8..=255 {
            let mut tag = [7u8; 32];
            tag[15] = i;
            let c = from_tag(&tag);
            assert!(is_code(&c), "{c}");
            assert!(seen.insert(c));
        }
        for bad in [
            "",
            "a000000000",
            "A00000000",
            "A0000000000",
            "A00000000-",
            "acme",
            "Акме000000",
        ] {
            assert!(!is_code(bad), "{bad}");
        }
        assert!(
            crate::domain::shop::ShopId::parse(&b).is_err(),
            "a code is never a shop id"
        );
    }
}
