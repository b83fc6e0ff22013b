//! The pure half of `verify`: [`judge`] turns [`Facts`] into a [`Verdict`].
//!
//! No I/O, no clock: everything a check decides on is in its arguments, so every result can be
//! reproduced from crafted facts (the tests below). A check whose prerequisite failed (the
//! server does not answer, no model to test with) is a SKIP that names the prerequisite, so one
//! broken thing gives one FAIL, not thirty.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use serde_json::Value as Json;

use super::sse;
use super::{
    CheckResult, ChosenModel, Exchange, Facts, Group, ModelInfo, ModelKind, Options, Outcome,
    PingOutcome, Probe, Status, Verdict,
};
use crate::model::desired::{Desired, Mode};
use crate::model::observed::{IpMethod, JobStatus, LoadedJob, PlistFile, ServerStatus};
use crate::model::plist_rule::others_may_write;
use crate::model::{Knowable, Observed};
use crate::ollama::name::ModelName;
use crate::process::Listener;
use crate::text::one_line;

/// How many characters of a body a message quotes.
const EXCERPT: usize = 160;
/// How many characters of a request or reply `--verbose` shows.
const TRACE_EXCERPT: usize = 400;

/// Whether `host` is a dedicated address: neither every interface nor the loopback address that
/// local clients use by default. Only then must `127.0.0.1:<port>` refuse connections.
pub(crate) fn is_dedicated(host: IpAddr) -> bool {
    !host.is_unspecified()
        && host != IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        && host != IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
}

