//! [`Desired`]: the validated content of `server.toml`, valid by construction.
//!
//! Built only by `config::parse` (and by tests). Every identifier is a newtype or a std address
//! type, so nothing downstream re-validates.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ollama::name::ModelName;

/// Everything `server.toml` declares, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// `[service]`: the launchd job.
    pub service: Service,
    /// `[listen]`: where Ollama binds (`OLLAMA_HOST`).
    pub listen: Listen,
    /// `[network]`: the static IPv4 configuration of one network service; `None` = not managed.
    pub network: Option<NetworkSpec>,
    /// `[logs]`: `StandardOutPath` / `StandardErrorPath`.
    pub logs: Logs,
    /// `[ollama]` and `[ollama.extra_env]`: Ollama's environment.
    pub ollama: OllamaSettings,
    /// `[model_policy]`.
    pub model_policy: ModelPolicy,
    /// `[[models]]`, in file order, without duplicates (after normalization).
    pub models: Vec<ModelSpec>,
}

/// A launchd label: `[A-Za-z0-9._-]+`, also the plist file stem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

/// Why a string is not a launchd label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    /// The label is empty.
    #[error("the label is empty")]
    Empty,
    /// The label has a character outside `[A-Za-z0-9._-]`.
    #[error("the label has the character {0:?}; use only letters, digits, `.`, `_` and `-`")]
    BadChar(char),
    /// `.` or `..`: not a file name (`<label>.plist` would be hidden or climb a directory).
    #[error("the label {0:?} is not a name; use a reverse-DNS name like `com.ollama`")]
    Dots(String),
    /// Too long for the plist's file name (and its backup's) to fit in 255 bytes.
    #[error("the label is {0} characters long; at most {max} fit in the plist's file name", max = Label::MAX_LEN)]
    TooLong(usize),
}

impl Label {
    /// The longest label: `<label>.plist.ssollama-backup` and the atomic write's temp file
    /// `.<label>.plist.ssollama-<pid>.tmp` must fit in a 255-byte file name.
    pub const MAX_LEN: usize = 200;

    /// Validates a label.
    pub fn new(text: &str) -> Result<Self, LabelError> {
        if text.is_empty() {
            return Err(LabelError::Empty);
        }
        if text == "." || text == ".." {
            return Err(LabelError::Dots(text.to_owned()));
        }
        if text.len() > Self::MAX_LEN {
            return Err(LabelError::TooLong(text.len()));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(LabelError::BadChar(bad));
        }
        Ok(Self(text.to_owned()))
    }

    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Label {
    type Error = LabelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<Label> for String {
    fn from(value: Label) -> Self {
        value.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[service]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// `service.label`, default `com.ollama`.
    pub label: Label,
    /// `service.mode` (+ `service.user` for daemons).
    pub mode: Mode,
    /// `service.program`; `None` = detect (Homebrew arm64, `/usr/local`, Ollama.app).
    pub program: Option<PathBuf>,
    /// `service.process_type`: the plist's `ProcessType`, default `Interactive`.
    #[serde(default)]
    pub process_type: ProcessType,
}

/// launchd's `ProcessType` (launchd.plist(5), docs/macos.md §4): how much launchd throttles the
/// job's CPU and I/O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessType {
    /// No limits, like apps (what ssollama writes unless told otherwise).
    #[default]
    Interactive,
    /// launchd's default ("light resource limits"): written as no `ProcessType` key at all.
    Standard,
    /// Throttled like background work.
    Background,
    /// Limits that depend on XPC activity.
    Adaptive,
}

impl ProcessType {
    /// Every value, in the order `server.toml` documents them.
    pub const ALL: [Self; 4] = [
        Self::Interactive,
        Self::Standard,
        Self::Background,
        Self::Adaptive,
    ];

    /// The `server.toml` spelling (`"interactive"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interactive => "interactive",
            Self::Standard => "standard",
            Self::Background => "background",
            Self::Adaptive => "adaptive",
        }
    }

    /// The plist spelling (`Interactive`, …); `Standard` is what launchd assumes without a key.
    pub fn plist_value(self) -> &'static str {
        match self {
            Self::Interactive => "Interactive",
            Self::Standard => "Standard",
            Self::Background => "Background",
            Self::Adaptive => "Adaptive",
        }
    }

    /// Parses the `server.toml` spelling.
    pub fn from_toml(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Parses the plist spelling.
    pub fn from_plist(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.plist_value() == text)
    }
}

