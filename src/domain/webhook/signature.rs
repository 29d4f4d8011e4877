//! The `Parceld-Signature` header, as Stripe signs its webhooks:
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the endpoint's secret
//! exactly as shown to the shop (`whsec_…`). After a rotation the header carries one `v1` per
//! secret still signing; a receiver accepts the request when any of them matches, and refuses
//! one whose `t` is further from its own clock than its tolerance (a replayed request).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header's name.
pub const HEADER: &str = "Parceld-Signature";

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut m = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => <Hmac<Sha256> as KeyInit>::new(&Default::default()),
    };
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The hex signature of `body` at unix time `t` with `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, t, body).finalize().into_bytes())
}

/// The header's value: `t=…,v1=…` with one `v1` per secret.
pub fn header(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut h = format!("t={t}");
    for s in secrets {
        h.push_str(",v1=");
        h.push_str(&sign(s, t, body));
    }
    h
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `t=` or no `v1=`.
    #[error("the header has no t= or no v1= part")]
    Malformed,
    /// `t` is too far from now.
    #[error("the timestamp is {0} s away from now, more than the tolerance")]
    Stale(i64),
    /// No `v1` matches.
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Checks a header as a receiver does: `t` within `tolerance_s` of `now_s`, and some `v1` equal
/// to the expected signature, compared in constant time.
pub fn verify(
    header: &str,
    secret: &str,
    body: &[u8],
    now_s: i64,
    tolerance_s: i64,
) -> Result<(), SignatureError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age = now_s.saturating_sub(t);
    if age.abs() > tolerance_s {
        return Err(SignatureError::Stale(age));
    }
    let ok = sigs.iter().any(|s| {
        hex::decode(s).is_ok_and(|given| mac(secret, t, body).verify_slice(&given).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_signature() {
        // Python: hmac.new(b"whsec_test", b'1700000000.{"id":"evt_1"}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"id":"evt_1"}"#),
            "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn headers_verify_and_tampering_is_refused() {
        let body = br#"{"id":"evt_1","type":"parcel.delivered"}"#;
        let h = header(&["whsec_a"], 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="), "{h}");
        assert_eq!(verify(&h, "whsec_a", body, 1_700_000_100, 300), Ok(()));
        assert_eq!(
            verify(&h, "whsec_b", body, 1_700_000_100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&h, "whsec_a", b"{}", 1_700_000_100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&h, "whsec_a", body, 1_700_000_301, 300),
            Err(SignatureError::Stale(301))
        );
        // Another time in the header with the old signature does not verify.
        let moved = h.replace("t=1700000000", "t=1700000200");
        assert_eq!(
            verify(&moved, "whsec_a", body, 1_700_000_200, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("v1=00", "whsec_a", body, 0, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let body = b"{}";
        let h = header(&["whsec_new", "whsec_old"], 10, body);
        assert_eq!(h.matches("v1=").count(), 2);
        assert_eq!(verify(&h, "whsec_new", body, 10, 300), Ok(()));
        assert_eq!(verify(&h, "whsec_old", body, 10, 300), Ok(()));
        assert_eq!(
            verify(&h, "whsec_other", body, 10, 300),
            Err(SignatureError::Mismatch)
        );
    }
}
