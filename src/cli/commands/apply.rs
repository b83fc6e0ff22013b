//! `ssollama apply [PLANFILE]`: show the plan, confirm, converge, print the journal and the final
//! state. Also the pieces `destroy` and `warm` share: the lock, the confirmation, the signal
//! watcher, the apply settings and the journal summary.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use miette::{IntoDiagnostic, Report, WrapErr, miette};

use super::super::args::ApplyArgs;
use super::super::progress::{Mode, Progress};
use super::super::{Context, ExitStatus};
use super::{load_config, runtime, settings};
use crate::apply::journal::{StepStatus, tally};
use crate::apply::{self, Cancel, Outcome, Report as ApplyReport, Timing};
use crate::model::observed::{JobStatus, ServerStatus};
use crate::model::{Desired, Knowable, Observed};
use crate::observe;
use crate::plan::{self, Change, Plan};
use crate::render::{self, Style};
use crate::sys::fs::{self, Lock, LockError};

pub(in crate::cli) use super::super::signals::Guard;

/// The locks of a run, held while the value lives.
#[derive(Debug)]
pub(in crate::cli) struct Locks {
    _mac: Option<Lock>,
    _config: Option<Lock>,
}

/// Takes the Mac-wide lock (one per Mac, whatever the config and the user: two runs never
/// interleave), then the per-user (or, for daemons, system-wide) lock of the config, each
/// waiting up to `wait`. `strict`: a lock file that cannot be opened is an error (apply);
/// otherwise a warning (check, as a user, of a daemon's lock).
pub(in crate::cli) fn lock(
    ctx: &Context,
    desired: &Desired,
    strict: bool,
    wait: Duration,
) -> Result<Locks, Report> {
    let settings = settings(ctx)?;
    // An agent applied as root for a user writes under HOME: it must be that user's.
    if let (Some(uid), false, true) = (
        settings.machine.sudo_uid.filter(|uid| *uid != 0),
        is_daemon(desired),
        settings.machine.is_root,
    ) && let Some(problem) = apply::foreign_home(
        &settings.machine.home,
        fs::meta(&settings.machine.home).map(|m| m.uid),
        uid,
    ) {
        return Err(miette!(
            code = "ssollama::apply::foreign_home",
            help = "run `sudo ssollama …` without `-H` (macOS sudo keeps your HOME), or set `HOME=/Users/<you>`; nothing was changed",
            "refusing to work on the user's agent: {problem}"
        ));
    }
    let take = |path: &std::path::Path, owner, scope| match Lock::acquire(path, owner, scope, wait)
    {
        Ok(lock) => Ok(Some(lock)),
        Err(refused @ (LockError::Held { .. } | LockError::Unsafe(_))) => Err(Report::new(refused)),
        Err(error) if strict => Err(Report::new(error)),
        Err(error) => {
            tracing::warn!(%error, "working without the lock");
            Ok(None)
        }
    };
    // First the Mac's (root's, or whoever made it: everyone may write it), always in this order.
    let mac = take(
        &apply::mac_lock_path(settings.machine.tool_dir.as_deref()),
        None,
        fs::LockScope::MacWide,
    )?;
    let path = apply::lock_path(desired, &settings.machine.home);
    // Under `sudo`, the lock of an agent is the user's: a later run as the user must open it.
    let owner = apply::home_owner(desired, settings.machine.is_root, settings.machine.uid);
    // An agent's lock directory is ssollama's own: locked too, so deleting the file lets no one in.
    let scope = if is_daemon(desired) {
        fs::LockScope::File
    } else {
        fs::LockScope::Dir
    };
    let config = take(&path, owner, scope)?;
    Ok(Locks {
        _mac: mac,
        _config: config,
    })
}

/// [`apply::preflight`] of this run: under `sudo` (as root, `SUDO_UID` not 0) with the user's
/// `HOME`, directories looked up on disk.
pub(in crate::cli) fn preflight(
    desired: &Desired,
    plan: &Plan,
    settings: &apply::Settings,
) -> Result<(), apply::PreflightError> {
    let machine = settings.machine();
    let sudo_home = machine
        .sudo_uid
        .filter(|uid| *uid != 0)
        .map(|_| machine.home.as_path());
    apply::preflight(desired, plan, machine.is_root, sudo_home, &fs::is_dir)
}

