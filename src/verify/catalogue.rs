//! The catalogue of probes: every HTTP request `verify` can send, as data — its group, method,
//! path, body, whether it needs or runs a model, its token budget and when it is sent. Pure:
//! [`super::probe()`] executes the catalogue, [`super::judge()`] reads it (to tell why a probe
//! was not sent, or what budget JSON mode had); neither imports the other.
//!
//! A new probe is a [`Probe`] variant, its [`spec`] (an exhaustive match: the compiler asks for
//! it) and its place in [`SENT`].

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Group, ModelKind, Options, Probe};

/// Limit for a request that runs a model (it may have to load first).
pub(crate) const MODEL_TIMEOUT: Duration = Duration::from_mins(1);
/// Limit for every other request.
pub(crate) const SHORT_TIMEOUT: Duration = Duration::from_secs(5);
/// A model name no server has (for the 404 check).
pub(crate) const NONEXISTENT_MODEL: &str = "ssollama-verify-no-such-model:latest";
/// The body of the malformed request (for the 400 check): JSON cut short.
pub(crate) const MALFORMED_BODY: &str = "{\"model\": ";
/// `max_tokens` of JSON mode: one token cannot hold a JSON object.
pub(crate) const JSON_MODE_MAX_TOKENS: u32 = 32;
/// What JSON mode adds for a model that cannot stop thinking (gpt-oss at `low` effort thinks a
/// few dozen tokens before the grammar starts; `specs/verify.md`).
pub(crate) const THINKING_ALLOWANCE: u32 = 480;

/// The `anthropic-version` Claude Code sends (Anthropic's only API version).
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The headers of a request shaped like Claude Code's: its API version, its key (Claude Code
/// sends `ANTHROPIC_AUTH_TOKEN` as a bearer token) and a beta flag. Ollama reads none of them
/// (`docs/ollama.md §13`).
const CLAUDE_CODE_HEADERS: &[(&str, &str)] = &[
    ("anthropic-version", ANTHROPIC_VERSION),
    ("anthropic-beta", "prompt-caching-2024-07-31"),
    ("authorization", "Bearer ollama"),
    ("x-app", "cli"),
];
/// How many lines the long prefix of the prompt-reuse probes has (about 2,000 tokens: enough to
/// measure a prefill rate, cheap on a real server).
pub(crate) const PREFIX_LINES: u32 = 100;

/// Every probe, in the order they are sent.
pub(crate) const SENT: [Probe; 20] = [
    Probe::Root,
    Probe::Loopback,
    Probe::ModelsList,
    Probe::ModelRetrieve,
    Probe::Chat,
    Probe::ChatStream,
    Probe::JsonMode,
    Probe::Responses,
    Probe::Messages,
    Probe::MessagesStream,
    Probe::MessagesSystem,
    Probe::MessagesMultiTurn,
    Probe::MessagesError,
    Probe::UnknownModel,
    Probe::Malformed,
    Probe::ClaudeCode,
    Probe::CountTokens,
    Probe::PrefixFirst,
    Probe::PrefixSecond,
    Probe::Loaded,
];

/// One probe, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spec {
    /// What it asks, for logs.
    pub name: &'static str,
    /// The group of checks that reads its reply.
    pub group: Group,
    /// `GET` or `POST`.
    pub method: Method,
    /// Where it is sent.
    pub path: Path,
    /// Headers besides `content-type` (Claude Code's, for the probes shaped like it).
    pub headers: &'static [(&'static str, &'static str)],
    /// What it sends.
    pub body: Body,
    /// Whether it needs the chosen model (its checks skip without one).
    pub needs_model: bool,
    /// Whether it runs the model (and so gets [`MODEL_TIMEOUT`]).
    pub runs_model: bool,
    /// How many tokens it lets the model produce (`None`: no limit sent).
    pub budget: Option<Budget>,
    /// When it is sent.
    pub stage: Stage,
}

/// The HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// `GET`, `POST`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// The request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// This path.
    Fixed(&'static str),
    /// `/v1/models/{model}`, the chosen model.
    Model,
}

/// The request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// None.
    Empty,
    /// This text, as is (not JSON).
    Text(&'static str),
    /// A JSON request of one of the APIs.
    Json(JsonBody),
}

