//! [`RawConfig`]: the serde + schemars mirror of `server.toml`, exactly as written.
//!
//! Owns the file format only: key names, TOML types, and the doc comments that become the JSON
//! Schema's descriptions. It checks nothing beyond TOML types and unknown keys
//! (`deny_unknown_fields` on every table); `validate` turns it into [`crate::model::Desired`].
//! Values that need a labelled error keep their span (`toml::Spanned`).
//!
//! The same types serialize back to TOML (`write` renders a whole file from them, as
//! `ssollama init --from-machine` does): a value built in code has no span ([`unspanned`]), and
//! an absent (`None`) key is not written.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

/// `server.toml`: the declared state of one Ollama server on one Mac.
///
/// Every table rejects unknown keys. Only `[listen]` is required.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "ssollama server.toml")]
pub(crate) struct RawConfig {
    /// The launchd job that runs `ollama serve`.
    pub service: Option<RawService>,
    /// Where Ollama listens (`OLLAMA_HOST`). Required.
    #[schemars(required)]
    pub listen: Option<RawListen>,
    /// The static IPv4 configuration of one network service (`networksetup`). Absent: the
    /// network is not managed.
    pub network: Option<RawNetwork>,
    /// Where launchd sends the server's output.
    pub logs: Option<RawLogs>,
    /// Ollama's environment. An absent key is not written, so Ollama's own default applies.
    #[serde(serialize_with = "keys_in_order")]
    pub ollama: Option<RawOllama>,
    /// What happens to installed models that are not listed in `[[models]]`.
    pub model_policy: Option<RawModelPolicy>,
    /// The models to keep pulled (and, with `warm = true`, loaded). Absent: no models managed.
    pub models: Option<Vec<RawModel>>,
}

/// A value built in code rather than read from a file: it has no span.
pub(crate) fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

/// `[ollama]` is written with its keys in alphabetical order, which is also the order of the
/// variables they set (`context_length` … `origins` as `OLLAMA_CONTEXT_LENGTH` …
/// `OLLAMA_ORIGINS`), as a plist lists them.
#[expect(
    clippy::ref_option,
    reason = "the signature `#[serde(serialize_with)]` calls"
)]
fn keys_in_order<S: Serializer>(
    ollama: &Option<RawOllama>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match ollama {
        None => serializer.serialize_none(),
        Some(ollama) => toml::Table::try_from(ollama)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer),
    }
}

/// `[service]`: the launchd job.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    /// The launchd `Label` and the plist file name (`<label>.plist`). Letters, digits, `.`,
    /// `_` and `-`. Default `"com.ollama"`.
    #[schemars(with = "Option<String>", extend("default" = "com.ollama"))]
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    pub label: Option<Spanned<String>>,
    /// `"agent"` (default): a `LaunchAgent` in `~/Library/LaunchAgents`, bootstrapped into
    /// `gui/<uid>`, running while the user is logged in. `"daemon"`: a `LaunchDaemon` in
    /// `/Library/LaunchDaemons`, bootstrapped into `system`, running from boot as `user`.
    #[schemars(with = "Option<RawMode>", extend("default" = "agent"))]
    pub mode: Option<Spanned<String>>,
    /// The plist `UserName` of a daemon: a short macOS user name. Required with
    /// `mode = "daemon"`, refused with `mode = "agent"` (an agent runs as its user).
    #[schemars(with = "Option<String>")]
    pub user: Option<Spanned<String>>,
    /// Absolute path of the `ollama` executable (`ProgramArguments[0]`). Default: detected
    /// (`/opt/homebrew/bin/ollama`, `/usr/local/bin/ollama`, then
    /// `/Applications/Ollama.app/Contents/Resources/ollama`).
    #[schemars(with = "Option<String>")]
    pub program: Option<Spanned<String>>,
    /// The plist `ProcessType`: how much launchd throttles the server's CPU and I/O.
    /// `"interactive"` (default): no limits, like apps; right for an inference server.
    /// `"standard"`: launchd's default (no `ProcessType` key), light CPU and I/O limits.
    /// `"background"`: throttled like background work. `"adaptive"`: limits follow XPC activity.
    #[schemars(with = "Option<RawProcessType>", extend("default" = "interactive"))]
    pub process_type: Option<Spanned<String>>,
}

/// The values of `service.process_type` (schema only; the file keeps the text for its span).
#[derive(Debug, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "schema only: never built, its variants are the values the JSON Schema lists"
)]
pub(crate) enum RawProcessType {
    /// `ProcessType = Interactive`: no resource limits (the default).
    Interactive,
    /// No `ProcessType` key: launchd's light CPU and I/O limits.
    Standard,
    /// `ProcessType = Background`: throttled.
    Background,
    /// `ProcessType = Adaptive`: limits that follow XPC activity.
    Adaptive,
}

/// The values of `service.mode` (schema only; the file keeps the text for its span).
#[derive(Debug, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "schema only: never built, its variants are the values the JSON Schema lists"
)]
pub(crate) enum RawMode {
    /// A per-user `LaunchAgent` (`gui/<uid>`).
    Agent,
    /// A system `LaunchDaemon` (`system`) that runs as `service.user`.
    Daemon,
}

