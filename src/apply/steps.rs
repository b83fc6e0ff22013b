//! The step executors: one small function per [`Operation`], each through the gateways
//! (`sys::exec`, `sys::fs`, `ollama::client`). Waits are bounded and cancellable; retries are
//! bounded. Sequencing lives in the parent module, not here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::journal::StepStatus;
use super::{Cancel, Event, Reporter, Settings, home_owner};
use crate::launchd::cmd as launchctl;
use crate::launchd::cmd::{BootoutOutcome, BootstrapOutcome};
use crate::launchd::domain::{Domain, ServiceTarget};
use crate::model::desired::{Label, Mode};
use crate::model::observed::JobStatus;
use crate::model::{Desired, Knowable, Observed};
use crate::network::networksetup::{self, NetworksetupError};
use crate::ollama::client::OllamaError;
use crate::ollama::name::ModelName;
use crate::plan::Operation;
use crate::sys::exec::{self, Cmd, ExecError, Output};
use crate::sys::fs::{self, FsError};
use crate::sys::tools::Tool;

/// The error text of a step stopped by Ctrl-C / SIGTERM.
pub(super) const INTERRUPTED: &str = "interrupted";

/// How many lines of the job's stderr log a readiness error quotes.
const LOG_TAIL_LINES: usize = 12;

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
    pub(super) warmed: Mutex<Vec<super::warm::WarmSeen>>,
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

/// Where the previous plist is kept: outside the directory launchd reads (a file left in
/// `~/Library/LaunchAgents` is one more thing launchd and the user see there), in
/// `Library/Application Support/ssollama/backups/` beside it (`~/Library/…` for an agent,
/// `/Library/…` for a daemon), never ending in `.plist`.
pub(super) fn backup_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.push_str(".ssollama-backup");
    let library = path
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    library
        .join("Application Support")
        .join("ssollama")
        .join("backups")
        .join(name)
}

/// Copies the plist to [`backup_path`] (creating its directory, owned like the plist's).
fn keep_backup(ctx: &Ctx<'_>, path: &Path) -> Result<(bool, PathBuf), StepError> {
    let backup = backup_path(path);
    if fs::meta(path).is_none() {
        return Ok((false, backup));
    }
    if let Some(dir) = backup.parent() {
        fs::create_dir_all_owned(dir, dir_owner(ctx))?;
    }
    let kept = fs::backup(path, &backup, plist_owner(ctx))?;
    Ok((kept, backup))
}

/// `gui/501` + `com.ollama` → the service target.
fn target(domain: &str, label: &str) -> Result<ServiceTarget, StepError> {
    let label = Label::new(label).map_err(|e| StepError::Invalid(format!("label: {e}")))?;
    Ok(ServiceTarget::new(parse_domain(domain)?, label))
}

fn parse_domain(text: &str) -> Result<Domain, StepError> {
    if text == "system" {
        return Ok(Domain::System);
    }
    text.strip_prefix("gui/")
        .and_then(|uid| uid.parse().ok())
        .map(Domain::Gui)
        .ok_or_else(|| StepError::Invalid(format!("`{text}` is not a launchd domain")))
}

/// `gui/501/com.ollama` → the service target.
pub(super) fn parse_target(text: &str) -> Result<ServiceTarget, StepError> {
    if let Some(label) = text.strip_prefix("system/") {
        return target("system", label);
    }
    let mut parts = text.splitn(3, '/');
    let (Some(gui), Some(uid), Some(label)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StepError::Invalid(format!(
            "`{text}` is not a launchd service target"
        )));
    };
    target(&format!("{gui}/{uid}"), label)
}

