//! The real carriers' config sections: `[carriers.russian_post]` (single access, optional batch
//! access, EMS, cash-on-delivery events) and `[carriers.china_post]` (China Post and China EMS
//! through 17TRACK). Each has the polling keys every carrier has, plus its endpoints and
//! credentials. Credentials come from files named by `*_file` keys and are held in a [`Secret`]
//! that never prints.

use super::secret::{self, Secret};
use super::{ConfigError, PollingDefaults, PollingSettings, RawPolling, Validator, values};
use crate::domain::carrier::CarrierId;
use crate::domain::status::Status;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// A short fingerprint of credentials, to notice that they changed without keeping them.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// Language of Russian Post's operation names and error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostLanguage {
    /// Russian (`RUS`).
    Rus,
    /// English (`ENG`).
    Eng,
}

impl PostLanguage {
    /// The value the service expects.
    pub fn as_str(self) -> &'static str {
        match self {
            PostLanguage::Rus => "RUS",
            PostLanguage::Eng => "ENG",
        }
    }
}

/// Russian Post's batch access (contract accounts).
#[derive(Debug, Clone)]
pub struct BatchSettings {
    /// The `fc` service's URL.
    pub endpoint: String,
    /// How long to wait after a ticket is issued before asking for the answer, and between
    /// asks (the service asks for at least 15 minutes).
    pub ticket_wait: Duration,
    /// How long parcels that came due may wait for more to fill a ticket of `batch_size`
    /// numbers before a smaller ticket is asked for.
    pub ticket_gather: Duration,
}

/// Russian Post's tracking service.
#[derive(Debug, Clone)]
pub struct RussianPostSettings {
    /// The account's login.
    pub login: String,
    /// The account's password.
    pub password: Secret,
    /// The single-access (`rtm34`) service's URL.
    pub endpoint: String,
    /// Language of operation names.
    pub language: PostLanguage,
    /// EMS parcels (E…RU) are tracked through this account too.
    pub ems: bool,
    /// Ask for cash-on-delivery money events of delivered parcels.
    pub cod_events: bool,
    /// How long after delivery a parcel with unconfirmed cash on delivery is still asked about.
    pub cod_follow_up: Duration,
    /// Batch access, when the account has it.
    pub batch: Option<BatchSettings>,
}

impl RussianPostSettings {
    /// A fingerprint of the credentials.
    pub fn fingerprint(&self) -> String {
        fingerprint(&[&self.login, self.password.expose()])
    }
}

/// The 17TRACK tracking API, for China Post and China EMS.
#[derive(Debug, Clone)]
pub struct Track17Settings {
    /// The API key (header `17token`, and the webhook signature key).
    pub token: Secret,
    /// The API's base URL, up to the version (`…/track/v2.2`).
    pub endpoint: String,
    /// Accept 17TRACK's pushes on `POST /v1/webhooks/17track`.
    pub webhook: bool,
    /// Move parcels that 17TRACK reports as handed to Russian Post onto the Russian Post poller
    /// (when it is enabled).
    pub handoff: bool,
}

impl Track17Settings {
    /// A fingerprint of the API key.
    pub fn fingerprint(&self) -> String {
        fingerprint(&[self.token.expose()])
    }
}

/// Keys of `[carriers.russian_post]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRussianPost {
    enabled: Option<bool>,
    login: Option<String>,
    password_file: Option<String>,
    endpoint: Option<String>,
    language: Option<String>,
    ems: Option<bool>,
    cod_events: Option<bool>,
    cod_follow_up: Option<String>,
    batch: Option<bool>,
    batch_endpoint: Option<String>,
    ticket_wait: Option<String>,
    ticket_gather: Option<String>,
    rate: Option<String>,
    concurrency: Option<usize>,
    batch_size: Option<usize>,
    daily_limit: Option<u32>,
    window: Option<String>,
    poll_every: Option<String>,
    timeout: Option<String>,
    retry_base: Option<String>,
    retry_cap: Option<String>,
    codes: Option<BTreeMap<String, String>>,
}

/// Keys of `[carriers.china_post]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChinaPost {
    enabled: Option<bool>,
    token_file: Option<String>,
    endpoint: Option<String>,
    webhook: Option<bool>,
    handoff: Option<bool>,
    rate: Option<String>,
    concurrency: Option<usize>,
    batch_size: Option<usize>,
    daily_limit: Option<u32>,
    window: Option<String>,
    poll_every: Option<String>,
    timeout: Option<String>,
    retry_base: Option<String>,
    retry_cap: Option<String>,
    codes: Option<BTreeMap<String, String>>,
}

