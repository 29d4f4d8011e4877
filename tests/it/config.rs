//! Config errors stop the daemon at start, naming the file and the key; `check-config` says the
//! same without starting.

use std::process::Command;

fn check(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_parceld"))
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_parceld"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        String::from_utf8_lossy(&run.stderr).trim(),
        stderr.trim(),
        "run and check-config say the same"
    );
    assert_eq!(run.status.code(), out.status.code());
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn the_shipped_configs_pass() {
    for file in ["config/parceld.toml", "config/parceld.system.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let out = Command::new(env!("CARGO_BIN_EXE_parceld"))
            .args(["check-config", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    }
}

#[test]
fn errors_name_the_file_and_the_key() {
    let (code, msg) = check("[rules]\nreminder_every = \"5 dayz\"\n");
    assert_eq!(code, 78);
    assert!(msg.contains("bad.toml: rules.reminder_every:"), "{msg}");
    let (_, msg) = check("[carriers.sandbox]\nrate = \"fast\"\n");
    assert!(msg.contains("carriers.sandbox.rate"), "{msg}");
    let (_, msg) = check("[daemon]\nsocket_mod = \"0660\"\n");
    assert!(
        msg.contains("daemon.socket_mod") && msg.contains("unknown field"),
        "{msg}"
    );
    let (_, msg) = check("[notify]\nsend_window = \"9-21\"\n");
    assert!(msg.contains("notify.send_window"), "{msg}");
    let (_, msg) = check("[daemon\n");
    assert!(msg.contains("line 1"), "{msg}");
}

#[test]
fn a_missing_file_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_parceld"))
        .args(["check-config", "--config", "/nonexistent/parceld.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("/nonexistent/parceld.toml") && msg.contains("cannot read"),
        "{msg}"
    );
}
