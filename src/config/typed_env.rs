//! The typed `[ollama]` keys and the environment variables they set: one table that validation
//! reads (which key sets which variable, the bounds of a number, the cache types, the forms of a
//! duration) and that adoption reads backwards (a variable's value, as a plist holds it, into
//! its key of a [`RawOllama`]).
//!
//! Pure. What a variable's text means to Ollama (`1` and `true` switch a flag on; `OLLAMA_DEBUG`
//! is a level) is `ollama::env`'s; which key holds it, and as which TOML type, is this table's.

use std::fmt;

use toml::Spanned;

use super::duration::parse_env_duration;
use super::raw::{RawDuration, RawOllama, unspanned};
use super::validate::is_absolute;
use crate::model::desired::KvCacheType;
use crate::ollama::env;

/// The field of [`RawOllama`] that holds a key.
type Field<T> = fn(&mut RawOllama) -> &mut Option<T>;

/// What a typed key holds, and where in [`RawOllama`].
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A Go duration string or an integer number of seconds ([`RawDuration`]).
    Duration(Field<Spanned<RawDuration>>),
    /// A whole number of at least `min`.
    Count {
        /// The smallest value Ollama takes.
        min: u32,
        /// The field.
        field: Field<Spanned<i64>>,
    },
    /// A boolean variable, as Ollama reads it (`ollama::env::parse_bool`).
    Flag(Field<bool>),
    /// `OLLAMA_DEBUG`, a log level, of which `true` is DEBUG and `false` INFO.
    Level(Field<bool>),
    /// One of the [`KvCacheType`]s, by its name.
    KvCache(Field<Spanned<String>>),
    /// A comma-separated list, one TOML string per item.
    List(Field<Vec<Spanned<String>>>),
    /// An absolute path.
    Path(Field<Spanned<String>>),
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duration(_) => f.write_str("Duration"),
            Self::Count { min, .. } => write!(f, "Count {{ min: {min} }}"),
            Self::Flag(_) => f.write_str("Flag"),
            Self::Level(_) => f.write_str("Level"),
            Self::KvCache(_) => f.write_str("KvCache"),
            Self::List(_) => f.write_str("List"),
            Self::Path(_) => f.write_str("Path"),
        }
    }
}

/// One typed `[ollama]` key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypedVar {
    /// The variable it sets (`OLLAMA_KEEP_ALIVE`).
    pub var: &'static str,
    /// The key in `[ollama]` (`keep_alive`).
    pub key: &'static str,
    /// What it holds.
    pub kind: Kind,
}

impl TypedVar {
    /// The key as diagnostics name it (`ollama.keep_alive`).
    pub(crate) fn dotted(&self) -> String {
        format!("ollama.{}", self.key)
    }

    /// The smallest number a [`Kind::Count`] takes (0 for the other kinds).
    pub(crate) fn min(&self) -> i64 {
        match self.kind {
            Kind::Count { min, .. } => i64::from(min),
            _ => 0,
        }
    }
}

