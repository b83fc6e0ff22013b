//! Apply: carry out a [`Plan`] through the effect gateways, then observe and plan again until the
//! Mac matches `server.toml` (a bounded converge loop), keeping a per-step journal.
//!
//! Owns execution order, the skip-on-failure rule ([`journal::skip_reason`], pure), bounded
//! waits, retries and cancellation. It must not print or render: progress goes to a
//! [`Reporter`] and the result is a [`Report`] that the CLI prints. Entry points: [`converge`]
//! (apply and destroy), [`preflight`] (checks before anything is touched), [`warm::warm`].

pub(crate) mod journal;
mod steps;
pub(crate) mod warm;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::Instrument;

use crate::model::desired::Mode;
use crate::model::observed::Conflict;
use crate::model::{Desired, Knowable, Observed};
use crate::observe;
use crate::plan::{Blocker, Change, Operation, Plan};
use crate::sys::machine::Machine;
use journal::{StepRecord, StepStatus};

/// Bounds of the waits and retries (defaults from macos.md §3: bootout is asynchronous, a
/// bootstrap right after it may fail with EIO 5 for a moment).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Interval between two polls (`launchctl print`, `/api/version`).
    pub poll: Duration,
    /// How long a booted-out job may take to disappear.
    pub bootout_wait: Duration,
    /// How long Ollama may take to answer after a (re)start.
    pub ready_wait: Duration,
    /// Bootstrap attempts on a retryable failure (EIO 5, 17, 37).
    pub bootstrap_attempts: u32,
    /// First backoff between bootstrap attempts (doubles, capped at 2 s).
    pub bootstrap_backoff: Duration,
    /// Models pulled at the same time.
    pub pull_concurrency: usize,
    /// Limit for `brew install ollama`.
    pub brew_timeout: Duration,
    /// How long Ollama must keep answering after a (re)load before the step succeeds.
    pub settle: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(100),
            bootout_wait: Duration::from_secs(30),
            ready_wait: Duration::from_mins(1),
            bootstrap_attempts: 5,
            bootstrap_backoff: Duration::from_millis(250),
            pull_concurrency: 2,
            brew_timeout: Duration::from_mins(15),
            settle: Duration::from_secs(2),
        }
    }
}

/// How to apply.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// How to observe (the machine context and timeouts); also used to run commands.
    pub observe: observe::Settings,
    /// `--take-over`: quit Ollama.app and boot out `homebrew.mxcl.ollama` when they block.
    pub take_over: bool,
    /// Rounds of execute → observe → plan before giving up.
    pub max_rounds: usize,
    /// Unknowns left when nothing is planned make the run fail (apply: yes; destroy: no).
    pub strict_unknowns: bool,
    /// Waits and retries.
    pub timing: Timing,
}

impl Settings {
    /// The run's machine context (uid, HOME, root, sudo, tty, tool directory).
    pub(crate) fn machine(&self) -> &Machine {
        &self.observe.machine
    }
}

/// A cancellation flag shared with the signal handler: the run stops after the current step.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Sets the flag.
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Resolves once the flag is set (polled; for `select!` around long waits).
    pub(crate) async fn cancelled(&self) {
        while !self.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// What happens during a run, as it happens (the CLI turns it into lines, bars or NDJSON).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A round starts with this plan.
    Round {
        /// 1-based.
        round: usize,
        /// The plan of this round.
        #[serde(skip)]
        plan: Plan,
        /// How many changes it has.
        changes: usize,
    },
    /// A step starts.
    StepStarted {
        /// 1-based round.
        round: usize,
        /// Resource address.
        resource: String,
        /// Action name.
        action: String,
    },
    /// A step ended (the journal line).
    StepFinished(StepRecord),
    /// A pull progress line.
    Pull {
        /// The model, as written in `server.toml`.
        model: String,
        /// Ollama's status (`pulling manifest`, `pulling 6a0746a1ec1a`, `success`, …).
        status: String,
        /// Bytes of this layer so far.
        completed: Option<u64>,
        /// Bytes of this layer.
        total: Option<u64>,
    },
    /// Something worth a line (re-observing, waiting, taking over).
    Note {
        /// The line.
        message: String,
    },
}

