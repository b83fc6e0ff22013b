//! Memory: what the Metal limit is read from — the `inference compute` line of the last server
//! start in the log file the job writes (`logs.stderr`, its tail only), and `sysctl hw.memsize
//! iogpu.wired_limit_mb` for the estimate before the server has run (`specs/capacity.md` §1).
//! The two start at once, with every other probe.

use std::path::Path;

use super::{Scope, Settings, describe};
use crate::capacity::sysctl::{self, MEMSIZE, WIRED_LIMIT_MB};
use crate::capacity::{self, LimitSource};
use crate::model::Knowable;
use crate::model::observed::{LoggedMetal, MemoryFacts, SysctlMemory};
use crate::ollama::log;
use crate::sys::exec::{Cmd, ExecError, Output};
use crate::sys::fs;
use crate::sys::tools::Tool;

/// How much of the log's end is read: a server start logs its `inference compute` lines within
/// its first few kilobytes; 1 MiB holds the last start unless the server has since written more
/// than that (then the start is not in the tail, and the limit is estimated instead).
const LOG_TAIL_BYTES: usize = 1 << 20;

/// The memory facts for `scope`.
pub(super) async fn memory(scope: &Scope, settings: &Settings) -> MemoryFacts {
    let cmd = Cmd::new(Tool::Sysctl, [MEMSIZE, WIRED_LIMIT_MB]);
    let (sysctl, logged) = tokio::join!(settings.run(&cmd), async {
        logged_metal(&scope.logs.stderr)
    });
    MemoryFacts {
        logged,
        sysctl: sysctl_memory(sysctl),
    }
}

/// The Metal device of the last start in the log's tail: `Known(None)` when the log is absent
/// or that start logged none; unknown when it exists but cannot be read (as root, a planted
/// link is not followed).
fn logged_metal(path: &Path) -> Knowable<Option<LoggedMetal>> {
    if fs::meta(path).is_none() {
        return Knowable::Known(None);
    }
    let Some(tail) = fs::tail(path, LOG_TAIL_BYTES) else {
        return Knowable::unknown(format!("{} could not be read", path.display()));
    };
    Knowable::Known(metal_of(path, &tail))
}

/// The Metal device of the last start in `log` (pure).
fn metal_of(path: &Path, log: &str) -> Option<LoggedMetal> {
    let start = log::last_start(log)?;
    let limit = capacity::measured_limit(&start)?;
    let LimitSource::Measured { text } = limit.source else {
        return None;
    };
    Some(LoggedMetal {
        log: path.to_owned(),
        total_text: text,
        total: limit.bytes,
        version: start.version,
    })
}

/// `sysctl`'s answer: it exits 1 when one OID is unknown (an older macOS without
/// `iogpu.wired_limit_mb`) and still prints the others, so its output is read whatever the
/// status; unknown when `hw.memsize` is not in it.
fn sysctl_memory(result: Result<Output, ExecError>) -> Knowable<SysctlMemory> {
    let out = match result {
        Ok(out) => out,
        Err(err) => return Knowable::unknown(describe(&err)),
    };
    let parsed = sysctl::parse(&out.stdout, &out.stderr, &[MEMSIZE, WIRED_LIMIT_MB], false);
    match parsed.uint(MEMSIZE) {
        Some(memsize) => Knowable::Known(SysctlMemory {
            memsize: Some(memsize),
            wired_limit_mb: parsed.uint(WIRED_LIMIT_MB),
        }),
        None if parsed.is_unknown(MEMSIZE) => {
            Knowable::unknown(format!("`sysctl` has no {MEMSIZE} (not a Mac?)"))
        }
        None => Knowable::unknown(format!(
            "`sysctl {MEMSIZE} {WIRED_LIMIT_MB}` exited with {:?} without {MEMSIZE}: {}",
            out.status,
            out.stderr.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{metal_of, sysctl_memory};
    use crate::model::Knowable;
    use crate::model::observed::SysctlMemory;
    use crate::observe::tests::output;

    const M1MAX: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ollama/logs/inference-compute-mtl0-m1max.log"
    ));

    #[test]
    fn the_last_start_of_a_real_log_gives_the_metal_total() {
        let metal = metal_of(Path::new("/tmp/e"), M1MAX).unwrap();
        assert_eq!(metal.total_text, "51.8 GiB");
        assert_eq!(metal.total, 55_619_826_483);
        // A log without a start that logged its GPU has none.
        assert_eq!(
            metal_of(Path::new("/tmp/e"), "[GIN] 200 GET /api/tags\n"),
            None
        );
    }

    #[test]
    fn sysctl_is_read_even_when_it_exits_1_for_an_unknown_oid() {
        let older = output(
            Some(1),
            "hw.memsize: 17179869184\n",
            "sysctl: unknown oid 'iogpu.wired_limit_mb'\n",
        );
        assert_eq!(
            sysctl_memory(Ok(older)),
            Knowable::Known(SysctlMemory {
                memsize: Some(17_179_869_184),
                wired_limit_mb: None
            })
        );
        let both = output(
            Some(0),
            "hw.memsize: 68719476736\niogpu.wired_limit_mb: 57344\n",
            "",
        );
        assert_eq!(
            sysctl_memory(Ok(both)),
            Knowable::Known(SysctlMemory {
                memsize: Some(68_719_476_736),
                wired_limit_mb: Some(57_344)
            })
        );
        let nothing = output(Some(1), "", "sysctl: unknown oid 'hw.memsize'\n");
        assert!(matches!(
            sysctl_memory(Ok(nothing)),
            Knowable::Unknown { .. }
        ));
    }
}
