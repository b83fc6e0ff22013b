//! Ollama model names, parsed and compared exactly as Ollama does.
//!
//! Pure. See docs/ollama.md §2: `llama3`, `llama3:latest`, `LLAMA3` and
//! `registry.ollama.ai/library/llama3:latest` are one model; `ollama.com/library/llama3` is not.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

const DEFAULT_HOST: &str = "registry.ollama.ai";
const DEFAULT_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";

/// A fully qualified model name. Equality, ordering and hashing use [`ModelName::key`], the
/// case-insensitive form, so a set of names holds each model once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModelName {
    /// As written by the user (trimmed).
    raw: String,
    /// [`ModelName::key`], computed once: names are compared and sorted a lot (200 models in a
    /// plan), and comparing must not allocate.
    key: String,
    host: String,
    namespace: String,
    model: String,
    tag: String,
}

/// Which part of a model name breaks Ollama's rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("the model name is empty")]
    Empty,
    /// A `:`, `/` or `://` separator has nothing on one side (`llama3:`, `/llama3`, `a//b`).
    #[error("the model name has an empty {part} (nothing on one side of a `:` or `/`)")]
    Missing {
        /// `host`, `namespace`, `model` or `tag`.
        part: &'static str,
    },
    /// A part has a character, a first character or a length Ollama refuses.
    #[error("the {part} `{value}` is invalid: {rule}")]
    BadPart {
        /// `host`, `namespace`, `model` or `tag`.
        part: &'static str,
        /// The offending part.
        value: String,
        /// Ollama's rule for that part.
        rule: &'static str,
    },
}

/// Cuts at the last `sep`; an empty side is an error (Ollama's `cutPromised`).
fn cut_last<'a>(
    s: &'a str,
    sep: char,
    left: &'static str,
    right: &'static str,
) -> Result<(&'a str, &'a str), NameError> {
    match s.rfind(sep) {
        None => Ok(("", s)),
        Some(i) => {
            let (l, r) = (&s[..i], &s[i + 1..]);
            if l.is_empty() {
                return Err(NameError::Missing { part: left });
            }
            if r.is_empty() {
                return Err(NameError::Missing { part: right });
            }
            Ok((l, r))
        }
    }
}

fn check_part(
    part: &'static str,
    value: &str,
    extra: &[char],
    max: usize,
    rule: &'static str,
) -> Result<(), NameError> {
    let bad = || NameError::BadPart {
        part,
        value: value.to_owned(),
        rule,
    };
    let mut chars = value.chars();
    let first = chars.next().ok_or(NameError::Missing { part })?;
    if !(first.is_ascii_alphanumeric() || first == '_') || value.len() > max {
        return Err(bad());
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || extra.contains(&c))) {
        return Err(bad());
    }
    Ok(())
}

