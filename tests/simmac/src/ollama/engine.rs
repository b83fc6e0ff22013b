//! The in-memory side of the fake server: which models are loaded and until when, request
//! decoding with Go's error texts, and the deterministic "model output".
//!
//! Owns no files except through [`super::state`]; knows no HTTP routing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::env::{self, Env};
use super::gotime::{FOREVER, SECOND, now_ns};
use super::name::key_of;
use super::state::{self, Installed};

/// One loaded model (`/api/ps` entry). Lives only in the server's memory.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The installed model.
    pub model: Installed,
    /// Context length the runner was started with.
    pub context_length: u64,
    /// Current keep-alive, nanoseconds (`FOREVER` for negative values).
    pub keep_alive: i128,
    /// When it unloads, ns since the epoch.
    pub expires_ns: i128,
    /// Bytes of its KV cache ([`kv_cache_bytes`]).
    pub kv_bytes: u64,
    /// The tokens of the last prompt it processed: its KV cache's content, which the next
    /// prompt reuses as far as they share a prefix ([`App::evaluate_prompt`]).
    pub cache: Vec<String>,
}

/// How a runner took in one prompt ([`App::evaluate_prompt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptEval {
    /// `prompt_eval_count`: every token of the (possibly truncated) prompt, the cached prefix
    /// included.
    pub count: u64,
    /// Tokens really processed (the part after the reused prefix): what
    /// `prompt_eval_duration` measures.
    pub processed: u64,
    /// `(limit, prompt, keep, new)` of a `truncating input prompt` warning.
    pub truncated: Option<(u64, u64, u64, u64)>,
}

/// Simulated prefill time per processed prompt token (500 tokens/s).
pub const PREFILL_NS_PER_TOKEN: u64 = 2_000_000;

/// The tokens of a conversation as the fake tokenizes it: six header tokens, then per message
/// four framing tokens (one of them its role) and one token per word. With one user message
/// this is [`prompt_tokens`]'s count.
pub fn prompt_sequence<'a>(messages: impl IntoIterator<Item = (&'a str, String)>) -> Vec<String> {
    let mut seq: Vec<String> = (0..6).map(|i| format!("<h{i}>")).collect();
    let mut n = 0;
    for (role, text) in messages {
        n += 1;
        seq.extend([
            "<|start|>".to_owned(),
            role.to_owned(),
            "<|sep|>".to_owned(),
        ]);
        seq.extend(text.split_whitespace().map(str::to_owned));
        seq.push("<|end|>".to_owned());
    }
    if n == 0 {
        seq.extend(["<|start|>", "user", "<|sep|>", "<|end|>"].map(str::to_owned));
    }
    seq
}

impl Loaded {
    /// Runner memory (`/api/ps` `size` and `size_vram`): the weights plus the KV cache.
    pub fn size(&self) -> u64 {
        self.model.size + self.kv_bytes
    }
}

/// The KV cache type a runner really uses and its bytes per element, as v0.12.6 decides
/// (`llm/memory.go` `EstimateGPULayers`, `llm/server.go` `NewLlamaServer`): the cache is
/// quantized only with flash attention, which is `OLLAMA_FLASH_ATTENTION` when set, else on for
/// the families of `fs/ggml/ggml.go` `GGML.FlashAttention` (gemma3, gptoss, qwen3, qwen3moe),
/// and never for an embedding model or unequal key/value head sizes (`SupportsFlashAttention`);
/// `OLLAMA_KV_CACHE_TYPE` then applies when it is `f16`, `q8_0` or `q4_0`
/// (`SupportsKVCacheType`). Bytes per element: `kvCacheBytesPerElement` (`f16` 2, `q8_0` 1, `q4_0` 0.5).
pub fn kv_cache_type(env: &Env, spec: &state::ModelSpec) -> (&'static str, f64) {
    let by_family = matches!(
        spec.family.as_str(),
        "gemma3" | "gptoss" | "gpt-oss" | "qwen3" | "qwen3moe"
    );
    let fa_wanted = env::bool_var(env, "OLLAMA_FLASH_ATTENTION", by_family);
    let (k, v) = head_dims(spec);
    let fa = fa_wanted && !spec.arch.pooling && k != 0 && k == v;
    if !fa {
        return ("f16", 2.0);
    }
    match env::var(env, "OLLAMA_KV_CACHE_TYPE")
        .to_ascii_lowercase()
        .as_str()
    {
        "q8_0" => ("q8_0", 1.0),
        "q4_0" => ("q4_0", 0.5),
        _ => ("f16", 2.0),
    }
}

