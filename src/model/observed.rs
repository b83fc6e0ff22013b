//! [`Observed`]: everything `observe` learned about the Mac, as one serializable value.
//!
//! `ssollama observe --json` prints it (the bug-report artifact) and `plan --state FILE` plans
//! against it on any OS. Facts that could not be learned are [`Knowable::Unknown`], never guessed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::launchd::domain::ServiceTarget;
use crate::ollama::show::KvGeometry;

use super::Knowable;

/// The format version of a saved observation (`observe --json`); bumped on incompatible change.
pub(crate) const OBSERVATION_FORMAT: u32 = 1;

/// One observation of the Mac, taken for one `server.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// `OBSERVATION_FORMAT`.
    pub format: u32,
    /// Who and where ssollama runs.
    pub host: HostFacts,
    /// The plist file at the path `server.toml` implies.
    pub plist: PlistFile,
    /// The job as launchd has it loaded (`launchctl print <domain>/<label>`).
    pub job: Knowable<JobStatus>,
    /// `None` when `server.toml` has no `[network]` (nothing was asked).
    pub network: Option<Knowable<NetworkState>>,
    /// Ollama's HTTP API at `listen.host:listen.port`.
    pub ollama: OllamaState,
    /// The `ollama` executable.
    pub program: ProgramState,
    /// `logs.stdout` and `logs.stderr`, in that order.
    pub logs: Vec<LogFile>,
    /// Things that break a server in practice (Ollama.app, `homebrew.mxcl.ollama`, port taken).
    pub conflicts: Knowable<Vec<Conflict>>,
    /// What the Metal limit is read from (the log's `inference compute`, `sysctl`); absent in
    /// observations saved before it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryFacts>,
    /// The server's `~/.ollama/server.json` (`disable_ollama_cloud`); absent in observations
    /// saved before it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_config: Option<Knowable<ServerConfig>>,
}

/// What the Metal limit is read from (`specs/capacity.md` §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryFacts {
    /// The Metal device of the last server start in the job's `StandardErrorPath` (its tail);
    /// `Known(None)` when that start logged none (the server has not run, or not yet that far).
    pub logged: Knowable<Option<LoggedMetal>>,
    /// `sysctl hw.memsize iogpu.wired_limit_mb`.
    pub sysctl: Knowable<SysctlMemory>,
}

/// The `inference compute` line of the last server start for the Metal device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedMetal {
    /// The log it was read from.
    pub log: PathBuf,
    /// `total` as logged (`21.3 GiB`).
    pub total_text: String,
    /// `total` read back, bytes (± 0.05 GiB).
    pub total: u64,
    /// The start's version (`Listening on … (version 0.12.6)`), when logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `sysctl`'s memory facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SysctlMemory {
    /// `hw.memsize`, bytes; `None` when not printed.
    pub memsize: Option<u64>,
    /// `iogpu.wired_limit_mb` (0 = macOS's default); `None` when the kernel has no such OID.
    pub wired_limit_mb: Option<u64>,
}

/// `~/.ollama/server.json` of the user the server runs as, as Ollama reads it
/// (`docs/ollama.md` §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The file.
    pub path: PathBuf,
    /// Whether it exists.
    pub exists: bool,
    /// `disable_ollama_cloud` as Ollama reads it: `false` when the file, the key or valid JSON
    /// is missing.
    pub disable_ollama_cloud: bool,
    /// Why Ollama ignores what the file says (not JSON, or the key not a boolean), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// Facts about the user and the OS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// The real uid ssollama runs as (decides `gui/<uid>`).
    pub uid: u32,
    /// `HOME` (decides `~/Library/LaunchAgents`).
    pub home: PathBuf,
    /// `sw_vers -productVersion`.
    pub os_version: Knowable<String>,
}

/// The plist file on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PlistFile {
    /// No file at `path`.
    Absent {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file exists and was read; `text` may or may not parse as a plist (the planner decides).
    Present {
        /// The file.
        path: PathBuf,
        /// Its content: the file's text, or for a binary plist (`bplist00`) the canonical XML of
        /// what it holds.
        text: String,
        /// Owner uid.
        owner: u32,
        /// Permission bits (`0o644`).
        mode: u32,
        /// The file is a binary plist (launchd reads it; `plutil -convert binary1` and
        /// `defaults write` make them); `text` is then its canonical XML.
        #[serde(default)]
        binary: bool,
    },
    /// It exists but could not be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What `launchctl print <domain>/<label>` says.
#[expect(
    clippy::large_enum_variant,
    reason = "observed once per run; boxing would only complicate matching"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "job", rename_all = "snake_case")]
