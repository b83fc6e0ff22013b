//! Planner tests: example scenarios (with rendered snapshots) and properties over a pure model of
//! the Mac ([`simulate`]): the planner's test layer in ARCHITECTURE.md.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::job::is_running;
use super::plan as plan_fn;
use super::*;
use crate::capacity::Budget;
use crate::launchd::plist::{
    canonical_xml, desired_plist_xml, loaded_matches, loaded_of, parse_plist,
};
use crate::model::Knowable;
use crate::model::desired::{
    Label, Listen, Logs, Mode, ModelPolicy, ModelSpec, NetworkSpec, OllamaDuration, OllamaSettings,
    Service,
};
use crate::model::observed::{
    Conflict, FileMeta, HostFacts, InstalledModel, IpConfig, IpMethod, JobStatus, LastExit,
    LoadedJob, LoadedModel, LogFile, NetworkService, NetworkState, OllamaState, PlistFile,
    ProgramState, ServerStatus, ShownModel,
};
use crate::ollama::name::ModelName;
use crate::render::Style;
use crate::render::text::{check_lines, plan_text};

const UID: u32 = 501;
const HOME: &str = "/Users/tester";
const BREW_OLLAMA: &str = "/opt/homebrew/opt/ollama/bin/ollama";
const MODEL_NAMES: [&str; 3] = ["llama3", "qwen2.5-coder:32b", "nomic-embed-text"];

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

fn name(text: &str) -> ModelName {
    ModelName::parse(text).unwrap()
}

/// The `server.toml` of the examples: an agent on 192.168.250.20, three models, two warm.
fn desired() -> Desired {
    Desired {
        service: Service {
            label: Label::new("com.ollama").unwrap(),
            mode: Mode::Agent,
            program: None,
            process_type: crate::model::desired::ProcessType::Interactive,
        },
        listen: Listen {
            host: IpAddr::V4(ip("192.168.250.20")),
            port: 11434,
        },
        network: Some(NetworkSpec {
            service: "Ethernet".to_owned(),
            address: ip("192.168.250.20"),
            subnet_mask: ip("255.255.255.0"),
            router: ip("192.168.250.1"),
            dns: Some(vec![ip("192.168.250.1"), ip("1.1.1.1")]),
        }),
        logs: Logs {
            stdout: PathBuf::from("/tmp/ollama.stdout.log"),
            stderr: PathBuf::from("/tmp/ollama.stderr.log"),
        },
        ollama: OllamaSettings {
            keep_alive: Some(OllamaDuration {
                text: "-1".to_owned(),
                nanos: None,
            }),
            flash_attention: Some(true),
            ..OllamaSettings::default()
        },
        model_policy: ModelPolicy { prune: false },
        models: vec![
            ModelSpec {
                name: name("llama3"),
                warm: false,
                derived: None,
            },
            ModelSpec {
                name: name("qwen2.5-coder:32b"),
                warm: true,
                derived: None,
            },
            ModelSpec {
                name: name("nomic-embed-text"),
                warm: true,
                derived: None,
            },
        ],
    }
}

fn installed(model: &ModelName) -> InstalledModel {
    let embedding = model.key().contains("embed");
    InstalledModel {
        name: model.display(),
        digest: format!("{:0>64}", model.key().len()),
        size: 4_000_000_000,
        modified_at: "2026-11-01T10:00:00Z".to_owned(),
        capabilities: vec![if embedding { "embedding" } else { "completion" }.to_owned()],
        family: None,
    }
}

fn in_memory(model: &ModelName) -> LoadedModel {
    LoadedModel {
        name: model.display(),
        digest: installed(model).digest,
        expires_at: "2318-08-01T00:00:00Z".to_owned(),
        size: 4_000_000_000,
        size_vram: 4_000_000_000,
        context_length: None,
    }
}

fn expected_owner(desired: &Desired, uid: u32) -> u32 {
    match desired.service.mode {
        Mode::Agent => uid,
        Mode::Daemon { .. } => 0,
    }
}

fn running(mut job: LoadedJob, pid: u32) -> LoadedJob {
    job.state = Some("running".to_owned());
    job.pid = Some(pid);
    job.runs = Some(job.runs.unwrap_or(0) + 1);
    job.last_exit = Some(LastExit::NeverExited);
    job
}

/// The observation of a Mac that already is what `desired` declares.
fn observed_of(desired: &Desired) -> Observed {
    let home = PathBuf::from(HOME);
    let path = plist_path(desired, &home);
    let program = PathBuf::from(BREW_OLLAMA);
    let dict = desired_plist(desired, &program);
    let network = desired.network.as_ref().map(|spec| {
        Knowable::Known(NetworkState {
            services: vec![
                NetworkService {
                    name: "Ethernet".to_owned(),
                    enabled: true,
                },
                NetworkService {
                    name: "Wi-Fi".to_owned(),
                    enabled: true,
                },
            ],
            info: Some(Knowable::Known(IpConfig {
                method: IpMethod::Manual,
                address: Some(spec.address),
                subnet_mask: Some(spec.subnet_mask),
                router: Some(spec.router),
            })),
            dns: Some(Knowable::Known(v4s(spec
                .dns
                .as_deref()
                .unwrap_or_default()))),
        })
    });
    Observed {
        format: crate::model::observed::OBSERVATION_FORMAT,
        host: HostFacts {
            uid: UID,
            home,
            os_version: Knowable::Known("14.2.1".to_owned()),
        },
        plist: PlistFile::Present {
            path: path.clone(),
            text: desired_plist_xml(desired, &program),
            owner: expected_owner(desired, UID),
            mode: 0o644,
            binary: false,
        },
        job: Knowable::Known(JobStatus::Loaded(running(loaded_of(&dict, &path), 812))),
        network,
        ollama: OllamaState {
            url: format!("http://{}", desired.listen.connect_addr()),
            server: ServerStatus::Up {
                version: "0.32.3".to_owned(),
                models: Knowable::Known(
                    desired.models.iter().map(|m| installed(&m.name)).collect(),
                ),
                loaded: Knowable::Known(
                    desired
                        .models
                        .iter()
                        .filter(|m| m.warm && !m.name.is_cloud())
                        .map(|m| in_memory(&m.name))
                        .collect(),
                ),
                shown: std::collections::BTreeMap::new(),
            },
        },
        program: ProgramState {
            path: Some(program.clone()),
            candidates: vec![program, PathBuf::from("/usr/local/bin/ollama")],
            version: Knowable::Known("ollama version is 0.32.3".to_owned()),
            brew: Some(PathBuf::from("/opt/homebrew/bin/brew")),
        },
        logs: [&desired.logs.stdout, &desired.logs.stderr]
            .into_iter()
            .map(|p| LogFile {
                path: p.clone(),
                meta: Some(FileMeta {
                    owner: UID,
                    mode: 0o644,
                    regular: true,
                }),
            })
            .collect(),
        conflicts: Knowable::Known(Vec::new()),
        memory: None,
        server_config: None,
    }
}

/// A Mac on which nothing was set up yet: no Ollama, no plist, DHCP, nothing listening.
fn fresh_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    observed.program.path = None;
    observed.program.version = Knowable::unknown("no `ollama` program found");
    observed.plist = PlistFile::Absent {
        path: plist_path(desired, Path::new(HOME)),
    };
    observed.job = Knowable::Known(JobStatus::NotLoaded);
    if let Some(Knowable::Known(state)) = &mut observed.network {
        state.info = Some(Knowable::Known(IpConfig {
            method: IpMethod::Dhcp,
            address: Some(ip("192.168.250.57")),
            subnet_mask: Some(ip("255.255.255.0")),
            router: Some(ip("192.168.250.1")),
        }));
        state.dns = Some(Knowable::Known(Vec::new()));
    }
    observed.ollama.server = ServerStatus::Down {
        reason: "connection refused".to_owned(),
    };
    for log in &mut observed.logs {
        log.meta = None;
    }
    observed
}

/// The plist on disk was written by an older `server.toml` (all interfaces, no flash attention).
fn plist_drift_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    let mut old = desired.clone();
    old.listen.host = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    old.ollama.flash_attention = None;
    if let PlistFile::Present { text, .. } = &mut observed.plist {
        *text = desired_plist_xml(&old, Path::new(BREW_OLLAMA));
    }
    observed
}

/// The file is right, but launchd still runs a job loaded with another `OLLAMA_HOST`.
fn loaded_env_drift_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    if let Knowable::Known(JobStatus::Loaded(job)) = &mut observed.job {
        job.environment
            .insert("OLLAMA_HOST".to_owned(), "127.0.0.1:11434".to_owned());
        job.environment
            .insert("OSLogRateLimit".to_owned(), "64".to_owned());
    }
    observed
}

/// Someone ran `launchctl bootout gui/501/com.ollama`: no job, no server.
fn booted_out_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    observed.job = Knowable::Known(JobStatus::NotLoaded);
    observed.ollama.server = ServerStatus::Down {
        reason: "connection refused".to_owned(),
    };
    observed
}

