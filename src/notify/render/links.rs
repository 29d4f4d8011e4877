//! Links in messages and for providers: the HMAC-signed one-click unsubscribe link of a parcel
//! and recipient, the secret path of SMS gateways' callbacks, the parcel's tracking page (its
//! short code is an HMAC too), the shop's tracking and review links.
//!
//! The signing secret comes from `api.link_secret_file`, or is generated once into the state
//! directory (`link.secret`, mode 0600) and kept, so links in messages already sent keep
//! working after a restart. An unsubscribe link is
//! `<public_url>/u/<shop>/<track>/<channel>/<parcel id>/<signature>`: it names the parcel and
//! the recipient (the parcel's phone or e-mail, by channel), and only this daemon can make one.

use super::templates::Links;
use crate::config::Settings;
use crate::config::secret::{self, Secret};
use crate::domain::carrier::CarrierId;
use crate::domain::notification::Channel;
use crate::domain::outbox::OutboxKey;
use crate::domain::shop::Messaging;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::path::Path;

/// Bytes of the HMAC kept in links (128 bits).
const SIG_BYTES: usize = 16;

/// Signs and checks links.
#[derive(Clone)]
pub struct LinkSigner {
    secret: Secret,
    public_url: String,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// The secret file cannot be read or made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LinkSecretError(String);

impl LinkSigner {
    /// A signer with this secret, making links under `public_url`.
    pub fn new(secret: Secret, public_url: &str) -> Self {
        LinkSigner {
            secret,
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The signer of a daemon: the secret from `api.link_secret_file`, else from
    /// `<state_dir>/link.secret`, generated there on the first start.
    pub fn load(settings: &Settings) -> Result<LinkSigner, LinkSecretError> {
        let file = settings.file.display();
        let secret = match &settings.api.link_secret_file {
            Some(path) => secret::read(path)
                .map_err(|e| LinkSecretError(format!("{file}: api.link_secret_file: {e}")))?,
            None => generated(&settings.daemon.state_dir.join("link.secret"))?,
        };
        Ok(LinkSigner::new(secret, &settings.api.public_url))
    }

    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(self.secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable_key());
        for p in parts {
            m.update(p.as_bytes());
            m.update(&[0]);
        }
        m
    }

    fn sign(&self, parts: &[&str]) -> String {
        let tag = self.mac(parts).finalize().into_bytes();
        hex::encode(&tag[..SIG_BYTES])
    }

    fn verify(&self, parts: &[&str], sig: &str) -> bool {
        match hex::decode(sig) {
            Ok(bytes) if bytes.len() == SIG_BYTES => {
                self.mac(parts).verify_truncated_left(&bytes).is_ok()
            }
            _ => false,
        }
    }

    /// The one-click unsubscribe link of a message's parcel and recipient.
    pub fn unsubscribe_url(&self, key: &OutboxKey) -> String {
        let id = key.parcel_id.to_string();
        let sig = self.sign(&[
            "unsubscribe",
            key.shop.as_str(),
            key.track.as_str(),
            key.channel.as_str(),
            &id,
        ]);
        format!(
            "{}/u/{}/{}/{}/{}/{}",
            self.public_url,
            key.shop,
            key.track,
            key.channel.as_str(),
            id,
            sig
        )
    }

    /// Whether an unsubscribe link's signature is this daemon's.
    pub fn verify_unsubscribe(
        &self,
        shop: &str,
        track: &str,
        channel: Channel,
        parcel_id: u64,
        sig: &str,
    ) -> bool {
        let id = parcel_id.to_string();
        self.verify(&["unsubscribe", shop, track, channel.as_str(), &id], sig)
    }

    /// The secret token in a gateway's callback path.
    pub fn callback_token(&self, gateway: &str) -> String {
        self.sign(&["sms-callback", gateway])
    }

    /// Whether a callback token is the gateway's.
    pub fn verify_callback(&self, gateway: &str, token: &str) -> bool {
        self.verify(&["sms-callback", gateway], token)
    }

    /// The URL to register at a gateway for delivery reports and replies.
    pub fn callback_url(&self, gateway: &str) -> String {
        format!(
            "{}/v1/callbacks/sms/{gateway}/{}",
            self.public_url,
            self.callback_token(gateway)
        )
    }

    /// The links of one message: unsubscribe, tracking (the parcel's own tracking page, see
    /// [`crate::page`]), the shop's tracking page (or the carrier's) and review (the shop's, if
    /// it has one).
    pub fn links(&self, key: &OutboxKey, carrier: CarrierId, messaging: &Messaging) -> Links {
        Links {
            tracking: Some(self.page_url(&self.page_code(
                key.shop.as_str(),
                key.track.as_str(),
                key.parcel_id,
            ))),
            shop_tracking: tracking_link(key.track.as_str(), carrier, messaging),
            unsubscribe: Some(self.unsubscribe_url(key)),
            review: messaging.review_url.clone(),
        }
    }

    /// The short code of a parcel's tracking page ([`crate::page::code`]).
    pub fn page_code(&self, shop: &str, track: &str, parcel_id: u64) -> String {
        let id = parcel_id.to_string();
        let tag = self
            .mac(&["page", shop, track, &id])
            .finalize()
            .into_bytes();
        crate::page::code::from_tag(&tag)
    }

    /// The tracking page's address for a code: `<public_url>/t/<code>`.
    pub fn page_url(&self, code: &str) -> String {
        format!("{}/t/{code}", self.public_url)
    }
}

#[cold]
fn unreachable_key() -> Hmac<Sha256> {
    // `new_from_slice` accepts every key length for HMAC; keep a deterministic fallback anyway.
    <Hmac<Sha256> as KeyInit>::new(&Default::default())
}

/// The tracking link: the shop's page with `{track}` filled in, or the carrier's public page.
pub fn tracking_link(track: &str, carrier: CarrierId, messaging: &Messaging) -> Option<String> {
    if let Some(url) = &messaging.tracking_url {
        return Some(url.replace("{track}", track));
    }
    match carrier {
        CarrierId::RussianPost | CarrierId::Ems | CarrierId::ChinaPost => {
            Some(format!("https://www.pochta.ru/tracking?barcode={track}"))
        }
        CarrierId::Sandbox => None,
    }
}

/// Reads the generated secret, or makes one (32 random bytes, hex, mode 0600).
fn generated(path: &Path) -> Result<Secret, LinkSecretError> {
    if path.exists() {
        return secret::read(path).map_err(LinkSecretError);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| LinkSecretError(format!("no randomness for the link secret: {e}")))?;
    let value = hex::encode(bytes);
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(value.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        LinkSecretError(format!(
            "cannot write the link secret {}: {e}",
            path.display()
        ))
    })?;
    tracing::info!(file = %path.display(), "Generated the secret that signs unsubscribe links");
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notification::NotificationKind;

