//! The planner: a pure, total function from what is wanted and what is there to an ordered list
//! of changes. No I/O, no clock, no async.
//!
//! Entry points: [`plan`] and [`fingerprint`]. Everything the planner knows is in its arguments,
//! so every behaviour can be reproduced from a `Desired` and an `Observed` (`plan --state`).

mod address;
mod capacity;
pub(crate) mod change;
mod cloud;
mod conflicts;
pub(crate) mod derived;
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

pub(crate) use address::Address;
pub(crate) use change::{Action, Blocker, Change, Operation, Plan};
use models::remove_model;
use plist::PlistOutcome;
use program::program_for_plist;

use crate::launchd::domain;
use crate::launchd::plist::desired_plist;
use crate::model::Observed;
use crate::model::desired::Desired;

/// Where the plist lives (`launchd::domain::plist_path`).
fn plist_path(desired: &Desired, home: &Path) -> PathBuf {
    domain::plist_path(&desired.service.mode, &desired.service.label, home)
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
/// 2. conflicts become `Blocker`s (they stop `apply` before anything runs), and so do a warm
///    set that cannot fit in the Metal limit (`capacity`, whose budget the plan carries) and a
///    `~/.ollama/server.json` that keeps a declared cloud off (`ollama.cloud`);
/// 3. `network.service[…]` (static IPv4, then DNS), before the server binds to the address;
/// 4. `launchd.plist` (write), before the job loads it;
/// 5. `logs` (create the log directories, only before a kickstart: a (re)load creates them
///    itself), then `launchd.job` (reload = bootout + bootstrap, or kickstart), so the server
///    runs the new file;
/// 6. `ollama.model[…]`: removals (free disk first), pulls, then warming, all after the server
///    is up.
#[must_use]
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let path = plist_path(desired, &observed.host.home);
    let program = program_for_plist(observed, desired);
    let mut cx = Context {
        desired,
        observed,
        dict: desired_plist(desired, &program),
        path,
        plist: PlistOutcome::Same,
        restarting: false,
    };
    let mut plan = Plan::default();
    for resource in RESOURCES {
        resource(&mut cx, &mut plan);
    }
    plan
}

/// One resource's planner: reads the context (and what earlier resources left in it) and adds
/// its changes, blockers and unknowns to the plan.
type PlanResource = fn(&mut Context<'_>, &mut Plan);

/// The resources in execution order (see [`plan`]): one registration line per resource.
const RESOURCES: [PlanResource; 8] = [
    program::plan,
    conflicts::plan,
    capacity::plan,
    cloud::plan,
    network::plan,
    plist::plan,
    job::plan,
    models::plan,
];

/// What every resource's planner reads, and what earlier resources tell later ones.
struct Context<'a> {
    /// `server.toml`.
    desired: &'a Desired,
    /// The Mac.
    observed: &'a Observed,
    /// Where the plist lives.
    path: PathBuf,
    /// The plist `server.toml` wants (with the program found, or the one installing puts).
    dict: ::plist::Dictionary,
    /// What the plan does to the plist file (set by `launchd.plist`).
    plist: PlistOutcome,
    /// Whether the server (re)starts in this plan (set by `launchd.job`).
    restarting: bool,
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
