//! The effects of `verify`: observe, run `lsof`/`ps`/`ping`, send the HTTP requests, and
//! return [`Facts`]. Nothing here decides PASS or FAIL (that is [`super::judge()`]).
//!
//! Requests are sent one at a time (a real server runs one model request at a time anyway),
//! each with its own timeout: [`MODEL_TIMEOUT`] for requests that run a model, [`SHORT_TIMEOUT`]
//! for the rest. Model requests ask for one output token, so they are cheap on a real server.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::json;

use super::judge::{choose_model, installed_models, is_dedicated};
use super::{Exchange, Facts, ModelInfo, ModelKind, Options, Outcome, PingOutcome, Probe};
use crate::model::desired::Desired;
use crate::observe::{self, Scope, Settings};
use crate::ollama::client::Client;
use crate::process;

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
/// How many models without capabilities in `/api/tags` are asked `/api/show`.
pub(crate) const SHOW_LIMIT: usize = 32;

/// `max_tokens` of JSON mode for a model of `kind`.
pub(crate) fn json_mode_budget(kind: ModelKind) -> u32 {
    match kind {
        ModelKind::Harmony => JSON_MODE_MAX_TOKENS + THINKING_ALLOWANCE,
        ModelKind::Plain | ModelKind::Thinking | ModelKind::Unknown => JSON_MODE_MAX_TOKENS,
    }
}

/// The request a probe sends: method, path, body. Thinking is turned off where the API allows
/// (`reasoning_effort: "none"`, Anthropic `thinking: {"type": "disabled"}`; servers that do not
/// know them ignore them, and a model without the capability is not asked to think); gpt-oss,
/// which cannot turn it off, is asked for the `low` level instead.
pub(crate) fn request(
    probe: Probe,
    model: &str,
    kind: ModelKind,
) -> (&'static str, String, Option<String>) {
    let say = || json!([{ "role": "user", "content": "Say OK." }]);
    let post =
        |path: &str, body: serde_json::Value| ("POST", path.to_owned(), Some(body.to_string()));
    let effort = if kind == ModelKind::Harmony {
        "low"
    } else {
        "none"
    };
    let openai = |mut body: serde_json::Value| {
        body["reasoning_effort"] = json!(effort);
        post("/v1/chat/completions", body)
    };
    let anthropic = |mut body: serde_json::Value| {
        if kind == ModelKind::Harmony {
            body["output_config"] = json!({ "effort": effort });
        } else {
            body["thinking"] = json!({ "type": "disabled" });
        }
        post("/v1/messages", body)
    };
    match probe {
        Probe::Root | Probe::Loopback => ("GET", "/".to_owned(), None),
        Probe::ModelsList => ("GET", "/v1/models".to_owned(), None),
        Probe::ModelRetrieve => ("GET", format!("/v1/models/{model}"), None),
        Probe::Chat => {
            openai(json!({ "model": model, "messages": say(), "max_tokens": 1, "stream": false }))
        }
        Probe::ChatStream => openai(json!({
            "model": model, "messages": say(), "max_tokens": 1, "stream": true,
            "stream_options": { "include_usage": true },
        })),
        Probe::JsonMode => openai(json!({
            "model": model,
            "messages": [{ "role": "user", "content": "Reply with the JSON object {\"ok\": true}." }],
            "max_tokens": json_mode_budget(kind),
            "response_format": { "type": "json_object" },
            "stream": false,
        })),
        // Ollama passes `max_output_tokens` on as `num_predict` and accepts 1 (OpenAI's own API
        // wants at least 16; Ollama does not check).
        Probe::Responses => post(
            "/v1/responses",
            json!({
                "model": model, "input": "Say OK.", "max_output_tokens": 1,
                "reasoning": { "effort": effort },
            }),
        ),
        Probe::Messages => anthropic(json!({ "model": model, "max_tokens": 1, "messages": say() })),
        Probe::MessagesStream => {
            anthropic(json!({ "model": model, "max_tokens": 1, "messages": say(), "stream": true }))
        }
        Probe::MessagesSystem => anthropic(json!({
            "model": model, "max_tokens": 1, "system": "You answer in one word.",
            "messages": say(),
        })),
        // No `max_tokens`: Ollama refuses it before looking at the model.
        Probe::MessagesError => post("/v1/messages", json!({ "model": model, "messages": say() })),
        Probe::MessagesMultiTurn => anthropic(json!({
            "model": model, "max_tokens": 1,
            "messages": [
                { "role": "user", "content": "My name is Ada." },
                { "role": "assistant", "content": "Hello Ada." },
                { "role": "user", "content": "What is my name?" },
            ],
        })),
        Probe::UnknownModel => post(
            "/v1/chat/completions",
            json!({ "model": NONEXISTENT_MODEL, "messages": say(), "max_tokens": 1 }),
        ),
        Probe::Malformed => (
            "POST",
            "/v1/chat/completions".to_owned(),
            Some(MALFORMED_BODY.to_owned()),
        ),
    }
}

