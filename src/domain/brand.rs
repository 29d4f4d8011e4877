//! A shop's look on its customers' tracking page: an accent colour and a logo. Both are checked
//! when the shop sets them; the page still escapes them like any other text.

use serde::{Deserialize, Serialize};

/// The longest logo URL accepted.
pub const MAX_LOGO_URL: usize = 500;

/// How a shop's tracking page looks. Absent values use the page's own.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Brand {
    /// The accent colour, `#rrggbb` (lower case).
    pub color: Option<String>,
    /// The logo, an `https://` URL the page loads the image from.
    pub logo_url: Option<String>,
}

/// Checks a colour written `#RRGGBB` and returns it in lower case.
pub fn color(s: &str) -> Result<String, String> {
    let s = s.trim();
    let ok = s.len() == 7 && s.starts_with('#') && s.bytes().skip(1).all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!(
            "{:?} is not a colour: write it as #RRGGBB, e.g. #1a73e8",
            s.chars().take(40).collect::<String>()
        ))
    }
}

/// Checks a logo URL: `https://` with a host, no user name or password, no spaces, at most
/// [`MAX_LOGO_URL`] characters. Returns it as given (trimmed).
pub fn logo_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let shown = || s.chars().take(80).collect::<String>();
    let bad = |why: &str| Err(format!("{:?} is not a logo URL: {why}", shown()));
    if s.len() > MAX_LOGO_URL {
        return bad(&format!("it is longer than {MAX_LOGO_URL} characters"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces or control characters");
    }
    let Ok(u) = url::Url::parse(s) else {
        return bad("write an https:// address of the image");
    };
    if u.scheme() != "https" || u.host_str().is_none_or(str::is_empty) {
        return bad("write an https:// address of the image");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return bad("it must not carry a user name or password");
    }
    Ok(s.to_string())
}

/// The origin (`https://host[:port]`) a logo URL loads from, for the page's content security
/// policy; `None` if it cannot be read.
pub fn origin(logo_url: &str) -> Option<String> {
    let u = url::Url::parse(logo_url).ok()?;
    (u.scheme() == "https" && u.host_str().is_some()).then(|| u.origin().ascii_serialization())
}

/// Whether dark text reads better than white on the colour `#rrggbb` (relative luminance as
/// WCAG defines it, compared at the point where both contrasts are equal).
pub fn prefers_dark_text(color: &str) -> bool {
    let channel = |i: usize| {
        let v = color
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.0, |v| f64::from(v) / 255.0);
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with black (l + 0.05) / 0.05 beats contrast with white 1.05 / (l + 0.05) above
    // l = sqrt(1.05 * 0.05) - 0.05 ≈ 0.179.
    l > 0.179
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(color("#1A73E8").as_deref(), Ok("#1a73e8"));
        assert_eq!(color(" #00ff00 ").as_deref(), Ok("#00ff00"));
        for bad in [
            "", "1a73e8", "#1a73e", "#1a73e8f", "#ggggggg", "red", "#12345z", "#fff",
        ] {
            assert!(color(bad).is_err(), "{bad}");
        }
        let e = color("</style>").unwrap_err();
        assert!(e.contains("#RRGGBB"), "{e}");
    }

    #[test]
    fn logo_urls() {
        assert!(logo_url("https://shop.example/logo.png").is_ok());
        assert!(logo_url("https://cdn.shop.example:8443/a/b.svg?v=2").is_ok());
        for bad in [
            "http://shop.example/logo.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https://",
            "https://user:pw@shop.example/logo.png",
            "https://shop.example/a b.png",
            "//shop.example/logo.png",
            "logo.png",
        ] {
            assert!(logo_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://shop.example/{}", "a".repeat(500));
        assert!(logo_url(&long).unwrap_err().contains("longer than 500"));
        assert_eq!(
            origin("https://cdn.shop.example:8443/a/b.svg?v=2").as_deref(),
            Some("https://cdn.shop.example:8443")
        );
        assert_eq!(
            origin("https://shop.example/logo.png").as_deref(),
            Some("https://shop.example")
        );
    }

    #[test]
    fn text_on_colours() {
        assert!(prefers_dark_text("#ffffff"));
        assert!(prefers_dark_text("#ffd400"), "yellow");
        assert!(!prefers_dark_text("#000000"));
        assert!(!prefers_dark_text("#1a5fb4"), "a mid blue takes white");
        assert!(!prefers_dark_text("#c62828"), "a dark red takes white");
    }
}
