//! The rules of a derived model (`context_length`, `[models.parameters]`, `serve_as` in a
//! `[[models]]` entry): Ollama's parameter names and types, the context range, and the default
//! name. Pure.

use std::collections::BTreeMap;

use toml::Spanned;

use super::Sink;
use super::document::suggest;
use super::error::ConfigError;
use crate::model::desired::ParameterValue;
use crate::ollama::name::ModelName;

/// The smallest context Ollama honours: it raises a smaller `num_ctx` to 4 (docs/ollama.md
/// §12.1).
pub(crate) const MIN_CONTEXT: i64 = 4;
/// The largest: Ollama passes `num_ctx × num_parallel` to llama-server's `-c`, a 32-bit
/// integer there (docs/ollama.md §14.1).
pub(crate) const MAX_CONTEXT: i64 = i32::MAX as i64;

/// The Go type of an `api.Options` field, as Ollama reads it from Modelfile text and from a
/// model's stored parameters (docs/ollama.md §14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `int` or `*int`.
    Integer,
    /// `float32`.
    Float,
    /// `*bool`.
    Bool,
    /// `[]string`.
    Strings,
}

/// Every field of Ollama's `api.Options` and its embedded `Runner`, by JSON name, at the
/// commit docs/ollama.md names (§12.4). `num_ctx` is there so that it gets its own diagnostic.
const PARAMETERS: &[(&str, Kind)] = &[
    ("num_ctx", Kind::Integer),
    ("num_batch", Kind::Integer),
    ("num_gpu", Kind::Integer),
    ("main_gpu", Kind::Integer),
    ("use_mmap", Kind::Bool),
    ("num_thread", Kind::Integer),
    ("draft_num_predict", Kind::Integer),
    ("num_keep", Kind::Integer),
    ("seed", Kind::Integer),
    ("num_predict", Kind::Integer),
    ("top_k", Kind::Integer),
    ("top_p", Kind::Float),
    ("min_p", Kind::Float),
    ("typical_p", Kind::Float),
    ("repeat_last_n", Kind::Integer),
    ("temperature", Kind::Float),
    ("repeat_penalty", Kind::Float),
    ("presence_penalty", Kind::Float),
    ("frequency_penalty", Kind::Float),
    ("stop", Kind::Strings),
];

/// The value of `value` as the `kind` Ollama reads, `None` when it is of another type.
/// A float parameter takes an integer (JSON has one number type); an integer parameter does
/// not take `1.5` (`FormatParams` uses `strconv.ParseInt`).
fn typed(kind: Kind, value: &toml::Value) -> Option<ParameterValue> {
    match (kind, value) {
        (Kind::Integer, toml::Value::Integer(n)) => Some(ParameterValue::Integer(*n)),
        #[expect(
            clippy::cast_precision_loss,
            reason = "Ollama reads the number as a float32; it loses more than this"
        )]
        (Kind::Float, toml::Value::Integer(n)) => Some(ParameterValue::Float(*n as f64)),
        (Kind::Float, toml::Value::Float(x)) if x.is_finite() && x.abs() <= f64::from(f32::MAX) => {
            Some(ParameterValue::Float(*x))
        }
        (Kind::Bool, toml::Value::Boolean(b)) => Some(ParameterValue::Bool(*b)),
        (Kind::Strings, toml::Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(ParameterValue::Strings),
        _ => None,
    }
}

/// What a parameter of `kind` must be, and an example of it.
fn expected(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Integer => ("an integer", "an integer such as `40`"),
        Kind::Float => ("a number", "a number such as `0.7`"),
        Kind::Bool => ("a boolean", "`true` or `false`"),
        Kind::Strings => (
            "an array of strings",
            "an array of strings such as `[\"<|im_end|>\"]`",
        ),
    }
}

/// Checks `[models.parameters]` against Ollama's `Options`; `None` after an error.
pub(super) fn parameters(
    raw: &BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    sink: &mut Sink,
) -> Option<BTreeMap<String, ParameterValue>> {
    let names: Vec<&str> = PARAMETERS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| *name != "num_ctx")
        .collect();
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (key, value) in raw {
        let name = key.get_ref();
        let error = match PARAMETERS.iter().find(|(known, _)| known == name) {
            None => Some(ConfigError::UnknownParameter {
                name: name.clone(),
                help: suggest(name, &names, "parameter"),
                src: sink.src(),
                span: key.span().into(),
            }),
            Some(("num_ctx", _)) => Some(ConfigError::NumCtxParameter {
                src: sink.src(),
                span: key.span().into(),
            }),
            Some((_, kind)) => {
                if let Some(parsed) = typed(*kind, value.get_ref()) {
                    out.insert(name.clone(), parsed);
                    None
                } else {
                    let (expected, example) = expected(*kind);
                    Some(ConfigError::ParameterType {
                        name: name.clone(),
                        expected,
                        example,
                        src: sink.src(),
                        span: value.span().into(),
                    })
                }
            }
        };
        if let Some(error) = error {
            sink.push(error);
            ok = false;
        }
    }
    ok.then_some(out)
}

