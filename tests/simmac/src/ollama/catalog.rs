//! The built-in registry catalog used when `<mac>/ollama/registry.json` does not exist.
//!
//! Pure data. Sizes are realistic (totals match docs/ollama.md samples where one exists:
//! `llama3.2:latest` 2019393189 and `llama3:latest` 4661224676 bytes); digests of blobs are
//! either the ones quoted in docs/ollama.md (`llama3` model/license layers) or the SHA-256 of a fixed
//! label, so they are stable across runs.

use std::collections::BTreeMap;

use super::state::{Arch, Layer, ModelSpec, Registry, sha256_hex};

const MODEL: &str = "application/vnd.ollama.image.model";
const TEMPLATE: &str = "application/vnd.ollama.image.template";
const LICENSE: &str = "application/vnd.ollama.image.license";
const PARAMS: &str = "application/vnd.ollama.image.params";
const SYSTEM: &str = "application/vnd.ollama.image.system";
const CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// A layer whose digest is the SHA-256 of `label` (or `digest` when given).
fn layer(media_type: &str, label: &str, size: u64) -> Layer {
    let digest = if label.len() == 64 && label.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("sha256:{label}")
    } else {
        format!("sha256:{}", sha256_hex(label.as_bytes()))
    };
    Layer {
        media_type: media_type.to_owned(),
        digest,
        size,
    }
}

struct Spec<'a> {
    name: &'a str,
    family: &'a str,
    params: &'a str,
    quant: &'a str,
    ctx: u64,
    emb: u64,
    caps: &'a [&'a str],
    layers: Vec<Layer>,
    config_size: u64,
    arch: Arch,
}

/// `(block_count, head_count, head_count_kv, key_length, value_length, feed_forward_length)`;
/// a 0 length is a key the GGUF does not have.
fn geometry(g: (u64, u64, u64, u64, u64, u64), pooling: bool) -> Arch {
    Arch {
        block_count: g.0,
        head_count: g.1,
        head_count_kv: g.2,
        key_length: g.3,
        value_length: g.4,
        feed_forward_length: g.5,
        pooling,
    }
}

fn build(s: Spec<'_>) -> (String, ModelSpec) {
    (
        s.name.to_owned(),
        ModelSpec {
            format: "gguf".to_owned(),
            family: s.family.to_owned(),
            families: Some(vec![s.family.to_owned()]),
            parameter_size: s.params.to_owned(),
            quantization_level: s.quant.to_owned(),
            context_length: s.ctx,
            embedding_length: s.emb,
            capabilities: s.caps.iter().map(|c| (*c).to_owned()).collect(),
            layers: s.layers,
            config: layer(CONFIG, &format!("{} config", s.name), s.config_size),
            arch: s.arch,
            parameters: BTreeMap::new(),
            parent_model: String::new(),
        },
    )
}