/// Whether the job is a launch daemon (its lock and plist belong to root).
pub(in crate::cli) fn is_daemon(desired: &Desired) -> bool {
    matches!(
        desired.service.mode,
        crate::model::desired::Mode::Daemon { .. }
    )
}

/// Asks for confirmation on a terminal (`interactive`: the machine context's answer for
/// stdin); without one, refuses unless `yes`. A refusal prints
/// `<verb> cancelled: nothing was changed`.
pub(in crate::cli) fn confirm(
    ctx: &Context,
    interactive: bool,
    yes: bool,
    verb: &str,
) -> Result<bool, Report> {
    if yes {
        return Ok(true);
    }
    if !interactive {
        return Err(miette!(
            code = "ssollama::apply::no_tty",
            help = format!("review the plan above, then run `ssollama {verb} --yes`"),
            "refusing to {verb} without confirmation: stdin is not a terminal"
        ));
    }
    let question = if verb == "destroy" {
        "Do you really want to destroy what is listed above? It cannot be undone (a copy of the plist is kept)."
            .to_owned()
    } else {
        format!("Do you want to {verb} these changes?")
    };
    ctx.printer
        .err(&format!("\n{question} Only 'yes' is accepted: "));
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .into_diagnostic()
        .wrap_err("could not read the answer")?;
    let yes = answer.trim() == "yes";
    if !yes {
        ctx.printer
            .err(&format!("{verb} cancelled: nothing was changed\n"));
    }
    Ok(yes)
}

/// Sets `cancel` on Ctrl-C (SIGINT), SIGTERM or SIGHUP; must be called inside the runtime. The run
/// stops after the current step.
pub(in crate::cli) fn watch_signals(
    ctx: &Context,
    cancel: &Cancel,
) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).ok()?;
    let mut terminate = signal(SignalKind::terminate()).ok()?;
    let mut hangup = signal(SignalKind::hangup()).ok()?;
    let cancel = cancel.clone();
    let printer = ctx.printer;
    Some(tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
        }
        printer.err("\ninterrupted: stopping after the current step\n");
        cancel.cancel();
    }))
}

/// Apply settings for this run.
pub(in crate::cli) fn apply_settings(
    ctx: &Context,
    take_over: bool,
    max_rounds: usize,
    timing: Timing,
) -> Result<apply::Settings, Report> {
    Ok(apply::Settings {
        observe: settings(ctx)?,
        take_over,
        max_rounds,
        strict_unknowns: true,
        timing,
    })
}

/// Reads a saved plan (`plan --out`): its fingerprint and changes.
fn read_saved(path: &std::path::Path) -> Result<(String, Vec<Change>), Report> {
    let text = fs::read_text(path)?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .into_diagnostic()
        .wrap_err_with(|| {
            format!(
                "`{}` is not a plan saved by `ssollama plan --out`",
                path.display()
            )
        })?;
    let fingerprint = json["fingerprint"]
        .as_str()
        .ok_or_else(|| miette!("`{}` has no `fingerprint`", path.display()))?
        .to_owned();
    let changes: Vec<Change> = serde_json::from_value(json["changes"].clone())
        .into_diagnostic()
        .wrap_err_with(|| format!("`{}` has unreadable `changes`", path.display()))?;
    Ok((fingerprint, changes))
}

/// Names the phase of a run for an interruption's message (when a guard is installed).
pub(in crate::cli) fn set_phase(guard: Option<&Guard>, name: &'static str) {
    if let Some(guard) = guard {
        guard.phase(name);
    }
}

