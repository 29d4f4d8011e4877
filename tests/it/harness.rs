//! The test harness: starts the real `parceld` binary on a temporary directory with its own
//! control socket and shop listener, waits until it answers, and reads what it sent (the `.eml`
//! folder and the SMS file). Tests talk to it only through the socket and the listener.

use parceld::api::dto::{CreateShop, CustomerIn, Field, ParcelIn};
use parceld::client::Client;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The test defaults: sandbox carrier polled only when asked (`poll_every = "1h"`), messages
/// sent at any hour, second-long rules.
pub const BASE_CONFIG: &str = r#"
[daemon]
state_dir = "{dir}/state"
control_socket = "{dir}/run/control.sock"
timezone = "Europe/Moscow"
cache_mb = 16
shutdown_timeout = "10s"
log = "stderr"
log_filter = "info"

[api]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"

[rules]
reminder_every = "1h"
last_reminder_before = "1s"
stuck_after = "7d"

[carriers.sandbox]
rate = "200/s"
concurrency = 4
window = "always"
poll_every = "1h"
timeout = "5s"
retry_base = "1s"
retry_cap = "5s"

[notify]
send_window = "always"
retry_base = "1s"
retry_cap = "2s"
send_timeout = "5s"

[email]
transport = "file"
outbox_dir = "{dir}/outbox"
from = "noreply@parceld.test"

[sms]
transport = "file"
file = "{dir}/sms.log"
sender = "parceld"

# Tests that count e-mails would see the shops' daily report; the report tests turn it on.
[reports]
enabled = false
"#;

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sets `defaults` in `[section]`, then `extra` over them (see [`set`]).
pub fn set_all(
    config: String,
    section: &str,
    defaults: Vec<(&str, String)>,
    extra: &[(&str, &str)],
) -> String {
    defaults
        .into_iter()
        .chain(extra.iter().map(|&(k, v)| (k, v.to_string())))
        .fold(config, |c, (k, v)| set(&c, section, k, &v))
}

/// Replaces `[section] key = value` lines of a TOML text (adds the key if missing).
pub fn set(config: &str, section: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut in_section = false;
    let mut done = false;
    let header = format!("[{section}]");
    for line in config.lines() {
        if line.trim_start().starts_with('[') {
            if in_section && !done {
                out.push(format!("{key} = {value}"));
                done = true;
            }
            in_section = line.trim() == header;
        }
        if in_section && !done && line.split('=').next().map(str::trim) == Some(key) {
            out.push(format!("{key} = {value}"));
            done = true;
            continue;
        }
        out.push(line.to_string());
    }
    if !done {
        if !in_section {
            out.push(header);
        }
        out.push(format!("{key} = {value}"));
    }
    out.join("\n") + "\n"
}

/// A running (or stopped) daemon under test.
pub struct Daemon {
    /// Its directory (config, state, socket, outbox).
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// The config file.
    pub config: PathBuf,
    /// The shop listener's port.
    pub port: u16,
    /// A client of the control socket.
    pub socket: Client,
    /// Extra environment for the process (e.g. `PARCELD_FAULTS`).
    pub env: Vec<(String, String)>,
}

/// One line of the SMS file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsLine {
    /// Recipient.
    pub phone: String,
    /// Outbox key.
    pub key: String,
    /// Text.
    pub text: String,
}

/// One `.eml` file, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    /// File name.
    pub file: String,
    /// Subject.
    pub subject: String,
    /// Recipient.
    pub to: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
    /// The raw message.
    pub raw: String,
}

impl Mail {
    /// The URL in the `List-Unsubscribe` header (panics if there is none).
    pub fn unsubscribe_url(&self) -> String {
        self.raw
            .split("\r\n")
            .find(|l| l.starts_with("List-Unsubscribe:"))
            .expect("List-Unsubscribe")
            .trim_start_matches("List-Unsubscribe:")
            .trim()
            .trim_matches(['<', '>'])
            .to_string()
    }
}