/// Receives [`Event`]s. Implementations use interior mutability: pulls report concurrently.
pub(crate) trait Reporter {
    /// Called for each event, in order.
    fn event(&self, event: &Event);
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// The last observation planned nothing: the Mac matches.
    Converged,
    /// A step failed (see the journal); later rounds did not run.
    StepsFailed,
    /// Ctrl-C / SIGTERM: stopped after the current step.
    Interrupted,
    /// Conflicts stop the run before anything is touched (or after a take-over did not clear
    /// them).
    Blocked {
        /// What blocks, with the fix.
        blockers: Vec<Blocker>,
    },
    /// Every round executed without error, yet changes remain.
    NotConverged {
        /// The resources still planned.
        remaining: Vec<String>,
    },
    /// Nothing is planned, but facts remain unknown.
    Unresolved {
        /// The unknowns.
        unknowns: Vec<String>,
    },
}

/// The result of a run: the journal and how it ended.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// Every step of every round, in order.
    pub steps: Vec<StepRecord>,
    /// Rounds that executed steps.
    pub rounds: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// The plan of the last observation (empty when converged).
    #[serde(skip)]
    pub last_plan: Plan,
    /// The last observation.
    #[serde(skip)]
    pub last_observed: Option<Observed>,
}

impl Report {
    /// Exit 0 material: converged with no failed step.
    pub(crate) fn succeeded(&self) -> bool {
        self.outcome == Outcome::Converged
            && !self
                .steps
                .iter()
                .any(|s| matches!(s.status, StepStatus::Failed { .. }))
    }
}

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
pub(crate) const STAFF_GID: u32 = 20;

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

/// The directory of the Mac-wide lock on a real Mac: sticky, root's, writable by every user, and
/// never removed (so its `flock` cannot be escaped by deleting the lock file).
pub(crate) const MAC_LOCK_DIR: &str = "/private/tmp";

/// The Mac-wide lock every run that may change the Mac takes first, whatever its config (agent
/// or daemon) and user: `/private/tmp/ssollama.lock`. With `SSOLLAMA_TOOL_DIR` (the simulated
/// Mac) it lives in that directory instead, so each simulated Mac has its own and tests never
/// touch this machine's `/tmp`.
pub(crate) fn mac_lock_path(tool_dir: Option<&Path>) -> PathBuf {
    tool_dir
        .unwrap_or_else(|| Path::new(MAC_LOCK_DIR))
        .join("ssollama.lock")
}

/// Where the per-config lock lives (taken after the Mac-wide one): per user under `HOME` for agents; `/var/run/ssollama.lock` for a daemon
/// (one system-wide job, changed by root).
pub(crate) fn lock_path(desired: &Desired, home: &Path) -> PathBuf {
    match desired.service.mode {
        Mode::Daemon { .. } => PathBuf::from("/var/run/ssollama.lock"),
        Mode::Agent => home
            .join("Library")
            .join("Caches")
            .join("ssollama")
            .join("lock"),
    }
}

/// A function from `server.toml` and an observation to a plan (`plan::plan`, or destroy's).
pub(crate) type Planner<'a> = &'a dyn Fn(&Desired, &Observed) -> Plan;