/// The start of a run that may change the Mac (`apply`, `destroy`): take the lock (waiting up to
/// `wait`), then observe once.
pub(in crate::cli) fn lock_and_observe(
    ctx: &Context,
    guard: Option<&Guard>,
    desired: &Desired,
    settings: &apply::Settings,
    wait: Duration,
) -> Result<(Locks, tokio::runtime::Runtime, Observed), Report> {
    set_phase(guard, "waiting for the lock");
    // A user cannot open a daemon's lock in /var/run: the root check says why, clearly.
    let lock = lock(
        ctx,
        desired,
        settings.machine().is_root || !is_daemon(desired),
        wait,
    )?;
    let rt = runtime()?;
    set_phase(guard, "observing");
    let observed = observe_now(&rt, desired, &settings.observe);
    set_phase(guard, "planning");
    Ok((lock, rt, observed))
}

/// Observes the Mac once (inside `runtime`).
pub(in crate::cli) fn observe_now(
    rt: &tokio::runtime::Runtime,
    desired: &Desired,
    settings: &observe::Settings,
) -> Observed {
    rt.block_on(observe::observe(&observe::Scope::of(desired), settings))
        .0
}

/// `ssollama apply`.
pub(in crate::cli) fn apply(ctx: &Context, args: &ApplyArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let guard = Guard::install(ctx.printer);
    let phase = |name| set_phase(guard.as_ref(), name);
    let timing = Timing {
        ready_wait: Duration::from_secs(args.ready_timeout),
        bootout_wait: Duration::from_secs(args.bootout_timeout),
        settle: Duration::from_secs(args.settle),
        ..Timing::default()
    };
    let settings = apply_settings(ctx, args.take_over, args.max_rounds.max(1), timing)?;
    let (_lock, rt, observed) =
        lock_and_observe(ctx, guard.as_ref(), &desired, &settings, args.lock_timeout)?;
    let plan = plan::plan(&desired, &observed);
    let saved = args.plan_file.is_some();
    if let Some(file) = &args.plan_file {
        let (fingerprint, changes) = read_saved(file)?;
        if fingerprint != plan::fingerprint(&observed) || changes != plan.changes {
            return Err(miette!(
                code = "ssollama::apply::stale_plan",
                help = "this Mac (or server.toml) changed since the plan was made: run `ssollama plan --out FILE` again and review it",
                "saved plan is stale: `{}` was made from another observation",
                file.display()
            ));
        }
    }
    preflight(&desired, &plan, &settings)?;
    let progress = progress(ctx, args.json);
    show_plan(ctx, &progress, &plan, &observed);
    if plan.is_empty() && plan.unknowns.is_empty() {
        return Ok(ExitStatus::Success);
    }
    let take_over_unblocks = args.take_over && apply::only_take_over_blockers(&plan, &observed);
    if !plan.blockers.is_empty() && !take_over_unblocks {
        return Err(miette!(
            code = "ssollama::apply::blocked",
            help = "fix what is listed under `Blocked:` above; `--take-over` quits Ollama.app and boots out Homebrew's job (never anything else)",
            "apply is blocked: nothing was changed"
        ));
    }
    let touches = !plan.changes.is_empty() || !plan.blockers.is_empty();
    phase("waiting for the confirmation");
    if touches && !saved && !confirm(ctx, settings.machine().interactive, args.yes, "apply")? {
        return Ok(ExitStatus::Failure);
    }
    converge_and_finish(
        ctx,
        guard.as_ref(),
        &rt,
        &desired,
        (observed, plan),
        &plan::plan,
        &settings,
        &progress,
        &Wording {
            verb: "Apply",
            outcome: "This Mac matches server.toml.".to_owned(),
            next: Some(
                "Next: `ssollama verify` checks the server the way Aider and Claude Code use it.",
            ),
        },
    )
}

/// How a run's end is worded: `Apply complete: … This Mac matches server.toml.` and what to run
/// next, or destroy's own account of what is left.
#[derive(Debug, Clone)]
pub(in crate::cli) struct Wording {
    /// `Apply`, `Destroy`.
    pub verb: &'static str,
    /// The sentence after a successful run's counts.
    pub outcome: String,
    /// The line after the final state of a successful run, if any.
    pub next: Option<&'static str>,
}