impl Daemon {
    /// Starts a daemon with the base config changed by `edit`.
    pub async fn start_with(edit: impl FnOnce(String) -> String) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let text = BASE_CONFIG
            .replace("{dir}", &dir.path().display().to_string())
            .replace("{port}", &port.to_string());
        let text = edit(text);
        let config = dir.path().join("parceld.toml");
        std::fs::write(&config, text).expect("write config");
        let socket = Client::unix(&dir.path().join("run/control.sock")).expect("client");
        let mut d = Daemon {
            dir,
            child: None,
            config,
            port,
            socket,
            env: Vec::new(),
        };
        d.spawn().await;
        d
    }

    /// Starts a daemon with the base config.
    pub async fn start() -> Daemon {
        Self::start_with(|c| c).await
    }

    /// The daemon's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts the process (again) and waits until the socket answers.
    pub async fn spawn(&mut self) {
        self.spawn_process();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(h) = self.socket.health().await {
                assert!(!h.version.is_empty());
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("parceld exited with {status} at start:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "parceld did not answer within 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the process exits by itself and returns how.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "parceld did not exit:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the process without waiting for it to answer.
    pub fn spawn_process(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("parceld.log"))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_parceld"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("PARCELD_FAULTS")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start parceld");
        self.child = Some(child);
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("parceld.log")).unwrap_or_default()
    }

    /// The daemon's log so far, without its colours.
    pub fn plain_log(&self) -> String {
        let log = self.log();
        let mut out = String::with_capacity(log.len());
        let mut rest = log.as_str();
        while let Some(i) = rest.find('\u{1b}') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            rest = rest.find('m').map_or("", |end| &rest[end + 1..]);
        }
        out.push_str(rest);
        out
    }

    /// Kills the process with SIGKILL (no chance to clean up).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let pid = c.id().to_string();
        let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(s)) = c.try_wait() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "parceld did not stop within 30 s of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client of the shop listener with a token.
    pub fn shop_client(&self, token: Option<&str>) -> Client {
        Client::tcp(
            &format!("http://127.0.0.1:{}", self.port),
            token.map(str::to_string),
        )
        .expect("client")
    }

    /// Creates a shop and returns its token.
    pub async fn create_shop(&self, id: &str) -> String {
        self.socket
            .create_shop(&CreateShop {
                id: id.into(),
                name: format!("Магазин {id}"),
                report_email: Some(format!("ops@{id}.test")),
                ..CreateShop::default()
            })
            .await
            .expect("create shop")
            .token
    }

    /// Every SMS line written so far.
    pub fn sms(&self) -> Vec<SmsLine> {
        let text = std::fs::read_to_string(self.dir.path().join("sms.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 5).then(|| SmsLine {
                    phone: f[1].into(),
                    key: f[3].into(),
                    text: f[4].into(),
                })
            })
            .collect()
    }

    /// Every e-mail written so far, decoded.
    pub fn mails(&self) -> Vec<Mail> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir(self.dir.path().join("outbox")) else {
            return out;
        };
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".eml") {
                continue;
            }
            let raw = std::fs::read(entry.path()).unwrap_or_default();
            let Some(m) = mail_parser::MessageParser::default().parse(&raw) else {
                continue;
            };
            out.push(Mail {
                file: name,
                subject: m.subject().unwrap_or_default().to_string(),
                to: m
                    .to()
                    .and_then(|a| a.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_string(),
                text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                html: m.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
                raw: String::from_utf8_lossy(&raw).into_owned(),
            });
        }
        out.sort_by(|a, b| a.file.cmp(&b.file));
        out
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Waits until `check` holds, or fails the test with `what` after `timeout`.
pub async fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A parcel with a customer who has a phone and an e-mail.
pub fn parcel(track: &str, order: &str) -> ParcelIn {
    ParcelIn {
        track: track.into(),
        order_id: order.into(),
        customer: CustomerIn {
            name: "Иванов Иван Иванович".into(),
            phone: "8 (912) 345-67-89".into(),
            email: "ivan@example.ru".into(),
        }
        .into(),
        cod_amount: "1490.00".into(),
        contents: "Книга «Мастер и Маргарита»".into(),
        carrier: None,
        storage_days: Field::Absent,
    }
}

/// Polls every live parcel until this one reaches `status` (one sandbox step per poll).
pub async fn walk(d: &Daemon, shop: &str, track: &str, status: &str) {
    let what = format!("{track} to reach {status}");
    wait_for(Duration::from_secs(30), &what, async || {
        let p = d.socket.parcel(shop, track).await.ok()?;
        if p.status == status {
            return Some(());
        }
        let _ = d
            .socket
            .poll(&parceld::api::dto::PollRequest {
                shop: Some(shop.into()),
                all: true,
            })
            .await;
        None
    })
    .await
}

/// Polls every live parcel until all `count` parcels of `shops` wait at the office.
pub async fn walk_all(d: &Daemon, shops: &[&str], count: usize, timeout: Duration) {
    wait_for(timeout, "every parcel to arrive", async || {
        let mut arrived = 0;
        for shop in shops {
            // Page by page: a list answers at most 1000 parcels at a time.
            let mut after: Option<String> = None;
            loop {
                let mut q = vec![
                    ("status", "arrived_at_pickup".to_string()),
                    ("limit", "1000".to_string()),
                ];
                if let Some(a) = &after {
                    q.push(("after", a.clone()));
                }
                let l = d.socket.list(shop, &q).await.ok()?;
                arrived += l.parcels.len();
                match l.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        if arrived == count {
            return Some(());
        }
        let _ = d
            .socket
            .poll(&parceld::api::dto::PollRequest {
                shop: None,
                all: true,
            })
            .await;
        None
    })
    .await
}
