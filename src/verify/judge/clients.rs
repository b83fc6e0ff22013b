//! The `clients` checks: what Claude Code and Aider depend on beyond well-formed replies — the
//! context each warm chat model is served with, prompt reuse on a repeated prefix, and the time
//! to the first token at the served context (`docs/ollama.md §13`).

use serde_json::Value as Json;

use super::replies::{need_status, parse_json};
use super::text::excerpt;
use super::{Check, Found, Judge, fail, pass_or_warn, skip, warn};
use crate::model::desired::ModelSpec;
use crate::ollama::api::ProcessResponse;
use crate::ollama::name::ModelName;
use crate::verify::choice::{can_chat, installed_models};
use crate::verify::{Group, Probe};

/// The context below which a model without a declared one warns: Ollama's docs ask for at
/// least 64000 tokens for coding tools, Claude Code among them (`docs/ollama.md §13`).
pub(crate) const CLIENT_MIN_CONTEXT: u64 = 64_000;
/// Claude Code gives up on a streamed reply that sends no byte for five minutes, and Ollama
/// sends the first one only after the whole prompt is processed (`docs/ollama.md §13`).
pub(crate) const FIRST_TOKEN_LIMIT_S: u64 = 300;
/// The second request shows reuse when its prompt took at most this share of the first's time.
const REUSE_SHARE: u64 = 2;

/// The loaded models `GET /api/ps` listed after the model requests: name and served context
/// (`None`: not reported, Ollama before 0.10.0 or 0).
fn loaded(j: &Judge<'_>) -> Result<Vec<(String, Option<u64>)>, Found> {
    let (_, reply) = j.reply(Probe::Loaded).map_err(|(found, _)| found)?;
    let ps: ProcessResponse = need_status(reply.status, 200)
        .and_then(|()| {
            serde_json::from_str(reply.body).map_err(|e| format!("not /api/ps's shape ({e})"))
        })
        .map_err(|problem| {
            fail(
                format!("GET /api/ps: {problem}: {}", excerpt(reply.body, 80)),
                format!("see the log `{}`", j.stderr_log()),
            )
        })?;
    Ok(ps
        .models
        .into_iter()
        .map(|m| (m.name, Some(m.context_length).filter(|&n| n > 0)))
        .collect())
}

/// What `/api/ps` says about one model's context.
#[derive(Clone, Copy)]
enum Served {
    /// Not loaded.
    NotLoaded,
    /// Loaded; the server does not report the context.
    Unreported,
    /// Loaded with this context.
    With(u64),
}

/// The served context of `name` among `loaded`.
fn served(loaded: &[(String, Option<u64>)], name: &ModelName) -> Served {
    match loaded
        .iter()
        .find(|(n, _)| ModelName::parse(n).is_ok_and(|n| n.key() == name.key()))
    {
        None => Served::NotLoaded,
        Some((_, None)) => Served::Unreported,
        Some((_, Some(ctx))) => Served::With(*ctx),
    }
}

/// How one warm model's context was judged.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Enough,
    NotLoaded,
    Unreported,
    Small,
    BelowDeclared,
}

/// The warm chat models of `server.toml` (not cloud, not embedding-only).
fn warm_chat_models<'d>(j: &Judge<'d>) -> Vec<&'d ModelSpec> {
    let installed = installed_models(&j.facts.observed);
    j.desired
        .models
        .iter()
        .filter(|m| m.warm && !m.name.is_cloud())
        .filter(|m| {
            let info = installed
                .iter()
                .find(|i| ModelName::parse(&i.name).is_ok_and(|n| n.key() == m.name.key()));
            can_chat(&m.name, info) != Some(false)
        })
        .collect()
}

