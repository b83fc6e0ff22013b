//! The fake Ollama's persistent state under `<mac>/ollama/` and the shared `<mac>/faults/`,
//! `<mac>/journal.log` (file formats: see `README.md` next to this file).
//!
//! Owns reading and writing those files; knows nothing about HTTP. Writes go through a temporary
//! file and a rename, so a reader never sees half a file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalog;
use super::gojson::{Obj, arr, enc};

/// One blob of a model manifest (a layer or the config blob).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// OCI media type, e.g. `application/vnd.ollama.image.model`.
    pub media_type: String,
    /// `sha256:<64 hex>`.
    pub digest: String,
    /// Size in bytes (data only; the fake never transfers these bytes).
    pub size: u64,
}

/// A pullable model in the registry catalog (`registry.json`), also kept in `models.json` for
/// installed models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// `details.format` (`gguf`).
    #[serde(default = "gguf")]
    pub format: String,
    /// `details.family`.
    pub family: String,
    /// `details.families` (`null` when absent).
    #[serde(default)]
    pub families: Option<Vec<String>>,
    /// `details.parameter_size`, e.g. `8.0B`.
    pub parameter_size: String,
    /// `details.quantization_level`, e.g. `Q4_K_M`.
    pub quantization_level: String,
    /// Trained context length (`details.context_length`, v0.30+ only).
    #[serde(default)]
    pub context_length: u64,
    /// Embedding length (`details.embedding_length`, v0.30+ only).
    #[serde(default)]
    pub embedding_length: u64,
    /// `completion`, `tools`, `insert`, `embedding`, …; an `embedding` model without
    /// `completion` refuses generate/chat.
    pub capabilities: Vec<String>,
    /// Manifest layers in order.
    pub layers: Vec<Layer>,
    /// Config blob (pulled last).
    pub config: Layer,
    /// The GGUF attention geometry `/api/show` `model_info` reports and the KV-cache estimate
    /// uses (absent in an old `registry.json`: zeros, and the estimate falls back).
    #[serde(default)]
    pub arch: Arch,
    /// Modelfile parameters (the params layer, `/api/show` `parameters`), as JSON values.
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// `details.parent_model`: the `from` a derived model was created from (the model layer's
    /// `From`, `server/images.go` `GetModel`); empty for a pulled model.
    #[serde(default)]
    pub parent_model: String,
}

/// The GGUF keys of a model's architecture (`<arch>.block_count`, …), as `ollama show` prints
/// them; 0 = the key is absent from the GGUF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Arch {
    /// `<arch>.block_count` (layers).
    pub block_count: u64,
    /// `<arch>.attention.head_count`.
    pub head_count: u64,
    /// `<arch>.attention.head_count_kv` (0 for encoder-only models without it).
    pub head_count_kv: u64,
    /// `<arch>.attention.key_length` (absent: `embedding_length / head_count`).
    pub key_length: u64,
    /// `<arch>.attention.value_length` (absent: `embedding_length / head_count`).
    pub value_length: u64,
    /// `<arch>.feed_forward_length`.
    pub feed_forward_length: u64,
    /// `<arch>.pooling_type` is present (an embedding model: no flash attention).
    pub pooling: bool,
}

fn gguf() -> String {
    "gguf".to_owned()
}

impl ModelSpec {
    /// `manifest.Size()`: all layers plus the config blob.
    pub fn size(&self) -> u64 {
        self.layers.iter().map(|l| l.size).sum::<u64>() + self.config.size
    }

    /// Blobs in pull order: the layers, then the config blob.
    pub fn blobs(&self) -> Vec<&Layer> {
        self.layers
            .iter()
            .chain(std::iter::once(&self.config))
            .collect()
    }

    /// The canonical manifest JSON whose SHA-256 is the model digest.
    pub fn manifest_json(&self) -> String {
        let blob = |l: &Layer| {
            Obj::new()
                .field("mediaType", &l.media_type)
                .field("digest", &l.digest)
                .field("size", &l.size)
                .done()
        };
        let layers: Vec<String> = self.layers.iter().map(blob).collect();
        Obj::new()
            .field("schemaVersion", &2)
            .field(
                "mediaType",
                "application/vnd.docker.distribution.manifest.v2+json",
            )
            .raw("config", &blob(&self.config))
            .raw("layers", &arr(&layers))
            .done()
    }

    /// Lower-case hex SHA-256 of [`ModelSpec::manifest_json`] (bare, as `/api/tags` shows it).
    pub fn digest(&self) -> String {
        sha256_hex(self.manifest_json().as_bytes())
    }

    /// Whether generate/chat work (`completion` capability).
    pub fn can_complete(&self) -> bool {
        self.capabilities.iter().any(|c| c == "completion")
    }

    /// Whether it thinks before answering (`thinking` capability: qwen3, deepseek-r1, gpt-oss).
    pub fn can_think(&self) -> bool {
        self.capabilities.iter().any(|c| c == "thinking")
    }

