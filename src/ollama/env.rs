//! What Ollama's environment variables mean, as Ollama reads them (docs/ollama.md §4).
//!
//! Pure: no env, no fs. Owns Ollama's parsing of `OLLAMA_HOST` ([`parse_host`]), of its boolean
//! variables ([`parse_bool`]) and of `OLLAMA_DEBUG` ([`debug_level`]), and the comparison of two
//! values by meaning ([`same_meaning`]): `192.168.250.20` and `192.168.250.20:11434` bind the
//! same socket, `1` and `true` both switch a flag on, so a plist holding one is not drift from
//! a `server.toml` that writes the other. Variables whose meaning is not modelled here compare as
//! text. It must not read the process environment: callers pass values.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::validate::DEFAULT_PORT;
use crate::model::desired::Listen;

/// Ollama's boolean variables (`Bool` / `BoolWithDefault`, docs/ollama.md §4) that exist
/// on macOS (docs/ollama.md §4.1); `OLLAMA_DEBUG` is a level, see [`debug_level`].
const BOOLEANS: [&str; 9] = [
    "OLLAMA_FLASH_ATTENTION",
    "OLLAMA_NOPRUNE",
    "OLLAMA_NOHISTORY",
    "OLLAMA_SCHED_SPREAD",
    "OLLAMA_IGPU_ENABLE",
    "OLLAMA_NO_CLOUD",
    "OLLAMA_GO_TEMPLATE",
    "OLLAMA_DEBUG_LOG_REQUESTS",
    "OLLAMA_AUTH",
];

