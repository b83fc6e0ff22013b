//! `ssollama verify`: checks the live server against `server.toml` and against what Aider
//! (`OpenAI` API) and Claude Code (Anthropic API) need — the native form of
//! the 36-check shell test suite people ran before ssollama.
//!
//! Three parts, as everywhere in ssollama, and two pure tables they share:
//!
//! - [`probe::probe`] (effects): observes the Mac (reusing [`crate::observe::observe`]), runs
//!   `lsof`, `ps` and `ping` through the process gateway and sends the HTTP requests the
//!   [`catalogue`] describes, and returns raw [`Facts`]. It judges nothing.
//! - [`judge::judge`] (pure): [`Facts`] + [`Desired`] + [`Options`] → [`Verdict`], one
//!   [`CheckResult`] per check, each PASS, FAIL or SKIP with the expected and received values
//!   and a hint; one file per [`Group`] under `judge/`. Unit-tested on crafted facts.
//! - [`report`] (pure): a verdict as text, JSON or `JUnit` XML.
//! - [`catalogue`] (pure data): every probe's group, request, model needs, budget and stage;
//!   [`choice`] (pure): the model the model tests use. The probe and the judge read these and
//!   never each other.
//!
//! Must not import `apply`, `plan` or the CLI. The check list is in `specs/verify.md`.

mod catalogue;
mod choice;
pub(crate) mod judge;
pub(crate) mod probe;
pub(crate) mod report;
mod sse;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::launchd::domain::ServiceTarget;

use crate::model::desired::Desired;
use crate::model::{Knowable, Observed};
use crate::process::{Listener, ProcessInfo};

pub(crate) use judge::judge;
pub(crate) use probe::probe;

/// What the user asked `verify` to leave out or use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// `--skip-model-tests`: no request that runs a model.
    pub skip_model_tests: bool,
    /// `--skip-anthropic-tests`: no `/v1/messages` request (Ollama before v0.14.0).
    pub skip_anthropic_tests: bool,
    /// `--skip-router`: do not ping the router.
    pub skip_router: bool,
    /// `--model NAME`: the model the model tests use.
    pub model: Option<String>,
}

/// One HTTP request a probe sent, for the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Probe {
    /// `GET /` at the declared address.
    Root,
    /// `GET /` at `127.0.0.1:<port>` (only for a dedicated bind address).
    Loopback,
    /// `GET /v1/models`.
    ModelsList,
    /// `GET /v1/models/{model}`.
    ModelRetrieve,
    /// `POST /v1/chat/completions`, not streaming.
    Chat,
    /// `POST /v1/chat/completions`, streaming with `stream_options.include_usage`.
    ChatStream,
    /// `POST /v1/chat/completions` with `response_format: json_object`.
    JsonMode,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages`, not streaming.
    Messages,
    /// `POST /v1/messages`, streaming.
    MessagesStream,
    /// `POST /v1/messages` with a system prompt.
    MessagesSystem,
    /// `POST /v1/messages` without `max_tokens` (must be refused).
    MessagesError,
    /// `POST /v1/messages` with a user/assistant/user conversation.
    MessagesMultiTurn,
    /// `POST /v1/chat/completions` for a model that does not exist.
    UnknownModel,
    /// `POST /v1/chat/completions` with a body that is not JSON.
    Malformed,
    /// `POST /v1/messages?beta=true` shaped like Claude Code's requests (system blocks with
    /// `cache_control`, tools, `stream: true`, its headers).
    ClaudeCode,
    /// `POST /v1/messages/count_tokens?beta=true` (Claude Code calls it; Ollama has no route).
    CountTokens,
    /// `POST /api/chat` with a long prefix the server has not seen (it measures the prefill).
    PrefixFirst,
    /// `POST /api/chat` again with the same prefix and another last message (it shows reuse).
    PrefixSecond,
    /// `GET /api/ps` after the model requests: the context each loaded model is served with.
    Loaded,
}

/// An HTTP exchange: what was sent and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Exchange {
    /// `GET`, `POST`.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// The request body, if any.
    pub request: Option<String>,
    /// The reply, or why there was none.
    pub outcome: Outcome,
    /// How long it took, in milliseconds.
    pub elapsed_ms: u64,
}

/// What came back from one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// An HTTP reply (any status).
    Answered {
        /// HTTP status.
        status: u16,
        /// `Content-Type`, if any.
        content_type: Option<String>,
        /// The body, as text.
        body: String,
    },
    /// No HTTP reply: refused, timed out, reset.
    Failed {
        /// Why.
        reason: String,
    },
}

/// How `ping <router>` ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum PingOutcome {
    /// `ping` ran and exited with `status`.
    Ran {
        /// Exit status (`0` = a reply, `2` = none).
        status: Option<i32>,
        /// The last non-empty line it printed.
        last_line: String,
    },
    /// `ping` could not be run.
    Failed {
        /// Why.
        reason: String,
    },
}

/// How a model thinks, which decides how `verify` asks it not to (`specs/verify.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ModelKind {
    /// No `thinking` capability.
    Plain,
    /// `thinking` capability (qwen3, deepseek-r1…): thinking can be turned off.
    Thinking,
    /// gpt-oss (family `gptoss`, run through harmony): it always thinks; only the level can be
    /// lowered.
    Harmony,
    /// The server did not say (no capabilities in `/api/tags` or `/api/show`).
    Unknown,
}

