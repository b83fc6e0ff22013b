//! The planner: a pure, total function from what is wanted and what is there to an ordered list
//! of changes. No I/O, no clock, no async.
//!
//! Entry points: [`plan`] and [`fingerprint`]. Everything the planner knows is in its arguments,
//! so every behaviour can be reproduced from a `Desired` and an `Observed` (`plan --state`).

pub(crate) mod change;
pub(crate) mod destroy;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

pub(crate) use change::{Action, Blocker, Change, Operation, Plan};

use crate::launchd::domain;
use crate::launchd::plist::{
    canonical_xml, desired_plist, differing_keys, loaded_matches, parse_plist, semantically_equal,
};
use crate::model::desired::{Desired, NetworkSpec};
use crate::model::embedding::is_embedding;
use crate::model::observed::{
    Conflict, InstalledModel, IpConfig, JobStatus, LoadedJob, NetworkState, PlistFile, ServerStatus,
};
use crate::model::plist_rule::others_may_write;
use crate::model::{Knowable, Observed};
use crate::ollama::name::ModelName;

/// Where Homebrew (Apple Silicon) installs Ollama: the program path planned when none is found
/// and observation listed no candidate.
const HOMEBREW_OLLAMA: &str = "/opt/homebrew/opt/ollama/bin/ollama";

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

