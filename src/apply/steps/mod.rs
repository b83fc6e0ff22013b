//! The step executors: one small function per [`Operation`], each through the gateways
//! (`sys::exec`, `sys::fs`, `ollama::client`). Waits are bounded and cancellable; retries are
//! bounded. Sequencing lives in the parent module, not here.

mod conflicts;
mod job;
mod logs;
mod models;
mod network;
mod plist;
mod program;

pub(super) use conflicts::{bootout_homebrew, quit_ollama_app};
use job::{bootout_and_wait, load_job, not_serving, parse_target, restart, target};
pub(super) use models::check_warm;
pub(crate) use models::warm;
use models::{pull, remove_model, warm_model};
use network::run_admin;
use plist::{keep_backup, write_plist};
use program::install_ollama;

use std::sync::Mutex;
use std::time::Duration;

use super::journal::StepStatus;
use super::{Cancel, Reporter, Settings, home_owner};
use crate::model::{Desired, Observed};
use crate::network::networksetup::{self, NetworksetupError};
use crate::ollama::client::OllamaError;
use crate::plan::Operation;
use crate::sys::exec::{Cmd, ExecError, Output};
use crate::sys::fs::{self, FsError};

/// The error text of a step stopped by Ctrl-C / SIGTERM.
pub(super) const INTERRUPTED: &str = "interrupted";

/// What a step needs.
pub(super) struct Ctx<'a> {
    pub(super) desired: &'a Desired,
    pub(super) observed: &'a Observed,
    pub(super) settings: &'a Settings,
    pub(super) reporter: &'a dyn Reporter,
    pub(super) cancel: &'a Cancel,
    /// The plist this round's `write_plist` replaced (its bytes): what a failed load rolls
    /// back to.
    pub(super) previous_plist: Mutex<Option<Vec<u8>>>,
    /// Rollbacks done in this round (each becomes a `rollback launchd.job` journal line).
    pub(super) rollbacks: Mutex<Vec<StepStatus>>,
    /// What `/api/ps` listed after each warm step of the round (for the joint check).
    pub(super) warmed: Mutex<Vec<warm::WarmSeen>>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(
        desired: &'a Desired,
        observed: &'a Observed,
        settings: &'a Settings,
        reporter: &'a dyn Reporter,
        cancel: &'a Cancel,
    ) -> Self {
        Self {
            desired,
            observed,
            settings,
            reporter,
            cancel,
            previous_plist: Mutex::new(None),
            rollbacks: Mutex::new(Vec::new()),
            warmed: Mutex::new(Vec::new()),
        }
    }
}

/// Why a step failed. Every variant names the command, path or URL.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum StepError {
    /// A program could not run.
    #[error(transparent)]
    Exec(ExecError),
    /// A program ran and failed.
    #[error("`{cmd}` failed: {message}")]
    Command {
        /// The command line.
        cmd: String,
        /// Its status and output, bounded.
        message: String,
    },
    /// `networksetup` failed.
    #[error("`{cmd}`: {source}")]
    Network {
        /// The command line.
        cmd: String,
        /// The classified failure.
        #[source]
        source: NetworksetupError,
    },
    /// `networksetup` needs admin rights and `sudo` refused to provide them.
    #[error(
        "`{cmd}` needs admin privileges and sudo refused ({message}); run `sudo ssollama apply`, or make this user an administrator"
    )]
    SudoRefused {
        /// The sudo command line.
        cmd: String,
        /// What sudo said.
        message: String,
    },
    /// A booted-out job did not go away in time.
    #[error("`{target}` was still loaded {seconds} s after `launchctl bootout`")]
    StillLoaded {
        /// The service target.
        target: String,
        /// The limit.
        seconds: u64,
    },
    /// Ollama did not answer in time after a (re)start.
    #[error("Ollama did not answer at {url} within {seconds} s ({last}){tail}")]
    NotReady {
        /// The URL polled.
        url: String,
        /// The limit.
        seconds: u64,
        /// The last error.
        last: String,
        /// The tail of the job's stderr log, formatted.
        tail: String,
    },
    /// Ollama answered after the (re)start, then stopped answering within the settle window.
    #[error(
        "Ollama at {url} answered, then stopped answering {millis} ms later, within the {seconds} s settle window ({last}){tail}"
    )]
    Unsettled {
        /// The URL polled.
        url: String,
        /// When it stopped answering, after it first answered.
        millis: u128,
        /// The settle window.
        seconds: u64,
        /// The error of the failed poll.
        last: String,
        /// The tail of the job's stderr log, formatted.
        tail: String,
    },
    /// A (re)load failed and the previous definition was put back and serves again.
    #[error(
        "{failure}; rolled back: the previous definition serves again ({detail}); the new plist did not work, so `ssollama apply` will try it again only after server.toml changes or the cause is fixed"
    )]
    RolledBack {
        /// Why the new definition failed.
        failure: Box<StepError>,
        /// What the rollback did.
        detail: String,
    },
    /// A (re)load failed and nothing serves: no previous definition, or its rollback failed.
    #[error("{failure}{rollback}; OLLAMA IS NOT RUNNING: {recover}")]
    NotServing {
        /// Why the new definition failed.
        failure: Box<StepError>,
        /// `; the rollback failed too: …`, or empty when there was nothing to roll back to.
        rollback: String,
        /// How to recover.
        recover: String,
    },
    /// A file operation failed.
    #[error(transparent)]
    Fs(FsError),
    /// Ollama's API failed.
    #[error(transparent)]
    Ollama(OllamaError),
    /// A warmed model is not in `/api/ps`.
    #[error("{model} was loaded but `/api/ps` does not list it")]
    NotWarm {
        /// The model.
        model: String,
    },
    /// `brew install ollama` succeeded, yet no `ollama` program is where Ollama lives.
    #[error(
        "`{cmd}` finished, but no `ollama` program is there: looked at {looked}; check `brew info ollama`, or set `service.program` in server.toml"
    )]
    NotInstalled {
        /// The install command line.
        cmd: String,
        /// Every path looked at.
        looked: String,
    },
    /// The warm models do not fit in memory together (`warm::evictions`).
    #[error("{0}")]
    WarmEvicted(String),
    /// A value in the plan is not usable (a hand-edited saved plan).
    #[error("{0}")]
    Invalid(String),
    /// Ctrl-C / SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

