//! `ssollama init --from-machine`: the `server.toml` that describes what this Mac runs now.
//!
//! Pure: reads an [`Observed`] (the plist file, or the loaded job when the file is gone; the
//! network service; Ollama's installed and loaded models), builds the config value
//! ([`RawConfig`], the types `config::parse` reads; each `OLLAMA_*` variable through
//! `config::typed_env`, the table validation reads) and returns its text (`config::write`,
//! with the notes as comments), which passes `config::parse`. Values that `server.toml` cannot express verbatim
//! are normalized and listed as notes (in the file, as comments, and for the CLI to print): after
//! adoption, `ssollama plan` shows exactly those normalizations, and nothing else.
//!
//! Entry points: [`observation_scope`] (what to observe with, since there is no `server.toml`
//! yet), [`read_job`] (the job's definition, incl. its bind address for the second observation
//! of Ollama's API) and [`server_toml`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use plist::{Dictionary, Value};

use crate::config::raw::{
    RawConfig, RawListen, RawLogs, RawModel, RawModelPolicy, RawNetwork, RawOllama, RawService,
    unspanned,
};
use crate::config::typed_env::{FromEnv, typed_var};
use crate::config::validate::{DEFAULT_PORT, DEFAULT_STDERR, DEFAULT_STDOUT, is_env_name};
use crate::config::write::{self, Comments, Table};
use crate::launchd::plist::{daemon_home, environment_variables, parse_plist, program_arguments};
use crate::model::desired::{Label, Listen, Logs, Mode, ProcessType};
use crate::model::observed::{IpConfig, IpMethod, JobStatus, PlistFile, ServerStatus};
use crate::model::{Knowable, Observed};
use crate::observe::{NetworkScope, Scope};
use crate::ollama::env;
use crate::ollama::name::ModelName;
use crate::render::status;

/// Why the Mac could not be described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub(crate) enum AdoptError {
    /// Neither a plist file nor a loaded job with this label.
    #[error("there is no job `{label}` to adopt: no `{path}` and launchd has none loaded")]
    #[diagnostic(
        code(ssollama::adopt::no_job),
        help("name the job with `--label`, or start from `ssollama init` without --from-machine")
    )]
    NoJob {
        /// The label.
        label: String,
        /// Where the plist was looked for.
        path: String,
    },
    /// The plist exists but is not a property list.
    #[error("`{path}` cannot be read: {reason}")]
    #[diagnostic(code(ssollama::adopt::plist))]
    Plist {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A daemon without `UserName` runs Ollama as root.
    #[error("the daemon `{path}` has no `UserName`, so it runs Ollama as root")]
    #[diagnostic(
        code(ssollama::adopt::root_daemon),
        help(
            "ssollama runs daemons as a user: add `UserName` to the plist, or write server.toml by hand"
        )
    )]
    DaemonWithoutUser {
        /// The file.
        path: String,
    },
    /// `OLLAMA_HOST` names something `[listen]` cannot hold.
    #[error("`OLLAMA_HOST={value}` is not an IP address and port: {reason}")]
    #[diagnostic(
        code(ssollama::adopt::host),
        help("`[listen] host` takes an IP address; write server.toml by hand")
    )]
    Host {
        /// The variable's value.
        value: String,
        /// Why.
        reason: String,
    },
    /// `--network-service` names a service that cannot be adopted.
    #[error("network service {service:?}: {reason}")]
    #[diagnostic(
        code(ssollama::adopt::network),
        help("leave out --network-service to leave the network unmanaged")
    )]
    Network {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// The result does not validate (a value Ollama accepts but `server.toml` refuses).
    #[error("the adopted server.toml does not validate:\n{diagnostics}")]
    #[diagnostic(
        code(ssollama::adopt::invalid),
        help("fix the plist, or write server.toml by hand")
    )]
    Invalid {
        /// The config diagnostics, rendered.
        diagnostics: String,
    },
}