/// The installed models as `/api/tags` lists them (empty when the server is down or the list
/// could not be read); [`super::probe()`] completes their capabilities with `/api/show`.
pub(crate) fn installed_models(observed: &Observed) -> Vec<ModelInfo> {
    match &observed.ollama.server {
        ServerStatus::Up {
            models: Knowable::Known(models),
            ..
        } => models
            .iter()
            .map(|m| ModelInfo {
                name: m.name.clone(),
                capabilities: m.capabilities.clone(),
                family: m.family.clone(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `name` can answer chat requests: its `completion` capability when the server reports
/// capabilities; otherwise not for the names embedding models have (`*embed*`, as the planner
/// guesses), else unknown (`None`: tried).
fn can_chat(name: &ModelName, info: Option<&ModelInfo>) -> Option<bool> {
    match info {
        Some(info) if !info.capabilities.is_empty() => {
            Some(info.capabilities.iter().any(|c| c == "completion"))
        }
        _ if name.named_like_embedding() => Some(false),
        _ => None,
    }
}

/// Why a model cannot chat, for messages: `all-minilm:latest (embedding only)`.
fn cannot_chat(name: &str, info: Option<&ModelInfo>) -> String {
    match info.map(|i| i.capabilities.as_slice()) {
        Some(caps) if caps.iter().any(|c| c == "embedding") => format!("{name} (embedding only)"),
        Some(caps) if !caps.is_empty() => format!("{name} (capabilities: {})", caps.join(", ")),
        _ => format!("{name} (an embedding model, by its name)"),
    }
}

/// The model the model tests use: `--model`, else the first warm model of `server.toml`, else
/// its first model, else the first model the server has installed — each time the first that
/// can chat (from the capabilities the server reports: an embedding model is passed over, and
/// the source says so). Cloud models are passed over (they run remotely). `Err` says why there
/// is none when models were passed over.
pub(crate) fn choose_model(
    desired: &Desired,
    options: &Options,
    models: &[ModelInfo],
) -> Result<ChosenModel, Option<String>> {
    let info_of = |name: &ModelName| {
        models
            .iter()
            .find(|m| ModelName::parse(&m.name).is_ok_and(|n| n.key() == name.key()))
    };
    let kind_of = |info: Option<&ModelInfo>| {
        info.map_or(ModelKind::Unknown, |i| {
            ModelKind::of(&i.capabilities, i.family.as_deref())
        })
    };
    if let Some(name) = &options.model {
        let info = ModelName::parse(name).ok().and_then(|n| info_of(&n));
        return Ok(ChosenModel {
            name: name.clone(),
            source: "--model".to_owned(),
            kind: kind_of(info),
        });
    }
    let local = || desired.models.iter().filter(|m| !m.name.is_cloud());
    let installed = models
        .iter()
        .filter_map(|m| ModelName::parse(&m.name).ok())
        .filter(|n| !n.is_cloud());
    let candidates = local()
        .filter(|m| m.warm)
        .map(|m| (m.name.clone(), "the first warm model in server.toml"))
        .chain(local().map(|m| (m.name.clone(), "the first model in server.toml")))
        .chain(installed.map(|n| (n, "the first installed model")));
    let mut passed_over: Vec<String> = Vec::new();
    for (name, source) in candidates {
        let info = info_of(&name);
        let shown = info.map_or_else(|| name.display(), |i| i.name.clone());
        if can_chat(&name, info) == Some(false) {
            let why = cannot_chat(&shown, info);
            if !passed_over.contains(&why) {
                passed_over.push(why);
            }
            continue;
        }
        let source = if passed_over.is_empty() {
            source.to_owned()
        } else {
            format!(
                "{source} that can chat; passed over {}",
                passed_over.join(", ")
            )
        };
        return Ok(ChosenModel {
            name: shown,
            source,
            kind: kind_of(info),
        });
    }
    Err((!passed_over.is_empty())
        .then(|| format!("no model that can chat: {}", passed_over.join(", "))))
}

/// `HTTP 404: 404 page not found` / `no answer: Connection refused`.
fn describe(exchange: &Exchange) -> String {
    match &exchange.outcome {
        Outcome::Answered { status, body, .. } if body.trim().is_empty() => {
            format!("HTTP {status} with an empty body")
        }
        Outcome::Answered { status, body, .. } => {
            format!("HTTP {status}: {}", one_line(body, EXCERPT))
        }
        Outcome::Failed { reason } => format!("no answer: {reason}"),
    }
}

/// The request and reply, for `--verbose`.
fn trace(exchange: &Exchange) -> Vec<String> {
    let mut lines = vec![format!("> {} {}", exchange.method, exchange.url)];
    if let Some(body) = &exchange.request {
        lines.push(format!("> {}", one_line(body, TRACE_EXCERPT)));
    }
    match &exchange.outcome {
        Outcome::Answered {
            status,
            content_type,
            body,
        } => {
            lines.push(format!(
                "< {status} {} ({} ms)",
                content_type.as_deref().unwrap_or("(no content type)"),
                exchange.elapsed_ms
            ));
            if !body.trim().is_empty() {
                lines.push(format!("< {}", one_line(body, TRACE_EXCERPT)));
            }
        }
        Outcome::Failed { reason } => {
            lines.push(format!(
                "< no answer ({} ms): {reason}",
                exchange.elapsed_ms
            ));
        }
    }
    lines
}

/// What the judge needs besides the facts.
struct Judge<'a> {
    desired: &'a Desired,
    facts: &'a Facts,
    options: &'a Options,
    out: Vec<CheckResult>,
}

/// A check being judged: its identity.
#[derive(Clone, Copy)]
struct Check<'n> {
    group: Group,
    id: &'static str,
    name: &'n str,
}

/// How a judged check ended, before it becomes a [`CheckResult`].
enum Found {
    Pass(String),
    Fail {
        received: String,
        hint: Option<String>,
    },
    Skip {
        reason: String,
        hint: String,
    },
}

fn fail(received: impl Into<String>, hint: impl Into<String>) -> Found {
    Found::Fail {
        received: received.into(),
        hint: Some(hint.into()),
    }
}

fn skip(reason: impl Into<String>, hint: impl Into<String>) -> Found {
    Found::Skip {
        reason: reason.into(),
        hint: hint.into(),
    }
}

impl Judge<'_> {
    fn push(
        &mut self,
        check: Check<'_>,
        expected: &str,
        found: Found,
        exchange: Option<&Exchange>,
    ) {
        let (status, received, hint) = match found {
            Found::Pass(received) => (Status::Pass, received, None),
            Found::Fail { received, hint } => (Status::Fail, received, hint),
            Found::Skip { reason, hint } => (Status::Skip, reason, Some(hint)),
        };
        self.out.push(CheckResult {
            id: format!("{}.{}", check.group.key(), check.id),
            group: check.group,
            name: check.name.to_owned(),
            status,
            expected: expected.to_owned(),
            received,
            hint,
            elapsed_ms: exchange.map(|e| e.elapsed_ms),
            trace: exchange.map(trace).unwrap_or_default(),
        });
    }

    fn loaded(&self) -> Option<&LoadedJob> {
        match &self.facts.observed.job {
            Knowable::Known(JobStatus::Loaded(job)) => Some(job),
            _ => None,
        }
    }

    /// The job's pid and its descendants (from `ps`).
    fn job_pids(&self) -> BTreeSet<u32> {
        let mut pids: BTreeSet<u32> = self.loaded().and_then(|j| j.pid).into_iter().collect();
        if let Knowable::Known(processes) = &self.facts.processes {
            loop {
                let before = pids.len();
                for p in processes {
                    if pids.contains(&p.ppid) {
                        pids.insert(p.pid);
                    }
                }
                if pids.len() == before {
                    break;
                }
            }
        }
        pids
    }

    /// The job's listeners on the declared port; `None` when `lsof` could not be read.
    fn job_listeners(&self) -> Option<Vec<&Listener>> {
        let Knowable::Known(listeners) = &self.facts.listeners else {
            return None;
        };
        let pids = self.job_pids();
        Some(
            listeners
                .iter()
                .filter(|l| l.port() == Some(self.desired.listen.port) && pids.contains(&l.pid))
                .collect(),
        )
    }

    fn stderr_log(&self) -> String {
        self.desired.logs.stderr.display().to_string()
    }

    fn server_version(&self) -> Option<&str> {
        match &self.facts.observed.ollama.server {
            ServerStatus::Up { version, .. } => Some(version),
            ServerStatus::Down { .. } => None,
        }
    }

    /// Why an HTTP probe was not sent.
    fn not_sent(&self, probe: Probe) -> Found {
        let root_answers = self
            .facts
            .http
            .get(&Probe::Root)
            .is_some_and(|e| matches!(e.outcome, Outcome::Answered { .. }));
        let anthropic = matches!(
            probe,
            Probe::Messages
                | Probe::MessagesStream
                | Probe::MessagesSystem
                | Probe::MessagesError
                | Probe::MessagesMultiTurn
        );
        if !root_answers {
            skip(
                format!("the server does not answer at {}", self.facts.url),
                "fix `service.http` first",
            )
        } else if anthropic && self.options.skip_anthropic_tests {
            skip(
                "left out by --skip-anthropic-tests",
                "run without --skip-anthropic-tests (needs Ollama 0.14.0 or later)",
            )
        } else if super::probe::runs_model(probe) || probe == Probe::ModelRetrieve {
            if self.options.skip_model_tests {
                skip(
                    "left out by --skip-model-tests",
                    "run without --skip-model-tests",
                )
            } else {
                skip(
                    self.facts
                        .no_model
                        .clone()
                        .unwrap_or_else(|| "no model to test with".to_owned()),
                    "declare a model that can chat in [[models]] (or pull one), or pass --model NAME",
                )
            }
        } else {
            skip("the request was not sent", "run `ssollama verify` again")
        }
    }

    /// Whether `exchange` is a 404 for the chosen model after `GET /v1/models/{model}` also
    /// answered 404: then only `openai.model` fails and the other model checks skip.
    fn model_missing(&self, exchange: &Exchange) -> bool {
        let is_404 = |e: &Exchange| matches!(&e.outcome, Outcome::Answered { status: 404, body, .. } if body.trim() != "404 page not found");
        is_404(exchange)
            && self
                .facts
                .http
                .get(&Probe::ModelRetrieve)
                .is_some_and(is_404)
    }

    /// A failure hint from an HTTP error reply.
    fn status_hint(&self, probe: Probe, status: u16, body: &str) -> String {
        let model = self.facts.model.as_ref().map_or("", |m| m.name.as_str());
        let version = self.server_version().unwrap_or("unknown");
        let page_missing = body.trim() == "404 page not found";
        match (status, probe) {
            (404, Probe::Responses) if page_missing => format!(
                "Ollama {version} has no /v1/responses (added in 0.13.3): upgrade Ollama"
            ),
            (404, _) if page_missing && matches!(probe, Probe::Messages | Probe::MessagesStream | Probe::MessagesSystem | Probe::MessagesMultiTurn | Probe::MessagesError) => format!(
                "Ollama {version} has no /v1/messages (added in 0.14.0): upgrade Ollama, or run with --skip-anthropic-tests"
            ),
            (404, _) if page_missing => format!("Ollama {version} does not serve this endpoint: upgrade Ollama"),
            (404, _) => format!(
                "model `{model}` is not installed: declare it in [[models]] and run `ssollama apply`, or `ollama pull {model}`"
            ),
            (400, _) => "the server refused the request; check the model's capabilities (`ollama show`) and the server log".to_owned(),
            (500.., _) => format!("the server failed; see the log `{}`", self.stderr_log()),
            _ => format!("see the log `{}`", self.stderr_log()),
        }
    }

    /// Judges one HTTP probe: `ok` gets the status, content type and body of a reply and says
    /// what it received (`Ok`) or what is wrong with it (`Err`).
    fn http(
        &mut self,
        check: Check<'_>,
        probe: Probe,
        expected: &str,
        ok: impl FnOnce(u16, Option<&str>, &str) -> Result<String, String>,
    ) {
        let Some(exchange) = self.facts.http.get(&probe) else {
            let found = self.not_sent(probe);
            self.push(check, expected, found, None);
            return;
        };
        if super::probe::runs_model(probe) && self.model_missing(exchange) {
            let model = self.facts.model.as_ref().map_or("", |m| m.name.as_str());
            let found = skip(
                format!("model `{model}` is not installed"),
                "fix `openai.model` first",
            );
            self.push(check, expected, found, Some(exchange));
            return;
        }
        let found = match &exchange.outcome {
            Outcome::Failed { reason } => fail(
                format!("no answer: {reason}"),
                format!(
                    "the server stopped answering; see the log `{}`",
                    self.stderr_log()
                ),
            ),
            Outcome::Answered {
                status,
                content_type,
                body,
            } => match ok(*status, content_type.as_deref(), body) {
                Ok(received) => Found::Pass(received),
                Err(problem) if (200..300).contains(status) => Found::Fail {
                    received: format!("{problem}: {}", one_line(body, EXCERPT)),
                    hint: Some(format!(
                        "the reply is not what {} clients read; see the log `{}`",
                        if matches!(check.group, Group::Anthropic) {
                            "Anthropic"
                        } else {
                            "OpenAI"
                        },
                        self.stderr_log()
                    )),
                },
                Err(_) => Found::Fail {
                    received: describe(exchange),
                    hint: Some(self.status_hint(probe, *status, body)),
                },
            },
        };
        self.push(check, expected, found, Some(exchange));
    }
}

fn parse_json(body: &str) -> Result<Json, String> {
    serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))
}

