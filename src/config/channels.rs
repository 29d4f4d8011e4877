//! The channel sections of the config: `[email]` (the `.eml` folder or SMTP, optional DKIM) and
//! `[sms]` (the SMS file, SMS.ru, SMSC.ru), read raw and validated like the rest of the config.
//! Secrets come from `*_file` keys and are kept as [`Secret`]s.

use super::secret::{self, Secret};
use super::{ConfigError, Rate, Validator, values};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmail {
    enabled: Option<bool>,
    transport: Option<String>,
    from: Option<String>,
    outbox_dir: Option<String>,
    rate: Option<String>,
    smtp: Option<RawSmtp>,
    dkim: Option<RawDkim>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<String>,
    username: Option<String>,
    password_file: Option<String>,
    ca_file: Option<String>,
    connect_timeout: Option<String>,
    hello_name: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    selector: Option<String>,
    domain: Option<String>,
    algorithm: Option<String>,
    private_key_file: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSms {
    enabled: Option<bool>,
    transport: Option<String>,
    file: Option<String>,
    sender: Option<String>,
    rate: Option<String>,
    max_segments: Option<u32>,
    status_every: Option<String>,
    status_for: Option<String>,
    smsru: Option<RawSmsRu>,
    smsc: Option<RawSmsc>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSmsRu {
    url: Option<String>,
    api_id_file: Option<String>,
    sender: Option<String>,
    rate: Option<String>,
    test: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSmsc {
    url: Option<String>,
    login: Option<String>,
    password_file: Option<String>,
    sender: Option<String>,
    rate: Option<String>,
}

/// How e-mail leaves the daemon.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    /// Each message is written as an `.eml` file into `email.outbox_dir`.
    File,
    /// An SMTP server (a relay or the mail provider's submission port).
    Smtp(SmtpSettings),
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Implicit,
    /// No TLS: only for a relay on the same machine or network (port 25).
    None,
}

/// An SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host name (also the name its certificate must carry).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub tls: SmtpTls,
    /// User name and password for AUTH, if the server wants them.
    pub credentials: Option<(String, Secret)>,
    /// Extra trusted root certificates (PEM), for a relay with a private CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Time limit for connecting (the whole send has `notify.send_timeout`).
    pub connect_timeout: Duration,
    /// The name sent in EHLO; the machine's host name when absent.
    pub hello_name: Option<String>,
}

/// The DKIM signing key's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimAlgorithm {
    /// RSA-SHA256, key in PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
    Rsa,
    /// Ed25519-SHA256, key as the base64 of its 32 bytes.
    Ed25519,
}

/// DKIM signing.
#[derive(Debug, Clone)]
pub struct DkimSettings {
    /// The selector published in DNS (`<selector>._domainkey.<domain>`).
    pub selector: String,
    /// The signing domain.
    pub domain: String,
    /// The key's algorithm.
    pub algorithm: DkimAlgorithm,
    /// The private key.
    pub key: Secret,
}

/// E-mail settings.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The sender's address (the shop's name becomes the display name); its domain names the
    /// Message-IDs.
    pub from: lettre::Address,
    /// Transport.
    pub transport: EmailTransport,
    /// The folder of the `.eml` files: the file transport's, and where the sandbox carrier's
    /// messages go whatever the transport.
    pub outbox_dir: PathBuf,
    /// Messages per time span.
    pub rate: Rate,
    /// DKIM signing, if configured.
    pub dkim: Option<DkimSettings>,
}

/// Which SMS gateway messages go through, unless a shop chose another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsTransport {
    /// Each message is appended as a line to `sms.file`.
    File,
    /// SMS.ru.
    SmsRu,
    /// SMSC.ru.
    Smsc,
}

impl SmsTransport {
    /// Every gateway.
    pub const ALL: [SmsTransport; 3] =
        [SmsTransport::File, SmsTransport::SmsRu, SmsTransport::Smsc];

    /// The gateway's name in config, the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsTransport::File => "file",
            SmsTransport::SmsRu => "smsru",
            SmsTransport::Smsc => "smsc",
        }
    }
}