/// Key and value head sizes: `attention.key_length`/`value_length`, else
/// `embedding_length / head_count` (`fs/ggml/ggml.go` `EmbeddingHeadCountK`/`V`).
pub fn head_dims(spec: &state::ModelSpec) -> (u64, u64) {
    let a = &spec.arch;
    let derived = spec.embedding_length.checked_div(a.head_count).unwrap_or(0);
    let k = if a.key_length > 0 {
        a.key_length
    } else {
        derived
    };
    let v = if a.value_length > 0 {
        a.value_length
    } else {
        derived
    };
    (k, v)
}

/// `OLLAMA_NUM_PARALLEL` as the scheduler applies it (`server/sched.go` `Scheduler.load`):
/// at least 1, and 1 for a model without the `completion` capability (embedding models).
pub fn num_parallel(env: &Env, spec: &state::ModelSpec) -> u64 {
    if !spec.can_complete() {
        return 1;
    }
    env::var(env, "OLLAMA_NUM_PARALLEL")
        .parse::<u64>()
        .unwrap_or(1)
        .max(1)
}

/// The KV cache of a runner at `ctx` tokens per sequence, as `fs/ggml/ggml.go`
/// `GGML.GraphSize` estimates it (v0.12.6): `ctx × parallel` cells, and per layer
/// `cells × (key_length + value_length) × head_count_kv × bytes per element` (see
/// [`kv_cache_type`]), summed over `block_count` layers. The context is first capped at the
/// model's training context (`llm/server.go` `NewLlamaServer`: "requested context size too
/// large for model"). A model without attention geometry (an old `registry.json`) keeps the
/// older estimate of 64 KiB per context token.
pub fn kv_cache_bytes(env: &Env, spec: &state::ModelSpec, ctx: u64) -> u64 {
    let ctx = if spec.context_length > 0 {
        ctx.min(spec.context_length)
    } else {
        ctx
    };
    let a = &spec.arch;
    if a.block_count == 0 || a.head_count == 0 {
        return ctx * 64 * 1024;
    }
    let (k, v) = head_dims(spec);
    let heads_kv = if a.head_count_kv > 0 {
        a.head_count_kv
    } else {
        a.head_count
    };
    let cells = ctx * num_parallel(env, spec);
    let (_, bpe) = kv_cache_type(env, spec);
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "Go computes uint64(float64(...) * bytesPerElement) the same way"
    )]
    let per_layer = (((cells * (k + v) * heads_kv) as f64) * bpe) as u64;
    per_layer * a.block_count
}

/// `OLLAMA_CONTEXT_LENGTH`, else Ollama's default: 4096 before v0.15.5; from v0.15.5 the VRAM
/// tier `server/routes.go` logs as "vram-based default context" (≥ 47 GiB 262144, ≥ 23 GiB
/// 32768, else 4096) of the Metal total.
pub fn default_context(app: &App) -> u64 {
    match env::var(&app.env, "OLLAMA_CONTEXT_LENGTH")
        .parse::<u64>()
        .unwrap_or(0)
    {
        0 if app.since("0.15.5") => {
            if app.metal_total >= 47 << 30 {
                262_144
            } else if app.metal_total >= 23 << 30 {
                32_768
            } else {
                4096
            }
        }
        0 => 4096,
        n => n,
    }
}

/// Below this much GPU memory Ollama enters "low vram mode" (`server/routes.go`
/// `lowVRAMThreshold`, 20 GiB) and does not raise gpt-oss's context to 8192.
pub const LOW_VRAM_THRESHOLD: u64 = 20 << 30;