/// The default catalog: `qwen2.5-coder:32b`, `llama3.2:latest`, `llama3:latest`, the thinking
/// models `qwen3:latest`, `deepseek-r1:latest` and `gpt-oss:20b` (harmony),
/// `all-minilm:latest` (embedding), `nomic-embed-text:latest` (embedding).
pub fn default_registry() -> Registry {
    let specs = vec![
        Spec {
            name: "qwen2.5-coder:32b",
            family: "qwen2",
            params: "32.8B",
            quant: "Q4_K_M",
            ctx: 32768,
            emb: 5120,
            caps: &["completion", "tools", "insert"],
            layers: vec![
                layer(MODEL, "qwen2.5-coder:32b model", 19_851_336_256),
                layer(SYSTEM, "qwen2.5-coder system", 68),
                layer(TEMPLATE, "qwen2.5-coder template", 1_627),
                layer(LICENSE, "qwen2.5-coder license", 11_343),
            ],
            config_size: 488,
            arch: geometry((64, 40, 8, 0, 0, 27_648), false),
        },
        Spec {
            name: "llama3.2:latest",
            family: "llama",
            params: "3.2B",
            quant: "Q4_K_M",
            ctx: 131_072,
            emb: 3072,
            caps: &["completion", "tools"],
            layers: vec![
                layer(MODEL, "llama3.2:latest model", 2_019_377_376),
                layer(TEMPLATE, "llama3.2 template", 1_429),
                layer(LICENSE, "llama3.2 license", 7_711),
                layer(LICENSE, "llama3.2 acceptable use policy", 6_016),
                layer(PARAMS, "llama3.2 params", 96),
            ],
            config_size: 561,
            arch: geometry((28, 24, 8, 128, 128, 8192), false),
        },
        Spec {
            name: "llama3:latest",
            family: "llama",
            params: "8.0B",
            quant: "Q4_0",
            ctx: 8192,
            emb: 4096,
            caps: &["completion"],
            layers: vec![
                layer(
                    MODEL,
                    "6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa",
                    4_661_211_424,
                ),
                layer(
                    LICENSE,
                    "4fa551d4f938f68b8c1e6afa9d28befb70e3f33f75d0753248d530364aeea40f",
                    12_403,
                ),
                layer(TEMPLATE, "llama3 template", 254),
                layer(PARAMS, "llama3 params", 110),
            ],
            config_size: 485,
            arch: geometry((32, 32, 8, 0, 0, 14_336), false),
        },
        // Thinking models, with the capabilities Ollama reports for them (`server/images.go`
        // `Capabilities`: `thinking` from the template's think tags or the builtin parser, and
        // for family `gptoss` always, `modelFamilyCapabilities`).
        Spec {
            name: "qwen3:latest",
            family: "qwen3",
            params: "8.2B",
            quant: "Q4_K_M",
            ctx: 40960,
            emb: 4096,
            caps: &["completion", "tools", "thinking"],
            layers: vec![
                layer(MODEL, "qwen3:latest model", 5_225_374_112),
                layer(TEMPLATE, "qwen3 template", 1_723),
                layer(LICENSE, "qwen3 license", 11_338),
                layer(PARAMS, "qwen3 params", 148),
            ],
            config_size: 487,
            arch: geometry((36, 32, 8, 128, 128, 12_288), false),
        },
        Spec {
            name: "deepseek-r1:latest",
            family: "qwen2",
            params: "7.6B",
            quant: "Q4_K_M",
            ctx: 131_072,
            emb: 3584,
            caps: &["completion", "thinking"],
            layers: vec![
                layer(MODEL, "deepseek-r1:latest model", 4_683_073_184),
                layer(TEMPLATE, "deepseek-r1 template", 387),
                layer(LICENSE, "deepseek-r1 license", 1_065),
                layer(PARAMS, "deepseek-r1 params", 148),
            ],
            config_size: 487,
            arch: geometry((28, 28, 4, 0, 0, 18_944), false),
        },
        Spec {
            name: "gpt-oss:20b",
            family: "gptoss",
            params: "20.9B",
            quant: "MXFP4",
            ctx: 131_072,
            emb: 2880,
            caps: &["completion", "tools", "thinking"],
            layers: vec![
                layer(MODEL, "gpt-oss:20b model", 13_780_154_624),
                layer(TEMPLATE, "gpt-oss template", 7_240),
                layer(LICENSE, "gpt-oss license", 11_353),
                layer(PARAMS, "gpt-oss params", 18),
            ],
            config_size: 489,
            arch: geometry((24, 64, 8, 64, 64, 2880), false),
        },
        Spec {
            name: "all-minilm:latest",
            family: "bert",
            params: "23M",
            quant: "F16",
            ctx: 512,
            emb: 384,
            caps: &["embedding"],
            layers: vec![
                layer(MODEL, "all-minilm:latest model", 45_949_216),
                layer(LICENSE, "all-minilm license", 11_357),
                layer(PARAMS, "all-minilm params", 16),
            ],
            config_size: 407,
            arch: geometry((6, 12, 0, 0, 0, 1536), true),
        },
        Spec {
            name: "nomic-embed-text:latest",
            family: "nomic-bert",
            params: "137M",
            quant: "F16",
            ctx: 2048,
            emb: 768,
            caps: &["embedding"],
            layers: vec![
                layer(MODEL, "nomic-embed-text:latest model", 274_290_656),
                layer(LICENSE, "nomic-embed-text license", 11_357),
                layer(PARAMS, "nomic-embed-text params", 17),
            ],
            config_size: 420,
            arch: geometry((12, 12, 0, 0, 0, 3072), true),
        },
    ];
    Registry {
        models: specs.into_iter().map(build).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_reference_samples() {
        let reg = default_registry();
        assert_eq!(reg.models["llama3:latest"].size(), 4_661_224_676);
        assert_eq!(reg.models["llama3.2:latest"].size(), 2_019_393_189);
        assert_eq!(reg.models.len(), 8);
        assert!(reg.models["gpt-oss:20b"].is_harmony());
        assert!(reg.models["qwen3:latest"].can_think());
        assert!(!reg.models["qwen3:latest"].is_harmony());
        assert!(reg.models["all-minilm:latest"].can_embed());
        assert!(!reg.models["all-minilm:latest"].can_complete());
    }
}