async fn install_ollama(ctx: &Ctx<'_>) -> Result<String, StepError> {
    let Some(brew) = &ctx.observed.program.brew else {
        return Err(StepError::Invalid(
            "no Homebrew found to install Ollama: install Homebrew (https://brew.sh) or Ollama.app, or set `service.program`".to_owned(),
        ));
    };
    let settings = ctx.settings;
    // Homebrew refuses to run as root, and its `brew` is a user's script that must never run as
    // root at all: under sudo, install as the user behind it; as root without sudo (root's
    // cron), as the owner of `brew`.
    let user = match (settings.machine().is_root, settings.machine().sudo_uid) {
        (true, Some(uid)) if uid != 0 => Some(uid),
        (true, _) => fs::run_as_for(brew).map_err(StepError::Invalid)?,
        _ => None,
    };
    let cmd = match user {
        Some(uid) => {
            let mut args = Vec::new();
            if !settings.machine().interactive {
                args.push("-n".to_owned());
            }
            args.extend([
                "-u".to_owned(),
                format!("#{uid}"),
                brew.display().to_string(),
                "install".to_owned(),
                "ollama".to_owned(),
            ]);
            Cmd::new(Tool::Sudo, args)
        }
        _ => Cmd::new(Tool::Brew(brew.clone()), ["install", "ollama"]),
    };
    let out = exec::run(
        &cmd,
        settings.machine().tool_dir.as_deref(),
        settings.timing.brew_timeout,
    )
    .await?;
    if !out.success() {
        let mut error = failed(&cmd, &out);
        if settings.machine().is_root
            && let StepError::Command { message, .. } = &mut error
        {
            message.push_str(
                "; Homebrew does not run as root: run `ssollama apply` as your user, or `sudo -u <you> brew install ollama` first",
            );
        }
        return Err(error);
    }
    // Look again, Homebrew's own word (`brew --prefix ollama`) included. Nothing there: fail
    // now, saying where we looked, rather than install again in every round.
    let (found, looked) = crate::observe::find_program(
        &crate::observe::Scope::of(ctx.desired),
        &settings.observe,
        Some(brew),
    )
    .await;
    match found {
        Some(path) => Ok(format!("ran `{cmd}`; found {}", path.display())),
        None => Err(StepError::NotInstalled {
            cmd: cmd.to_string(),
            looked: looked
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Runs a `networksetup` change; on "requires admin privileges" (exit 14) runs it again through
/// `sudo` (`-n` without a terminal, so it never hangs on a password prompt).
async fn run_admin(settings: &Settings, cmd: &Cmd) -> Result<String, StepError> {
    let out = run(settings, cmd).await?;
    match networksetup::check(out.status, &out.stdout, &out.stderr) {
        Ok(()) => return Ok(format!("ran `{cmd}`")),
        Err(NetworksetupError::NeedsAdmin { .. }) => {}
        Err(source) => {
            return Err(StepError::Network {
                cmd: cmd.to_string(),
                source,
            });
        }
    }
    let sudo = cmd.clone().via_sudo(!settings.machine().interactive);
    tracing::info!(command = %sudo, "networksetup needs admin privileges; retrying through sudo");
    let out = run(settings, &sudo).await?;
    if out.status != Some(0) && out.stderr.contains("sudo:") {
        return Err(StepError::SudoRefused {
            cmd: sudo.to_string(),
            message: excerpt(&out.stderr),
        });
    }
    networksetup::check(out.status, &out.stdout, &out.stderr).map_err(|source| {
        StepError::Network {
            cmd: sudo.to_string(),
            source,
        }
    })?;
    Ok(format!("ran `{sudo}`"))
}

/// The owner a plist must have: agents belong to the user (only settable as root), daemons to
/// root:wheel (macos.md §4.1).
fn plist_owner(ctx: &Ctx<'_>) -> Option<(u32, u32)> {
    match ctx.desired.service.mode {
        Mode::Daemon { .. } => Some((0, 0)),
        Mode::Agent => dir_owner(ctx),
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

fn log_dirs(desired: &Desired) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [&desired.logs.stdout, &desired.logs.stderr]
        .into_iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.dedup();
    dirs
}

fn write_plist(ctx: &Ctx<'_>, path: &Path, contents: &str) -> Result<String, StepError> {
    let owner = dir_owner(ctx);
    if let Some(dir) = path.parent() {
        fs::create_dir_all_owned(dir, owner)?;
    }
    // launchd creates the log files, not their directories.
    for dir in log_dirs(ctx.desired) {
        fs::create_dir_all_owned(&dir, owner)?;
    }
    let previous = fs::read_optional_bytes(path)?;
    let (kept, backup) = keep_backup(ctx, path)?;
    fs::write_atomic(path, contents.as_bytes(), 0o644, plist_owner(ctx))?;
    if let Ok(mut slot) = ctx.previous_plist.lock() {
        *slot = previous;
    }
    Ok(if kept {
        format!(
            "wrote {} (the previous file is kept as {})",
            path.display(),
            backup.display()
        )
    } else {
        format!("wrote {}", path.display())
    })
}

/// `launchctl bootout`, then poll `launchctl print` until launchd no longer knows the job
/// (bootout is asynchronous, macos.md §3.3).
pub(super) async fn bootout_and_wait(
    settings: &Settings,
    cancel: &Cancel,
    target: &ServiceTarget,
) -> Result<(), StepError> {
    let cmd = launchctl::bootout(target);
    let out = run(settings, &cmd).await?;
    match launchctl::classify_bootout(out.status, &out.stdout, &out.stderr) {
        BootoutOutcome::NotLoaded => return Ok(()),
        BootoutOutcome::Ok | BootoutOutcome::InProgress => {}
        BootoutOutcome::Other { .. } => return Err(failed(&cmd, &out)),
    }
    let start = Instant::now();
    loop {
        let print = launchctl::print(target);
        let out = run(settings, &print).await?;
        if let Knowable::Known(JobStatus::NotLoaded) =
            launchctl::parse_print(target, out.status, &out.stdout, &out.stderr)
        {
            tracing::debug!(ms = start.elapsed().as_millis(), %target, "job is gone");
            return Ok(());
        }
        if start.elapsed() >= settings.timing.bootout_wait {
            return Err(StepError::StillLoaded {
                target: target.to_string(),
                seconds: settings.timing.bootout_wait.as_secs(),
            });
        }
        pause(cancel, settings.timing.poll).await?;
    }
}

/// `kickstart -k`, then wait until Ollama answers and keeps answering. Not cancellable: it is
/// bounded by the ready timeout and the settle window, and a signal must not leave the job half
/// restarted.
async fn restart(ctx: &Ctx<'_>, target: &ServiceTarget) -> Result<String, StepError> {
    let steady = Cancel::new();
    let cmd = launchctl::kickstart(target, true);
    let out = run(ctx.settings, &cmd).await?;
    if !out.success() {
        return Err(failed(&cmd, &out));
    }
    let version = wait_ready(ctx, &steady).await?;
    settle(ctx, &steady).await?;
    Ok(format!(
        "restarted {target}; Ollama {version} answers at {} and kept answering for {} s",
        ctx.settings.observe.client(&ctx.desired.listen).base_url(),
        ctx.settings.timing.settle.as_secs()
    ))
}

/// Loads the plist: bootout (when loaded) → wait until gone → enable → bootstrap (retrying EIO
/// 5) → wait until Ollama answers → settle. When that fails and this round replaced a plist of a
/// loaded job, the previous plist is put back and loaded ([`roll_back`]).
///
/// Nothing here is cancellable (Ctrl-C, SIGTERM, SIGHUP): between bootout and bootstrap the Mac
/// serves nothing, so the reload finishes or rolls back, within the bounded waits, and the run
/// stops after the step.
async fn load_job(
    ctx: &Ctx<'_>,
    target: &ServiceTarget,
    plist: &Path,
    loaded: bool,
) -> Result<String, StepError> {
    match reload(ctx, target, plist, loaded).await {
        Ok(detail) => Ok(detail),
        Err(failure) => Err(roll_back(ctx, target, plist, loaded, failure).await),
    }
}

/// One load of the plist as it is on disk now (see [`load_job`]).
async fn reload(
    ctx: &Ctx<'_>,
    target: &ServiceTarget,
    plist: &Path,
    loaded: bool,
) -> Result<String, StepError> {
    let settings = ctx.settings;
    let steady = Cancel::new();
    if loaded {
        bootout_and_wait(settings, &steady, target).await?;
    }
    for dir in log_dirs(ctx.desired) {
        fs::create_dir_all_owned(&dir, dir_owner(ctx))?;
    }
    // Clears a persistent `disable` override, which would make bootstrap fail with 119.
    let enable = launchctl::enable(target);
    let out = run(settings, &enable).await?;
    if !out.success() {
        return Err(failed(&enable, &out));
    }
    let attempts = bootstrap(ctx, &steady, target, plist).await?;
    let version = wait_ready(ctx, &steady).await?;
    settle(ctx, &steady).await?;
    let tries = if attempts == 1 {
        String::new()
    } else {
        format!(" (after {attempts} attempts)")
    };
    Ok(format!(
        "loaded {target}{tries}; Ollama {version} answers at {} and kept answering for {} s",
        settings.observe.client(&ctx.desired.listen).base_url(),
        settings.timing.settle.as_secs()
    ))
}

/// After a failed load: put the previous plist back, load it, wait until it answers. The
/// returned error says both what failed and whether the previous definition serves again; the
/// rollback itself is journaled (`rollback launchd.job`).
async fn roll_back(
    ctx: &Ctx<'_>,
    target: &ServiceTarget,
    plist: &Path,
    loaded: bool,
    failure: StepError,
) -> StepError {
    let previous = ctx.previous_plist.lock().ok().and_then(|mut p| p.take());
    let Some(bytes) = previous.filter(|_| loaded) else {
        return not_serving(target, failure, String::new());
    };
    ctx.reporter.event(&Event::Note {
        message: format!(
            "the new definition of {target} failed; rolling back to the previous plist"
        ),
    });
    // The previous definition serves at its own address and logs to its own file: wait on those
    // (a failed change of `listen.host` or `listen.port` rolls back to the old address).
    let served = previous_desired(ctx.desired, &bytes);
    let previous_ctx = Ctx::new(
        &served,
        ctx.observed,
        ctx.settings,
        ctx.reporter,
        ctx.cancel,
    );
    let outcome = async {
        fs::write_atomic(plist, &bytes, 0o644, plist_owner(ctx))?;
        reload(&previous_ctx, target, plist, true).await
    }
    .await;
    let record = |status| {
        if let Ok(mut list) = ctx.rollbacks.lock() {
            list.push(status);
        }
    };
    match outcome {
        Ok(detail) => {
            let detail = format!("put the previous {} back; {detail}", plist.display());
            record(StepStatus::Done {
                detail: detail.clone(),
            });
            StepError::RolledBack {
                failure: Box::new(failure),
                detail,
            }
        }
        Err(error) => {
            let error = super::error_chain(&error);
            record(StepStatus::Failed {
                error: error.clone(),
            });
            not_serving(
                target,
                failure,
                format!("; the rollback to the previous plist failed too: {error}"),
            )
        }
    }
}

/// `desired` with the address and logs of a previous plist (`bytes`, XML or binary): its
/// `OLLAMA_HOST` (absent: Ollama's default), `StandardOutPath` and `StandardErrorPath`. What
/// cannot be read stays as declared.
fn previous_desired(desired: &Desired, bytes: &[u8]) -> Desired {
    let mut served = desired.clone();
    let Ok(value) = plist::Value::from_reader(std::io::Cursor::new(bytes)) else {
        return served;
    };
    let Some(dict) = value.as_dictionary() else {
        return served;
    };
    let env = crate::launchd::plist::environment_variables(dict);
    let host = env.get("OLLAMA_HOST").map_or("", String::as_str);
    if let Ok(listen) = crate::ollama::env::parse_host(host) {
        served.listen = listen;
    }
    let path = |key: &str| {
        dict.get(key)
            .and_then(plist::Value::as_string)
            .map(PathBuf::from)
    };
    if let Some(stdout) = path("StandardOutPath") {
        served.logs.stdout = stdout;
    }
    if let Some(stderr) = path("StandardErrorPath") {
        served.logs.stderr = stderr;
    }
    served
}

/// The loud error of a (re)load after which nothing serves, with how to recover.
fn not_serving(target: &ServiceTarget, failure: StepError, rollback: String) -> StepError {
    StepError::NotServing {
        failure: Box::new(failure),
        rollback,
        recover: format!(
            "fix the cause above (`launchctl print {target}` and the job's stderr log show why it does not serve), then run `ssollama apply` again"
        ),
    }
}

/// After Ollama first answered: it must keep answering for the settle window
/// (`Timing::settle`), polled every `Timing::poll`.
async fn settle(ctx: &Ctx<'_>, cancel: &Cancel) -> Result<(), StepError> {
    let settings = ctx.settings;
    let client = settings.observe.client(&ctx.desired.listen);
    let per_call = settings.observe.http_timeout.min(Duration::from_secs(2));
    let start = Instant::now();
    while start.elapsed() < settings.timing.settle {
        pause(cancel, settings.timing.poll).await?;
        if let Err(error) = client.version(per_call).await {
            return Err(StepError::Unsettled {
                url: client.base_url().to_owned(),
                millis: start.elapsed().as_millis(),
                seconds: settings.timing.settle.as_secs(),
                last: error.to_string(),
                tail: log_tail(&ctx.desired.logs.stderr),
            });
        }
    }
    Ok(())
}

/// `launchctl bootstrap`, retried with a doubling backoff while the failure is transient.
async fn bootstrap(
    ctx: &Ctx<'_>,
    cancel: &Cancel,
    target: &ServiceTarget,
    plist: &Path,
) -> Result<u32, StepError> {
    let timing = ctx.settings.timing;
    let cmd = launchctl::bootstrap(target.domain, plist);
    let mut backoff = timing.bootstrap_backoff;
    let attempts = timing.bootstrap_attempts.max(1);
    for attempt in 1..=attempts {
        let out = run(ctx.settings, &cmd).await?;
        let outcome = launchctl::classify_bootstrap(out.status, &out.stderr);
        match outcome {
            BootstrapOutcome::Ok => return Ok(attempt),
            retry if retry.is_retryable() && attempt < attempts => {
                tracing::info!(attempt, %cmd, "bootstrap failed transiently; retrying");
                ctx.reporter.event(&Event::Note {
                    message: format!(
                        "`{cmd}` failed ({}); retrying in {} ms",
                        excerpt(&out.stderr),
                        backoff.as_millis()
                    ),
                });
                pause(cancel, backoff).await?;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            BootstrapOutcome::Disabled { .. } if attempt < attempts => {
                let enable = launchctl::enable(target);
                run(ctx.settings, &enable).await?;
            }
            _ => {
                let mut error = failed(&cmd, &out);
                if let StepError::Command { message, .. } = &mut error
                    && attempt > 1
                {
                    let _ = write!(message, " (gave up after {attempt} attempts)");
                }
                return Err(error);
            }
        }
    }
    Err(StepError::Invalid(format!(
        "`{cmd}` made no attempt (bootstrap_attempts = 0)"
    )))
}

/// Polls `/api/version` at the bind address until it answers; on timeout the error quotes the
/// tail of the job's stderr log.
pub(super) async fn wait_ready(ctx: &Ctx<'_>, cancel: &Cancel) -> Result<String, StepError> {
    let settings = ctx.settings;
    let client = settings.observe.client(&ctx.desired.listen);
    let per_call = settings.observe.http_timeout.min(Duration::from_secs(2));
    let start = Instant::now();
    loop {
        let last = match client.version(per_call).await {
            Ok(version) => return Ok(version),
            Err(error) => error,
        };
        if start.elapsed() >= settings.timing.ready_wait {
            return Err(StepError::NotReady {
                url: client.base_url().to_owned(),
                seconds: settings.timing.ready_wait.as_secs(),
                last: last.to_string(),
                tail: log_tail(&ctx.desired.logs.stderr),
            });
        }
        pause(cancel, settings.timing.poll).await?;
    }
}

/// The last lines of a log, formatted for an error message.
fn log_tail(path: &Path) -> String {
    let text = fs::tail(path, 8 * 1024).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return format!("; `{}` is empty or missing", path.display());
    }
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    let mut out = format!("; the last lines of `{}`:", path.display());
    for line in &lines[start..] {
        out.push_str("\n    | ");
        out.push_str(line);
    }
    out
}

async fn pull(ctx: &Ctx<'_>, name: &ModelName) -> Result<String, StepError> {
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let pulling = super::warm::pull(&client, name, ctx.reporter);
    tokio::select! {
        result = pulling => result?,
        () = ctx.cancel.cancelled() => return Err(StepError::Interrupted),
    }
    Ok(format!("pulled {}", name.display()))
}

/// Unloads, then deletes: `DELETE /api/delete` removes the files only, and a loaded model
/// would stay in memory (`ollama rm` unloads first too).
async fn remove_model(ctx: &Ctx<'_>, name: &str) -> Result<String, StepError> {
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let timeout = ctx.settings.observe.http_timeout;
    let unloaded = client.unload(name, timeout).await?;
    client.delete(name, timeout).await?;
    Ok(if unloaded {
        format!("removed {name} (unloaded first)")
    } else {
        format!("removed {name}")
    })
}

async fn warm_model(ctx: &Ctx<'_>, name: &ModelName, embedding: bool) -> Result<String, StepError> {
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let start = Instant::now();
    // keep_alive -1: stay loaded until the server stops (a number; the string "-1" is a 400).
    let loading = super::warm::load(&client, name, embedding);
    tokio::select! {
        result = loading => result?,
        () = ctx.cancel.cancelled() => return Err(StepError::Interrupted),
    }
    let took = start.elapsed();
    let loaded = client.ps(ctx.settings.observe.http_timeout).await?;
    let listed = loaded
        .iter()
        .any(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name));
    ctx.warmed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(super::warm::WarmSeen {
            model: name.clone(),
            loaded,
        });
    if !listed {
        return Err(StepError::NotWarm {
            model: name.display(),
        });
    }
    Ok(format!(
        "loaded {} in {:.1} s (keep_alive forever)",
        name.display(),
        took.as_secs_f64()
    ))
}

/// The joint check after the warm steps of a round: every `warm` model of server.toml must still
/// be in memory (`warm::evictions` says what evicted what).
pub(super) async fn check_warm(ctx: &Ctx<'_>) -> Result<String, StepError> {
    let seen = std::mem::take(
        &mut *ctx
            .warmed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let warm: Vec<ModelName> = ctx
        .desired
        .models
        .iter()
        .filter(|m| m.warm && !m.name.is_cloud())
        .map(|m| m.name.clone())
        .collect();
    let before = match &ctx.observed.ollama.server {
        crate::model::observed::ServerStatus::Up {
            loaded: Knowable::Known(list),
            ..
        } => list.clone(),
        _ => Vec::new(),
    };
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let now = client.ps(ctx.settings.observe.http_timeout).await?;
    match super::warm::evictions(&warm, &before, &seen, &now) {
        Some(message) => Err(StepError::WarmEvicted(message)),
        None => Ok(format!("{} warm model(s) in memory together", warm.len())),
    }
}

/// `osascript -e 'quit app "Ollama"'` (`--take-over`).
pub(super) async fn quit_ollama_app(settings: &Settings) -> Result<String, StepError> {
    let cmd = Cmd::new(Tool::Osascript, ["-e", "quit app \"Ollama\""]);
    let out = run(settings, &cmd).await?;
    if !out.success() {
        return Err(failed(&cmd, &out));
    }
    Ok("quit Ollama.app (remove it from System Settings → General → Login Items too, or it starts again at the next login)".to_owned())
}

/// Boots out Homebrew's `homebrew.mxcl.ollama` (`--take-over`).
pub(super) async fn bootout_homebrew(
    settings: &Settings,
    cancel: &Cancel,
    target: &str,
) -> Result<String, StepError> {
    let target = parse_target(target)?;
    bootout_and_wait(settings, cancel, &target).await?;
    // Disabled too, or its RunAtLoad brings it back at the next login and the two fight for the
    // port again (`brew services start ollama` re-enables it, as it always runs `enable`).
    let cmd = launchctl::disable(&target);
    let out = run(settings, &cmd).await?;
    if !out.success() {
        return Err(failed(&cmd, &out));
    }
    Ok(format!(
        "booted out and disabled {target} (`brew services start ollama` undoes it)"
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{backup_path, parse_target};

    #[test]
    fn the_backup_is_kept_outside_the_launchd_directory_and_does_not_end_in_plist() {
        let backup = backup_path(Path::new("/Users/t/Library/LaunchAgents/com.ollama.plist"));
        assert_eq!(
            backup,
            Path::new(
                "/Users/t/Library/Application Support/ssollama/backups/com.ollama.plist.ssollama-backup"
            )
        );
        assert!(!backup.to_string_lossy().ends_with(".plist"));
        assert_eq!(
            backup_path(Path::new("/Library/LaunchDaemons/com.ollama.plist")),
            Path::new(
                "/Library/Application Support/ssollama/backups/com.ollama.plist.ssollama-backup"
            )
        );
    }

    #[test]
    fn service_targets_parse_back() {
        assert_eq!(
            parse_target("gui/501/com.ollama").unwrap().to_string(),
            "gui/501/com.ollama"
        );
        assert_eq!(
            parse_target("system/com.ollama").unwrap().to_string(),
            "system/com.ollama"
        );
        assert!(parse_target("gui/x/com.ollama").is_err());
        assert!(parse_target("nonsense").is_err());
    }
}