macro_rules! polling_keys {
    ($r:expr) => {
        RawPolling {
            enabled: $r.enabled,
            rate: $r.rate.clone(),
            concurrency: $r.concurrency,
            batch_size: $r.batch_size,
            daily_limit: $r.daily_limit,
            window: $r.window.clone(),
            poll_every: $r.poll_every.clone(),
            timeout: $r.timeout.clone(),
            retry_base: $r.retry_base.clone(),
            retry_cap: $r.retry_cap.clone(),
        }
    };
}

impl PollingDefaults {
    const RUSSIAN_POST: PollingDefaults = PollingDefaults {
        rate: "1/s",
        concurrency: 1,
        batch_size: 500,
        max_batch: 3000,
        window: "01:00-06:00",
        poll_every: "1d",
        timeout: "120s",
        retry_base: "1m",
        retry_cap: "1h",
    };

    const CHINA_POST: PollingDefaults = PollingDefaults {
        rate: "3/s",
        concurrency: 1,
        batch_size: 40,
        max_batch: 40,
        window: "01:00-06:00",
        poll_every: "12h",
        timeout: "60s",
        retry_base: "1m",
        retry_cap: "1h",
    };
}

/// The real carriers' validated settings.
pub(super) type Real = (Option<RussianPostSettings>, Option<Track17Settings>);