/// SMS.ru.
#[derive(Debug, Clone)]
pub struct SmsRuSettings {
    /// The API's base URL.
    pub url: String,
    /// The account's `api_id`.
    pub api_id: Secret,
    /// The approved sender name; `sms.sender` when absent.
    pub sender: Option<String>,
    /// Requests per time span to this gateway.
    pub rate: Rate,
    /// Test mode: SMS.ru answers as if it sent, sends nothing and charges nothing.
    pub test: bool,
}

/// SMSC.ru.
#[derive(Debug, Clone)]
pub struct SmscSettings {
    /// The API's base URL.
    pub url: String,
    /// The account's login.
    pub login: String,
    /// The account's password (or API password).
    pub password: Secret,
    /// The approved sender name; `sms.sender` when absent.
    pub sender: Option<String>,
    /// Requests per time span to this gateway.
    pub rate: Rate,
}

/// SMS settings.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// The sender name shown on phones, unless the gateway or the shop says otherwise.
    pub sender: String,
    /// The gateway used unless a shop chose another.
    pub transport: SmsTransport,
    /// Messages per time span, all gateways together.
    pub rate: Rate,
    /// A template whose message would need more segments is refused when saved.
    pub max_segments: u32,
    /// The first wait before asking a gateway for a delivery report (later waits double).
    pub status_every: Duration,
    /// Stop asking for a delivery report this long after sending.
    pub status_for: Duration,
    /// The file of the `file` gateway.
    pub file: PathBuf,
    /// SMS.ru, if configured.
    pub smsru: Option<SmsRuSettings>,
    /// SMSC.ru, if configured.
    pub smsc: Option<SmscSettings>,
}

impl SmsSettings {
    /// Whether a gateway can be used (the file always can; the others need their section).
    pub fn has(&self, t: SmsTransport) -> bool {
        match t {
            SmsTransport::File => true,
            SmsTransport::SmsRu => self.smsru.is_some(),
            SmsTransport::Smsc => self.smsc.is_some(),
        }
    }

    /// The gateway called `name`, if it can be used.
    pub fn gateway(&self, name: &str) -> Option<SmsTransport> {
        SmsTransport::ALL
            .into_iter()
            .find(|t| t.as_str() == name && self.has(*t))
    }
}