/// Runs the converge loop from a first observation and its plan (already shown and confirmed):
/// execute the plan, observe, plan again, until the plan is empty, a step fails, the run is
/// interrupted or `settings.max_rounds` rounds have executed.
///
/// # Guarantees
/// Nothing is touched while the plan has blockers (except the take-over steps with
/// `settings.take_over`). Steps run in plan order; a step whose prerequisite did not complete is
/// skipped ([`journal::skip_reason`]). Cancellation is honoured between steps and inside waits;
/// writes are atomic, so an interruption never leaves half a file.
pub(crate) async fn converge(
    desired: &Desired,
    first: (Observed, Plan),
    planner: Planner<'_>,
    settings: &Settings,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Report {
    let (mut observed, mut plan) = first;
    let mut steps: Vec<StepRecord> = Vec::new();
    let mut rounds = 0;
    let mut took_over = false;
    let mut fresh = false;
    let outcome = loop {
        if fresh {
            if cancel.is_cancelled() {
                break Outcome::Interrupted;
            }
            observed = Box::pin(observe::observe(
                &observe::Scope::of(desired),
                &settings.observe,
            ))
            .await
            .0;
            plan = planner(desired, &observed);
        }
        fresh = true;
        if !plan.blockers.is_empty() {
            if settings.take_over && !took_over && only_take_over_blockers(&plan, &observed) {
                took_over = true;
                rounds += 1;
                reporter.event(&Event::Note {
                    message: "--take-over: stopping what competes with the managed server"
                        .to_owned(),
                });
                take_over(&observed, settings, reporter, cancel, rounds, &mut steps).await;
                if steps
                    .iter()
                    .any(|s| matches!(s.status, StepStatus::Failed { .. }))
                {
                    break Outcome::StepsFailed;
                }
                continue;
            }
            break Outcome::Blocked {
                blockers: plan.blockers.clone(),
            };
        }
        if plan.changes.is_empty() {
            if plan.unknowns.is_empty() || !settings.strict_unknowns {
                break Outcome::Converged;
            }
            if rounds >= settings.max_rounds {
                break Outcome::Unresolved {
                    unknowns: plan.unknowns.clone(),
                };
            }
            // Something may still be settling (a server starting): look again shortly.
            rounds += 1;
            reporter.event(&Event::Note {
                message: format!(
                    "round {rounds}: nothing to change, but {} fact(s) unknown; observing again",
                    plan.unknowns.len()
                ),
            });
            tokio::time::sleep(settings.timing.poll * 5).await;
            continue;
        }
        if rounds >= settings.max_rounds {
            break Outcome::NotConverged {
                remaining: plan.changes.iter().map(|c| c.resource.clone()).collect(),
            };
        }
        rounds += 1;
        reporter.event(&Event::Round {
            round: rounds,
            plan: plan.clone(),
            changes: plan.changes.len(),
        });
        let ended = execute_round(
            desired, &observed, &plan, settings, reporter, cancel, rounds,
        )
        .await;
        steps.extend(ended.records);
        if ended.interrupted {
            break Outcome::Interrupted;
        }
        if ended.failed {
            break Outcome::StepsFailed;
        }
    };
    let last_plan = if outcome == Outcome::Converged {
        Plan::default()
    } else {
        plan
    };
    Report {
        steps,
        rounds,
        outcome,
        last_plan,
        last_observed: Some(observed),
    }
}

/// What one round did.
struct RoundEnd {
    records: Vec<StepRecord>,
    failed: bool,
    interrupted: bool,
}

/// Executes the changes of one round in order (consecutive pulls concurrently, bounded).
async fn execute_round(
    desired: &Desired,
    observed: &Observed,
    plan: &Plan,
    settings: &Settings,
    reporter: &dyn Reporter,
    cancel: &Cancel,
    round: usize,
) -> RoundEnd {
    let ctx = steps::Ctx::new(desired, observed, settings, reporter, cancel);
    let mut records = Vec::new();
    let mut unfinished: Vec<&Change> = Vec::new();
    let mut failed = false;
    let mut interrupted = false;
    let changes = &plan.changes;
    let mut i = 0;
    while i < changes.len() {
        if cancel.is_cancelled() {
            interrupted = true;
            for change in &changes[i..] {
                let record = StepRecord::new(
                    round,
                    change,
                    StepStatus::Skipped {
                        because: "interrupted".to_owned(),
                    },
                    0,
                );
                reporter.event(&Event::StepFinished(record.clone()));
                records.push(record);
            }
            break;
        }
        let change = &changes[i];
        if let Some(because) = journal::skip_reason(change, &unfinished) {
            let record = StepRecord::new(round, change, StepStatus::Skipped { because }, 0);
            reporter.event(&Event::StepFinished(record.clone()));
            records.push(record);
            unfinished.push(change);
            i += 1;
            continue;
        }
        // A run of pulls that nothing failed before: run them together.
        let mut batch = vec![change];
        if matches!(change.operation, Operation::PullModel { .. }) {
            while let Some(next) = changes.get(i + batch.len()) {
                if !matches!(next.operation, Operation::PullModel { .. }) {
                    break;
                }
                batch.push(next);
            }
        }
        i += batch.len();
        let results = run_batch(&ctx, &batch, round).await;
        let mut reobserve = false;
        for (change, record) in batch.into_iter().zip(results) {
            match &record.status {
                StepStatus::Failed { error } => {
                    failed = true;
                    if error == steps::INTERRUPTED {
                        interrupted = true;
                    }
                    unfinished.push(change);
                }
                StepStatus::Skipped { .. } => unfinished.push(change),
                StepStatus::Done { .. } => {
                    reobserve |= matches!(change.operation, Operation::InstallOllama);
                }
            }
            reporter.event(&Event::StepFinished(record.clone()));
            records.push(record);
        }
        let rollbacks = ctx
            .rollbacks
            .lock()
            .map(|mut list| std::mem::take(&mut *list))
            .unwrap_or_default();
        for status in rollbacks {
            let record = StepRecord {
                round,
                resource: "launchd.job".to_owned(),
                action: journal::ROLLBACK.to_owned(),
                status,
                millis: 0,
            };
            reporter.event(&Event::StepFinished(record.clone()));
            records.push(record);
        }
        if reobserve && i < changes.len() {
            // The plist must name the program the install put in place: plan again.
            reporter.event(&Event::Note {
                message: "Ollama is installed; observing again to find the program".to_owned(),
            });
            break;
        }
    }
    let any_warmed = !ctx
        .warmed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_empty();
    if any_warmed && !interrupted {
        // All warm models together, once, after the round's warm steps: a model evicted to load
        // another fails this round instead of being warmed again (and evicting) in the next.
        // Recorded only when it fails.
        if let Err(error) = steps::check_warm(&ctx).await {
            failed = true;
            let record = StepRecord {
                round,
                resource: journal::WARM_CHECK_RESOURCE.to_owned(),
                action: journal::WARM_CHECK.to_owned(),
                status: StepStatus::Failed {
                    error: error_chain(&error),
                },
                millis: 0,
            };
            reporter.event(&Event::StepFinished(record.clone()));
            records.push(record);
        }
    }
    RoundEnd {
        records,
        failed,
        interrupted,
    }
}

/// Runs one step, or several pulls with bounded concurrency; one record per change, in order.
async fn run_batch(ctx: &steps::Ctx<'_>, batch: &[&Change], round: usize) -> Vec<StepRecord> {
    use futures_util::stream::{self, StreamExt};
    let limit = ctx.settings.timing.pull_concurrency.max(1);
    let mut indexed: Vec<(usize, StepRecord)> = stream::iter(batch.iter().enumerate())
        .map(|(n, change)| async move { (n, run_step(ctx, change, round).await) })
        .buffer_unordered(limit)
        .collect()
        .await;
    indexed.sort_by_key(|(n, _)| *n);
    indexed.into_iter().map(|(_, record)| record).collect()
}

/// Runs one change inside its tracing span and times it.
async fn run_step(ctx: &steps::Ctx<'_>, change: &Change, round: usize) -> StepRecord {
    ctx.reporter.event(&Event::StepStarted {
        round,
        resource: change.resource.clone(),
        action: journal::action_name(change.action),
    });
    let span = tracing::info_span!("change", resource = %change.resource, action = ?change.action);
    let start = Instant::now();
    let result = steps::execute(ctx, &change.operation)
        .instrument(span)
        .await;
    let millis = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = match result {
        Ok(detail) => StepStatus::Done { detail },
        Err(error) => {
            let error = error_chain(&error);
            tracing::info!(resource = %change.resource, %error, "step failed");
            StepStatus::Failed { error }
        }
    };
    StepRecord::new(round, change, status, millis)
}

/// An error and its sources, `: `-joined (an OS error says *why* a path could not be written).
fn error_chain(error: &dyn std::error::Error) -> String {
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

/// Whether `--take-over` has something to stop (Ollama.app or Homebrew's job).
/// `--take-over` acts only when it would unblock the apply: every blocker is Ollama.app or
/// Homebrew's job. With any other blocker (a missing network service, a port held by an unrelated
/// process) apply stops before touching anything, Ollama.app included.
pub(crate) fn only_take_over_blockers(plan: &Plan, observed: &Observed) -> bool {
    const TAKEOVER: [&str; 2] = ["conflict.ollama_app", "conflict.homebrew_service"];
    let has_targets = matches!(&observed.conflicts, Knowable::Known(list) if list.iter().any(|c| !matches!(c, Conflict::PortTaken { .. })));
    has_targets
        && plan
            .blockers
            .iter()
            .all(|b| TAKEOVER.contains(&b.resource.as_str()))
}

/// `--take-over`: quit Ollama.app, boot out `homebrew.mxcl.ollama`. A port taken by anything
/// else is never touched.
async fn take_over(
    observed: &Observed,
    settings: &Settings,
    reporter: &dyn Reporter,
    cancel: &Cancel,
    round: usize,
    steps_out: &mut Vec<StepRecord>,
) {
    let Knowable::Known(conflicts) = &observed.conflicts else {
        return;
    };
    for conflict in conflicts {
        let (resource, result) = match conflict {
            Conflict::OllamaAppRunning { .. } => (
                "conflict.ollama_app",
                steps::quit_ollama_app(settings).await,
            ),
            Conflict::HomebrewServiceLoaded { target } => (
                "conflict.homebrew_service",
                steps::bootout_homebrew(settings, cancel, target).await,
            ),
            Conflict::PortTaken { .. } => continue,
        };
        let status = match result {
            Ok(detail) => StepStatus::Done { detail },
            Err(error) => StepStatus::Failed {
                error: error_chain(&error),
            },
        };
        let record = StepRecord {
            round,
            resource: resource.to_owned(),
            action: journal::TAKE_OVER.to_owned(),
            status,
            millis: 0,
        };
        reporter.event(&Event::StepFinished(record.clone()));
        steps_out.push(record);
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{PreflightError, STAFF_GID, home_owner, lock_path, preflight};
    use crate::model::desired::Mode;
    use crate::plan::{Action, Change, Operation, Plan};

    fn desired(mode: &Mode) -> crate::model::Desired {
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
                resource: "launchd.job".to_owned(),
                action: Action::Reload,
                reason: String::new(),
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
                operation: Operation::KickstartJob {
                    target: "system/com.ollama".to_owned(),
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
                resource: "launchd.logs".to_owned(),
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
    fn agents_lock_under_home_and_daemons_system_wide() {
        let home = Path::new("/Users/t");
        assert_eq!(
            lock_path(&desired(&Mode::Agent), home),
            Path::new("/Users/t/Library/Caches/ssollama/lock")
        );
        let daemon = desired(&Mode::Daemon {
            user: "tester".to_owned(),
        });
        assert_eq!(
            lock_path(&daemon, home),
            Path::new("/var/run/ssollama.lock")
        );
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
