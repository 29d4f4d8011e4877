//! The one place values are encoded for the store: bincode 1.3.3 with varint integers and a size
//! limit, behind a one-byte record version.
//!
//! bincode's format has no field names, so a struct that changes shape must get a new version
//! number and a way to read the old one (see [`super::legacy`]). The size limit turns a corrupt length prefix
//! into an error instead of a huge allocation.

use bincode::Options;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest record the store will decode.
const LIMIT: u64 = 16 * 1024 * 1024;

/// A record could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The record is empty.
    #[error("empty record")]
    Empty,
    /// The record was written by a different version of its type.
    #[error("record version {found} is not the expected {expected}")]
    Version {
        /// The version byte found.
        found: u8,
        /// The version this build reads.
        expected: u8,
    },
    /// bincode failed.
    #[error("{0}")]
    Bincode(#[from] bincode::Error),
}

fn options() -> impl Options {
    bincode::DefaultOptions::new().with_limit(LIMIT)
}

/// Encodes `value` as version `version`.
pub fn encode<T: Serialize>(version: u8, value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![version];
    options().serialize_into(&mut out, value)?;
    Ok(out)
}

/// Decodes a record that must be of version `version`.
pub fn decode<T: DeserializeOwned>(version: u8, bytes: &[u8]) -> Result<T, CodecError> {
    let (found, body) = split(bytes)?;
    if found != version {
        return Err(CodecError::Version {
            found,
            expected: version,
        });
    }
    body_of(body)
}

/// A record's version byte and its body.
pub fn split(bytes: &[u8]) -> Result<(u8, &[u8]), CodecError> {
    let (&found, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    Ok((found, body))
}

/// Decodes a record's body (after its version byte), whatever its version.
pub fn body_of<T: DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    Ok(options().deserialize(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Thing {
        a: u64,
        b: String,
    }

    #[test]
    fn round_trip_and_version_check() {
        let t = Thing {
            a: 300,
            b: "посылка".into(),
        };
        let bytes = encode(3, &t).unwrap();
        assert_eq!(bytes[0], 3);
        assert_eq!(decode::<Thing>(3, &bytes).unwrap(), t);
        assert!(matches!(
            decode::<Thing>(4, &bytes),
            Err(CodecError::Version {
                found: 3,
                expected: 4
            })
        ));
        assert!(matches!(decode::<Thing>(3, &[]), Err(CodecError::Empty)));
    }

    #[test]
    fn corrupt_bytes_are_an_error_not_a_panic() {
        // A length prefix claiming an enormous string.
        let bytes = [3u8, 1, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert!(decode::<Thing>(3, &bytes).is_err());
        assert!(decode::<Thing>(3, &[3, 0xff]).is_err());
    }
}