fn need_status(status: u16, wanted: u16) -> Result<(), String> {
    if status == wanted {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// The text of an `OpenAI` chat completion: `choices[0].message.content` (a string; `null` is
/// read as empty) and its `reasoning` (Ollama's thinking, `openai/openai.go`
/// `ToChatCompletion`).
fn chat_content(json: &Json) -> Result<(String, String), String> {
    let message = &json["choices"][0]["message"];
    if !message.is_object() {
        return Err("no choices[0].message".to_owned());
    }
    let content = match &message["content"] {
        Json::String(text) => text.clone(),
        Json::Null => String::new(),
        _ => return Err("choices[0].message.content is not text".to_owned()),
    };
    let reasoning = message["reasoning"].as_str().unwrap_or_default().to_owned();
    Ok((content, reasoning))
}

/// `"ok"`, or what stands in for an empty answer: the model only thought, or said nothing, in
/// the tokens it was given.
fn answer(text: &str, thinking: bool) -> String {
    match (text.is_empty(), thinking) {
        (false, _) => format!("{:?}", one_line(text, 40)),
        (true, true) => "thinking only".to_owned(),
        (true, false) => "empty".to_owned(),
    }
}

/// The text blocks of an Anthropic message. `content` may be `null`: Ollama's
/// `ToMessagesResponse` (`anthropic/anthropic.go`) leaves it a nil slice when the model produced
/// neither thinking nor text in the tokens it was given.
fn message_text(json: &Json) -> Result<String, String> {
    if json["type"] != "message" {
        return Err("`type` is not \"message\"".to_owned());
    }
    if json["role"] != "assistant" {
        return Err("`role` is not \"assistant\"".to_owned());
    }
    let blocks = match &json["content"] {
        Json::Array(blocks) => blocks.as_slice(),
        Json::Null => &[],
        _ => return Err("`content` is neither a list of blocks nor null".to_owned()),
    };
    if let Some(bad) = blocks.iter().find(|b| !b["type"].is_string()) {
        return Err(format!("a content block has no type: {bad}"));
    }
    let text: String = blocks
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .collect();
    let thinking = blocks.iter().any(|b| b["type"] == "thinking");
    Ok(format!(
        "{} (stop_reason {})",
        answer(&text, thinking),
        json["stop_reason"].as_str().unwrap_or("none")
    ))
}

/// Checks the event sequence of a streamed Anthropic message: `message_start` first,
/// `message_stop` last, a `message_delta` before it, and content blocks well nested (each
/// `content_block_start` closed by its `content_block_stop`, deltas only inside an open block).
/// A reply with no content at all has no `content_block_*` events (Ollama's `StreamConverter`
/// opens a block only for thinking or text), so none is required.
fn message_events(events: &[(String, Json)]) -> Result<String, String> {
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    let first = names.first().copied().unwrap_or("");
    let last = names.last().copied().unwrap_or("");
    if first != "message_start" {
        return Err(format!("the first event is {first:?}, not message_start"));
    }
    if last != "message_stop" {
        return Err(format!("the last event is {last:?}, not message_stop"));
    }
    if !names.contains(&"message_delta") {
        return Err("no message_delta event".to_owned());
    }
    let mut open: Option<u64> = None;
    let mut blocks = 0;
    for (name, data) in events {
        let index = data["index"].as_u64();
        match (name.as_str(), open) {
            ("content_block_start", None) => {
                open = Some(index.ok_or("content_block_start has no index")?);
                blocks += 1;
            }
            ("content_block_start", Some(i)) => {
                return Err(format!("content_block_start while block {i} is open"));
            }
            ("content_block_delta" | "content_block_stop", None) => {
                return Err(format!("{name} outside a content block"));
            }
            ("content_block_delta" | "content_block_stop", Some(i)) if index != Some(i) => {
                return Err(format!(
                    "{name} for block {index:?} while block {i} is open"
                ));
            }
            ("content_block_stop", Some(_)) => open = None,
            ("message_delta" | "message_stop", Some(i)) => {
                return Err(format!("{name} while block {i} is open"));
            }
            _ => {}
        }
    }
    Ok(match blocks {
        0 => format!(
            "{} events, message_start … message_stop (no content blocks: the budget ended before any text)",
            events.len()
        ),
        n => format!(
            "{} events, message_start … message_stop ({n} content block{})",
            events.len(),
            if n == 1 { "" } else { "s" }
        ),
    })
}

fn event_stream(content_type: Option<&str>) -> Result<(), String> {
    if content_type.is_some_and(|c| c.starts_with("text/event-stream")) {
        Ok(())
    } else {
        Err(format!(
            "content type {} is not text/event-stream",
            content_type.unwrap_or("(none)")
        ))
    }
}

/// Judges every check, in print order.
pub(crate) fn judge(desired: &Desired, facts: &Facts, options: &Options) -> Verdict {
    let mut j = Judge {
        desired,
        facts,
        options,
        out: Vec::new(),
    };
    service(&mut j);
    openai(&mut j);
    anthropic(&mut j);
    errors(&mut j);
    security(&mut j);
    network(&mut j);
    Verdict {
        url: facts.url.clone(),
        model: facts.model.clone(),
        checks: j.out,
    }
}

fn service(j: &mut Judge<'_>) {
    let target = j.facts.target.clone();
    let plist = super::plist_path(j.desired, j.facts);
    let check = Check {
        group: Group::Service,
        id: "job_loaded",
        name: "launchd job is loaded",
    };
    let expected = format!("`{target}` loaded");
    let found = match &j.facts.observed.job {
        Knowable::Known(JobStatus::Loaded(job)) => Found::Pass(format!(
            "loaded (state = {})",
            job.state.as_deref().unwrap_or("unknown")
        )),
        Knowable::Known(JobStatus::NotLoaded) => fail(
            "not loaded",
            format!(
                "run `ssollama apply`, or `launchctl bootstrap {} {}`",
                target.rsplit_once('/').map_or(target.as_str(), |(d, _)| d),
                plist.display()
            ),
        ),
        Knowable::Unknown { reason } => fail(
            format!("unknown: {reason}"),
            "run `ssollama observe` to see what launchctl says",
        ),
    };
    j.push(check, &expected, found, None);

    let check = Check {
        group: Group::Service,
        id: "process",
        name: "Ollama process is running",
    };
    let found = match j.loaded() {
        None => skip("the job is not loaded", "fix `service.job_loaded` first"),
        Some(job) => match (job.state.as_deref(), job.pid) {
            (Some("running"), Some(pid)) => {
                let user = match &j.facts.processes {
                    Knowable::Known(list) => list
                        .iter()
                        .find(|p| p.pid == pid)
                        .map_or_else(|| "not in `ps`".to_owned(), |p| p.user.clone()),
                    Knowable::Unknown { reason } => format!("unknown ({reason})"),
                };
                Found::Pass(format!("pid {pid}, user {user}"))
            }
            (state, _) => {
                let exit = job
                    .last_exit_text()
                    .map_or_else(String::new, |e| format!(", last exit: {e}"));
                fail(
                    format!("state = {}{exit}", state.unwrap_or("unknown")),
                    format!(
                        "see the log `{}`; `ssollama apply` restarts it",
                        j.stderr_log()
                    ),
                )
            }
        },
    };
    j.push(check, "state = running, with a pid", found, None);

    let port = j.desired.listen.port;
    let name = format!("Ollama listens on port {port}");
    let check = Check {
        group: Group::Service,
        id: "port",
        name: &name,
    };
    let found = match (j.job_listeners(), &j.facts.listeners) {
        (_, Knowable::Unknown { reason }) => fail(
            format!("unknown: {reason}"),
            "run `lsof -nP -iTCP -sTCP:LISTEN` to see who listens",
        ),
        (Some(mine), _) if !mine.is_empty() => Found::Pass(
            mine.iter()
                .map(|l| format!("{} (pid {})", l.address, l.pid))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (_, Knowable::Known(all)) => {
            let others: Vec<String> = all
                .iter()
                .filter(|l| l.port() == Some(port))
                .map(|l| format!("`{}` (pid {}) on {}", l.command, l.pid, l.address))
                .collect();
            if others.is_empty() && j.loaded().and_then(|job| job.pid).is_none() {
                skip("the job is not running", "fix `service.process` first")
            } else if others.is_empty() {
                fail(
                    format!("nothing listens on port {port}"),
                    format!("see the log `{}`", j.stderr_log()),
                )
            } else {
                fail(
                    format!("only other processes listen: {}", others.join(", ")),
                    "stop them, or change `listen.port`; `ssollama plan` lists conflicts",
                )
            }
        }
    };
    j.push(check, "a socket of the job in LISTEN", found, None);

    let name = format!("HTTP answers at {}", j.facts.url);
    let check = Check {
        group: Group::Service,
        id: "http",
        name: &name,
    };
    j.http(
        check,
        Probe::Root,
        "HTTP 200 `Ollama is running`",
        |status, _, body| {
            need_status(status, 200)?;
            if body.trim() == "Ollama is running" {
                Ok("HTTP 200 `Ollama is running`".to_owned())
            } else {
                Err("another server answers".to_owned())
            }
        },
    );
}

fn openai(j: &mut Judge<'_>) {
    let model = j.facts.model.as_ref().map(|m| m.name.clone());
    let budget = super::probe::json_mode_budget(
        j.facts
            .model
            .as_ref()
            .map_or(ModelKind::Unknown, |m| m.kind),
    );
    let model_shown = model.clone().unwrap_or_else(|| "{model}".to_owned());
    let g = Group::Openai;
    j.http(
        Check {
            group: g,
            id: "models",
            name: "GET /v1/models returns a model list",
        },
        Probe::ModelsList,
        "HTTP 200, {\"object\":\"list\",\"data\":[…]}",
        |status, _, body| {
            need_status(status, 200)?;
            let json = parse_json(body)?;
            if json["object"] != "list" {
                return Err("`object` is not \"list\"".to_owned());
            }
            match &json["data"] {
                // Ollama sends `null` when no model is installed (ollama.md §3.1).
                Json::Null => Ok("0 models".to_owned()),
                Json::Array(items) if items.len() == 1 => Ok("1 model".to_owned()),
                Json::Array(items) => Ok(format!("{} models", items.len())),
                _ => Err("`data` is not a list".to_owned()),
            }
        },
    );
    let name = format!("GET /v1/models/{model_shown} returns the model");
    let check = Check {
        group: g,
        id: "model",
        name: &name,
    };
    if model.as_deref().is_some_and(|m| m.contains('/')) {
        j.push(
            check,
            "HTTP 200 with the model's id",
            skip(
                format!(
                    "`{model_shown}` has a `/`, which this route cannot take (one path segment)"
                ),
                "pass --model with a library model to check this route",
            ),
            None,
        );
    } else {
        let wanted = model.clone().unwrap_or_default();
        j.http(
            check,
            Probe::ModelRetrieve,
            "HTTP 200 with the model's id",
            |status, _, body| {
                need_status(status, 200)?;
                let json = parse_json(body)?;
                if json["id"] == wanted.as_str() && json["object"] == "model" {
                    Ok(format!(
                        "id {wanted}, owned by {}",
                        json["owned_by"].as_str().unwrap_or("?")
                    ))
                } else {
                    Err(format!("id is {}", json["id"]))
                }
            },
        );
    }
    j.http(
        Check {
            group: g,
            id: "chat",
            name: "POST /v1/chat/completions (non-streaming)",
        },
        Probe::Chat,
        "HTTP 200 with choices[0].message.content",
        |status, _, body| {
            need_status(status, 200)?;
            let json = parse_json(body)?;
            let (content, reasoning) = chat_content(&json)?;
            Ok(format!(
                "{} (finish_reason {})",
                answer(&content, !reasoning.is_empty()),
                json["choices"][0]["finish_reason"]
                    .as_str()
                    .unwrap_or("none")
            ))
        },
    );
    j.http(
        Check {
            group: g,
            id: "chat_stream",
            name: "POST /v1/chat/completions (streaming) sends SSE chunks",
        },
        Probe::ChatStream,
        "HTTP 200, `data:` chunks ending with `data: [DONE]`",
        |status, content_type, body| {
            need_status(status, 200)?;
            event_stream(content_type)?;
            let frames = sse::frames(body);
            let chunks = frames
                .iter()
                .filter(|f| {
                    serde_json::from_str::<Json>(&f.data)
                        .is_ok_and(|j| j["object"] == "chat.completion.chunk")
                })
                .count();
            if chunks == 0 {
                return Err("no chat.completion.chunk".to_owned());
            }
            if frames.last().is_none_or(|f| f.data != "[DONE]") {
                return Err("the stream does not end with `data: [DONE]`".to_owned());
            }
            Ok(format!("{chunks} chunks, then [DONE]"))
        },
    );
    j.http(
        Check {
            group: g,
            id: "stream_usage",
            name: "streaming with stream_options.include_usage reports usage",
        },
        Probe::ChatStream,
        "`usage` in the last chunk before [DONE]",
        |status, _, body| {
            need_status(status, 200)?;
            let frames = sse::frames(body);
            let last = frames
                .iter()
                .rev()
                .find(|f| f.data != "[DONE]")
                .ok_or_else(|| "no chunks".to_owned())?;
            let json = parse_json(&last.data)?;
            let usage = &json["usage"];
            match (
                usage["prompt_tokens"].as_u64(),
                usage["completion_tokens"].as_u64(),
            ) {
                (Some(p), Some(c)) => Ok(format!("prompt_tokens {p}, completion_tokens {c}")),
                _ => Err("the last chunk has no `usage`".to_owned()),
            }
        },
    );
    j.http(
        Check {
            group: g,
            id: "json_mode",
            name: "JSON mode (response_format json_object) returns JSON",
        },
        Probe::JsonMode,
        "HTTP 200, message content that parses as JSON",
        |status, _, body| {
            need_status(status, 200)?;
            let json = parse_json(body)?;
            let (content, reasoning) = chat_content(&json)?;
            let cut = json["choices"][0]["finish_reason"] == "length";
            match serde_json::from_str::<Json>(&content) {
                Ok(_) => Ok(format!("{:?}", one_line(&content, 40))),
                Err(_) if cut && content.is_empty() && !reasoning.is_empty() => Err(format!(
                    "the model was still thinking after {budget} tokens",
                )),
                Err(e) if cut => Err(format!(
                    "the content was cut at {budget} tokens and is not JSON ({e})",
                )),
                Err(e) => Err(format!("the content is not JSON ({e})")),
            }
        },
    );
    j.http(
        Check {
            group: g,
            id: "responses",
            name: "POST /v1/responses",
        },
        Probe::Responses,
        "HTTP 200, a completed response with output",
        |status, _, body| {
            need_status(status, 200)?;
            let json = parse_json(body)?;
            if json["object"] != "response" {
                return Err("`object` is not \"response\"".to_owned());
            }
            let outputs = json["output"].as_array().map_or(0, Vec::len);
            if outputs == 0 {
                return Err("no output items".to_owned());
            }
            Ok(format!(
                "status {}, {outputs} output item{}",
                json["status"].as_str().unwrap_or("?"),
                if outputs == 1 { "" } else { "s" }
            ))
        },
    );
}

fn anthropic(j: &mut Judge<'_>) {
    let g = Group::Anthropic;
    let message = |status: u16, _: Option<&str>, body: &str| {
        need_status(status, 200)?;
        message_text(&parse_json(body)?)
    };
    j.http(
        Check {
            group: g,
            id: "messages",
            name: "POST /v1/messages (non-streaming)",
        },
        Probe::Messages,
        "HTTP 200, a message (its content blocks, or null when the budget ended before any)",
        message,
    );
    j.http(
        Check {
            group: g,
            id: "stream",
            name: "POST /v1/messages (streaming) sends the event sequence",
        },
        Probe::MessagesStream,
        "HTTP 200, events message_start … message_delta, message_stop",
        |status, content_type, body| {
            need_status(status, 200)?;
            event_stream(content_type)?;
            let events: Vec<(String, Json)> = sse::frames(body)
                .into_iter()
                .map(|f| {
                    let data = serde_json::from_str(&f.data).unwrap_or(Json::Null);
                    (f.event.unwrap_or_default(), data)
                })
                .collect();
            message_events(&events)
        },
    );
    j.http(
        Check {
            group: g,
            id: "system",
            name: "POST /v1/messages with a system prompt",
        },
        Probe::MessagesSystem,
        "HTTP 200, a message (its content blocks, or null when the budget ended before any)",
        message,
    );
    j.http(
        Check {
            group: g,
            id: "error",
            name: "POST /v1/messages answers a bad request with an Anthropic error",
        },
        Probe::MessagesError,
        "HTTP 4xx, {\"type\":\"error\",\"error\":{…}}",
        |status, _, body| {
            if !(400..500).contains(&status) {
                return Err(format!("HTTP {status}"));
            }
            let json = parse_json(body).map_err(|_| format!("HTTP {status}"))?;
            if json["type"] != "error" {
                return Err(format!("HTTP {status}"));
            }
            Ok(format!(
                "HTTP {status} {}: {}",
                json["error"]["type"].as_str().unwrap_or("?"),
                one_line(json["error"]["message"].as_str().unwrap_or(""), 60)
            ))
        },
    );
    j.http(
        Check {
            group: g,
            id: "multi_turn",
            name: "POST /v1/messages multi-turn conversation",
        },
        Probe::MessagesMultiTurn,
        "HTTP 200, a message (its content blocks, or null when the budget ended before any)",
        message,
    );
    j.http(
        Check {
            group: g,
            id: "stream_usage",
            name: "streaming reports usage in message_delta",
        },
        Probe::MessagesStream,
        "`usage.output_tokens` in the message_delta event",
        |status, _, body| {
            need_status(status, 200)?;
            let delta = sse::frames(body)
                .into_iter()
                .find(|f| f.event.as_deref() == Some("message_delta"))
                .ok_or_else(|| "no message_delta event".to_owned())?;
            let json = parse_json(&delta.data)?;
            json["usage"]["output_tokens"]
                .as_u64()
                .map(|n| format!("output_tokens {n}"))
                .ok_or_else(|| "message_delta has no usage.output_tokens".to_owned())
        },
    );
}

fn errors(j: &mut Judge<'_>) {
    let g = Group::Errors;
    j.http(
        Check {
            group: g,
            id: "unknown_model",
            name: "a nonexistent model answers 404",
        },
        Probe::UnknownModel,
        "HTTP 404",
        |status, _, body| {
            need_status(status, 404)?;
            Ok(format!("HTTP 404: {}", one_line(body, 80)))
        },
    );
    j.http(
        Check {
            group: g,
            id: "malformed",
            name: "a malformed request answers 400",
        },
        Probe::Malformed,
        "HTTP 400",
        |status, _, body| {
            need_status(status, 400)?;
            Ok(format!("HTTP 400: {}", one_line(body, 80)))
        },
    );
}

/// Whether the mode bits let `uid` read a file of `owner` (group bits are not considered).
fn readable(uid: u32, owner: u32, mode: u32) -> bool {
    uid == 0 || (owner == uid && mode & 0o400 != 0) || mode & 0o004 != 0
}

fn security(j: &mut Judge<'_>) {
    let g = Group::Security;
    let (expected, wanted_user) = match &j.desired.service.mode {
        Mode::Agent => ("a user other than root".to_owned(), None),
        Mode::Daemon { user } => (format!("user {user}"), Some(user.clone())),
    };
    let check = Check {
        group: g,
        id: "process_user",
        name: "Ollama does not run as root",
    };
    let pid = j
        .loaded()
        .filter(|job| job.state.as_deref() == Some("running"))
        .and_then(|job| job.pid);
    let found = match (pid, &j.facts.processes) {
        (None, _) => skip("the job is not running", "fix `service.process` first"),
        (Some(_), Knowable::Unknown { reason }) => {
            fail(format!("unknown: {reason}"), "run `ps -axo pid,user,comm`")
        }
        (Some(pid), Knowable::Known(list)) => match list.iter().find(|p| p.pid == pid) {
            None => fail(
                format!("pid {pid} is not in `ps`"),
                "run `ssollama verify` again; the server may be restarting",
            ),
            Some(p) if p.user == "root" => fail(
                format!("root (pid {pid})"),
                "a server running as root exposes root to the network and keeps its models in root's home; use mode = \"agent\", or a daemon with `service.user`, and `ssollama apply`",
            ),
            Some(p) if wanted_user.as_ref().is_some_and(|u| *u != p.user) => fail(
                format!("{} (pid {pid})", p.user),
                "the loaded job runs as another user than `service.user`: `ssollama apply` reloads it",
            ),
            Some(p) => Found::Pass(format!("{} (pid {pid})", p.user)),
        },
    };
    j.push(check, &expected, found, None);

    let check = Check {
        group: g,
        id: "logs",
        name: "log files exist and are readable",
    };
    let uid = j.facts.observed.host.uid;
    let mut problems = Vec::new();
    let mut fine = Vec::new();
    for log in &j.facts.observed.logs {
        match log.meta {
            None => problems.push(format!("`{}` does not exist", log.path.display())),
            Some(meta) if !readable(uid, meta.owner, meta.mode) => problems.push(format!(
                "`{}` is not readable (owner uid {}, mode {:o})",
                log.path.display(),
                meta.owner,
                meta.mode
            )),
            Some(_) => fine.push(format!("`{}`", log.path.display())),
        }
    }
    fine.dedup();
    let found = if problems.is_empty() {
        Found::Pass(fine.join(", "))
    } else {
        fail(
            problems.join("; "),
            "launchd creates them when the job starts: is it running? Check `[logs]` and the directories' permissions",
        )
    };
    j.push(check, "both log files, readable by you", found, None);

    let owner = j.desired.service.mode.plist_owner(uid);
    let check = Check {
        group: g,
        id: "plist",
        name: "plist is yours and not writable by others",
    };
    let expected = format!("owner uid {owner}, not group- or world-writable");
    let found = match &j.facts.observed.plist {
        PlistFile::Absent { path } => fail(
            format!("`{}` does not exist", path.display()),
            "run `ssollama apply`",
        ),
        PlistFile::Unreadable { path, reason } => fail(
            format!("`{}` cannot be read: {reason}", path.display()),
            "check its permissions",
        ),
        PlistFile::Present {
            owner: file_owner,
            mode,
            ..
        } => {
            if *file_owner != owner {
                fail(
                    format!("owner uid {file_owner}, mode {mode:o}"),
                    "launchd refuses it; `ssollama apply` rewrites it with the right owner",
                )
            } else if others_may_write(*mode) {
                fail(
                    format!("owner uid {file_owner}, mode {mode:o}"),
                    "launchd refuses it; `ssollama apply` rewrites it with mode 644",
                )
            } else {
                Found::Pass(format!("owner uid {file_owner}, mode {mode:o}"))
            }
        }
    };
    j.push(check, &expected, found, None);

    let host = j.desired.listen.ollama_host();
    let name = format!("loaded OLLAMA_HOST is {host}");
    let check = Check {
        group: g,
        id: "ollama_host",
        name: &name,
    };
    let found = match j.loaded() {
        None => skip("the job is not loaded", "fix `service.job_loaded` first"),
        Some(job) => match job.environment.get("OLLAMA_HOST") {
            // Another spelling of the same bind (`192.168.250.20` for `…:11434`) passes.
            Some(value) if crate::ollama::env::same_meaning("OLLAMA_HOST", value, &host) => {
                Found::Pass(value.clone())
            }
            Some(value) => fail(
                value.clone(),
                "the loaded job binds elsewhere: `ssollama apply` rewrites and reloads it",
            ),
            None => fail(
                "not set (Ollama binds 127.0.0.1:11434)",
                "`ssollama apply` rewrites and reloads the job",
            ),
        },
    };
    j.push(check, &host, found, None);
}

/// The `NAME` lsof prints for a socket bound to the declared address.
fn lsof_address(desired: &Desired) -> String {
    let port = desired.listen.port;
    match desired.listen.host {
        host if host.is_unspecified() => format!("*:{port}"),
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn network(j: &mut Judge<'_>) {
    let g = Group::Network;
    let wanted = lsof_address(j.desired);
    let name = format!("bound to {wanted}");
    let check = Check {
        group: g,
        id: "bind",
        name: &name,
    };
    let found = match (j.job_listeners(), &j.facts.listeners) {
        (_, Knowable::Unknown { reason }) => fail(
            format!("unknown: {reason}"),
            "run `lsof -nP -iTCP -sTCP:LISTEN`",
        ),
        (None, _) => fail("unknown", "run `lsof -nP -iTCP -sTCP:LISTEN`"),
        (Some(mine), _) if mine.iter().any(|l| l.address == wanted) => Found::Pass(wanted.clone()),
        (Some(mine), _) if mine.is_empty() => {
            if j.loaded().and_then(|job| job.pid).is_none() {
                skip("the job is not running", "fix `service.process` first")
            } else {
                fail(
                    "the job listens nowhere on this port",
                    format!("see the log `{}`", j.stderr_log()),
                )
            }
        }
        (Some(mine), _) => fail(
            mine.iter()
                .map(|l| l.address.clone())
                .collect::<Vec<_>>()
                .join(", "),
            "the job binds another address: `ssollama apply` rewrites OLLAMA_HOST and reloads it",
        ),
    };
    j.push(check, &wanted, found, None);

    let port = j.desired.listen.port;
    let loopback = match j.desired.listen.host {
        IpAddr::V4(_) => format!("127.0.0.1:{port}"),
        IpAddr::V6(_) => format!("[::1]:{port}"),
    };
    let name = format!("{loopback} refuses connections (dedicated address only)");
    let check = Check {
        group: g,
        id: "loopback",
        name: &name,
    };
    let expected = "connection refused";
    let root_answers = j
        .facts
        .http
        .get(&Probe::Root)
        .is_some_and(|e| matches!(e.outcome, Outcome::Answered { .. }));
    if is_dedicated(j.desired.listen.host) {
        let exchange = j.facts.http.get(&Probe::Loopback);
        let found = match exchange.map(|e| &e.outcome) {
            None => skip("the request was not sent", "run `ssollama verify` again"),
            // Nothing listens at all: a refusal on loopback proves nothing about the bind.
            Some(Outcome::Failed { reason }) if !root_answers => skip(
                format!(
                    "nothing answers at {} either ({reason}): a refusal proves nothing",
                    j.facts.url
                ),
                "fix `service.http` first",
            ),
            // Only a refusal proves nothing listens; a timeout or a reset could hide a server.
            Some(Outcome::Failed { reason }) if reason.to_ascii_lowercase().contains("refused") => {
                Found::Pass(format!("no answer: {reason}"))
            }
            Some(Outcome::Failed { reason }) => skip(
                format!("cannot tell: {reason}"),
                "check by hand with `curl http://127.0.0.1:<port>/`: it must be refused",
            ),
            Some(Outcome::Answered { status, .. }) => fail(
                format!("HTTP {status}"),
                format!(
                    "something serves Ollama's port on loopback although listen.host is {}: a second server (Ollama.app, `brew services`, `ollama serve`) or a job bound to 0.0.0.0",
                    j.desired.listen.host
                ),
            ),
        };
        j.push(check, expected, found, exchange);
    } else {
        j.push(
            check,
            expected,
            skip(
                format!(
                    "listen.host is {}: loopback clients are meant to reach it",
                    j.desired.listen.host
                ),
                "bind a dedicated address in [listen] to check this",
            ),
            None,
        );
    }

    let check = Check {
        group: g,
        id: "static_ip",
        name: "static IPv4 is configured as declared",
    };
    let Some(spec) = &j.desired.network else {
        j.push(
            check,
            "[network] in server.toml",
            skip(
                "no [network] in server.toml",
                "declare [network] to manage and check the static IP",
            ),
            None,
        );
        j.push(
            Check {
                group: g,
                id: "router",
                name: "router answers ping",
            },
            "a reply",
            skip(
                "no [network] in server.toml",
                "declare [network] with its router to check it",
            ),
            None,
        );
        return;
    };
    let dns = spec.dns.as_ref().map(|servers| {
        servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let mut expected = format!(
        "{} {} mask {} router {} on {:?}",
        IpMethod::Manual.label(),
        spec.address,
        spec.subnet_mask,
        spec.router,
        spec.service
    );
    if let Some(dns) = &dns {
        let _ = write!(
            expected,
            ", DNS {}",
            if dns.is_empty() { "(none)" } else { dns }
        );
    }
    let found = match &j.facts.observed.network {
        None | Some(Knowable::Unknown { .. }) => {
            let reason = match &j.facts.observed.network {
                Some(Knowable::Unknown { reason }) => reason.clone(),
                _ => "not observed".to_owned(),
            };
            fail(
                format!("unknown: {reason}"),
                format!("run `networksetup -getinfo {:?}`", spec.service),
            )
        }
        Some(Knowable::Known(state)) => match &state.info {
            None => fail(
                format!("network service {:?} does not exist", spec.service),
                "set `network.service` to a name from `networksetup -listallnetworkservices`",
            ),
            Some(Knowable::Unknown { reason }) => fail(
                format!("unknown: {reason}"),
                format!("run `networksetup -getinfo {:?}`", spec.service),
            ),
            Some(Knowable::Known(info)) => {
                let show = |a: Option<std::net::Ipv4Addr>| {
                    a.map_or_else(|| "none".to_owned(), |a| a.to_string())
                };
                let mut received = format!(
                    "{} {} mask {} router {}",
                    info.method.label(),
                    show(info.address),
                    show(info.subnet_mask),
                    show(info.router)
                );
                let ip_ok = spec.ip_differences(info).is_empty();
                let dns_ok = match (&spec.dns, &state.dns) {
                    (None, _) => true,
                    (Some(_), Some(Knowable::Known(have))) => {
                        let shown = have
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" ");
                        let _ = write!(
                            received,
                            ", DNS {}",
                            if shown.is_empty() { "(none)" } else { &shown }
                        );
                        spec.dns_matches(have)
                    }
                    (Some(_), _) => {
                        received.push_str(", DNS unknown");
                        false
                    }
                };
                if ip_ok && dns_ok {
                    Found::Pass(received)
                } else {
                    fail(
                        received,
                        "`ssollama apply` sets it (networksetup -setmanual / -setdnsservers)",
                    )
                }
            }
        },
    };
    j.push(check, &expected, found, None);

    let name = format!("router {} answers ping", spec.router);
    let check = Check {
        group: g,
        id: "router",
        name: &name,
    };
    let found = if j.options.skip_router {
        skip("left out by --skip-router", "run without --skip-router")
    } else {
        match &j.facts.ping {
            None => skip("ping was not run", "run `ssollama verify` again"),
            Some(PingOutcome::Ran {
                status: Some(0),
                last_line,
            }) => Found::Pass(last_line.clone()),
            Some(PingOutcome::Ran { status, last_line }) => fail(
                format!(
                    "no reply (exit {}): {last_line}",
                    status.map_or_else(|| "signal".to_owned(), |s| s.to_string())
                ),
                "check the cable, the router and `network.router`",
            ),
            Some(PingOutcome::Failed { reason }) => {
                fail(format!("could not run ping: {reason}"), "check /sbin/ping")
            }
        }
    };
    j.push(check, "a reply", found, None);
}