/// Converges (stopping after the current step on SIGINT, SIGTERM or SIGHUP, through `guard`
/// when the caller installed one), then prints the summary
/// and the final state ([`finish`]): the confirmed part of `apply` and `destroy`.
#[expect(
    clippy::too_many_arguments,
    reason = "the pieces of one run, each owned by the caller"
)]
pub(in crate::cli) fn converge_and_finish(
    ctx: &Context,
    guard: Option<&Guard>,
    rt: &tokio::runtime::Runtime,
    desired: &Desired,
    first: (Observed, Plan),
    planner: apply::Planner<'_>,
    settings: &apply::Settings,
    progress: &Progress,
    wording: &Wording,
) -> Result<ExitStatus, Report> {
    let (cancel, own) = match guard {
        Some(guard) => (guard.converging().clone(), false),
        None => (Cancel::new(), true),
    };
    let mut report = rt.block_on(async {
        let watcher = if own {
            watch_signals(ctx, &cancel)
        } else {
            None
        };
        let report = apply::converge(desired, first, planner, settings, progress, &cancel).await;
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        report
    });
    if !report.succeeded() {
        // A failed round is not observed again by the executor: the final state must be.
        report.last_observed = Some(observe_now(rt, desired, &settings.observe));
    }
    finish(ctx, progress, &report, wording)
}

/// The progress reporter of `apply`, `destroy` and `warm`: JSON lines with `--json`, else text
/// (live on a terminal).
pub(in crate::cli) fn progress(ctx: &Context, json: bool) -> Progress {
    Progress::new(
        ctx.printer,
        if json { Mode::Json } else { Mode::Text },
        std::io::stderr().is_terminal(),
        ctx.env.home.clone(),
    )
}

/// Prints the first plan (text, or a `plan` JSON line).
pub(in crate::cli) fn show_plan(
    ctx: &Context,
    progress: &Progress,
    plan: &Plan,
    observed: &Observed,
) {
    if progress.is_json() {
        let mut json = render::json::plan_json(plan, &plan::fingerprint(observed));
        json["event"] = serde_json::Value::from("plan");
        progress.json_line(&json);
    } else {
        ctx.printer.extra(&render::text::plan_text(
            plan,
            Style {
                color: ctx.printer.color,
            },
        ));
    }
}

