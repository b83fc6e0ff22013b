//! The one process gateway: [`Cmd`] is plain data; [`run`] executes it and captures its output.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::tools::Tool;

/// A command line to run: a tool and its arguments. Built by domain modules, run by [`run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cmd {
    /// The program.
    pub tool: Tool,
    /// Its arguments.
    pub args: Vec<String>,
}

impl Cmd {
    /// A command with arguments.
    pub fn new<I, S>(tool: Tool, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tool,
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the command may read a password from the terminal (`sudo` without `-n`).
    pub fn may_prompt(&self) -> bool {
        self.tool == Tool::Sudo && !self.args.iter().any(|a| a == "-n")
    }

    /// This command run through `sudo` (`-n`: never prompt, fail instead).
    #[must_use]
    pub fn via_sudo(self, non_interactive: bool) -> Self {
        let mut args = Vec::with_capacity(self.args.len() + 2);
        if non_interactive {
            args.push("-n".to_owned());
        }
        args.push(self.tool.system_path().display().to_string());
        args.extend(self.args);
        Self {
            tool: Tool::Sudo,
            args,
        }
    }
}

/// Shell-quotes one word for display (`'` quoting when needed).
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote(&self.tool.system_path().display().to_string()))?;
        for arg in &self.args {
            write!(f, " {}", quote(arg))?;
        }
        Ok(())
    }
}

/// What a finished command printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit status; `None` when killed by a signal.
    pub status: Option<i32>,
    /// Standard output, lossily decoded as UTF-8.
    pub stdout: String,
    /// Standard error, lossily decoded as UTF-8.
    pub stderr: String,
}

