//! [`Env`]: one read of the process environment, at startup. Everything else reads `ctx.env`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variables ssollama reads, captured once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Env {
    /// `HOME`: decides `~/Library/LaunchAgents`.
    pub home: Option<PathBuf>,
    /// `SSOLLAMA_TOOL_DIR`: the test/diagnostic seam; every external program comes from there.
    pub tool_dir: Option<PathBuf>,
    /// `SSOLLAMA_CONFIG`: default for `-c/--config`.
    pub config: Option<PathBuf>,
    /// `NO_COLOR` set to anything non-empty.
    pub no_color: bool,
    /// `COLUMNS`, when a positive number.
    pub columns: Option<usize>,
    /// `SUDO_UID`: the invoking user's uid when ssollama runs under sudo.
    pub sudo_uid: Option<u32>,
    /// `SSOLLAMA_LOG`: a tracing filter overriding `-v`.
    pub log_filter: Option<String>,
}

impl Env {
    /// Reads the process environment.
    #[expect(
        clippy::disallowed_methods,
        reason = "the environment gateway: the one place that reads it"
    )]
    pub(crate) fn from_process() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    /// Builds an `Env` from variables (for tests and for `from_process`).
    pub(crate) fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let vars: BTreeMap<OsString, OsString> = vars.into_iter().collect();
        let get = |key: &str| vars.get(&OsString::from(key)).filter(|v| !v.is_empty());
        let text = |key: &str| get(key).and_then(|v| v.to_str()).map(str::to_owned);
        Self {
            home: get("HOME").map(PathBuf::from),
            tool_dir: get("SSOLLAMA_TOOL_DIR").map(PathBuf::from),
            config: get("SSOLLAMA_CONFIG").map(PathBuf::from),
            no_color: get("NO_COLOR").is_some(),
            columns: text("COLUMNS")
                .and_then(|c| c.trim().parse().ok())
                .filter(|c| *c > 0),
            sudo_uid: text("SUDO_UID").and_then(|u| u.trim().parse().ok()),
            log_filter: text("SSOLLAMA_LOG"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
    }

    #[test]
    fn empty_values_count_as_unset() {
        let e = env(&[
            ("NO_COLOR", ""),
            ("SSOLLAMA_TOOL_DIR", ""),
            ("HOME", "/Users/a"),
        ]);
        assert!(!e.no_color);
        assert_eq!(e.tool_dir, None);
        assert_eq!(e.home, Some(PathBuf::from("/Users/a")));
    }

    #[test]
    fn numbers_are_parsed_or_ignored() {
        let e = env(&[("COLUMNS", "100"), ("SUDO_UID", "501")]);
        assert_eq!((e.columns, e.sudo_uid), (Some(100), Some(501)));
        let e = env(&[("COLUMNS", "wide"), ("SUDO_UID", "-1")]);
        assert_eq!((e.columns, e.sudo_uid), (None, None));
    }
}