/// `clients.context`: each warm chat model is served with at least the context it declares
/// (`context_length`), or 64000 tokens when it declares none.
fn context(j: &mut Judge<'_>) {
    let check = Check {
        group: Group::Clients,
        id: "context",
        name: "warm chat models are served with the context they need",
    };
    let expected = "each warm chat model served (`/api/ps` `context_length`) with at least its declared `context_length`, else at least 64000 tokens";
    let warm = warm_chat_models(j);
    if warm.is_empty() {
        let found = skip(
            "no warm chat model in server.toml",
            "set `warm = true` on the chat model your clients use",
        );
        j.push(check, expected, found, None);
        return;
    }
    let loaded = match loaded(j) {
        Ok(loaded) => loaded,
        Err(found) => {
            let exchange = j.facts.http.get(&Probe::Loaded);
            j.push(check, expected, found, exchange);
            return;
        }
    };
    let judged: Vec<(Verdict, String)> = warm
        .iter()
        .map(|m| {
            let name = m.served_name();
            let declared = m.derived.as_ref().and_then(|d| d.context_length);
            let shown = name.display();
            match (served(&loaded, name), declared) {
                (Served::NotLoaded, _) => (Verdict::NotLoaded, format!("{shown} not loaded")),
                (Served::Unreported, _) => (
                    Verdict::Unreported,
                    format!("{shown} loaded, context not reported (Ollama before 0.10.0)"),
                ),
                (Served::With(ctx), Some(want)) if ctx < u64::from(want) => (
                    Verdict::BelowDeclared,
                    format!("{shown} {ctx} (declares {want})"),
                ),
                (Served::With(ctx), Some(want)) => {
                    (Verdict::Enough, format!("{shown} {ctx} (declares {want})"))
                }
                (Served::With(ctx), None) if ctx < CLIENT_MIN_CONTEXT => (
                    Verdict::Small,
                    format!("{shown} {ctx} (none declared, below 64000)"),
                ),
                (Served::With(ctx), None) => (Verdict::Enough, format!("{shown} {ctx}")),
            }
        })
        .collect();
    let received = judged
        .iter()
        .map(|(_, text)| text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let worst = judged
        .iter()
        .map(|(v, _)| *v)
        .max()
        .unwrap_or(Verdict::Enough);
    let has = |v: Verdict| judged.iter().any(|(w, _)| *w == v);
    let mut hints = Vec::new();
    if has(Verdict::BelowDeclared) {
        hints.push("a model served with less than its `context_length` was loaded with another `num_ctx` (a request's `options.num_ctx`) or its derived model changed: run `ssollama apply`, which rebuilds and reloads it");
    }
    if has(Verdict::Small) {
        hints.push("declare `context_length = 65536` on it in [[models]] (Ollama's docs give 64k as the least for Claude Code) and run `ssollama apply`");
    }
    if has(Verdict::NotLoaded) {
        hints.push("`ssollama apply` loads the warm models; then run `ssollama verify` again");
    }
    if has(Verdict::Unreported) {
        hints.push("Ollama reports the served context in `/api/ps` since 0.10.0: upgrade Ollama");
    }
    let hint = hints.join("; ");
    let found = match worst {
        Verdict::Enough => Found::Pass(received),
        Verdict::BelowDeclared => fail(received, hint),
        Verdict::NotLoaded | Verdict::Unreported | Verdict::Small => warn(received, hint),
    };
    let exchange = j.facts.http.get(&Probe::Loaded);
    j.push(check, expected, found, exchange);
}

/// `prompt_eval_count` and `prompt_eval_duration` (ns) of a native `/api/chat` reply.
fn prompt_eval(j: &Judge<'_>, probe: Probe) -> Result<(u64, u64), Found> {
    let (exchange, reply) = j.reply(probe).map_err(|(found, _)| found)?;
    let json: Json = need_status(reply.status, 200)
        .and_then(|()| parse_json(reply.body))
        .map_err(|problem| {
            fail(
                format!("{problem}: {}", excerpt(reply.body, 120)),
                if reply.status == 200 {
                    format!("see the log `{}`", j.stderr_log())
                } else {
                    j.status_hint(probe, reply.status, reply.body)
                },
            )
        })?;
    // Both are `omitempty` in Ollama's metrics (docs/ollama.md §13): a duration of 0 is left out.
    match (
        json["prompt_eval_count"].as_u64(),
        json["prompt_eval_duration"].as_u64(),
    ) {
        (Some(count), duration) => Ok((count, duration.unwrap_or(0))),
        (None, _) => Err(fail(
            format!(
                "no prompt_eval_count in {} {}: {}",
                exchange.method,
                exchange.url,
                excerpt(reply.body, 120)
            ),
            format!("see the log `{}`", j.stderr_log()),
        )),
    }
}

/// Milliseconds, from nanoseconds, for messages.
fn ms(ns: u64) -> String {
    format!("{} ms", ns / 1_000_000)
}

/// `clients.prompt_reuse`: a second request with the same long prefix is evaluated faster.
/// Real Ollama counts the reused prefix in `prompt_eval_count` (and so in the `/v1` usage), so
/// only the native API's `prompt_eval_duration` shows the reuse (`docs/ollama.md §13`).
fn prompt_reuse(j: &mut Judge<'_>) {
    let check = Check {
        group: Group::Clients,
        id: "prompt_reuse",
        name: "a repeated long prefix is not processed again (prompt cache)",
    };
    let expected = "the second /api/chat with the same prefix: `prompt_eval_duration` at most half the first's";
    let exchange = j.facts.http.get(&Probe::PrefixSecond);
    let found = match (
        prompt_eval(j, Probe::PrefixFirst),
        prompt_eval(j, Probe::PrefixSecond),
    ) {
        (Err(found), _) | (_, Err(found)) => found,
        (Ok((count1, d1)), Ok((count2, d2))) => {
            let received = format!(
                "prompt_eval_duration {} then {} ({count1} then {count2} prompt tokens: Ollama counts the reused prefix)",
                ms(d1),
                ms(d2)
            );
            pass_or_warn(
                d2.saturating_mul(REUSE_SHARE) <= d1 && d1 > 0,
                received,
                "Ollama processed the shared prefix again: another request may have used the runner between the two, or the model was reloaded; a client whose prompt changes at its start gets no reuse either (for Claude Code set `CLAUDE_CODE_ATTRIBUTION_HEADER=0`, `ssollama client claude-code`)",
            )
        }
    };
    j.push(check, expected, found, exchange);
}

/// `clients.first_token`: the prefill rate of the first long-prefix request predicts the time
/// to the first token of a prompt that fills the chosen model's served context, against
/// Claude Code's 300 s.
fn first_token(j: &mut Judge<'_>) {
    let check = Check {
        group: Group::Clients,
        id: "first_token",
        name: "a prompt at the served context gets its first token within Claude Code's 300 s",
    };
    let expected = "served context / prefill rate (prompt_eval_count / prompt_eval_duration of the first long-prefix request) at most 300 s";
    let exchange = j.facts.http.get(&Probe::PrefixFirst);
    let found = match prompt_eval(j, Probe::PrefixFirst) {
        Err(found @ Found::Skip { .. }) => found,
        Err(_) => skip(
            "the long-prefix request failed",
            "fix `clients.prompt_reuse` first",
        ),
        Ok((_, 0) | (0, _)) => skip(
            "the server reported no prompt evaluation time",
            "run `ssollama verify` again",
        ),
        Ok((count, duration)) => match model_context(j) {
            Err(found) => found,
            Ok(ctx) => {
                // ctx tokens at count / duration tokens per ns.
                let seconds = u64::try_from(
                    u128::from(ctx) * u128::from(duration) / u128::from(count) / 1_000_000_000,
                )
                .unwrap_or(u64::MAX);
                let rate = u128::from(count) * 1_000_000_000 / u128::from(duration);
                let received = format!(
                    "prefill {rate} tokens/s: about {seconds} s to the first token at {ctx} tokens (at least: prefill slows as the context fills)"
                );
                pass_or_warn(
                    seconds <= FIRST_TOKEN_LIMIT_S,
                    received,
                    "Claude Code aborts a streamed reply that sends nothing for 5 minutes, and Ollama sends nothing until the prompt is processed: declare a smaller `context_length`, use a smaller or faster model, or set `API_FORCE_IDLE_TIMEOUT=0` in Claude Code's environment",
                )
            }
        },
    };
    j.push(check, expected, found, exchange);
}

/// The served context of the chosen model, from `/api/ps` after the model requests.
fn model_context(j: &Judge<'_>) -> Result<u64, Found> {
    let model = j.facts.model.as_ref().map_or("", |m| m.name.as_str());
    let loaded = loaded(j)?;
    let name = ModelName::parse(model).map_err(|_| {
        skip(
            format!("`{model}` is not a model name"),
            "pass --model NAME",
        )
    })?;
    match served(&loaded, &name) {
        Served::With(ctx) => Ok(ctx),
        Served::Unreported => Err(skip(
            format!(
                "`{model}` is loaded but /api/ps does not report its context (Ollama before 0.10.0)"
            ),
            "upgrade Ollama",
        )),
        Served::NotLoaded => Err(skip(
            format!("`{model}` is not loaded after the requests, so its served context is unknown"),
            "run `ssollama verify` again",
        )),
    }
}

pub(super) fn checks(j: &mut Judge<'_>) {
    context(j);
    prompt_reuse(j);
    first_token(j);
}
