//! The fuzz targets of `ssollama::fuzz`, run on stable for a bounded budget: a seeded mutation
//! fuzzer over the real fixtures (`tests/fixtures/**`, the config cases, the examples) as corpus.
//! Zero panics; a panicking input is written to `target/fuzz-failures/` and named.
//!
//! Budget: `ITERATIONS` mutated inputs per target, and at most `TIME_LIMIT` per target (the
//! limit only shortens the run, it never decides the result).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ITERATIONS: usize = 4000;
const TIME_LIMIT: Duration = Duration::from_secs(10);
const MAX_LEN: usize = 16 * 1024;

/// xorshift64*: seeded, so every run tries the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

/// Tokens the readers split on, and edge values.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\t",
    " = ",
    " => ",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "=",
    "\0",
    "-1",
    "18446744073709551616",
    "99999999999",
    "0x",
    "state = running",
    "pid = ",
    "(LISTEN)",
    "IP address: ",
    "Router: ",
    "*:",
    "[[models]]",
    "\u{feff}",
    "é",
    "\u{fffd}",
    "<key>",
    "</dict>",
    "<string>",
    "bplist00",
];

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let end = (at + rng.below(32)).min(data.len());
                data.drain(at.min(end)..end);
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + rng.below(64)).min(data.len());
                let chunk = data[start..end].to_vec();
                data.splice(at..at, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let start = rng.below(other.len() + 1);
                let end = (start + rng.below(256)).min(other.len());
                data.splice(at..at, other[start..end].iter().copied());
            }
            5 => data.truncate(at),
            _ => {
                let byte = u8::try_from(rng.below(256)).unwrap();
                data.insert(at, byte);
            }
        }
    }
    data.truncate(MAX_LEN);
    data
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in ["tests/fixtures", "tests/it/cases", "examples"] {
        files(&root.join(dir), &mut paths);
    }
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|bytes| bytes.len() <= MAX_LEN)
        .collect()
}

#[test]
fn every_reader_survives_mutated_real_inputs() {
    let corpus = corpus();
    assert!(
        corpus.len() > 40,
        "the fixtures are the corpus: {}",
        corpus.len()
    );
    // The default hook would print every caught panic; the failures are listed below instead.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for (name, target) in ssollama::FUZZ_TARGETS {
        let mut rng = Rng(0x5eed_0000_0000_0001 ^ name.len() as u64);
        let start = Instant::now();
        let mut runs = 0;
        for seed in &corpus {
            if std::panic::catch_unwind(|| target(seed)).is_err() {
                failures.push((*name, seed.clone()));
            }
        }
        while runs < ITERATIONS && start.elapsed() < TIME_LIMIT {
            let base = &corpus[rng.below(corpus.len())];
            let input = mutate(&mut rng, base, &corpus);
            if std::panic::catch_unwind(|| target(&input)).is_err() {
                failures.push((*name, input));
            }
            runs += 1;
        }
        counts.push(format!("{name}: {runs}"));
    }
    std::panic::set_hook(hook);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let mut named = Vec::new();
    for (i, (name, input)) in failures.iter().enumerate() {
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{i}"));
        std::fs::write(&path, input).unwrap();
        named.push(format!("{name}: {}", path.display()));
    }
    eprintln!("fuzzed: {}", counts.join(", "));
    assert!(named.is_empty(), "panics on: {named:#?}");
}