/// The tag suffix for a context: whole k (`65536` → `64k`), else the number (`40000`).
fn context_suffix(context: u32) -> String {
    if context.is_multiple_of(1024) {
        format!("{}k", context / 1024)
    } else {
        context.to_string()
    }
}

/// The default name of the model derived from `from`: its tag gets the context as a suffix
/// (`qwen3-coder:30b` + 65536 → `qwen3-coder:30b-64k`); `latest` is replaced by it
/// (`llama3.2` + 32768 → `llama3.2:32k`); without a context the suffix is `custom`. Host and
/// namespace stay. `Err` when the tag would be longer than Ollama allows (80 characters).
pub(crate) fn default_name(
    from: &ModelName,
    context: Option<u32>,
) -> Result<ModelName, crate::ollama::name::NameError> {
    let suffix = context.map_or_else(|| "custom".to_owned(), context_suffix);
    let tag = from.tag();
    let tag = if tag.eq_ignore_ascii_case("latest") {
        suffix
    } else {
        format!("{tag}-{suffix}")
    };
    let display = from.display();
    let base = display
        .rsplit_once(':')
        .map_or(display.as_str(), |(base, _)| base);
    ModelName::parse(&format!("{base}:{tag}"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{MAX_CONTEXT, MIN_CONTEXT, default_name};
    use crate::ollama::name::ModelName;

    fn name(text: &str) -> ModelName {
        ModelName::parse(text).unwrap()
    }

    #[test]
    fn the_default_name_carries_the_context_in_the_tag() {
        let cases = [
            ("qwen3-coder:30b", Some(65536), "qwen3-coder:30b-64k"),
            ("qwen3-coder:30b", Some(40000), "qwen3-coder:30b-40000"),
            ("llama3.2", Some(32768), "llama3.2:32k"),
            ("llama3.2:latest", Some(1000), "llama3.2:1000"),
            ("LLAMA3.2:Latest", Some(2048), "LLAMA3.2:2k"),
            ("qwen3-coder:30b", None, "qwen3-coder:30b-custom"),
            ("llama3.2", None, "llama3.2:custom"),
            ("library/gemma3:4b", Some(8192), "gemma3:4b-8k"),
            ("jmorgan/foo:q4", Some(4096), "jmorgan/foo:q4-4k"),
            (
                "hf.co/unsloth/Qwen3-GGUF:Q4_K_M",
                Some(131_072),
                "hf.co/unsloth/Qwen3-GGUF:Q4_K_M-128k",
            ),
        ];
        for (from, context, expected) in cases {
            assert_eq!(
                default_name(&name(from), context).unwrap().display(),
                expected,
                "{from} + {context:?}"
            );
        }
    }

    #[test]
    fn a_tag_too_long_for_a_suffix_has_no_default_name() {
        let from = name(&format!("m:{}", "t".repeat(80)));
        assert!(default_name(&from, Some(65536)).is_err());
    }

    proptest! {
        /// The default name is a valid model name, parses back to itself, and is never the
        /// model it is derived from.
        #[test]
        fn the_default_name_is_a_valid_name_that_round_trips(
            model in "[a-z0-9_][a-z0-9_.-]{0,20}",
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            namespace in proptest::option::of("[a-z0-9_][a-z0-9_-]{0,10}"),
            context in proptest::option::of(MIN_CONTEXT..=MAX_CONTEXT),
        ) {
            let mut text = String::new();
            if let Some(namespace) = &namespace {
                text.push_str(namespace);
                text.push('/');
            }
            text.push_str(&model);
            if let Some(tag) = &tag {
                text.push(':');
                text.push_str(tag);
            }
            let from = name(&text);
            let context = context.map(|c| u32::try_from(c).unwrap());
            let derived = default_name(&from, context).unwrap();
            let again = ModelName::parse(&derived.display()).unwrap();
            prop_assert_eq!(again.key(), derived.key());
            prop_assert_eq!(again.display(), derived.display());
            prop_assert_ne!(derived.key(), from.key());
            prop_assert_eq!(derived.namespace(), from.namespace());
        }
    }
}
