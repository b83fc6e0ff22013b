//! The apply journal: what happened to each step ([`StepRecord`]), and the pure rule that decides
//! which steps are skipped because an earlier one did not complete ([`skip_reason`]).
//!
//! Pure data and pure functions: no I/O, no clock (durations are measured by the caller).

use serde::{Deserialize, Serialize};

use crate::plan::{Address, Change, Operation};

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum StepStatus {
    /// The step did what it had to.
    Done {
        /// One line about what was done (`bootstrapped gui/501/com.ollama after 2 attempts`).
        detail: String,
    },
    /// The step failed; nothing that depends on it runs.
    Failed {
        /// The error, with the step's command or URL.
        error: String,
    },
    /// The step did not run.
    Skipped {
        /// Why (an earlier step failed, or the run was interrupted).
        because: String,
    },
}

impl StepStatus {
    /// The word the journal prints: `done`, `failed`, `skipped`.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            Self::Done { .. } => "done",
            Self::Failed { .. } => "failed",
            Self::Skipped { .. } => "skipped",
        }
    }
}

/// One journal line: a step of a round and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    /// The converge round (1-based).
    pub round: usize,
    /// Resource address (`launchd.job`, `ollama.model["llama3:latest"]`, `conflict.ollama_app`).
    pub resource: Address,
    /// The action as `plan --json` spells it (`reload`, `pull`, …; `take-over` for conflicts).
    pub action: String,
    /// How it ended.
    #[serde(flatten)]
    pub status: StepStatus,
    /// How long it took, in milliseconds.
    pub millis: u64,
}

impl StepRecord {
    /// A record for `change` in `round`.
    pub(crate) fn new(round: usize, change: &Change, status: StepStatus, millis: u64) -> Self {
        Self {
            round,
            resource: change.resource.clone(),
            action: change.action.name().to_owned(),
            status,
            millis,
        }
    }
}

/// Whether `later` cannot run meaningfully when `earlier` did not complete.
///
/// The rules (each one is a *why*):
/// - nothing that needs the `ollama` program (loading the job, any model step) runs after a
///   failed install;
/// - a failed `-setmanual` skips loading or restarting the job: the bind address may not exist;
/// - a failed plist write skips the load (it would load the old file);
/// - a failed load or restart skips every model step (the server is not known to be up);
/// - a failed pull skips warming that model and creating a model from it;
/// - a failed create skips warming the model it was to create;
/// - a failed bootout (destroy) keeps the plist in place, so launchd and the disk still agree.
pub(crate) fn depends_on(later: &Operation, earlier: &Operation) -> bool {
    use Operation as Op;
    let job = |op: &Op| matches!(op, Op::LoadJob { .. } | Op::KickstartJob { .. });
    let model = |op: &Op| {
        matches!(
            op,
            Op::PullModel { .. }
                | Op::RemoveModel { .. }
                | Op::CreateModel { .. }
                | Op::WarmModel { .. }
        )
    };
    match earlier {
        Op::InstallOllama => job(later) || model(later),
        // A job whose log directory is missing never starts (launchd exit 78).
        Op::SetManual { .. } | Op::CreateLogDirs { .. } => job(later),
        Op::WritePlist { .. } => matches!(later, Op::LoadJob { .. }),
        Op::LoadJob { .. } | Op::KickstartJob { .. } => model(later),
        Op::PullModel { name } => {
            matches!(
                later,
                Op::WarmModel { name: warm, .. } if warm == name
            ) || matches!(later, Op::CreateModel { from, .. } if from == name)
        }
        Op::CreateModel { name, .. } => {
            matches!(later, Op::WarmModel { name: warm, .. } if warm == name)
        }
        Op::BootoutJob { .. } => matches!(later, Op::RemovePlist { .. }),
        Op::SetDnsServers { .. }
        | Op::RemoveModel { .. }
        | Op::WarmModel { .. }
        | Op::RemovePlist { .. }
        | Op::RemoveLogs { .. }
        | Op::SetDhcp { .. } => false,
    }
}

/// Why `change` must be skipped, given the earlier changes of the round that did not complete
/// (failed or skipped, in order); `None` = it may run.
pub(crate) fn skip_reason(change: &Change, unfinished: &[&Change]) -> Option<String> {
    unfinished
        .iter()
        .find(|earlier| depends_on(&change.operation, &earlier.operation))
        .map(|earlier| {
            format!(
                "`{} {}` did not complete",
                earlier.action.name(),
                earlier.resource
            )
        })
}

/// Counts of a journal: `(done, failed, skipped)`.
pub(crate) fn tally(steps: &[StepRecord]) -> (usize, usize, usize) {
    steps
        .iter()
        .fold((0, 0, 0), |(d, f, s), step| match step.status {
            StepStatus::Done { .. } => (d + 1, f, s),
            StepStatus::Failed { .. } => (d, f + 1, s),
            StepStatus::Skipped { .. } => (d, f, s + 1),
        })
}

/// The action name for a take-over step (not a planned change).
pub(crate) const TAKE_OVER: &str = "take-over";

/// The action of the joint check of the warm models after a round's warm steps.
pub(crate) const WARM_CHECK: &str = "check-warm";

