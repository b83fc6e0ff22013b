//! [`Plan`] and [`Change`]: what `plan()` returns and `apply` executes.
//!
//! Pure data. A change names a resource (its address), an [`Action`] for people and JSON, a
//! reason, before/after for display, and an [`Operation`] that `apply` knows how to carry out.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Address;
use crate::launchd::domain::{Domain, ServiceTarget};
use crate::model::desired::Label;
use crate::ollama::name::ModelName;

/// The changes that take the observed Mac to `server.toml`, in execution order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// In execution order.
    pub changes: Vec<Change>,
    /// Problems that stop `apply` before it touches anything (conflicts); empty = none.
    pub blockers: Vec<Blocker>,
    /// Facts the planner could not learn and worked around (shown under the plan).
    pub unknowns: Vec<String>,
    /// The warm models against the Metal limit, when both are known (`specs/capacity.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) capacity: Option<crate::capacity::Budget>,
}

impl Plan {
    /// No change and no blocker: the Mac matches `server.toml`.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.blockers.is_empty()
    }

    /// `(add, change, destroy)` counts of `Plan: N to add, M to change, K to destroy.`; a
    /// replace counts as one add and one destroy.
    pub fn summary_counts(&self) -> (usize, usize, usize) {
        let (mut add, mut change, mut destroy) = (0, 0, 0);
        for item in &self.changes {
            match item.action.tally() {
                Tally::Add => add += 1,
                Tally::Change => change += 1,
                Tally::Destroy => destroy += 1,
                Tally::Replace => {
                    add += 1;
                    destroy += 1;
                }
            }
        }
        (add, change, destroy)
    }

    /// The plan as `check` judges it: without [`Action::Warm`] changes. A warm model that was
    /// evicted (or that loads after a restart) is an action `apply` takes, not drift; a restart
    /// or reload that empties the memory is drift of its own.
    #[must_use]
    pub fn drift(&self) -> Self {
        Self {
            changes: self
                .changes
                .iter()
                .filter(|c| c.action != Action::Warm)
                .cloned()
                .collect(),
            blockers: self.blockers.clone(),
            unknowns: self.unknowns.clone(),
            capacity: self.capacity.clone(),
        }
    }
}

/// One change to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Resource address, e.g. `ollama.program`, `network.service["Ethernet"]`, `launchd.plist`,
    /// `launchd.job`, `ollama.model["llama3:latest"]`.
    pub resource: Address,
    /// What happens to it.
    pub action: Action,
    /// Why, in one lower-case line (`file is absent`, `OLLAMA_HOST differs`, …).
    pub reason: String,
    /// The resource before, for display (`null` when it does not exist or is unknown).
    pub before: serde_json::Value,
    /// The resource after.
    pub after: serde_json::Value,
    /// What `apply` does.
    pub operation: Operation,
}

/// The vocabulary of `plan --json` (`action`) and the text markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `+` a resource that does not exist yet.
    Create,
    /// `~` an existing resource changes in place.
    Update,
    /// `-` a resource goes away.
    Delete,
    /// `-/+` destroyed and created again.
    Replace,
    /// `+` a job launchd does not have is loaded from the plist (bootstrap).
    Load,
    /// `~` a loaded launchd job is reloaded from the plist (bootout, bootstrap).
    Reload,
    /// `~` the running job is restarted with the same definition (kickstart -k).
    Restart,
    /// `+` install the `ollama` program (Homebrew).
    Install,
    /// `~` a network service gets the declared static IPv4 configuration.
    SetNetwork,
    /// `~` a network service gets the declared DNS servers.
    SetDns,
    /// `+` a model is pulled.
    Pull,
    /// `-` a model is removed (only with `model_policy.prune = true`).
    Remove,
    /// `~` a model is loaded into memory and kept there.
    Warm,
}

impl Action {
    /// The name of the action as `plan --json`, the apply journal and the text plan spell it
    /// (`set-network`, `pull`, …): its serde name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Replace => "replace",
            Self::Load => "load",
            Self::Reload => "reload",
            Self::Restart => "restart",
            Self::Install => "install",
            Self::SetNetwork => "set-network",
            Self::SetDns => "set-dns",
            Self::Pull => "pull",
            Self::Remove => "remove",
            Self::Warm => "warm",
        }
    }

    /// The marker shown in text plans.
    pub fn marker(self) -> &'static str {
        match self {
            Self::Create | Self::Install | Self::Load | Self::Pull => "+",
            Self::Delete | Self::Remove => "-",
            Self::Replace => "-/+",
            Self::Update
            | Self::Reload
            | Self::Restart
            | Self::SetNetwork
            | Self::SetDns
            | Self::Warm => "~",
        }
    }

    /// Which count of `Plan: N to add, M to change, K to destroy.` the action adds to.
    pub fn tally(self) -> Tally {
        match self.marker() {
            "+" => Tally::Add,
            "-" => Tally::Destroy,
            "-/+" => Tally::Replace,
            _ => Tally::Change,
        }
    }
}