/// What to observe when there is no `server.toml`: the observation of the plist and the job
/// depends only on the label, the mode and `HOME`; `listen` decides where Ollama's API is asked,
/// and `network_service` makes observation read that service.
pub(crate) fn observation_scope(
    label: &Label,
    mode: Mode,
    listen: Listen,
    network_service: Option<&str>,
) -> Scope {
    Scope {
        label: label.clone(),
        mode,
        program: None,
        listen,
        network: network_service.map(|service| NetworkScope {
            service: service.to_owned(),
            address: None,
        }),
        logs: Logs {
            stdout: PathBuf::from(DEFAULT_STDOUT),
            stderr: PathBuf::from(DEFAULT_STDERR),
        },
        models: Vec::new(),
    }
}

/// Ollama's default bind: `127.0.0.1:11434`.
pub(crate) fn default_listen() -> Listen {
    Listen {
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: DEFAULT_PORT,
    }
}

/// The job's definition, as found on the Mac.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// Where it came from (the plist path).
    pub path: String,
    /// Read from the file (`false`: from the loaded job, whose print lacks the other keys).
    pub from_file: bool,
    /// `ProgramArguments` (or `Program`).
    pub arguments: Vec<String>,
    /// `EnvironmentVariables`.
    pub environment: BTreeMap<String, String>,
    /// `StandardOutPath`.
    pub stdout: Option<String>,
    /// `StandardErrorPath`.
    pub stderr: Option<String>,
    /// `UserName`.
    pub user: Option<String>,
    /// `ProcessType` as written (`None`: no key, launchd's `Standard`).
    pub process_type: Option<String>,
    /// Other top-level keys and their values, canonical (to compare with what ssollama writes).
    pub other: BTreeMap<String, String>,
    /// Where `OLLAMA_HOST` makes Ollama listen.
    pub listen: Listen,
    /// What could not be taken over verbatim.
    pub notes: Vec<String>,
}

fn string(dict: &Dictionary, key: &str) -> Option<String> {
    dict.get(key).and_then(Value::as_string).map(str::to_owned)
}

