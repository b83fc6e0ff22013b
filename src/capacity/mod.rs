//! The capacity plan: what Metal lets Ollama use, what each warm model takes, whether
//! they fit together, and — when they do not — what would make them fit, each computed. Pure:
//! every input is a value (the parsed log, `sysctl`, `/api/tags` sizes, `/api/show`
//! geometry, the server's environment), so plan and status can call it on observed data.
//!
//! It lives in its own module rather than in `model` (plain data) or `plan` (changes): it is
//! arithmetic over observations that both the planner (block a warm set that cannot fit) and
//! `status` (the same table from `/api/ps`) use. The formula, its sources and its margin are
//! in `specs/capacity.md`.

pub(crate) mod sysctl;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Knowable;
use crate::model::observed::MemoryFacts;
use crate::ollama::env;
use crate::ollama::log::ServerStart;
use crate::ollama::show::KvGeometry;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Ollama's smallest context (docs/ollama.md §14.1: `num_ctx` at least 4).
pub(crate) const MIN_CONTEXT: u64 = 4;

/// What Ollama adds to every Metal allocation it estimates (512 MiB per
/// runner: docs/ollama.md §14.2).
pub(crate) const METAL_MINIMUM_MEMORY: u64 = 512 * MIB;

/// What a suggested `iogpu.wired_limit_mb` must leave to macOS and the other processes:
/// ssollama's own rule (not Ollama's or Apple's), 8 GiB, so the advice never starves the Mac.
pub(crate) const MACOS_RESERVE: u64 = 8 * GIB;

/// The `num_batch` Ollama runs with unless told otherwise (docs/ollama.md §14.2).
pub(crate) const DEFAULT_BATCH: u64 = 512;

/// Bytes in binary GiB with one decimal, rounded (`51.8 GiB`), as Ollama logs memory
/// (`format.HumanBytes2`).
pub(crate) fn gib(bytes: u64) -> String {
    let tenths = (u128::from(bytes) * 10 + u128::from(GIB) / 2) / u128::from(GIB);
    format!("{}.{} GiB", tenths / 10, tenths % 10)
}

/// Where the Metal limit came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub(crate) enum LimitSource {
    /// Logged by the server at its last start (`inference compute` `total`, as printed).
    Measured {
        /// The logged text, e.g. `21.3 GiB` (one decimal: the bytes are ± 0.05 GiB).
        text: String,
    },
    /// Estimated from `sysctl`, before the server has run.
    Estimated {
        /// `hw.memsize`, bytes.
        memsize: u64,
        /// `iogpu.wired_limit_mb` when the Mac has it (0 = macOS's default).
        wired_limit_mb: Option<u64>,
    },
}

/// What Metal lets one process keep on the GPU (`recommendedMaxWorkingSetSize`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MetalLimit {
    /// Bytes.
    pub bytes: u64,
    /// Measured or estimated.
    #[serde(flatten)]
    pub source: LimitSource,
}

impl MetalLimit {
    /// Whether it is an estimate (say so when showing it).
    pub(crate) fn is_estimate(&self) -> bool {
        matches!(self.source, LimitSource::Estimated { .. })
    }

    /// How the limit reads in plans and `status`: `51.8 GiB (logged by the server at its last
    /// start)`, or the estimate, said so.
    pub(crate) fn text(&self) -> String {
        match &self.source {
            LimitSource::Measured { text } => {
                format!("{text} (logged by the server at its last start)")
            }
            LimitSource::Estimated {
                memsize,
                wired_limit_mb,
            } => format!(
                "{} (an estimate from `sysctl`: hw.memsize {}, iogpu.wired_limit_mb {}; the server has not logged its limit yet)",
                gib(self.bytes),
                gib(*memsize),
                wired_limit_mb.map_or_else(|| "absent".to_owned(), |mb| mb.to_string())
            ),
        }
    }
}

/// The limit the last server start logged (its Metal device's `total`).
pub(crate) fn measured_limit(start: &ServerStart) -> Option<MetalLimit> {
    let metal = start.metal()?;
    Some(MetalLimit {
        bytes: metal.total,
        source: LimitSource::Measured {
            text: metal.total_text.clone(),
        },
    })
}