impl From<FsError> for StepError {
    fn from(error: FsError) -> Self {
        Self::Fs(error)
    }
}

impl From<ExecError> for StepError {
    fn from(error: ExecError) -> Self {
        Self::Exec(error)
    }
}

impl From<OllamaError> for StepError {
    fn from(error: OllamaError) -> Self {
        Self::Ollama(error)
    }
}

/// Trimmed lines joined by ` / `, bounded.
fn excerpt(text: &str) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    let mut out: String = joined.chars().take(300).collect();
    if joined.chars().count() > 300 {
        out.push('…');
    }
    out
}

fn failed(cmd: &Cmd, out: &Output) -> StepError {
    let status = out
        .status
        .map_or_else(|| "killed by a signal".to_owned(), |s| format!("exit {s}"));
    let text = excerpt(&format!("{}\n{}", out.stderr, out.stdout));
    StepError::Command {
        cmd: cmd.to_string(),
        message: if text.is_empty() {
            status
        } else {
            format!("{status}: {text}")
        },
    }
}

/// Runs a command with the observe settings' limit.
async fn run(settings: &Settings, cmd: &Cmd) -> Result<Output, StepError> {
    Ok(settings.observe.run(cmd).await?)
}

/// Sleeps, unless cancelled first.
async fn pause(cancel: &Cancel, duration: Duration) -> Result<(), StepError> {
    tokio::select! {
        () = tokio::time::sleep(duration) => Ok(()),
        () = cancel.cancelled() => Err(StepError::Interrupted),
    }
}

/// Carries out one operation; `Ok` carries a one-line detail for the journal.
pub(super) async fn execute(ctx: &Ctx<'_>, operation: &Operation) -> Result<String, StepError> {
    match operation {
        Operation::InstallOllama => install_ollama(ctx).await,
        Operation::SetManual {
            service,
            address,
            subnet_mask,
            router,
        } => {
            let cmd = networksetup::set_manual(service, *address, *subnet_mask, *router);
            run_admin(ctx.settings, &cmd).await
        }
        Operation::SetDnsServers { service, servers } => {
            let cmd = networksetup::set_dns_servers(service, servers);
            run_admin(ctx.settings, &cmd).await
        }
        Operation::SetDhcp { service } => {
            run_admin(ctx.settings, &networksetup::set_dhcp(service)).await
        }
        Operation::CreateLogDirs { dirs } => {
            for dir in dirs {
                fs::create_dir_all_owned(dir, dir_owner(ctx))?;
            }
            Ok(format!("created {} directories", dirs.len()))
        }
        Operation::WritePlist { path, contents } => write_plist(ctx, path, contents),
        Operation::LoadJob {
            domain,
            label,
            plist,
            loaded,
        } => load_job(ctx, &target(domain, label)?, plist, *loaded).await,
        Operation::KickstartJob { target: text } => {
            let target = parse_target(text)?;
            restart(ctx, &target)
                .await
                .map_err(|failure| not_serving(&target, failure, String::new()))
        }
        Operation::PullModel { name } => pull(ctx, name).await,
        Operation::RemoveModel { name } => remove_model(ctx, name).await,
        Operation::WarmModel { name, embedding } => warm_model(ctx, name, *embedding).await,
        Operation::BootoutJob { domain, label } => {
            let target = target(domain, label)?;
            bootout_and_wait(ctx.settings, ctx.cancel, &target).await?;
            Ok(format!("booted out {target}"))
        }
        Operation::RemovePlist { path } => {
            let (_, backup) = keep_backup(ctx, path)?;
            fs::remove_file(path)?;
            Ok(format!(
                "removed {} (a copy is kept as {})",
                path.display(),
                backup.display()
            ))
        }
        Operation::RemoveLogs { paths } => {
            for path in paths {
                fs::remove_regular_file(path)?;
            }
            Ok(format!("removed {} log file(s)", paths.len()))
        }
    }
}

/// The owner of the directories ssollama creates (`~/Library/LaunchAgents`, log directories):
/// the user behind `sudo` for an agent, else whoever runs ssollama.
fn dir_owner(ctx: &Ctx<'_>) -> Option<(u32, u32)> {
    home_owner(ctx.desired, ctx.settings.is_root, ctx.settings.observe.uid)
}