/// The context a runner is started with, as `server/routes.go` `scheduleRunner` →
/// `modelOptions` builds it: `DefaultOptions` (`OLLAMA_CONTEXT_LENGTH`, else the default —
/// 4096 before v0.15.5, from v0.15.5 the VRAM tier of `server/routes.go` "vram-based default
/// context": ≥ 47 GiB 262144, ≥ 23 GiB 32768, else 4096), then the model's `num_ctx` parameter,
/// then the request's `options.num_ctx`; gpt-oss at least 8192 unless in low VRAM mode (before
/// v0.15.5); at
/// least 4 (`Scheduler.GetRunner`). `/api/ps` reports this value (`Options.NumCtx` of the
/// request, before `NewLlamaServer` caps its own copy at the training context).
///
/// # Errors
/// The model's `num_ctx` parameter is not a number: `api.Options.FromMap`'s
/// `option "num_ctx" must be of type integer`.
pub fn served_context(
    app: &App,
    spec: &state::ModelSpec,
    request: Option<u64>,
) -> Result<u64, String> {
    let default = default_context(app);
    let from_model = match spec.parameters.get("num_ctx") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().map(|f| {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "Go's FromMap does int64(float64) too"
            )]
            let n = f as u64;
            n
        }),
        Some(_) => return Err("option \"num_ctx\" must be of type integer".to_owned()),
    };
    let mut ctx = request.or(from_model).unwrap_or(default);
    // Until v0.15.4; v0.15.5 replaced low VRAM mode and this bump by the VRAM-tier default.
    if spec.is_harmony() && !app.since("0.15.5") && app.metal_total >= LOW_VRAM_THRESHOLD {
        ctx = ctx.max(8192);
    }
    Ok(ctx.max(4))
}

/// Shared server state.
#[derive(Debug)]
pub struct App {
    /// `<mac>`.
    pub mac: PathBuf,
    /// The process environment as launchd gave it.
    pub env: Env,
    /// Version reported.
    pub version: String,
    /// Bound to a loopback address (not a wildcard): foreign `Host` headers get 403.
    pub loopback_only: bool,
    /// What Metal lets this server use, bytes (the `inference compute` `total`).
    pub metal_total: u64,
    /// Cloud disabled and why (`none`, `env`, `config`, `both`), read once at start as
    /// `envconfig.NoCloud`/`NoCloudSource` cache it.
    pub cloud: (bool, &'static str),
    /// Loaded models keyed by [`key_of`] of the display name.
    loaded: Mutex<BTreeMap<String, Loaded>>,
    counter: AtomicU64,
}

impl App {
    /// A fresh server state: nothing loaded.
    pub fn new(mac: PathBuf, env: Env, version: String, loopback_only: bool) -> Self {
        let metal_total = crate::state::Mac::new(&mac).machine().metal_total();
        let cloud = cloud_status(&env);
        Self {
            cloud,
            mac,
            env,
            version,
            loopback_only,
            metal_total,
            loaded: Mutex::new(BTreeMap::new()),
            counter: AtomicU64::new(0),
        }
    }

    /// A pseudo-random but reproducible-per-run number in `0..modulo` (for ids like `chatcmpl-N`).
    pub fn next_id(&self, modulo: u64) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let seed = u64::try_from(now_ns().rem_euclid(1 << 40)).unwrap_or(0);
        (seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(n.wrapping_mul(1_442_695_040_888_963_407))
            >> 17)
            % modulo
    }

    /// The server version compared as `(major, minor, patch)`.
    pub fn version_at_least(&self, major: u64, minor: u64) -> bool {
        let mut parts = self
            .version
            .split(['.', '-'])
            .map(|p| p.parse::<u64>().unwrap_or(0));
        let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        v >= (major, minor)
    }

    /// Whether the server version is `release` (`"0.13.3"`) or later, comparing
    /// `major.minor.patch` numerically (a pre-release such as `0.14.0-rc1` counts as its release).
    pub fn since(&self, release: &str) -> bool {
        let triple = |v: &str| {
            let mut parts = v.split(['.', '-']).map(|p| p.parse::<u64>().unwrap_or(0));
            (
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
            )
        };
        triple(&self.version) >= triple(release)
    }