/// The inputs of a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonBody {
    /// Which API's shape.
    pub api: Api,
    /// The model named in it.
    pub model: ModelRef,
    /// What it asks.
    pub prompt: Prompt,
    /// Anthropic's `system`.
    pub system: Option<&'static str>,
    /// `stream` (and `stream_options.include_usage`).
    pub stream: Stream,
    /// `response_format: {"type": "json_object"}`.
    pub json_object: bool,
    /// Whether it asks the model not to think, or to think less (see [`request`]).
    pub tame_thinking: bool,
}

/// The API a JSON body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `OpenAI` `/v1/chat/completions`.
    Chat,
    /// `OpenAI` `/v1/responses`.
    Responses,
    /// Anthropic `/v1/messages`.
    Messages,
    /// Ollama's native `/api/chat`, which reports `prompt_eval_duration`.
    NativeChat,
}

/// The model a body names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelRef {
    /// The model the model tests use.
    Chosen,
    /// [`NONEXISTENT_MODEL`].
    Nonexistent,
}

/// What a body asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prompt {
    /// `Say OK.`
    SayOk,
    /// Reply with a JSON object.
    JsonObject,
    /// A user/assistant/user conversation.
    Conversation,
    /// Claude Code's shape: `system` as text blocks with `cache_control`, a declared tool.
    ClaudeCode,
    /// A long system prompt unique to this run ([`long_prefix`]), then a question; `second`
    /// asks another question after the same prefix.
    LongPrefix {
        /// The second request of the pair.
        second: bool,
    },
}

/// The `stream` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Not sent.
    Unset,
    /// `false`.
    Off,
    /// `true`.
    On,
    /// `true`, with `stream_options.include_usage`.
    OnWithUsage,
}

/// How many tokens a request lets the model produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// One token: cheap on a real server.
    One,
    /// Room for a JSON object ([`json_mode_budget`]).
    JsonMode,
}

impl Budget {
    /// The number of tokens, for a model of `kind`.
    pub(crate) fn tokens(self, kind: ModelKind) -> u32 {
        match self {
            Self::One => 1,
            Self::JsonMode => json_mode_budget(kind),
        }
    }
}

/// When a probe is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// First, at the declared address.
    First,
    /// At loopback, when the declared address is dedicated ([`is_dedicated`]).
    Dedicated,
    /// Once the server answers, unless the options leave it out ([`planned_probes`]).
    Answers,
}

/// `max_tokens` of JSON mode for a model of `kind`.
pub(crate) fn json_mode_budget(kind: ModelKind) -> u32 {
    match kind {
        ModelKind::Harmony => JSON_MODE_MAX_TOKENS + THINKING_ALLOWANCE,
        ModelKind::Plain | ModelKind::Thinking | ModelKind::Unknown => JSON_MODE_MAX_TOKENS,
    }
}

/// A request to the chosen model.
const fn ask(api: Api, prompt: Prompt, stream: Stream) -> JsonBody {
    JsonBody {
        api,
        model: ModelRef::Chosen,
        prompt,
        system: None,
        stream,
        json_object: false,
        tame_thinking: true,
    }
}