/// The program the plist runs: the one found, else where installing will put it.
fn program_for_plist(observed: &Observed, desired: &Desired) -> PathBuf {
    observed
        .program
        .path
        .clone()
        .or_else(|| desired.service.program.clone())
        .or_else(|| observed.program.candidates.first().cloned())
        .unwrap_or_else(|| PathBuf::from(HOMEBREW_OLLAMA))
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

/// Step 1: install Ollama when no program was found.
fn plan_program(desired: &Desired, observed: &Observed, plan: &mut Plan) {
    if observed.program.path.is_some() {
        return;
    }
    let looked = observed
        .program
        .candidates
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(program) = &desired.service.program {
        plan.blockers.push(Blocker {
            resource: PROGRAM.to_owned(),
            problem: format!("`service.program` `{}` does not exist", program.display()),
            fix: "install Ollama there, or remove `service.program` from server.toml to use the one Homebrew installs".to_owned(),
        });
        return;
    }
    if observed.program.brew.is_none() {
        plan.blockers.push(Blocker {
            resource: PROGRAM.to_owned(),
            problem: format!(
                "no `ollama` program found (looked at {looked}) and no Homebrew to install it"
            ),
            fix: "install Homebrew (https://brew.sh) or Ollama.app, or set service.program"
                .to_owned(),
        });
        return;
    }
    let target = program_for_plist(observed, desired);
    plan.changes.push(Change {
        resource: PROGRAM.to_owned(),
        action: Action::Install,
        reason: "no `ollama` program found".to_owned(),
        before: Json::Null,
        after: json!({ "path": target.display().to_string() }),
        operation: Operation::InstallOllama,
    });
}

/// Step 2: conflicts stop `apply`; an unknown conflict list is only a note.
fn plan_conflicts(observed: &Observed, plan: &mut Plan) {
    let conflicts = match &observed.conflicts {
        Knowable::Known(conflicts) => conflicts,
        Knowable::Unknown { reason } => {
            plan.unknowns
                .push(format!("conflicts: could not check ({reason})"));
            return;
        }
    };
    let mut conflicts: Vec<&Conflict> = conflicts.iter().collect();
    conflicts.sort();
    for conflict in conflicts {
        plan.blockers.push(match conflict {
            Conflict::OllamaAppRunning { pid } => Blocker {
                resource: "conflict.ollama_app".to_owned(),
                problem: format!("Ollama.app is running (pid {pid}); when its own server fails it stops every other `ollama serve`"),
                fix: "quit Ollama.app and remove it from Login Items, or run `ssollama apply --take-over` to quit it".to_owned(),
            },
            Conflict::HomebrewServiceLoaded { target } => Blocker {
                resource: "conflict.homebrew_service".to_owned(),
                problem: format!("Homebrew's `homebrew.mxcl.ollama` job is loaded (`{target}`) and competes for the port (its `ollama serve` and children count as this conflict)"),
                fix: "run `brew services stop ollama`, or run `ssollama apply --take-over` to boot it out and disable it (its server stops with it)".to_owned(),
            },
            Conflict::PortTaken { pid, command, address } => Blocker {
                resource: "conflict.port".to_owned(),
                problem: format!("`{command}` (pid {pid}) already listens on {address}"),
                fix: "stop that process or change `listen.port` in server.toml (`--take-over` only stops Ollama.app and Homebrew's job)".to_owned(),
            },
        });
    }
}

fn ip_json(config: &IpConfig) -> Json {
    let show = |addr: Option<std::net::Ipv4Addr>| addr.map_or(Json::Null, |a| json!(a.to_string()));
    json!({
        "method": config.method.name(),
        "address": show(config.address),
        "subnet_mask": show(config.subnet_mask),
        "router": show(config.router),
    })
}

fn dns_json<T: std::fmt::Display>(servers: &[T]) -> Json {
    Json::Array(servers.iter().map(|s| json!(s.to_string())).collect())
}

/// Step 3: the static IPv4 configuration and DNS of one network service.
fn plan_network(spec: &NetworkSpec, observed: Option<&Knowable<NetworkState>>, plan: &mut Plan) {
    let address = network_address(&spec.service);
    let state = match observed {
        None => {
            plan.unknowns
                .push(format!("{address}: the network was not observed"));
            return;
        }
        Some(Knowable::Unknown { reason }) => {
            plan.unknowns.push(format!("{address}: {reason}"));
            return;
        }
        Some(Knowable::Known(state)) => state,
    };
    if !state.services.iter().any(|s| s.name == spec.service) {
        let names = state
            .services
            .iter()
            .map(|s| format!("{:?}", s.name))
            .collect::<Vec<_>>()
            .join(", ");
        plan.blockers.push(Blocker {
            resource: address,
            problem: format!(
                "network service {:?} does not exist; services are: {}",
                spec.service,
                if names.is_empty() {
                    "(none listed)"
                } else {
                    &names
                }
            ),
            fix: "set `network.service` in server.toml to one of the listed services".to_owned(),
        });
        return;
    }
    match &state.info {
        None => plan
            .unknowns
            .push(format!("{address}: its configuration was not read")),
        Some(Knowable::Unknown { reason }) => plan.unknowns.push(format!("{address}: {reason}")),
        Some(Knowable::Known(info)) => {
            let differs = spec.ip_differences(info);
            if !differs.is_empty() {
                let wanted = spec.ip_config();
                plan.changes.push(Change {
                    resource: address.clone(),
                    action: Action::SetNetwork,
                    reason: format!(
                        "{} differ{}",
                        differs.join(", "),
                        if differs.len() == 1 { "s" } else { "" }
                    ),
                    before: ip_json(info),
                    after: ip_json(&wanted),
                    operation: Operation::SetManual {
                        service: spec.service.clone(),
                        address: spec.address,
                        subnet_mask: spec.subnet_mask,
                        router: spec.router,
                    },
                });
            }
        }
    }
    let Some(wanted) = &spec.dns else {
        return;
    };
    match &state.dns {
        None => plan
            .unknowns
            .push(format!("{address}: its DNS servers were not read")),
        Some(Knowable::Unknown { reason }) => {
            plan.unknowns
                .push(format!("{address}: DNS servers: {reason}"));
        }
        Some(Knowable::Known(servers)) if !spec.dns_matches(servers) => {
            plan.changes.push(Change {
                resource: address,
                action: Action::SetDns,
                reason: "dns servers differ".to_owned(),
                before: json!({ "dns": dns_json(servers) }),
                after: json!({ "dns": dns_json(wanted) }),
                operation: Operation::SetDnsServers {
                    service: spec.service.clone(),
                    servers: wanted.clone(),
                },
            });
        }
        Some(Knowable::Known(_)) => {}
    }
}

/// What the plan does to the plist file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlistOutcome {
    /// The file already says what `server.toml` wants.
    Same,
    /// The file is rewritten with the same content (owner or mode fixed): the job needs no reload.
    Rewritten,
    /// The file's content changes in this plan.
    Changing,
    /// The file could not be read: neither it nor the job is touched.
    Unknown,
}