    /// Finds an installed model by any spelling of its name.
    pub fn find_installed(&self, name: &str) -> Option<Installed> {
        let key = key_of(name);
        state::installed(&self.mac)
            .ok()?
            .into_iter()
            .find(|m| key_of(&m.name) == key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Loaded>> {
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Loaded models that have not expired, sorted by `expires_at` descending.
    pub fn loaded(&self) -> Vec<Loaded> {
        let now = now_ns();
        let mut map = self.lock();
        map.retain(|_, l| l.expires_ns > now);
        let mut v: Vec<Loaded> = map.values().cloned().collect();
        v.sort_by_key(|l| std::cmp::Reverse(l.expires_ns));
        v
    }

    /// Loads (or refreshes) `model`: keep-alive from the request, else the loaded runner's, else
    /// `OLLAMA_KEEP_ALIVE`. Like `Scheduler.processPending` (`server/sched.go`): at
    /// `OLLAMA_MAX_LOADED_MODELS` (default 3) one runner is unloaded first; then, while the new
    /// runner does not fit beside the loaded ones in `config.json` `memory_bytes`, one runner is
    /// unloaded after another, in `findRunnerToUnload` order ([`eviction_order`]: pinned runners
    /// too, last). When it does not fit even alone, every other runner has been unloaded and
    /// the load fails (`Scheduler.load`: "No other models loaded, yet we still don't fit") with
    /// v0.12.6's text from `llm/server.go` (`model requires more system memory (…) than is
    /// available (…)`), which the handlers answer with 500 (`handleScheduleError`).
    ///
    /// # Errors
    /// The text of a load that can never fit.
    pub fn touch(
        &self,
        model: &Installed,
        keep_alive: Option<i128>,
        num_ctx: Option<u64>,
    ) -> Result<(), String> {
        let now = now_ns();
        let key = key_of(&model.name);
        let asked = served_context(self, &model.spec, num_ctx)?;
        let memory = state::config(&self.mac).ok().and_then(|c| c.memory_bytes);
        let mut map = self.lock();
        map.retain(|_, l| l.expires_ns > now);
        let ka = keep_alive
            .or_else(|| map.get(&key).map(|l| l.keep_alive))
            .unwrap_or_else(|| env::keep_alive(&self.env));
        // A request without `num_ctx` reuses a loaded runner as it is (`needsReload` compares
        // the options of requests that set them).
        let ctx = match (num_ctx, map.get(&key)) {
            (None, Some(l)) if !model.spec.parameters.contains_key("num_ctx") => l.context_length,
            _ => asked,
        };
        let entry = Loaded {
            model: model.clone(),
            context_length: ctx,
            keep_alive: ka,
            expires_ns: now.saturating_add(ka),
            kv_bytes: kv_cache_bytes(&self.env, &model.spec, ctx),
            // A reloaded runner starts empty; a reused one keeps its cache.
            cache: map
                .get(&key)
                .filter(|l| l.context_length == ctx)
                .map(|l| l.cache.clone())
                .unwrap_or_default(),
        };
        // A loaded runner of the same model is reused (or reloaded in place): it never counts
        // against itself.
        map.remove(&key);
        let max = env::var(&self.env, "OLLAMA_MAX_LOADED_MODELS")
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(3);
        while map.len() >= max {
            evict_one(&mut map);
        }
        if let Some(memory) = memory {
            let need = entry.size();
            while map.values().map(Loaded::size).sum::<u64>() + need > memory {
                if !evict_one(&mut map) {
                    return Err(format!(
                        "model requires more system memory ({}) than is available ({})",
                        human_bytes2(need),
                        human_bytes2(memory)
                    ));
                }
            }
        }
        map.insert(key, entry);
        Ok(())
    }

    /// Feeds `seq` to the loaded runner of `name`, as the runner does (`runner/ollamarunner/
    /// runner.go` `Server.NewSequence`, then `cache.go` `InputCache.LoadCacheSlot`):
    /// a prompt longer than the runner's context (the served context capped at the training
    /// context) is truncated to it, keeping the first `num_keep` tokens (the model's parameter,
    /// else 4, at most context − 1) and logging `truncating input prompt`; then the longest
    /// prefix shared with the runner's cache is reused (at least one token is processed). The
    /// count is every token (`numPromptInputs`, taken before the cache is consulted: reuse
    /// never lowers `prompt_eval_count`, only `prompt_eval_duration`).
    pub fn evaluate_prompt(&self, name: &str, seq: Vec<String>) -> PromptEval {
        let mut map = self.lock();
        let Some(runner) = map.get_mut(&key_of(name)) else {
            let n = u64::try_from(seq.len()).unwrap_or(0);
            return PromptEval {
                count: n,
                processed: n,
                truncated: None,
            };
        };
        let train = runner.model.spec.context_length;
        let limit = if train > 0 {
            runner.context_length.min(train)
        } else {
            runner.context_length
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX).max(2);
        let mut seq = seq;
        let mut truncated = None;
        if seq.len() > limit {
            let keep = match runner.model.spec.parameters.get("num_keep") {
                Some(Value::Number(n)) => n
                    .as_u64()
                    .and_then(|k| usize::try_from(k).ok())
                    .unwrap_or(4),
                _ => 4,
            }
            .min(limit - 1);
            let discard = seq.len() - limit;
            let mut new: Vec<String> = seq[..keep].to_vec();
            new.extend_from_slice(&seq[keep + discard..]);
            let as_u64 = |n: usize| u64::try_from(n).unwrap_or(0);
            truncated = Some((
                as_u64(limit),
                as_u64(seq.len()),
                as_u64(keep),
                as_u64(new.len()),
            ));
            seq = new;
        }
        let common = runner
            .cache
            .iter()
            .zip(&seq)
            .take_while(|(a, b)| a == b)
            .count();
        let processed = (seq.len() - common).max(1).min(seq.len());
        let count = u64::try_from(seq.len()).unwrap_or(0);
        runner.cache = seq;
        PromptEval {
            count,
            processed: u64::try_from(processed).unwrap_or(0),
            truncated,
        }
    }

    /// Unloads `name` (no error when it was not loaded).
    pub fn unload(&self, name: &str) {
        self.lock().remove(&key_of(name));
    }
}

/// `envconfig.NoCloud` and `NoCloudSource` (`envconfig/config.go`, v0.16.2+, #14221):
/// `OLLAMA_NO_CLOUD` (a `Bool`: empty false, unparsable true) or `disable_ollama_cloud` in
/// `$HOME/.ollama/server.json` (the file Ollama.app writes, `app/store/cloud_config.go`
/// `setCloudEnabled`; unreadable or invalid JSON counts as not disabled).
pub fn cloud_status(env: &Env) -> (bool, &'static str) {
    let by_env = env::bool_var(env, "OLLAMA_NO_CLOUD", false);
    let home = env::var(env, "HOME");
    let by_config = !home.is_empty()
        && std::fs::read(
            std::path::Path::new(&home)
                .join(".ollama")
                .join("server.json"),
        )
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("disable_ollama_cloud").and_then(Value::as_bool))
        .unwrap_or(false);
    match (by_env, by_config) {
        (true, true) => (true, "both"),
        (true, false) => (true, "env"),
        (false, true) => (true, "config"),
        (false, false) => (false, "none"),
    }
}

/// A model reference Ollama sends to its cloud (`modelSourceCloud`,
/// `server/model_resolver.go`): the tag `cloud` or a tag ending in `-cloud`
/// (`gpt-oss:120b-cloud`, `gpt-oss:20b:cloud`).
pub fn is_cloud_model(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(":cloud") || lower.ends_with("-cloud")
}

/// The order `findRunnerToUnload` (`server/sched.go`) picks runners to unload in:
/// `ByDurationAndName`, the session duration (keep-alive) ascending, compared as `uint64` so a
/// negative ("forever") duration sorts last, then the model path (the model blob,
/// `blobs/sha256-<hex>`). Pinned runners are not exempt: they are just picked last.
pub fn eviction_order(loaded: &[&Loaded]) -> Vec<String> {
    let mut order: Vec<(&i128, String, String)> = loaded
        .iter()
        .map(|l| (&l.keep_alive, model_path(&l.model), key_of(&l.model.name)))
        .collect();
    order.sort();
    order.into_iter().map(|(_, _, key)| key).collect()
}

/// `runnerRef.modelPath`: the model layer's blob path (its digest with `-` for `:`).
fn model_path(model: &Installed) -> String {
    model
        .spec
        .layers
        .iter()
        .find(|l| l.media_type == "application/vnd.ollama.image.model")
        .map_or_else(|| model.name.clone(), |l| l.digest.replace(':', "-"))
}

/// Unloads the first runner in [`eviction_order`]; `false` when none is loaded.
fn evict_one(map: &mut BTreeMap<String, Loaded>) -> bool {
    let victim = eviction_order(&map.values().collect::<Vec<_>>())
        .into_iter()
        .next();
    victim.is_some_and(|k| map.remove(&k).is_some())
}

/// `format.HumanBytes2`: binary units with one decimal (`19.2 GiB`).
pub fn human_bytes2(b: u64) -> String {
    const KIB: u64 = 1024;
    #[expect(
        clippy::cast_precision_loss,
        reason = "one decimal is shown, as Go's float64 formatting"
    )]
    let f = |unit: u64| b as f64 / unit as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.1} GiB", f(KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.1} MiB", f(KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", f(KIB))
    } else {
        format!("{b} B")
    }
}