/// `[listen]`: the address and port of Ollama's HTTP API, written to `OLLAMA_HOST`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListen {
    /// The IP address Ollama binds (`OLLAMA_HOST=<host>:<port>`). `"0.0.0.0"` (or `"::"`) means
    /// every interface, `"127.0.0.1"` this Mac only; usually the static `network.address`.
    /// Required.
    #[schemars(with = "String")]
    pub host: Spanned<String>,
    /// The TCP port, 1–65535. Default 11434.
    #[schemars(with = "Option<u16>", range(min = 1, max = 65535), extend("default" = 11434))]
    pub port: Option<Spanned<i64>>,
}

/// `[network]`: a manual IPv4 configuration applied with
/// `networksetup -setmanual <service> <address> <subnet_mask> <router>`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    /// The network service name, as `networksetup -listallnetworkservices` prints it (for
    /// example `"Ethernet"` or `"Wi-Fi"`). Required.
    #[schemars(with = "String")]
    pub service: Spanned<String>,
    /// The static IPv4 address of this Mac. Required.
    #[schemars(with = "String")]
    pub address: Spanned<String>,
    /// The IPv4 subnet mask, contiguous (for example `"255.255.255.0"`). Required.
    #[schemars(with = "String")]
    pub subnet_mask: Spanned<String>,
    /// The IPv4 default gateway, inside `address/subnet_mask`. Required.
    #[schemars(with = "String")]
    pub router: Spanned<String>,
    /// IPv4 DNS servers (`networksetup -setdnsservers`). Absent: DNS is not managed; `[]`:
    /// no DNS servers (`Empty`), so the service uses the ones DHCP or the router gives.
    #[schemars(with = "Option<Vec<String>>")]
    pub dns: Option<Vec<Spanned<String>>>,
}

/// `[logs]`: launchd's `StandardOutPath` and `StandardErrorPath`. Both may name the same file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogs {
    /// Absolute path of the server's standard output (`StandardOutPath`). Default
    /// `"/tmp/ollama.stdout.log"`.
    #[schemars(with = "Option<String>", extend("default" = "/tmp/ollama.stdout.log"))]
    pub stdout: Option<Spanned<String>>,
    /// Absolute path of the server's standard error, where Ollama logs
    /// (`StandardErrorPath`). Default `"/tmp/ollama.stderr.log"`.
    #[schemars(with = "Option<String>", extend("default" = "/tmp/ollama.stderr.log"))]
    pub stderr: Option<Spanned<String>>,
}

/// `[ollama]`: Ollama's environment, written to the plist's `EnvironmentVariables`.
/// An absent key is not written, so Ollama's built-in default applies.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOllama {
    /// `OLLAMA_KEEP_ALIVE`: how long an idle model stays loaded. A Go duration string
    /// (`"10m"`, `"24h"`, `"1h30m"`; units ns us µs ms s m h, no `d`) or an integer number of
    /// seconds; negative = forever. Ollama's default: 5m.
    #[schemars(with = "Option<RawDuration>")]
    pub keep_alive: Option<Spanned<RawDuration>>,
    /// `OLLAMA_CONTEXT_LENGTH`: the default context window in tokens. Ollama's default
    /// depends on the Mac's memory (4096, 32768 or 262144).
    #[schemars(with = "Option<u32>", range(min = 1))]
    pub context_length: Option<Spanned<i64>>,
    /// `OLLAMA_FLASH_ATTENTION`: `true` forces flash attention on, `false` off. Ollama's
    /// default: automatic on Metal.
    pub flash_attention: Option<bool>,
    /// `OLLAMA_KV_CACHE_TYPE`: `"f16"` (Ollama's default), `"q8_0"` or `"q4_0"`; the quantized
    /// types need `flash_attention = true`.
    #[schemars(with = "Option<RawKvCacheType>")]
    pub kv_cache_type: Option<Spanned<String>>,
    /// `OLLAMA_NUM_PARALLEL`: parallel requests per loaded model. Ollama's default: 1.
    #[schemars(with = "Option<u32>", range(min = 1))]
    pub num_parallel: Option<Spanned<i64>>,
    /// `OLLAMA_MAX_LOADED_MODELS`: models loaded at once; 0 = automatic (Ollama's default).
    #[schemars(with = "Option<u32>")]
    pub max_loaded_models: Option<Spanned<i64>>,
    /// `OLLAMA_MAX_QUEUE`: queued requests before Ollama answers 503. Ollama's default: 512.
    #[schemars(with = "Option<u32>", range(min = 1))]
    pub max_queue: Option<Spanned<i64>>,
    /// `OLLAMA_DEBUG`: debug logging in the server log. Ollama's default: false.
    pub debug: Option<bool>,
    /// `OLLAMA_ORIGINS`: extra allowed CORS origins, joined with commas and appended to
    /// Ollama's built-in list (localhost, 127.0.0.1, 0.0.0.0, app://, file://, …).
    #[schemars(with = "Option<Vec<String>>")]
    pub origins: Option<Vec<Spanned<String>>>,
    /// `OLLAMA_MODELS`: absolute path of the model store. Ollama's default:
    /// `~/.ollama/models` of the user running the server.
    #[schemars(with = "Option<String>")]
    pub models_dir: Option<Spanned<String>>,
    /// `OLLAMA_LOAD_TIMEOUT`: how long a model load may stall before Ollama gives up; same
    /// syntax as `keep_alive`; zero or negative = no limit. Ollama's default: 5m.
    #[schemars(with = "Option<RawDuration>")]
    pub load_timeout: Option<Spanned<RawDuration>>,
    /// `OLLAMA_NOPRUNE`: `true` skips the startup pruning of unused blobs. Ollama's default:
    /// false.
    pub no_prune: Option<bool>,
    /// Any other environment variable, passed verbatim (for example `OLLAMA_NOHISTORY = "1"`
    /// or `HTTPS_PROXY`). Not `OLLAMA_HOST` (set by `[listen]`) nor a variable that a typed key
    /// above sets.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub extra_env: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    /// `OLLAMA_NO_CLOUD`: `false` writes `OLLAMA_NO_CLOUD=1` (no cloud models, no web search)
    /// and refuses `:cloud` / `-cloud` models in `[[models]]`; `true` writes `0` (Ollama's
    /// `~/.ollama/server.json` `disable_ollama_cloud` can still turn cloud off). Absent:
    /// nothing is written.
    #[schemars(with = "Option<bool>")]
    pub cloud: Option<Spanned<bool>>,
}