/// `keep_alive`.
pub(crate) const KEEP_ALIVE: TypedVar = TypedVar {
    var: "OLLAMA_KEEP_ALIVE",
    key: "keep_alive",
    kind: Kind::Duration(|o| &mut o.keep_alive),
};
/// `context_length`.
pub(crate) const CONTEXT_LENGTH: TypedVar = TypedVar {
    var: "OLLAMA_CONTEXT_LENGTH",
    key: "context_length",
    kind: Kind::Count {
        min: 1,
        field: |o| &mut o.context_length,
    },
};
/// `flash_attention`.
pub(crate) const FLASH_ATTENTION: TypedVar = TypedVar {
    var: "OLLAMA_FLASH_ATTENTION",
    key: "flash_attention",
    kind: Kind::Flag(|o| &mut o.flash_attention),
};
/// `kv_cache_type`.
pub(crate) const KV_CACHE_TYPE: TypedVar = TypedVar {
    var: "OLLAMA_KV_CACHE_TYPE",
    key: "kv_cache_type",
    kind: Kind::KvCache(|o| &mut o.kv_cache_type),
};
/// `num_parallel`.
pub(crate) const NUM_PARALLEL: TypedVar = TypedVar {
    var: "OLLAMA_NUM_PARALLEL",
    key: "num_parallel",
    kind: Kind::Count {
        min: 1,
        field: |o| &mut o.num_parallel,
    },
};
/// `max_loaded_models`.
pub(crate) const MAX_LOADED_MODELS: TypedVar = TypedVar {
    var: "OLLAMA_MAX_LOADED_MODELS",
    key: "max_loaded_models",
    kind: Kind::Count {
        min: 0,
        field: |o| &mut o.max_loaded_models,
    },
};
/// `max_queue`.
pub(crate) const MAX_QUEUE: TypedVar = TypedVar {
    var: "OLLAMA_MAX_QUEUE",
    key: "max_queue",
    kind: Kind::Count {
        min: 1,
        field: |o| &mut o.max_queue,
    },
};
/// `debug`.
pub(crate) const DEBUG: TypedVar = TypedVar {
    var: "OLLAMA_DEBUG",
    key: "debug",
    kind: Kind::Level(|o| &mut o.debug),
};
/// `origins`.
pub(crate) const ORIGINS: TypedVar = TypedVar {
    var: "OLLAMA_ORIGINS",
    key: "origins",
    kind: Kind::List(|o| &mut o.origins),
};
/// `models_dir`.
pub(crate) const MODELS_DIR: TypedVar = TypedVar {
    var: "OLLAMA_MODELS",
    key: "models_dir",
    kind: Kind::Path(|o| &mut o.models_dir),
};
/// `load_timeout`.
pub(crate) const LOAD_TIMEOUT: TypedVar = TypedVar {
    var: "OLLAMA_LOAD_TIMEOUT",
    key: "load_timeout",
    kind: Kind::Duration(|o| &mut o.load_timeout),
};
/// `no_prune`.
pub(crate) const NO_PRUNE: TypedVar = TypedVar {
    var: "OLLAMA_NOPRUNE",
    key: "no_prune",
    kind: Kind::Flag(|o| &mut o.no_prune),
};

/// Every typed key, in the order of their variables.
pub(crate) const TYPED: [TypedVar; 12] = [
    CONTEXT_LENGTH,
    DEBUG,
    FLASH_ATTENTION,
    KEEP_ALIVE,
    KV_CACHE_TYPE,
    LOAD_TIMEOUT,
    MAX_LOADED_MODELS,
    MAX_QUEUE,
    MODELS_DIR,
    NO_PRUNE,
    NUM_PARALLEL,
    ORIGINS,
];

/// The typed key that sets `var`, if one does.
pub(crate) fn typed_var(var: &str) -> Option<&'static TypedVar> {
    TYPED.iter().find(|typed| typed.var == var)
}

/// `ollama.kv_cache_type`'s value, by its name (`f16`, `q8_0`, `q4_0`).
pub(crate) fn kv_cache_type(name: &str) -> Option<KvCacheType> {
    [KvCacheType::F16, KvCacheType::Q8_0, KvCacheType::Q4_0]
        .into_iter()
        .find(|kind| kind.as_str() == name)
}

/// What became of a variable's value in `[ollama]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FromEnv {
    /// Its key holds it, and writes back the same text.
    Exact,
    /// Its key holds it, but writes this other (equivalent) text.
    Normalized(String),
    /// Left out, for this reason.
    Refused(String),
}