/// The limit estimated from `hw.memsize` and `iogpu.wired_limit_mb`: a non-zero wired limit
/// (MiB) is the cap macOS applies to the GPU's wired memory; else macOS's default share of RAM,
/// two thirds up to 36 GiB and three quarters above — the rule the simulated Mac follows
/// (`tests/simmac` `Machine::metal_total`), which matches public Ollama logs of 8 GiB
/// (`5.3 GiB`) and 16 GiB Macs (`10.7 GiB`); newer logs of some larger Macs show more (about
/// 78 % at 32 and 48 GiB), so for those the estimate errs low.
pub(crate) fn estimated_limit(memsize: u64, wired_limit_mb: Option<u64>) -> MetalLimit {
    let bytes = match wired_limit_mb {
        Some(mb) if mb > 0 => mb.saturating_mul(MIB),
        _ if memsize <= 36 * GIB => memsize / 3 * 2,
        _ => memsize / 4 * 3,
    };
    MetalLimit {
        bytes,
        source: LimitSource::Estimated {
            memsize,
            wired_limit_mb,
        },
    }
}

/// The measured limit when the log has one, else the estimate when `hw.memsize` is known.
pub(crate) fn metal_limit(
    measured: Option<MetalLimit>,
    memsize: Option<u64>,
    wired_limit_mb: Option<u64>,
) -> Option<MetalLimit> {
    measured.or_else(|| memsize.map(|m| estimated_limit(m, wired_limit_mb)))
}

/// The limit from what `observe` read: measured when the last server start logged it, else
/// estimated from `sysctl`; with a note for each source that could not be read (and `None`
/// when neither is known).
pub(crate) fn limit_of(memory: &MemoryFacts) -> (Option<MetalLimit>, Vec<String>) {
    let mut notes = Vec::new();
    let measured = match &memory.logged {
        Knowable::Known(logged) => logged.as_ref().map(|logged| MetalLimit {
            bytes: logged.total,
            source: LimitSource::Measured {
                text: logged.total_text.clone(),
            },
        }),
        Knowable::Unknown { reason } => {
            notes.push(format!(
                "the server log could not be read ({reason}); the Metal limit is estimated"
            ));
            None
        }
    };
    let sysctl = match &memory.sysctl {
        Knowable::Known(s) => Some(*s),
        Knowable::Unknown { reason } => {
            if measured.is_none() {
                notes.push(format!(
                    "the Metal limit is unknown (no `inference compute` line in the server log, and {reason})"
                ));
            }
            None
        }
    };
    let limit = metal_limit(
        measured,
        sysctl.and_then(|s| s.memsize),
        sysctl.and_then(|s| s.wired_limit_mb),
    );
    (limit, notes)
}

/// `OLLAMA_KV_CACHE_TYPE` as Ollama applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum KvCacheType {
    /// 4-bit, 0.5 bytes per element.
    #[serde(rename = "q4_0")]
    Q4_0,
    /// 8-bit, 1 byte per element.
    #[serde(rename = "q8_0")]
    Q8_0,
    /// The default, 2 bytes per element.
    #[serde(rename = "f16")]
    F16,
}

impl KvCacheType {
    /// The variable's value as Ollama reads it: lower-cased; anything but `q8_0` and
    /// `q4_0` is f16 (docs/ollama.md §14.2).
    pub(crate) fn from_env(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "q8_0" => Self::Q8_0,
            "q4_0" => Self::Q4_0,
            _ => Self::F16,
        }
    }

    /// The variable's value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Q4_0 => "q4_0",
            Self::Q8_0 => "q8_0",
            Self::F16 => "f16",
        }
    }

    /// Bytes per element, in halves (`kvCacheBytesPerElement`: `f16` 2, `q8_0` 1, `q4_0` 0.5).
    fn half_bytes(self) -> u64 {
        match self {
            Self::Q4_0 => 1,
            Self::Q8_0 => 2,
            Self::F16 => 4,
        }
    }
}

