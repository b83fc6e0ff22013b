//! The destroy planner: a pure function from `server.toml` and an observation to the changes that
//! remove what ssollama manages (`ssollama destroy`).
//!
//! Same contract as [`super::plan`]: total, deterministic, no I/O; nothing is removed on an
//! unknown fact, and only what ssollama can show it owns is touched (its label's job and plist,
//! the log files it declared, the network service it declared, the models `server.toml` lists).
//! Entry point: [`destroy_plan`].

use serde_json::{Value as Json, json};

use super::{Address, plist_path, remove_model};
use crate::launchd::domain::{self, ServiceTarget};
use crate::model::desired::Desired;
use crate::model::observed::{IpMethod, JobStatus, PlistFile, ServerStatus};
use crate::model::{Knowable, Observed};
use crate::ollama::name::ModelName;
use crate::plan::{Action, Change, Operation, Plan};

/// What `destroy` removes besides the job and its plist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DestroyOptions {
    /// Paths never removed, whatever `[logs]` says: `server.toml` itself (the CLI passes the log
    /// paths that resolve to it).
    pub keep: Vec<std::path::PathBuf>,
    /// `--logs`: remove the log files too.
    pub logs: bool,
    /// `--network`: revert the network service to DHCP (and clear the DNS servers it manages).
    pub network: bool,
    /// `--models`: remove the models `server.toml` lists (only those, by exact normalized name).
    pub models: bool,
}

/// Computes the changes that remove what ssollama manages, in execution order: models first
/// (they need the server), then the job (bootout), its plist, the logs, and the network last (a
/// changed address may cut this session off).
///
/// # Guarantees
/// Idempotent: an empty plan when nothing managed is left. Models are removed only with
/// `options.models`, only when the installed list is known, and only when their normalized name
/// is declared in `server.toml`.
#[must_use]
pub(crate) fn destroy_plan(
    desired: &Desired,
    observed: &Observed,
    options: &DestroyOptions,
) -> Plan {
    let mut plan = Plan::default();
    if options.models {
        destroy_models(desired, observed, &mut plan);
    }
    let label = &desired.service.label;
    let domain = domain::domain_for(&desired.service.mode, observed.host.uid);
    let target = ServiceTarget::new(domain, label.clone());
    match &observed.job {
        Knowable::Known(JobStatus::Loaded(job)) => plan.changes.push(Change {
            resource: Address::Job,
            action: Action::Delete,
            reason: "job is loaded".to_owned(),
            before: json!({ "target": target, "state": job.state }),
            after: Json::Null,
            operation: Operation::BootoutJob {
                domain,
                label: label.clone(),
            },
        }),
        Knowable::Known(JobStatus::NotLoaded) => {}
        Knowable::Unknown { reason } => plan.unknowns.push(format!(
            "{}: {reason}; the job is left alone (and so is its plist)",
            Address::Job
        )),
    }
    let path = plist_path(desired, &observed.host.home);
    let job_unknown = matches!(observed.job, Knowable::Unknown { .. });
    match &observed.plist {
        PlistFile::Present { .. } | PlistFile::Unreadable { .. } if job_unknown => {}
        PlistFile::Present { .. } | PlistFile::Unreadable { .. } => plan.changes.push(Change {
            resource: Address::Plist,
            action: Action::Delete,
            reason: "file exists".to_owned(),
            before: json!({ "path": path.display().to_string() }),
            after: Json::Null,
            operation: Operation::RemovePlist { path },
        }),
        PlistFile::Absent { .. } => {}
    }
    if options.logs {
        // Only regular files: never a device (`/dev/null` is a common log path), a directory, a
        // link (nor what it points to), nor server.toml.
        let paths: Vec<_> = observed
            .logs
            .iter()
            .filter(|log| log.meta.is_some_and(|m| m.regular))
            .filter(|log| !options.keep.contains(&log.path))
            .map(|log| log.path.clone())
            .collect();
        if !paths.is_empty() {
            plan.changes.push(Change {
                resource: Address::Logs,
                action: Action::Delete,
                reason: "log files exist".to_owned(),
                before: json!({ "paths": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>() }),
                after: Json::Null,
                operation: Operation::RemoveLogs { paths },
            });
        }
    }
    if options.network {
        destroy_network(desired, observed, &mut plan);
    }
    plan
}

/// Why `destroy --models` cannot tell which models to remove: `Some(reason)` when `server.toml`
/// lists models and the installed ones are unknown (Ollama down or its list unreadable). The CLI
/// refuses to start on it, so a destroy never reports success while leaving every model behind.
#[must_use]
pub(crate) fn models_unknown(desired: &Desired, observed: &Observed) -> Option<String> {
    if desired.models.is_empty() {
        return None;
    }
    match &observed.ollama.server {
        ServerStatus::Up {
            models: Knowable::Known(_),
            ..
        } => None,
        ServerStatus::Up {
            models: Knowable::Unknown { reason },
            ..
        } => Some(format!("the installed models are unknown ({reason})")),
        ServerStatus::Down { reason } => Some(format!("Ollama is not running ({reason})")),
    }
}

