//! What `/api/show` says about a model that the context and memory plans need: its
//! `parameters` text and the KV-cache geometry in its `model_info`. Pure.
//!
//! - `parameters` (docs/ollama.md §14.3): one `fmt.Sprintf("%-*s %#v",
//!   30, key, value)` line per value, an array (`stop`) one line per element, joined by `\n`, in
//!   Go map order (random). `%#v` of the decoded JSON: a number is Go's `%v` of a `float64`
//!   (`65536`, `0.7`, `1e+06`), a string is `strconv.Quote`d (`"<|eot_id|>"`), a bool
//!   `true`/`false`.
//! - `model_info` holds the GGUF key/values (`general.architecture`,
//!   `<arch>.block_count`, `<arch>.attention.head_count_kv`, …); per-layer values are arrays.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::goquote::unquote_prefix;

/// A `parameters` line that is not `name value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of /api/show parameters is not `name value`: {text:?}")]
pub(crate) struct ParametersError {
    /// 1-based line number.
    pub line: usize,
    /// The line.
    pub text: String,
}

/// Parses `/api/show` `parameters` into each name's values, in the order they were listed
/// (a name listed several times, like `stop`, has several values).
pub(crate) fn parse_parameters(
    text: &str,
) -> Result<BTreeMap<String, Vec<Value>>, ParametersError> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let error = || ParametersError {
            line: i + 1,
            text: line.to_owned(),
        };
        let (name, value) = line.split_once(' ').ok_or_else(error)?;
        let value = parse_value(value.trim_start()).ok_or_else(error)?;
        if name.is_empty() {
            return Err(error());
        }
        out.entry(name.to_owned()).or_default().push(value);
    }
    Ok(out)
}

/// Go's `%#v` of a JSON-decoded value back to JSON: a quoted string, `true`/`false`, or a
/// number (an integer when it has no fraction, as `65536` was declared).
fn parse_value(text: &str) -> Option<Value> {
    if text.starts_with('"') {
        let (s, used) = unquote_prefix(text)?;
        return text[used..].trim().is_empty().then_some(Value::String(s));
    }
    match text.trim_end() {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    let f: f64 = text.trim_end().parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "only a float equal to its integer is shown as an integer"
    )]
    let int = (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64);
    Some(match int {
        Some(n) => Value::Number(n.into()),
        None => Value::Number(Number::from_f64(f)?),
    })
}

/// The attention geometry that sizes a model's KV cache (docs/ollama.md §14.2: `BlockCount`,
/// `HeadCountMax`, `HeadCountKVMax`, `EmbeddingHeadCountK`/`V`, `ContextLength`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvGeometry {
    /// `general.architecture`'s flash-attention class: `true` for the architectures Ollama
    /// turns flash attention on for by default (`GGML.FlashAttention`: gemma3, gptoss/gpt-oss,
    /// qwen3, qwen3moe).
    pub flash_attention_default: bool,
    /// Whether the model can use flash attention at all (`GGML.SupportsFlashAttention`: not an
    /// embedding model (`<arch>.pooling_type`), not gemma2, equal non-zero key/value sizes).
    pub supports_flash_attention: bool,
    /// `<arch>.block_count`: layers.
    pub block_count: u64,
    /// `<arch>.attention.head_count` (the largest, when per layer).
    pub head_count: u64,
    /// `<arch>.attention.head_count_kv`, else `head_count` (the largest, when per layer).
    pub head_count_kv: u64,
    /// `<arch>.attention.key_length`, else `embedding_length / head_count`.
    pub key_length: u64,
    /// `<arch>.attention.value_length`, else `embedding_length / head_count`.
    pub value_length: u64,
    /// `<arch>.context_length`: the training context, when known.
    pub context_length: Option<u64>,
}

/// Reads the geometry from `model_info`; `None` without an architecture, layers or heads (an
/// embedding or recurrent model without attention keys, or a server that sent no `model_info`).
pub(crate) fn kv_geometry(model_info: &BTreeMap<String, Value>) -> Option<KvGeometry> {
    let arch = model_info.get("general.architecture")?.as_str()?;
    let key = |k: &str| model_info.get(&format!("{arch}.{k}")).and_then(max_uint);
    let block_count = key("block_count").filter(|&n| n > 0)?;
    let head_count = key("attention.head_count").filter(|&n| n > 0)?;
    let head_count_kv = key("attention.head_count_kv")
        .filter(|&n| n > 0)
        .unwrap_or(head_count);
    let derived = key("embedding_length").map_or(0, |e| e / head_count);
    let key_length = key("attention.key_length").unwrap_or(derived);
    let value_length = key("attention.value_length").unwrap_or(derived);
    if key_length == 0 || value_length == 0 {
        return None;
    }
    let embedding = model_info.contains_key(&format!("{arch}.pooling_type"));
    Some(KvGeometry {
        flash_attention_default: matches!(
            arch,
            "gemma3" | "gptoss" | "gpt-oss" | "qwen3" | "qwen3moe"
        ),
        supports_flash_attention: !embedding && arch != "gemma2" && key_length == value_length,
        block_count,
        head_count,
        head_count_kv,
        key_length,
        value_length,
        context_length: key("context_length").filter(|&n| n > 0),
    })
}

/// A non-negative integer, or the largest of an array of them (per-layer head counts).
fn max_uint(v: &Value) -> Option<u64> {
    match v {
        Value::Array(items) => items.iter().filter_map(Value::as_u64).max(),
        other => other.as_u64(),
    }
}