/// The catalogue entry of `probe`.
#[expect(clippy::too_many_lines, reason = "one table, one entry per probe")]
pub(crate) fn spec(probe: Probe) -> Spec {
    let get = |name, group, path, needs_model, stage| Spec {
        name,
        group,
        method: Method::Get,
        path,
        headers: &[],
        body: Body::Empty,
        needs_model,
        runs_model: false,
        budget: None,
        stage,
    };
    let run = |name, group, body, budget| Spec {
        name,
        group,
        method: Method::Post,
        path: Path::Fixed(match body {
            Body::Json(JsonBody {
                api: Api::Responses,
                ..
            }) => "/v1/responses",
            Body::Json(JsonBody {
                api: Api::Messages, ..
            }) => "/v1/messages",
            Body::Json(JsonBody {
                api: Api::NativeChat,
                ..
            }) => "/api/chat",
            _ => "/v1/chat/completions",
        }),
        headers: &[],
        body,
        needs_model: true,
        runs_model: true,
        budget: Some(budget),
        stage: Stage::Answers,
    };
    let refused = |name, group, body, budget| Spec {
        needs_model: false,
        runs_model: false,
        budget,
        ..run(name, group, body, Budget::One)
    };
    let say = |api, stream| Body::Json(ask(api, Prompt::SayOk, stream));
    match probe {
        Probe::Root => get(
            "GET / at the declared address",
            Group::Service,
            Path::Fixed("/"),
            false,
            Stage::First,
        ),
        Probe::Loopback => get(
            "GET / at loopback",
            Group::Network,
            Path::Fixed("/"),
            false,
            Stage::Dedicated,
        ),
        Probe::ModelsList => get(
            "GET /v1/models",
            Group::Openai,
            Path::Fixed("/v1/models"),
            false,
            Stage::Answers,
        ),
        Probe::ModelRetrieve => get(
            "GET /v1/models/{model}",
            Group::Openai,
            Path::Model,
            true,
            Stage::Answers,
        ),
        Probe::Chat => run(
            "chat completion",
            Group::Openai,
            say(Api::Chat, Stream::Off),
            Budget::One,
        ),
        Probe::ChatStream => run(
            "streamed chat completion with usage",
            Group::Openai,
            say(Api::Chat, Stream::OnWithUsage),
            Budget::One,
        ),
        Probe::JsonMode => run(
            "chat completion in JSON mode",
            Group::Openai,
            Body::Json(JsonBody {
                json_object: true,
                ..ask(Api::Chat, Prompt::JsonObject, Stream::Off)
            }),
            Budget::JsonMode,
        ),
        // Ollama passes `max_output_tokens` on as `num_predict` and accepts 1 (OpenAI's own API
        // wants at least 16; Ollama does not check).
        Probe::Responses => run(
            "response",
            Group::Openai,
            say(Api::Responses, Stream::Unset),
            Budget::One,
        ),
        Probe::Messages => run(
            "message",
            Group::Anthropic,
            say(Api::Messages, Stream::Unset),
            Budget::One,
        ),
        Probe::MessagesStream => run(
            "streamed message",
            Group::Anthropic,
            say(Api::Messages, Stream::On),
            Budget::One,
        ),
        Probe::MessagesSystem => run(
            "message with a system prompt",
            Group::Anthropic,
            Body::Json(JsonBody {
                system: Some("You answer in one word."),
                ..ask(Api::Messages, Prompt::SayOk, Stream::Unset)
            }),
            Budget::One,
        ),
        Probe::MessagesMultiTurn => run(
            "multi-turn message",
            Group::Anthropic,
            Body::Json(ask(Api::Messages, Prompt::Conversation, Stream::Unset)),
            Budget::One,
        ),
        // No `max_tokens`: Ollama refuses it before looking at the model.
        Probe::MessagesError => refused(
            "message without max_tokens",
            Group::Anthropic,
            Body::Json(JsonBody {
                tame_thinking: false,
                ..ask(Api::Messages, Prompt::SayOk, Stream::Unset)
            }),
            None,
        ),
        Probe::UnknownModel => refused(
            "chat completion for a model that does not exist",
            Group::Errors,
            Body::Json(JsonBody {
                model: ModelRef::Nonexistent,
                tame_thinking: false,
                ..ask(Api::Chat, Prompt::SayOk, Stream::Unset)
            }),
            Some(Budget::One),
        ),
        Probe::Malformed => refused(
            "chat completion whose body is not JSON",
            Group::Errors,
            Body::Text(MALFORMED_BODY),
            None,
        ),
        // Claude Code appends `?beta=true` and sends its headers; Ollama ignores both.
        Probe::ClaudeCode => Spec {
            path: Path::Fixed("/v1/messages?beta=true"),
            headers: CLAUDE_CODE_HEADERS,
            ..run(
                "message shaped like Claude Code's",
                Group::Anthropic,
                Body::Json(ask(Api::Messages, Prompt::ClaudeCode, Stream::On)),
                Budget::One,
            )
        },
        // Claude Code counts tokens before it compacts; Ollama has no such route (404).
        Probe::CountTokens => Spec {
            path: Path::Fixed("/v1/messages/count_tokens?beta=true"),
            headers: CLAUDE_CODE_HEADERS,
            needs_model: true,
            ..refused(
                "token count",
                Group::Anthropic,
                Body::Json(JsonBody {
                    tame_thinking: false,
                    ..ask(Api::Messages, Prompt::ClaudeCode, Stream::Unset)
                }),
                None,
            )
        },
        Probe::PrefixFirst => run(
            "native chat with a long prefix",
            Group::Clients,
            Body::Json(ask(
                Api::NativeChat,
                Prompt::LongPrefix { second: false },
                Stream::Off,
            )),
            Budget::One,
        ),
        Probe::PrefixSecond => run(
            "native chat with the same long prefix",
            Group::Clients,
            Body::Json(ask(
                Api::NativeChat,
                Prompt::LongPrefix { second: true },
                Stream::Off,
            )),
            Budget::One,
        ),
        Probe::Loaded => get(
            "GET /api/ps",
            Group::Clients,
            Path::Fixed("/api/ps"),
            false,
            Stage::Answers,
        ),
    }
}

