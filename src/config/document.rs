//! TOML text → [`RawConfig`], collecting every structural problem instead of stopping at the
//! first one.
//!
//! Pure. The document is parsed once into toml's spanned tree (`DeTable`); unknown keys are
//! reported (all of them) and removed; then each table is deserialized on its own, so a wrong
//! type in `[ollama]` does not hide a bad address in `[network]`. A TOML syntax error is one
//! diagnostic: the parser stops there.

use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::Sink;
use super::error::ConfigError;
use super::raw::{
    RawConfig, RawListen, RawLogs, RawModel, RawModelPolicy, RawNetwork, RawOllama, RawService,
};

/// Parses `text` into a [`RawConfig`]; `None` after a syntax error. Every other problem goes to
/// `sink`, and the table it was found in is left out (`None`) of the result.
pub(super) fn read(text: &str, sink: &mut Sink) -> Option<RawConfig> {
    let root = match DeTable::parse(text) {
        Ok(root) => root.into_inner(),
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            sink.push(ConfigError::Syntax {
                message: err.message().trim_end().to_owned(),
                src: sink.src(),
                span: span.into(),
            });
            return None;
        }
    };
    let mut raw = RawConfig::default();
    let mut has_listen = false;
    for (key, value) in root {
        let name = key.get_ref().as_ref();
        match name {
            "service" => raw.service = section::<RawService>(value, name, sink),
            "listen" => {
                has_listen = true;
                raw.listen = section::<RawListen>(value, name, sink);
            }
            "network" => raw.network = section::<RawNetwork>(value, name, sink),
            "logs" => raw.logs = section::<RawLogs>(value, name, sink),
            "ollama" => raw.ollama = section::<RawOllama>(value, name, sink),
            "model_policy" => raw.model_policy = section::<RawModelPolicy>(value, name, sink),
            "models" => raw.models = models(value, sink),
            _ => {
                let help = suggest(name, fields_of::<RawConfig>(), "table");
                let error = if value.get_ref().is_table() {
                    ConfigError::UnknownTable {
                        name: name.to_owned(),
                        help,
                        src: sink.src(),
                        span: key.span().into(),
                    }
                } else {
                    ConfigError::UnknownKey {
                        key: name.to_owned(),
                        table: "the top level".to_owned(),
                        help,
                        src: sink.src(),
                        span: key.span().into(),
                    }
                };
                sink.push(error);
            }
        }
    }
    if !has_listen {
        sink.push(ConfigError::MissingTable {
            table: "listen",
            help: "add a [listen] table with the address Ollama binds, such as `host = \"127.0.0.1\"`",
            src: sink.src(),
            span: (0..0).into(),
        });
    }
    Some(raw)
}

/// Deserializes one top-level table after removing (and reporting) its unknown keys.
fn section<T: DeserializeOwned>(
    mut value: Spanned<DeValue<'_>>,
    name: &str,
    sink: &mut Sink,
) -> Option<T> {
    let table = format!("[{name}]");
    strip_unknown(&mut value, fields_of::<T>(), &table, sink);
    deserialize(value, name, &table, sink)
}

/// `[[models]]`: each entry on its own, so one bad entry does not hide the others.
fn models(value: Spanned<DeValue<'_>>, sink: &mut Sink) -> Option<Vec<RawModel>> {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        sink.push(ConfigError::WrongType {
            key: "models".to_owned(),
            message: "expected an array of tables ([[models]] entries)".to_owned(),
            src: sink.src(),
            span: span.into(),
        });
        return None;
    };
    // Entries that failed are left out; the valid ones are still checked (names, duplicates).
    let models = items
        .into_iter()
        .filter_map(|mut item| {
            strip_unknown(
                &mut item,
                fields_of::<RawModel>(),
                "a [[models]] entry",
                sink,
            );
            deserialize::<RawModel>(item, "models", "a [[models]] entry", sink)
        })
        .collect();
    Some(models)
}

/// Reports and removes the keys of a table that `known` does not list.
fn strip_unknown(value: &mut Spanned<DeValue<'_>>, known: &[&str], table: &str, sink: &mut Sink) {
    let DeValue::Table(entries) = value.get_mut() else {
        return;
    };
    let unknown: Vec<(String, Range<usize>)> = entries
        .keys()
        .filter(|key| !known.contains(&key.get_ref().as_ref()))
        .map(|key| (key.get_ref().to_string(), key.span()))
        .collect();
    for (key, span) in unknown {
        entries.remove(key.as_str());
        sink.push(ConfigError::UnknownKey {
            help: suggest(&key, known, "key"),
            key,
            table: table.to_owned(),
            src: sink.src(),
            span: span.into(),
        });
    }
}