impl Validator<'_> {
    fn secret(&self, key: &str, path: &Option<String>) -> Result<Secret, ConfigError> {
        let Some(path) = path.as_deref().filter(|p| !p.trim().is_empty()) else {
            return Err(self.err(key, "required when the carrier is enabled"));
        };
        secret::read(Path::new(path)).map_err(|m| self.err(key, m))
    }

    fn carrier_url(
        &self,
        key: &str,
        raw: &Option<String>,
        default: &str,
    ) -> Result<String, ConfigError> {
        let s = raw.as_deref().unwrap_or(default).trim();
        if !(s.starts_with("http://") || s.starts_with("https://")) || s.len() < 10 {
            return Err(self.err(
                key,
                format!("{s:?} is not a URL; it must start with http:// or https://"),
            ));
        }
        Ok(s.trim_end_matches('/').to_string())
    }

    /// Validates the real carriers' sections and adds their polling settings to `carriers`.
    pub(super) fn real_carriers(
        &self,
        rp: &Option<RawRussianPost>,
        cp: &Option<RawChinaPost>,
        carriers: &mut BTreeMap<CarrierId, PollingSettings>,
    ) -> Result<Real, ConfigError> {
        let russian_post = match rp {
            Some(r) if r.enabled.unwrap_or(true) => {
                let polling = polling_keys!(r);
                let mut s = self.polling(
                    CarrierId::RussianPost,
                    &polling,
                    PollingDefaults::RUSSIAN_POST,
                )?;
                let rp = self.russian_post(r)?;
                s.tickets = rp.batch.as_ref().map(|b| b.ticket_gather);
                s.codes = self.codes(CarrierId::RussianPost, &r.codes)?;
                carriers.insert(CarrierId::RussianPost, s);
                Some(rp)
            }
            _ => None,
        };
        let track17 = match cp {
            Some(r) if r.enabled.unwrap_or(true) => {
                let polling = polling_keys!(r);
                let mut s =
                    self.polling(CarrierId::ChinaPost, &polling, PollingDefaults::CHINA_POST)?;
                s.codes = self.codes(CarrierId::ChinaPost, &r.codes)?;
                carriers.insert(CarrierId::ChinaPost, s);
                Some(Track17Settings {
                    token: self.secret("carriers.china_post.token_file", &r.token_file)?,
                    endpoint: self.carrier_url(
                        "carriers.china_post.endpoint",
                        &r.endpoint,
                        "https://api.17track.net/track/v2.2",
                    )?,
                    webhook: r.webhook.unwrap_or(true),
                    handoff: r.handoff.unwrap_or(true),
                })
            }
            _ => None,
        };
        Ok((russian_post, track17))
    }

    /// Validates `[carriers.<carrier>.codes]`: each key a code of the carrier's shape (Russian
    /// Post `type/attr`, 17TRACK a status name), each value a status.
    fn codes(
        &self,
        carrier: CarrierId,
        raw: &Option<BTreeMap<String, String>>,
    ) -> Result<BTreeMap<String, Status>, ConfigError> {
        let mut out = BTreeMap::new();
        for (code, status) in raw.iter().flatten() {
            let key = format!("carriers.{}.codes.{code:?}", carrier.as_str());
            let shaped = match carrier {
                CarrierId::RussianPost | CarrierId::Ems => code
                    .split_once('/')
                    .is_some_and(|(t, a)| t.parse::<u32>().is_ok() && a.parse::<u32>().is_ok()),
                _ => {
                    !code.is_empty()
                        && code.len() <= 64
                        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                }
            };
            if !shaped {
                let want = match carrier {
                    CarrierId::RussianPost | CarrierId::Ems => {
                        "an operation type and attribute, e.g. \"8/99\""
                    }
                    _ => "a 17TRACK status or sub-status, e.g. \"Exception_Held\"",
                };
                return Err(self.err(&key, format!("{code:?} is not a code; expected {want}")));
            }
            let status: Status = status
                .trim()
                .parse()
                .map_err(|e: crate::domain::status::UnknownStatus| self.err(&key, e.to_string()))?;
            out.insert(code.clone(), status);
        }
        Ok(out)
    }

    fn russian_post(&self, r: &RawRussianPost) -> Result<RussianPostSettings, ConfigError> {
        let key = |k: &str| format!("carriers.russian_post.{k}");
        let login = r.login.as_deref().map(str::trim).unwrap_or_default();
        if login.is_empty() {
            return Err(self.err(&key("login"), "required when the carrier is enabled"));
        }
        let language = match r.language.as_deref().unwrap_or("RUS").trim() {
            "RUS" | "rus" => PostLanguage::Rus,
            "ENG" | "eng" => PostLanguage::Eng,
            other => {
                return Err(self.err(
                    &key("language"),
                    format!("{other:?} is not a language of the service; expected RUS or ENG"),
                ));
            }
        };
        let batch = if r.batch.unwrap_or(false) {
            Some(BatchSettings {
                endpoint: self.carrier_url(
                    &key("batch_endpoint"),
                    &r.batch_endpoint,
                    "https://tracking.russianpost.ru/fc",
                )?,
                ticket_wait: self.value(
                    &key("ticket_wait"),
                    &r.ticket_wait,
                    "15m",
                    values::positive_duration,
                )?,
                ticket_gather: self.value(
                    &key("ticket_gather"),
                    &r.ticket_gather,
                    "5m",
                    values::duration,
                )?,
            })
        } else {
            None
        };
        Ok(RussianPostSettings {
            login: login.to_string(),
            password: self.secret(&key("password_file"), &r.password_file)?,
            endpoint: self.carrier_url(
                &key("endpoint"),
                &r.endpoint,
                "https://tracking.russianpost.ru/rtm34",
            )?,
            language,
            ems: r.ems.unwrap_or(true),
            cod_events: r.cod_events.unwrap_or(true),
            cod_follow_up: self.value(
                &key("cod_follow_up"),
                &r.cod_follow_up,
                "14d",
                values::duration,
            )?,
            batch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use std::path::Path;

    #[test]
    fn carriers_read_their_credentials_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("rp.password");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let tok = dir.path().join("17track.token");
        std::fs::write(&tok, "TOKEN").unwrap();
        let text = format!(
            "[carriers.russian_post]\nlogin = \"shop\"\npassword_file = {pw:?}\ndaily_limit = 100\n\
             batch = true\nticket_wait = \"2s\"\nticket_gather = \"30s\"\n\
             [carriers.china_post]\ntoken_file = {tok:?}\nendpoint = \"http://127.0.0.1:9/track/v2.2/\"\n"
        );
        let s = parse(&text, Path::new("t.toml")).unwrap();
        let rp = s.russian_post.as_ref().unwrap();
        assert_eq!(rp.password.expose(), "s3cret");
        assert!(!format!("{s:?}").contains("s3cret"), "never in Debug");
        assert_eq!(
            rp.batch.as_ref().unwrap().ticket_wait,
            Duration::from_secs(2)
        );
        assert_eq!(
            s.carriers[&CarrierId::RussianPost].tickets,
            Some(Duration::from_secs(30))
        );
        assert_eq!(s.carriers[&CarrierId::RussianPost].daily_limit, Some(100));
        assert_eq!(s.carriers[&CarrierId::RussianPost].batch_size, 500);
        let t17 = s.track17.as_ref().unwrap();
        assert_eq!(t17.endpoint, "http://127.0.0.1:9/track/v2.2");
        assert_eq!(s.carriers[&CarrierId::ChinaPost].batch_size, 40);
        // EMS parcels are polled by the Russian Post poller.
        assert_eq!(
            s.polling_for(CarrierId::Ems).map(|p| p.carrier),
            Some(CarrierId::RussianPost)
        );
        assert!(s.polling_for(CarrierId::Sandbox).is_none());
    }

    #[test]
    fn codes_map_to_statuses() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "x").unwrap();
        let text = format!(
            "[carriers.russian_post]\nlogin = \"x\"\npassword_file = {pw:?}\n\
             codes = {{ \"8/99\" = \"in_transit\", \"64/0\" = \"arrived_at_pickup\" }}\n\
             [carriers.china_post]\ntoken_file = {pw:?}\n\
             [carriers.china_post.codes]\nException_Held = \"returning\"\n"
        );
        let s = parse(&text, Path::new("t.toml")).unwrap();
        let rp = &s.carriers[&CarrierId::RussianPost].codes;
        assert_eq!(rp.get("8/99"), Some(&Status::InTransit));
        assert_eq!(rp.get("64/0"), Some(&Status::ArrivedAtPickup));
        assert_eq!(
            s.carriers[&CarrierId::ChinaPost]
                .codes
                .get("Exception_Held"),
            Some(&Status::Returning)
        );
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "x").unwrap();
        let e = |t: &str| {
            let t = t.replace("/etc/hostname", &pw.display().to_string());
            parse(&t, Path::new("t.toml")).unwrap_err().to_string()
        };
        let m = e("[carriers.russian_post]\nlogin = \"x\"\npassword_file = \"/nonexistent/pw\"\n");
        assert!(
            m.starts_with("t.toml: carriers.russian_post.password_file: cannot read"),
            "{m}"
        );
        let m = e("[carriers.russian_post]\npassword_file = \"/etc/hostname\"\n");
        assert!(m.contains("carriers.russian_post.login: required"), "{m}");
        let m = e("[carriers.china_post]\n");
        assert!(
            m.contains("carriers.china_post.token_file: required"),
            "{m}"
        );
        let m = e("[carriers.russian_post]\nbatch_size = 5000\n");
        assert!(
            m.contains("carriers.russian_post.batch_size: must be at most 3000"),
            "{m}"
        );
        let m = e("[carriers.china_post]\nbatch_size = 41\n");
        assert!(
            m.contains("carriers.china_post.batch_size: must be at most 40"),
            "{m}"
        );
        let m = e("[carriers.russian_post]\npassword = \"inline\"\n");
        assert!(
            m.contains("carriers.russian_post.password") && m.contains("unknown field"),
            "{m}"
        );
        let m = e(
            "[carriers.russian_post]\nlogin = \"x\"\npassword_file = \"/etc/hostname\"\nlanguage = \"DE\"\n",
        );
        assert!(m.contains("carriers.russian_post.language"), "{m}");
        let m = e(
            "[carriers.russian_post]\nlogin = \"x\"\npassword_file = \"/etc/hostname\"\nendpoint = \"ftp://x\"\n",
        );
        assert!(m.contains("carriers.russian_post.endpoint"), "{m}");
        let m = e(
            "[carriers.russian_post]\nlogin = \"x\"\npassword_file = \"/etc/hostname\"\n[carriers.russian_post.codes]\n\"8/99\" = \"teleported\"\n",
        );
        assert!(
            m.contains("carriers.russian_post.codes.\"8/99\": unknown status \"teleported\""),
            "{m}"
        );
        let m = e(
            "[carriers.russian_post]\nlogin = \"x\"\npassword_file = \"/etc/hostname\"\n[carriers.russian_post.codes]\n\"Обработка\" = \"in_transit\"\n",
        );
        assert!(
            m.contains("carriers.russian_post.codes.\"Обработка\": \"Обработка\" is not a code"),
            "{m}"
        );
        // A disabled carrier needs no credentials.
        assert!(
            parse(
                "[carriers.russian_post]\nenabled = false\n",
                Path::new("t.toml")
            )
            .is_ok()
        );
    }

    #[test]
    fn the_shipped_carrier_sections_are_valid_when_enabled() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "x").unwrap();
        for file in ["config/parceld.toml", "config/parceld.system.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text
                .replace("enabled = false", "enabled = true")
                .replace("batch = false", "batch = true");
            let text = text
                .lines()
                .map(|l| {
                    if l.starts_with("password_file") || l.starts_with("token_file") {
                        format!(
                            "{} = {:?}",
                            l.split(' ').next().unwrap(),
                            pw.display().to_string()
                        )
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            let s = parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
            let rp = s.russian_post.as_ref().unwrap();
            assert!(rp.batch.is_some());
            assert_eq!(s.carriers[&CarrierId::RussianPost].daily_limit, Some(100));
            assert!(s.track17.as_ref().unwrap().webhook);
        }
    }
}