/// Whether a probe runs a model (and so uses [`MODEL_TIMEOUT`]).
pub(crate) fn runs_model(probe: Probe) -> bool {
    matches!(
        probe,
        Probe::Chat
            | Probe::ChatStream
            | Probe::JsonMode
            | Probe::Responses
            | Probe::Messages
            | Probe::MessagesStream
            | Probe::MessagesSystem
            | Probe::MessagesMultiTurn
    )
}

/// The probes to send once the server answers, in order.
pub(crate) fn planned_probes(options: &Options, have_model: bool) -> Vec<Probe> {
    let mut probes = vec![Probe::ModelsList];
    let models = have_model && !options.skip_model_tests;
    if models {
        probes.extend([
            Probe::ModelRetrieve,
            Probe::Chat,
            Probe::ChatStream,
            Probe::JsonMode,
            Probe::Responses,
        ]);
    }
    if !options.skip_anthropic_tests {
        if models {
            probes.extend([
                Probe::Messages,
                Probe::MessagesStream,
                Probe::MessagesSystem,
                Probe::MessagesMultiTurn,
            ]);
        }
        probes.push(Probe::MessagesError);
    }
    probes.extend([Probe::UnknownModel, Probe::Malformed]);
    probes
}

/// Fills in the capabilities `/api/tags` did not list (servers before v0.30.0) from
/// `/api/show`, for at most [`SHOW_LIMIT`] models; a model `/api/show` cannot describe stays
/// unknown.
async fn with_capabilities(client: &Client, mut models: Vec<ModelInfo>) -> Vec<ModelInfo> {
    for info in models
        .iter_mut()
        .filter(|m| m.capabilities.is_empty())
        .take(SHOW_LIMIT)
    {
        match client.show(&info.name, SHORT_TIMEOUT).await {
            Ok(show) => {
                info.capabilities = show.capabilities;
                if info.family.is_none() && !show.details.family.is_empty() {
                    info.family = Some(show.details.family);
                }
            }
            Err(err) => tracing::debug!(model = %info.name, %err, "no capabilities from /api/show"),
        }
    }
    models
}

async fn send(client: &Client, probe: Probe, model: &str, kind: ModelKind) -> Exchange {
    let (method, path, body) = request(probe, model, kind);
    let timeout = if runs_model(probe) {
        MODEL_TIMEOUT
    } else {
        SHORT_TIMEOUT
    };
    let start = Instant::now();
    let mut result = client.raw(method, &path, body.as_deref(), timeout).await;
    // A pooled keep-alive connection that the server closed just as the request went out fails
    // with "connection closed before message completed" (hyper does not retry a POST); one fresh
    // try tells that race from a server that really drops requests. Refusals are not retried.
    if let Err(crate::ollama::client::OllamaError::Unreachable { reason, .. }) = &result
        && reason.contains("connection closed")
    {
        tracing::debug!(?probe, %reason, "retrying once on a fresh connection");
        result = client.raw(method, &path, body.as_deref(), timeout).await;
    }
    let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let outcome = match result {
        Ok(reply) => Outcome::Answered {
            status: reply.status,
            content_type: reply.content_type,
            body: reply.body,
        },
        Err(err) => Outcome::Failed {
            reason: match err {
                crate::ollama::client::OllamaError::Unreachable { reason, .. } => reason,
                other => other.to_string(),
            },
        },
    };
    tracing::debug!(?probe, elapsed_ms, "verify request done");
    Exchange {
        method: method.to_owned(),
        url: format!("{}{path}", client.base_url()),
        request: body,
        outcome,
        elapsed_ms,
    }
}