    /// Whether Ollama runs it through harmony (`server/routes.go` `shouldUseHarmony`: family
    /// `gptoss` or `gpt-oss`), whose thinking cannot be turned off, only given a level.
    pub fn is_harmony(&self) -> bool {
        matches!(self.family.as_str(), "gptoss" | "gpt-oss")
    }

    /// Whether `/api/embed` works (`embedding` capability).
    pub fn can_embed(&self) -> bool {
        self.capabilities.iter().any(|c| c == "embedding")
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The catalog of pullable models, keyed by display name (`llama3:latest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Display name → model.
    pub models: BTreeMap<String, ModelSpec>,
}

/// An installed model (`models.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// Display name (`DisplayShortest()`), e.g. `qwen2.5-coder:32b`.
    pub name: String,
    /// Bare hex manifest digest.
    pub digest: String,
    /// Bytes (`manifest.Size()`).
    pub size: u64,
    /// Manifest mtime, nanoseconds since the Unix epoch.
    pub modified_at_ns: i64,
    /// Details, capabilities and layers as pulled.
    pub spec: ModelSpec,
}

/// `models.json` contents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ModelsFile {
    models: Vec<Installed>,
}

/// `config.json`: knobs of the fake server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Version reported by `/api/version` and `ollama --version` (server and client).
    pub version: String,
    /// Client build version for `ollama --version` (defaults to `version`).
    pub client_version: Option<String>,
    /// `/v1/messages` answers `500` Anthropic `api_error` bodies.
    pub anthropic_errors: bool,
    /// Extra delay before every response, milliseconds.
    pub latency_ms: u64,
    /// The sandbox's own loopback address (`127.0.0.X`): the wildcard and the simulated Mac's
    /// LAN addresses are really bound (and reached by the client) there.
    pub loopback: Option<String>,
    /// Memory for runners, bytes (`None` = unlimited). A model that does not fit beside the
    /// loaded ones evicts them (`engine::App::touch`); one larger than this never loads.
    pub memory_bytes: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: DEFAULT_VERSION.to_owned(),
            client_version: None,
            anthropic_errors: false,
            latency_ms: 0,
            loopback: None,
            memory_bytes: None,
        }
    }
}

/// The version the fake reports unless `config.json` says otherwise.
pub const DEFAULT_VERSION: &str = "0.12.6";

/// `<mac>/ollama`.
pub fn dir(mac: &Path) -> PathBuf {
    mac.join("ollama")
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` atomically (temp file + rename), creating parent dirs. The temp name
/// is unique per write (pid + counter), so concurrent requests of one server never share it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(v).map_err(io::Error::other)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// The registry catalog: `registry.json`, else the built-in default catalog.
pub fn registry(mac: &Path) -> io::Result<Registry> {
    Ok(read_json(&dir(mac).join("registry.json"))?.unwrap_or_else(catalog::default_registry))
}

/// Writes `registry.json`.
pub fn save_registry(mac: &Path, reg: &Registry) -> io::Result<()> {
    write_json(&dir(mac).join("registry.json"), reg)
}

/// Installed models as stored (file order = install order).
pub fn installed(mac: &Path) -> io::Result<Vec<Installed>> {
    Ok(read_json::<ModelsFile>(&dir(mac).join("models.json"))?
        .map(|f| f.models)
        .unwrap_or_default())
}

/// Replaces `models.json`.
pub fn save_installed(mac: &Path, models: &[Installed]) -> io::Result<()> {
    write_json(
        &dir(mac).join("models.json"),
        &ModelsFile {
            models: models.to_vec(),
        },
    )
}

/// `config.json`, else defaults.
pub fn config(mac: &Path) -> io::Result<Config> {
    Ok(read_json(&dir(mac).join("config.json"))?.unwrap_or_default())
}

/// Writes `config.json`.
pub fn save_config(mac: &Path, cfg: &Config) -> io::Result<()> {
    write_json(&dir(mac).join("config.json"), cfg)
}

/// Content of the fault switch `<mac>/faults/<name>` (trimmed), if present.
pub fn fault(mac: &Path, name: &str) -> Option<String> {
    fs::read_to_string(mac.join("faults").join(name))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Appends one JSON line to `<mac>/journal.log` with a single `O_APPEND` write.
pub fn journal(mac: &Path, line: &str) {
    let mut text = line.to_owned();
    text.push('\n');
    let res = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(mac.join("journal.log"))
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = res {
        eprintln!("simmac ollama: cannot write journal.log: {e}");
    }
}

/// The journal line of one HTTP request.
pub fn journal_http(mac: &Path, method: &str, path: &str, mutating: bool, kind: Option<&str>) {
    let o = Obj::new()
        .field("tool", "http")
        .field("method", method)
        .field("path", path)
        .field("mutating", &mutating);
    let o = match kind {
        Some(k) => o.raw("kind", &enc(k)),
        None => o,
    };
    journal(mac, &o.done());
}
