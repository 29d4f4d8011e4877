//! The tracking page in a real browser: Debian's `chromium`, headless, at a phone's width
//! (390×844) and a desktop's (1280×900). The daemon takes a sandbox parcel to the office, and
//! the page its SMS links to is opened: what the browser renders (the DOM after parsing) must
//! say the status, the office, the deadline and the amount, and the browser's console must stay
//! silent (a script, a style or an image the page's security policy blocks, or anything that
//! fails to load, would be logged there). The screenshots are kept in
//! `target/tmp/page-screenshots/` (`phone.png`, `desktop.png`).
//!
//! Where chromium is missing the test prints SKIPPED and passes; under `CI=true` it fails.
//! `PARCELD_CHROMIUM` names another binary.

use crate::harness::{Daemon, parcel, walk};
use crate::page::page_link;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The chromium binary, if there is one.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PARCELD_CHROMIUM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// What one run of the browser gave.
struct Run {
    /// Its standard output (the DOM with `--dump-dom`).
    stdout: String,
    /// The console messages it logged.
    console: Vec<String>,
}

/// Runs headless chromium on `url` at `width`×`height` with `action` (`--dump-dom` or
/// `--screenshot=…`), within a minute.
fn browse(bin: &Path, url: &str, (width, height): (u32, u32), action: &str) -> Run {
    let profile = tempfile::tempdir().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(action)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s ({action} {url})");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(err.path()).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{stderr}");
    Run {
        stdout: std::fs::read_to_string(out.path()).unwrap_or_default(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_string)
            .collect(),
    }
}

/// The width and height a PNG file says it has.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    assert_eq!(&bytes[12..16], b"IHDR");
    (be(16), be(20))
}

#[tokio::test]
async fn the_page_renders_in_chromium_on_a_phone_and_a_desktop() {
    let Some(bin) = chromium() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "chromium is not installed, and CI=true: install it (apt-get install -y chromium; .ci/run does)"
        );
        eprintln!(
            "SKIPPED: the tracking page's browser test needs chromium (apt-get install -y chromium)"
        );
        return;
    };
    let d = Daemon::start().await;
    d.create_shop("acme").await;
    d.socket
        .add_parcels("acme", &[parcel("SANDBOX-ARRIVED-1", "B-1")])
        .await
        .unwrap();
    walk(&d, "acme", "SANDBOX-ARRIVED-1", "arrived_at_pickup").await;
    let url = page_link(&d, "-arrived-1-sms").await;
    let p = d.socket.parcel("acme", "SANDBOX-ARRIVED-1").await.unwrap();
    let deadline = p.arrival.expect("arrived").deadline;
    let tz = jiff::tz::TimeZone::get("Asia/Novosibirsk").unwrap();
    let date = parceld::notify::render::dates::day_month(
        deadline,
        &tz,
        parceld::domain::shop::Language::Ru,
    );

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, size) in [("phone", (390, 844)), ("desktop", (1280, 900))] {
        let run = browse(&bin, &url, size, "--dump-dom");
        assert!(
            run.console.is_empty(),
            "{name}: the console says:\n{}",
            run.console.join("\n")
        );
        let dom = run.stdout.replace("&nbsp;", "\u{a0}");
        for needle in [
            "Ждёт вас в отделении",
            "Новосибирск, ул. Советская, 33",
            "Открыть на карте",
            "class=\"today\"",
            "Срок хранения",
            date.as_str(),
            "Не успеваете забрать?",
            "1\u{a0}490,00 ₽",
            "И***в И.",
        ] {
            assert!(
                dom.contains(needle),
                "{name}: {needle:?} not rendered:\n{dom}"
            );
        }
        assert!(!dom.contains("<script"), "{name}: no scripts");

        let file = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        let run = browse(
            &bin,
            &url,
            size,
            &format!("--screenshot={}", file.display()),
        );
        assert!(
            run.console.is_empty(),
            "{name}: the console says:\n{}",
            run.console.join("\n")
        );
        let png = std::fs::read(&file).expect("the screenshot");
        assert_eq!(png_size(&png), size, "{name}: the screenshot's size");
        eprintln!("{name}: screenshot kept at {}", file.display());
    }
}
