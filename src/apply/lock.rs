//! The locks a run that may change the Mac takes: the Mac-wide one, then the per-config one.

use std::path::{Path, PathBuf};

use crate::model::Desired;
use crate::model::desired::Mode;

/// The directory of the Mac-wide lock on a real Mac: sticky, root's, writable by every user, and
/// never removed (so its `flock` cannot be escaped by deleting the lock file).
const MAC_LOCK_DIR: &str = "/private/tmp";

/// The Mac-wide lock every run that may change the Mac takes first, whatever its config (agent
/// or daemon) and user: `/private/tmp/ssollama.lock`. With `SSOLLAMA_TOOL_DIR` (the simulated
/// Mac) it lives in that directory instead, so each simulated Mac has its own and tests never
/// touch this machine's `/tmp`.
pub(crate) fn mac_lock_path(tool_dir: Option<&Path>) -> PathBuf {
    tool_dir
        .unwrap_or_else(|| Path::new(MAC_LOCK_DIR))
        .join("ssollama.lock")
}

/// Where the per-config lock lives (taken after the Mac-wide one): per user under `HOME` for agents; `/var/run/ssollama.lock` for a daemon
/// (one system-wide job, changed by root).
pub(crate) fn lock_path(desired: &Desired, home: &Path) -> PathBuf {
    match desired.service.mode {
        Mode::Daemon { .. } => PathBuf::from("/var/run/ssollama.lock"),
        Mode::Agent => home
            .join("Library")
            .join("Caches")
            .join("ssollama")
            .join("lock"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::lock_path;
    use crate::apply::preflight::tests::desired;
    use crate::model::desired::Mode;

    #[test]
    fn agents_lock_under_home_and_daemons_system_wide() {
        let home = Path::new("/Users/t");
        assert_eq!(
            lock_path(&desired(&Mode::Agent), home),
            Path::new("/Users/t/Library/Caches/ssollama/lock")
        );
        let daemon = desired(&Mode::Daemon {
            user: "tester".to_owned(),
        });
        assert_eq!(
            lock_path(&daemon, home),
            Path::new("/var/run/ssollama.lock")
        );
    }
}