/// llama3.2's `model_info` attention keys (the simulated catalogue's, from the model's published
/// GGUF metadata), for tests.
#[cfg(test)]
pub(crate) fn llama32_info() -> BTreeMap<String, Value> {
    serde_json::from_value(serde_json::json!({
        "general.architecture": "llama",
        "llama.block_count": 28,
        "llama.attention.head_count": 24,
        "llama.attention.head_count_kv": 8,
        "llama.attention.key_length": 128,
        "llama.attention.value_length": 128,
        "llama.embedding_length": 3072,
        "llama.context_length": 131_072
    }))
    .unwrap_or_default()
}

/// qwen2.5-coder:32b's `model_info` attention keys (no `key_length`: the head size is
/// `embedding_length / head_count`), for tests.
#[cfg(test)]
pub(crate) fn qwen_coder_info() -> BTreeMap<String, Value> {
    serde_json::from_value(serde_json::json!({
        "general.architecture": "qwen2",
        "qwen2.block_count": 64,
        "qwen2.attention.head_count": 40,
        "qwen2.attention.head_count_kv": 8,
        "qwen2.embedding_length": 5120,
        "qwen2.context_length": 32768
    }))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::{KvGeometry, kv_geometry, llama32_info, parse_parameters, qwen_coder_info};

    #[test]
    fn parameters_lines_read_back_every_go_value() {
        // As `GetModelInfo` prints them: `%-30s %#v`, a repeated `stop`, and a name longer
        // than the padding (one space only).
        let text = [
            format!("{:<30} {}", "num_ctx", "65536"),
            format!("{:<30} {}", "stop", r#""<|start_header_id|>""#),
            format!("{:<30} {}", "stop", r#""<|eot_id|>""#),
            format!("{:<30} {}", "temperature", "0.7"),
            format!("{:<30} {}", "rope_frequency_base", "1e+06"),
            format!("{:<30} {}", "penalize_newline", "false"),
            format!(
                "{:<30} {}",
                "a_parameter_name_longer_than_thirty", "\"say \\\"x\\\"\""
            ),
        ]
        .join("\n");
        let p = parse_parameters(&text).unwrap();
        assert_eq!(p["num_ctx"], vec![json!(65536)]);
        assert_eq!(
            p["stop"],
            vec![json!("<|start_header_id|>"), json!("<|eot_id|>")]
        );
        assert_eq!(p["temperature"], vec![json!(0.7)]);
        assert_eq!(p["rope_frequency_base"], vec![json!(1_000_000)]);
        assert_eq!(p["penalize_newline"], vec![json!(false)]);
        assert_eq!(
            p["a_parameter_name_longer_than_thirty"],
            vec![json!("say \"x\"")]
        );
        assert_eq!(parse_parameters("").unwrap(), BTreeMap::new());
    }

    #[test]
    fn a_line_without_a_value_is_an_error_with_its_number() {
        let err = parse_parameters("num_ctx                        4096\nbroken").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse_parameters("stop \"open").is_err());
        assert!(parse_parameters("num_ctx lots").is_err());
    }

    fn info(v: &Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v.clone()).unwrap()
    }

    #[test]
    fn geometry_with_explicit_key_and_value_lengths() {
        let g = kv_geometry(&llama32_info()).unwrap();
        assert_eq!(
            g,
            KvGeometry {
                flash_attention_default: false,
                supports_flash_attention: true,
                block_count: 28,
                head_count: 24,
                head_count_kv: 8,
                key_length: 128,
                value_length: 128,
                context_length: Some(131_072),
            }
        );
    }

    #[test]
    fn geometry_falls_back_to_embedding_over_heads_and_to_head_count() {
        // qwen2.5-coder:32b has no key_length: 5120 / 40 = 128.
        let g = kv_geometry(&qwen_coder_info()).unwrap();
        assert_eq!(
            (g.key_length, g.value_length, g.head_count_kv),
            (128, 128, 8)
        );
        // No head_count_kv: every head has its own K and V; per-layer arrays: the largest.
        let g = kv_geometry(&info(&json!({
            "general.architecture": "x",
            "x.block_count": 2,
            "x.attention.head_count": [8, 16],
            "x.embedding_length": 2048
        })))
        .unwrap();
        assert_eq!((g.head_count, g.head_count_kv, g.key_length), (16, 16, 128));
        assert_eq!(g.context_length, None);
        assert!(!g.flash_attention_default);
        // gpt-oss: flash attention by default; an embedding model or unequal sizes: never.
        let g = kv_geometry(&info(&json!({
            "general.architecture": "gptoss", "gptoss.block_count": 24,
            "gptoss.attention.head_count": 64, "gptoss.attention.head_count_kv": 8,
            "gptoss.attention.key_length": 64, "gptoss.attention.value_length": 64
        })))
        .unwrap();
        assert!(g.flash_attention_default && g.supports_flash_attention);
        let g = kv_geometry(&info(&json!({
            "general.architecture": "nomic-bert", "nomic-bert.block_count": 12,
            "nomic-bert.attention.head_count": 12, "nomic-bert.embedding_length": 768,
            "nomic-bert.pooling_type": 1
        })))
        .unwrap();
        assert!(!g.supports_flash_attention);
        let g = kv_geometry(&info(&json!({
            "general.architecture": "x", "x.block_count": 2, "x.attention.head_count": 8,
            "x.attention.key_length": 192, "x.attention.value_length": 128
        })))
        .unwrap();
        assert!(!g.supports_flash_attention);
    }

    #[test]
    fn geometry_is_unknown_without_layers_or_heads() {
        assert_eq!(kv_geometry(&BTreeMap::new()), None);
        assert_eq!(
            kv_geometry(&info(
                &json!({"general.architecture": "bert", "bert.block_count": 6})
            )),
            None
        );
        assert_eq!(
            kv_geometry(&info(&json!({
                "general.architecture": "x", "x.block_count": 2, "x.attention.head_count": 8
            }))),
            None
        );
    }
}