/// The Ethernet service has another address and the DNS servers in another order.
fn ip_drift_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    if let Some(Knowable::Known(state)) = &mut observed.network {
        state.info = Some(Knowable::Known(IpConfig {
            method: IpMethod::Manual,
            address: Some(ip("192.168.250.21")),
            subnet_mask: Some(ip("255.255.255.0")),
            router: Some(ip("192.168.250.1")),
        }));
        state.dns = Some(Knowable::Known(v4s(&[ip("1.1.1.1"), ip("192.168.250.1")])));
    }
    observed
}

/// Only `llama3` is installed, nothing is in memory.
fn model_missing_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    if let ServerStatus::Up { models, loaded, .. } = &mut observed.ollama.server {
        *models = Knowable::Known(vec![installed(&name("llama3"))]);
        *loaded = Knowable::Known(Vec::new());
    }
    observed
}

/// Converged, but Ollama evicted the warm models (idle, memory pressure, `keep_alive: 0`).
fn warm_evicted_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    if let ServerStatus::Up { loaded, .. } = &mut observed.ollama.server {
        *loaded = Knowable::Known(Vec::new());
    }
    observed
}

/// Ollama.app runs, and its own server holds the port.
fn ollama_app_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    observed.conflicts = Knowable::Known(vec![
        Conflict::PortTaken {
            pid: 977,
            command: "ollama".to_owned(),
            address: "127.0.0.1:11434".to_owned(),
        },
        Conflict::OllamaAppRunning { pid: 976 },
    ]);
    observed
}

/// A fresh Mac without Homebrew: nothing can install Ollama.
fn fresh_mac_without_brew(desired: &Desired) -> Observed {
    let mut observed = fresh_mac(desired);
    observed.program.brew = None;
    observed
}

/// Over SSH without a GUI login: `launchctl print gui/501/…` cannot answer.
fn no_gui_session_mac(desired: &Desired) -> Observed {
    let mut observed = observed_of(desired);
    observed.job = Knowable::unknown(
        "`launchctl print gui/501/com.ollama` failed with exit 112: no GUI session",
    );
    observed
}

/// The program path `apply` ends up with after installing.
fn installed_program(observed: &Observed) -> PathBuf {
    observed
        .program
        .candidates
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from(BREW_OLLAMA))
}

/// The server as it is right after launchd (re)started the job: same store, nothing in memory.
fn started_server(server: &ServerStatus) -> ServerStatus {
    let models = match server {
        ServerStatus::Up {
            models: Knowable::Known(models),
            ..
        } => models.clone(),
        _ => Vec::new(),
    };
    ServerStatus::Up {
        version: "0.32.3".to_owned(),
        models: Knowable::Known(models),
        loaded: Knowable::Known(Vec::new()),
        shown: std::collections::BTreeMap::new(),
    }
}

/// IPv4 servers as the observation holds them.
fn v4s(servers: &[Ipv4Addr]) -> Vec<IpAddr> {
    servers.iter().copied().map(IpAddr::V4).collect()
}

/// A pure model of the Mac: the observation after `apply` carried out `change`.
fn simulate(observed: &Observed, change: &Change, desired: &Desired) -> Observed {
    let mut next = observed.clone();
    match &change.operation {
        Operation::InstallOllama => next.program.path = Some(installed_program(observed)),
        Operation::SetManual {
            address,
            subnet_mask,
            router,
            ..
        } => {
            if let Some(Knowable::Known(state)) = &mut next.network {
                state.info = Some(Knowable::Known(IpConfig {
                    method: IpMethod::Manual,
                    address: Some(*address),
                    subnet_mask: Some(*subnet_mask),
                    router: Some(*router),
                }));
            }
        }
        Operation::SetDnsServers { servers, .. } => {
            if let Some(Knowable::Known(state)) = &mut next.network {
                state.dns = Some(Knowable::Known(v4s(servers)));
            }
        }
        // Directories are not observed: the files appear when launchd next starts the job.
        // `destroy` operations never appear in `plan()`'s output.
        Operation::CreateLogDirs { .. }
        | Operation::BootoutJob { .. }
        | Operation::RemovePlist { .. }
        | Operation::RemoveLogs { .. }
        | Operation::SetDhcp { .. } => {}
        Operation::WritePlist { path, contents } => {
            next.plist = PlistFile::Present {
                path: path.clone(),
                text: contents.clone(),
                owner: expected_owner(desired, observed.host.uid),
                mode: 0o644,
                binary: false,
            };
        }
        Operation::LoadJob { plist, .. } => {
            // launchd imports whatever the file says now.
            let PlistFile::Present { text, .. } = &observed.plist else {
                return next;
            };
            let Ok(dict) = parse_plist(text).map(|v| v.into_dictionary().unwrap_or_default())
            else {
                return next;
            };
            let previous_pid = match &observed.job {
                Knowable::Known(JobStatus::Loaded(job)) => job.pid.unwrap_or(0),
                _ => 0,
            };
            next.job = Knowable::Known(JobStatus::Loaded(running(
                loaded_of(&dict, plist),
                previous_pid + 1,
            )));
            next.ollama.server = started_server(&observed.ollama.server);
            create_logs(&mut next);
        }
        Operation::KickstartJob { .. } => {
            if let Knowable::Known(JobStatus::Loaded(job)) = &observed.job {
                let pid = job.pid.unwrap_or(0) + 1;
                next.job = Knowable::Known(JobStatus::Loaded(running(job.clone(), pid)));
                next.ollama.server = started_server(&observed.ollama.server);
                create_logs(&mut next);
            }
        }
        Operation::PullModel { name } => {
            if let ServerStatus::Up { models, .. } = &mut next.ollama.server {
                let mut list = models.known().cloned().unwrap_or_default();
                if !list
                    .iter()
                    .any(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name))
                {
                    list.push(installed(name));
                }
                *models = Knowable::Known(list);
            }
        }
        Operation::RemoveModel { name } => {
            if let ServerStatus::Up {
                models: Knowable::Known(list),
                loaded,
                ..
            } = &mut next.ollama.server
            {
                list.retain(|m| m.name != *name);
                if let Knowable::Known(ps) = loaded {
                    ps.retain(|m| m.name != *name);
                }
            }
        }
        Operation::CreateModel {
            name,
            from,
            parameters,
            ..
        } => {
            // As Ollama does: installed, shown with its parent and parameters, and a runner of
            // the old model unloaded first.
            if let ServerStatus::Up {
                models,
                loaded,
                shown,
                ..
            } = &mut next.ollama.server
            {
                let mut list = models.known().cloned().unwrap_or_default();
                if !list
                    .iter()
                    .any(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name))
                {
                    list.push(installed(name));
                }
                *models = Knowable::Known(list);
                if let Knowable::Known(ps) = loaded {
                    ps.retain(|m| ModelName::parse(&m.name).ok().as_ref() != Some(name));
                }
                shown.insert(
                    name.display(),
                    Knowable::Known(Some(created(from, parameters))),
                );
            }
        }
        Operation::WarmModel {
            name,
            context_length,
            ..
        } => {
            if let ServerStatus::Up { loaded, .. } = &mut next.ollama.server {
                let mut ps = loaded.known().cloned().unwrap_or_default();
                ps.retain(|m| ModelName::parse(&m.name).ok().as_ref() != Some(name));
                let mut entry = in_memory(name);
                entry.context_length = context_length.map(u64::from);
                ps.push(entry);
                *loaded = Knowable::Known(ps);
            }
        }
    }
    next
}

/// `/api/show` of a model created `from` with `parameters` (one value per listed line).
fn created(from: &ModelName, parameters: &BTreeMap<String, serde_json::Value>) -> ShownModel {
    ShownModel {
        parameters: Knowable::Known(
            parameters
                .iter()
                .map(|(k, v)| {
                    let listed = match v {
                        serde_json::Value::Array(items) => items.clone(),
                        other => vec![other.clone()],
                    };
                    (k.clone(), listed)
                })
                .collect(),
        ),
        parent: Some(from.display()),
        capabilities: vec!["completion".to_owned()],
        kv: None,
    }
}

/// launchd opens (creates) the log files when it starts the job.
fn create_logs(observed: &mut Observed) {
    for log in &mut observed.logs {
        log.meta.get_or_insert(FileMeta {
            owner: UID,
            mode: 0o644,
            regular: true,
        });
    }
}

fn apply_all(observed: &Observed, plan: &Plan, desired: &Desired) -> Observed {
    plan.changes.iter().fold(observed.clone(), |world, change| {
        simulate(&world, change, desired)
    })
}

fn actions(plan: &Plan) -> Vec<(Address, Action)> {
    plan.changes
        .iter()
        .map(|c| (c.resource.clone(), c.action))
        .collect()
}

fn text(plan: &Plan) -> String {
    plan_text(plan, Style { color: false })
}

// ---------------------------------------------------------------- examples

#[test]
fn plan_is_empty_when_the_mac_matches() {
    let desired = desired();
    let plan = plan(&desired, &observed_of(&desired));
    assert!(plan.is_empty(), "{plan:#?}");
    assert!(plan.unknowns.is_empty());
    insta::assert_snapshot!(text(&plan), @"No changes. This Mac matches server.toml.");
    assert_eq!(check_lines(&plan), "");
}

