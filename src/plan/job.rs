//! `launchd.job` (load, reload, kickstart) and, before a kickstart, `logs` (the log files'
//! directories).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use super::plist::PlistOutcome;
use super::{Action, Address, Change, Context, Operation, Plan};
use crate::launchd::domain::{self, ServiceTarget};
use crate::launchd::plist::loaded_matches;
use crate::model::desired::Desired;
use crate::model::observed::{JobStatus, LoadedJob, ServerStatus};
use crate::model::{Knowable, Observed};

/// Whether launchd reports the job as running.
pub(super) fn is_running(job: &LoadedJob) -> bool {
    job.state.as_deref() == Some("running") && job.pid.is_some()
}

/// Registered in [`super::RESOURCES`]: the job (and its log directories), unless the plist
/// could not be read; tells the models whether the server (re)starts.
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    cx.restarting = match cx.plist {
        PlistOutcome::Unknown => false,
        PlistOutcome::Same | PlistOutcome::Rewritten | PlistOutcome::Changing => {
            plan_job(cx.desired, cx.observed, &cx.path, &cx.dict, cx.plist, plan)
        }
    };
}

/// Step 5, the loaded job: reload when absent or stale, kickstart when loaded but stopped.
/// Returns whether the server (re)starts in this plan.
fn plan_job(
    desired: &Desired,
    observed: &Observed,
    path: &Path,
    dict: &plist::Dictionary,
    plist: PlistOutcome,
    plan: &mut Plan,
) -> bool {
    let domain = domain::domain_for(&desired.service.mode, observed.host.uid);
    let target = ServiceTarget::new(domain, desired.service.label.clone());
    let after =
        json!({ "target": target, "plist": path.display().to_string(), "state": "running" });
    let load = |loaded: bool| Operation::LoadJob {
        domain,
        label: desired.service.label.clone(),
        plist: path.to_owned(),
        loaded,
    };
    let job = match &observed.job {
        Knowable::Unknown { reason } => {
            plan.unknowns.push(format!("{}: {reason}", Address::Job));
            return false;
        }
        Knowable::Known(JobStatus::NotLoaded) => {
            plan.changes.push(Change {
                resource: Address::Job,
                action: Action::Load,
                reason: "job is not loaded".to_owned(),
                before: Json::Null,
                after,
                operation: load(false),
            });
            return true;
        }
        Knowable::Known(JobStatus::Loaded(job)) => job,
    };
    let before = json!({
        "target": target,
        "plist": job.path,
        "state": job.state,
    });
    let differences = loaded_matches(dict, path, job);
    let reason = if !differences.is_empty() {
        let names = differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        Some(format!("loaded definition differs ({names})"))
    } else if plist == PlistOutcome::Changing {
        Some(
            "the plist differs from server.toml, and a loaded job keeps its old definition"
                .to_owned(),
        )
    } else {
        None
    };
    if let Some(reason) = reason {
        plan.changes.push(Change {
            resource: Address::Job,
            action: Action::Reload,
            reason,
            before,
            after,
            operation: load(true),
        });
        return true;
    }
    // The bind address is being (re)configured in this plan: a running job that cannot answer
    // yet is given the new address first (KeepAlive retries the bind); the next round re-checks.
    let network_changes = plan
        .changes
        .iter()
        .any(|c| matches!(c.operation, Operation::SetManual { .. }));
    let mut reason = match &observed.ollama.server {
        ServerStatus::Up { .. } => return false,
        ServerStatus::Down { .. } if is_running(job) && network_changes => return false,
        // Running, yet nothing answers at the bind address (hung, or bound elsewhere): only a
        // restart can help, and `apply` then waits until it answers (or quotes its log).
        ServerStatus::Down { reason } if is_running(job) => format!(
            "job is running but Ollama does not answer at {} ({reason})",
            observed.ollama.url
        ),
        ServerStatus::Down { .. } => format!(
            "job is loaded but not running (state = {})",
            job.state.as_deref().unwrap_or("unknown")
        ),
    };
    if !is_running(job)
        && let Some(exit) = job.last_exit_text()
    {
        let _ = write!(reason, ", last exit: {exit}");
    }
    plan_log_dirs(observed, plan);
    plan.changes.push(Change {
        resource: Address::Job,
        action: Action::Restart,
        reason,
        before,
        after,
        operation: Operation::KickstartJob { target },
    });
    true
}

/// Before a restart (kickstart) of a loaded job: the directories of the declared log files that
/// are absent. launchd creates the files but not their directories, and a job whose
/// `StandardOutPath` cannot be opened never starts (last exit 78). A (re)load creates them
/// itself (`LoadJob`), and a running job that answers is left alone (it is not restarted only to
/// recreate a deleted log file), so this step is planned only here.
fn plan_log_dirs(observed: &Observed, plan: &mut Plan) {
    let absent: Vec<&Path> = observed
        .logs
        .iter()
        .filter(|log| log.meta.is_none())
        .map(|log| log.path.as_path())
        .collect();
    let mut dirs: Vec<PathBuf> = absent
        .iter()
        .filter_map(|path| path.parent())
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .collect();
    dirs.sort();
    dirs.dedup();
    if dirs.is_empty() {
        return;
    }
    let files = absent
        .iter()
        .map(|path| format!("`{}`", path.display()))
        .collect::<Vec<_>>()
        .join(", ");
    plan.changes.push(Change {
        resource: Address::Logs,
        action: Action::Create,
        reason: format!(
            "log file is absent ({files}); launchd cannot start the job without its directory"
        ),
        before: Json::Null,
        after: json!({
            "dirs": dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        }),
        operation: Operation::CreateLogDirs { dirs },
    });
}