/// Decodes a request `keep_alive` value (docs/ollama.md §1.9): `Ok(None)` when absent or `null`.
pub fn keep_alive(v: Option<&Value>) -> Result<Option<i128>, String> {
    let Some(v) = v else { return Ok(None) };
    let ns = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => {
            let secs = n.as_f64().unwrap_or(0.0);
            if secs < 0.0 {
                FOREVER
            } else {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "Go truncates to whole nanoseconds too"
                )]
                let ns = (secs * 1e9) as i128;
                ns
            }
        }
        Value::String(s) => match super::gotime::parse_duration(s)? {
            d if d < 0 => FOREVER,
            d => d,
        },
        Value::Bool(_) => return Err("Unsupported type: 'bool'".to_owned()),
        Value::Object(_) => return Err("Unsupported type: 'map[string]interface {}'".to_owned()),
        Value::Array(_) => return Err("Unsupported type: '[]interface {}'".to_owned()),
    };
    Ok(Some(ns))
}

/// Decodes a JSON request body, with Go's error texts for the common cases. `empty_msg` is what
/// an empty body yields (`missing request body` natively, `EOF` in `/v1` middleware).
pub fn parse_body(body: &[u8], empty_msg: &str) -> Result<serde_json::Map<String, Value>, String> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    let Some(first) = trimmed.chars().next() else {
        return Err(empty_msg.to_owned());
    };
    if !matches!(first, '{' | '[' | '"' | 't' | 'f' | 'n' | '-' | '0'..='9') {
        return Err(format!(
            "invalid character '{first}' looking for beginning of value"
        ));
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "bool",
                _ => "null",
            };
            if kind == "null" {
                Ok(serde_json::Map::new())
            } else {
                Err(format!(
                    "json: cannot unmarshal {kind} into Go value of type api.Request"
                ))
            }
        }
        Err(e) if e.is_eof() => Err("unexpected EOF".to_owned()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

/// String field or `""`.
pub fn str_field<'a>(m: &'a serde_json::Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The fake model output for a prompt: deterministic, a few words, echoing the prompt.
pub fn reply_text(prompt: &str) -> String {
    let words: Vec<&str> = prompt.split_whitespace().take(12).collect();
    if words.is_empty() {
        "ok".to_owned()
    } else {
        format!("ok. You said: {}", words.join(" "))
    }
}

/// Output in JSON mode (`format: "json"` / `response_format: json_object`): valid JSON text.
pub fn reply_json(prompt: &str) -> String {
    super::gojson::Obj::new()
        .field("reply", &reply_text(prompt))
        .done()
}

/// Splits output into tokens (a word with its leading space); their concatenation is the text.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, piece) in text.split(' ').enumerate() {
        if i == 0 {
            out.push(piece.to_owned());
        } else {
            out.push(format!(" {piece}"));
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

/// Output tokens after a `max_tokens`/`num_predict` limit; the flag says the limit cut it.
pub fn limit(tokens: Vec<String>, max: Option<u64>) -> (Vec<String>, bool) {
    match max.and_then(|m| usize::try_from(m).ok()) {
        Some(m) if m > 0 && tokens.len() > m => (tokens.into_iter().take(m).collect(), true),
        _ => (tokens, false),
    }
}

/// A plausible prompt token count.
pub fn prompt_tokens(text: &str, messages: usize) -> u64 {
    let words = text.split_whitespace().count() + 4 * messages.max(1);
    u64::try_from(words).unwrap_or(0) + 6
}

/// Nanoseconds as a plausible `*_duration`.
pub fn fake_duration(tokens: usize) -> u64 {
    u64::try_from(tokens).unwrap_or(0) * 20_000_000 + 1_234_567
}

/// Deterministic embedding of `text` with `dims` values in `[-0.1, 0.1)`.
pub fn embedding(text: &str, dims: u64) -> Vec<f32> {
    let digest = state::sha256_hex(text.as_bytes());
    let bytes = digest.as_bytes();
    (0..dims)
        .map(|i| {
            let idx = usize::try_from(i).unwrap_or(0) % bytes.len();
            let b = f32::from(bytes[idx]) + f32::from(u8::try_from(i % 97).unwrap_or(0));
            (b % 200.0) / 1000.0 - 0.1
        })
        .collect()
}

/// A request's `think` value (`api.ThinkValue`): absent, a boolean, or a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Think {
    /// Not given: thinking models think (`ChatHandler`/`GenerateHandler` set `true`).
    Unset,
    /// `false` (`think: false`, `reasoning_effort: "none"`, Anthropic `disabled`).
    Off,
    /// `true` (or Anthropic `enabled`).
    On,
    /// `"low"`, `"medium"`, `"high"` (`"max"` is read as `"high"`, as harmony does).
    Level(String),
}

impl Think {
    /// `ThinkValue.Bool()`: whether thinking was asked for.
    pub fn asked(&self) -> bool {
        matches!(self, Self::On | Self::Level(_))
    }

    /// Decodes a native `think` value (`api.ThinkValue.UnmarshalJSON`, v0.12.6 texts).
    pub fn from_json(v: Option<&Value>) -> Result<Self, String> {
        match v {
            None | Some(Value::Null) => Ok(Self::Unset),
            Some(Value::Bool(true)) => Ok(Self::On),
            Some(Value::Bool(false)) => Ok(Self::Off),
            Some(Value::String(s)) if matches!(s.as_str(), "low" | "medium" | "high" | "max") => {
                Ok(Self::Level(s.clone()))
            }
            Some(Value::String(s)) => Err(format!(
                "invalid think value: {s:?} (must be \"high\", \"medium\", \"low\", true, or false)"
            )),
            Some(_) => Err(
                "think must be a boolean or string (\"high\", \"medium\", \"low\", true, or false)"
                    .to_owned(),
            ),
        }
    }
}

/// How many words a model thinks for one request, after `ChatHandler`'s rules
/// (`server/routes.go`): a `thinking`-capable model thinks unless told not to (`think` unset
/// means `true` since v0.12.4); gpt-oss (`shouldUseHarmony`: family `gptoss`/`gpt-oss`) always
/// thinks — its harmony parser (`harmony/harmonyparser.go` `Init`) ignores `false` and only the
/// level changes how long (default `medium`); any other model asked to think gets 400
/// `"<model>" does not support thinking`, unless `relax` (the Anthropic middleware's
/// `relax_thinking`, which drops the request to think instead).
pub fn thinking_words(
    spec: &super::state::ModelSpec,
    model: &str,
    think: &Think,
    relax: bool,
) -> Result<Option<usize>, String> {
    let level_words = |level: &str| match level {
        // Roughly what gpt-oss spends on a one-line request at each effort.
        "low" => 24,
        "high" | "max" => 160,
        _ => 64,
    };
    if !spec.can_think() {
        return if think.asked() && !relax {
            Err(format!("{model:?} does not support thinking"))
        } else {
            Ok(None)
        };
    }
    Ok(match (think, spec.is_harmony()) {
        (Think::Level(level), true) => Some(level_words(level)),
        (Think::Off, false) => None,
        // gpt-oss without a level; qwen3, deepseek-r1: on or off, a level only means "on".
        _ => Some(level_words("medium")),
    })
}

/// One generated token: an invisible tag (`<think>`, `</think>`, harmony's channel headers),
/// a piece of thinking, or a piece of the answer. Every one counts against `num_predict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A tag the parser swallows (it yields neither thinking nor content).
    Tag,
    /// Thinking text (`message.thinking`).
    Thinking(String),
    /// Answer text (`message.content`).
    Content(String),
}