/// Ollama's `Var()`: white space trimmed at both ends, then every leading and trailing `"` and
/// `'` stripped (spaces inside the quotes survive).
pub(crate) fn var(raw: &str) -> &str {
    raw.trim().trim_matches(|c| c == '"' || c == '\'')
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`; anything
/// else is `None`.
pub(crate) fn go_parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// What a boolean variable means to Ollama: `None` when [`var`] leaves it empty (Ollama's
/// default applies), else Go's `ParseBool`, where any other non-empty value counts as true.
pub(crate) fn parse_bool(raw: &str) -> Option<bool> {
    let text = var(raw);
    if text.is_empty() {
        return None;
    }
    Some(go_parse_bool(text).unwrap_or(true))
}

/// The log level `OLLAMA_DEBUG` selects (`LogLevel()`), as Go's `slog.Level`: `0` = INFO, `-4`
/// = DEBUG (a `ParseBool` true), `-4n` for an integer `n` (`2` = TRACE); anything else is INFO.
pub(crate) fn debug_level(raw: &str) -> i64 {
    let text = var(raw);
    if go_parse_bool(text) == Some(true) {
        return -4;
    }
    text.parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(-4))
        .unwrap_or(0)
}

/// Where `OLLAMA_HOST` makes `ollama serve` listen, parsed like Ollama's `envconfig.Host()`
/// (docs/ollama.md §4): quotes and spaces stripped, an optional scheme (`http` → port 80, `https` →
/// 443), a path dropped, `host:port` split like Go's `net.SplitHostPort`, an invalid port replaced
/// by the default. An empty host (`:11434`) is every interface; `localhost` is `127.0.0.1`.
///
/// # Errors
/// A message when the host is a name rather than an IP address.
pub(crate) fn parse_host(raw: &str) -> Result<Listen, String> {
    let text = var(raw).trim();
    let (default_port, rest) = match text.split_once("://") {
        Some(("http", rest)) => (80, rest),
        Some(("https", rest)) => (443, rest),
        Some((_, rest)) => (DEFAULT_PORT, rest),
        None if text == "ollama.com" => (443, "ollama.com:443"),
        None => (DEFAULT_PORT, text),
    };
    let host_port = rest.split_once('/').map_or(rest, |(h, _)| h);
    let (host, port_text) = if let Some((host, port)) = split_host_port(host_port) {
        (host.to_owned(), Some(port))
    } else if host_port.is_empty() {
        ("127.0.0.1".to_owned(), None)
    } else {
        let bare = host_port.trim_start_matches('[').trim_end_matches(']');
        (bare.to_owned(), None)
    };
    let port = port_text
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p != 0)
        .unwrap_or(default_port);
    let host = match host.as_str() {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        other => other
            .parse()
            .map_err(|_| format!("`{other}` is a host name, not an IP address"))?,
    };
    Ok(Listen { host, port })
}

/// Go's `net.SplitHostPort` for the forms Ollama meets: `host:port`, `[v6]:port`, `:port`.
fn split_host_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = text.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

/// What one variable's value means to Ollama, as far as ssollama models it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Meaning<'a> {
    /// `OLLAMA_HOST` naming an IP address: the bind.
    Bind(Listen),
    /// A boolean variable ([`parse_bool`]).
    Flag(Option<bool>),
    /// `OLLAMA_DEBUG` ([`debug_level`]).
    Level(i64),
    /// Anything else: the text itself.
    Text(&'a str),
}

fn meaning<'a>(name: &str, raw: &'a str) -> Meaning<'a> {
    match name {
        "OLLAMA_HOST" => parse_host(raw).map_or(Meaning::Text(raw), Meaning::Bind),
        "OLLAMA_DEBUG" => Meaning::Level(debug_level(raw)),
        _ if BOOLEANS.contains(&name) => Meaning::Flag(parse_bool(raw)),
        _ => Meaning::Text(raw),
    }
}

/// Whether two values of the variable `name` mean the same to Ollama: `OLLAMA_HOST` by the bind
/// [`parse_host`] gives (`192.168.250.20` ≡ `192.168.250.20:11434` ≡ `http://192.168.250.20:11434`),
/// booleans by [`parse_bool`] (`1` ≡ `true` ≡ `TRUE`), `OLLAMA_DEBUG` by [`debug_level`]; every
/// other variable (and a host name) by its exact text.
pub(crate) fn same_meaning(name: &str, a: &str, b: &str) -> bool {
    a == b || meaning(name, a) == meaning(name, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_host_is_parsed_like_ollama() {
        let parse = |s: &str| parse_host(s).map(|l| l.ollama_host());
        assert_eq!(parse("192.168.250.20").unwrap(), "192.168.250.20:11434");
        assert_eq!(parse("192.168.250.20:8080").unwrap(), "192.168.250.20:8080");
        assert_eq!(parse("\"0.0.0.0\"").unwrap(), "0.0.0.0:11434");
        assert_eq!(parse(":1234").unwrap(), "0.0.0.0:1234");
        assert_eq!(parse("http://1.2.3.4").unwrap(), "1.2.3.4:80");
        assert_eq!(parse("https://1.2.3.4/ollama").unwrap(), "1.2.3.4:443");
        assert_eq!(parse("1.2.3.4:66000").unwrap(), "1.2.3.4:11434");
        assert_eq!(parse("[::1]").unwrap(), "[::1]:11434");
        assert_eq!(parse("::1").unwrap(), "[::1]:11434");
        assert_eq!(parse("localhost:11434").unwrap(), "127.0.0.1:11434");
        assert!(parse("example.com").is_err());
        assert!(parse("ollama.com").is_err());
    }

    #[test]
    fn the_seed_host_means_what_ssollama_writes() {
        for same in [
            "192.168.250.20",
            "192.168.250.20:11434",
            "http://192.168.250.20:11434",
            " '192.168.250.20' ",
        ] {
            assert!(
                same_meaning("OLLAMA_HOST", same, "192.168.250.20:11434"),
                "{same}"
            );
        }
        for other in [
            "192.168.250.21",
            "192.168.250.20:11435",
            "http://192.168.250.20",
            "0.0.0.0:11434",
        ] {
            assert!(
                !same_meaning("OLLAMA_HOST", other, "192.168.250.20:11434"),
                "{other}"
            );
        }
        // A name is compared as written.
        assert!(!same_meaning(
            "OLLAMA_HOST",
            "example.com",
            "example.com:11434"
        ));
    }

    #[test]
    fn booleans_compare_by_go_parse_bool() {
        for on in ["1", "t", "T", "TRUE", "true", "True", "yes", " \"1\" "] {
            assert!(same_meaning("OLLAMA_FLASH_ATTENTION", on, "1"), "{on}");
            assert!(!same_meaning("OLLAMA_FLASH_ATTENTION", on, "0"), "{on}");
        }
        for off in ["0", "f", "F", "FALSE", "false", "False"] {
            assert!(same_meaning("OLLAMA_NOPRUNE", off, "0"), "{off}");
        }
        // Empty leaves Ollama's default, which is not "off" for every flag.
        assert!(!same_meaning("OLLAMA_FLASH_ATTENTION", "", "0"));
        // Not a boolean variable: text.
        assert!(!same_meaning("OLLAMA_KEEP_ALIVE", "1", "true"));
    }

    #[test]
    fn debug_is_a_level() {
        assert!(same_meaning("OLLAMA_DEBUG", "true", "1"));
        assert!(same_meaning("OLLAMA_DEBUG", "false", "0"));
        assert!(same_meaning("OLLAMA_DEBUG", "yes", "0"));
        assert!(!same_meaning("OLLAMA_DEBUG", "2", "1"));
        assert_eq!(debug_level("2"), -8);
    }

    proptest::proptest! {
        #[test]
        fn every_spelling_of_a_bind_means_that_bind(
            a in 0u8..=255, b in 0u8..=255, port in 1u16..=65535, other in 1u16..=65535,
        ) {
            let host = format!("10.{a}.{b}.7");
            let written = format!("{host}:{port}");
            for same in [format!("http://{host}:{port}"), format!("\"{host}:{port}\"")] {
                proptest::prop_assert!(same_meaning("OLLAMA_HOST", &same, &written));
            }
            proptest::prop_assert_eq!(
                same_meaning("OLLAMA_HOST", &host, &written),
                port == DEFAULT_PORT
            );
            proptest::prop_assert_eq!(
                same_meaning("OLLAMA_HOST", &format!("{host}:{other}"), &written),
                other == port
            );
            let moved = format!("10.{a}.{b}.8:{port}");
            proptest::prop_assert!(!same_meaning("OLLAMA_HOST", &moved, &written));
        }
    }
}