#[test]
fn fresh_mac_installs_configures_loads_pulls_and_warms_in_order() {
    let desired = desired();
    let fresh = fresh_mac(&desired);
    let plan = plan(&desired, &fresh);
    assert!(plan.blockers.is_empty());
    let m = |n: &str| Address::model(&name(n).display());
    assert_eq!(
        actions(&plan),
        [
            (Address::Program, Action::Install),
            (Address::network("Ethernet"), Action::SetNetwork),
            (Address::network("Ethernet"), Action::SetDns),
            (Address::Plist, Action::Create),
            (Address::Job, Action::Load),
        ]
    );
    insta::assert_snapshot!("fresh_mac", text(&plan));
    // The models are known once the server answers: the next round pulls and warms them.
    let started = apply_all(&fresh, &plan, &desired);
    let plan = super::plan(&desired, &started);
    assert_eq!(
        actions(&plan),
        [
            (m("llama3"), Action::Pull),
            (m("qwen2.5-coder:32b"), Action::Pull),
            (m("nomic-embed-text"), Action::Pull),
            (m("qwen2.5-coder:32b"), Action::Warm),
            (m("nomic-embed-text"), Action::Warm),
        ]
    );
    let embed = plan
        .changes
        .iter()
        .find_map(|c| match &c.operation {
            Operation::WarmModel {
                name, embedding, ..
            } if name.key().contains("embed") => Some(*embedding),
            _ => None,
        })
        .unwrap();
    assert!(embed, "nomic-embed-text warms through /api/embed");
}