/// Deserializes a value, turning a serde error into a labelled diagnostic.
fn deserialize<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    name: &str,
    table: &str,
    sink: &mut Sink,
) -> Option<T> {
    let table_span = value.span();
    let mut keys = Vec::new();
    key_spans(value.get_ref(), name, &mut keys);
    match T::deserialize(ValueDeserializer::from(value)) {
        Ok(parsed) => Some(parsed),
        Err(err) => {
            let span = err.span().unwrap_or(table_span);
            // Numbers are read as i64 so that range errors get their own message.
            let mut message = err
                .message()
                .trim_end()
                .replace("expected i64", "expected an integer");
            // serde names the Rust type (`expected struct RawListen`); the user wrote a table.
            if let Some(at) = message.find("expected struct ") {
                message.replace_range(at.., "expected a table");
            }
            let error = if let Some(key) = backticked(&message, "missing field `") {
                ConfigError::MissingKey {
                    key,
                    table: table.to_owned(),
                    src: sink.src(),
                    span: span.into(),
                }
            } else {
                // The innermost key whose value holds the error.
                let key = keys
                    .iter()
                    .filter(|(_, at)| at.start <= span.start && span.end <= at.end)
                    .min_by_key(|(_, at)| at.len())
                    .map_or_else(|| name.to_owned(), |(key, _)| key.clone());
                ConfigError::WrongType {
                    key,
                    message,
                    src: sink.src(),
                    span: span.into(),
                }
            };
            sink.push(error);
            None
        }
    }
}

/// The dotted key and value span of every entry under `value`.
fn key_spans(value: &DeValue<'_>, prefix: &str, out: &mut Vec<(String, Range<usize>)>) {
    if let DeValue::Table(entries) = value {
        for (key, value) in entries {
            let dotted = format!("{prefix}.{}", key.get_ref());
            key_spans(value.get_ref(), &dotted, out);
            out.push((dotted, value.span()));
        }
    }
}

/// The text between `prefix` and the next backtick, when `message` starts with `prefix`.
fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(key, _)| key.to_owned())
}

/// A help line for an unknown name: the closest known one, or the whole list.
pub(super) fn suggest(name: &str, known: &[&str], what: &str) -> String {
    let closest = known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min();
    let list = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match closest {
        Some((_, candidate)) => format!("did you mean `{candidate}`? Known {what}s: {list}"),
        None => format!("remove it; known {what}s: {list}"),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The field names of a `#[derive(Deserialize)]` struct, asked from serde itself, so the
/// unknown-key check can never disagree with the struct.
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The probe always fails once it has seen the field list; that is its purpose.
    let _ = T::deserialize(FieldProbe(&mut fields));
    fields
}

/// A deserializer that records the field list of the struct asked of it, then stops.
struct FieldProbe<'a>(&'a mut &'static [&'static str]);

/// The probe's (expected) failure.
#[derive(Debug)]
struct ProbeDone;

impl fmt::Display for ProbeDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field probe done")
    }
}

impl std::error::Error for ProbeDone {}

impl serde::de::Error for ProbeDone {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Self
    }
}

impl<'de> serde::Deserializer<'de> for FieldProbe<'_> {
    type Error = ProbeDone;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        _visitor: V,
    ) -> Result<V::Value, ProbeDone> {
        Err(ProbeDone)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeDone> {
        *self.0 = fields;
        Err(ProbeDone)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::{edit_distance, fields_of, suggest};
    use crate::config::raw::{RawConfig, RawListen};

    #[test]
    fn field_probe_reads_serde_field_lists() {
        assert_eq!(fields_of::<RawListen>(), ["host", "port"]);
        assert!(fields_of::<RawConfig>().contains(&"model_policy"));
    }

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(edit_distance("prot", "port"), 2);
        assert!(suggest("prot", &["host", "port"], "key").starts_with("did you mean `port`?"));
        assert!(suggest("zzzzzz", &["host", "port"], "key").starts_with("remove it"));
    }
}