/// The fake model's output for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The tokens, in order.
    pub pieces: Vec<Piece>,
    /// The token limit cut it (`done_reason` `length`).
    pub cut: bool,
}

impl Generation {
    /// The thinking text.
    pub fn thinking(&self) -> String {
        self.text(|p| match p {
            Piece::Thinking(t) => Some(t),
            _ => None,
        })
    }

    /// The answer text.
    pub fn content(&self) -> String {
        self.text(|p| match p {
            Piece::Content(t) => Some(t),
            _ => None,
        })
    }

    fn text(&self, pick: impl Fn(&Piece) -> Option<&String>) -> String {
        self.pieces
            .iter()
            .filter_map(pick)
            .map(String::as_str)
            .collect()
    }

    /// `eval_count`: every token, tags included.
    pub fn eval_count(&self) -> u64 {
        u64::try_from(self.pieces.len()).unwrap_or(0)
    }

    /// Pieces that carry text (what a stream sends: Ollama skips chunks with neither content nor
    /// thinking, `server/routes.go` `ChatHandler`).
    pub fn visible(&self) -> impl Iterator<Item = &Piece> {
        self.pieces.iter().filter(|p| !matches!(p, Piece::Tag))
    }
}

/// What the model thinks: a fixed text cycled to `words` words.
fn thinking_text(words: usize) -> Vec<String> {
    const TEXT: &str = "Okay, the user wants a short reply. I will keep it brief and answer directly. Let me check once more that this covers it.";
    let all: Vec<&str> = TEXT.split(' ').collect();
    (0..words)
        .map(|i| {
            let w = all[i % all.len()];
            if i == 0 {
                w.to_owned()
            } else {
                format!(" {w}")
            }
        })
        .collect()
}