pub enum JobStatus {
    /// Exit 113: launchd has no such service in that domain.
    NotLoaded,
    /// Loaded; the definition launchd imported (not necessarily the file on disk now).
    Loaded(LoadedJob),
}

/// The loaded definition and run state, key by key from `launchctl print` (depth 1 only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedJob {
    /// `state` (`running`, `not running`, `spawn scheduled`, …), as printed.
    pub state: Option<String>,
    /// `pid`: present only while running.
    pub pid: Option<u32>,
    /// `last exit code` / `last terminating signal`.
    pub last_exit: Option<LastExit>,
    /// `last exit reason` (`OS_REASON_CODESIGNING`, `OS_REASON_EXEC`, …): why the kernel ended
    /// or refused the last instance; printed with or without a `last exit code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit_reason: Option<String>,
    /// `job state` (`running`, `exited`, `spawn failed`, …): launchd's own view of the last
    /// spawn, newer macOS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_state: Option<String>,
    /// `runs`.
    pub runs: Option<u64>,
    /// `program`.
    pub program: Option<String>,
    /// `arguments`.
    pub arguments: Vec<String>,
    /// `environment` (the job's own `EnvironmentVariables` plus launchd's additions such as
    /// `XPC_SERVICE_NAME`; not `inherited`/`default environment`).
    pub environment: BTreeMap<String, String>,
    /// `stdout path`.
    pub stdout_path: Option<String>,
    /// `stderr path`.
    pub stderr_path: Option<String>,
    /// `path`: the plist launchd imported.
    pub path: Option<String>,
    /// `username` (daemons with `UserName`).
    pub username: Option<String>,
    /// `properties` flags (`keepalive`, `runatload`, …).
    pub properties: Vec<String>,
}

impl LoadedJob {
    /// How the last instance ended, as plans, checks and `status` show it: the exit
    /// (`78: EX_CONFIG`, `Terminated: 15`, `never exited`), the exit reason
    /// (`OS_REASON_CODESIGNING`), and `job state = …` when it says more than `running`,
    /// `exited` or `uninitialized` (`spawn failed`). `None` when the print has none of them.
    pub fn last_exit_text(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(exit) = &self.last_exit {
            parts.push(exit.to_string());
        }
        if let Some(reason) = &self.last_exit_reason {
            parts.push(reason.clone());
        }
        if let Some(state) = self
            .job_state
            .as_deref()
            .filter(|s| !matches!(*s, "running" | "exited" | "uninitialized"))
        {
            parts.push(format!("job state = {state}"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// How the previous instance of a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LastExit {
    /// `last exit code = (never exited)`.
    NeverExited,
    /// `last exit code = 78: EX_CONFIG` → code 78, name `EX_CONFIG`.
    Code {
        /// Exit status.
        code: i32,
        /// The symbolic name launchd adds, if any.
        name: Option<String>,
    },
    /// `last terminating signal = Terminated: 15`.
    Signal {
        /// Signal number.
        signal: i32,
        /// Its description.
        name: String,
    },
}

/// How a last exit reads in plans, checks and `status`: `never exited`, `78: EX_CONFIG`, `1`,
/// `Terminated: 15`.
impl fmt::Display for LastExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NeverExited => f.write_str("never exited"),
            Self::Code { code, name: None } => write!(f, "{code}"),
            Self::Code {
                code,
                name: Some(name),
            } => write!(f, "{code}: {name}"),
            Self::Signal { signal, name } => write!(f, "{name}: {signal}"),
        }
    }
}

/// The managed network service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    /// `networksetup -listallnetworkservices`.
    pub services: Vec<NetworkService>,
    /// `-getinfo <service>`; `None` when the service does not exist.
    pub info: Option<Knowable<IpConfig>>,
    /// `-getdnsservers <service>` (IPv4 and IPv6 servers, in the resolver's order); `None`
    /// when the service does not exist.
    pub dns: Option<Knowable<Vec<IpAddr>>>,
}

/// One line of `-listallnetworkservices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkService {
    /// The service name (without the `*`).
    pub name: String,
    /// `false` when listed with a leading `*`.
    pub enabled: bool,
}

/// `networksetup -getinfo`, IPv4 part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// First line.
    pub method: IpMethod,
    /// `IP address:` (`None` when absent, `none` or `(null)`).
    pub address: Option<Ipv4Addr>,
    /// `Subnet mask:`.
    pub subnet_mask: Option<Ipv4Addr>,
    /// `Router:`.
    pub router: Option<Ipv4Addr>,
}

