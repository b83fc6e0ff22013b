//! The `openai` checks: `/v1/*` as Aider and other `OpenAI` clients use it.

use serde_json::Value as Json;

use super::replies::{answer, event_stream, need_status, parse_json};
use super::text::excerpt;
use super::{Check, Judge, skip};
use crate::verify::{Group, ModelKind, Probe, catalogue, sse};

/// The text of an `OpenAI` chat completion: `choices[0].message.content` (a string; `null` is
/// read as empty) and its `reasoning` (Ollama's thinking, docs/ollama.md
/// §11).
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

pub(super) fn checks(j: &mut Judge<'_>) {
    let model = j.facts.model.as_ref().map(|m| m.name.clone());
    let budget = catalogue::json_mode_budget(
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
                // Ollama sends `null` when no model is installed (docs/ollama.md §3.1).
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
                Ok(_) => Ok(format!("{:?}", excerpt(&content, 40))),
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