#[test]
fn plist_drift_updates_the_file_and_reloads_the_job() {
    let desired = desired();
    let observed = plist_drift_mac(&desired);
    let plan = plan(&desired, &observed);
    assert_eq!(
        actions(&plan),
        [
            (Address::Plist, Action::Update),
            (Address::Job, Action::Reload),
            (Address::model("qwen2.5-coder:32b"), Action::Warm),
            (Address::model("nomic-embed-text:latest"), Action::Warm),
        ]
    );
    assert!(matches!(
        plan.changes[1].operation,
        Operation::LoadJob { loaded: true, .. }
    ));
    insta::assert_snapshot!(check_lines(&plan), @"
    drift: launchd.plist: file differs (1 key: EnvironmentVariables)
    drift: launchd.job: the plist differs from server.toml, and a loaded job keeps its old definition
    ");
    insta::assert_snapshot!("plist_drift", text(&plan));
}

#[test]
fn absent_log_files_get_their_directories_before_a_kickstart_only() {
    let desired = desired();
    // The job is loaded, launchd could not open its `StandardOutPath` (exit 78).
    let mut observed = observed_of(&desired);
    for log in &mut observed.logs {
        log.meta = None;
    }
    if let Knowable::Known(JobStatus::Loaded(job)) = &mut observed.job {
        job.state = Some("spawn scheduled".to_owned());
        job.pid = None;
        job.last_exit = Some(LastExit::Code {
            code: 78,
            name: Some("EX_CONFIG".to_owned()),
        });
    }
    observed.ollama.server = ServerStatus::Down {
        reason: "connection refused".to_owned(),
    };
    let planned = plan(&desired, &observed);
    assert_eq!(
        actions(&planned)[..2],
        [
            (Address::Logs, Action::Create),
            (Address::Job, Action::Restart),
        ]
    );
    let dirs = [&desired.logs.stdout, &desired.logs.stderr]
        .into_iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>();
    assert_eq!(
        planned.changes[0].operation,
        Operation::CreateLogDirs { dirs }
    );

    // A job that is (re)loaded gets its directories from the load itself.
    let fresh = plan(&desired, &fresh_mac(&desired));
    assert!(
        !fresh.changes.iter().any(|c| c.resource == Address::Logs),
        "{fresh:#?}"
    );
    // A running server that answers is not restarted to recreate a deleted log file.
    let mut running = observed_of(&desired);
    for log in &mut running.logs {
        log.meta = None;
    }
    assert!(plan(&desired, &running).is_empty());
}

#[test]
fn reformatted_plist_with_the_same_content_is_not_drift() {
    let desired = desired();
    let mut observed = observed_of(&desired);
    if let PlistFile::Present { text, .. } = &mut observed.plist {
        *text = text.replace('\t', "  ").replace('\n', "\r\n");
    }
    assert!(plan(&desired, &observed).is_empty());
}

#[test]
fn group_writable_plist_is_rewritten_without_reloading_the_job() {
    let desired = desired();
    let mut observed = observed_of(&desired);
    if let PlistFile::Present { mode, .. } = &mut observed.plist {
        *mode = 0o664;
    }
    let plan = plan(&desired, &observed);
    assert_eq!(actions(&plan), [(Address::Plist, Action::Update)]);
    insta::assert_snapshot!(check_lines(&plan), @"drift: launchd.plist: file mode 664 lets others write it; launchd refuses it");
}

#[test]
fn binary_plist_with_the_same_content_is_rewritten_as_xml_without_a_reload() {
    let desired = desired();
    let mut observed = observed_of(&desired);
    if let PlistFile::Present { binary, .. } = &mut observed.plist {
        *binary = true;
    }
    let planned = plan(&desired, &observed);
    assert_eq!(actions(&planned), [(Address::Plist, Action::Update)]);
    assert_eq!(planned.changes[0].reason, "binary plist; rewritten as XML");
    assert!(matches!(
        planned.changes[0].operation,
        Operation::WritePlist { .. }
    ));
    // Once written, the file is XML: nothing left to do.
    let after = apply_all(&observed, &planned, &desired);
    assert!(plan(&desired, &after).is_empty());
}

#[test]
fn warm_cloud_models_are_pulled_but_never_warmed() {
    let mut desired = desired();
    desired.models = vec![ModelSpec {
        name: name("gpt-oss:20b-cloud"),
        warm: true,
        derived: None,
    }];
    let observed = observed_of(&desired);
    assert!(plan(&desired, &observed).is_empty());
    let mut fresh = observed.clone();
    if let ServerStatus::Up { models, .. } = &mut fresh.ollama.server {
        *models = Knowable::Known(Vec::new());
    }
    assert_eq!(
        actions(&plan(&desired, &fresh)),
        [(Address::model("gpt-oss:20b-cloud"), Action::Pull)]
    );
}

#[test]
fn unparseable_plist_is_replaced() {
    let desired = desired();
    let mut observed = observed_of(&desired);
    if let PlistFile::Present { text, .. } = &mut observed.plist {
        *text = "<plist><dict><key>Label".to_owned();
    }
    let plan = plan(&desired, &observed);
    assert_eq!(plan.changes[0].action, Action::Replace);
    assert_eq!(plan.changes[1].action, Action::Reload);
    assert_eq!(plan.summary_counts().0, 1);
}

#[test]
fn env_drift_of_the_loaded_job_only_reloads_it() {
    let desired = desired();
    let observed = loaded_env_drift_mac(&desired);
    let plan = plan(&desired, &observed);
    assert_eq!(
        actions(&plan),
        [
            (Address::Job, Action::Reload),
            (Address::model("qwen2.5-coder:32b"), Action::Warm),
            (Address::model("nomic-embed-text:latest"), Action::Warm),
        ]
    );
    insta::assert_snapshot!(text(&plan), @r#"
    ssollama will make these changes to this Mac:
      ~ launchd.job (reload)
      ~ ollama.model["qwen2.5-coder:32b"] (warm)
      ~ ollama.model["nomic-embed-text:latest"] (warm)

    ~ launchd.job: reload
        why: loaded definition differs (OLLAMA_HOST)
        plist: /Users/tester/Library/LaunchAgents/com.ollama.plist
        state: running
        target: gui/501/com.ollama

    ~ ollama.model["qwen2.5-coder:32b"]: warm
        why: the server (re)starts in this plan
        embedding: false
        loaded: false -> true

    ~ ollama.model["nomic-embed-text:latest"]: warm
        why: the server (re)starts in this plan
        embedding: true
        loaded: false -> true

    Plan: 0 to add, 3 to change, 0 to destroy.
    "#);
}

#[test]
fn job_booted_out_by_hand_is_loaded_again() {
    let desired = desired();
    let observed = booted_out_mac(&desired);
    let plan = plan(&desired, &observed);
    assert_eq!(plan.changes[0].resource, Address::Job);
    assert!(matches!(
        plan.changes[0].operation,
        Operation::LoadJob { loaded: false, .. }
    ));
    // The models are known after the server starts: no `+ pull` for models the Mac has.
    assert_eq!(plan.changes.len(), 1, "{plan:#?}");
    assert!(
        plan.unknowns
            .iter()
            .any(|u| u.contains("known after the server starts")),
        "{:#?}",
        plan.unknowns
    );
    // Once it answers it lists what it has: nothing to pull, the warm models to load.
    let mut started = observed_of(&desired);
    if let ServerStatus::Up { loaded, .. } = &mut started.ollama.server {
        *loaded = Knowable::Known(Vec::new());
    }
    let next = super::plan(&desired, &started);
    assert!(!next.changes.is_empty());
    assert!(
        next.changes.iter().all(|c| c.action == Action::Warm),
        "{next:#?}"
    );
}

#[test]
fn stopped_job_is_kickstarted_unless_ollama_answers() {
    let desired = desired();
    let mut observed = observed_of(&desired);
    if let Knowable::Known(JobStatus::Loaded(job)) = &mut observed.job {
        job.state = Some("not running".to_owned());
        job.pid = None;
        job.last_exit = Some(LastExit::Code {
            code: 78,
            name: Some("EX_CONFIG".to_owned()),
        });
    }
    // Ollama answers (someone runs it): leave the job alone.
    assert!(plan(&desired, &observed).changes.is_empty());
    observed.ollama.server = ServerStatus::Down {
        reason: "connection refused".to_owned(),
    };
    let plan = plan(&desired, &observed);
    assert_eq!(plan.changes[0].action, Action::Restart);
    assert_eq!(
        plan.changes[0].reason,
        "job is loaded but not running (state = not running), last exit: 78: EX_CONFIG"
    );
    assert_eq!(
        plan.changes[0].operation,
        Operation::KickstartJob {
            target: "gui/501/com.ollama".parse().unwrap()
        }
    );
}

#[test]
fn ip_drift_sets_the_network_service() {
    let desired = desired();
    let observed = ip_drift_mac(&desired);
    let plan = plan(&desired, &observed);
    insta::assert_snapshot!(text(&plan), @r#"
    ssollama will make these changes to this Mac:
      ~ network.service["Ethernet"] (set-network)
      ~ network.service["Ethernet"] (set-dns)

    ~ network.service["Ethernet"]: set-network
        why: address differs
        address: 192.168.250.21 -> 192.168.250.20
        method: manual
        router: 192.168.250.1
        subnet_mask: 255.255.255.0

    ~ network.service["Ethernet"]: set-dns
        why: dns servers differ
        dns: [1.1.1.1, 192.168.250.1] -> [192.168.250.1, 1.1.1.1]

    Plan: 0 to add, 2 to change, 0 to destroy.
    "#);
}

#[test]
fn an_ipv6_dns_server_on_the_mac_is_a_difference_not_an_unknown() {
    let desired = desired();
    let mut observed = observed_of(&desired);
    let v6: IpAddr = "2001:4860:4860::8888".parse().unwrap();
    if let Some(Knowable::Known(state)) = &mut observed.network {
        let mut servers = v4s(&[ip("192.168.250.1"), ip("1.1.1.1")]);
        servers.push(v6);
        state.dns = Some(Knowable::Known(servers));
    }
    let planned = plan(&desired, &observed);
    assert!(planned.unknowns.is_empty(), "{planned:#?}");
    assert_eq!(
        actions(&planned),
        [(Address::network("Ethernet"), Action::SetDns)]
    );
    insta::assert_snapshot!(text(&planned), @r#"
    ssollama will make these changes to this Mac:
      ~ network.service["Ethernet"] (set-dns)

    ~ network.service["Ethernet"]: set-dns
        why: dns servers differ
        dns: [192.168.250.1, 1.1.1.1, 2001:4860:4860::8888] -> [192.168.250.1, 1.1.1.1]

    Plan: 0 to add, 1 to change, 0 to destroy.
    "#);
    // The same servers, all IPv4, compare equal to the declared ones.
    assert!(plan(&desired, &observed_of(&desired)).is_empty());
}

#[test]
fn missing_network_service_blocks_with_the_list_of_services() {
    let mut desired = desired();
    if let Some(spec) = &mut desired.network {
        spec.service = "Thunderbolt Ethernet".to_owned();
    }
    let plan = plan(&desired, &observed_of(&desired));
    assert!(plan.changes.is_empty());
    insta::assert_snapshot!(text(&plan), @r#"
    Blocked: apply will not start until these are fixed:
      ! network.service["Thunderbolt Ethernet"]: network service "Thunderbolt Ethernet" does not exist; services are: "Ethernet", "Wi-Fi"
        fix: set `network.service` in server.toml to one of the listed services

    Plan: blocked by 1 problem; once it is fixed, 0 to add, 0 to change, 0 to destroy.
    "#);
}

#[test]
fn an_evicted_warm_model_is_warmed_by_apply_but_is_not_drift() {
    let desired = desired();
    let planned = plan(&desired, &warm_evicted_mac(&desired));
    assert_eq!(
        actions(&planned),
        [
            (Address::model("qwen2.5-coder:32b"), Action::Warm),
            (Address::model("nomic-embed-text:latest"), Action::Warm),
        ]
    );
    assert!(planned.drift().is_empty(), "{planned:#?}");
    assert_eq!(check_lines(&planned), "");
    // A reload is drift; the warms after it are not.
    let full = plan(&desired, &plist_drift_mac(&desired));
    assert!(full.changes.iter().any(|c| c.action == Action::Warm));
    let drift = full.drift();
    assert!(drift.changes.iter().all(|c| c.action != Action::Warm));
    assert!(
        drift
            .changes
            .iter()
            .any(|c| (&c.resource, c.action) == (&Address::Job, Action::Reload))
    );
}

#[test]
fn missing_model_is_pulled_and_warmed() {
    let desired = desired();
    let observed = model_missing_mac(&desired);
    let plan = plan(&desired, &observed);
    insta::assert_snapshot!(text(&plan), @r#"
    ssollama will make these changes to this Mac:
      + ollama.model["qwen2.5-coder:32b"] (pull)
      + ollama.model["nomic-embed-text:latest"] (pull)
      ~ ollama.model["qwen2.5-coder:32b"] (warm)
      ~ ollama.model["nomic-embed-text:latest"] (warm)

    + ollama.model["qwen2.5-coder:32b"]: pull
        why: model is not installed
        name: qwen2.5-coder:32b

    + ollama.model["nomic-embed-text:latest"]: pull
        why: model is not installed
        name: nomic-embed-text:latest

    ~ ollama.model["qwen2.5-coder:32b"]: warm
        why: model is pulled in this plan
        embedding: false
        loaded: false -> true

    ~ ollama.model["nomic-embed-text:latest"]: warm
        why: model is pulled in this plan
        embedding: true
        loaded: false -> true

    Plan: 2 to add, 2 to change, 0 to destroy.
    "#);
}

#[test]
fn prune_removes_only_undeclared_installed_models() {
    let mut desired = desired();
    let mut observed = observed_of(&desired);
    if let ServerStatus::Up { models, .. } = &mut observed.ollama.server {
        let mut list = models.known().cloned().unwrap();
        list.push(installed(&name("mistral:7b")));
        // The same model as a declared one, spelled another way: not a removal.
        let mut upper = installed(&name("llama3"));
        upper.name = "LLAMA3:latest".to_owned();
        list.push(upper);
        *models = Knowable::Known(list);
    }
    assert!(plan(&desired, &observed).is_empty(), "no prune by default");
    desired.model_policy.prune = true;
    let plan = plan(&desired, &observed);
    assert_eq!(
        actions(&plan),
        [(Address::model("mistral:7b"), Action::Remove)]
    );
    assert_eq!(plan.summary_counts(), (0, 0, 1));
    insta::assert_snapshot!(text(&plan), @r#"
    ssollama will make these changes to this Mac:
      - ollama.model["mistral:7b"] (remove)

    - ollama.model["mistral:7b"]: remove
        why: not declared in server.toml and `model_policy.prune = true`
        digest: 0000000000000000000000000000000000000000000000000000000000000037
        name: mistral:7b
        size: 4 GB

    Plan: 0 to add, 0 to change, 1 to destroy.
    "#);
}

#[test]
fn ollama_app_conflict_blocks_apply() {
    let desired = desired();
    let observed = ollama_app_mac(&desired);
    let plan = plan(&desired, &observed);
    assert!(!plan.is_empty());
    insta::assert_snapshot!(text(&plan), @"
    Blocked: apply will not start until these are fixed:
      ! conflict.ollama_app: Ollama.app is running (pid 976); when its own server fails it stops every other `ollama serve`
        fix: quit Ollama.app and remove it from Login Items, or run `ssollama apply --take-over` to quit it
      ! conflict.port: `ollama` (pid 977) already listens on 127.0.0.1:11434
        fix: stop that process or change `listen.port` in server.toml (`--take-over` only stops Ollama.app and Homebrew's job)

    Plan: blocked by 2 problems; once they are fixed, 0 to add, 0 to change, 0 to destroy.
    ");
}

#[test]
fn server_down_models_are_known_after_the_server_starts_and_not_counted() {
    let desired = desired();
    let observed = fresh_mac_without_brew(&desired);
    let plan = plan(&desired, &observed);
    assert_eq!(plan.blockers[0].resource, Address::Program);
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c.action, Action::Pull | Action::Warm | Action::Remove)),
        "{plan:#?}"
    );
    for model in &desired.models {
        let address = Address::model(&model.name.display());
        assert!(
            plan.unknowns
                .iter()
                .any(|u| u.starts_with(&format!("{address}: known after the server starts"))),
            "{address} not noted: {:#?}",
            plan.unknowns
        );
    }
    insta::assert_snapshot!("server_down_fresh_mac_no_brew", text(&plan));
}

#[test]
fn no_gui_session_leaves_the_job_alone() {
    let desired = desired();
    let observed = no_gui_session_mac(&desired);
    let plan = plan(&desired, &observed);
    assert!(plan.is_empty());
    assert_eq!(plan.unknowns.len(), 1);
    insta::assert_snapshot!(text(&plan), @"
    No changes planned, but part of this Mac is unknown (see the notes).

    Notes:
      - launchd.job: `launchctl print gui/501/com.ollama` failed with exit 112: no GUI session
    ");
}

#[test]
fn daemon_plist_sets_home_user_and_system_domain() {
    let mut desired = desired();
    desired.service.mode = Mode::Daemon {
        user: "tester".to_owned(),
    };
    let mut observed = observed_of(&desired);
    observed.plist = PlistFile::Absent {
        path: plist_path(&desired, Path::new(HOME)),
    };
    observed.job = Knowable::Known(JobStatus::NotLoaded);
    let plan = plan(&desired, &observed);
    let Operation::WritePlist { path, contents } = &plan.changes[0].operation else {
        panic!("{plan:#?}");
    };
    assert_eq!(path, Path::new("/Library/LaunchDaemons/com.ollama.plist"));
    assert!(
        matches!(&plan.changes[1].operation, Operation::LoadJob { domain, .. } if *domain == crate::launchd::domain::Domain::System)
    );
    insta::assert_snapshot!(contents, @r#"
    <?xml version="1.0" encoding="UTF-8"?>
    <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
    <plist version="1.0">
    <dict>
    	<key>EnvironmentVariables</key>
    	<dict>
    		<key>HOME</key>
    		<string>/Users/tester</string>
    		<key>OLLAMA_FLASH_ATTENTION</key>
    		<string>1</string>
    		<key>OLLAMA_HOST</key>
    		<string>192.168.250.20:11434</string>
    		<key>OLLAMA_KEEP_ALIVE</key>
    		<string>-1</string>
    	</dict>
    	<key>GroupName</key>
    	<string>staff</string>
    	<key>KeepAlive</key>
    	<true/>
    	<key>Label</key>
    	<string>com.ollama</string>
    	<key>ProcessType</key>
    	<string>Interactive</string>
    	<key>ProgramArguments</key>
    	<array>
    		<string>/opt/homebrew/opt/ollama/bin/ollama</string>
    		<string>serve</string>
    	</array>
    	<key>RunAtLoad</key>
    	<true/>
    	<key>StandardErrorPath</key>
    	<string>/tmp/ollama.stderr.log</string>
    	<key>StandardOutPath</key>
    	<string>/tmp/ollama.stdout.log</string>
    	<key>UserName</key>
    	<string>tester</string>
    	<key>WorkingDirectory</key>
    	<string>/Users/tester</string>
    </dict>
    </plist>
    "#);
}

#[test]
fn colour_marks_markers_and_diff_lines() {
    let desired = desired();
    let mut observed = observed_of(&desired);
    observed.plist = PlistFile::Absent {
        path: plist_path(&desired, Path::new(HOME)),
    };
    observed.job = Knowable::unknown("no GUI session");
    let plan = plan(&desired, &observed);
    let coloured = plan_text(&plan, Style { color: true }).replace('\x1b', "^[");
    let head: String = coloured.lines().take(8).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(head, @"
    ssollama will make these changes to this Mac:
      ^[[32m+^[[0m launchd.plist (create)

    ^[[32m+^[[0m ^[[1mlaunchd.plist^[[0m: create
        why: file is absent
        ^[[31m--- /dev/null^[[0m
        ^[[32m+++ /Users/tester/Library/LaunchAgents/com.ollama.plist (planned)^[[0m
        ^[[36m@@ -0,0 +1,32 @@^[[0m
    ");
}

#[test]
fn fingerprint_is_hex_sha256_and_changes_with_the_observation() {
    let desired = desired();
    let a = observed_of(&desired);
    let mut b = a.clone();
    b.host.uid = 502;
    assert_eq!(fingerprint(&a).len(), 64);
    assert!(fingerprint(&a).bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
    assert_ne!(fingerprint(&a), fingerprint(&b));
}

// ---------------------------------------------------------------- properties

/// The knobs the strategies turn; each is a small domain.
#[derive(Debug, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent yes/no knobs of a test scenario"
)]
struct Scenario {
    models: Vec<(usize, bool)>,
    prune: bool,
    daemon: bool,
    network: bool,
    dns: Option<usize>,
    port: u16,
    program: u8,
    plist: u8,
    job: u8,
    server_up: bool,
    models_unknown: bool,
    installed: Vec<usize>,
    extra_installed: bool,
    in_memory: Vec<usize>,
    net_state: u8,
    conflicts: u8,
    reverse: bool,
    /// The declared log files are absent (deleted by hand, or a fresh Mac).
    logs_absent: bool,
}

const DNS_SETS: [&[&str]; 3] = [&[], &["1.1.1.1"], &["192.168.250.1", "1.1.1.1"]];

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        (
            proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3),
            proptest::collection::vec(any::<bool>(), 3),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(0..DNS_SETS.len()),
            prop_oneof![Just(11434u16), Just(11435)],
        ),
        (
            0u8..3,
            0u8..7,
            0u8..6,
            any::<bool>(),
            prop::bool::weighted(0.15),
        ),
        (
            proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3),
            any::<bool>(),
            proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3),
            0u8..6,
            prop_oneof![4 => Just(0u8), 1 => Just(1), 1 => Just(2)],
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (models, warm, prune, daemon, network, dns, port),
                (program, plist, job, server_up, models_unknown),
                (installed, extra_installed, in_memory, net_state, conflicts, reverse, logs_absent),
            )| Scenario {
                models: models.into_iter().map(|i| (i, warm[i])).collect(),
                prune,
                daemon,
                network,
                dns,
                port,
                program,
                plist,
                job,
                server_up,
                models_unknown,
                installed,
                extra_installed,
                in_memory,
                net_state,
                conflicts,
                reverse,
                logs_absent,
            },
        )
}

fn build(s: &Scenario) -> (Desired, Observed) {
    let mut desired = desired();
    desired.models = s
        .models
        .iter()
        .map(|&(i, warm)| ModelSpec {
            name: name(MODEL_NAMES[i]),
            warm,
            derived: None,
        })
        .collect();
    desired.model_policy.prune = s.prune;
    if s.daemon {
        desired.service.mode = Mode::Daemon {
            user: "tester".to_owned(),
        };
    }
    if s.network {
        if let Some(spec) = &mut desired.network {
            spec.dns = s.dns.map(|i| DNS_SETS[i].iter().map(|a| ip(a)).collect());
        }
    } else {
        desired.network = None;
    }
    desired.listen.port = s.port;

    let mut observed = observed_of(&desired);
    let path = plist_path(&desired, Path::new(HOME));
    // The "other" definition: what an older server.toml wrote.
    let mut other = desired.clone();
    other.listen.port = if s.port == 11434 { 11435 } else { 11434 };
    let other_dict = desired_plist(&other, Path::new(BREW_OLLAMA));

    match s.program {
        0 => {}
        1 => observed.program.path = None,
        _ => {
            observed.program.path = None;
            observed.program.brew = None;
        }
    }
    match s.plist {
        0 => {}
        1 => observed.plist = PlistFile::Absent { path: path.clone() },
        2 => {
            observed.plist = PlistFile::Present {
                path: path.clone(),
                text: desired_plist_xml(&other, Path::new(BREW_OLLAMA)),
                owner: expected_owner(&desired, UID),
                mode: 0o644,
                binary: false,
            }
        }
        3 => {
            observed.plist = PlistFile::Present {
                path: path.clone(),
                text: "garbage".to_owned(),
                owner: expected_owner(&desired, UID),
                mode: 0o644,
                binary: false,
            }
        }
        4 => {
            observed.plist = PlistFile::Unreadable {
                path: path.clone(),
                reason: "permission denied".to_owned(),
            }
        }
        5 => {
            if let PlistFile::Present { mode, .. } = &mut observed.plist {
                *mode = 0o666;
            }
        }
        _ => {
            if let PlistFile::Present { text, .. } = &mut observed.plist {
                *text = text.replace('\t', " ");
            }
        }
    }
    match s.job {
        0 => {}
        1 => observed.job = Knowable::Known(JobStatus::NotLoaded),
        2 => {
            if let Knowable::Known(JobStatus::Loaded(job)) = &mut observed.job {
                job.state = Some("not running".to_owned());
                job.pid = None;
            }
        }
        3 => {
            observed.job = Knowable::Known(JobStatus::Loaded(running(
                loaded_of(&other_dict, &path),
                700,
            )));
        }
        4 => observed.job = Knowable::unknown("no GUI session"),
        _ => {
            if let Knowable::Known(JobStatus::Loaded(job)) = &mut observed.job {
                job.state = Some("spawn scheduled".to_owned());
                job.pid = None;
            }
        }
    }
    let mut list: Vec<InstalledModel> = s
        .installed
        .iter()
        .map(|&i| installed(&name(MODEL_NAMES[i])))
        .collect();
    if s.extra_installed {
        list.push(installed(&name("mistral:7b")));
    }
    let mut ps: Vec<LoadedModel> = s
        .in_memory
        .iter()
        .filter(|i| s.installed.contains(i))
        .map(|&i| in_memory(&name(MODEL_NAMES[i])))
        .collect();
    if s.reverse {
        list.reverse();
        ps.reverse();
    }
    observed.ollama.server = if s.server_up {
        ServerStatus::Up {
            version: "0.32.3".to_owned(),
            models: if s.models_unknown {
                Knowable::unknown("`/api/tags` timed out")
            } else {
                Knowable::Known(list)
            },
            loaded: Knowable::Known(ps),
            shown: std::collections::BTreeMap::new(),
        }
    } else {
        ServerStatus::Down {
            reason: "connection refused".to_owned(),
        }
    };
    if let Some(Knowable::Known(state)) = &mut observed.network {
        match s.net_state {
            0 => {}
            1 => {
                if let Some(Knowable::Known(info)) = &mut state.info {
                    info.method = IpMethod::Dhcp;
                }
            }
            2 => {
                if let Some(Knowable::Known(info)) = &mut state.info {
                    info.address = Some(ip("192.168.250.99"));
                    info.router = None;
                }
            }
            3 => state.dns = Some(Knowable::Known(v4s(&[ip("8.8.8.8")]))),
            4 => state.info = Some(Knowable::unknown("networksetup timed out")),
            _ => {
                observed.network = Some(Knowable::unknown("`networksetup` needs an administrator"));
            }
        }
    }
    if s.logs_absent {
        for log in &mut observed.logs {
            log.meta = None;
        }
    }
    observed.conflicts = match s.conflicts {
        0 => Knowable::Known(Vec::new()),
        1 => Knowable::Known(vec![Conflict::OllamaAppRunning { pid: 90 }]),
        _ => Knowable::unknown("lsof failed"),
    };
    (desired, observed)
}

/// Whether the observation holds no unknown the planner has to defer on.
fn fully_known(observed: &Observed) -> bool {
    let network_known = match &observed.network {
        None => true,
        Some(Knowable::Known(state)) => {
            !matches!(state.info, Some(Knowable::Unknown { .. }))
                && !matches!(state.dns, Some(Knowable::Unknown { .. }))
        }
        Some(Knowable::Unknown { .. }) => false,
    };
    network_known
        && observed.job.known().is_some()
        && !matches!(observed.plist, PlistFile::Unreadable { .. })
        && observed.conflicts.known().is_some()
}

/// The job runs the right definition, yet nothing answers: a world the simulation cannot move
/// (in reality `apply` waits for the server, and `verify` reports it).
fn running_but_silent(desired: &Desired, observed: &Observed) -> bool {
    let path = plist_path(desired, &observed.host.home);
    let dict = desired_plist(desired, &program_for_plist(observed, desired));
    matches!(&observed.job, Knowable::Known(JobStatus::Loaded(job))
        if is_running(job) && loaded_matches(&dict, &path, job).is_empty())
        && matches!(observed.ollama.server, ServerStatus::Down { .. })
}

fn is_destructive(change: &Change) -> bool {
    matches!(
        change.action,
        Action::Remove | Action::Delete | Action::Replace
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn idempotent_plan_of_a_converged_mac_is_empty(s in scenario()) {
        let (desired, _) = build(&s);
        let plan = plan(&desired, &observed_of(&desired));
        prop_assert!(plan.is_empty(), "{plan:#?}");
        prop_assert!(plan.unknowns.is_empty());
    }

    #[test]
    fn converges_within_three_rounds(s in scenario()) {
        // Only worlds the planner fully knows; unknowns are the `safe` property's business.
        let mut s = s;
        if s.job == 4 { s.job = 0; }
        if s.plist == 4 { s.plist = 0; }
        if s.net_state >= 4 { s.net_state = 0; }
        s.conflicts = 0;
        if s.program == 2 { s.program = 1; }
        let (desired, observed) = build(&s);
        prop_assume!(fully_known(&observed));
        prop_assume!(!running_but_silent(&desired, &observed));
        let first = plan(&desired, &observed);
        prop_assume!(first.blockers.is_empty());
        // Models are deferred while the server is down: known (and pulled) one round later.
        let deferred = matches!(observed.ollama.server, ServerStatus::Down { .. })
            && !desired.models.is_empty();
        let mut world = observed;
        let mut rounds = 0;
        loop {
            let next = plan(&desired, &world);
            prop_assert!(next.blockers.is_empty(), "{next:#?}");
            if next.changes.is_empty() {
                break;
            }
            rounds += 1;
            prop_assert!(rounds <= 3, "no convergence: {next:#?}");
            world = apply_all(&world, &next, &desired);
        }
        // Nothing else is deferred, so one round is enough (two with the server down).
        prop_assert!(rounds <= 1 + usize::from(deferred), "took {rounds} rounds");
    }

    #[test]
    fn deterministic_whatever_the_order_of_lists(s in scenario()) {
        let (desired, observed) = build(&s);
        let mut permuted = observed.clone();
        if let ServerStatus::Up { models, loaded, .. } = &mut permuted.ollama.server {
            if let Knowable::Known(list) = models { list.reverse(); let n = list.len().min(1); list.rotate_left(n); }
            if let Knowable::Known(list) = loaded { list.reverse(); }
        }
        if let Knowable::Known(list) = &mut permuted.conflicts { list.reverse(); }
        prop_assert_eq!(plan(&desired, &observed), plan(&desired, &permuted));
    }

    #[test]
    fn safe_no_removal_of_declared_models_nor_from_unknown_input(s in scenario()) {
        let (desired, observed) = build(&s);
        let plan = plan(&desired, &observed);
        let installed_known = matches!(
            &observed.ollama.server,
            ServerStatus::Up { models: Knowable::Known(_), .. }
        );
        for change in &plan.changes {
            if let Operation::RemoveModel { name } = &change.operation {
                prop_assert!(desired.model_policy.prune);
                prop_assert!(installed_known);
                let parsed = ModelName::parse(name).unwrap();
                prop_assert!(!desired.models.iter().any(|m| m.name == parsed));
            }
            if matches!(change.operation, Operation::LoadJob { .. } | Operation::KickstartJob { .. }) {
                prop_assert!(observed.job.known().is_some());
            }
            if matches!(observed.plist, PlistFile::Unreadable { .. }) {
                prop_assert!(change.resource != Address::Plist && change.resource != Address::Job);
            }
            if is_destructive(change) {
                prop_assert!(
                    change.action == Action::Replace || installed_known,
                    "destructive change from unknown input: {change:#?}"
                );
            }
        }
        // A plist whose content changes is written before the job (re)loads, and a job
        // that is loaded is booted out first.
        let write = plan.changes.iter().position(|c| matches!(c.operation, Operation::WritePlist { .. }));
        let load = plan.changes.iter().position(|c| matches!(c.operation, Operation::LoadJob { .. }));
        if let (Some(write), Some(load)) = (write, load) {
            prop_assert!(write < load);
        }
        if let Some(load) = load {
            let loaded_now = matches!(observed.job, Knowable::Known(JobStatus::Loaded(_)));
            let planned_loaded = matches!(plan.changes[load].operation, Operation::LoadJob { loaded: true, .. });
            prop_assert_eq!(planned_loaded, loaded_now);
            // A job launchd does not have is loaded (`+`), never "reloaded" (`~`).
            let expected = if loaded_now { Action::Reload } else { Action::Load };
            prop_assert_eq!(plan.changes[load].action, expected);
        }
        // The summary counts what the list shows: one per change, a replace in two columns.
        let (add, change, destroy) = plan.summary_counts();
        let replaces = plan.changes.iter().filter(|c| c.action == Action::Replace).count();
        prop_assert_eq!(add + change + destroy, plan.changes.len() + replaces);
        let shown = plan_text(&plan, Style::default());
        let listed = shown.lines().skip_while(|l| !l.starts_with("ssollama will make")).skip(1).take_while(|l| !l.is_empty()).count();
        prop_assert_eq!(listed, plan.changes.len());
        if let Some(write) = write {
            let content_changes = !matches!(plan.changes[write].reason.as_str(), r if r.starts_with("file mode") || r.starts_with("file is owned") || r.starts_with("binary plist"));
            if content_changes && observed.job.known().is_some() {
                prop_assert!(load.is_some(), "plist content changes without a reload: {plan:#?}");
            }
        }
    }

    #[test]
    fn minimal_every_change_moves_the_world(s in scenario()) {
        let (desired, observed) = build(&s);
        prop_assume!(!running_but_silent(&desired, &observed));
        prop_assume!(!matches!(observed.ollama.server, ServerStatus::Down { .. }) || observed.job.known().is_some());
        let plan = plan(&desired, &observed);
        let mut world = observed;
        for change in &plan.changes {
            let next = simulate(&world, change, &desired);
            // Log directories are not part of the observation (the kickstart after them
            // creates the files).
            if !matches!(change.operation, Operation::CreateLogDirs { .. }) {
                prop_assert_ne!(&next, &world, "change moves nothing: {:#?}", change);
            }
            world = next;
        }
    }
}

// ---------------------------------------------------------------- saved observations

/// The example observations as `tests/it/cases/plan/<name>/observed.json` (replayed by the CLI
/// tests through `plan --state`).
/// Builds one example observation from the examples' `server.toml`.
type Scene = fn(&Desired) -> Observed;

fn cases() -> BTreeMap<&'static str, Observed> {
    let desired = desired();
    let builders: [(&'static str, Scene); 11] = [
        ("converged", observed_of),
        ("fresh-mac", fresh_mac),
        ("fresh-mac-without-brew", fresh_mac_without_brew),
        ("plist-drift", plist_drift_mac),
        ("loaded-env-drift", loaded_env_drift_mac),
        ("booted-out", booted_out_mac),
        ("ip-drift", ip_drift_mac),
        ("model-missing", model_missing_mac),
        ("ollama-app-running", ollama_app_mac),
        ("no-gui-session", no_gui_session_mac),
        ("warm-evicted", warm_evicted_mac),
    ];
    builders
        .into_iter()
        .map(|(case, build)| (case, build(&desired)))
        .collect()
}

#[test]
fn saved_observations_match_the_examples() {
    #![allow(
        clippy::disallowed_methods,
        reason = "test data files; SSOLLAMA_WRITE_CASES=1 regenerates them"
    )]
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/cases/plan");
    let write = std::env::var_os("SSOLLAMA_WRITE_CASES").is_some();
    for (case, observed) in cases() {
        let file = root.join(case).join("observed.json");
        let json = serde_json::to_string_pretty(&observed).unwrap() + "\n";
        if write {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &json).unwrap();
        }
        let saved = std::fs::read_to_string(&file).unwrap();
        let parsed: Observed = serde_json::from_str(&saved).unwrap();
        assert_eq!(
            parsed, observed,
            "{case}: rerun with SSOLLAMA_WRITE_CASES=1"
        );
    }
}

/// The converged Mac, but the plist (and the job launchd loaded from it) spells `OLLAMA_HOST`
/// and `OLLAMA_FLASH_ATTENTION` its own way, with `process_type` as given (`None`: no key).
fn respelled(desired: &Desired, host: &str, flash: &str, process_type: Option<&str>) -> Observed {
    let mut observed = observed_of(desired);
    let path = plist_path(desired, Path::new(HOME));
    let mut dict = desired_plist(desired, Path::new(BREW_OLLAMA));
    if let Some(::plist::Value::Dictionary(env)) = dict.get_mut("EnvironmentVariables") {
        env.insert(
            "OLLAMA_HOST".to_owned(),
            ::plist::Value::String(host.to_owned()),
        );
        env.insert(
            "OLLAMA_FLASH_ATTENTION".to_owned(),
            ::plist::Value::String(flash.to_owned()),
        );
    }
    dict.remove("ProcessType");
    if let Some(value) = process_type {
        dict.insert(
            "ProcessType".to_owned(),
            ::plist::Value::String(value.to_owned()),
        );
    }
    if let PlistFile::Present { text, .. } = &mut observed.plist {
        *text = canonical_xml(&::plist::Value::Dictionary(dict.clone()));
    }
    observed.job = Knowable::Known(JobStatus::Loaded(running(loaded_of(&dict, &path), 812)));
    observed
}

/// Spellings of `192.168.250.20:11434` that Ollama reads as that bind.
const SAME_BIND: [&str; 5] = [
    "192.168.250.20",
    "192.168.250.20:11434",
    "http://192.168.250.20:11434",
    "\"192.168.250.20\"",
    " 192.168.250.20:11434 ",
];

#[test]
fn a_standard_process_type_is_no_key_and_matches_a_written_standard() {
    let mut standard = desired();
    standard.service.process_type = crate::model::desired::ProcessType::Standard;
    for file in [None, Some("Standard")] {
        let observed = respelled(&standard, "192.168.250.20:11434", "1", file);
        let plan = plan(&standard, &observed);
        assert!(plan.is_empty(), "{file:?}: {plan:#?}");
    }
    let interactive = plan(
        &desired(),
        &respelled(&desired(), "192.168.250.20:11434", "1", None),
    );
    let reasons: Vec<&str> = interactive
        .changes
        .iter()
        .map(|c| c.reason.as_str())
        .collect();
    assert_eq!(reasons[0], "file differs (1 key: ProcessType)");
    assert!(
        !desired_plist(&standard, Path::new(BREW_OLLAMA)).contains_key("ProcessType"),
        "standard is written as no key"
    );
}

proptest! {
    #[test]
    fn equal_meanings_never_plan_a_change(
        host in proptest::sample::select(SAME_BIND.to_vec()),
        flash in proptest::sample::select(vec!["1", "t", "T", "TRUE", "true", "True", "'1'"]),
        process_type in proptest::sample::select(vec![
            ("interactive", Some("Interactive")),
            ("standard", None),
            ("standard", Some("Standard")),
            ("background", Some("Background")),
            ("adaptive", Some("Adaptive")),
        ]),
    ) {
        let mut desired = desired();
        desired.service.process_type =
            crate::model::desired::ProcessType::from_toml(process_type.0).unwrap();
        let observed = respelled(&desired, host, flash, process_type.1);
        let plan = plan(&desired, &observed);
        prop_assert!(plan.is_empty(), "{plan:#?}");
        prop_assert!(plan.unknowns.is_empty());
    }

    #[test]
    fn a_different_bind_always_rewrites_and_reloads(
        last in 0u8..=255,
        port in 1u16..=65535,
        spelling in 0usize..3,
    ) {
        prop_assume!(last != 20 || port != 11434);
        let text = match spelling {
            0 => format!("192.168.250.{last}:{port}"),
            1 => format!("http://192.168.250.{last}:{port}"),
            _ if port == 11434 => format!("192.168.250.{last}"),
            _ => format!("192.168.250.{last}:{port}"),
        };
        let desired = desired();
        let plan = plan(&desired, &respelled(&desired, &text, "1", Some("Interactive")));
        let changed: Vec<(&Address, &str)> = plan
            .changes
            .iter()
            .map(|c| (&c.resource, c.reason.as_str()))
            .take(2)
            .collect();
        prop_assert_eq!(
            changed,
            vec![
                (&Address::Plist, "file differs (1 key: EnvironmentVariables)"),
                (&Address::Job, "loaded definition differs (OLLAMA_HOST)"),
            ]
        );
    }
}

// ---------------------------------------------------------------- derived models

/// [`desired`] with `qwen2.5-coder:32b` served as `qwen2.5-coder:32b-64k` (65536 tokens,
/// temperature 0.2).
fn derived_desired() -> Desired {
    let mut desired = desired();
    let spec = &mut desired.models[1];
    spec.derived = Some(crate::model::desired::DerivedModel {
        name: name("qwen2.5-coder:32b-64k"),
        from: spec.name.clone(),
        context_length: Some(65536),
        parameters: BTreeMap::from([(
            "temperature".to_owned(),
            crate::model::desired::ParameterValue::Float(0.2),
        )]),
    });
    desired
}

/// `/api/show` of every declared model of `observed_of(desired)` (pulled: no parent, no
/// parameters of their own), and 404 for the derived ones.
fn with_shows(desired: &Desired, mut observed: Observed) -> Observed {
    if let ServerStatus::Up { shown, .. } = &mut observed.ollama.server {
        for spec in &desired.models {
            shown.insert(
                spec.name.display(),
                Knowable::Known(Some(created(&spec.name, &BTreeMap::new()))),
            );
            if let Some(Knowable::Known(Some(base))) = shown.get_mut(&spec.name.display()) {
                base.parent = None;
            }
            if let Some(derived) = &spec.derived {
                shown.insert(derived.name.display(), Knowable::Known(None));
            }
        }
    }
    observed
}

/// The Mac of [`with_shows`] after the plan for `desired` was applied.
fn derived_converged(desired: &Desired) -> Observed {
    let observed = with_shows(desired, observed_of(desired));
    apply_all(&observed, &plan(desired, &observed), desired)
}

/// The plan is `action` on the derived model of [`derived_desired`], then its warm.
#[track_caller]
fn assert_then_warmed(plan: &Plan, action: Action) {
    let derived = Address::model("qwen2.5-coder:32b-64k");
    assert_eq!(
        actions(plan),
        [(derived.clone(), action), (derived, Action::Warm)]
    );
}

#[test]
fn a_missing_derived_model_is_created_then_warmed_in_place_of_its_base() {
    let desired = derived_desired();
    let mut observed = with_shows(&desired, observed_of(&desired));
    // The base is loaded (warmed before the entry had a context): not what is served.
    let plan = plan(&desired, &observed);
    assert_then_warmed(&plan, Action::Create);
    assert_eq!(
        plan.changes[0].operation,
        Operation::CreateModel {
            name: name("qwen2.5-coder:32b-64k"),
            from: name("qwen2.5-coder:32b"),
            parameters: BTreeMap::from([
                ("num_ctx".to_owned(), serde_json::json!(65536)),
                ("temperature".to_owned(), serde_json::json!(0.2)),
            ]),
            replace: false,
        }
    );
    assert!(matches!(
        plan.changes[1].operation,
        Operation::WarmModel {
            context_length: Some(65536),
            ..
        }
    ));
    // Applied, the Mac converges: the derived model shows the parameters and the base.
    observed = apply_all(&observed, &plan, &desired);
    let again = super::plan(&desired, &observed);
    assert!(again.is_empty(), "{again:#?}");
}

#[test]
fn a_missing_base_is_pulled_before_its_derived_model_is_created() {
    let desired = derived_desired();
    let mut observed = with_shows(&desired, observed_of(&desired));
    if let ServerStatus::Up { models, .. } = &mut observed.ollama.server {
        *models = Knowable::Known(vec![installed(&name("llama3"))]);
    }
    let plan = plan(&desired, &observed);
    let order: Vec<(Address, Action)> = actions(&plan);
    let pull = order
        .iter()
        .position(|c| c == &(Address::model("qwen2.5-coder:32b"), Action::Pull));
    let create = order.iter().position(|c| c.1 == Action::Create);
    assert!(
        pull.is_some() && create.is_some() && pull < create,
        "{order:?}"
    );
    assert!(
        plan.changes[create.unwrap()]
            .reason
            .contains("its base is pulled in this plan")
    );
}

#[test]
fn a_derived_model_with_another_context_or_parent_is_replaced() {
    let desired = derived_desired();
    let converged = derived_converged(&desired);
    // The declared context changes: replace, then warm again.
    let mut bigger = desired.clone();
    if let Some(d) = &mut bigger.models[1].derived {
        d.context_length = Some(131_072);
    }
    let replan = plan(&bigger, &converged);
    assert_then_warmed(&replan, Action::Replace);
    assert_eq!(
        replan.changes[0].reason,
        "num_ctx is 65536, declared 131072"
    );
    assert!(matches!(
        replan.changes[0].operation,
        Operation::CreateModel { replace: true, .. }
    ));
    assert_eq!(replan.changes[1].reason, "model is created in this plan");
    // Another parent (created by hand from another model): replaced too.
    let mut other = converged.clone();
    if let ServerStatus::Up { shown, .. } = &mut other.ollama.server
        && let Some(Knowable::Known(Some(model))) = shown.get_mut("qwen2.5-coder:32b-64k")
    {
        model.parent = Some("llama3:latest".to_owned());
    }
    let replan = plan(&desired, &other);
    assert!(
        replan.changes[0]
            .reason
            .contains("its parent is llama3:latest, declared qwen2.5-coder:32b"),
        "{replan:#?}"
    );
}

#[test]
fn an_unknown_show_is_a_note_never_a_change() {
    let desired = derived_desired();
    let mut converged = derived_converged(&desired);
    if let ServerStatus::Up { shown, .. } = &mut converged.ollama.server {
        shown.insert(
            "qwen2.5-coder:32b-64k".to_owned(),
            Knowable::unknown("POST /api/show timed out"),
        );
    }
    let plan = plan(&desired, &converged);
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(
        plan.unknowns,
        [
            "ollama.model[\"qwen2.5-coder:32b-64k\"]: `/api/show` failed (POST /api/show timed out); the derived model is not compared"
        ]
    );
}

#[test]
fn prune_keeps_a_declared_models_derived_model_and_base() {
    let mut desired = derived_desired();
    desired.model_policy.prune = true;
    let mut converged = derived_converged(&desired);
    if let ServerStatus::Up {
        models: Knowable::Known(list),
        ..
    } = &mut converged.ollama.server
    {
        list.push(installed(&name("gemma3:4b")));
    }
    assert_eq!(
        actions(&plan(&desired, &converged)),
        [(Address::model("gemma3:4b"), Action::Remove)]
    );
}

#[test]
fn a_runner_with_less_context_than_declared_is_warmed_again() {
    let desired = derived_desired();
    let mut converged = derived_converged(&desired);
    if let ServerStatus::Up {
        loaded: Knowable::Known(ps),
        ..
    } = &mut converged.ollama.server
    {
        for m in ps.iter_mut() {
            m.context_length = Some(32768);
        }
    }
    let plan = plan(&desired, &converged);
    assert_eq!(
        actions(&plan),
        [(Address::model("qwen2.5-coder:32b-64k"), Action::Warm)]
    );
    assert_eq!(
        plan.changes[0].reason,
        "model is served with a 32768-token context, declared 65536"
    );
}

/// The Mac of [`observed_of`] with its memory facts: Metal's `total` as logged (`None`: the
/// server has not logged it) and a 32 GiB Mac's `sysctl`.
fn with_memory(desired: &Desired, logged: Option<u64>) -> Observed {
    use crate::model::observed::{LoggedMetal, MemoryFacts, SysctlMemory};
    let mut observed = observed_of(desired);
    observed.memory = Some(MemoryFacts {
        logged: Knowable::Known(logged.map(|total| LoggedMetal {
            log: desired.logs.stderr.clone(),
            total_text: crate::capacity::gib(total),
            total,
            version: None,
        })),
        sysctl: Knowable::Known(SysctlMemory {
            memsize: Some(32 << 30),
            wired_limit_mb: Some(0),
        }),
    });
    observed
}

/// `/api/show` of every declared model with qwen2.5-coder's geometry.
fn show_geometry(observed: &mut Observed) {
    use crate::model::observed::ShownModel;
    let kv = crate::ollama::show::kv_geometry(&crate::ollama::show::qwen_coder_info());
    assert!(kv.is_some());
    if let ServerStatus::Up { shown, models, .. } = &mut observed.ollama.server {
        for model in models.known().unwrap() {
            shown.insert(
                model.name.clone(),
                Knowable::Known(Some(ShownModel {
                    parameters: Knowable::Known(BTreeMap::new()),
                    parent: None,
                    capabilities: vec!["completion".to_owned()],
                    kv,
                })),
            );
        }
    }
}

#[test]
fn a_warm_set_over_the_metal_limit_blocks_with_the_numbers_and_advice() {
    let desired = desired();
    let mut observed = with_memory(&desired, Some(8 << 30));
    show_geometry(&mut observed);
    let plan = plan(&desired, &observed);
    let budget = plan.capacity.as_ref().expect("a budget");
    assert!(!budget.fits());
    assert_eq!(budget.models.len(), 2, "{budget:?}");
    assert!(budget.models.iter().all(|f| f.kv_cache.is_some()));
    let blocker = plan
        .blockers
        .iter()
        .find(|b| b.resource == Address::Capacity)
        .expect("blocked");
    assert!(
        blocker
            .problem
            .contains("but Metal lets Ollama use 8.0 GiB"),
        "{}",
        blocker.problem
    );
    assert!(
        blocker.fix.contains("`sudo sysctl iogpu.wired_limit_mb="),
        "{}",
        blocker.fix
    );
    // The same set under a larger limit fits: a budget, no blocker, no note.
    let mut roomy = with_memory(&desired, Some(64 << 30));
    show_geometry(&mut roomy);
    let plan = plan_fn(&desired, &roomy);
    assert!(plan.capacity.as_ref().is_some_and(Budget::fits));
    assert!(
        plan.blockers.is_empty() && plan.unknowns.is_empty(),
        "{plan:?}"
    );
    assert!(text(&plan).contains("fits ("), "{}", text(&plan));
}

#[test]
fn unknowns_never_block_but_what_is_known_to_be_over_does() {
    let desired = desired();
    // No geometry: the weights only, each KV cache unknown and said so; 64 GiB holds them.
    let plan = plan_fn(&desired, &with_memory(&desired, Some(64 << 30)));
    assert!(plan.blockers.is_empty(), "{plan:?}");
    assert!(
        plan.unknowns
            .iter()
            .any(|n| n.starts_with("capacity: ") && n.contains("KV cache is unknown")),
        "{plan:?}"
    );
    assert!(text(&plan).contains("unknown"));
    // Without the log's limit: the estimate (2/3 of 32 GiB), said so.
    let estimated = plan_fn(&desired, &with_memory(&desired, None));
    let budget = estimated.capacity.as_ref().unwrap();
    assert!(budget.limit.is_estimate());
    assert!(text(&estimated).contains("an estimate from `sysctl`"));
    // Weights alone over the limit still block (the unknown KV caches only add).
    let over = plan_fn(&desired, &with_memory(&desired, Some(4 << 30)));
    assert!(
        over.blockers
            .iter()
            .any(|b| b.resource == Address::Capacity)
    );
    // No memory facts at all (a saved observation from before): no budget, no note.
    let old = plan_fn(&desired, &observed_of(&desired));
    assert_eq!(old.capacity, None);
    assert!(old.unknowns.is_empty());
}

#[test]
fn server_json_disagrees_only_when_it_keeps_a_declared_cloud_off() {
    use crate::model::observed::ServerConfig;
    let config = |disable: bool| {
        Some(Knowable::Known(ServerConfig {
            path: PathBuf::from("/Users/tester/.ollama/server.json"),
            exists: true,
            disable_ollama_cloud: disable,
            ignored: None,
        }))
    };
    let cloud = |declared: Option<bool>, file| {
        let mut desired = desired();
        desired.ollama.cloud = declared;
        let mut observed = observed_of(&desired);
        observed.server_config = file;
        plan_fn(&desired, &observed)
    };
    let drifted = cloud(Some(true), config(true));
    let blocker = drifted
        .blockers
        .iter()
        .find(|b| b.resource == Address::Cloud)
        .expect("drift");
    assert!(blocker.fix.starts_with("ssollama does not own that file"));
    assert!(check_lines(&drifted).contains("blocked: ollama.cloud: "));
    for (declared, file) in [
        (Some(true), config(false)),
        (Some(false), config(true)),
        (Some(false), config(false)),
        (None, config(true)),
    ] {
        let plan = cloud(declared, file);
        assert!(plan.blockers.is_empty(), "{declared:?}: {plan:?}");
    }
    let unknown = cloud(Some(true), Some(Knowable::unknown("permission denied")));
    assert!(unknown.blockers.is_empty());
    assert!(unknown.unknowns[0].starts_with("ollama.cloud: "));
}
