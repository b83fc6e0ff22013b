//! Apply: carry out a [`Plan`] through the effect gateways, then observe and plan again until the
//! Mac matches `server.toml` (a bounded converge loop), keeping a per-step journal.
//!
//! Owns execution order, the skip-on-failure rule ([`journal::skip_reason`], pure), bounded
//! waits, retries and cancellation. It must not print or render: progress goes to a
//! [`Reporter`] and the result is a [`Report`] that the CLI prints. Entry points: [`converge`]
//! (apply and destroy), [`preflight()`] (checks before anything is touched), [`warm::warm`].
//!
//! Files: this one holds the types of a run ([`Settings`], [`Timing`], [`Cancel`], [`Event`],
//! [`Outcome`], [`Report`]); `run.rs` the converge loop and a round's steps; `preflight.rs` the
//! root, `sudo` and `HOME` checks; `lock.rs` where the locks live; `journal.rs` the journal
//! lines; `steps/` one executor file per resource.

pub(crate) mod journal;
mod lock;
mod preflight;
mod run;
mod steps;

pub(crate) use lock::{lock_path, mac_lock_path};
pub(crate) use preflight::{PreflightError, foreign_home, home_owner, preflight};
pub(crate) use run::{Planner, converge, only_take_over_blockers};
pub(crate) use steps::warm;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::model::Observed;
use crate::observe;
use crate::plan::{Address, Blocker, Plan};
use crate::sys::machine::Machine;
use journal::{StepRecord, StepStatus};

/// Bounds of the waits and retries (defaults from docs/macos.md §3: bootout is asynchronous, a
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
        resource: Address,
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
        remaining: Vec<Address>,
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