/// Agent (per-user, `gui/<uid>`) or daemon (`system`, runs as `user`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// `~/Library/LaunchAgents`, domain `gui/<uid>`, starts at login.
    Agent,
    /// `/Library/LaunchDaemons`, domain `system`, starts at boot, runs as `user`.
    Daemon {
        /// `service.user`: the `UserName` of the job.
        user: String,
    },
}

/// `[listen]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listen {
    /// `listen.host`; `0.0.0.0` = all interfaces.
    pub host: IpAddr,
    /// `listen.port`, 1–65535, default 11434.
    pub port: u16,
}

impl Listen {
    /// The value written to `OLLAMA_HOST`: `host:port` (IPv6 in brackets).
    pub fn ollama_host(&self) -> String {
        match self.host {
            IpAddr::V4(v4) => format!("{v4}:{}", self.port),
            IpAddr::V6(v6) => format!("[{v6}]:{}", self.port),
        }
    }

    /// Where a client on this Mac reaches the server: unspecified addresses map to loopback.
    pub fn connect_addr(&self) -> std::net::SocketAddr {
        let host = match self.host {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            other => other,
        };
        std::net::SocketAddr::new(host, self.port)
    }
}

/// `[network]`: a manual IPv4 configuration for one `networksetup` network service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// `network.service`: a name from `networksetup -listallnetworkservices`.
    pub service: String,
    /// `network.address`.
    pub address: Ipv4Addr,
    /// `network.subnet_mask` (contiguous).
    pub subnet_mask: Ipv4Addr,
    /// `network.router` (inside `address/subnet_mask`).
    pub router: Ipv4Addr,
    /// `network.dns`: `None` = DNS not managed; `Some([])` = no DNS servers.
    pub dns: Option<Vec<Ipv4Addr>>,
}

/// `[logs]`: absolute paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logs {
    /// `logs.stdout` → `StandardOutPath`, default `/tmp/ollama.stdout.log`.
    pub stdout: PathBuf,
    /// `logs.stderr` → `StandardErrorPath`, default `/tmp/ollama.stderr.log`.
    pub stderr: PathBuf,
}

/// `OLLAMA_KV_CACHE_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvCacheType {
    /// `f16` (Ollama's default).
    F16,
    /// `q8_0`.
    Q8_0,
    /// `q4_0` (needs flash attention).
    Q4_0,
}

impl KvCacheType {
    /// The value Ollama reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
            Self::Q4_0 => "q4_0",
        }
    }
}

/// A duration as Ollama parses it (`time.ParseDuration`, or integer seconds for env values;
/// negative = forever). The text is kept as written, because it is what goes into the plist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OllamaDuration {
    /// As written in `server.toml` (a string, or an integer number of seconds rendered as text).
    pub text: String,
    /// `None` = forever (negative); otherwise whole nanoseconds.
    pub nanos: Option<u128>,
}

/// `[ollama]`: Ollama's typed environment. `None` = not written (Ollama's default applies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OllamaSettings {
    /// `OLLAMA_KEEP_ALIVE`.
    pub keep_alive: Option<OllamaDuration>,
    /// `OLLAMA_CONTEXT_LENGTH`.
    pub context_length: Option<u32>,
    /// `OLLAMA_FLASH_ATTENTION`.
    pub flash_attention: Option<bool>,
    /// `OLLAMA_KV_CACHE_TYPE`.
    pub kv_cache_type: Option<KvCacheType>,
    /// `OLLAMA_NUM_PARALLEL`.
    pub num_parallel: Option<u32>,
    /// `OLLAMA_MAX_LOADED_MODELS`.
    pub max_loaded_models: Option<u32>,
    /// `OLLAMA_MAX_QUEUE`.
    pub max_queue: Option<u32>,
    /// `OLLAMA_DEBUG`.
    pub debug: Option<bool>,
    /// `OLLAMA_ORIGINS` (comma-joined).
    pub origins: Option<Vec<String>>,
    /// `OLLAMA_MODELS`.
    pub models_dir: Option<PathBuf>,
    /// `OLLAMA_LOAD_TIMEOUT`.
    pub load_timeout: Option<OllamaDuration>,
    /// `OLLAMA_NOPRUNE`.
    pub no_prune: Option<bool>,
    /// `[ollama.extra_env]`, verbatim.
    pub extra_env: BTreeMap<String, String>,
    /// `cloud`: `Some(false)` writes `OLLAMA_NO_CLOUD=1`, `Some(true)` writes `0`, `None`
    /// nothing (a boolean variable: docs/ollama.md §4, §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<bool>,
}

