//! Preflight: the checks of root, `sudo` and `HOME` made before anything is touched, and who
//! owns what a run as root creates for a user.

use std::path::{Path, PathBuf};

use crate::model::Desired;
use crate::model::desired::Mode;
use crate::plan::{Operation, Plan};

/// A problem found before anything is touched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub(crate) enum PreflightError {
    /// Daemon mode changes `/Library/LaunchDaemons` and the `system` domain.
    #[error(
        "`service.mode = \"daemon\"` needs root: it writes /Library/LaunchDaemons and loads the job in the `system` domain"
    )]
    #[diagnostic(
        code(ssollama::apply::needs_root),
        help("run `sudo ssollama apply` (nothing was changed)")
    )]
    NeedsRoot,
    /// An agent applied as root for a user (`sudo`) would create a directory outside that user's
    /// `HOME`, as root.
    #[error(
        "refusing to create `{}` as root: it is outside `{}`, the HOME of the user behind sudo",
        path.display(),
        home.display()
    )]
    #[diagnostic(
        code(ssollama::apply::dir_outside_home),
        help(
            "create it yourself (`mkdir -p {}`) and run again, or run ssollama without sudo; nothing was changed",
            path.display()
        )
    )]
    DirOutsideHome {
        /// The directory the plan would create.
        path: PathBuf,
        /// The user's `HOME`.
        home: PathBuf,
    },
}