/// Step 4: the plist file: create, update (by value) or replace (unparseable).
fn plan_plist(
    desired: &Desired,
    observed: &Observed,
    path: &Path,
    dict: &plist::Dictionary,
    plan: &mut Plan,
) -> PlistOutcome {
    let value = plist::Value::Dictionary(dict.clone());
    let contents = canonical_xml(&value);
    let write = Operation::WritePlist {
        path: path.to_owned(),
        contents: contents.clone(),
    };
    // Agents must belong to the user who loads them, daemons to root; neither may be group- or
    // world-writable, or launchd refuses the file (macos.md §4.1).
    let owner = desired.service.mode.plist_owner(observed.host.uid);
    let mut outcome = PlistOutcome::Changing;
    let (action, reason, before) = match &observed.plist {
        PlistFile::Absent { .. } => (Action::Create, "file is absent".to_owned(), Json::Null),
        PlistFile::Unreadable { reason, .. } => {
            plan.unknowns.push(format!(
                "{PLIST}: `{}` could not be read ({reason}); the file and the job are left alone",
                path.display()
            ));
            return PlistOutcome::Unknown;
        }
        PlistFile::Present {
            text,
            owner: file_owner,
            mode,
            binary,
            ..
        } => match parse_plist(text) {
            Err(error) => (
                Action::Replace,
                format!("file is unusable ({error})"),
                json!(text),
            ),
            Ok(existing) => {
                let before = canonical_xml(&existing);
                if !semantically_equal(&existing, &value) {
                    let keys = match existing.as_dictionary() {
                        Some(old) => differing_keys(old, dict),
                        None => Vec::new(),
                    };
                    let count = if keys.len() == 1 {
                        "1 key".to_owned()
                    } else {
                        format!("{} keys", keys.len())
                    };
                    (
                        Action::Update,
                        format!("file differs ({count}: {})", keys.join(", ")),
                        json!(before),
                    )
                } else if *file_owner != owner {
                    outcome = PlistOutcome::Rewritten;
                    (
                        Action::Update,
                        format!("file is owned by uid {file_owner}, not {owner}"),
                        json!(before),
                    )
                } else if others_may_write(*mode) {
                    outcome = PlistOutcome::Rewritten;
                    (
                        Action::Update,
                        format!("file mode {mode:o} lets others write it; launchd refuses it"),
                        json!(before),
                    )
                } else if *binary {
                    // launchd reads it, but people and `plan`'s diffs read XML: same content, so
                    // the job needs no reload.
                    outcome = PlistOutcome::Rewritten;
                    (
                        Action::Update,
                        "binary plist; rewritten as XML".to_owned(),
                        json!(before),
                    )
                } else {
                    return PlistOutcome::Same;
                }
            }
        },
    };
    plan.changes.push(Change {
        resource: PLIST.to_owned(),
        action,
        reason,
        before,
        after: json!(contents),
        operation: write,
    });
    outcome
}

