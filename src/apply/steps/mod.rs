//! The step executors, one file per resource, each through the gateways (`sys::exec`,
//! `sys::fs`, `ollama::client`): [`program`] (`brew install`), [`network`] (`networksetup`),
//! [`plist`] (write, remove, backups), [`job`] (load, kickstart, bootout, the waits, rollback),
//! [`logs`], [`models`] (pull, remove, warm, and `ssollama warm`), [`conflicts`] (the
//! `--take-over` steps). This file holds what they share: the dispatch from an [`Operation`]
//! ([`execute`]), the step context ([`Ctx`]) and the error type ([`StepError`]).
//!
//! Waits are bounded and cancellable; retries are bounded. Sequencing lives in `run.rs`, not
//! here. A new resource is a new file here and its arms in [`execute`], whose match on
//! [`Operation`] is exhaustive.

mod conflicts;
mod job;
mod logs;
mod models;
mod network;
mod plist;
mod program;

use std::sync::Mutex;
use std::time::Duration;

use super::journal::StepStatus;
use super::{Cancel, Reporter, Settings, home_owner};
use crate::model::{Desired, Observed};
use crate::network::networksetup::NetworksetupError;
use crate::ollama::client::OllamaError;
use crate::plan::Operation;
use crate::sys::exec::{Cmd, ExecError, Output};
use crate::sys::fs::FsError;

pub(super) use conflicts::{bootout_homebrew, quit_ollama_app};
pub(super) use models::check_warm;
pub(crate) use models::warm;

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
    /// A warmed model is served with less context than declared (`warm::context_shortfall`).
    #[error("{0}")]
    ContextShort(String),
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

/// How many characters of a failed command's output a step's error quotes.
const STEP_EXCERPT_CHARS: usize = 300;

/// A failed command's output as a step's error quotes it (`text::excerpt`, bounded).
fn excerpt(text: &str) -> String {
    crate::text::excerpt(text, STEP_EXCERPT_CHARS)
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

/// An error and its sources, `: `-joined (an OS error says *why* a path could not be written).
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let line = inner.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = inner.source();
    }
    text
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

/// Carries out one operation; `Ok` carries a one-line detail for the journal. One arm per
/// operation, each handing it to its resource's file (the match is exhaustive: a new operation
/// does not compile until it has its step).
pub(super) async fn execute(ctx: &Ctx<'_>, operation: &Operation) -> Result<String, StepError> {
    match operation {
        Operation::InstallOllama => program::install_ollama(ctx).await,
        Operation::SetManual {
            service,
            address,
            subnet_mask,
            router,
        } => network::set_manual(ctx, service, *address, *subnet_mask, *router).await,
        Operation::SetDnsServers { service, servers } => {
            network::set_dns_servers(ctx, service, servers).await
        }
        Operation::SetDhcp { service } => network::set_dhcp(ctx, service).await,
        Operation::CreateLogDirs { dirs } => logs::create_dirs(ctx, dirs),
        Operation::RemoveLogs { paths } => logs::remove(paths),
        Operation::WritePlist { path, contents } => plist::write(ctx, path, contents),
        Operation::RemovePlist { path } => plist::remove(ctx, path),
        Operation::LoadJob {
            domain,
            label,
            plist,
            loaded,
        } => job::load(ctx, *domain, label, plist, *loaded).await,
        Operation::KickstartJob { target } => job::kickstart(ctx, target).await,
        Operation::BootoutJob { domain, label } => job::bootout(ctx, *domain, label).await,
        Operation::PullModel { name } => models::pull(ctx, name).await,
        Operation::RemoveModel { name } => models::remove(ctx, name).await,
        Operation::CreateModel {
            name,
            from,
            parameters,
            replace,
        } => models::create(ctx, name, from, parameters, *replace).await,
        Operation::WarmModel {
            name,
            embedding,
            context_length,
        } => models::warm_model(ctx, name, *embedding, *context_length).await,
    }
}

/// The owner of the directories ssollama creates (`~/Library/LaunchAgents`, log directories):
/// the user behind `sudo` for an agent, else whoever runs ssollama.
fn dir_owner(ctx: &Ctx<'_>) -> Option<(u32, u32)> {
    home_owner(
        ctx.desired,
        ctx.settings.machine().is_root,
        ctx.settings.machine().uid,
    )
}