/// The long system prompt of the prompt-reuse probes: [`PREFIX_LINES`] numbered rules after a
/// first line naming `run`, so that no earlier run of `verify` left it in the server's cache
/// and the first request processes all of it.
pub(crate) fn long_prefix(run: u64) -> String {
    let mut text = format!("Review session {run}. Follow these rules.\n");
    for line in 1..=PREFIX_LINES {
        let _ = writeln!(
            text,
            "Rule {line}: keep each function short, name things plainly, and test what you change."
        );
    }
    text
}

/// What a probe sends, ready for the HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// `GET`, `POST`.
    pub method: &'static str,
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The body, if any.
    pub body: Option<String>,
    /// Headers besides `content-type`.
    pub headers: &'static [(&'static str, &'static str)],
    /// How long to wait for the reply.
    pub timeout: Duration,
}

/// The request `probe` sends to `model` of `kind`. Thinking is turned off where the API allows
/// (`reasoning_effort: "none"`, Anthropic `thinking: {"type": "disabled"}`; servers that do not
/// know them ignore them, and a model without the capability is not asked to think); gpt-oss,
/// which cannot turn it off, is asked for the `low` level instead. `run` tells this run's long
/// prefix from an earlier run's ([`long_prefix`]).
pub(crate) fn request(probe: Probe, model: &str, kind: ModelKind, run: u64) -> Request {
    let spec = spec(probe);
    let path = match spec.path {
        Path::Fixed(path) => path.to_owned(),
        Path::Model => format!("/v1/models/{model}"),
    };
    let body = match spec.body {
        Body::Empty => None,
        Body::Text(text) => Some(text.to_owned()),
        Body::Json(inputs) => Some(json_body(&inputs, spec.budget, model, kind, run).to_string()),
    };
    Request {
        method: spec.method.as_str(),
        path,
        body,
        headers: spec.headers,
        timeout: if spec.runs_model {
            MODEL_TIMEOUT
        } else {
            SHORT_TIMEOUT
        },
    }
}

/// The JSON body built from `inputs`.
fn json_body(
    inputs: &JsonBody,
    budget: Option<Budget>,
    model: &str,
    kind: ModelKind,
    run: u64,
) -> Value {
    let mut body = json!({
        "model": match inputs.model {
            ModelRef::Chosen => model,
            ModelRef::Nonexistent => NONEXISTENT_MODEL,
        },
    });
    let messages = match inputs.prompt {
        Prompt::SayOk => json!([{ "role": "user", "content": "Say OK." }]),
        Prompt::JsonObject => {
            json!([{ "role": "user", "content": "Reply with the JSON object {\"ok\": true}." }])
        }
        Prompt::Conversation => json!([
            { "role": "user", "content": "My name is Ada." },
            { "role": "assistant", "content": "Hello Ada." },
            { "role": "user", "content": "What is my name?" },
        ]),
        Prompt::ClaudeCode => {
            body["system"] = json!([
                { "type": "text", "text": "You are Claude Code, a coding assistant." },
                {
                    "type": "text",
                    "text": "Answer in one word.",
                    "cache_control": { "type": "ephemeral" },
                },
            ]);
            body["tools"] = json!([{
                "name": "Read",
                "description": "Reads a file.",
                "input_schema": {
                    "type": "object",
                    "properties": { "file_path": { "type": "string" } },
                    "required": ["file_path"],
                },
            }]);
            json!([{
                "role": "user",
                "content": [{ "type": "text", "text": "Say OK." }],
            }])
        }
        Prompt::LongPrefix { second } => json!([
            { "role": "system", "content": long_prefix(run) },
            {
                "role": "user",
                "content": if second { "Which rule is the last one?" } else { "Which rule is the first one?" },
            },
        ]),
    };
    if inputs.api == Api::Responses {
        body["input"] = json!("Say OK.");
    } else {
        body["messages"] = messages;
    }
    if let Some(budget) = budget {
        let tokens = json!(budget.tokens(kind));
        match inputs.api {
            Api::Responses => body["max_output_tokens"] = tokens,
            Api::NativeChat => body["options"] = json!({ "num_predict": tokens }),
            Api::Chat | Api::Messages => body["max_tokens"] = tokens,
        }
    }
    if let Some(system) = inputs.system {
        body["system"] = json!(system);
    }
    match inputs.stream {
        Stream::Unset => {}
        Stream::Off => body["stream"] = json!(false),
        Stream::On => body["stream"] = json!(true),
        Stream::OnWithUsage => {
            body["stream"] = json!(true);
            body["stream_options"] = json!({ "include_usage": true });
        }
    }
    if inputs.json_object {
        body["response_format"] = json!({ "type": "json_object" });
    }
    if inputs.tame_thinking {
        let harmony = kind == ModelKind::Harmony;
        let effort = if harmony { "low" } else { "none" };
        match inputs.api {
            Api::Chat => body["reasoning_effort"] = json!(effort),
            Api::Responses => body["reasoning"] = json!({ "effort": effort }),
            Api::Messages if harmony => body["output_config"] = json!({ "effort": effort }),
            Api::Messages => body["thinking"] = json!({ "type": "disabled" }),
            Api::NativeChat if harmony => body["think"] = json!(effort),
            Api::NativeChat => body["think"] = json!(false),
        }
    }
    body
}