    fn key() -> OutboxKey {
        OutboxKey {
            shop: crate::domain::shop::ShopId::from_trusted("acme"),
            track: crate::domain::track::TrackNumber::from_trusted("10100012000016"),
            parcel_id: 42,
            kind: NotificationKind::Arrived,
            occurrence: 1,
            channel: Channel::Email,
        }
    }

    #[test]
    fn unsubscribe_links_verify_and_cannot_be_forged() {
        let s = LinkSigner::new(Secret::new("k1"), "https://parcels.example/");
        let url = s.unsubscribe_url(&key());
        let sig = url.rsplit('/').next().unwrap();
        assert!(url.starts_with("https://parcels.example/u/acme/10100012000016/email/42/"));
        assert_eq!(sig.len(), 32);
        assert!(s.verify_unsubscribe("acme", "10100012000016", Channel::Email, 42, sig));
        assert!(!s.verify_unsubscribe("acme", "10100012000016", Channel::Sms, 42, sig));
        assert!(!s.verify_unsubscribe("acme", "10100012000016", Channel::Email, 43, sig));
        assert!(!s.verify_unsubscribe("acme", "10100012000016", Channel::Email, 42, "00"));
        let other = LinkSigner::new(Secret::new("k2"), "https://parcels.example");
        assert!(!other.verify_unsubscribe("acme", "10100012000016", Channel::Email, 42, sig));
        assert!(s.verify_callback("smsru", &s.callback_token("smsru")));
        assert!(!s.verify_callback("smsc", &s.callback_token("smsru")));
    }

    #[test]
    fn page_codes_are_the_parcels_own_and_need_the_secret() {
        let s = LinkSigner::new(Secret::new("k1"), "https://parcels.example/");
        let code = s.page_code("acme", "10100012000016", 42);
        assert!(crate::page::code::is_code(&code), "{code}");
        assert_eq!(code, s.page_code("acme", "10100012000016", 42), "stable");
        for other in [
            s.page_code("acme", "10100012000016", 43),
            s.page_code("acme", "10100012000023", 42),
            s.page_code("acmf", "10100012000016", 42),
            LinkSigner::new(Secret::new("k2"), "https://parcels.example").page_code(
                "acme",
                "10100012000016",
                42,
            ),
        ] {
            assert_ne!(code, other);
        }
        let links = s.links(&key(), CarrierId::RussianPost, &Messaging::default());
        assert_eq!(
            links.tracking,
            Some(format!("https://parcels.example/t/{code}"))
        );
        assert_eq!(
            links.shop_tracking.as_deref(),
            Some("https://www.pochta.ru/tracking?barcode=10100012000016")
        );
    }

    #[test]
    fn tracking_links() {
        let m = Messaging::default();
        assert_eq!(
            tracking_link("RA123456789RU", CarrierId::RussianPost, &m).as_deref(),
            Some("https://www.pochta.ru/tracking?barcode=RA123456789RU")
        );
        assert_eq!(tracking_link("SANDBOX-X-1", CarrierId::Sandbox, &m), None);
        let m = Messaging {
            tracking_url: Some("https://shop.ru/t/{track}?src=sms".into()),
            ..Messaging::default()
        };
        assert_eq!(
            tracking_link("SANDBOX-X-1", CarrierId::Sandbox, &m).as_deref(),
            Some("https://shop.ru/t/SANDBOX-X-1?src=sms")
        );
    }

    #[test]
    fn the_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state/link.secret");
        let a = generated(&p).unwrap();
        let b = generated(&p).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