/// The server's environment, as far as memory goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerSettings {
    /// `OLLAMA_NUM_PARALLEL` (0 or unset = 1).
    pub num_parallel: u64,
    /// `OLLAMA_KV_CACHE_TYPE`.
    pub kv_cache_type: KvCacheType,
    /// `OLLAMA_FLASH_ATTENTION` when set; unset = the architecture's default.
    pub flash_attention: Option<bool>,
    /// `OLLAMA_GPU_OVERHEAD`, bytes (default 0), reserved per runner.
    pub gpu_overhead: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            num_parallel: 1,
            kv_cache_type: KvCacheType::F16,
            flash_attention: None,
            gpu_overhead: 0,
        }
    }
}

impl ServerSettings {
    /// The settings the job's environment gives (docs/ollama.md §4: a value is trimmed, a
    /// `Uint` that does not parse is its default, `OLLAMA_FLASH_ATTENTION` a `Bool` whose
    /// unparsable value is true).
    pub(crate) fn from_env(env: &BTreeMap<String, String>) -> Self {
        let text = |key: &str| env.get(key).map(|v| env::var(v)).filter(|v| !v.is_empty());
        let uint = |key: &str| text(key).and_then(|v| v.parse::<u64>().ok());
        Self {
            num_parallel: uint("OLLAMA_NUM_PARALLEL").unwrap_or(1).max(1),
            kv_cache_type: text("OLLAMA_KV_CACHE_TYPE")
                .map_or(KvCacheType::F16, KvCacheType::from_env),
            flash_attention: env
                .get("OLLAMA_FLASH_ATTENTION")
                .and_then(|v| env::parse_bool(v)),
            gpu_overhead: uint("OLLAMA_GPU_OVERHEAD").unwrap_or(0),
        }
    }
}

/// The context a model is served with when neither the request, the model's `num_ctx` nor
/// `OLLAMA_CONTEXT_LENGTH` sets it (`docs/ollama.md` §4.1): 2048 before v0.6.7, 4096 until
/// v0.15.5, then by the GPU's memory (docs/ollama.md §14.1: ≥ 47 GiB 262144, ≥ 23 GiB 32768,
/// else 4096). An unreadable version is taken as the newest.
pub(crate) fn default_context(version: &str, limit: u64) -> u64 {
    let parts: Vec<u64> = version
        .trim_start_matches('v')
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map_while(|p| p.parse().ok())
        .collect();
    let at_least = |want: [u64; 3]| {
        let have = [0, 1, 2].map(|i| parts.get(i).copied().unwrap_or(0));
        parts.is_empty() || have >= want
    };
    if !at_least([0, 6, 7]) {
        2048
    } else if !at_least([0, 15, 5]) || limit < 23 * GIB {
        4096
    } else if limit < 47 * GIB {
        32768
    } else {
        262_144
    }
}

/// A model to keep warm: what `/api/tags` and `/api/show` said, and the context it is served
/// with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WarmModel {
    /// Its name (the derived model's, when it has one).
    pub name: String,
    /// `/api/tags` `size`: the weights, bytes.
    pub weights: u64,
    /// The context it is served with (`num_ctx`), tokens per sequence.
    pub context: u64,
    /// Whether it has the `completion` capability (an embedding-only model runs one sequence).
    pub completion: bool,
    /// Its attention geometry; `None` leaves the KV cache and graph unknown (counted as 0 and
    /// said so).
    pub geometry: Option<KvGeometry>,
}

/// One warm model's memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Footprint {
    /// The model.
    pub name: String,
    /// Weights, bytes.
    pub weights: u64,
    /// The context the cache is sized for: the served one, capped at the training context.
    pub context: u64,
    /// Sequences (`OLLAMA_NUM_PARALLEL`, 1 for an embedding model).
    pub parallel: u64,
    /// The cache type really used (quantized only with flash attention).
    pub kv_cache_type: KvCacheType,
    /// Whether flash attention is on for this model.
    pub flash_attention: bool,
    /// KV cache, bytes; `None` when the geometry is unknown.
    pub kv_cache: Option<u64>,
    /// The margin: Metal's minimum, the compute graph and `OLLAMA_GPU_OVERHEAD`, bytes.
    pub margin: u64,
    /// Everything, bytes.
    pub total: u64,
}