/// Whether launchd reports the job as running.
fn is_running(job: &LoadedJob) -> bool {
    job.state.as_deref() == Some("running") && job.pid.is_some()
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
    let domain = domain::domain_for(&desired.service.mode, observed.host.uid).to_string();
    let target = format!("{domain}/{}", desired.service.label);
    let after =
        json!({ "target": target, "plist": path.display().to_string(), "state": "running" });
    let load = |loaded: bool| Operation::LoadJob {
        domain: domain.clone(),
        label: desired.service.label.as_str().to_owned(),
        plist: path.to_owned(),
        loaded,
    };
    let job = match &observed.job {
        Knowable::Unknown { reason } => {
            plan.unknowns.push(format!("{JOB}: {reason}"));
            return false;
        }
        Knowable::Known(JobStatus::NotLoaded) => {
            plan.changes.push(Change {
                resource: JOB.to_owned(),
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
            resource: JOB.to_owned(),
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
        resource: JOB.to_owned(),
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
        resource: LOGS.to_owned(),
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

/// The change that removes an installed model (`ollama rm`), by the name Ollama lists.
fn remove_model(model: &InstalledModel, reason: &str) -> Change {
    Change {
        resource: model_address(&model.name),
        action: Action::Remove,
        reason: reason.to_owned(),
        before: json!({ "name": model.name, "digest": model.digest, "size": model.size }),
        after: Json::Null,
        operation: Operation::RemoveModel {
            name: model.name.clone(),
        },
    }
}

/// Step 6: models: remove (prune), pull, warm.
/// The declared models while the server is down: "known after the server starts". Nothing is
/// planned for them (no `+ pull` for models the Mac may well have, nothing counted); the notes
/// say so, `check` reports them as unknown (not drift), and `apply`, which observes again after
/// each round, plans the pulls of what is really missing once the server answers.
fn defer_models(desired: &Desired, reason: &str, plan: &mut Plan) {
    if desired.models.is_empty() {
        return;
    }
    // The reason names the URL already (`Ollama did not answer at …`).
    plan.unknowns.push(format!(
        "ollama.models: the server is down ({reason}); the declared models are known after the server starts"
    ));
    for spec in &desired.models {
        let then = if spec.warm && !spec.name.is_cloud() {
            "pulled if missing, then warmed"
        } else {
            "pulled if missing"
        };
        plan.unknowns.push(format!(
            "{}: known after the server starts ({then})",
            model_address(&spec.name.display())
        ));
    }
}

fn plan_models(desired: &Desired, observed: &Observed, restarting: bool, plan: &mut Plan) {
    let (installed, loaded) = match &observed.ollama.server {
        ServerStatus::Down { reason } => {
            defer_models(desired, reason, plan);
            return;
        }
        ServerStatus::Up { models, loaded, .. } => (models.clone(), loaded.clone()),
    };
    // Installed models by normalized name; names Ollama lists but we cannot parse are kept out
    // of every comparison (never removed).
    let installed: Knowable<Vec<(ModelName, InstalledModel)>> = installed.map(|models| {
        let mut parsed: Vec<(ModelName, InstalledModel)> = models
            .into_iter()
            .filter_map(|m| Some((ModelName::parse(&m.name).ok()?, m)))
            .collect();
        parsed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        parsed
    });
    let find = |name: &ModelName| -> Option<&InstalledModel> {
        installed
            .known()
            .and_then(|list| list.iter().find(|(n, _)| n == name).map(|(_, m)| m))
    };
    if let Knowable::Unknown { reason } = &installed {
        plan.unknowns.push(format!(
            "ollama.models: installed models are unknown ({reason}); pulls are planned for every declared model"
        ));
    }

    // Removals first: they free disk space for the pulls.
    if desired.model_policy.prune
        && let Knowable::Known(list) = &installed
    {
        let declared: BTreeSet<&ModelName> = desired.models.iter().map(|m| &m.name).collect();
        for (name, model) in list {
            if declared.contains(name) {
                continue;
            }
            plan.changes.push(remove_model(
                model,
                "not declared in server.toml and `model_policy.prune = true`",
            ));
        }
    }

    let mut pulled = BTreeSet::new();
    for spec in &desired.models {
        let reason = match &installed {
            Knowable::Known(_) if find(&spec.name).is_some() => continue,
            Knowable::Known(_) => "model is not installed".to_owned(),
            // Pulling a model Ollama already has is cheap (it compares digests), so an unknown
            // list (the server answers, its list does not parse) means "pull everything", never
            // "remove anything".
            Knowable::Unknown { reason } => format!("installed models are unknown ({reason})"),
        };
        pulled.insert(spec.name.clone());
        plan.changes.push(Change {
            resource: model_address(&spec.name.display()),
            action: Action::Pull,
            reason,
            before: Json::Null,
            after: json!({ "name": spec.name.display() }),
            operation: Operation::PullModel {
                name: spec.name.clone(),
            },
        });
    }

    let in_memory: Knowable<BTreeSet<ModelName>> = loaded.map(|list| {
        list.iter()
            .filter_map(|m| ModelName::parse(&m.name).ok())
            .collect()
    });
    // Cloud models (`…:cloud`) run remotely: they never appear in `/api/ps`, so they are not
    // warmed (planning it would never converge).
    for spec in desired
        .models
        .iter()
        .filter(|m| m.warm && !m.name.is_cloud())
    {
        let is_loaded = in_memory.known().map(|set| set.contains(&spec.name));
        let reason = if restarting {
            "the server (re)starts in this plan".to_owned()
        } else {
            match &in_memory {
                // Pulling a model that is already in memory does not unload it.
                Knowable::Known(set) if set.contains(&spec.name) => continue,
                _ if pulled.contains(&spec.name) => "model is pulled in this plan".to_owned(),
                Knowable::Known(_) => "model is not loaded in memory".to_owned(),
                Knowable::Unknown { reason } => {
                    format!("after the server starts: loaded models are unknown ({reason})")
                }
            }
        };
        let embedding = is_embedding(
            &spec.name,
            find(&spec.name).map_or(&[][..], |m| m.capabilities.as_slice()),
        );
        plan.changes.push(Change {
            resource: model_address(&spec.name.display()),
            action: Action::Warm,
            reason,
            // A restart empties the server's memory, so that is the state warming starts from.
            before: if restarting {
                json!({ "loaded": false })
            } else {
                is_loaded.map_or(Json::Null, |l| json!({ "loaded": l }))
            },
            after: json!({ "loaded": true, "embedding": embedding }),
            operation: Operation::WarmModel {
                name: spec.name.clone(),
                embedding,
            },
        });
    }
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
