//! [`Address`]: the name of a resource in plans, blockers, the apply journal and `plan --json`.
//!
//! One type with one rendering: [`Display`](fmt::Display) writes it, [`Serialize`] writes the same
//! text, and [`FromStr`] (hence [`Deserialize`], for saved plans) reads it back. A name inside the
//! brackets is quoted and escaped as Rust's `{:?}` does (`network.service["Ethernet"]`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A resource's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Address {
    /// `ollama.program`: the `ollama` executable.
    Program,
    /// `network.service["<name>"]`: a macOS network service.
    NetworkService(String),
    /// `launchd.plist`: the job's property list file.
    Plist,
    /// `launchd.job`: the job as launchd has it loaded.
    Job,
    /// `logs`: the log files and their directories.
    Logs,
    /// `ollama.model["<name>"]`: one declared or installed model.
    Model(String),
    /// `ollama.models`: all declared models together (the joint warm check).
    Models,
    /// `conflict.ollama_app`: Ollama.app running.
    OllamaApp,
    /// `conflict.homebrew_service`: Homebrew's `homebrew.mxcl.ollama` job loaded.
    HomebrewService,
    /// `conflict.port`: another process on the port.
    Port,
    /// `capacity`: the warm models against the memory Metal lets Ollama use.
    Capacity,
    /// `ollama.cloud`: whether Ollama may use cloud models (`~/.ollama/server.json`).
    Cloud,
}

/// The addresses without a name (what a saved plan's text is read back into).
const FIXED: [Address; 10] = [
    Address::Program,
    Address::Plist,
    Address::Job,
    Address::Logs,
    Address::Models,
    Address::OllamaApp,
    Address::HomebrewService,
    Address::Port,
    Address::Capacity,
    Address::Cloud,
];

/// The prefix of a network service's address.
const NETWORK_SERVICE: &str = "network.service";
/// The prefix of a model's address.
const MODEL: &str = "ollama.model";

impl Address {
    /// `network.service["<service>"]`.
    pub(crate) fn network(service: &str) -> Self {
        Self::NetworkService(service.to_owned())
    }

    /// `ollama.model["<name>"]`.
    pub(crate) fn model(name: &str) -> Self {
        Self::Model(name.to_owned())
    }

    /// The text of an address without a name; `None` for a named one.
    fn fixed(&self) -> Option<&'static str> {
        Some(match self {
            Self::Program => "ollama.program",
            Self::Plist => "launchd.plist",
            Self::Job => "launchd.job",
            Self::Logs => "logs",
            Self::Models => "ollama.models",
            Self::OllamaApp => "conflict.ollama_app",
            Self::HomebrewService => "conflict.homebrew_service",
            Self::Port => "conflict.port",
            Self::Capacity => "capacity",
            Self::Cloud => "ollama.cloud",
            Self::NetworkService(_) | Self::Model(_) => return None,
        })
    }

    /// Whether `--take-over` can clear the blocker at this address (Ollama.app, Homebrew's job).
    pub(crate) fn taken_over(&self) -> bool {
        matches!(self, Self::OllamaApp | Self::HomebrewService)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NetworkService(name) => write!(f, "{NETWORK_SERVICE}[{name:?}]"),
            Self::Model(name) => write!(f, "{MODEL}[{name:?}]"),
            fixed => f.write_str(fixed.fixed().unwrap_or_default()),
        }
    }
}

/// A text that is no resource address (a hand-edited saved plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a resource address")]
pub struct UnknownAddress(String);

impl FromStr for Address {
    type Err = UnknownAddress;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(address) = FIXED.iter().find(|a| a.fixed() == Some(text)) {
            return Ok(address.clone());
        }
        let named = |prefix: &str| {
            text.strip_prefix(prefix)?
                .strip_prefix('[')?
                .strip_suffix(']')
                .and_then(unquote)
        };
        named(NETWORK_SERVICE)
            .map(Self::NetworkService)
            .or_else(|| named(MODEL).map(Self::Model))
            .ok_or_else(|| UnknownAddress(text.to_owned()))
    }
}

/// Reads back a string that Rust's `{:?}` wrote: `"…"` with `\\`, `\"`, `\'`, `\n`, `\r`, `\t`,
/// `\0` and `\u{…}` escapes. `None` when it is not such a string.
fn unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                'u' => {
                    let rest = chars.as_str().strip_prefix('{')?;
                    let (hex, after) = rest.split_once('}')?;
                    chars = after.chars();
                    char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                }
                other @ ('\\' | '"' | '\'') => other,
                _ => return None,
            }),
            other => out.push(other),
        }
    }
    Some(out)
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Address, FIXED};

    #[test]
    fn every_address_renders_as_before() {
        let rendered: Vec<String> = [
            Address::Program,
            Address::network("Ethernet"),
            Address::Plist,
            Address::Job,
            Address::Logs,
            Address::model("llama3:latest"),
            Address::Models,
            Address::OllamaApp,
            Address::HomebrewService,
            Address::Port,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            rendered,
            [
                "ollama.program",
                "network.service[\"Ethernet\"]",
                "launchd.plist",
                "launchd.job",
                "logs",
                "ollama.model[\"llama3:latest\"]",
                "ollama.models",
                "conflict.ollama_app",
                "conflict.homebrew_service",
                "conflict.port",
            ]
        );
    }

    #[test]
    fn json_is_the_display_text_and_reads_back() {
        let address = Address::network("Thunderbolt \"2\"");
        let json = serde_json::to_value(&address).unwrap();
        assert_eq!(json, address.to_string());
        assert_eq!(serde_json::from_value::<Address>(json).unwrap(), address);
        for fixed in FIXED {
            assert_eq!(fixed.to_string().parse::<Address>(), Ok(fixed));
        }
    }

    #[test]
    fn text_that_is_no_address_is_refused() {
        for text in [
            "",
            "launchd.logs",
            "ollama.model[llama3]",
            "ollama.model[\"a\"b\"]",
            "network.service[\"Ethernet\"",
            "ollama.model[\"\\q\"]",
        ] {
            assert!(text.parse::<Address>().is_err(), "{text}");
        }
    }

    /// Names with what `{:?}` escapes (quotes, backslashes, control and combining characters)
    /// among any other characters.
    fn names() -> impl Strategy<Value = String> {
        let escaped = prop::sample::select(vec![
            '"', '\\', '\'', '\t', '\n', '\r', '\0', '\u{1b}', '\u{7f}', '\u{301}', '\u{200b}',
            '\u{feff}', ']', '[',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), escaped], 0..12)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn any_name_reads_back(name in names()) {
            for address in [Address::network(&name), Address::model(&name)] {
                prop_assert_eq!(address.to_string().parse::<Address>(), Ok(address));
            }
        }
    }
}
