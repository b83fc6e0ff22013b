//! The converge loop: rounds of execute → observe → plan, each round's steps in plan order
//! (consecutive pulls together), the journal records, and the `--take-over` steps.

use std::time::Instant;

use tracing::Instrument;

use super::journal::{self, StepRecord, StepStatus};
use super::{Cancel, Event, Outcome, Report, Reporter, Settings, steps};
use crate::model::observed::Conflict;
use crate::model::{Desired, Knowable, Observed};
use crate::observe;
use crate::plan::{Address, Change, Operation, Plan};

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
                resource: Address::Job,
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
                resource: Address::Models,
                action: journal::WARM_CHECK.to_owned(),
                status: StepStatus::Failed {
                    error: steps::error_chain(&error),
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
        action: change.action.name().to_owned(),
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
            let error = steps::error_chain(&error);
            tracing::info!(resource = %change.resource, %error, "step failed");
            StepStatus::Failed { error }
        }
    };
    StepRecord::new(round, change, status, millis)
}

/// Whether `--take-over` has something to stop (Ollama.app or Homebrew's job).
/// `--take-over` acts only when it would unblock the apply: every blocker is Ollama.app or
/// Homebrew's job. With any other blocker (a missing network service, a port held by an unrelated
/// process) apply stops before touching anything, Ollama.app included.
pub(crate) fn only_take_over_blockers(plan: &Plan, observed: &Observed) -> bool {
    let has_targets = matches!(&observed.conflicts, Knowable::Known(list) if list.iter().any(|c| !matches!(c, Conflict::PortTaken { .. })));
    has_targets && plan.blockers.iter().all(|b| b.resource.taken_over())
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
            Conflict::OllamaAppRunning { .. } => {
                (Address::OllamaApp, steps::quit_ollama_app(settings).await)
            }
            Conflict::HomebrewServiceLoaded { target } => (
                Address::HomebrewService,
                steps::bootout_homebrew(settings, cancel, target).await,
            ),
            Conflict::PortTaken { .. } => continue,
        };
        let status = match result {
            Ok(detail) => StepStatus::Done { detail },
            Err(error) => StepStatus::Failed {
                error: steps::error_chain(&error),
            },
        };
        let record = StepRecord {
            round,
            resource,
            action: journal::TAKE_OVER.to_owned(),
            status,
            millis: 0,
        };
        reporter.event(&Event::StepFinished(record.clone()));
        steps_out.push(record);
    }
}