/// Prints the summary and the final state; the exit status (1 unless converged without failure).
pub(in crate::cli) fn finish(
    ctx: &Context,
    progress: &Progress,
    report: &ApplyReport,
    wording: &Wording,
) -> Result<ExitStatus, Report> {
    let verb = wording.verb;
    let (done, failed, skipped) = tally(&report.steps);
    let rounds = report.rounds;
    if progress.is_json() {
        let mut json = serde_json::to_value(&report.outcome).unwrap_or_default();
        json["event"] = serde_json::Value::from("summary");
        json["done"] = done.into();
        json["failed"] = failed.into();
        json["skipped"] = skipped.into();
        json["rounds"] = rounds.into();
        json["success"] = report.succeeded().into();
        progress.json_line(&json);
    }
    let counts = format!("{done} done, {failed} failed, {skipped} skipped");
    let text = &ctx.printer;
    let text_mode = !progress.is_json() && !text.quiet;
    if report.succeeded() {
        if text_mode {
            text.out(&format!(
                "\n{verb} complete: {counts} in {rounds} round(s). {}\n",
                wording.outcome
            ));
            if let Some(observed) = &report.last_observed {
                text.out(&final_state(observed));
            }
            if let Some(next) = wording.next {
                text.out(&format!("\n{next}\n"));
            }
        }
        return Ok(ExitStatus::Success);
    }
    if text_mode {
        let headline = match &report.outcome {
            Outcome::NotConverged { .. } => {
                format!("{verb} did not converge: {counts} in {rounds} round(s).")
            }
            Outcome::Interrupted => format!("{verb} interrupted: {counts}."),
            _ => format!("{verb} failed: {counts} in {rounds} round(s)."),
        };
        text.out(&format!("\n{headline}\n"));
        // What the Mac looks like now, whatever went wrong: the next step starts from there.
        if let Some(observed) = &report.last_observed {
            text.out(&final_state(observed));
        }
    }
    if let Some(observed) = &report.last_observed
        && let ServerStatus::Down { .. } = &observed.ollama.server
        && verb == "Apply"
    {
        text.err(&format!(
            "\nOLLAMA IS NOT RUNNING at {}: Aider and Claude Code cannot use this server until a rerun succeeds\n",
            observed.ollama.url
        ));
    }
    let first_failure = report.steps.iter().find_map(|s| match &s.status {
        StepStatus::Failed { error } => Some(format!(
            "{} {}: {}",
            s.action,
            s.resource,
            progress.shorten(error)
        )),
        _ => None,
    });
    Err(match &report.outcome {
        Outcome::Interrupted => miette!(
            code = "ssollama::apply::interrupted",
            help = "run it again to finish; every completed step is kept and files are written atomically",
            "interrupted after {done} step(s)"
        ),
        Outcome::Blocked { blockers } => {
            let list = blockers
                .iter()
                .map(|b| format!("{}: {} (fix: {})", b.resource, b.problem, b.fix))
                .collect::<Vec<_>>()
                .join("; ");
            miette!(
                code = "ssollama::apply::blocked",
                "{verb} is blocked: {list}"
            )
        }
        Outcome::NotConverged { remaining } => {
            // Name what keeps coming back, and why (the last plan's reasons).
            let why = if report.last_plan.changes.is_empty() {
                remaining
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                report
                    .last_plan
                    .changes
                    .iter()
                    .map(|c| format!("{} {} ({})", c.action.name(), c.resource, c.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            miette!(
                code = "ssollama::apply::not_converged",
                help = "something on this Mac undoes these changes after every round (another tool, a login item, a profile): find it, or run `ssollama plan` to see the difference",
                "{verb} did not converge: after {rounds} round(s) still planned: {why}"
            )
        }
        Outcome::Unresolved { unknowns } => miette!(
            code = "ssollama::apply::unresolved",
            help = "nothing is left to change, but ssollama cannot confirm that this Mac matches server.toml",
            "part of this Mac could not be observed: {}",
            unknowns.join("; ")
        ),
        Outcome::StepsFailed | Outcome::Converged => miette!(
            code = "ssollama::apply::step_failed",
            help = "fix the cause and run it again: completed steps are kept, and a rerun only does what is left",
            "step failed: {}",
            first_failure.unwrap_or_else(|| "see the journal above".to_owned())
        ),
    })
}

/// A few lines about the Mac as the run left it.
fn final_state(observed: &Observed) -> String {
    let mut out = String::from("Final state:\n");
    match &observed.job {
        Knowable::Known(JobStatus::Loaded(job)) => {
            let _ = writeln!(
                out,
                "  launchd.job: {} (pid {})",
                job.state.as_deref().unwrap_or("loaded"),
                job.pid.map_or_else(|| "-".to_owned(), |p| p.to_string())
            );
        }
        Knowable::Known(JobStatus::NotLoaded) => out.push_str("  launchd.job: not loaded\n"),
        Knowable::Unknown { reason } => {
            let _ = writeln!(out, "  launchd.job: unknown ({reason})");
        }
    }
    if let Knowable::Known(version) = &observed.program.version {
        let _ = writeln!(out, "  ollama.program: {version}");
    }
    match &observed.ollama.server {
        ServerStatus::Up {
            version,
            models,
            loaded,
            ..
        } => {
            let _ = writeln!(out, "  ollama: {version} at {}", observed.ollama.url);
            // Sorted: Ollama lists the most recently modified first, which depends on which of
            // the concurrent pulls finished last.
            if let Knowable::Known(models) = models {
                let mut names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
                names.sort_unstable();
                let _ = writeln!(out, "  models: {}", list(&names));
            }
            if let Knowable::Known(loaded) = loaded {
                let mut names: Vec<&str> = loaded.iter().map(|m| m.name.as_str()).collect();
                names.sort_unstable();
                let _ = writeln!(out, "  in memory: {}", list(&names));
            }
        }
        ServerStatus::Down { reason } => {
            let _ = writeln!(
                out,
                "  ollama: NOT RUNNING at {} ({reason})",
                observed.ollama.url
            );
        }
    }
    out
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "(none)".to_owned()
    } else {
        names.join(", ")
    }
}