impl ModelName {
    /// Parses a name the way `ollama pull` does, filling Ollama's defaults.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let raw = text.trim();
        if raw.is_empty() {
            return Err(NameError::Empty);
        }
        // Tag: the last `:` right of the last `/`.
        let (rest, tag) = match (raw.rfind(':'), raw.rfind('/')) {
            (Some(colon), slash) if slash.is_none_or(|s| colon > s) => {
                let (l, r) = (&raw[..colon], &raw[colon + 1..]);
                if l.is_empty() {
                    return Err(NameError::Missing { part: "model" });
                }
                if r.is_empty() {
                    return Err(NameError::Missing { part: "tag" });
                }
                (l, r)
            }
            _ => (raw, DEFAULT_TAG),
        };
        let (rest, model) = cut_last(rest, '/', "namespace", "model")?;
        let (host, namespace) = if rest.is_empty() {
            (DEFAULT_HOST, DEFAULT_NAMESPACE)
        } else {
            let (host, namespace) = cut_last(rest, '/', "host", "namespace")?;
            let host = match host.split_once("://") {
                Some((_scheme, host)) => host,
                None => host,
            };
            (if host.is_empty() { DEFAULT_HOST } else { host }, namespace)
        };
        check_part(
            "host",
            host,
            &['.', ':'],
            350,
            "letters, digits, `_`, `-`, `.`, `:`; starts with a letter, digit or `_`; at most 350 characters",
        )?;
        check_part(
            "namespace",
            namespace,
            &[],
            80,
            "letters, digits, `_`, `-`; starts with a letter, digit or `_`; at most 80 characters",
        )?;
        check_part(
            "model",
            model,
            &['.'],
            80,
            "letters, digits, `_`, `-`, `.`; starts with a letter, digit or `_`; at most 80 characters",
        )?;
        check_part(
            "tag",
            tag,
            &['.'],
            80,
            "letters, digits, `_`, `-`, `.`; starts with a letter, digit or `_`; at most 80 characters",
        )?;
        Ok(Self {
            raw: raw.to_owned(),
            key: format!("{host}/{namespace}/{model}:{tag}").to_ascii_lowercase(),
            host: host.to_owned(),
            namespace: namespace.to_owned(),
            model: model.to_owned(),
            tag: tag.to_owned(),
        })
    }

    /// The name as the user wrote it.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The case-insensitive identity: `host/namespace/model:tag`, lower-cased.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Ollama's `DisplayShortest()`: what `/api/tags`, `/api/ps` and `ollama list` show.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if !self.host.eq_ignore_ascii_case(DEFAULT_HOST) {
            out.push_str(&self.host);
            out.push('/');
            out.push_str(&self.namespace);
            out.push('/');
        } else if !self.namespace.eq_ignore_ascii_case(DEFAULT_NAMESPACE) {
            out.push_str(&self.namespace);
            out.push('/');
        }
        out.push_str(&self.model);
        out.push(':');
        out.push_str(&self.tag);
        out
    }

    /// The namespace (`library` for official models); `/v1/models` reports it as `owned_by`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The tag (`latest` when none was written).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// A cloud stub (`…:cloud`, `…-cloud`): listed by Ollama but not stored locally.
    pub fn is_cloud(&self) -> bool {
        let tag = self.tag.to_ascii_lowercase();
        tag == "cloud" || tag.ends_with("-cloud")
    }
}

impl PartialEq for ModelName {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for ModelName {}

impl Hash for ModelName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for ModelName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ModelName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl TryFrom<String> for ModelName {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ModelName> for String {
    fn from(value: ModelName) -> Self {
        value.raw
    }
}

impl std::str::FromStr for ModelName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn display(s: &str) -> String {
        ModelName::parse(s).unwrap().display()
    }

    #[test]
    fn defaults_are_filled_as_ollama_does() {
        assert_eq!(display("llama3"), "llama3:latest");
        assert_eq!(display("qwen2.5-coder:32b"), "qwen2.5-coder:32b");
        assert_eq!(display("namespace/model"), "namespace/model:latest");
        assert_eq!(
            display("registry.ollama.ai/library/model:latest"),
            "model:latest"
        );
        assert_eq!(display("host/library/model:tag"), "host/library/model:tag");
        assert_eq!(
            display("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"),
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
        );
        assert_eq!(
            display("https://host:port/namespace/model:tag"),
            "host:port/namespace/model:tag"
        );
    }

    #[test]
    fn same_model_after_normalization_and_case_folding() {
        let a = ModelName::parse("llama3").unwrap();
        for other in [
            "llama3:latest",
            "LLAMA3",
            "registry.ollama.ai/library/llama3:latest",
        ] {
            assert_eq!(a, ModelName::parse(other).unwrap(), "{other}");
        }
        assert_ne!(a, ModelName::parse("ollama.com/library/llama3").unwrap());
    }

    #[test]
    fn host_port_without_tag_is_not_a_tag() {
        let name = ModelName::parse("host:5000/ns/model").unwrap();
        assert_eq!(name.tag(), "latest");
        assert_eq!(name.display(), "host:5000/ns/model:latest");
    }

    #[test]
    fn invalid_names_from_ollama_tests_are_refused() {
        for bad in [
            "",
            "  ",
            "mm:",
            "//mm",
            "@t",
            "m@d",
            "llama3:",
            "/llama3",
            "a//b",
            "host/name:space/model:tag",
            "-hh/nn/mm:tt",
            "hf.co/user.name/repo",
        ] {
            assert!(ModelName::parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn cloud_stubs_are_recognised() {
        assert!(ModelName::parse("gpt-oss:cloud").unwrap().is_cloud());
        assert!(ModelName::parse("gpt-oss:20b-cloud").unwrap().is_cloud());
        assert!(!ModelName::parse("gpt-oss:20b").unwrap().is_cloud());
    }
}
