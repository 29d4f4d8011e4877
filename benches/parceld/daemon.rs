//! Starting the release `parceld` for a benchmark: a config in a temporary directory, the time
//! from start to systemd's READY=1 (read from our own NOTIFY_SOCKET), and the process's memory
//! and disk use.

use parceld::client::Client;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon under measurement.
pub struct Daemon {
    /// Its directory.
    pub dir: PathBuf,
    child: Option<Child>,
    /// The control socket client.
    pub socket: Client,
    /// Time from spawn to READY=1.
    pub ready_after: Duration,
}

/// The config every benchmark starts from: `{dir}` holds the state and the socket, `extra` is
/// appended (carriers, channels). The daemon's time zone is UTC, so polling windows are easy to
/// compute.
pub fn config(dir: &Path, extra: &str) -> String {
    format!(
        r#"
[daemon]
state_dir = "{dir}/state"
control_socket = "{dir}/run/control.sock"
timezone = "UTC"
cache_mb = 64
log = "stderr"
log_filter = "warn"

[api]
max_body_mb = 64
max_items = 20000

[notify]
send_window = "always"
concurrency = 8

[import]
max_file_mb = 64
max_rows = 100000
{extra}
"#,
        dir = dir.display()
    )
}

/// Channels off: notifications are planned and stored, nothing is sent.
pub const NO_CHANNELS: &str = "[email]\nenabled = false\n[sms]\nenabled = false\n";

/// Russian Post against the fake at `base`: batch access (tickets of 3000, answered at once,
/// a partial ticket after 10 s: the one-minute window is a night in small) or single access,
/// at `rate`, polling in `window`. The password file goes into `dir`.
pub fn russian_post(dir: &Path, base: &str, batch: bool, rate: &str, window: &str) -> String {
    let secret = dir.join("russian_post.password");
    std::fs::create_dir_all(dir).expect("bench dir");
    std::fs::write(&secret, "bench-password\n").expect("password file");
    format!(
        "[carriers.sandbox]\nenabled = false\n\
         [carriers.russian_post]\nenabled = true\nlogin = \"bench\"\npassword_file = \"{}\"\n\
         endpoint = \"{base}/rtm34\"\nbatch = {batch}\nbatch_endpoint = \"{base}/fc\"\n\
         batch_size = 3000\nticket_wait = \"1ms\"\nticket_gather = \"10s\"\nrate = \"{rate}\"\nconcurrency = 4\n\
         window = \"{window}\"\npoll_every = \"1d\"\ntimeout = \"120s\"\ncod_events = false\n",
        secret.display()
    )
}

/// A one-minute polling window (UTC) that opens at the first whole minute at or after `at`.
pub fn window_at(at: jiff::Timestamp) -> (String, jiff::Timestamp) {
    let secs = at.as_second();
    let open = jiff::Timestamp::from_second((secs + 59) / 60 * 60).unwrap_or(at);
    let z = open.to_zoned(jiff::tz::TimeZone::UTC);
    let end = (z.hour() as i32 * 60 + z.minute() as i32 + 1) % (24 * 60);
    (
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            z.hour(),
            z.minute(),
            end / 60,
            end % 60
        ),
        open,
    )
}

/// A polling window that stays closed for the next hours.
pub fn closed_window() -> String {
    window_at(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(12)).0
}

impl Daemon {
    /// Creates the shop every benchmark hands its parcels to ([`crate::intake::SHOP`]).
    pub async fn create_bench_shop(&self) {
        self.socket
            .create_shop(&parceld::api::dto::CreateShop {
                id: crate::intake::SHOP.into(),
                name: "Bench".into(),
                ..Default::default()
            })
            .await
            .expect("shop");
    }

    /// Starts the daemon with `config_text` in `dir` and waits for READY=1.
    pub fn start(dir: &Path, config_text: &str) -> Daemon {
        std::fs::create_dir_all(dir).expect("bench dir");
        let config = dir.join("parceld.toml");
        std::fs::write(&config, config_text).expect("config");
        let notify_path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&notify_path);
        let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
        notify
            .set_read_timeout(Some(Duration::from_secs(600)))
            .expect("timeout");
        let log = std::fs::File::create(dir.join("parceld.log")).expect("log");
        let started = Instant::now();
        let child = Command::new(binary())
            .args(["run", "--config"])
            .arg(&config)
            .env("NOTIFY_SOCKET", &notify_path)
            .env_remove("WATCHDOG_USEC")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start parceld");
        let mut buf = [0u8; 4096];
        loop {
            let n = notify.recv(&mut buf).expect("READY=1 within 10 minutes");
            if String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
            {
                break;
            }
        }
        let ready_after = started.elapsed();
        let socket = Client::unix(&dir.join("run/control.sock")).expect("client");
        Daemon {
            dir: dir.to_path_buf(),
            child: Some(child),
            socket,
            ready_after,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The config file's text.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("parceld.toml")).unwrap_or_default()
    }

    /// Peak resident memory so far, in bytes (VmHWM).
    pub fn peak_rss(&self) -> u64 {
        status_kb(self.pid(), "VmHWM:") * 1024
    }

    /// CPU time the process used so far (user and system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else {
            return 0.0;
        };
        // The fields after the command name, which is in parentheses and may hold spaces.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Current resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        status_kb(self.pid(), "VmRSS:") * 1024
    }

    /// Bytes the state directory occupies on disk.
    pub fn disk_bytes(&self) -> u64 {
        disk_usage(&self.dir.join("state"))
    }

    /// Stops the daemon and removes its directory.
    pub fn remove(mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Allocated bytes of every file under `path`.
pub fn disk_usage(path: &Path) -> u64 {
    let mut total = 0;
    let Ok(rd) = std::fs::read_dir(path) else {
        return 0;
    };
    for e in rd.flatten() {
        let Ok(m) = e.metadata() else { continue };
        if m.is_dir() {
            total += disk_usage(&e.path());
        } else {
            total += m.blocks() * 512;
        }
    }
    total
}

/// The `parceld` binary the suite runs: this tree's release build, or the one `PARCELD_BIN`
/// names (another release's build, measured by the same suite in the same session).
pub fn binary() -> PathBuf {
    std::env::var_os("PARCELD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_parceld")))
}