/// The action name of a rollback after a failed load: the previous plist put back and loaded.
pub(crate) const ROLLBACK: &str = "rollback";

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::path::PathBuf;

    use serde_json::Value as Json;

    use super::{StepRecord, StepStatus, depends_on, skip_reason, tally};
    use crate::ollama::name::ModelName;
    use crate::plan::{Action, Address, Change, Operation};

    fn change(resource: Address, action: Action, operation: Operation) -> Change {
        Change {
            resource,
            action,
            reason: String::new(),
            before: Json::Null,
            after: Json::Null,
            operation,
        }
    }

    fn model(name: &str) -> ModelName {
        ModelName::parse(name).unwrap()
    }

    fn set_manual() -> Change {
        change(
            Address::network("Ethernet"),
            Action::SetNetwork,
            Operation::SetManual {
                service: "Ethernet".to_owned(),
                address: Ipv4Addr::new(127, 0, 0, 7),
                subnet_mask: Ipv4Addr::new(255, 0, 0, 0),
                router: Ipv4Addr::LOCALHOST,
            },
        )
    }

    fn load() -> Change {
        change(
            Address::Job,
            Action::Reload,
            Operation::LoadJob {
                domain: "gui/501".parse().unwrap(),
                label: crate::model::desired::Label::new("com.ollama").unwrap(),
                plist: PathBuf::from("/Users/t/Library/LaunchAgents/com.ollama.plist"),
                loaded: true,
            },
        )
    }

    fn pull(name: &str) -> Change {
        change(
            Address::model(name),
            Action::Pull,
            Operation::PullModel { name: model(name) },
        )
    }

    fn warm(name: &str) -> Change {
        change(
            Address::model(name),
            Action::Warm,
            Operation::WarmModel {
                name: model(name),
                embedding: false,
                context_length: None,
            },
        )
    }

    #[test]
    fn a_failed_network_step_skips_the_job_load() {
        let net = set_manual();
        assert_eq!(
            skip_reason(&load(), &[&net]).as_deref(),
            Some("`set-network network.service[\"Ethernet\"]` did not complete")
        );
    }

    #[test]
    fn a_failed_dns_step_does_not_skip_the_job_load() {
        let dns = change(
            Address::network("Ethernet"),
            Action::SetDns,
            Operation::SetDnsServers {
                service: "Ethernet".to_owned(),
                servers: vec![],
            },
        );
        assert_eq!(skip_reason(&load(), &[&dns]), None);
    }

    #[test]
    fn a_failed_reload_skips_every_model_step() {
        let job = load();
        assert!(skip_reason(&pull("llama3"), &[&job]).is_some());
        assert!(skip_reason(&warm("llama3"), &[&job]).is_some());
    }

    #[test]
    fn a_failed_pull_skips_warming_that_model_only() {
        let failed = pull("llama3");
        assert!(skip_reason(&warm("llama3:latest"), &[&failed]).is_some());
        assert_eq!(skip_reason(&warm("all-minilm"), &[&failed]), None);
        assert_eq!(skip_reason(&pull("all-minilm"), &[&failed]), None);
    }

    #[test]
    fn skips_propagate_through_skipped_steps() {
        // network failed → load skipped → (the skipped load is unfinished) → warm skipped.
        let net = set_manual();
        let job = load();
        let first = skip_reason(&job, &[&net]);
        assert!(first.is_some());
        let second = skip_reason(&warm("llama3"), &[&net, &job]);
        assert_eq!(
            second.as_deref(),
            Some("`reload launchd.job` did not complete")
        );
    }

    #[test]
    fn a_failed_install_skips_the_job_and_the_models_but_not_the_plist() {
        let install = change(Address::Program, Action::Install, Operation::InstallOllama);
        let write = change(
            Address::Plist,
            Action::Create,
            Operation::WritePlist {
                path: PathBuf::from("/x.plist"),
                contents: String::new(),
            },
        );
        assert_eq!(skip_reason(&write, &[&install]), None);
        assert!(skip_reason(&load(), &[&install]).is_some());
        assert!(depends_on(&pull("a").operation, &install.operation));
    }

    #[test]
    fn a_failed_pull_skips_the_create_from_it_and_a_failed_create_its_warm() {
        let create = change(
            Address::model("llama3:8k"),
            Action::Create,
            Operation::CreateModel {
                name: model("llama3:8k"),
                from: model("llama3"),
                parameters: std::collections::BTreeMap::new(),
                replace: false,
            },
        );
        assert!(depends_on(&create.operation, &pull("llama3").operation));
        assert!(!depends_on(&create.operation, &pull("qwen3").operation));
        assert!(depends_on(&warm("llama3:8k").operation, &create.operation));
        assert!(!depends_on(&warm("llama3").operation, &create.operation));
        assert!(depends_on(&create.operation, &load().operation));
    }

    #[test]
    fn a_failed_bootout_keeps_the_plist() {
        let bootout = change(
            Address::Job,
            Action::Delete,
            Operation::BootoutJob {
                domain: "gui/501".parse().unwrap(),
                label: crate::model::desired::Label::new("com.ollama").unwrap(),
            },
        );
        let remove = change(
            Address::Plist,
            Action::Delete,
            Operation::RemovePlist {
                path: PathBuf::from("/x.plist"),
            },
        );
        assert!(skip_reason(&remove, &[&bootout]).is_some());
    }

    #[test]
    fn tally_counts_each_status() {
        let c = load();
        let steps = vec![
            StepRecord::new(
                1,
                &c,
                StepStatus::Done {
                    detail: String::new(),
                },
                1,
            ),
            StepRecord::new(
                1,
                &c,
                StepStatus::Failed {
                    error: "x".to_owned(),
                },
                1,
            ),
            StepRecord::new(
                1,
                &c,
                StepStatus::Skipped {
                    because: "y".to_owned(),
                },
                0,
            ),
        ];
        assert_eq!(tally(&steps), (1, 1, 1));
        assert_eq!(steps[0].action, "reload");
    }
}