/// Which summary count a change belongs to (a replace counts as one add and one destroy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// to add
    Add,
    /// to change
    Change,
    /// to destroy
    Destroy,
    /// to add and to destroy
    Replace,
}

/// What `apply` carries out for a change. Each is idempotent on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// `brew install ollama` as the user, then re-detect the program.
    InstallOllama,
    /// `networksetup -setmanual <service> <address> <mask> <router>`.
    SetManual {
        /// Network service name.
        service: String,
        /// Address.
        address: Ipv4Addr,
        /// Mask.
        subnet_mask: Ipv4Addr,
        /// Router.
        router: Ipv4Addr,
    },
    /// `networksetup -setdnsservers <service> <dns…>|empty`.
    SetDnsServers {
        /// Network service name.
        service: String,
        /// Servers; empty = `empty`.
        servers: Vec<Ipv4Addr>,
    },
    /// Create the log files' parent directories (launchd creates the files, not the dirs).
    CreateLogDirs {
        /// Directories to create.
        dirs: Vec<PathBuf>,
    },
    /// Write the plist atomically (temp + fsync + rename), keeping a backup of the old file.
    WritePlist {
        /// Destination.
        path: PathBuf,
        /// Canonical XML.
        contents: String,
    },
    /// Bootout when loaded, wait until gone, enable, bootstrap (retry EIO 5), wait until ready.
    LoadJob {
        /// `gui/501` or `system`.
        domain: Domain,
        /// The label.
        label: Label,
        /// The plist path to bootstrap.
        plist: PathBuf,
        /// Whether the job is loaded now (so a bootout comes first).
        loaded: bool,
    },
    /// `launchctl kickstart -k <domain>/<label>`, then wait until ready.
    KickstartJob {
        /// `gui/501/com.ollama` or `system/com.ollama`.
        target: ServiceTarget,
    },
    /// `POST /api/pull`, streaming progress.
    PullModel {
        /// The model.
        name: ModelName,
    },
    /// Unload (`POST /api/generate` with `keep_alive: 0`), then `DELETE /api/delete` (which
    /// removes the files only).
    RemoveModel {
        /// The model as Ollama lists it.
        name: String,
    },
    /// `POST /api/create` `from` + `parameters`, streaming statuses like a pull: the derived
    /// model of a `[[models]]` entry with `context_length` or `[models.parameters]`. A replace
    /// unloads the old model first, so the next load runs the new parameters.
    CreateModel {
        /// The derived model (its served name).
        name: ModelName,
        /// The declared model it is built from.
        from: ModelName,
        /// The parameters, as `POST /api/create` takes them (`num_ctx` = `context_length`).
        parameters: BTreeMap<String, serde_json::Value>,
        /// The model exists with other parameters or another parent (unload it first).
        replace: bool,
    },
    /// `POST /api/generate` with an empty prompt (or `/api/embed` for embedding models), then
    /// check `/api/ps`.
    WarmModel {
        /// The model.
        name: ModelName,
        /// Load through `/api/embed` (embedding-only models refuse `/api/generate`).
        embedding: bool,
        /// The declared `context_length`: sent as `options.num_ctx`, and `/api/ps` must then
        /// serve at least that much.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context_length: Option<u32>,
    },
    /// `launchctl bootout <domain>/<label>`, then wait until launchd no longer knows it
    /// (`ssollama destroy`).
    BootoutJob {
        /// `gui/501` or `system`.
        domain: Domain,
        /// The label.
        label: Label,
    },
    /// Remove the plist (a backup is kept next to it) (`ssollama destroy`).
    RemovePlist {
        /// The plist.
        path: PathBuf,
    },
    /// Remove the log files (`ssollama destroy --logs`).
    RemoveLogs {
        /// The files.
        paths: Vec<PathBuf>,
    },
    /// `networksetup -setdhcp <service>` (`ssollama destroy --network`).
    SetDhcp {
        /// Network service name.
        service: String,
    },
}

/// Something that stops `apply` before it changes anything, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    /// Resource address, e.g. `conflict.ollama_app`.
    pub resource: Address,
    /// What is wrong.
    pub problem: String,
    /// What to do (including `--take-over` where it applies).
    pub fix: String,
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn action_names_are_their_serde_names() {
        for action in [
            Action::Create,
            Action::Update,
            Action::Delete,
            Action::Replace,
            Action::Load,
            Action::Reload,
            Action::Restart,
            Action::Install,
            Action::SetNetwork,
            Action::SetDns,
            Action::Pull,
            Action::Remove,
            Action::Warm,
        ] {
            assert_eq!(serde_json::to_value(action).unwrap(), action.name());
        }
    }
}
