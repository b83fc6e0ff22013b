//! The planner: a pure, total function from what is wanted and what is there to an ordered list
//! of changes. No I/O, no clock, no async.
//!
//! Entry points: [`plan`] and [`fingerprint`]. Everything the planner knows is in its arguments,
//! so every behaviour can be reproduced from a `Desired` and an `Observed` (`plan --state`).

pub(crate) mod change;
mod conflicts;
pub(crate) mod destroy;
mod job;
mod models;
mod network;
mod plist;
mod program;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub(crate) use change::{Action, Blocker, Change, Operation, Plan};
use conflicts::plan_conflicts;
use job::plan_job;
use models::{plan_models, remove_model};
use network::plan_network;
use plist::{PlistOutcome, plan_plist};
use program::{plan_program, program_for_plist};

use crate::launchd::domain;
use crate::launchd::plist::desired_plist;
use crate::model::Observed;
use crate::model::desired::Desired;

/// Resource address of the `ollama` executable.
const PROGRAM: &str = "ollama.program";
/// Resource address of the plist file.
const PLIST: &str = "launchd.plist";
/// Resource address of the loaded job.
const JOB: &str = "launchd.job";
/// Resource address of the log files' directories.
const LOGS: &str = "logs";

/// Where the plist lives (`launchd::domain::plist_path`).
fn plist_path(desired: &Desired, home: &Path) -> PathBuf {
    domain::plist_path(&desired.service.mode, &desired.service.label, home)
}

/// The address of a network service resource.
fn network_address(service: &str) -> String {
    format!("network.service[{service:?}]")
}

/// The address of a model resource.
fn model_address(name: &str) -> String {
    format!("ollama.model[{name:?}]")
}

/// Computes the changes that take `observed` to `desired`, in execution order.
///
/// # Guarantees
///
/// Total and deterministic: same inputs, same plan (installed models are compared as a set).
/// An empty plan when the Mac already matches. Nothing destructive is planned from an unknown
/// fact: unknowns are listed in `Plan::unknowns` instead.
///
/// # Ordering
///
/// 1. `ollama.program` (install), because the plist names it;
/// 2. conflicts become `Blocker`s (they stop `apply` before anything runs);
/// 3. `network.service[…]` (static IPv4, then DNS), before the server binds to the address;
/// 4. `launchd.plist` (write), before the job loads it;
/// 5. `logs` (create the log directories, only before a kickstart: a (re)load creates them
///    itself), then `launchd.job` (reload = bootout + bootstrap, or kickstart), so the server
///    runs the new file;
/// 6. `ollama.model[…]`: removals (free disk first), pulls, then warming, all after the server
///    is up.
#[must_use]
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let mut plan = Plan::default();
    plan_program(desired, observed, &mut plan);
    plan_conflicts(observed, &mut plan);
    if let Some(spec) = &desired.network {
        plan_network(spec, observed.network.as_ref(), &mut plan);
    }
    let path = plist_path(desired, &observed.host.home);
    let program = program_for_plist(observed, desired);
    let dict = desired_plist(desired, &program);
    let plist = plan_plist(desired, observed, &path, &dict, &mut plan);
    let restarting = match plist {
        PlistOutcome::Unknown => false,
        PlistOutcome::Same | PlistOutcome::Rewritten | PlistOutcome::Changing => {
            plan_job(desired, observed, &path, &dict, plist, &mut plan)
        }
    };
    plan_models(desired, observed, restarting, &mut plan);
    plan
}

/// The fingerprint of an observation: the lower-case hex SHA-256 of its canonical JSON
/// (`serde_json`, fields in declaration order, maps sorted). A saved plan carries it, and
/// `apply` refuses the plan when a fresh observation has another fingerprint.
pub(crate) fn fingerprint(observed: &Observed) -> String {
    // Serializing these plain types cannot fail (every map key is a string); an empty input would
    // still give a stable, if useless, digest.
    let bytes = serde_json::to_vec(observed).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