fn destroy_models(desired: &Desired, observed: &Observed, plan: &mut Plan) {
    let ServerStatus::Up {
        models: Knowable::Known(installed),
        ..
    } = &observed.ollama.server
    else {
        if let Some(reason) = models_unknown(desired, observed) {
            plan.unknowns.push(format!(
                "{}: {reason}; no model is removed",
                Address::Models
            ));
        }
        return;
    };
    for spec in &desired.models {
        for model in installed {
            if ModelName::parse(&model.name).is_ok_and(|n| n == spec.name) {
                plan.changes.push(remove_model(
                    model,
                    "declared in server.toml and `destroy --models`",
                ));
            }
        }
    }
}

fn destroy_network(desired: &Desired, observed: &Observed, plan: &mut Plan) {
    let Some(spec) = &desired.network else {
        return;
    };
    let address = Address::network(&spec.service);
    let Some(Knowable::Known(state)) = &observed.network else {
        plan.unknowns.push(format!(
            "{address}: the network could not be observed; it is left alone"
        ));
        return;
    };
    match &state.info {
        Some(Knowable::Known(info)) if info.method != IpMethod::Dhcp => {
            plan.changes.push(Change {
                resource: address.clone(),
                action: Action::SetNetwork,
                reason: "revert to DHCP (`destroy --network`)".to_owned(),
                before: json!({ "method": "manual", "address": info.address.map(|a| a.to_string()) }),
                after: json!({ "method": "dhcp" }),
                operation: Operation::SetDhcp {
                    service: spec.service.clone(),
                },
            });
        }
        Some(Knowable::Known(_)) | None => {}
        Some(Knowable::Unknown { reason }) => {
            plan.unknowns.push(format!("{address}: {reason}"));
        }
    }
    if spec.dns.is_some()
        && let Some(Knowable::Known(servers)) = &state.dns
        && !servers.is_empty()
    {
        plan.changes.push(Change {
            resource: address,
            action: Action::SetDns,
            reason: "clear the DNS servers (`destroy --network`)".to_owned(),
            before: json!({ "dns": servers.iter().map(ToString::to_string).collect::<Vec<_>>() }),
            after: json!({ "dns": [] }),
            operation: Operation::SetDnsServers {
                service: spec.service.clone(),
                servers: Vec::new(),
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::path::PathBuf;

    use super::{DestroyOptions, destroy_plan, models_unknown};
    use crate::model::Knowable;
    use crate::model::desired::{
        Desired, Label, Listen, Logs, Mode, ModelPolicy, ModelSpec, NetworkSpec, OllamaSettings,
        Service,
    };
    use crate::model::observed::{
        FileMeta, HostFacts, InstalledModel, IpConfig, IpMethod, JobStatus, LoadedJob, LogFile,
        NetworkService, NetworkState, OBSERVATION_FORMAT, Observed, OllamaState, PlistFile,
        ProgramState, ServerStatus,
    };
    use crate::ollama::name::ModelName;
    use crate::plan::Operation;

    fn desired() -> Desired {
        Desired {
            service: Service {
                label: Label::new("com.ollama").unwrap(),
                mode: Mode::Agent,
                program: None,
                process_type: crate::model::desired::ProcessType::Interactive,
            },
            listen: Listen {
                host: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)),
                port: 11434,
            },
            network: Some(NetworkSpec {
                service: "Ethernet".to_owned(),
                address: Ipv4Addr::new(127, 0, 0, 7),
                subnet_mask: Ipv4Addr::new(255, 0, 0, 0),
                router: Ipv4Addr::LOCALHOST,
                dns: None,
            }),
            logs: Logs {
                stdout: PathBuf::from("/tmp/o.log"),
                stderr: PathBuf::from("/tmp/e.log"),
            },
            ollama: OllamaSettings::default(),
            model_policy: ModelPolicy::default(),
            models: vec![ModelSpec {
                name: ModelName::parse("llama3").unwrap(),
                warm: true,
                derived: None,
            }],
        }
    }

    fn installed(name: &str) -> InstalledModel {
        InstalledModel {
            name: name.to_owned(),
            digest: "ab".to_owned(),
            size: 1,
            modified_at: String::new(),
            capabilities: Vec::new(),
            family: None,
        }
    }

    /// A Mac where everything ssollama manages exists.
    fn deployed() -> Observed {
        Observed {
            format: OBSERVATION_FORMAT,
            host: HostFacts {
                uid: 501,
                home: PathBuf::from("/Users/t"),
                os_version: Knowable::Known("14.2.1".to_owned()),
            },
            plist: PlistFile::Present {
                path: PathBuf::from("/Users/t/Library/LaunchAgents/com.ollama.plist"),
                text: String::new(),
                owner: 501,
                mode: 0o644,
                binary: false,
            },
            job: Knowable::Known(JobStatus::Loaded(LoadedJob {
                state: Some("running".to_owned()),
                pid: Some(7),
                ..LoadedJob::default()
            })),
            network: Some(Knowable::Known(NetworkState {
                services: vec![NetworkService {
                    name: "Ethernet".to_owned(),
                    enabled: true,
                }],
                info: Some(Knowable::Known(IpConfig {
                    method: IpMethod::Manual,
                    address: Some(Ipv4Addr::new(127, 0, 0, 7)),
                    subnet_mask: Some(Ipv4Addr::new(255, 0, 0, 0)),
                    router: Some(Ipv4Addr::LOCALHOST),
                })),
                dns: Some(Knowable::Known(Vec::new())),
            })),
            ollama: OllamaState {
                url: "http://127.0.0.7:11434".to_owned(),
                server: ServerStatus::Up {
                    version: "0.12.6".to_owned(),
                    models: Knowable::Known(vec![
                        installed("llama3:latest"),
                        installed("qwen3:8b"),
                    ]),
                    loaded: Knowable::Known(Vec::new()),
                    shown: std::collections::BTreeMap::new(),
                },
            },
            program: ProgramState {
                path: Some(PathBuf::from("/opt/homebrew/bin/ollama")),
                candidates: Vec::new(),
                version: Knowable::unknown("-"),
                brew: None,
            },
            logs: vec![LogFile {
                path: PathBuf::from("/tmp/o.log"),
                meta: Some(FileMeta {
                    owner: 501,
                    mode: 0o644,
                    regular: true,
                }),
            }],
            conflicts: Knowable::Known(Vec::new()),
            memory: None,
            server_config: None,
        }
    }

    fn ops(options: &DestroyOptions) -> Vec<String> {
        destroy_plan(&desired(), &deployed(), options)
            .changes
            .iter()
            .map(|c| {
                serde_json::to_value(&c.operation).unwrap()["op"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn default_destroy_boots_out_and_removes_the_plist_only() {
        assert_eq!(
            ops(&DestroyOptions::default()),
            ["bootout_job", "remove_plist"]
        );
    }

    #[test]
    fn every_option_adds_its_removal_in_order() {
        let all = DestroyOptions {
            logs: true,
            network: true,
            models: true,
            keep: Vec::new(),
        };
        assert_eq!(
            ops(&all),
            [
                "remove_model",
                "bootout_job",
                "remove_plist",
                "remove_logs",
                "set_dhcp"
            ]
        );
    }

    #[test]
    fn only_declared_models_are_removed() {
        let plan = destroy_plan(
            &desired(),
            &deployed(),
            &DestroyOptions {
                models: true,
                ..DestroyOptions::default()
            },
        );
        let removed: Vec<_> = plan
            .changes
            .iter()
            .filter_map(|c| match &c.operation {
                Operation::RemoveModel { name } => Some(name.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(removed, ["llama3:latest"]);
    }

    #[test]
    fn a_destroyed_mac_plans_nothing() {
        let mut observed = deployed();
        observed.job = Knowable::Known(JobStatus::NotLoaded);
        observed.plist = PlistFile::Absent {
            path: PathBuf::from("/Users/t/Library/LaunchAgents/com.ollama.plist"),
        };
        observed.logs[0].meta = None;
        let plan = destroy_plan(
            &desired(),
            &observed,
            &DestroyOptions {
                logs: true,
                ..DestroyOptions::default()
            },
        );
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn logs_remove_only_regular_files_and_never_server_toml() {
        let logs = |observed: &Observed, keep: Vec<PathBuf>| -> Vec<PathBuf> {
            let plan = destroy_plan(
                &desired(),
                observed,
                &DestroyOptions {
                    logs: true,
                    keep,
                    ..DestroyOptions::default()
                },
            );
            plan.changes
                .iter()
                .find_map(|c| match &c.operation {
                    Operation::RemoveLogs { paths } => Some(paths.clone()),
                    _ => None,
                })
                .unwrap_or_default()
        };
        let observed = deployed();
        let path = observed.logs[0].path.clone();
        assert_eq!(logs(&observed, Vec::new()), std::slice::from_ref(&path));
        // `/dev/null`, a directory, a link: not regular, never removed.
        let mut device = deployed();
        if let Some(meta) = &mut device.logs[0].meta {
            meta.regular = false;
        }
        assert_eq!(logs(&device, Vec::new()), Vec::<PathBuf>::new());
        // A log path that is server.toml.
        assert_eq!(logs(&observed, vec![path]), Vec::<PathBuf>::new());
    }

    #[test]
    fn an_unknown_job_leaves_the_job_and_the_plist_alone() {
        let mut observed = deployed();
        observed.job = Knowable::unknown("no GUI session");
        let plan = destroy_plan(&desired(), &observed, &DestroyOptions::default());
        assert!(plan.changes.is_empty());
        assert_eq!(plan.unknowns.len(), 1);
    }

    #[test]
    fn models_are_unknown_only_when_the_server_cannot_list_them() {
        assert_eq!(models_unknown(&desired(), &deployed()), None);
        let mut down = deployed();
        down.ollama.server = ServerStatus::Down {
            reason: "connection refused".to_owned(),
        };
        let reason = models_unknown(&desired(), &down).unwrap();
        assert!(
            reason.contains("Ollama is not running (connection refused)"),
            "{reason}"
        );
        let mut none_declared = desired();
        none_declared.models.clear();
        assert_eq!(models_unknown(&none_declared, &down), None);
    }
}