/// The values of `ollama.kv_cache_type` (schema only).
#[derive(Debug, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[expect(
    dead_code,
    reason = "schema only: never built, its variants are the values the JSON Schema lists"
)]
pub(crate) enum RawKvCacheType {
    /// 16-bit floats (Ollama's default).
    F16,
    /// 8-bit quantized; needs flash attention.
    Q8_0,
    /// 4-bit quantized; needs flash attention.
    Q4_0,
}

/// A duration as Ollama's environment accepts it: a Go duration string or integer seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawDuration {
    /// A Go `time.ParseDuration` string (`"24h"`, `"1h30m"`, `"-1m"`), or an integer in a
    /// string (seconds).
    Text(String),
    /// Whole seconds; negative = forever.
    Seconds(i64),
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a duration string such as "24h" or an integer number of seconds"#)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration::Text(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration::Seconds(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawDuration, E> {
                i64::try_from(v).map(RawDuration::Seconds).map_err(|_| {
                    E::invalid_value(
                        serde::de::Unexpected::Unsigned(v),
                        &"at most 2^63-1 seconds",
                    )
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `[model_policy]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModelPolicy {
    /// `true`: remove installed models that are not listed in `[[models]]` (exact match after
    /// Ollama's name normalization). Default false: unlisted models are only reported.
    #[schemars(extend("default" = false))]
    pub prune: Option<bool>,
}

/// One `[[models]]` entry.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    /// The model name as `ollama pull` takes it (`"llama3.2"`, `"qwen2.5-coder:32b"`,
    /// `"hf.co/user/repo:tag"`). `llama3` and `llama3:latest` are the same model. Required.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// `true`: load the model after every (re)start of the server and check it in `/api/ps`.
    /// Default false.
    #[schemars(extend("default" = false))]
    pub warm: Option<bool>,
    /// The context window, in tokens, of a model ssollama derives from this one
    /// (`POST /api/create` with `num_ctx`): what warming loads and what clients are told.
    /// 4 to 2147483647. Absent: no context is set.
    #[schemars(with = "Option<u32>", range(min = 4, max = 2_147_483_647))]
    pub context_length: Option<Spanned<i64>>,
    /// Other Modelfile parameters of the derived model, passed verbatim to Ollama
    /// (`temperature = 0.2`, `top_k = 20`, `stop = ["<|im_end|>"]`): the names and types of
    /// Ollama's `api.Options`. Not `num_ctx`: that is `context_length`.
    #[schemars(with = "Option<BTreeMap<String, RawParameter>>")]
    pub parameters: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    /// The derived model's name (a model name; not another declared or derived model).
    /// Default: the model's name with the context as a tag suffix (`qwen3-coder:30b` + 65536
    /// → `qwen3-coder:30b-64k`, `llama3.2` + 40000 → `llama3.2:40000`); see
    /// specs/server-toml.md. Only with `context_length` or `parameters`.
    #[schemars(with = "Option<String>")]
    pub serve_as: Option<Spanned<String>>,
}

/// A value of `[models.parameters]` (schema only; validation checks each name's type).
#[derive(Debug, JsonSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "schema only: never built, its variants are the types the JSON Schema lists"
)]
pub(crate) enum RawParameter {
    /// An integer parameter (`top_k`, `seed`, `num_predict`, …).
    Integer(i64),
    /// A number parameter (`temperature`, `top_p`, …).
    Number(f64),
    /// A boolean parameter (`use_mmap`).
    Bool(bool),
    /// `stop`: the stop sequences.
    Strings(Vec<String>),
}