impl ModelKind {
    /// The kind from a model's capabilities and family (docs/ollama.md §11:
    /// family `gptoss` or `gpt-oss` always thinks).
    pub(crate) fn of(capabilities: &[String], family: Option<&str>) -> Self {
        if matches!(family, Some("gptoss" | "gpt-oss")) {
            Self::Harmony
        } else if capabilities.iter().any(|c| c == "thinking") {
            Self::Thinking
        } else if capabilities.is_empty() {
            Self::Unknown
        } else {
            Self::Plain
        }
    }
}

/// What the server says about one installed model: `/api/tags`, completed by `/api/show` on
/// servers whose `/api/tags` has no capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModelInfo {
    /// The name, as the server lists it.
    pub name: String,
    /// `completion`, `embedding`, `thinking`, … (empty: unknown).
    pub capabilities: Vec<String>,
    /// `details.family`.
    pub family: Option<String>,
}

/// The model the model tests use, and where the choice came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChosenModel {
    /// The name sent in requests.
    pub name: String,
    /// Why this one: `--model`, `the first warm model in server.toml`, … and the models passed
    /// over because they cannot chat.
    pub source: String,
    /// How it thinks.
    pub kind: ModelKind,
}

/// Everything the probes learned; the judge's only input besides `server.toml` and the options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Facts {
    /// The regular observation (plist, job, logs, network, Ollama's API).
    pub observed: Observed,
    /// The job's service target, e.g. `gui/501/com.ollama`.
    pub target: ServiceTarget,
    /// The base URL of the declared address, e.g. `http://127.0.0.7:11434`.
    pub url: String,
    /// `lsof -nP -iTCP:<port> -sTCP:LISTEN`.
    pub listeners: Knowable<Vec<Listener>>,
    /// `ps -axo pid=,ppid=,user=,comm=`.
    pub processes: Knowable<Vec<ProcessInfo>>,
    /// The model the model tests used, if any.
    pub model: Option<ChosenModel>,
    /// Why there is none although models are installed (`no model that can chat: …`).
    #[serde(default)]
    pub no_model: Option<String>,
    /// The HTTP exchanges, by probe (absent = not sent).
    pub http: BTreeMap<Probe, Exchange>,
    /// `ping` of the router (absent = not run).
    pub ping: Option<PingOutcome>,
}

/// The groups of checks, in the order they are printed (the groups of the shell test suite it replaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Group {
    /// The launchd job, the process, the port, HTTP.
    Service,
    /// `/v1/*` for Aider and other `OpenAI` clients.
    Openai,
    /// `/v1/messages` for Claude Code.
    Anthropic,
    /// Error statuses.
    Errors,
    /// Owners and permissions.
    Security,
    /// Bind address, loopback, static IP, router.
    Network,
    /// What coding clients depend on: the served context, prompt reuse, time to first token.
    Clients,
}

impl Group {
    /// The heading printed above the group.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Service => "Service",
            Self::Openai => "OpenAI API",
            Self::Anthropic => "Anthropic API",
            Self::Errors => "Error behaviour",
            Self::Security => "Security",
            Self::Network => "Network",
            Self::Clients => "Coding clients",
        }
    }

    /// The id prefix of its checks (`service`, `openai`, …).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
            Self::Errors => "errors",
            Self::Security => "security",
            Self::Network => "network",
            Self::Clients => "clients",
        }
    }
}

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// The server does what is expected.
    Pass,
    /// It does not.
    Fail,
    /// Not checked (left out on request, not applicable, or a prerequisite failed).
    Skip,
    /// It works, but a client will suffer (too little context, a slow first token, a route
    /// Ollama does not serve): reported, not a failure.
    Warn,
}

impl Status {
    /// `PASS`, `FAIL`, `SKIP`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
            Self::Warn => "WARN",
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CheckResult {
    /// Stable id, e.g. `openai.chat_stream`.
    pub id: String,
    /// Its group.
    pub group: Group,
    /// What is checked, as a sentence.
    pub name: String,
    /// PASS, FAIL or SKIP.
    pub status: Status,
    /// What the check expects.
    pub expected: String,
    /// What it saw (for a skip: why it was skipped).
    pub received: String,
    /// How to fix a failure, or how to enable a skipped check.
    pub hint: Option<String>,
    /// How long its request took, when it made one.
    pub elapsed_ms: Option<u64>,
    /// The request and reply, truncated (shown with `--verbose`).
    pub trace: Vec<String>,
}

/// All check results, in print order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Verdict {
    /// The base URL checked.
    pub url: String,
    /// The model the model tests used.
    pub model: Option<ChosenModel>,
    /// The results.
    pub checks: Vec<CheckResult>,
}

impl Verdict {
    /// `(passed, failed, skipped)`.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        (
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Skip),
        )
    }

    /// How many checks warned (not part of [`Self::counts`]: a warning passes).
    pub(crate) fn warned(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Warn)
            .count()
    }

    /// Whether no check failed.
    pub(crate) fn passed(&self) -> bool {
        self.counts().1 == 0
    }
}

/// The plist path of the job, for messages.
pub(crate) fn plist_path(desired: &Desired, facts: &Facts) -> PathBuf {
    crate::launchd::domain::plist_path(
        &desired.service.mode,
        &desired.service.label,
        &facts.observed.host.home,
    )
}

#[cfg(test)]
mod tests;
