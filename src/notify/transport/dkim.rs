//! DKIM signing of outgoing e-mail (`[email.dkim]`), the same for every e-mail transport: what
//! the `.eml` folder holds is exactly what SMTP would carry.
//!
//! The signature covers the headers a message has among [`SIGNED`], the RFC 8058 unsubscribe
//! headers included, with relaxed canonicalization of header and body.

use crate::config::secret::Secret;
use crate::config::{DkimAlgorithm, DkimSettings};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::HeaderName;

/// Headers DKIM signs when the message has them (RFC 8058 asks for both unsubscribe headers).
pub const SIGNED: [&str; 10] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// Signs messages with one key.
#[derive(Debug, Clone)]
pub struct Signer {
    selector: String,
    domain: String,
    algorithm: DkimAlgorithm,
    key: Secret,
}

impl Signer {
    /// The signer of the configured key.
    pub fn new(s: &DkimSettings) -> Self {
        Signer {
            selector: s.selector.clone(),
            domain: s.domain.clone(),
            algorithm: s.algorithm,
            key: s.key.clone(),
        }
    }

    /// Adds a `DKIM-Signature` header to the message. Fails only if the key cannot be used
    /// (the config check at start has already read it).
    pub fn sign(&self, message: &mut lettre::Message) -> Result<(), String> {
        let alg = match self.algorithm {
            DkimAlgorithm::Rsa => DkimSigningAlgorithm::Rsa,
            DkimAlgorithm::Ed25519 => DkimSigningAlgorithm::Ed25519,
        };
        let key = DkimSigningKey::new(self.key.expose(), alg)
            .map_err(|e| format!("the DKIM key cannot be used: {e}"))?;
        let headers: Vec<HeaderName> = SIGNED
            .iter()
            .filter(|h| message.headers().get_raw(h).is_some())
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect();
        let config = DkimConfig::new(
            self.selector.clone(),
            self.domain.clone(),
            key,
            headers,
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        );
        message.sign(&config);
        Ok(())
    }
}