/// Whether `host` is a dedicated address: neither every interface nor the loopback address that
/// local clients use by default. Only then is [`Probe::Loopback`] sent, and must
/// `127.0.0.1:<port>` refuse connections.
pub(crate) fn is_dedicated(host: IpAddr) -> bool {
    !host.is_unspecified()
        && host != IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        && host != IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
}

/// The probes to send once the server answers, in order: those of [`Stage::Answers`], less the
/// model probes without a model or with `--skip-model-tests`, and the Anthropic probes with
/// `--skip-anthropic-tests`.
pub(crate) fn planned_probes(options: &Options, have_model: bool) -> Vec<Probe> {
    let models = have_model && !options.skip_model_tests;
    SENT.into_iter()
        .filter(|probe| {
            let spec = spec(*probe);
            spec.stage == Stage::Answers
                && (models || !spec.needs_model)
                && !(options.skip_anthropic_tests && spec.group == Group::Anthropic)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_probe_is_sent_once_and_only_model_probes_run_a_model() {
        assert_eq!(SENT.iter().collect::<BTreeSet<_>>().len(), SENT.len());
        for probe in SENT {
            let spec = spec(probe);
            assert!(!spec.runs_model || spec.needs_model, "{probe:?}");
            assert_eq!(spec.runs_model, spec.budget.is_some() && spec.needs_model);
        }
    }

    #[test]
    fn every_request_body_is_json_except_the_malformed_one() {
        for probe in SENT {
            let request = request(probe, "llama3.2:latest", ModelKind::Plain, 1);
            let Some(body) = request.body else {
                assert_eq!(request.method, "GET", "{probe:?}");
                continue;
            };
            assert_eq!(request.method, "POST");
            match serde_json::from_str::<Value>(&body) {
                Ok(body) => assert!(body["model"].is_string(), "{probe:?}"),
                Err(_) => assert_eq!(probe, Probe::Malformed),
            }
        }
    }

    #[test]
    fn model_requests_ask_for_one_token_except_json_mode() {
        for probe in [
            Probe::Chat,
            Probe::ChatStream,
            Probe::Messages,
            Probe::MessagesStream,
        ] {
            let body = request(probe, "m", ModelKind::Thinking, 1).body.unwrap();
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["max_tokens"], 1, "{probe:?}");
        }
        let body = request(Probe::Responses, "m", ModelKind::Plain, 1).body;
        assert!(body.unwrap().contains("\"max_output_tokens\":1"));
    }

    #[test]
    fn skips_leave_out_their_probes() {
        let all = planned_probes(&Options::default(), true);
        assert!(all.contains(&Probe::Chat) && all.contains(&Probe::Messages));
        let no_models = planned_probes(
            &Options {
                skip_model_tests: true,
                ..Options::default()
            },
            true,
        );
        assert!(!no_models.iter().any(|p| spec(*p).runs_model));
        assert!(no_models.contains(&Probe::MessagesError));
        let no_anthropic = planned_probes(
            &Options {
                skip_anthropic_tests: true,
                ..Options::default()
            },
            true,
        );
        assert!(!no_anthropic.contains(&Probe::MessagesError));
        assert!(no_anthropic.contains(&Probe::UnknownModel));
    }
}