impl TypedVar {
    /// Puts `value` (the variable's text, as a plist holds it) into this key of `ollama`, when
    /// `server.toml` can say what Ollama makes of it.
    pub(crate) fn set_from_env(&self, value: &str, ollama: &mut RawOllama) -> FromEnv {
        let text = || Some(unspanned(value.to_owned()));
        match self.kind {
            Kind::Duration(field) => match parse_env_duration(value) {
                Ok(_) => {
                    *field(ollama) = Some(unspanned(RawDuration::Text(value.to_owned())));
                    FromEnv::Exact
                }
                Err(e) => {
                    FromEnv::Refused(format!("`{value}` is not a duration Ollama reads ({e})"))
                }
            },
            Kind::Count { min, field } => match value.parse::<u32>() {
                Ok(n) if n >= min => {
                    *field(ollama) = Some(unspanned(i64::from(n)));
                    if n.to_string() == value {
                        FromEnv::Exact
                    } else {
                        FromEnv::Normalized(n.to_string())
                    }
                }
                _ => FromEnv::Refused(format!("`{value}` is not a whole number of at least {min}")),
            },
            // What Ollama makes of the value (`true` and `1` are the same to it, and to `plan`).
            Kind::Flag(field) => match env::parse_bool(value) {
                Some(on) => {
                    *field(ollama) = Some(on);
                    FromEnv::Exact
                }
                None => FromEnv::Refused("it is empty, so Ollama's default applies".to_owned()),
            },
            Kind::Level(field) => match env::debug_level(value) {
                level @ (-4 | 0) => {
                    *field(ollama) = Some(level == -4);
                    FromEnv::Exact
                }
                level => FromEnv::Refused(format!(
                    "`{value}` is the log level {level}, which `debug = true` (DEBUG, -4) cannot express"
                )),
            },
            Kind::KvCache(field) if kv_cache_type(value).is_some() => {
                *field(ollama) = text();
                FromEnv::Exact
            }
            Kind::KvCache(_) => FromEnv::Refused(format!("`{value}` is not f16, q8_0 or q4_0")),
            // The inverse of the comma join that writes the variable.
            Kind::List(field) => {
                *field(ollama) = Some(
                    value
                        .split(',')
                        .map(|item| unspanned(item.to_owned()))
                        .collect(),
                );
                FromEnv::Exact
            }
            Kind::Path(field) if is_absolute(value) => {
                *field(ollama) = text();
                FromEnv::Exact
            }
            Kind::Path(_) => FromEnv::Refused(format!("`{value}` is not an absolute path")),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{FromEnv, RawOllama, TYPED, typed_var};
    use crate::config::raw::{RawConfig, RawListen, unspanned};
    use crate::config::write::{Comments, to_toml};

    /// The `[ollama]` line `var=value` becomes, or why it stays out.
    fn adopted(var: &str, value: &str) -> Result<String, String> {
        let mut ollama = RawOllama::default();
        let typed = typed_var(var).ok_or("not typed")?;
        match typed.set_from_env(value, &mut ollama) {
            FromEnv::Refused(reason) => Err(reason),
            FromEnv::Exact | FromEnv::Normalized(_) => {
                Ok(toml::to_string(&ollama).unwrap().trim_end().to_owned())
            }
        }
    }

    #[test]
    fn every_key_is_the_field_it_fills_and_names_its_own_variable() {
        let samples = [
            ("OLLAMA_CONTEXT_LENGTH", "8192"),
            ("OLLAMA_DEBUG", "1"),
            ("OLLAMA_FLASH_ATTENTION", "1"),
            ("OLLAMA_KEEP_ALIVE", "24h"),
            ("OLLAMA_KV_CACHE_TYPE", "q8_0"),
            ("OLLAMA_LOAD_TIMEOUT", "10m"),
            ("OLLAMA_MAX_LOADED_MODELS", "2"),
            ("OLLAMA_MAX_QUEUE", "64"),
            ("OLLAMA_MODELS", "/Volumes/models"),
            ("OLLAMA_NOPRUNE", "true"),
            ("OLLAMA_NUM_PARALLEL", "4"),
            ("OLLAMA_ORIGINS", "app://x"),
        ];
        assert_eq!(samples.len(), TYPED.len());
        for ((var, value), typed) in samples.into_iter().zip(TYPED) {
            assert_eq!(typed.var, var);
            let line = adopted(var, value).unwrap();
            // The accessor fills the field that serde names with the key.
            assert!(line.starts_with(&format!("{} = ", typed.key)), "{line}");
            assert!(!line.contains('\n'), "{var}: one key only: {line}");
        }
    }

    #[test]
    fn values_round_trip_or_say_why_not() {
        assert_eq!(
            adopted("OLLAMA_KEEP_ALIVE", "24h").unwrap(),
            "keep_alive = \"24h\""
        );
        assert!(adopted("OLLAMA_KEEP_ALIVE", "1d").is_err());
        assert_eq!(
            adopted("OLLAMA_FLASH_ATTENTION", "1").unwrap(),
            "flash_attention = true"
        );
        assert_eq!(
            adopted("OLLAMA_FLASH_ATTENTION", "true").unwrap(),
            "flash_attention = true"
        );
        assert_eq!(adopted("OLLAMA_NOPRUNE", "F").unwrap(), "no_prune = false");
        assert!(adopted("OLLAMA_FLASH_ATTENTION", " ").is_err());
        assert!(adopted("OLLAMA_DEBUG", "2").is_err());
        assert_eq!(adopted("OLLAMA_DEBUG", "yes").unwrap(), "debug = false");
        assert!(adopted("OLLAMA_NUM_PARALLEL", "0").is_err());
        assert_eq!(
            adopted("OLLAMA_MAX_LOADED_MODELS", "0").unwrap(),
            "max_loaded_models = 0"
        );
        assert_eq!(
            adopted("OLLAMA_ORIGINS", "a,b").unwrap(),
            "origins = [\"a\", \"b\"]"
        );
        assert!(adopted("OLLAMA_KV_CACHE_TYPE", "q5_1").is_err());
        assert!(adopted("OLLAMA_MODELS", "models").is_err());
        let mut ollama = RawOllama::default();
        assert_eq!(
            typed_var("OLLAMA_NUM_PARALLEL")
                .unwrap()
                .set_from_env("04", &mut ollama),
            FromEnv::Normalized("4".to_owned())
        );
    }

    proptest! {
        /// A value taken over validates, and the plist ssollama then writes means to Ollama
        /// what the adopted one meant (or is the normalized text the note names).
        #[test]
        fn an_adopted_value_means_what_the_plist_said(
            index in 0..TYPED.len(),
            value in "(1|0|t|F|true|false|yes|-1|0|24h|1h30m|5m|1d|10|08|f16|q8_0|q4_0|/a/b|rel|a,b)|[-0-9a-z_.:/,]{0,8}",
        ) {
            let typed = TYPED[index];
            let mut ollama = RawOllama::default();
            let outcome = typed.set_from_env(&value, &mut ollama);
            if let FromEnv::Refused(_) = outcome {
                prop_assert_eq!(toml::to_string(&ollama).unwrap(), "");
                return Ok(());
            }
            let raw = RawConfig {
                listen: Some(RawListen { host: unspanned("127.0.0.1".to_owned()), port: None }),
                ollama: Some(ollama),
                ..RawConfig::default()
            };
            let text = to_toml(&raw, &Comments::new()).unwrap();
            let desired = crate::config::parse("server.toml", &text)
                .map_err(|e| TestCaseError::fail(crate::config::render_plain(&e, 100)))?
                .desired;
            let environment = desired.ollama.environment();
            let written = &environment[typed.var];
            match outcome {
                FromEnv::Normalized(normalized) => prop_assert_eq!(written, &normalized),
                _ => prop_assert!(
                    crate::ollama::env::same_meaning(typed.var, &value, written),
                    "{}={} is written as {}", typed.var, value, written
                ),
            }
        }
    }
}