impl Validator<'_> {
    fn secret_file(&self, key: &str, raw: &Option<String>) -> Result<Secret, ConfigError> {
        let path = raw
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| self.err(key, "is required"))?;
        secret::read(Path::new(path)).map_err(|m| self.err(key, m))
    }

    fn url(&self, key: &str, raw: &Option<String>, default: &str) -> Result<String, ConfigError> {
        let url = raw.as_deref().unwrap_or(default).trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(self.err(key, format!("{url:?} must start with http:// or https://")));
        }
        Ok(url.to_string())
    }

    fn sender(&self, key: &str, raw: &Option<String>) -> Result<Option<String>, ConfigError> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => crate::domain::shop::validate_sender(s)
                .map(|()| Some(s.to_string()))
                .map_err(|m| self.err(key, m)),
        }
    }

    /// Validates `[email]`.
    pub(super) fn email(&self, e: &RawEmail) -> Result<Option<EmailSettings>, ConfigError> {
        if !e.enabled.unwrap_or(true) {
            return Ok(None);
        }
        let from_text = e.from.clone().unwrap_or_else(|| "parceld@localhost".into());
        let from = from_text.trim().parse::<lettre::Address>().map_err(|_| {
            self.err(
                "email.from",
                format!("{from_text:?} is not an e-mail address"),
            )
        })?;
        let transport = match e.transport.as_deref().unwrap_or("file") {
            "file" => EmailTransport::File,
            "smtp" => EmailTransport::Smtp(self.smtp(e.smtp.as_ref())?),
            other => {
                return Err(self.err(
                    "email.transport",
                    format!("{other:?} is not an e-mail transport; expected file or smtp"),
                ));
            }
        };
        let dkim = e.dkim.as_ref().map(|d| self.dkim(d)).transpose()?;
        Ok(Some(EmailSettings {
            from,
            transport,
            outbox_dir: self.path("email.outbox_dir", &e.outbox_dir, "var/outbox")?,
            rate: self.value("email.rate", &e.rate, "20/s", values::rate)?,
            dkim,
        }))
    }

    fn smtp(&self, s: Option<&RawSmtp>) -> Result<SmtpSettings, ConfigError> {
        let s = s.ok_or_else(|| {
            self.err(
                "email.smtp",
                "transport = \"smtp\" needs an [email.smtp] section with at least host",
            )
        })?;
        let host = s
            .host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| self.err("email.smtp.host", "is required"))?
            .to_string();
        let tls = match s.tls.as_deref().unwrap_or("starttls") {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Implicit,
            "none" => SmtpTls::None,
            other => {
                return Err(self.err(
                    "email.smtp.tls",
                    format!("{other:?} is not a TLS mode; expected starttls, tls or none"),
                ));
            }
        };
        let port = s.port.unwrap_or(match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        });
        if port == 0 {
            return Err(self.err("email.smtp.port", "must be 1-65535"));
        }
        let credentials = match (&s.username, &s.password_file) {
            (None, None) => None,
            (Some(u), Some(_)) if !u.trim().is_empty() => Some((
                u.trim().to_string(),
                self.secret_file("email.smtp.password_file", &s.password_file)?,
            )),
            (Some(_), _) => {
                return Err(self.err(
                    "email.smtp.password_file",
                    "username is set, so password_file is required",
                ));
            }
            (None, Some(_)) => {
                return Err(self.err(
                    "email.smtp.username",
                    "password_file is set, so username is required",
                ));
            }
        };
        let ca_pem = match &s.ca_file {
            None => None,
            Some(p) => {
                let bytes = std::fs::read(p)
                    .map_err(|e| self.err("email.smtp.ca_file", format!("cannot read {p}: {e}")))?;
                lettre::transport::smtp::client::Certificate::from_pem(&bytes).map_err(|e| {
                    self.err(
                        "email.smtp.ca_file",
                        format!("{p} is not a PEM certificate: {e}"),
                    )
                })?;
                Some(bytes)
            }
        };
        Ok(SmtpSettings {
            host,
            port,
            tls,
            credentials,
            ca_pem,
            connect_timeout: self.value(
                "email.smtp.connect_timeout",
                &s.connect_timeout,
                "10s",
                values::positive_duration,
            )?,
            hello_name: s.hello_name.clone().filter(|h| !h.trim().is_empty()),
        })
    }

    fn dkim(&self, d: &RawDkim) -> Result<DkimSettings, ConfigError> {
        let required = |key: &str, v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| self.err(key, "is required"))
        };
        let algorithm = match d.algorithm.as_deref().unwrap_or("rsa") {
            "rsa" => DkimAlgorithm::Rsa,
            "ed25519" => DkimAlgorithm::Ed25519,
            other => {
                return Err(self.err(
                    "email.dkim.algorithm",
                    format!("{other:?} is not a DKIM algorithm; expected rsa or ed25519"),
                ));
            }
        };
        let key = self.secret_file("email.dkim.private_key_file", &d.private_key_file)?;
        let lettre_alg = match algorithm {
            DkimAlgorithm::Rsa => lettre::message::dkim::DkimSigningAlgorithm::Rsa,
            DkimAlgorithm::Ed25519 => lettre::message::dkim::DkimSigningAlgorithm::Ed25519,
        };
        lettre::message::dkim::DkimSigningKey::new(key.expose(), lettre_alg).map_err(|e| {
            self.err(
                "email.dkim.private_key_file",
                format!(
                    "not a usable key ({e}); RSA keys must be PKCS#1 PEM (BEGIN RSA PRIVATE KEY): \
                     convert with `openssl rsa -in key.pem -traditional`"
                ),
            )
        })?;
        Ok(DkimSettings {
            selector: required("email.dkim.selector", &d.selector)?,
            domain: required("email.dkim.domain", &d.domain)?,
            algorithm,
            key,
        })
    }

    /// Validates `[sms]`.
    pub(super) fn sms(&self, s: &RawSms) -> Result<Option<SmsSettings>, ConfigError> {
        if !s.enabled.unwrap_or(true) {
            return Ok(None);
        }
        let sender = s.sender.clone().unwrap_or_else(|| "parceld".into());
        crate::domain::shop::validate_sender(&sender).map_err(|m| self.err("sms.sender", m))?;
        let transport = match s.transport.as_deref().unwrap_or("file") {
            "file" => SmsTransport::File,
            "smsru" => SmsTransport::SmsRu,
            "smsc" => SmsTransport::Smsc,
            other => {
                return Err(self.err(
                    "sms.transport",
                    format!("{other:?} is not an SMS gateway; expected file, smsru or smsc"),
                ));
            }
        };
        let smsru = match &s.smsru {
            None => None,
            Some(r) => Some(SmsRuSettings {
                url: self.url("sms.smsru.url", &r.url, "https://sms.ru")?,
                api_id: self.secret_file("sms.smsru.api_id_file", &r.api_id_file)?,
                sender: self.sender("sms.smsru.sender", &r.sender)?,
                rate: self.value("sms.smsru.rate", &r.rate, "10/s", values::rate)?,
                test: r.test.unwrap_or(false),
            }),
        };
        let smsc = match &s.smsc {
            None => None,
            Some(r) => Some(SmscSettings {
                url: self.url("sms.smsc.url", &r.url, "https://smsc.ru")?,
                login: r
                    .login
                    .as_deref()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .ok_or_else(|| self.err("sms.smsc.login", "is required"))?
                    .to_string(),
                password: self.secret_file("sms.smsc.password_file", &r.password_file)?,
                sender: self.sender("sms.smsc.sender", &r.sender)?,
                rate: self.value("sms.smsc.rate", &r.rate, "10/s", values::rate)?,
            }),
        };
        let settings = SmsSettings {
            sender,
            transport,
            rate: self.value("sms.rate", &s.rate, "10/s", values::rate)?,
            max_segments: match s.max_segments.unwrap_or(3) {
                n @ 1..=8 => n,
                _ => {
                    return Err(self.err(
                        "sms.max_segments",
                        "must be 1-8 (gateways refuse longer messages)",
                    ));
                }
            },
            status_every: self.value(
                "sms.status_every",
                &s.status_every,
                "5m",
                values::positive_duration,
            )?,
            status_for: self.value(
                "sms.status_for",
                &s.status_for,
                "2d",
                values::positive_duration,
            )?,
            file: self.path("sms.file", &s.file, "var/sms.log")?,
            smsru,
            smsc,
        };
        if !settings.has(transport) {
            return Err(self.err(
                "sms.transport",
                format!(
                    "{:?} needs its [sms.{}] section",
                    transport.as_str(),
                    transport.as_str()
                ),
            ));
        }
        Ok(Some(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn parse_str(s: &str) -> Result<super::super::Settings, ConfigError> {
        parse(s, Path::new("test.toml"))
    }

    fn secret_file(dir: &Path, name: &str, text: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    #[test]
    fn smtp_with_auth_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let pw = secret_file(dir.path(), "pw", "s3cret\n");
        let s = parse_str(&format!(
            "[email]\ntransport = \"smtp\"\n[email.smtp]\nhost = \"smtp.example.ru\"\nusername = \"shop\"\npassword_file = \"{pw}\"\n"
        ))
        .unwrap();
        let Some(EmailSettings {
            transport: EmailTransport::Smtp(smtp),
            ..
        }) = s.email
        else {
            panic!("smtp")
        };
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::StartTls));
        let (user, pass) = smtp.credentials.clone().unwrap();
        assert_eq!((user.as_str(), pass.expose()), ("shop", "s3cret"));
        assert!(
            !format!("{smtp:?}").contains("s3cret"),
            "secrets never print"
        );
    }

    #[test]
    fn channel_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        for (text, key) in [
            ("[email]\ntransport = \"smtp\"\n", "email.smtp"),
            (
                "[email]\ntransport = \"smtp\"\n[email.smtp]\ntls = \"ssl\"\nhost = \"h\"\n",
                "email.smtp.tls",
            ),
            (
                "[email]\ntransport = \"smtp\"\n[email.smtp]\nhost = \"h\"\nusername = \"u\"\n",
                "email.smtp.password_file",
            ),
            (
                "[email]\ntransport = \"carrier-pigeon\"\n",
                "email.transport",
            ),
            (
                "[email.dkim]\nselector = \"s\"\ndomain = \"d\"\nprivate_key_file = \"/nonexistent\"\n",
                "email.dkim.private_key_file",
            ),
            ("[sms]\ntransport = \"smsru\"\n", "sms.transport"),
            ("[sms]\nmax_segments = 9\n", "sms.max_segments"),
            (
                "[sms.smsru]\napi_id_file = \"/nonexistent/key\"\n",
                "sms.smsru.api_id_file",
            ),
            (
                "[sms.smsc]\npassword_file = \"/nonexistent\"\n",
                "sms.smsc.login",
            ),
            ("[sms]\nsender = \"Книжный\"\n", "sms.sender"),
            ("[sms.smsru]\nurl = \"ftp://x\"\n", "sms.smsru.url"),
        ] {
            let e = parse_str(text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("test.toml: {key}:")), "{key}: {e}");
        }
        let bad_key = secret_file(
            dir.path(),
            "dkim.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let e = parse_str(&format!(
            "[email.dkim]\nselector = \"s\"\ndomain = \"d\"\nprivate_key_file = \"{bad_key}\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("email.dkim.private_key_file") && e.contains("-traditional"),
            "{e}"
        );
    }

    /// The shipped configs document the channel sections commented out; uncommented (with
    /// secret files that exist) they must be valid.
    #[test]
    fn the_documented_channel_sections_are_valid() {
        let dir = tempfile::tempdir().unwrap();
        let secret = secret_file(dir.path(), "secret", "x");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for name in ["parceld.toml", "parceld.system.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config")
                .join(name);
            let text = std::fs::read_to_string(&path).unwrap();
            let mut out = Vec::new();
            let mut in_doc_section = false;
            for line in text.lines() {
                let bare = line.trim_start_matches("# ").trim_start_matches("# ");
                if line.starts_with("# [") {
                    in_doc_section = true;
                    out.push(bare.to_string());
                    continue;
                }
                if line.starts_with('[') {
                    in_doc_section = false;
                }
                let documented = in_doc_section || bare.starts_with("link_secret_file");
                if documented && line.starts_with('#') && bare.contains(" = ") {
                    let (key, value) = bare.split_once(" = ").unwrap();
                    let value = match key {
                        "private_key_file" => {
                            format!("\"{}\"", fixtures.join("dkim/rsa.pem").display())
                        }
                        "ca_file" => format!("\"{}\"", fixtures.join("smtp/ca.pem").display()),
                        k if k.ends_with("_file") => format!("\"{secret}\""),
                        _ => value.to_string(),
                    };
                    out.push(format!("{key} = {value}"));
                } else {
                    out.push(line.to_string());
                }
            }
            let text = out
                .join("\n")
                .replace("transport = \"file\"\nfile", "transport = \"smsc\"\nfile");
            let s = parse(&text, &path).unwrap_or_else(|e| panic!("{e}\n{text}"));
            let sms = s.sms.unwrap();
            assert!(sms.smsru.is_some() && sms.smsc.is_some(), "{name}");
            let email = s.email.unwrap();
            assert!(email.dkim.is_some(), "{name}");
            assert!(s.api.link_secret_file.is_some(), "{name}");
        }
    }

    #[test]
    fn gateways() {
        let dir = tempfile::tempdir().unwrap();
        let key = secret_file(dir.path(), "key", "ABCD-1234");
        let pw = secret_file(dir.path(), "pw", "pass");
        let s = parse_str(&format!(
            "[sms]\ntransport = \"smsc\"\n[sms.smsru]\napi_id_file = \"{key}\"\nsender = \"Shop\"\n[sms.smsc]\nlogin = \"acme\"\npassword_file = \"{pw}\"\n"
        ))
        .unwrap()
        .sms
        .unwrap();
        assert_eq!(s.transport, SmsTransport::Smsc);
        assert_eq!(s.gateway("smsru"), Some(SmsTransport::SmsRu));
        assert_eq!(s.gateway("file"), Some(SmsTransport::File));
        assert_eq!(s.gateway("twilio"), None);
        assert_eq!(s.smsru.as_ref().unwrap().url, "https://sms.ru");
        assert_eq!(s.max_segments, 3);
        let plain = parse_str("").unwrap().sms.unwrap();
        assert_eq!(plain.gateway("smsru"), None, "not configured");
    }
}
