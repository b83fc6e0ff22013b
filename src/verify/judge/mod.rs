//! The pure half of `verify`: [`judge`] turns [`Facts`] into a [`Verdict`].
//!
//! No I/O, no clock: everything a check decides on is in its arguments, so every result can be
//! reproduced from crafted facts (`super::tests`). A check whose prerequisite failed (the
//! server does not answer, no model to test with) is a SKIP that names the prerequisite, so one
//! broken thing gives one FAIL, not thirty.
//!
//! One file per group of checks; this module is the driver and the machinery they share.

mod anthropic;
mod clients;
mod errors;
mod network;
mod openai;
mod replies;
mod security;
mod service;
mod text;

use std::collections::BTreeSet;

use super::catalogue;
use super::{CheckResult, Exchange, Facts, Group, Options, Outcome, Probe, Status, Verdict};
use crate::model::Knowable;
use crate::model::desired::Desired;
use crate::model::observed::{JobStatus, LoadedJob, ServerStatus};
use crate::process::Listener;
use text::{EXCERPT, describe, excerpt, trace};

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
    Warn {
        received: String,
        hint: String,
    },
}

fn fail(received: impl Into<String>, hint: impl Into<String>) -> Found {
    Found::Fail {
        received: received.into(),
        hint: Some(hint.into()),
    }
}

fn warn(received: impl Into<String>, hint: impl Into<String>) -> Found {
    Found::Warn {
        received: received.into(),
        hint: hint.into(),
    }
}

/// A pass when `ok`, else a warning with `hint`; `received` either way.
fn pass_or_warn(ok: bool, received: String, hint: &str) -> Found {
    if ok {
        Found::Pass(received)
    } else {
        warn(received, hint)
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
            Found::Warn { received, hint } => (Status::Warn, received, Some(hint)),
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
        let anthropic = catalogue::spec(probe).group == Group::Anthropic;
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
        } else if catalogue::spec(probe).needs_model {
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

    /// The skip of a model check when the model is not installed (`openai.model` fails).
    fn waits_for_model(&self) -> Found {
        let model = self.facts.model.as_ref().map_or("", |m| m.name.as_str());
        skip(
            format!("model `{model}` is not installed"),
            "fix `openai.model` first",
        )
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
            (404, _) if page_missing && catalogue::spec(probe).group == Group::Anthropic => format!(
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
        let (exchange, reply) = match self.reply(probe) {
            Ok(answered) => answered,
            Err((found, exchange)) => {
                self.push(check, expected, found, exchange);
                return;
            }
        };
        let Reply {
            status,
            content_type,
            body,
        } = reply;
        let found = match ok(status, content_type, body) {
            Ok(received) => Found::Pass(received),
            Err(problem) if (200..300).contains(&status) => Found::Fail {
                received: format!("{problem}: {}", excerpt(body, EXCERPT)),
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
                hint: Some(self.status_hint(probe, status, body)),
            },
        };
        self.push(check, expected, found, Some(exchange));
    }
}

impl<'a> Judge<'a> {
    /// The reply of `probe`, or how its check ends without one: not sent, the model is not
    /// installed (a skip that waits for `openai.model`), no answer (a failure).
    fn reply(
        &self,
        probe: Probe,
    ) -> Result<(&'a Exchange, Reply<'a>), (Found, Option<&'a Exchange>)> {
        let facts: &'a Facts = self.facts;
        let Some(exchange) = facts.http.get(&probe) else {
            return Err((self.not_sent(probe), None));
        };
        if catalogue::spec(probe).runs_model && self.model_missing(exchange) {
            return Err((self.waits_for_model(), Some(exchange)));
        }
        match &exchange.outcome {
            Outcome::Failed { reason } => Err((
                fail(
                    format!("no answer: {reason}"),
                    format!(
                        "the server stopped answering; see the log `{}`",
                        self.stderr_log()
                    ),
                ),
                Some(exchange),
            )),
            Outcome::Answered {
                status,
                content_type,
                body,
            } => Ok((
                exchange,
                Reply {
                    status: *status,
                    content_type: content_type.as_deref(),
                    body,
                },
            )),
        }
    }
}

/// An HTTP reply, as the checks read it.
#[derive(Clone, Copy)]
struct Reply<'a> {
    status: u16,
    content_type: Option<&'a str>,
    body: &'a str,
}

/// The group printed first.
const FIRST: Group = Group::Service;

/// The checks of `group` (its file's `checks`) and the group printed after it. The one
/// registration of a group of checks: the match is exhaustive, so a new [`Group`] does not
/// compile until it has its file and its place in the order here.
fn registered(group: Group) -> (fn(&mut Judge<'_>), Option<Group>) {
    match group {
        Group::Service => (service::checks, Some(Group::Openai)),
        Group::Openai => (openai::checks, Some(Group::Anthropic)),
        Group::Anthropic => (anthropic::checks, Some(Group::Errors)),
        Group::Errors => (errors::checks, Some(Group::Security)),
        Group::Security => (security::checks, Some(Group::Network)),
        Group::Network => (network::checks, Some(Group::Clients)),
        Group::Clients => (clients::checks, None),
    }
}

/// Judges every check, group by group in print order ([`registered`]).
pub(crate) fn judge(desired: &Desired, facts: &Facts, options: &Options) -> Verdict {
    let mut j = Judge {
        desired,
        facts,
        options,
        out: Vec::new(),
    };
    let mut next = Some(FIRST);
    while let Some(group) = next {
        let (checks, after) = registered(group);
        checks(&mut j);
        next = after;
    }
    Verdict {
        url: facts.url.clone(),
        model: facts.model.clone(),
        checks: j.out,
    }
}