/// Reads the job from the plist file, else from the job launchd has loaded.
///
/// # Errors
/// [`AdoptError::NoJob`] when there is neither, [`AdoptError::Plist`] for an unreadable file,
/// [`AdoptError::Host`] when `OLLAMA_HOST` is not an address.
pub(crate) fn read_job(label: &Label, observed: &Observed) -> Result<Job, AdoptError> {
    let mut job = match &observed.plist {
        PlistFile::Present { path, text, .. } => {
            let value = parse_plist(text).map_err(|e| AdoptError::Plist {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let dict = value.into_dictionary().unwrap_or_default();
            let mut arguments = program_arguments(&dict);
            if arguments.is_empty() {
                arguments.extend(string(&dict, "Program"));
            }
            let environment = environment_variables(&dict);
            let handled = [
                "Label",
                "ProgramArguments",
                "Program",
                "EnvironmentVariables",
                "StandardOutPath",
                "StandardErrorPath",
                "UserName",
                "ProcessType",
            ];
            let other = dict
                .iter()
                .filter(|(k, _)| !handled.contains(&k.as_str()))
                .map(|(k, v)| {
                    let shown = match v {
                        Value::Boolean(b) => b.to_string(),
                        Value::String(s) => s.clone(),
                        Value::Integer(i) => i.to_string(),
                        other => format!("{other:?}"),
                    };
                    (k.clone(), shown)
                })
                .collect();
            Job {
                path: path.display().to_string(),
                from_file: true,
                arguments,
                environment,
                stdout: string(&dict, "StandardOutPath"),
                stderr: string(&dict, "StandardErrorPath"),
                user: string(&dict, "UserName"),
                process_type: string(&dict, "ProcessType"),
                other,
                listen: default_listen(),
                notes: Vec::new(),
            }
        }
        PlistFile::Unreadable { path, reason } => {
            return Err(AdoptError::Plist {
                path: path.display().to_string(),
                reason: reason.clone(),
            });
        }
        PlistFile::Absent { path } => match &observed.job {
            Knowable::Known(JobStatus::Loaded(loaded)) => Job {
                path: loaded
                    .path
                    .clone()
                    .unwrap_or_else(|| path.display().to_string()),
                from_file: false,
                arguments: loaded.arguments.clone(),
                environment: crate::launchd::print::job_environment(&loaded.environment),
                stdout: loaded.stdout_path.clone(),
                stderr: loaded.stderr_path.clone(),
                user: loaded.username.clone(),
                process_type: None,
                other: BTreeMap::new(),
                listen: default_listen(),
                notes: vec![format!(
                    "`{}` is gone; this describes the job launchd still has loaded",
                    path.display()
                )],
            },
            _ => {
                return Err(AdoptError::NoJob {
                    label: label.to_string(),
                    path: path.display().to_string(),
                });
            }
        },
    };
    job.listen = match job.environment.get("OLLAMA_HOST") {
        None => default_listen(),
        Some(value) => {
            // Another spelling of the same bind (`192.168.250.20` for `192.168.250.20:11434`)
            // is no difference: `plan` compares what Ollama makes of it.
            env::parse_host(value).map_err(|reason| AdoptError::Host {
                value: value.clone(),
                reason,
            })?
        }
    };
    Ok(job)
}

/// What could not be taken over verbatim, and what the file says about it.
#[derive(Debug, Default)]
struct Notes {
    /// Listed at the top of the file and printed by the CLI.
    list: Vec<String>,
    /// Comments at the end of a table.
    comments: Comments,
}

impl Notes {
    fn push(&mut self, note: String) {
        self.list.push(note);
    }

    fn comment(&mut self, table: Table, line: String) {
        self.comments.entry(table).or_default().push(line);
    }
}

/// The text of `server.toml` for what `observed` shows, and the notes about what was normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Adopted {
    /// The file.
    pub text: String,
    /// What could not be taken over verbatim (also in the file, as comments).
    pub notes: Vec<String>,
}

/// Writes `server.toml` for `job` (from [`read_job`]) and the rest of `observed` (network,
/// models). `mode` is where the plist was found. `now` (Unix seconds) tells a model pinned in
/// memory (`warm = true`) from one loaded by a recent request ([`status::is_forever`]).
///
/// The file is a [`RawConfig`], serialized by [`write::to_toml`] under a header that lists the
/// notes.
///
/// # Errors
/// [`AdoptError::DaemonWithoutUser`], [`AdoptError::Network`] when `--network-service` does not
/// have a complete manual configuration, [`AdoptError::Invalid`] when the result does not
/// validate.
pub(crate) fn server_toml(
    label: &Label,
    daemon: bool,
    job: &Job,
    observed: &Observed,
    network_service: Option<&str>,
    now: i64,
) -> Result<Adopted, AdoptError> {
    let mut notes = Notes {
        list: job.notes.clone(),
        comments: Comments::new(),
    };
    let (service, user) = service_table(label, daemon, job, &mut notes)?;
    let listen = RawListen {
        host: unspanned(job.listen.host.to_string()),
        port: Some(unspanned(i64::from(job.listen.port))),
    };
    let network = if let Some(service) = network_service {
        Some(network_table(service, observed, &mut notes)?)
    } else {
        if let Some(note) = dedicated_address_note(job.listen.host) {
            notes.push(note);
        }
        None
    };
    let mut log = |value: &Option<String>, key: &str, default: &str| {
        unspanned(value.clone().unwrap_or_else(|| {
            notes.push(format!("the job has no `{key}`; logs go to `{default}`"));
            default.to_owned()
        }))
    };
    let logs = RawLogs {
        stdout: Some(log(&job.stdout, "StandardOutPath", DEFAULT_STDOUT)),
        stderr: Some(log(&job.stderr, "StandardErrorPath", DEFAULT_STDERR)),
    };
    let ollama = ollama_table(job, user.as_deref(), &mut notes);
    let models = models_table(observed, now, &mut notes);
    other_keys(job, daemon, user.as_deref(), &mut notes);
    let raw = RawConfig {
        service: Some(service),
        listen: Some(listen),
        network,
        logs: Some(logs),
        ollama,
        model_policy: Some(RawModelPolicy { prune: Some(false) }),
        models,
    };

    let mut text = String::from(
        "#:schema ./server.schema.json\n\
         # Written by `ssollama init --from-machine` from what this Mac runs now.\n\
         # `ssollama plan` shows what would still change; every key: specs/server-toml.md.\n",
    );
    for note in &notes.list {
        let _ = writeln!(text, "# note: {note}");
    }
    text.push('\n');
    let tables = write::to_toml(&raw, &notes.comments).map_err(|e| AdoptError::Invalid {
        diagnostics: e.to_string(),
    })?;
    text.push_str(&tables);
    if let Err(errors) = crate::config::parse("server.toml", &text) {
        return Err(AdoptError::Invalid {
            diagnostics: crate::config::render_plain(&errors, 100),
        });
    }
    Ok(Adopted {
        text,
        notes: notes.list,
    })
}

/// `[service]`, and the user of a daemon.
fn service_table(
    label: &Label,
    daemon: bool,
    job: &Job,
    notes: &mut Notes,
) -> Result<(RawService, Option<String>), AdoptError> {
    let mut service = RawService {
        label: Some(unspanned(label.as_str().to_owned())),
        ..RawService::default()
    };
    let user = if daemon {
        let user = job
            .user
            .clone()
            .ok_or_else(|| AdoptError::DaemonWithoutUser {
                path: job.path.clone(),
            })?;
        service.mode = Some(unspanned("daemon".to_owned()));
        service.user = Some(unspanned(user.clone()));
        Some(user)
    } else {
        service.mode = Some(unspanned("agent".to_owned()));
        if let Some(user) = &job.user {
            notes.push(format!(
                "the agent's `UserName` ({user}) is dropped: an agent runs as you"
            ));
        }
        None
    };
    match job.arguments.split_first() {
        Some((program, rest)) => {
            service.program = Some(unspanned(program.clone()));
            if rest != ["serve"] {
                notes.push(format!(
                    "the job runs `{}`; ssollama runs `{program} serve`",
                    job.arguments.join(" ")
                ));
            }
        }
        None => notes.push("the job names no program; ssollama detects `ollama`".to_owned()),
    }
    // `launchctl print` does not show `ProcessType`: only a file tells.
    if job.from_file {
        let kept = match &job.process_type {
            None => Some(ProcessType::Standard),
            Some(text) => ProcessType::from_plist(text).or_else(|| {
                notes.push(format!(
                    "the plist's `ProcessType` ({text}) is not a launchd value; ssollama writes `Interactive`"
                ));
                None
            }),
        };
        service.process_type = kept.map(|kept| unspanned(kept.as_str().to_owned()));
    }
    Ok((service, user))
}

/// `[ollama]` from the job's environment (without `OLLAMA_HOST`, which is `[listen]`, and the
/// `HOME` ssollama sets for a daemon's `user`); `None` when there is nothing to write.
fn ollama_table(job: &Job, user: Option<&str>, notes: &mut Notes) -> Option<RawOllama> {
    let mut ollama = RawOllama::default();
    let mut typed = false;
    let mut extra = BTreeMap::new();
    for (var, value) in &job.environment {
        if var == "OLLAMA_HOST" {
            continue;
        }
        if let Some(user) = user
            && var == "HOME"
        {
            if *value != daemon_home(user) {
                notes.push(format!(
                    "HOME `{value}` becomes `{}` (ssollama sets a daemon's HOME to its user's home)",
                    daemon_home(user)
                ));
            }
            continue;
        }
        match typed_var(var) {
            Some(key) => match key.set_from_env(value, &mut ollama) {
                FromEnv::Exact => typed = true,
                FromEnv::Normalized(written) => {
                    notes.push(format!(
                        "{var} `{value}` becomes `{written}` (the same to Ollama)"
                    ));
                    typed = true;
                }
                FromEnv::Refused(reason) => notes.push(format!("{var} is left out: {reason}")),
            },
            None if is_env_name(var) => {
                extra.insert(unspanned(var.clone()), unspanned(value.clone()));
            }
            None => notes.push(format!("`{var}` is left out: not a portable variable name")),
        }
    }
    if !extra.is_empty() {
        ollama.extra_env = Some(extra);
    }
    (typed || ollama.extra_env.is_some()).then_some(ollama)
}

/// Notes about the plist's other keys, which ssollama writes its own way.
fn other_keys(job: &Job, daemon: bool, user: Option<&str>, notes: &mut Notes) {
    for (key, value) in &job.other {
        let same = match (key.as_str(), daemon) {
            ("RunAtLoad" | "KeepAlive", _) => value == "true",
            ("GroupName", true) => value == "staff",
            ("WorkingDirectory", true) => user.is_some_and(|u| *value == daemon_home(u)),
            _ => false,
        };
        if !same {
            notes.push(format!(
                "the plist's `{key}` ({value}) is not kept: ssollama writes its own"
            ));
        }
    }
    for key in ["RunAtLoad", "KeepAlive"] {
        if job.from_file && !job.other.contains_key(key) {
            notes.push(format!("the plist has no `{key}`; ssollama adds it"));
        }
    }
}

/// The address of a bind to one IPv4 address of this Mac (neither loopback nor all
/// interfaces): such a server relies on a network service keeping that address.
#[must_use]
pub(crate) fn dedicated_address(host: IpAddr) -> Option<Ipv4Addr> {
    match host {
        IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// The one network service whose manual configuration has `address` (from `networksetup
/// -getinfo` of each service); `None` when none or several do.
#[must_use]
pub(crate) fn service_with_address(
    configs: &[(String, IpConfig)],
    address: Ipv4Addr,
) -> Option<&str> {
    let mut matching = configs
        .iter()
        .filter(|(_, info)| info.method == IpMethod::Manual && info.address == Some(address));
    match (matching.next(), matching.next()) {
        (Some((name, _)), None) => Some(name),
        _ => None,
    }
}

/// Without `--network-service`, nothing in `server.toml` keeps a dedicated bind address.
fn dedicated_address_note(host: IpAddr) -> Option<String> {
    dedicated_address(host).map(|ip| {
        format!(
            "the job listens on {ip} only, and nothing keeps that address: no [network] is written; \
             run `ssollama init --from-machine --network-service NAME` with the network service that \
             has {ip} (`networksetup -listallnetworkservices`) to manage its static IP"
        )
    })
}

/// `[network]`: the manual configuration of `service`, which must be complete.
fn network_table(
    service: &str,
    observed: &Observed,
    notes: &mut Notes,
) -> Result<RawNetwork, AdoptError> {
    let error = |reason: String| AdoptError::Network {
        service: service.to_owned(),
        reason,
    };
    let state = match &observed.network {
        Some(Knowable::Known(state)) => state,
        Some(Knowable::Unknown { reason }) => return Err(error(reason.clone())),
        None => return Err(error("was not observed".to_owned())),
    };
    let info = match &state.info {
        None => {
            let names: Vec<String> = state
                .services
                .iter()
                .map(|s| format!("{:?}", s.name))
                .collect();
            return Err(error(format!(
                "does not exist; services are: {}",
                names.join(", ")
            )));
        }
        Some(Knowable::Unknown { reason }) => return Err(error(reason.clone())),
        Some(Knowable::Known(info)) => info,
    };
    let (IpMethod::Manual, Some(address), Some(mask), Some(router)) =
        (&info.method, info.address, info.subnet_mask, info.router)
    else {
        return Err(error(
            "has no complete manual IPv4 configuration (address, subnet mask and router); ssollama would change it"
                .to_owned(),
        ));
    };
    let ip = |address: Ipv4Addr| unspanned(address.to_string());
    let mut network = RawNetwork {
        service: unspanned(service.to_owned()),
        address: ip(address),
        subnet_mask: ip(mask),
        router: ip(router),
        dns: None,
    };
    if let Some(Knowable::Known(dns)) = &state.dns {
        if dns.iter().all(IpAddr::is_ipv4) {
            network.dns = Some(dns.iter().map(|d| unspanned(d.to_string())).collect());
        } else {
            // `network.dns` takes IPv4 servers only: leave DNS unmanaged rather than adopt a
            // list that would not validate (or plan to drop the IPv6 servers).
            let list: Vec<String> = dns.iter().map(|d| format!("\"{d}\"")).collect();
            notes.comment(
                Table::Network,
                format!(
                    "dns is not managed: this Mac lists IPv6 servers ({}) and `network.dns` takes IPv4 only",
                    list.join(", ")
                ),
            );
        }
    }
    Ok(network)
}

/// `[[models]]`: the installed models, sorted, `warm` for those pinned in memory; `None` when
/// Ollama's models could not be read.
fn models_table(observed: &Observed, now: i64, notes: &mut Notes) -> Option<Vec<RawModel>> {
    let ServerStatus::Up { models, loaded, .. } = &observed.ollama.server else {
        if let ServerStatus::Down { reason } = &observed.ollama.server {
            notes.push(format!(
                "no [[models]]: Ollama did not answer at {} ({reason})",
                observed.ollama.url
            ));
        }
        return None;
    };
    let Knowable::Known(models) = models else {
        notes.push("no [[models]]: the installed models could not be read".to_owned());
        return None;
    };
    // Loaded models and when they unload (`expires_at`).
    let in_memory: Vec<(ModelName, &str)> = loaded
        .known()
        .map(|list| {
            list.iter()
                .filter_map(|m| {
                    ModelName::parse(&m.name)
                        .ok()
                        .map(|n| (n, m.expires_at.as_str()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut names: Vec<ModelName> = Vec::new();
    for model in models {
        match ModelName::parse(&model.name) {
            Ok(name) if !names.contains(&name) => names.push(name),
            Ok(_) => {}
            Err(e) => notes.push(format!("model `{}` is left out: {e}", model.name)),
        }
    }
    names.sort();
    let mut entries = Vec::new();
    for (index, name) in names.into_iter().enumerate() {
        let expiry = in_memory
            .iter()
            .find(|(loaded, _)| *loaded == name)
            .map(|(_, expires_at)| *expires_at);
        let warm = match expiry {
            Some(_) if name.is_cloud() => None,
            // Pinned (`keep_alive` -1): that is what `warm = true` keeps.
            Some(at) if status::is_forever(at, now) => Some(true),
            // Loaded by a recent request; pinning it forever would be a change, not a description.
            Some(at) => {
                notes.comment(
                    Table::Model(index),
                    format!("loaded now, until {at}: add warm = true to keep it loaded"),
                );
                notes.push(format!(
                    "`{}` is loaded now, until {at}: add `warm = true` to keep it loaded",
                    name.display()
                ));
                None
            }
            None => None,
        };
        entries.push(RawModel {
            name: unspanned(name.display()),
            warm,
            context_length: None,
            parameters: None,
            serve_as: None,
        });
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::desired::{Desired, Service};

    /// 2025-11-24T16:00:00Z: the clock of these tests.
    const NOW: i64 = 1_764_000_000;

    const CONVERGED: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/cases/plan/converged/observed.json"
    ));

    /// The plist the shell installer ssollama replaces writes (dedicated-IP binding), verbatim
    /// in shape.
    const SEED_PLIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key>
    <string>com.ollama</string>
    <key>ProgramArguments</key>
    <array>
        <string>/opt/homebrew/opt/ollama/bin/ollama</string>
        <string>serve</string>
    </array>
    <key>EnvironmentVariables</key>
    <dict>
        <key>OLLAMA_HOST</key>
        <string>192.168.250.20</string>
        <!-- Optional CORS configuration (uncomment if needed):
        <key>OLLAMA_ORIGINS</key>
        <string>*</string>
        -->
    </dict>
    <key>KeepAlive</key>
    <true/>
    <key>RunAtLoad</key>
    <true/>
    <key>StandardOutPath</key>
    <string>/tmp/ollama.stdout.log</string>
    <key>StandardErrorPath</key>
    <string>/tmp/ollama.stderr.log</string>
</dict>
</plist>
"#;

    fn adopt(observed: &Observed) -> (Adopted, Desired) {
        let label = Label::new("com.ollama").unwrap();
        let job = read_job(&label, observed).unwrap();
        let adopted = server_toml(&label, false, &job, observed, Some("Ethernet"), NOW).unwrap();
        let desired = crate::config::parse("server.toml", &adopted.text)
            .unwrap()
            .desired;
        (adopted, desired)
    }

    #[test]
    fn adopting_a_server_ssollama_wrote_plans_no_changes() {
        let observed: Observed = serde_json::from_str(CONVERGED).unwrap();
        let (adopted, desired) = adopt(&observed);
        assert_eq!(adopted.notes, Vec::<String>::new());
        let plan = crate::plan::plan(&desired, &observed);
        assert!(plan.is_empty() && plan.unknowns.is_empty(), "{plan:?}");
        insta::assert_snapshot!(adopted.text);
    }

    #[test]
    fn ipv6_dns_servers_leave_dns_unmanaged() {
        let mut observed: Observed = serde_json::from_str(CONVERGED).unwrap();
        let Some(Knowable::Known(state)) = &mut observed.network else {
            panic!("the converged case has a network")
        };
        state.dns = Some(Knowable::Known(vec![
            "1.1.1.1".parse().unwrap(),
            "2001:4860:4860::8888".parse().unwrap(),
        ]));
        let (adopted, desired) = adopt(&observed);
        assert!(
            adopted.text.contains(
                "router = \"192.168.250.1\"\n# dns is not managed: this Mac lists IPv6 servers (\"1.1.1.1\", \"2001:4860:4860::8888\") and `network.dns` takes IPv4 only\n\n[logs]\n"
            ),
            "{}",
            adopted.text
        );
        assert_eq!(desired.network.and_then(|n| n.dns), None);
    }

    #[test]
    fn adopting_the_seed_plist_plans_no_changes() {
        let mut observed: Observed = serde_json::from_str(CONVERGED).unwrap();
        let PlistFile::Present { text, .. } = &mut observed.plist else {
            panic!("the converged case has a plist")
        };
        SEED_PLIST.clone_into(text);
        // launchd loaded that same file.
        if let Knowable::Known(JobStatus::Loaded(job)) = &mut observed.job {
            job.environment = BTreeMap::from([
                ("OLLAMA_HOST".to_owned(), "192.168.250.20".to_owned()),
                ("XPC_SERVICE_NAME".to_owned(), "com.ollama".to_owned()),
            ]);
        }
        let (adopted, desired) = adopt(&observed);
        // The bare address is the same bind, and no `ProcessType` is `process_type = "standard"`.
        assert_eq!(adopted.notes, Vec::<String>::new());
        assert!(adopted.text.contains("process_type = \"standard\"\n"));
        assert!(
            adopted
                .text
                .contains("host = \"192.168.250.20\"\nport = 11434\n")
        );
        let plan = crate::plan::plan(&desired, &observed);
        assert!(plan.is_empty() && plan.unknowns.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_daemon_keeps_its_user_and_drops_the_home_ssollama_sets() {
        let mut observed: Observed = serde_json::from_str(CONVERGED).unwrap();
        let daemon = Desired {
            service: Service {
                label: Label::new("com.ollama").unwrap(),
                mode: Mode::Daemon {
                    user: "ai".to_owned(),
                },
                program: None,
                process_type: ProcessType::default(),
            },
            ..crate::config::parse("s.toml", "[listen]\nhost = \"192.168.250.20\"\n")
                .unwrap()
                .desired
        };
        let path = PathBuf::from("/Library/LaunchDaemons/com.ollama.plist");
        let program = std::path::Path::new("/opt/homebrew/opt/ollama/bin/ollama");
        observed.plist = PlistFile::Present {
            path,
            text: crate::launchd::plist::desired_plist_xml(&daemon, program),
            owner: 0,
            mode: 0o644,
            binary: false,
        };
        let label = Label::new("com.ollama").unwrap();
        let job = read_job(&label, &observed).unwrap();
        let adopted = server_toml(&label, true, &job, &observed, None, NOW).unwrap();
        // Bound to a dedicated address, adopted without `--network-service`: the one note.
        assert_eq!(adopted.notes.len(), 1, "{:?}", adopted.notes);
        assert!(adopted.notes[0].contains("listens on 192.168.250.20 only"));
        assert!(adopted.text.contains("mode = \"daemon\"\nuser = \"ai\"\n"));
        assert!(!adopted.text.contains("HOME"));
        let mut no_user = job;
        no_user.user = None;
        assert!(matches!(
            server_toml(&label, true, &no_user, &observed, None, NOW),
            Err(AdoptError::DaemonWithoutUser { .. })
        ));
    }

    #[test]
    fn only_a_model_pinned_forever_is_warm() {
        let mut observed: Observed = serde_json::from_str(CONVERGED).unwrap();
        let ServerStatus::Up { loaded, .. } = &mut observed.ollama.server else {
            panic!("the converged case has a server")
        };
        let Knowable::Known(loaded) = loaded else {
            panic!("the converged case knows what is loaded")
        };
        assert!(!loaded.is_empty());
        // Loaded by a request with the default keep-alive: 5 minutes after NOW.
        for model in loaded.iter_mut() {
            "2025-11-24T16:05:00Z".clone_into(&mut model.expires_at);
        }
        let (adopted, desired) = adopt(&observed);
        assert!(
            !adopted.text.contains("\nwarm = true\n"),
            "{}",
            adopted.text
        );
        assert!(
            adopted.text.contains(
                "# loaded now, until 2025-11-24T16:05:00Z: add warm = true to keep it loaded\n"
            ),
            "{}",
            adopted.text
        );
        assert!(
            adopted
                .notes
                .iter()
                .any(|n| n.contains("is loaded now, until 2025-11-24T16:05:00Z")),
            "{:?}",
            adopted.notes
        );
        assert!(desired.models.iter().all(|m| !m.warm));
    }

    #[test]
    fn a_dedicated_address_without_a_network_service_says_which_flag_to_pass() {
        let observed: Observed = serde_json::from_str(CONVERGED).unwrap();
        let label = Label::new("com.ollama").unwrap();
        let job = read_job(&label, &observed).unwrap();
        assert_eq!(job.listen.host.to_string(), "192.168.250.20");
        let adopted = server_toml(&label, false, &job, &observed, None, NOW).unwrap();
        let hint = "--network-service NAME` with the network service that has 192.168.250.20";
        assert!(
            adopted.notes.iter().any(|n| n.contains(hint)),
            "{:?}",
            adopted.notes
        );
        assert!(
            adopted
                .text
                .contains("# note: the job listens on 192.168.250.20 only")
        );
        assert!(!adopted.text.contains("\n[network]\n"));
        // Loopback and all interfaces need no network service.
        for host in ["127.0.0.1", "0.0.0.0"] {
            assert_eq!(
                dedicated_address_note(host.parse().unwrap()),
                None,
                "{host}"
            );
        }
    }

    #[test]
    fn the_one_manual_service_with_the_address_is_found() {
        let config = |method: IpMethod, address: &str| IpConfig {
            method,
            address: Some(address.parse().unwrap()),
            subnet_mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            router: Some(Ipv4Addr::new(192, 168, 250, 1)),
        };
        let ip = Ipv4Addr::new(192, 168, 250, 20);
        let wifi = ("Wi-Fi".to_owned(), config(IpMethod::Dhcp, "192.168.1.7"));
        let ethernet = (
            "Ethernet".to_owned(),
            config(IpMethod::Manual, "192.168.250.20"),
        );
        assert_eq!(
            service_with_address(&[wifi.clone(), ethernet.clone()], ip),
            Some("Ethernet")
        );
        // The address from DHCP is not a configuration server.toml can hold.
        let leased = (
            "Ethernet".to_owned(),
            config(IpMethod::Dhcp, "192.168.250.20"),
        );
        assert_eq!(service_with_address(&[wifi.clone(), leased], ip), None);
        // Two services with it: ambiguous, the user says which.
        let thunderbolt = ("Thunderbolt Bridge".to_owned(), ethernet.1.clone());
        assert_eq!(service_with_address(&[ethernet, thunderbolt], ip), None);
        assert_eq!(service_with_address(&[wifi], ip), None);
        assert_eq!(
            dedicated_address("192.168.250.20".parse().unwrap()),
            Some(ip)
        );
        assert_eq!(dedicated_address("::1".parse().unwrap()), None);
    }
}