/// Checks that need no observation, before anything is touched.
///
/// `sudo_home`: the `HOME` of the user behind `sudo` when running as root for them (`SUDO_UID`
/// set, not 0), else `None`; `exists`: whether a directory exists now.
///
/// # Errors
/// [`PreflightError::NeedsRoot`] for daemon mode without root, when the plan changes anything;
/// [`PreflightError::DirOutsideHome`] when an agent applied for a user under `sudo` would create
/// a directory outside that user's `HOME`: a missing log directory, created by the plist write
/// (a load) or by the step before a restart.
pub(crate) fn preflight(
    desired: &Desired,
    plan: &Plan,
    is_root: bool,
    sudo_home: Option<&Path>,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<(), PreflightError> {
    let daemon = matches!(desired.service.mode, Mode::Daemon { .. });
    if daemon && !is_root && !plan.changes.is_empty() {
        return Err(PreflightError::NeedsRoot);
    }
    let (false, true, Some(home)) = (daemon, is_root, sudo_home) else {
        return Ok(());
    };
    let mut created: Vec<&Path> = Vec::new();
    for change in &plan.changes {
        match &change.operation {
            Operation::CreateLogDirs { dirs } => created.extend(dirs.iter().map(PathBuf::as_path)),
            Operation::WritePlist { .. } => created.extend(
                [&desired.logs.stdout, &desired.logs.stderr]
                    .into_iter()
                    .filter_map(|log| log.parent()),
            ),
            _ => {}
        }
    }
    match created
        .into_iter()
        .find(|dir| !inside(dir, home) && !exists(dir))
    {
        Some(path) => Err(PreflightError::DirOutsideHome {
            path: path.to_owned(),
            home: home.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Whether `path` lies inside `home`, lexically (a `..` anywhere counts as outside).
fn inside(path: &Path, home: &Path) -> bool {
    let climbs = |p: &Path| {
        p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    };
    !climbs(path) && !climbs(home) && path.starts_with(home)
}

/// Staff, the primary group of macOS users: the group of what root writes for a user's agent.
const STAFF_GID: u32 = 20;

/// The owner of what ssollama creates for an agent when it runs as root for a user (`sudo`,
/// `uid` = `SUDO_UID`): `(uid, staff)`, so the user's own runs and agents can use it afterwards.
/// `None` (keep the creator's) otherwise: a daemon's files belong to root, and a user's own run
/// creates them as that user already.
#[must_use]
pub(crate) fn home_owner(desired: &Desired, is_root: bool, uid: u32) -> Option<(u32, u32)> {
    match desired.service.mode {
        Mode::Agent if is_root && uid != 0 => Some((uid, STAFF_GID)),
        Mode::Agent | Mode::Daemon { .. } => None,
    }
}

/// Why `home` cannot be the home of the user behind `sudo` (`SUDO_UID` = `sudo_uid`) for an
/// agent applied as root, or `None`: it is root's own home (`sudo -H` sets `HOME=/var/root`), or
/// a directory owned by a third user. Root-owned homes elsewhere are taken as they are (a home
/// under a test's temporary directory). Pure: `home_uid` is the owner of `home`, when it exists.
#[must_use]
pub(crate) fn foreign_home(home: &Path, home_uid: Option<u32>, sudo_uid: u32) -> Option<String> {
    if home == Path::new("/var/root") || home == Path::new("/private/var/root") {
        return Some(format!(
            "HOME is `{}`, root's home (`sudo -H`?), not the home of the user behind sudo (uid {sudo_uid})",
            home.display()
        ));
    }
    match home_uid {
        Some(owner) if owner != sudo_uid && owner != 0 => Some(format!(
            "HOME `{}` belongs to uid {owner}, not to the user behind sudo (uid {sudo_uid})",
            home.display()
        )),
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::{Path, PathBuf};

    use super::{PreflightError, STAFF_GID, home_owner, preflight};
    use crate::model::desired::Mode;
    use crate::plan::{Action, Address, Change, Operation, Plan};

    pub(in crate::apply) fn desired(mode: &Mode) -> crate::model::Desired {
        let text = match mode {
            Mode::Agent => "[service]\nlabel = \"com.ollama\"\n[listen]\nhost = \"127.0.0.1\"\n",
            Mode::Daemon { .. } => {
                "[service]\nlabel = \"com.ollama\"\nmode = \"daemon\"\nuser = \"tester\"\n[listen]\nhost = \"127.0.0.1\"\n"
            }
        };
        crate::config::parse("server.toml", text).unwrap().desired
    }

    fn one_change() -> Plan {
        Plan {
            changes: vec![Change {
                resource: Address::Job,
                action: Action::Reload,
                reason: String::new(),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
                operation: Operation::KickstartJob {
                    target: "system/com.ollama".parse().unwrap(),
                },
            }],
            ..Plan::default()
        }
    }

    #[test]
    fn daemon_mode_without_root_is_refused_before_anything_runs() {
        let daemon = desired(&Mode::Daemon {
            user: "tester".to_owned(),
        });
        assert_eq!(
            preflight(&daemon, &one_change(), false, None, &|_| true),
            Err(PreflightError::NeedsRoot)
        );
        assert_eq!(
            preflight(&daemon, &one_change(), true, None, &|_| true),
            Ok(())
        );
        assert_eq!(
            preflight(&daemon, &Plan::default(), false, None, &|_| true),
            Ok(())
        );
        assert_eq!(
            preflight(&desired(&Mode::Agent), &one_change(), false, None, &|_| {
                true
            }),
            Ok(())
        );
    }

    #[test]
    fn an_agent_under_sudo_never_creates_a_missing_directory_outside_home() {
        let agent = desired(&Mode::Agent);
        let create = |dirs: &[&str]| Plan {
            changes: vec![Change {
                resource: Address::Logs,
                action: Action::Create,
                reason: String::new(),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
                operation: Operation::CreateLogDirs {
                    dirs: dirs.iter().map(PathBuf::from).collect(),
                },
            }],
            ..Plan::default()
        };
        let home = Some(Path::new("/Users/me"));
        let missing = |_: &Path| false;
        assert_eq!(
            preflight(
                &agent,
                &create(&["/Users/me/logs", "/opt/logs"]),
                true,
                home,
                &missing
            ),
            Err(PreflightError::DirOutsideHome {
                path: PathBuf::from("/opt/logs"),
                home: PathBuf::from("/Users/me"),
            })
        );
        // `..` climbs out of HOME: outside.
        assert!(preflight(&agent, &create(&["/Users/me/../x"]), true, home, &missing).is_err());
        let inside = create(&["/Users/me/Library/Logs/ollama"]);
        assert_eq!(preflight(&agent, &inside, true, home, &missing), Ok(()));
        // Existing, not under sudo, or a daemon: nothing to refuse.
        let outside = create(&["/opt/logs"]);
        assert_eq!(preflight(&agent, &outside, true, home, &|_| true), Ok(()));
        assert_eq!(preflight(&agent, &outside, true, None, &missing), Ok(()));
        assert_eq!(preflight(&agent, &outside, false, home, &missing), Ok(()));
        let daemon = desired(&Mode::Daemon {
            user: "tester".to_owned(),
        });
        assert_eq!(preflight(&daemon, &outside, true, home, &missing), Ok(()));
    }

    #[test]
    fn a_home_that_is_not_the_sudo_users_is_noticed() {
        use super::foreign_home;
        assert!(foreign_home(Path::new("/var/root"), Some(0), 501).is_some());
        assert!(foreign_home(Path::new("/private/var/root"), Some(0), 501).is_some());
        assert!(foreign_home(Path::new("/Users/other"), Some(502), 501).is_some());
        assert_eq!(foreign_home(Path::new("/Users/me"), Some(501), 501), None);
        assert_eq!(foreign_home(Path::new("/Users/me"), None, 501), None);
    }

    #[test]
    fn only_an_agent_applied_as_root_for_a_user_gives_the_user_its_files() {
        let agent = desired(&Mode::Agent);
        assert_eq!(home_owner(&agent, true, 501), Some((501, STAFF_GID)));
        assert_eq!(home_owner(&agent, false, 501), None);
        assert_eq!(home_owner(&agent, true, 0), None);
        let daemon = desired(&Mode::Daemon {
            user: "tester".to_owned(),
        });
        assert_eq!(home_owner(&daemon, true, 501), None);
    }
}
