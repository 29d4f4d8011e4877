//! Configuration: the TOML file read into raw structs that refuse unknown keys, then validated
//! into one complete [`Settings`] in which durations, rates, windows and paths are already
//! parsed. Nothing else in parceld sees raw config.
//!
//! Every error names the file and the key (`rules.reminder_every`) and says what was wrong, both
//! when the daemon starts and in `parceld check-config`.

pub mod carriers;
mod channels;
mod lanes;
pub mod outages;
mod page;
mod rules;
pub mod secret;
pub mod shopside;
pub mod values;
mod warnings;
pub mod webhooks;

use crate::domain::carrier::CarrierId;
use crate::domain::lifecycle::Rules;
use crate::domain::schedule::DailyWindow;
pub use channels::{
    DkimAlgorithm, DkimSettings, EmailSettings, EmailTransport, SmsRuSettings, SmsSettings,
    SmsTransport, SmscSettings, SmtpSettings, SmtpTls,
};
pub use page::PageSettings;
use serde::Deserialize;
pub use shopside::{ImportSettings, PlanDefaults, ReportSettings, RetentionSettings};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
pub use values::Rate;

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{file}: cannot read the config file: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown key or a value of the wrong type.
    #[error("{file}: {key}: {message}")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The key, dotted (`carriers.sandbox.rate`), or `(document)`.
        key: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value has the right type but is not acceptable.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The key, dotted.
        key: String,
        /// Why.
        message: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Raw: exactly what the file says.

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    daemon: RawDaemon,
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    rules: rules::RawRules,
    #[serde(default)]
    carriers: RawCarriers,
    #[serde(default)]
    notify: RawNotify,
    #[serde(default)]
    email: channels::RawEmail,
    #[serde(default)]
    sms: channels::RawSms,
    #[serde(default)]
    import: shopside::RawImport,
    #[serde(default)]
    reports: shopside::RawReports,
    #[serde(default)]
    retention: shopside::RawRetention,
    #[serde(default)]
    plans: shopside::RawPlans,
    #[serde(default)]
    webhooks: webhooks::RawWebhooks,
    #[serde(default)]
    page: page::RawPage,
    #[serde(default)]
    outages: outages::RawOutages,
    #[serde(default)]
    lanes: lanes::RawLanes,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    state_dir: Option<String>,
    control_socket: Option<String>,
    socket_mode: Option<String>,
    timezone: Option<String>,
    cache_mb: Option<u64>,
    shutdown_timeout: Option<String>,
    log: Option<String>,
    log_filter: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawApi {
    listen: Option<String>,
    public_url: Option<String>,
    max_body_mb: Option<u64>,
    max_items: Option<usize>,
    link_secret_file: Option<String>,
    public_rate: Option<String>,
    public_burst: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCarriers {
    sandbox: Option<RawPolling>,
    russian_post: Option<carriers::RawRussianPost>,
    china_post: Option<carriers::RawChinaPost>,
}

/// The keys every carrier has.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawPolling {
    enabled: Option<bool>,
    rate: Option<String>,
    concurrency: Option<usize>,
    batch_size: Option<usize>,
    daily_limit: Option<u32>,
    window: Option<String>,
    poll_every: Option<String>,
    timeout: Option<String>,
    retry_base: Option<String>,
    retry_cap: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    send_window: Option<String>,
    max_attempts: Option<u32>,
    retry_base: Option<String>,
    retry_cap: Option<String>,
    send_timeout: Option<String>,
    concurrency: Option<usize>,
}

// ---------------------------------------------------------------------------------------------
// Validated settings.

/// Where logs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// journald when started by systemd with a journal stream, stderr otherwise.
    Auto,
    /// Always stderr.
    Stderr,
    /// Always journald.
    Journald,
}

/// Process-wide settings.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// The sled store and other state live here.
    pub state_dir: PathBuf,
    /// The control socket's path.
    pub control_socket: PathBuf,
    /// The control socket's permission bits.
    pub socket_mode: u32,
    /// The daemon's time zone: carrier windows, and dates when a shop has none.
    pub timezone: jiff::tz::TimeZone,
    /// The time zone's name.
    pub timezone_name: String,
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// How long a graceful shutdown may take before the daemon gives up waiting.
    pub shutdown_timeout: Duration,
    /// Where logs go.
    pub log: LogTarget,
    /// The tracing filter (`info`, `parceld=debug`); `RUST_LOG` overrides it.
    pub log_filter: String,
}

