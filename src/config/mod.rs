//! `server.toml`: parsing, validation with span-labelled diagnostics, JSON Schema, starter file.
//!
//! Owns the file format and its rules; the entry point is [`parse`]. Pure: it takes the text
//! (the CLI reads the file and handles a missing one) and never touches the machine.
//! Pipeline: text → [`raw::RawConfig`] (`document`, structural problems) → [`Desired`]
//! (`validate`, every other rule). All problems of a file are reported together.

mod derived;
mod document;
pub(crate) mod duration;
pub(crate) mod error;
pub(crate) mod raw;
pub(crate) mod typed_env;
pub(crate) mod validate;
pub(crate) mod write;

use std::sync::Arc;

use miette::NamedSource;

pub(crate) use error::{ConfigError, ConfigErrors, ConfigWarning, render_plain};

use crate::model::Desired;
use error::Source;

/// A valid `server.toml`: what it declares, and what deserves a warning.
#[derive(Debug)]
pub struct Loaded {
    /// The declared state.
    pub desired: Desired,
    /// Legal but risky settings, in file order.
    pub warnings: Vec<ConfigWarning>,
}

/// The commented starter `server.toml` that `ssollama init` writes. It parses without errors
/// or warnings.
pub const STARTER: &str = include_str!("starter.toml");

/// Parses and validates the text of `server.toml`; `path` is only the name shown in
/// diagnostics.
///
/// # Errors
/// Every problem of the file at once (a TOML syntax error alone, since parsing stops there),
/// each pointing at its line and column.
pub fn parse(path: &str, text: &str) -> Result<Loaded, ConfigErrors> {
    let mut sink = Sink::new(NamedSource::new(path, Arc::<str>::from(text)));
    let desired =
        document::read(text, &mut sink).and_then(|raw| validate::validate(&raw, &mut sink));
    let mut warnings = sink.warnings;
    warnings.sort_by_key(|w| {
        miette::Diagnostic::labels(w)
            .and_then(|mut labels| labels.next())
            .map_or(0, |label| label.offset())
    });
    match desired {
        Some(desired) if sink.errors.is_empty() => Ok(Loaded { desired, warnings }),
        _ => Err(ConfigErrors::new(path, sink.errors, warnings)),
    }
}

/// The JSON Schema of `server.toml` (pretty JSON, trailing newline), as committed in
/// `schema/server.schema.json`.
///
/// TOML has no null, so the `null` that schemars allows for every `Option` is removed.
pub fn schema_json() -> String {
    let mut schema = schemars::schema_for!(raw::RawConfig).to_value();
    drop_null(&mut schema);
    #[expect(
        clippy::expect_used,
        reason = "a schema is a JSON value with string keys; serializing it cannot fail"
    )]
    let mut text = serde_json::to_string_pretty(&schema).expect("a JSON Schema serializes");
    text.push('\n');
    text
}

/// Removes `null` from `type` lists, `enum` lists and `anyOf` alternatives, recursively.
fn drop_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [single] = types.as_slice() {
                    let single = single.clone();
                    map.insert("type".to_owned(), single);
                }
            }
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
                alternatives.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                if let [Value::Object(single)] = alternatives.as_slice() {
                    let single = single.clone();
                    map.remove("anyOf");
                    for (key, inner) in single {
                        map.entry(key).or_insert(inner);
                    }
                }
            }
            map.values_mut().for_each(drop_null);
        }
        _ => {}
    }
}

/// Collects the diagnostics of one file.
#[derive(Debug)]
pub(crate) struct Sink {
    src: Source,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
}

impl Sink {
    fn new(src: Source) -> Self {
        Self {
            src,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The file, for a diagnostic's `#[source_code]`.
    fn src(&self) -> Source {
        self.src.clone()
    }

    fn push(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    fn warn(&mut self, warning: ConfigWarning) {
        self.warnings.push(warning);
    }

    fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