impl Output {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// A command could not be run, or ran and failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ExecError {
    /// The program could not be started (missing, not executable).
    #[error("could not run `{cmd}`")]
    #[diagnostic(code(ssollama::exec::spawn))]
    Spawn {
        /// The command.
        cmd: String,
        /// The path that was tried.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The program did not finish in time and was killed.
    #[error("`{cmd}` did not finish within {seconds} s")]
    #[diagnostic(code(ssollama::exec::timeout))]
    Timeout {
        /// The command.
        cmd: String,
        /// The limit.
        seconds: u64,
    },
    /// The program exited non-zero where success was required.
    #[error("`{cmd}` exited with {status}: {stderr}")]
    #[diagnostic(code(ssollama::exec::failed))]
    Failed {
        /// The command.
        cmd: String,
        /// Exit status (or `signal`).
        status: String,
        /// What it printed on stdout.
        stdout: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
}

impl ExecError {
    /// A failure from a finished command's output.
    pub fn failed(cmd: &Cmd, output: &Output) -> Self {
        Self::Failed {
            cmd: cmd.to_string(),
            status: output
                .status
                .map_or_else(|| "a signal".to_owned(), |s| s.to_string()),
            stdout: output.stdout.clone(),
            stderr: output.stderr.trim().to_owned(),
        }
    }
}

/// The programs running now: pid → whether it leads a process group of its own; `stopping`
/// once [`stop_children`] ran (no program starts after that).
static CHILDREN: Mutex<Children> = Mutex::new(Children {
    running: BTreeMap::new(),
    stopping: false,
});

/// What [`CHILDREN`] holds.
struct Children {
    running: BTreeMap<i32, bool>,
    stopping: bool,
}

/// How long [`stop_children`] waits for the programs it sent SIGTERM before it kills them.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Stops every program ssollama started that still runs (SIGTERM to its process group, or to
/// it alone when it shares ours), and waits until they have exited (SIGKILL after
/// 2 s): for an exit on a signal, so nothing is left running beside the next run.
/// From then on [`run`] starts nothing: a probe spawned while the signal arrived is either
/// registered (and stopped here) or never started.
pub(crate) fn stop_children() {
    let Ok(mut children) = CHILDREN.lock() else {
        return;
    };
    children.stopping = true;
    let targets: Vec<(rustix::process::Pid, bool)> = children
        .running
        .iter()
        .filter_map(|(&pid, &group)| rustix::process::Pid::from_raw(pid).map(|pid| (pid, group)))
        .collect();
    // Held until the end: nothing registers or starts while we wait.
    let signal_all = |signal| {
        for &(pid, group) in &targets {
            let _ = if group {
                rustix::process::kill_process_group(pid, signal)
            } else {
                rustix::process::kill_process(pid, signal)
            };
        }
    };
    signal_all(rustix::process::Signal::TERM);
    if !wait_exited(&targets, STOP_GRACE) {
        signal_all(rustix::process::Signal::KILL);
        wait_exited(&targets, STOP_GRACE);
    }
    drop(children);
}

/// Waits up to `limit` until every one of `targets` has exited (without reaping it: the
/// runtime that spawned it does), polling; `true` when they all did.
fn wait_exited(targets: &[(rustix::process::Pid, bool)], limit: Duration) -> bool {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    let start = std::time::Instant::now();
    loop {
        let running = targets.iter().any(|&(pid, _)| {
            // `Ok(None)`: still running; an error (ECHILD): already reaped.
            matches!(
                waitid(
                    WaitId::Pid(pid),
                    WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT
                ),
                Ok(None)
            )
        });
        if !running {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills the process group of a program that ran past its limit (its children too: a
/// `brew install` leaves `curl` and `git` otherwise).
fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Runs `cmd` (resolved against `tool_dir`), capturing stdout and stderr, with a time limit.
/// A non-zero exit is returned as `Ok`: callers match on the status they expect.
///
/// # Errors
/// [`ExecError::Spawn`] when the program cannot start, [`ExecError::Timeout`] past `timeout`.
#[expect(
    clippy::disallowed_types,
    reason = "the process gateway: the one place that spawns"
)]
pub(crate) async fn run(
    cmd: &Cmd,
    tool_dir: Option<&Path>,
    timeout: Duration,
) -> Result<Output, ExecError> {
    let path = cmd.tool.resolve(tool_dir);
    // Someone may be typing a password: the limit is for hung programs, not for people.
    let timeout = if cmd.may_prompt() {
        timeout.max(Duration::from_mins(5))
    } else {
        timeout
    };
    tracing::debug!(command = %cmd, path = %path.display(), "run");
    let mut command = tokio::process::Command::new(&path);
    command
        .args(&cmd.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so a Ctrl-C at the terminal (SIGINT to the foreground group) reaches
    // ssollama only, which stops *after* the running step: a `launchctl bootstrap` or a
    // `brew install` is never killed halfway. A `sudo` that may ask for a password stays in the
    // foreground group: it needs the terminal.
    let own_group = !cmd.may_prompt();
    if own_group {
        command.process_group(0);
    }
    // Started and registered under the lock, so `stop_children` never misses a program.
    let spawned = {
        let mut children = CHILDREN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (!children.stopping).then(|| {
            command.spawn().map(|child| {
                let key = child.id().and_then(|p| i32::try_from(p).ok());
                if let Some(key) = key {
                    children.running.insert(key, own_group);
                }
                (child, key)
            })
        })
    };
    let Some(spawned) = spawned else {
        // The process exits on a signal: nothing new starts.
        return std::future::pending().await;
    };
    let (child, key) = spawned.map_err(|source| ExecError::Spawn {
        cmd: cmd.to_string(),
        path: path.clone(),
        source,
    })?;
    let pid = child.id();
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    if let (Some(key), Ok(mut children)) = (key, CHILDREN.lock()) {
        children.running.remove(&key);
    }
    if waited.is_err()
        && own_group
        && let Some(pid) = pid
    {
        kill_group(pid);
    }
    let output = waited
        .map_err(|_| ExecError::Timeout {
            cmd: cmd.to_string(),
            seconds: timeout.as_secs(),
        })?
        .map_err(|source| ExecError::Spawn {
            cmd: cmd.to_string(),
            path,
            source,
        })?;
    Ok(Output {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
