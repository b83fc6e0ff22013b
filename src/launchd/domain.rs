//! launchd domains (`gui/501`, `system`), service targets (`gui/501/com.ollama`) and where a
//! job's plist lives.
//!
//! Pure: derives names and paths from `server.toml`'s [`Mode`] and the caller's uid; it never
//! asks launchd anything (docs/macos.md §3.1).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::desired::{Label, Mode};

/// A launchd domain: where a job is loaded. Serialized as launchctl spells it (`gui/501`,
/// `system`), as `plan --json` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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
/// Serialized as that text (`gui/501/com.ollama`), as `plan --json` and `observe --json` show it,
/// and debug-printed as that text in quotes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

impl fmt::Debug for ServiceTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl fmt::Display for ServiceTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.label)
    }
}

/// Why a text is not a launchd domain or service target (a saved plan or observation that was
/// edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a launchd {1}")]
pub struct ParseTargetError(String, &'static str);

impl FromStr for Domain {
    type Err = ParseTargetError;

    /// `system` or `gui/<uid>`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "system" {
            return Ok(Self::System);
        }
        text.strip_prefix("gui/")
            .and_then(|uid| uid.parse().ok())
            .map(Self::Gui)
            .ok_or_else(|| ParseTargetError(text.to_owned(), "domain"))
    }
}

impl TryFrom<String> for Domain {
    type Error = ParseTargetError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Domain> for String {
    fn from(domain: Domain) -> Self {
        domain.to_string()
    }
}

impl FromStr for ServiceTarget {
    type Err = ParseTargetError;

    /// `<domain>/<label>`: the label is what follows the domain (labels have no `/`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseTargetError(text.to_owned(), "service target");
        let (domain, label) = if let Some(label) = text.strip_prefix("system/") {
            (Domain::System, label)
        } else {
            let (uid, label) = text
                .strip_prefix("gui/")
                .and_then(|rest| rest.split_once('/'))
                .ok_or_else(bad)?;
            (Domain::Gui(uid.parse().map_err(|_| bad())?), label)
        };
        Ok(Self::new(domain, Label::new(label).map_err(|_| bad())?))
    }
}

impl TryFrom<String> for ServiceTarget {
    type Error = ParseTargetError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<ServiceTarget> for String {
    fn from(target: ServiceTarget) -> Self {
        target.to_string()
    }
}

/// The domain a job of this mode lives in: agents in the user's `gui/<uid>`, daemons in
/// `system`. `uid` is the real uid of the user (not `0` under `sudo`, docs/macos.md §8.2).
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
    fn domains_and_targets_serialize_as_launchctl_text_and_read_back() {
        let target = ServiceTarget::new(Domain::Gui(501), label());
        let json = serde_json::to_value(&target).unwrap();
        assert_eq!(json, "gui/501/com.ollama");
        assert_eq!(
            serde_json::from_value::<ServiceTarget>(json).unwrap(),
            target
        );
        assert_eq!(serde_json::to_value(Domain::System).unwrap(), "system");
        assert_eq!(
            serde_json::from_value::<Domain>("system".into()).unwrap(),
            Domain::System
        );
        assert_eq!(
            serde_json::from_value::<Domain>("gui/0".into()).unwrap(),
            Domain::Gui(0)
        );
        assert_eq!(
            "system/com.ollama".parse::<ServiceTarget>().unwrap(),
            ServiceTarget::new(Domain::System, label())
        );
        for bad in [
            "gui/x/com.ollama",
            "nonsense",
            "gui/501",
            "gui/501/a/b",
            "user/501/x",
        ] {
            assert!(bad.parse::<ServiceTarget>().is_err(), "{bad}");
        }
        assert!("gui/".parse::<Domain>().is_err());
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