/// The loopback address of the same family as `host`.
fn loopback_of(host: IpAddr) -> IpAddr {
    match host {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

async fn ping_router(
    desired: &Desired,
    settings: &Settings,
    options: &Options,
) -> Option<PingOutcome> {
    let spec = desired.network.as_ref()?;
    if options.skip_router {
        return None;
    }
    Some(match settings.run(&process::ping(spec.router)).await {
        Ok(out) => PingOutcome::Ran {
            status: out.status,
            last_line: out
                .stdout
                .lines()
                .chain(out.stderr.lines())
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or_default()
                .to_owned(),
        },
        Err(err) => PingOutcome::Failed {
            reason: err.to_string(),
        },
    })
}

/// Probes the Mac and the server for `verify`.
pub(crate) async fn probe(desired: &Desired, settings: &Settings, options: &Options) -> Facts {
    let scope = Scope::of(desired);
    let ((observed, _timings), (listeners, processes), ping) = tokio::join!(
        observe::observe(&scope, settings),
        observe::listeners_and_processes(&scope, settings, ToString::to_string),
        ping_router(desired, settings, options),
    );
    let client = Client::new(desired.listen.connect_addr(), SHORT_TIMEOUT);
    let models = with_capabilities(&client, installed_models(&observed)).await;
    let (model, no_model) = match choose_model(desired, options, &models) {
        Ok(model) => (Some(model), None),
        Err(why) => (None, why),
    };
    let model_name = model
        .as_ref()
        .map_or_else(|| NONEXISTENT_MODEL.to_owned(), |m| m.name.clone());
    let kind = model.as_ref().map_or(ModelKind::Unknown, |m| m.kind);
    let mut http = BTreeMap::new();
    let root = send(&client, Probe::Root, &model_name, kind).await;
    let answers = matches!(root.outcome, Outcome::Answered { .. });
    http.insert(Probe::Root, root);
    if is_dedicated(desired.listen.host) {
        let loopback = Client::new(
            SocketAddr::new(loopback_of(desired.listen.host), desired.listen.port),
            SHORT_TIMEOUT,
        );
        http.insert(
            Probe::Loopback,
            send(&loopback, Probe::Loopback, &model_name, kind).await,
        );
    }
    if answers {
        for probe in planned_probes(options, model.is_some()) {
            http.insert(probe, send(&client, probe, &model_name, kind).await);
        }
    }
    Facts {
        target: settings.target(&scope).to_string(),
        url: client.base_url().to_owned(),
        observed,
        listeners,
        processes,
        model,
        no_model,
        http,
        ping,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_body_is_json_except_the_malformed_one() {
        let all = [
            Probe::Chat,
            Probe::ChatStream,
            Probe::JsonMode,
            Probe::Responses,
            Probe::Messages,
            Probe::MessagesStream,
            Probe::MessagesSystem,
            Probe::MessagesError,
            Probe::MessagesMultiTurn,
            Probe::UnknownModel,
        ];
        for probe in all {
            let (method, _, body) = request(probe, "llama3.2:latest", ModelKind::Plain);
            assert_eq!(method, "POST");
            let body: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
            assert!(body["model"].is_string(), "{probe:?}");
        }
        let (_, _, body) = request(Probe::Malformed, "m", ModelKind::Plain);
        assert!(serde_json::from_str::<serde_json::Value>(&body.unwrap()).is_err());
    }

    #[test]
    fn model_requests_ask_for_one_token_except_json_mode() {
        for probe in [
            Probe::Chat,
            Probe::ChatStream,
            Probe::Messages,
            Probe::MessagesStream,
        ] {
            let (_, _, body) = request(probe, "m", ModelKind::Thinking);
            let body: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
            assert_eq!(body["max_tokens"], 1, "{probe:?}");
        }
        let (_, _, body) = request(Probe::Responses, "m", ModelKind::Plain);
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
        assert!(!no_models.iter().any(|p| runs_model(*p)));
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
