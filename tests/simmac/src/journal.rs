//! `journal.log`: one JSON line per tool call (and per HTTP request of the fake Ollama server).
//!
//! Owns the line format and the append discipline (`O_APPEND`, one `write` per line, so
//! concurrent writers never interleave). It must not decide what counts as mutating: callers do.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// `launchctl`, `networksetup`, …, or `http` for the fake Ollama server.
    pub tool: String,
    /// Arguments (tools only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// HTTP method (`http` lines only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// HTTP path (`http` lines only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The call is a state-changing verb (attempted; it may have failed).
    #[serde(default)]
    pub mutating: bool,
    /// The call ran under the fake `sudo`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub elevated: bool,
    /// Exit status (tools only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
}

impl Call {
    /// A tool call line.
    pub fn tool(tool: &str, args: &[String], mutating: bool, elevated: bool, exit: i32) -> Self {
        Self {
            tool: tool.to_owned(),
            args: args.to_vec(),
            method: None,
            path: None,
            mutating,
            elevated,
            exit: Some(exit),
        }
    }

    /// Whether this call changed (or tried to change) the simulated Mac.
    pub fn is_mutating(&self) -> bool {
        self.mutating
    }

    /// A one-line human summary (`launchctl bootout gui/501/x`, `http POST /api/pull`).
    pub fn summary(&self) -> String {
        if let (Some(method), Some(path)) = (&self.method, &self.path) {
            return format!("{} {method} {path}", self.tool);
        }
        let mut out = self.tool.clone();
        for arg in &self.args {
            out.push(' ');
            out.push_str(arg);
        }
        out
    }
}

/// Appends one line to the journal in the state dir `state` (one `write` call, `O_APPEND`).
pub fn append(state: &Path, call: &Call) -> std::io::Result<()> {
    let mut line = serde_json::to_string(call).map_err(std::io::Error::other)?;
    line.push('\n');
    fs::create_dir_all(state)?;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.join("journal.log"))?;
    file.write_all(line.as_bytes())
}

/// Every call journaled in the state dir `state`, oldest first (unparseable lines are skipped).
pub fn read(state: &Path) -> Vec<Call> {
    fs::read_to_string(state.join("journal.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
