//! `sysctl` output for the two OIDs the Metal estimate needs: `hw.memsize` (RAM, bytes) and
//! `iogpu.wired_limit_mb` (the GPU wired-memory cap, MiB; 0 = macOS's default). Pure: the
//! caller runs `sysctl [-n] hw.memsize iogpu.wired_limit_mb`.
//!
//! macOS prints one `name: value` line per OID, with `-n` the value only; an OID the kernel
//! does not have prints `sysctl: unknown oid '<oid>'` on stderr, the others are still printed,
//! and the exit status is 1 (`tests/fixtures/macos/sysctl/`).

use std::collections::BTreeMap;

/// RAM, bytes.
pub(crate) const MEMSIZE: &str = "hw.memsize";
/// The GPU wired-memory cap, MiB (macOS 14+; older systems have no such OID).
pub(crate) const WIRED_LIMIT_MB: &str = "iogpu.wired_limit_mb";

/// What one `sysctl` run said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sysctl {
    /// Each OID printed, with its value text.
    pub values: BTreeMap<String, String>,
    /// The OIDs the kernel said it does not have.
    pub unknown: Vec<String>,
}

impl Sysctl {
    /// An OID's value as an unsigned integer, when printed and numeric.
    pub(crate) fn uint(&self, oid: &str) -> Option<u64> {
        self.values.get(oid)?.trim().parse().ok()
    }

    /// Whether the kernel said it has no such OID.
    pub(crate) fn is_unknown(&self, oid: &str) -> bool {
        self.unknown.iter().any(|o| o == oid)
    }
}

/// Parses a run of `sysctl` for `asked` (in the order given on the command line);
/// `values_only` when it ran with `-n`. With `-n` the values are matched to the asked OIDs in
/// order, skipping the ones stderr names as unknown; a count that does not match leaves every
/// value unread (unknown rather than misattributed).
pub(crate) fn parse(stdout: &str, stderr: &str, asked: &[&str], values_only: bool) -> Sysctl {
    let unknown: Vec<String> = stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("sysctl: unknown oid '"))
        .filter_map(|rest| rest.strip_suffix('\''))
        .map(str::to_owned)
        .collect();
    let mut values = BTreeMap::new();
    if values_only {
        let known: Vec<&&str> = asked
            .iter()
            .filter(|oid| !unknown.iter().any(|u| u == **oid))
            .collect();
        let lines: Vec<&str> = stdout.lines().collect();
        if lines.len() == known.len() {
            for (oid, value) in known.into_iter().zip(lines) {
                values.insert((*oid).to_owned(), value.trim().to_owned());
            }
        }
    } else {
        for line in stdout.lines() {
            if let Some((name, value)) = line.split_once(": ") {
                values.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
    Sysctl { values, unknown }
}

#[cfg(test)]
mod tests {
    use super::{MEMSIZE, WIRED_LIMIT_MB, parse};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/macos/sysctl/",
                $name
            ))
        };
    }

    #[test]
    fn name_value_lines_of_a_real_mac() {
        let s = parse(
            fixture!("hw-model-memsize.txt"),
            "",
            &["hw.model", MEMSIZE],
            false,
        );
        assert_eq!(s.uint(MEMSIZE), Some(34_359_738_368));
        assert_eq!(s.values["hw.model"], "Mac14,12");
        assert!(s.unknown.is_empty());
    }

    #[test]
    fn values_only_are_matched_in_order() {
        let s = parse(
            fixture!("n-memsize-ncpu-m3pro.txt"),
            "",
            &[MEMSIZE, "hw.ncpu", "hw.physicalcpu", "hw.logicalcpu"],
            true,
        );
        assert_eq!(s.uint(MEMSIZE), Some(38_654_705_664));
        assert_eq!(s.uint("hw.ncpu"), Some(12));
    }

    #[test]
    fn unknown_oids_are_named_and_skipped() {
        let s = parse(
            "",
            fixture!("unknown-oid.stderr"),
            &["hw.perflevel0.count", "hw.perflevel1.count"],
            true,
        );
        assert!(s.is_unknown("hw.perflevel0.count"));
        assert!(s.is_unknown("hw.perflevel1.count"));
        assert!(s.values.is_empty());
        // A Mac without the wired-limit OID (older macOS): memsize still reads, with and
        // without `-n` (the format the simulated Mac's sysctl follows).
        let stderr = format!("sysctl: unknown oid '{WIRED_LIMIT_MB}'\n");
        let s = parse("68719476736\n", &stderr, &[MEMSIZE, WIRED_LIMIT_MB], true);
        assert_eq!(s.uint(MEMSIZE), Some(68_719_476_736));
        assert!(s.is_unknown(WIRED_LIMIT_MB));
        assert_eq!(s.uint(WIRED_LIMIT_MB), None);
        let s = parse(
            "hw.memsize: 68719476736\niogpu.wired_limit_mb: 57344\n",
            "",
            &[MEMSIZE, WIRED_LIMIT_MB],
            false,
        );
        assert_eq!(s.uint(WIRED_LIMIT_MB), Some(57_344));
    }

    #[test]
    fn a_values_only_count_mismatch_reads_nothing() {
        let s = parse("34359738368\n", "", &[MEMSIZE, WIRED_LIMIT_MB], true);
        assert_eq!(s.uint(MEMSIZE), None);
        assert_eq!(s.uint(WIRED_LIMIT_MB), None);
    }
}