/// The control API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The TCP listener for shops, if any.
    pub listen: Option<SocketAddr>,
    /// The address customers reach the public pages at (unsubscribe links).
    pub public_url: String,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// The most parcels one intake request may carry.
    pub max_items: usize,
    /// File holding the secret that signs links; generated in the state directory if absent.
    pub link_secret_file: Option<PathBuf>,
    /// How fast one client address may call the listener's routes that take no token.
    pub public_rate: Rate,
    /// How many such calls one address may make at once before `public_rate` applies.
    pub public_burst: std::num::NonZeroU32,
    /// Proxies in front of the listener whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// How one carrier is polled.
#[derive(Debug, Clone)]
pub struct PollingSettings {
    /// Which carrier.
    pub carrier: CarrierId,
    /// Requests allowed per time span.
    pub rate: Rate,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Parcels per request, for carriers that take batches (capped by the carrier's own limit).
    pub batch_size: usize,
    /// Requests allowed per day (daemon's time zone); `None` for no budget.
    pub daily_limit: Option<u32>,
    /// When polling may happen, in the daemon's time zone.
    pub window: DailyWindow,
    /// How long after a successful poll a live parcel is polled again.
    pub poll_every: Duration,
    /// One request's time limit.
    pub timeout: Duration,
    /// The first retry delay after a failure.
    pub retry_base: Duration,
    /// The longest retry delay.
    pub retry_cap: Duration,
    /// Whether batches go out as tickets answered much later (Russian Post's batch access), so
    /// that many more parcels are in flight at once: if so, how long due parcels may wait for
    /// more to fill a ticket.
    pub tickets: Option<Duration>,
    /// The operator's own mapping of carrier codes to statuses (`[carriers.<carrier>.codes]`),
    /// over the carrier's dictionary.
    pub codes: BTreeMap<String, crate::domain::status::Status>,
}

/// When and how often notifications are tried.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Customer messages go out only in this window, in the recipient's time zone.
    pub send_window: DailyWindow,
    /// Attempts before a message is dead.
    pub max_attempts: u32,
    /// First retry delay.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// The time limit of one send, end to end.
    pub send_timeout: Duration,
    /// Sends in flight at once, per channel.
    pub concurrency: usize,
}

/// The complete, validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it was read from.
    pub file: PathBuf,
    /// Process-wide settings.
    pub daemon: DaemonSettings,
    /// The control API.
    pub api: ApiSettings,
    /// Lifecycle durations.
    pub rules: Rules,
    /// Enabled carriers.
    pub carriers: BTreeMap<CarrierId, PollingSettings>,
    /// Russian Post's service, when enabled.
    pub russian_post: Option<carriers::RussianPostSettings>,
    /// 17TRACK (China Post), when enabled.
    pub track17: Option<carriers::Track17Settings>,
    /// Notification retry and timing.
    pub notify: NotifySettings,
    /// E-mail, if enabled.
    pub email: Option<EmailSettings>,
    /// SMS, if enabled.
    pub sms: Option<SmsSettings>,
    /// Parcel-table uploads.
    pub import: ImportSettings,
    /// The morning report.
    pub reports: ReportSettings,
    /// Erasing personal data.
    pub retention: RetentionSettings,
    /// The plan new shops get.
    pub plans: PlanDefaults,
    /// Webhooks to the shops' own systems.
    pub webhooks: webhooks::WebhookSettings,
    /// The customers' tracking page.
    pub page: PageSettings,
    /// Carrier outages.
    pub outages: outages::OutageSettings,
}

impl Settings {
    /// The sled database directory.
    pub fn db_path(&self) -> PathBuf {
        self.daemon.state_dir.join("db")
    }

    /// The polling settings of the poller that asks about `carrier`'s parcels: its own, or
    /// Russian Post's for EMS.
    pub fn polling_for(&self, carrier: CarrierId) -> Option<&PollingSettings> {
        match carrier {
            CarrierId::Ems if self.russian_post.as_ref().is_some_and(|r| r.ems) => {
                self.carriers.get(&CarrierId::RussianPost)
            }
            CarrierId::Ems => None,
            c => self.carriers.get(&c),
        }
    }
}

