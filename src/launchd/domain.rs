//! launchd domains (`gui/501`, `system`), service targets (`gui/501/com.ollama`) and where a
//! job's plist lives.
//!
//! Pure: derives names and paths from `server.toml`'s [`Mode`] and the caller's uid; it never
//! asks launchd anything (macos.md §3.1).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::desired::{Label, Mode};

/// A launchd domain: where a job is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// `gui/<uid>`: the login (Aqua) session of a user; exists only while that user is logged
    /// in at the console.
    Gui(u32),
    /// `system`: launch daemons; modifying it needs root.
    System,
}

impl Domain {
    /// Whether changing jobs in this domain needs root (`system` does; a user's own `gui/<uid>`
    /// does not).
    pub fn needs_root(self) -> bool {
        matches!(self, Self::System)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gui(uid) => write!(f, "gui/{uid}"),
            Self::System => f.write_str("system"),
        }
    }
}

/// One job in one domain: `<domain>/<label>`, the argument of `print`, `bootout`, `kickstart`…
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceTarget {
    /// The domain the job is (or would be) loaded in.
    pub domain: Domain,
    /// The job's label.
    pub label: Label,
}

impl ServiceTarget {
    /// The target `<domain>/<label>`.
    pub fn new(domain: Domain, label: Label) -> Self {
        Self { domain, label }
    }
}

impl fmt::Display for ServiceTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.label)
    }
}

/// The domain a job of this mode lives in: agents in the user's `gui/<uid>`, daemons in
/// `system`. `uid` is the real uid of the user (not `0` under `sudo`, macos.md §8.2).
pub(crate) fn domain_for(mode: &Mode, uid: u32) -> Domain {
    match mode {
        Mode::Agent => Domain::Gui(uid),
        Mode::Daemon { .. } => Domain::System,
    }
}

/// Where the plist of `label` goes: `<home>/Library/LaunchAgents/<label>.plist` for an agent,
/// `/Library/LaunchDaemons/<label>.plist` for a daemon. The file stem is always the label.
pub(crate) fn plist_path(mode: &Mode, label: &Label, home: &Path) -> PathBuf {
    let file = format!("{label}.plist");
    match mode {
        Mode::Agent => home.join("Library").join("LaunchAgents").join(file),
        Mode::Daemon { .. } => Path::new("/Library/LaunchDaemons").join(file),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{Domain, ServiceTarget, domain_for, plist_path};
    use crate::model::desired::{Label, Mode};

    fn label() -> Label {
        Label::new("com.ollama").unwrap()
    }

    #[test]
    fn gui_domain_and_target_print_like_launchctl() {
        let target = ServiceTarget::new(Domain::Gui(501), label());
        assert_eq!(Domain::Gui(501).to_string(), "gui/501");
        assert_eq!(target.to_string(), "gui/501/com.ollama");
    }

    #[test]
    fn system_domain_and_target_print_like_launchctl() {
        let target = ServiceTarget::new(Domain::System, label());
        assert_eq!(Domain::System.to_string(), "system");
        assert_eq!(target.to_string(), "system/com.ollama");
        assert!(Domain::System.needs_root());
        assert!(!Domain::Gui(501).needs_root());
    }

    #[test]
    fn agents_live_in_the_gui_domain_and_daemons_in_system() {
        let daemon = Mode::Daemon {
            user: "ollama".to_owned(),
        };
        assert_eq!(domain_for(&Mode::Agent, 501), Domain::Gui(501));
        assert_eq!(domain_for(&daemon, 501), Domain::System);
    }

    #[test]
    fn plist_paths_follow_the_mode_and_the_label() {
        let home = Path::new("/Users/tester");
        let daemon = Mode::Daemon {
            user: "ollama".to_owned(),
        };
        assert_eq!(
            plist_path(&Mode::Agent, &label(), home),
            PathBuf::from("/Users/tester/Library/LaunchAgents/com.ollama.plist")
        );
        assert_eq!(
            plist_path(&daemon, &label(), home),
            PathBuf::from("/Library/LaunchDaemons/com.ollama.plist")
        );
    }
}
