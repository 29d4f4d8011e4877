//! The fuzz targets under seeded random input: mutations of the checked-in corpus
//! (`fuzz/corpus/<target>/`), so that `cargo test` covers what `cargo fuzz` explores at length.
//! `PARCELD_FUZZ_SEED` replays a run, `PARCELD_FUZZ_ROUNDS` multiplies the rounds.

use super::TARGETS;
use std::path::PathBuf;

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Bits of text that parsers trip over.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"<",
    b">",
    b"</",
    b"&amp;",
    b"&#xFFFF;",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b";",
    b"\t",
    b"\r\n",
    b"\n",
    b"\0",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xd0",
    b"-1",
    b"0",
    b"1e309",
    b"99999999999999999999999",
    b"null",
    b"true",
    b"NaN",
    b"SANDBOX-",
    b"RU",
    b"CN",
    b"=",
    b"<![CDATA[",
    b"]]>",
    b"<?xml version=\"1.0\"?>",
    b"\\u0000",
    b"\\ud800",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.next(4) {
        let at = rng.next(v.len() + 1);
        match rng.next(7) {
            0 if !v.is_empty() => {
                let i = rng.next(v.len());
                v[i] ^= 1 << rng.next(8);
            }
            1 => v.insert(at, rng.next(256) as u8),
            2 if !v.is_empty() => {
                let end = (at + rng.next(64)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 => {
                let t = TOKENS[rng.next(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            4 if !v.is_empty() => {
                let from = rng.next(v.len());
                let end = (from + rng.next(256)).min(v.len());
                let chunk = v[from..end].to_vec();
                v.splice(at..at, chunk);
            }
            5 => v.truncate(at),
            _ => {
                let n = rng.next(32);
                for _ in 0..n {
                    v.insert(at, rng.next(256) as u8);
                }
            }
        }
    }
    v
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().flat_map(std::fs::read).collect();
    assert!(!seeds.is_empty(), "no corpus for {target}");
    seeds
}

fn run(name: &str, rounds: usize) {
    let seed = std::env::var("PARCELD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00f0_2217_u64);
    let rounds = rounds
        * std::env::var("PARCELD_FUZZ_ROUNDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
    let target = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .expect("target");
    let seeds = corpus(name);
    let mut rng = Rng(seed ^ name.len() as u64);
    for s in &seeds {
        target(s);
    }
    for i in 0..rounds {
        let pick = rng.next(seeds.len());
        let input = mutate(&mut rng, &seeds[pick]);
        let outcome = std::panic::catch_unwind(|| target(&input));
        assert!(
            outcome.is_ok(),
            "{name} panicked on round {i} of seed {seed}; input: {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn track_numbers() {
    run("track_number", 100_000);
}

#[test]
fn csv_files() {
    run("csv_import", 15_000);
}

#[test]
fn xlsx_files() {
    run("xlsx_import", 2_000);
}

#[test]
fn russian_post_answers() {
    run("russian_post", 10_000);
}

#[test]
fn track17_answers_and_pushes() {
    run("track17", 15_000);
}

#[test]
fn api_json_intake() {
    run("parcel_json", 15_000);
}
