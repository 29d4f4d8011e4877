//! Helpers of the fault suite: a small real file system for the state directory (a tmpfs of a
//! few MiB, filled up and made read-only on demand), a seeded random generator so that a failing
//! run can be replayed, and reading API errors.

use parceld::client::ClientError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A small deterministic generator (xorshift64).
pub struct Rng(pub u64);

impl Rng {
    /// A number in `lo..=hi`.
    pub fn next(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo + 1)
    }
}

/// The seed of a seeded test: `PARCELD_FAULT_SEED` (decimal or 0x-hex) or the default.
pub fn seed(default: u64) -> u64 {
    std::env::var("PARCELD_FAULT_SEED")
        .ok()
        .and_then(|s| match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        })
        .unwrap_or(default)
}

/// `(status, code, field, message)` of an API error.
pub fn api_error(e: ClientError) -> (u16, String, Option<String>, String) {
    match e {
        ClientError::Api { status, error } => (status, error.code, error.field, error.message),
        other => panic!("expected an API error, got {other}"),
    }
}

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB, or says why it cannot (the tests run as root; without
    /// root, mounting needs a user namespace the daemon would have to run in).
    pub fn mount(mib: u32) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The filler file.
    fn filler(&self) -> PathBuf {
        self.path().join("filler")
    }

    /// Fills the file system up: writes a file until the disk says it is full.
    pub fn fill(&self) {
        let mut f = std::fs::File::create(self.filler()).expect("filler");
        let chunk = vec![0xa5u8; 64 * 1024];
        loop {
            if let Err(e) = f.write_all(&chunk) {
                assert_eq!(e.raw_os_error(), Some(28), "the disk is full: {e}");
                break;
            }
        }
        let _ = f.sync_all();
    }

    /// Gives the space back.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove the filler");
    }

    /// Remounts read-only (`false`) or read-write (`true`); fails while a process has files
    /// open for writing on it.
    pub fn remount(&self, writable: bool) {
        let mode = if writable { "remount,rw" } else { "remount,ro" };
        let out = Command::new("mount")
            .args(["-o", mode])
            .arg(self.path())
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "mount -o {mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}
