//! [`Machine`]: who and where this run is (uid, HOME, root, sudo, a terminal on stdin, the tool
//! directory), read once from [`Env`] and the process, then handed to observe, apply and verify.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::env::Env;

/// The run's machine context: everything observe, apply and verify know about the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// `HOME`, absolute: decides `~/Library/LaunchAgents`.
    pub home: PathBuf,
    /// The uid whose `gui/<uid>` domain holds the agent: the real uid, or under `sudo` (real
    /// uid 0) the `SUDO_UID` of the user who ran it.
    pub uid: u32,
    /// The effective uid is 0.
    pub is_root: bool,
    /// `SUDO_UID`: the user behind `sudo` (Homebrew must run as that user, never as root).
    pub sudo_uid: Option<u32>,
    /// stdin is a terminal: `sudo` may ask for a password (else it runs with `-n`).
    pub interactive: bool,
    /// `SSOLLAMA_TOOL_DIR`: every external program comes from there.
    pub tool_dir: Option<PathBuf>,
}

/// Why there is no machine context: `HOME` is missing or not absolute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub(crate) enum MachineError {
    /// `HOME` is unset or empty.
    #[error("HOME is not set: it decides where the LaunchAgent lives")]
    #[diagnostic(
        code(ssollama::env::home),
        help("run ssollama from a login shell, or set HOME")
    )]
    NoHome,
    /// `HOME` is relative.
    #[error(
        "HOME is `{}`, not an absolute path: it decides where the LaunchAgent lives",
        .0.display()
    )]
    #[diagnostic(
        code(ssollama::env::home),
        help("set HOME to your home directory, e.g. /Users/you")
    )]
    RelativeHome(PathBuf),
}

/// What the process itself says (not the environment): its real uid, whether its effective uid
/// is 0, whether stdin is a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessIds {
    /// `getuid()`.
    pub real_uid: u32,
    /// `geteuid() == 0`.
    pub effective_root: bool,
    /// `isatty(0)`.
    pub stdin_tty: bool,
}

impl ProcessIds {
    /// Reads this process's ids and stdin.
    pub(crate) fn of_process() -> Self {
        Self {
            real_uid: rustix::process::getuid().as_raw(),
            effective_root: rustix::process::geteuid().is_root(),
            stdin_tty: std::io::stdin().is_terminal(),
        }
    }
}

impl Machine {
    /// The context of this process with this environment.
    ///
    /// # Errors
    /// [`MachineError`] when `HOME` is unset or relative.
    pub(crate) fn new(env: &Env, ids: ProcessIds) -> Result<Self, MachineError> {
        let home = env.home.clone().ok_or(MachineError::NoHome)?;
        if !home.is_absolute() {
            return Err(MachineError::RelativeHome(home));
        }
        // Under `sudo`, the agent belongs to the user who ran sudo, not to root.
        let uid = match (ids.real_uid, env.sudo_uid) {
            (0, Some(sudo_uid)) => sudo_uid,
            (real, _) => real,
        };
        Ok(Self {
            home,
            uid,
            is_root: ids.effective_root,
            sudo_uid: env.sudo_uid,
            interactive: ids.stdin_tty,
            tool_dir: env.tool_dir.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Machine, MachineError, ProcessIds};
    use crate::sys::env::Env;
    use std::path::PathBuf;

    fn env(home: Option<&str>, sudo_uid: Option<u32>) -> Env {
        Env {
            home: home.map(PathBuf::from),
            sudo_uid,
            ..Env::default()
        }
    }

    const USER: ProcessIds = ProcessIds {
        real_uid: 501,
        effective_root: false,
        stdin_tty: true,
    };
    const ROOT: ProcessIds = ProcessIds {
        real_uid: 0,
        effective_root: true,
        stdin_tty: false,
    };

    #[test]
    fn under_sudo_the_agent_belongs_to_the_user_who_ran_it() {
        let m = Machine::new(&env(Some("/Users/a"), Some(501)), ROOT).unwrap();
        assert_eq!((m.uid, m.is_root, m.sudo_uid), (501, true, Some(501)));
        assert!(!m.interactive);
        let m = Machine::new(&env(Some("/var/root"), None), ROOT).unwrap();
        assert_eq!(m.uid, 0);
        // SUDO_UID left in the environment of a user's process changes nothing.
        let m = Machine::new(&env(Some("/Users/a"), Some(502)), USER).unwrap();
        assert_eq!((m.uid, m.is_root, m.interactive), (501, false, true));
    }

    #[test]
    fn home_must_be_set_and_absolute() {
        assert_eq!(
            Machine::new(&env(None, None), USER),
            Err(MachineError::NoHome)
        );
        assert_eq!(
            Machine::new(&env(Some("Users/a"), None), USER),
            Err(MachineError::RelativeHome(PathBuf::from("Users/a")))
        );
    }
}
