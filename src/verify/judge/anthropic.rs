//! The `anthropic` checks: `/v1/messages` as Claude Code uses it.

use serde_json::Value as Json;

use super::replies::{answer, event_stream, need_status, parse_json};
use super::text::{describe, excerpt};
use super::{Check, Found, Judge, fail, warn};
use crate::verify::{Group, Probe, sse};

/// The text blocks of an Anthropic message. `content` may be `null`: Ollama
/// (docs/ollama.md §11) leaves it a nil slice when the model produced
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

/// A streamed message: HTTP 200, an event stream, [`message_events`] in order.
fn streamed(status: u16, content_type: Option<&str>, body: &str) -> Result<String, String> {
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
}

/// `anthropic.count_tokens`: Claude Code asks `/v1/messages/count_tokens`; Ollama has no such
/// route (`docs/ollama.md §13`), which is a warning, not a failure: messages still work.
fn count_tokens(j: &mut Judge<'_>) {
    let check = Check {
        group: Group::Anthropic,
        id: "count_tokens",
        name: "POST /v1/messages/count_tokens (Claude Code counts tokens with it)",
    };
    let expected = "HTTP 200 with `input_tokens` (Ollama does not serve it: a warning)";
    let (exchange, reply) = match j.reply(Probe::CountTokens) {
        Ok(answered) => answered,
        Err((found, exchange)) => {
            j.push(check, expected, found, exchange);
            return;
        }
    };
    let counted = parse_json(reply.body)
        .ok()
        .and_then(|json| json["input_tokens"].as_u64());
    let found = match (reply.status, counted) {
        (200, Some(n)) => Found::Pass(format!("input_tokens {n}")),
        (200, None) => fail(
            format!("no `input_tokens`: {}", excerpt(reply.body, 80)),
            format!(
                "the reply is not what Anthropic clients read; see the log `{}`",
                j.stderr_log()
            ),
        ),
        (404, _) if reply.body.trim() == "404 page not found" => warn(
            format!("{}: not served by Ollama", describe(exchange)),
            "nothing to fix on the server: Ollama has no /v1/messages/count_tokens, so what Claude Code counts through it fails; its messages work",
        ),
        (404, _) if j.model_missing(exchange) => j.waits_for_model(),
        (status, _) => fail(
            describe(exchange),
            j.status_hint(Probe::CountTokens, status, reply.body),
        ),
    };
    j.push(check, expected, found, Some(exchange));
}

pub(super) fn checks(j: &mut Judge<'_>) {
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
        streamed,
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
                excerpt(json["error"]["message"].as_str().unwrap_or(""), 60)
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
    j.http(
        Check {
            group: g,
            id: "claude_code",
            name: "POST /v1/messages?beta=true shaped like Claude Code's (system blocks, tools, stream)",
        },
        Probe::ClaudeCode,
        "HTTP 200, events message_start … message_delta, message_stop",
        streamed,
    );
    count_tokens(j);
}