/// The configuration method line of `-getinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpMethod {
    /// `DHCP Configuration`.
    Dhcp,
    /// `Manual Configuration`.
    Manual,
    /// `BOOTP Configuration`.
    Bootp,
    /// Anything else, verbatim (`Off Configuration`, …).
    Other(String),
}

/// Ollama's HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OllamaState {
    /// The base URL probed, e.g. `http://127.0.0.1:11434`.
    pub url: String,
    /// Whether it answered.
    pub server: ServerStatus,
}

/// Whether Ollama answered, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ServerStatus {
    /// Nothing answered (connection refused, timeout, not Ollama).
    Down {
        /// Why.
        reason: String,
    },
    /// `/api/version` answered.
    Up {
        /// `/api/version`.
        version: String,
        /// `/api/tags`.
        models: Knowable<Vec<InstalledModel>>,
        /// `/api/ps`.
        loaded: Knowable<Vec<LoadedModel>>,
        /// `POST /api/show` of every declared model and every derived model, by the name asked
        /// (Ollama's display form, `llama3.2:latest`); `Known(None)` when Ollama answered 404
        /// (no such model). Cloud models are not asked (their show goes to the cloud).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        shown: BTreeMap<String, Knowable<Option<ShownModel>>>,
    },
}

/// What `/api/show` says about one model: what a derived model is compared by, and what
/// sizes its KV cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownModel {
    /// `parameters`, parsed (`ollama::show::parse_parameters`): each name's values in the
    /// order listed (`stop` has several); unknown when a line is unreadable.
    pub parameters: Knowable<BTreeMap<String, Vec<serde_json::Value>>>,
    /// `details.parent_model`: the model it was created from (`None` when empty: a pulled
    /// model, or a server before v0.30.0).
    pub parent: Option<String>,
    /// `capabilities` (`completion`, `embedding`, …; empty when absent).
    pub capabilities: Vec<String>,
    /// The attention geometry from `model_info` (`ollama::show::kv_geometry`); `None` when
    /// the server sent no `model_info` or it has no attention keys.
    pub kv: Option<KvGeometry>,
}

/// One `/api/tags` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledModel {
    /// `name` (Ollama's display form, e.g. `llama3:latest`).
    pub name: String,
    /// `digest`: bare lower-case hex SHA-256 of the manifest.
    pub digest: String,
    /// `size` in bytes.
    pub size: u64,
    /// `modified_at`, as sent.
    pub modified_at: String,
    /// `capabilities` (v0.30+; empty when absent). `embedding` decides how to warm.
    pub capabilities: Vec<String>,
    /// `details.family`.
    pub family: Option<String>,
}

/// One `/api/ps` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedModel {
    /// `name`.
    pub name: String,
    /// `digest`.
    pub digest: String,
    /// `expires_at`, as sent.
    pub expires_at: String,
    /// `size`.
    pub size: u64,
    /// `size_vram`.
    pub size_vram: u64,
    /// `context_length`: the context the runner was really given (v0.10.0+; `None` when
    /// absent or 0). Lower than asked when memory is short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
}

/// The `ollama` executable the job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramState {
    /// The path in use: `service.program`, or the first candidate found; `None` = none found.
    pub path: Option<PathBuf>,
    /// Every path looked at, in order.
    pub candidates: Vec<PathBuf>,
    /// `ollama --version` output (first line), when it ran.
    pub version: Knowable<String>,
    /// Where `brew` is, if anywhere (used to install Ollama on a bare Mac).
    pub brew: Option<PathBuf>,
}

/// A log file named in `[logs]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFile {
    /// The path.
    pub path: PathBuf,
    /// Owner and mode, when it exists.
    pub meta: Option<FileMeta>,
}

/// Owner and permissions of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Owner uid.
    pub owner: u32,
    /// Permission bits.
    pub mode: u32,
    /// A regular file (not a device such as `/dev/null`, a directory or a symbolic link);
    /// omitted when true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub regular: bool,
}

fn yes() -> bool {
    true
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_true(value: &bool) -> bool {
    *value
}

/// Something on the Mac that fights the managed server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// Ollama.app is running: when its own server fails it SIGTERMs every other `ollama serve`.
    OllamaAppRunning {
        /// The app's pid.
        pid: u32,
    },
    /// Homebrew's `homebrew.mxcl.ollama` job is loaded and competes for the port.
    HomebrewServiceLoaded {
        /// e.g. `gui/501/homebrew.mxcl.ollama`.
        target: ServiceTarget,
    },
    /// Another process (not our job) listens on the port.
    PortTaken {
        /// Its pid.
        pid: u32,
        /// `COMMAND` as `lsof` prints it.
        command: String,
        /// `NAME`, e.g. `127.0.0.1:11434`.
        address: String,
    },
}