/// Reads and validates a config file.
pub fn load(file: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    parse(&text, file)
}

/// Validates config text; `file` is used in messages.
pub fn parse(text: &str, file: &Path) -> Result<Settings, ConfigError> {
    let syntax = |key: String, message: String| ConfigError::Syntax {
        file: file.to_path_buf(),
        key,
        message,
    };
    let de = toml::Deserializer::parse(text)
        .map_err(|e| syntax("(document)".into(), e.to_string().trim_end().to_string()))?;
    let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            "(document)".into()
        } else {
            path
        };
        syntax(key, e.into_inner().to_string().trim_end().to_string())
    })?;
    Validator { file }.settings(raw)
}

struct Validator<'a> {
    file: &'a Path,
}

impl Validator<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn value<T>(
        &self,
        key: &str,
        raw: &Option<String>,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        parse(raw.as_deref().unwrap_or(default)).map_err(|m| self.err(key, m))
    }

    fn nonzero(&self, key: &str, v: Option<usize>, default: usize) -> Result<usize, ConfigError> {
        match v.unwrap_or(default) {
            0 => Err(self.err(key, "must be at least 1")),
            n => Ok(n),
        }
    }

    fn path(&self, key: &str, raw: &Option<String>, default: &str) -> Result<PathBuf, ConfigError> {
        let s = raw.as_deref().unwrap_or(default);
        if s.trim().is_empty() {
            return Err(self.err(key, "must not be empty"));
        }
        Ok(PathBuf::from(s))
    }

    fn settings(&self, raw: RawConfig) -> Result<Settings, ConfigError> {
        let d = &raw.daemon;
        let timezone_name = d.timezone.clone().unwrap_or_else(|| "Europe/Moscow".into());
        let daemon = DaemonSettings {
            state_dir: self.path("daemon.state_dir", &d.state_dir, "var/lib/parceld")?,
            control_socket: self.path(
                "daemon.control_socket",
                &d.control_socket,
                "var/run/parceld/control.sock",
            )?,
            socket_mode: self.value(
                "daemon.socket_mode",
                &d.socket_mode,
                "0660",
                values::file_mode,
            )?,
            timezone: self.value(
                "daemon.timezone",
                &d.timezone,
                "Europe/Moscow",
                values::timezone,
            )?,
            timezone_name,
            cache_bytes: match d.cache_mb.unwrap_or(64) {
                0 => return Err(self.err("daemon.cache_mb", "must be at least 1")),
                n if n > 1 << 20 => return Err(self.err("daemon.cache_mb", "is larger than 1 TiB")),
                n => n * 1024 * 1024,
            },
            shutdown_timeout: self.value(
                "daemon.shutdown_timeout",
                &d.shutdown_timeout,
                "20s",
                values::positive_duration,
            )?,
            log: match d.log.as_deref().unwrap_or("auto") {
                "auto" => LogTarget::Auto,
                "stderr" => LogTarget::Stderr,
                "journald" => LogTarget::Journald,
                other => {
                    return Err(self.err(
                        "daemon.log",
                        format!("{other:?} is not a log target; expected auto, stderr or journald"),
                    ));
                }
            },
            log_filter: d.log_filter.clone().unwrap_or_else(|| "info".into()),
        };
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&daemon.log_filter) {
            return Err(self.err("daemon.log_filter", format!("{e}")));
        }

        let a = &raw.api;
        let listen = match &a.listen {
            None => None,
            Some(s) if s.trim().is_empty() => None,
            Some(s) => Some(s.parse::<SocketAddr>().map_err(|_| {
                self.err(
                    "api.listen",
                    format!("{s:?} is not an address; write e.g. \"127.0.0.1:8787\""),
                )
            })?),
        };
        let public_url = a.public_url.clone().unwrap_or_else(|| match listen {
            Some(addr) => format!("http://{addr}"),
            None => "http://localhost:8787".into(),
        });
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(self.err(
                "api.public_url",
                format!("{public_url:?} must start with http:// or https://"),
            ));
        }
        let api = ApiSettings {
            listen,
            public_url: public_url.trim_end_matches('/').to_string(),
            max_body: match a.max_body_mb.unwrap_or(16) {
                0 => return Err(self.err("api.max_body_mb", "must be at least 1")),
                n if n > 1024 => return Err(self.err("api.max_body_mb", "must be at most 1024")),
                n => (n * 1024 * 1024) as usize,
            },
            max_items: self.nonzero("api.max_items", a.max_items, 10_000)?,
            link_secret_file: match &a.link_secret_file {
                None => None,
                Some(p) => {
                    secret::read(Path::new(p)).map_err(|m| self.err("api.link_secret_file", m))?;
                    Some(PathBuf::from(p))
                }
            },
            public_rate: self.value("api.public_rate", &a.public_rate, "10/s", values::rate)?,
            public_burst: std::num::NonZeroU32::new(a.public_burst.unwrap_or(20))
                .ok_or_else(|| self.err("api.public_burst", "must be at least 1"))?,
            trusted_proxies: a
                .trusted_proxies
                .iter()
                .flatten()
                .map(|p| {
                    p.trim().parse().map_err(|_| {
                        self.err(
                            "api.trusted_proxies",
                            format!("{p:?} is not an IP address; write e.g. \"127.0.0.1\""),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };

        let mut rules = self.rules(&raw.rules)?;
        rules.lanes = self.lanes(&raw.lanes)?;

        let mut carriers = BTreeMap::new();
        if let Some(p) = &raw.carriers.sandbox
            && p.enabled.unwrap_or(true)
        {
            let s = self.polling(CarrierId::Sandbox, p, PollingDefaults::SANDBOX)?;
            carriers.insert(CarrierId::Sandbox, s);
        }
        let (russian_post, track17) = self.real_carriers(
            &raw.carriers.russian_post,
            &raw.carriers.china_post,
            &mut carriers,
        )?;

        let n = &raw.notify;
        let notify = NotifySettings {
            send_window: self.value(
                "notify.send_window",
                &n.send_window,
                "09:00-21:00",
                values::window,
            )?,
            max_attempts: match n.max_attempts.unwrap_or(8) {
                0 => return Err(self.err("notify.max_attempts", "must be at least 1")),
                v => v,
            },
            retry_base: self.value(
                "notify.retry_base",
                &n.retry_base,
                "30s",
                values::positive_duration,
            )?,
            retry_cap: self.value(
                "notify.retry_cap",
                &n.retry_cap,
                "1h",
                values::positive_duration,
            )?,
            send_timeout: self.value(
                "notify.send_timeout",
                &n.send_timeout,
                "30s",
                values::positive_duration,
            )?,
            concurrency: self.nonzero("notify.concurrency", n.concurrency, 8)?,
        };

        let email = self.email(&raw.email)?;
        let sms = self.sms(&raw.sms)?;

        Ok(Settings {
            file: self.file.to_path_buf(),
            daemon,
            api,
            rules,
            carriers,
            russian_post,
            track17,
            notify,
            email,
            sms,
            import: self.import(&raw.import)?,
            reports: self.reports(&raw.reports)?,
            retention: self.retention(&raw.retention)?,
            plans: self.plans(&raw.plans)?,
            webhooks: self.webhooks(&raw.webhooks)?,
            page: self.page(&raw.page)?,
            outages: self.outages(&raw.outages)?,
        })
    }

    fn polling(
        &self,
        carrier: CarrierId,
        p: &RawPolling,
        defaults: PollingDefaults,
    ) -> Result<PollingSettings, ConfigError> {
        let key = |k: &str| format!("carriers.{}.{k}", carrier.as_str());
        let retry_base = self.value(
            &key("retry_base"),
            &p.retry_base,
            defaults.retry_base,
            values::positive_duration,
        )?;
        let retry_cap = self.value(
            &key("retry_cap"),
            &p.retry_cap,
            defaults.retry_cap,
            values::positive_duration,
        )?;
        if retry_cap < retry_base {
            return Err(self.err(&key("retry_cap"), "must not be shorter than retry_base"));
        }
        Ok(PollingSettings {
            tickets: None,
            codes: BTreeMap::new(),
            carrier,
            rate: self.value(&key("rate"), &p.rate, defaults.rate, values::rate)?,
            concurrency: self.nonzero(&key("concurrency"), p.concurrency, defaults.concurrency)?,
            batch_size: match p.batch_size.unwrap_or(defaults.batch_size) {
                0 => return Err(self.err(&key("batch_size"), "must be at least 1")),
                n if n > defaults.max_batch => {
                    return Err(self.err(
                        &key("batch_size"),
                        format!("must be at most {}", defaults.max_batch),
                    ));
                }
                n => n,
            },
            daily_limit: match p.daily_limit {
                Some(0) => {
                    return Err(self.err(
                        &key("daily_limit"),
                        "must be at least 1 (leave it out for no limit)",
                    ));
                }
                v => v,
            },
            window: self.value(&key("window"), &p.window, defaults.window, values::window)?,
            poll_every: self.value(
                &key("poll_every"),
                &p.poll_every,
                defaults.poll_every,
                values::positive_duration,
            )?,
            timeout: self.value(
                &key("timeout"),
                &p.timeout,
                defaults.timeout,
                values::positive_duration,
            )?,
            retry_base,
            retry_cap,
        })
    }
}

/// A carrier's defaults, used for keys the file leaves out.
#[derive(Debug, Clone, Copy)]
struct PollingDefaults {
    rate: &'static str,
    concurrency: usize,
    batch_size: usize,
    max_batch: usize,
    window: &'static str,
    poll_every: &'static str,
    timeout: &'static str,
    retry_base: &'static str,
    retry_cap: &'static str,
}

impl PollingDefaults {
    const SANDBOX: PollingDefaults = PollingDefaults {
        rate: "10/s",
        concurrency: 4,
        batch_size: 100,
        max_batch: 1000,
        window: "always",
        poll_every: "1m",
        timeout: "10s",
        retry_base: "5s",
        retry_cap: "10m",
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Settings, ConfigError> {
        parse(s, Path::new("test.toml"))
    }

    #[test]
    fn empty_file_gets_defaults() {
        let s = parse_str("").unwrap();
        assert_eq!(s.rules, Rules::default());
        assert_eq!(s.daemon.socket_mode, 0o660);
        assert!(s.carriers.is_empty());
        assert!(s.email.is_some());
    }

    #[test]
    fn the_shipped_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/parceld.toml");
        let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.carriers.contains_key(&CarrierId::Sandbox));
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/parceld.system.toml");
        let s = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !s.carriers.contains_key(&CarrierId::Sandbox),
            "the service's config ships with the sandbox carrier off"
        );
        assert_eq!(s.api.public_rate, values::rate("10/s").unwrap());
        assert_eq!(s.api.public_burst.get(), 20);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse_str("[carriers.sandbox]\nratee = \"5/s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("test.toml: carriers.sandbox.ratee:"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
        let e = parse_str("[rulez]\n").unwrap_err().to_string();
        assert!(e.contains("rulez"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = parse_str("[rules]\nreminder_every = \"5 dayz\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("test.toml: rules.reminder_every:"), "{e}");
        let e = parse_str("[rules]\nreminder_every = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("rules.reminder_every"), "{e}");
        let e = parse_str("[carriers.sandbox]\nwindow = \"25:00-06:00\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("carriers.sandbox.window"), "{e}");
        let e = parse_str("[daemon]\ntimezone = \"Mars/Base\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("daemon.timezone"), "{e}");
        let e = parse_str("[daemon]\nsocket_mode = \"0666\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("daemon.socket_mode"), "{e}");
        let e = parse_str("[api]\nlisten = \"nowhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("api.listen"), "{e}");
        let e = parse_str("this is not toml").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn seconds_long_rules_for_tests() {
        let s = parse_str("[rules]\nreminder_every = \"2s\"\nstuck_after = \"3s\"\ngive_up_after = \"4s\"\nlast_reminder_before = \"1s\"\n[rules.storage]\ncount_from = \"arrival\"\nparcel = \"60s\"\n").unwrap();
        assert_eq!(s.rules.reminder_every, Duration::from_secs(2));
        assert_eq!(s.rules.stuck_after, Duration::from_secs(3));
    }
}