impl OllamaSettings {
    /// The `OLLAMA_*` variables these settings write (without `OLLAMA_HOST`), plus `extra_env`.
    pub fn environment(&self) -> BTreeMap<String, String> {
        fn flag(value: bool) -> String {
            if value { "1" } else { "0" }.to_owned()
        }
        let mut env = BTreeMap::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                env.insert(key.to_owned(), value);
            }
        };
        put(
            "OLLAMA_KEEP_ALIVE",
            self.keep_alive.as_ref().map(|d| d.text.clone()),
        );
        put(
            "OLLAMA_CONTEXT_LENGTH",
            self.context_length.map(|v| v.to_string()),
        );
        put("OLLAMA_FLASH_ATTENTION", self.flash_attention.map(flag));
        put(
            "OLLAMA_KV_CACHE_TYPE",
            self.kv_cache_type.map(|k| k.as_str().to_owned()),
        );
        put(
            "OLLAMA_NUM_PARALLEL",
            self.num_parallel.map(|v| v.to_string()),
        );
        put(
            "OLLAMA_MAX_LOADED_MODELS",
            self.max_loaded_models.map(|v| v.to_string()),
        );
        put("OLLAMA_MAX_QUEUE", self.max_queue.map(|v| v.to_string()));
        put("OLLAMA_DEBUG", self.debug.map(flag));
        put("OLLAMA_ORIGINS", self.origins.as_ref().map(|o| o.join(",")));
        put(
            "OLLAMA_MODELS",
            self.models_dir.as_ref().map(|p| p.display().to_string()),
        );
        put(
            "OLLAMA_LOAD_TIMEOUT",
            self.load_timeout.as_ref().map(|d| d.text.clone()),
        );
        put("OLLAMA_NOPRUNE", self.no_prune.map(flag));
        put("OLLAMA_NO_CLOUD", self.cloud.map(|cloud| flag(!cloud)));
        for (key, value) in &self.extra_env {
            env.insert(key.clone(), value.clone());
        }
        env
    }
}

/// `[model_policy]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPolicy {
    /// Remove installed models that are not listed (exact match after normalization).
    pub prune: bool,
}

/// One `[[models]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// `name`, normalized by Ollama's rules.
    pub name: ModelName,
    /// `warm`: loaded after every (re)start and checked in `/api/ps`.
    pub warm: bool,
    /// The model built from this one (`context_length`, `[models.parameters]`, `serve_as`);
    /// `None` when the entry declares neither a context nor parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<DerivedModel>,
}

impl ModelSpec {
    /// The name clients are told to use: the derived model's when there is one.
    pub fn served_name(&self) -> &ModelName {
        self.derived.as_ref().map_or(&self.name, |d| &d.name)
    }

    /// Whether the name says embedding model (`nomic-embed-text`, `mxbai-embed-large`,
    /// `snowflake-arctic-embed`): the rule the planner uses when Ollama has not reported the
    /// model's capabilities, and all that `server.toml` alone can tell.
    pub fn named_embedding(&self) -> bool {
        self.name.key().contains("embed")
    }
}

/// A model ssollama builds with `POST /api/create` (`from` + `parameters`, docs/ollama.md
/// §12.4) so that its own parameters carry the context: Ollama's `/v1` ignores
/// `num_ctx`, and Claude Code cannot send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivedModel {
    /// `serve_as`, else the default name (`config::validate::default_derived_name`).
    pub name: ModelName,
    /// The declared model it is built from (`from`).
    pub from: ModelName,
    /// `context_length`: written as the `num_ctx` parameter; `None` = not set by ssollama.
    pub context_length: Option<u32>,
    /// `[models.parameters]`, checked against Ollama's `Options` (never `num_ctx`).
    pub parameters: BTreeMap<String, ParameterValue>,
}

/// A Modelfile parameter's value, typed as Ollama's `api.Options` field it sets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParameterValue {
    /// An `int` or `*int` field (`top_k`, `seed`, `main_gpu`, …).
    Integer(i64),
    /// A `float32` field (`temperature`, `top_p`, …).
    Float(f64),
    /// A `*bool` field (`use_mmap`).
    Bool(bool),
    /// The `[]string` field (`stop`).
    Strings(Vec<String>),
}

impl PartialEq for ParameterValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Integer(a), Self::Integer(b)) => a == b,
            // Bit equality: the value as written, so `Eq` holds (validation refuses NaN).
            (Self::Float(a), Self::Float(b)) => a.to_bits() == b.to_bits(),
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Strings(a), Self::Strings(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for ParameterValue {}