/// Generates the reply to `prompt`: thinking first (open tag, `thinking` words, close tag) when
/// the model thinks, then the answer — JSON when `json` (the grammar applies only once thinking
/// has ended: `ChatHandler` restarts with `format` after the thinking/content transition). The
/// limit counts every token, so a small one leaves a reply that is thinking only, or empty when
/// it ends on the opening tag.
pub fn generate(prompt: &str, json: bool, thinking: Option<usize>, max: Option<u64>) -> Generation {
    let mut pieces = Vec::new();
    if let Some(words) = thinking {
        pieces.push(Piece::Tag);
        pieces.extend(thinking_text(words).into_iter().map(Piece::Thinking));
        pieces.push(Piece::Tag);
    }
    let answer = if json {
        reply_json(prompt)
    } else {
        reply_text(prompt)
    };
    pieces.extend(tokens(&answer).into_iter().map(Piece::Content));
    match max.and_then(|m| usize::try_from(m).ok()) {
        Some(m) if m > 0 && pieces.len() > m => {
            pieces.truncate(m);
            Generation { pieces, cut: true }
        }
        _ => Generation { pieces, cut: false },
    }
}

/// Seconds as nanoseconds (for tests and callers).
pub fn secs(n: i128) -> i128 {
    n * SECOND
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_keep_alive_like_go() {
        assert_eq!(keep_alive(None), Ok(None));
        assert_eq!(keep_alive(Some(&json!(-1))), Ok(Some(FOREVER)));
        assert_eq!(keep_alive(Some(&json!("-1m"))), Ok(Some(FOREVER)));
        assert_eq!(keep_alive(Some(&json!(0))), Ok(Some(0)));
        assert_eq!(keep_alive(Some(&json!("10m"))), Ok(Some(secs(600))));
        assert_eq!(keep_alive(Some(&json!(3600))), Ok(Some(secs(3600))));
        assert_eq!(
            keep_alive(Some(&json!("-1"))),
            Err("time: missing unit in duration \"-1\"".to_owned())
        );
        assert_eq!(
            keep_alive(Some(&json!(true))),
            Err("Unsupported type: 'bool'".to_owned())
        );
    }

    #[test]
    fn output_is_deterministic_and_tokenized() {
        assert_eq!(reply_text(""), "ok");
        let t = tokens(&reply_text("hi there"));
        assert_eq!(t.concat(), "ok. You said: hi there");
        assert_eq!(limit(t, Some(1)), (vec!["ok.".to_owned()], true));
        assert!(serde_json::from_str::<Value>(&reply_json("a \"q\"")).is_ok());
    }
}