/// A model's footprint under `settings`:
/// `weights + kv + METAL_MINIMUM_MEMORY + graph + OLLAMA_GPU_OVERHEAD`, where
/// - `ctx = min(context, training context)` (docs/ollama.md §14.1), `cells = ctx ×
///   parallel` (docs/ollama.md §14.2: `context *= numParallel`);
/// - `kv = block_count × cells × (key_length + value_length) × head_count_kv × bytes`
///   (`GraphSize`, full attention on every layer);
/// - `bytes` = 2 (`f16`), 1 (`q8_0`), 0.5 (`q4_0`) — quantized only when flash attention is on:
///   `OLLAMA_FLASH_ATTENTION` when set, else the architecture's default, and only for a model
///   that supports it (docs/ollama.md §14.2);
/// - `graph` without flash attention = `4 × batch × cells × (1 + head_count)` (the f32
///   attention scores of one batch against the whole cache: the context term of `GraphSize`'s
///   llama and qwen2 full-offload estimates), `batch = min(ctx, 512)`; with flash attention
///   (no score matrix) `(4 × parallel + cells / 1024 + 110) MiB` (`GraphSize`'s flash-attention
///   estimate).
pub(crate) fn footprint(model: &WarmModel, settings: &ServerSettings) -> Footprint {
    let parallel = if model.completion {
        settings.num_parallel.max(1)
    } else {
        1
    };
    let context = model
        .geometry
        .and_then(|g| g.context_length)
        .map_or(model.context, |train| model.context.min(train));
    let cells = context.saturating_mul(parallel);
    let (flash_attention, kv_cache_type, kv_cache, graph) = match model.geometry {
        None => (false, KvCacheType::F16, None, 0),
        Some(g) => {
            let fa = settings
                .flash_attention
                .unwrap_or(g.flash_attention_default)
                && g.supports_flash_attention;
            let kind = if fa {
                settings.kv_cache_type
            } else {
                KvCacheType::F16
            };
            let per_layer_halves = cells
                .saturating_mul(g.key_length + g.value_length)
                .saturating_mul(g.head_count_kv)
                .saturating_mul(kind.half_bytes());
            let kv = (per_layer_halves / 2).saturating_mul(g.block_count);
            let graph = if fa {
                (4 * parallel + cells / 1024 + 110).saturating_mul(MIB)
            } else {
                4u64.saturating_mul(context.min(DEFAULT_BATCH))
                    .saturating_mul(cells)
                    .saturating_mul(1 + g.head_count)
            };
            (fa, kind, Some(kv), graph)
        }
    };
    let margin = METAL_MINIMUM_MEMORY
        .saturating_add(graph)
        .saturating_add(settings.gpu_overhead);
    Footprint {
        name: model.name.clone(),
        weights: model.weights,
        context,
        parallel,
        kv_cache_type,
        flash_attention,
        kv_cache,
        margin,
        total: model
            .weights
            .saturating_add(kv_cache.unwrap_or(0))
            .saturating_add(margin),
    }
}

/// The sum of the footprints.
fn total_of(models: &[WarmModel], settings: &ServerSettings) -> u64 {
    models
        .iter()
        .map(|m| footprint(m, settings).total)
        .fold(0, u64::saturating_add)
}

/// The warm set against the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Budget {
    /// The limit.
    pub limit: MetalLimit,
    /// Each warm model, in the order given.
    pub models: Vec<Footprint>,
    /// Their sum, bytes.
    pub total: u64,
    /// What would make it fit; `None` when it fits.
    pub advice: Option<Advice>,
}

impl Budget {
    /// Whether the warm set can stay loaded together.
    pub(crate) fn fits(&self) -> bool {
        self.total <= self.limit.bytes
    }
}

/// The warm set with a quantized KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KvOption {
    /// The cache type (it needs `OLLAMA_FLASH_ATTENTION=1`).
    pub kv_cache_type: KvCacheType,
    /// The new sum, bytes.
    pub total: u64,
    /// Bytes saved against the current sum.
    pub saving: u64,
    /// Whether the new sum fits.
    pub fits: bool,
}

