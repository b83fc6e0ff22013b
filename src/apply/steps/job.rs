//! The launchd job: load (bootout → enable → bootstrap, with rollback), kickstart, bootout, and
//! the bounded waits on launchd and on Ollama's answer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::logs::log_dirs;
use super::plist::plist_owner;
use super::{Ctx, StepError, dir_owner, excerpt, failed, pause, run};
use crate::apply::journal::StepStatus;
use crate::apply::{Cancel, Event, Settings};
use crate::launchd::cmd as launchctl;
use crate::launchd::cmd::{BootoutOutcome, BootstrapOutcome};
use crate::launchd::domain::{Domain, ServiceTarget};
use crate::model::desired::Label;
use crate::model::observed::JobStatus;
use crate::model::plist_rule::PLIST_MODE;
use crate::model::{Desired, Knowable};
use crate::sys::fs;

/// How many lines of the job's stderr log a readiness error quotes.
const LOG_TAIL_LINES: usize = 12;

/// `LoadJob`: loads the plist into `domain` as `label` ([`load_job`]).
pub(super) async fn load(
    ctx: &Ctx<'_>,
    domain: Domain,
    label: &Label,
    plist: &Path,
    loaded: bool,
) -> Result<String, StepError> {
    load_job(
        ctx,
        &ServiceTarget::new(domain, label.clone()),
        plist,
        loaded,
    )
    .await
}

/// `KickstartJob`: restarts the job ([`restart`]); when it does not serve again, the error says
/// so loudly.
pub(super) async fn kickstart(ctx: &Ctx<'_>, target: &ServiceTarget) -> Result<String, StepError> {
    restart(ctx, target)
        .await
        .map_err(|failure| not_serving(target, failure, String::new()))
}

/// `BootoutJob`: boots the job out and waits until launchd no longer knows it.
pub(super) async fn bootout(
    ctx: &Ctx<'_>,
    domain: Domain,
    label: &Label,
) -> Result<String, StepError> {
    let target = ServiceTarget::new(domain, label.clone());
    bootout_and_wait(ctx.settings, ctx.cancel, &target).await?;
    Ok(format!("booted out {target}"))
}

/// `launchctl bootout`, then poll `launchctl print` until launchd no longer knows the job
/// (bootout is asynchronous, docs/macos.md §3.3).
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
        fs::write_atomic(plist, &bytes, PLIST_MODE, plist_owner(ctx))?;
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
async fn wait_ready(ctx: &Ctx<'_>, cancel: &Cancel) -> Result<String, StepError> {
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