/// What would make a warm set fit, each computed against the same limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Advice {
    /// By how much the sum exceeds the limit, bytes.
    pub over_by: u64,
    /// For each model (in order): the largest context that fits with the others unchanged
    /// (a multiple of 1024 when at least 1024), `None` when even the smallest does not.
    pub contexts: Vec<(String, Option<u64>)>,
    /// The largest `OLLAMA_NUM_PARALLEL` below the current one that fits, if any.
    pub parallel: Option<u64>,
    /// `q8_0` then `q4_0` with flash attention on, each only when it saves something.
    pub kv_cache: Vec<KvOption>,
    /// The smallest `iogpu.wired_limit_mb` (a whole GiB, in MiB) that holds the sum, when
    /// `hw.memsize` is known and the value leaves [`MACOS_RESERVE`] of it: `sudo sysctl
    /// iogpu.wired_limit_mb=N` (it lasts until the Mac restarts).
    pub wired_limit_mb: Option<u64>,
}

/// Budgets `models` against `limit`; `memsize` (`hw.memsize`) bounds the wired-limit advice.
pub(crate) fn budget(
    limit: MetalLimit,
    models: &[WarmModel],
    settings: &ServerSettings,
    memsize: Option<u64>,
) -> Budget {
    let footprints: Vec<Footprint> = models.iter().map(|m| footprint(m, settings)).collect();
    let total = footprints
        .iter()
        .map(|f| f.total)
        .fold(0, u64::saturating_add);
    let advice =
        (total > limit.bytes).then(|| advise(limit.bytes, total, models, settings, memsize));
    Budget {
        limit,
        models: footprints,
        total,
        advice,
    }
}

fn advise(
    limit: u64,
    total: u64,
    models: &[WarmModel],
    settings: &ServerSettings,
    memsize: Option<u64>,
) -> Advice {
    let contexts = (0..models.len())
        .map(|i| {
            (
                models[i].name.clone(),
                context_that_fits(limit, models, i, settings),
            )
        })
        .collect();
    let parallel = (1..settings.num_parallel.max(1)).rev().find(|&p| {
        let s = ServerSettings {
            num_parallel: p,
            ..*settings
        };
        total_of(models, &s) <= limit
    });
    let kv_cache = [KvCacheType::Q8_0, KvCacheType::Q4_0]
        .into_iter()
        .filter_map(|kind| {
            let s = ServerSettings {
                kv_cache_type: kind,
                flash_attention: Some(true),
                ..*settings
            };
            let new_total = total_of(models, &s);
            (new_total < total).then(|| KvOption {
                kv_cache_type: kind,
                total: new_total,
                saving: total - new_total,
                fits: new_total <= limit,
            })
        })
        .collect();
    let wired_limit_mb = memsize.and_then(|mem| {
        let mb = total.div_ceil(GIB).saturating_mul(1024);
        (mb.saturating_mul(MIB).saturating_add(MACOS_RESERVE) <= mem).then_some(mb)
    });
    Advice {
        over_by: total - limit,
        contexts,
        parallel,
        kv_cache,
        wired_limit_mb,
    }
}

/// The largest context for model `i` that makes the set fit, the others unchanged.
fn context_that_fits(
    limit: u64,
    models: &[WarmModel],
    i: usize,
    settings: &ServerSettings,
) -> Option<u64> {
    models[i].geometry?;
    let others: u64 = models
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(_, m)| footprint(m, settings).total)
        .fold(0, u64::saturating_add);
    let fits = |ctx: u64| {
        let m = WarmModel {
            context: ctx,
            ..models[i].clone()
        };
        others.saturating_add(footprint(&m, settings).total) <= limit
    };
    // Footprints grow with the context: binary search the largest that fits below the current.
    let (mut lo, mut hi) = (MIN_CONTEXT, models[i].context);
    if hi < lo || !fits(lo) {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(if lo >= 1024 { lo / 1024 * 1024 } else { lo })
}

#[cfg(test)]
mod tests;
