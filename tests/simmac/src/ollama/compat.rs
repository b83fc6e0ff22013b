//! `/v1/*`: the OpenAI-compatible endpoints (`/v1/models`, `/v1/chat/completions`,
//! `/v1/embeddings`, `/v1/responses`) and the Anthropic-compatible `/v1/messages`
//! (docs/ollama.md §3). Chat-completion streaming uses the v0.32.6+ chunk shape; `/v1/responses` and
//! `/v1/messages` exist from v0.13.3 and v0.14.0, as on real servers (gated in `server.rs`).
//!
//! Errors raised while parsing the request use gin's writer (`application/json; charset=utf-8`, no
//! newline); errors from the native handler are re-wrapped with `json.Encoder`
//! (`application/json`, trailing newline), as in `middleware/*.go`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::engine::{self, App};
use super::gojson::{Obj, arr, enc, sorted_obj};
use super::gotime::{SECOND, now_ns};
use super::name::Name;
use super::native::{self, NativeError, content_text};
use super::server::{Feed, encoder_json, gin_json, streaming};
use super::state::{self, Installed};

fn openai_error(status: StatusCode, msg: &str) -> String {
    let kind = match status.as_u16() {
        400 => "invalid_request_error",
        404 => "not_found_error",
        _ => "api_error",
    };
    Obj::new()
        .obj(
            "error",
            Obj::new()
                .field("message", msg)
                .field("type", kind)
                .raw("param", "null")
                .raw("code", "null"),
        )
        .done()
}

/// Middleware (request parse) error: gin writer.
fn openai_parse_error(msg: &str) -> Response {
    gin_json(
        StatusCode::BAD_REQUEST,
        openai_error(StatusCode::BAD_REQUEST, msg),
    )
}

/// Native handler error re-wrapped by `BaseWriter.writeError`.
fn openai_native_error(status: StatusCode, msg: &str) -> Response {
    encoder_json(status, &openai_error(status, msg))
}

fn unix_secs(ns: i128) -> i64 {
    i64::try_from(ns.div_euclid(SECOND)).unwrap_or(0)
}

fn owned_by(name: &str) -> String {
    Name::parse(name).map_or_else(|| "library".to_owned(), |n| n.namespace)
}

fn model_obj(id: &str, m: &Installed) -> Obj {
    Obj::new()
        .field("id", id)
        .field("object", "model")
        .field("created", &unix_secs(i128::from(m.modified_at_ns)))
        .field("owned_by", &owned_by(&m.name))
}

/// `GET /v1/models`: `data` is `null` when nothing is installed.
pub fn list_models(app: &App) -> Response {
    let models = native::sorted_installed(app);
    let data = if models.is_empty() {
        "null".to_owned()
    } else {
        arr(&models
            .iter()
            .map(|m| model_obj(&m.name, m).done())
            .collect::<Vec<_>>())
    };
    encoder_json(
        StatusCode::OK,
        &Obj::new().field("object", "list").raw("data", &data).done(),
    )
}

/// `GET /v1/models/{model}`: `id` echoes the URL segment.
pub fn retrieve_model(app: &App, id: &str) -> Response {
    if let Some(m) = app.find_installed(id) {
        return encoder_json(StatusCode::OK, &model_obj(id, &m).done());
    }
    let shown = match Name::parse(id) {
        Some(n) if app.version_at_least(0, 30) => n.display(),
        _ => id.to_owned(),
    };
    openai_native_error(StatusCode::NOT_FOUND, &format!("model '{shown}' not found"))
}

type Req = serde_json::Map<String, Value>;

/// Loads `model` like the native chat handler would, with the `think` value the middleware
/// converted (`relax`: the Anthropic middleware's `relax_thinking`); `Err` = the native error.
fn load_for(
    app: &App,
    req: &Req,
    think: &engine::Think,
    relax: bool,
) -> Result<native::Ready, NativeError> {
    let mut native_req = Req::new();
    native_req.insert(
        "model".to_owned(),
        req.get("model").cloned().unwrap_or(Value::Null),
    );
    if let Some(k) = req.get("keep_alive") {
        native_req.insert("keep_alive".to_owned(), k.clone());
    }
    let think = match think {
        engine::Think::Unset => None,
        engine::Think::Off => Some(Value::Bool(false)),
        engine::Think::On => Some(Value::Bool(true)),
        engine::Think::Level(l) => Some(Value::String(l.clone())),
    };
    if let Some(t) = think {
        native_req.insert("think".to_owned(), t);
    }
    match native::prepare(app, &native_req, true, false, relax) {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(NativeError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unloaded".to_owned(),
        )),
        Err(e) => Err(e),
    }
}

/// `reasoning.effort` (else `reasoning_effort`) as a think value, as `FromChatRequest`
/// (`openai/openai.go`, v0.12.4+): `"none"` turns thinking off, `"low"`/`"medium"`/`"high"` are
/// levels, absent leaves the model's default; anything else is refused (v0.12.6 text).
fn think_from_effort(req: &Req) -> Result<engine::Think, String> {
    let effort = req
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .or_else(|| req.get("reasoning_effort"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match effort {
        "" => Ok(engine::Think::Unset),
        "none" => Ok(engine::Think::Off),
        "low" | "medium" | "high" => Ok(engine::Think::Level(effort.to_owned())),
        other => Err(format!(
            "invalid reasoning value: '{other}' (must be \"high\", \"medium\", \"low\", or \"none\")"
        )),
    }
}

async fn pump(tx: Feed, frames: Vec<String>) {
    for f in frames {
        tokio::time::sleep(Duration::from_millis(1)).await;
        if tx.send(Ok(Bytes::from(f))).await.is_err() {
            break;
        }
    }
}

/// `POST /v1/chat/completions`.
pub fn chat_completions(app: &Arc<App>, body: &[u8]) -> Response {
    let req = match engine::parse_body(body, "EOF") {
        Ok(r) => r,
        Err(e) => return openai_parse_error(&e),
    };
    let (prompt, n) = native::prompt_of(&req, true);
    if n == 0 {
        return openai_parse_error("[] is too short - 'messages'");
    }
    let think = match think_from_effort(&req) {
        Ok(t) => t,
        Err(e) => return openai_parse_error(&e),
    };
    let ready = match load_for(app, &req, &think, false) {
        Ok(m) => m,
        Err(NativeError(s, msg)) => return openai_native_error(s, &msg),
    };
    let model = engine::str_field(&req, "model").to_owned();
    let json_mode = req
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "json_object" || t == "json_schema");
    let max = req
        .get("max_tokens")
        .or_else(|| req.get("max_completion_tokens"))
        .and_then(Value::as_u64);
    let out = engine::generate(&prompt, json_mode, ready.thinking, max);
    let finish = if out.cut { "length" } else { "stop" };
    // `ToChatCompletion`/`ToUsage`: `prompt_tokens` is the native `prompt_eval_count`.
    let p = native::evaluate(app, &ready.model, &req, true).count;
    let c = out.eval_count();
    let usage = Obj::new()
        .field("prompt_tokens", &p)
        .field("completion_tokens", &c)
        .field("total_tokens", &(p + c));
    let id = format!("chatcmpl-{}", app.next_id(999));
    let created = unix_secs(now_ns());
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let head = |object: &str| {
        Obj::new()
            .field("id", &id)
            .field("object", object)
            .field("created", &created)
            .field("model", &model)
            .field("system_fingerprint", "fp_ollama")
    };
    if !stream {
        let choice = Obj::new()
            .field("index", &0)
            .raw(
                "message",
                &Obj::new()
                    .field("role", "assistant")
                    .field("content", &out.content())
                    // `Message.Reasoning` (omitempty): the thinking, `ToChatCompletion`.
                    .field_if(!out.thinking().is_empty(), "reasoning", &out.thinking())
                    .done(),
            )
            .field("finish_reason", finish)
            .done();
        let body = head("chat.completion")
            .raw("choices", &arr(&[choice]))
            .obj("usage", usage)
            .done();
        return encoder_json(StatusCode::OK, &body);
    }
    let include_usage = req
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let chunk = |delta: String, finish: Option<&str>| {
        let choice = Obj::new()
            .field("index", &0)
            .raw("delta", &delta)
            .field("finish_reason", &finish)
            .done();
        format!(
            "data: {}\n\n",
            head("chat.completion.chunk")
                .raw("choices", &arr(&[choice]))
                .done()
        )
    };
    let mut frames = Vec::new();
    // `toChunk`: `content` is kept even when "" (a thinking chunk), `reasoning` is omitempty.
    for (i, piece) in out.visible().enumerate() {
        let (content, reasoning) = match piece {
            engine::Piece::Content(t) => (t.as_str(), ""),
            engine::Piece::Thinking(t) => ("", t.as_str()),
            engine::Piece::Tag => ("", ""),
        };
        let delta = Obj::new()
            .field_if(i == 0, "role", "assistant")
            .field("content", content)
            .field_if(!reasoning.is_empty(), "reasoning", reasoning);
        frames.push(chunk(delta.done(), None));
    }
    frames.push(chunk("{}".to_owned(), Some(finish)));
    if include_usage {
        frames.push(format!(
            "data: {}\n\n",
            head("chat.completion.chunk")
                .raw("choices", "[]")
                .obj("usage", usage)
                .done()
        ));
    }
    frames.push("data: [DONE]\n\n".to_owned());
    let (resp, tx) = streaming("text/event-stream", false);
    tokio::spawn(pump(tx, frames));
    resp
}

/// `POST /v1/embeddings`.
pub fn embeddings(app: &App, body: &[u8]) -> Response {
    let req = match engine::parse_body(body, "EOF") {
        Ok(r) => r,
        Err(e) => return openai_parse_error(&e),
    };
    let inputs: Vec<String> = match req.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return openai_parse_error("invalid input"),
    };
    let model = engine::str_field(&req, "model").to_owned();
    let Some(m) = app.find_installed(&model) else {
        return openai_native_error(
            StatusCode::NOT_FOUND,
            &format!("model \"{model}\" not found, try pulling it first"),
        );
    };
    if let Err(e) = app.touch(&m, None, None) {
        return openai_native_error(StatusCode::INTERNAL_SERVER_ERROR, &e);
    }
    let dims = if m.spec.embedding_length > 0 {
        m.spec.embedding_length
    } else {
        384
    };
    let data: Vec<String> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Obj::new()
                .field("object", "embedding")
                .field("embedding", &engine::embedding(t, dims))
                .field("index", &i)
                .done()
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|i| engine::prompt_tokens(i, 0)).sum();
    encoder_json(
        StatusCode::OK,
        &Obj::new()
            .field("object", "list")
            .raw("data", &arr(&data))
            .field("model", &model)
            .obj(
                "usage",
                Obj::new()
                    .field("prompt_tokens", &tokens)
                    .field("total_tokens", &tokens),
            )
            .done(),
    )
}

/// Text of a Responses `input` (string or items with `content`).
fn responses_input(req: &Req) -> (String, usize) {
    match req.get("input") {
        Some(Value::String(s)) => (s.clone(), 1),
        Some(Value::Array(items)) => {
            let last = items
                .iter()
                .rev()
                .find(|x| x.get("role").and_then(Value::as_str).unwrap_or("user") == "user")
                .and_then(|x| x.get("content"))
                .map(|c| match c {
                    Value::Array(parts) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => content_text(other),
                })
                .unwrap_or_default();
            (last, items.len())
        }
        _ => (String::new(), 0),
    }
}

/// `POST /v1/responses`.
pub fn responses(app: &Arc<App>, body: &[u8]) -> Response {
    let req = match engine::parse_body(body, "EOF") {
        Ok(r) => r,
        Err(e) => return openai_parse_error(&e),
    };
    let (prompt, n) = responses_input(&req);
    // `reasoning.effort` reaches `think` only from v0.22.0 (`openai/responses.go`
    // `FromResponsesRequest` → `thinkFromReasoningEffort`); before, it was ignored.
    let think = if app.since("0.22.0") {
        match think_from_effort(&req) {
            Ok(t) => t,
            Err(e) => return openai_parse_error(&e),
        }
    } else {
        engine::Think::Unset
    };
    let ready = match load_for(app, &req, &think, false) {
        Ok(r) => r,
        Err(NativeError(s, msg)) => return openai_native_error(s, &msg),
    };
    let model = engine::str_field(&req, "model").to_owned();
    let max = req.get("max_output_tokens").and_then(Value::as_u64);
    let out = engine::generate(&prompt, false, ready.thinking, max);
    let text = out.content();
    let thinking = out.thinking();
    let toks: Vec<String> = out
        .pieces
        .iter()
        .filter_map(|p| match p {
            engine::Piece::Content(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let p = engine::prompt_tokens(&prompt, n);
    let c = out.eval_count();
    let resp_id = format!("resp_{}", app.next_id(999_999));
    let msg_id = format!("msg_{}", app.next_id(9_999));
    let created = unix_secs(now_ns());
    let instructions = req.get("instructions").cloned().unwrap_or(Value::Null);
    let text_part = |t: &str| {
        Obj::new()
            .field("type", "output_text")
            .field("text", t)
            .raw("annotations", "[]")
            .raw("logprobs", "[]")
            .done()
    };
    let message = |status: &str, content: &str| {
        Obj::new()
            .field("id", &msg_id)
            .field("type", "message")
            .field("status", status)
            .field("role", "assistant")
            .raw("content", content)
            .done()
    };
    let full_message = message("completed", &arr(&[text_part(&text)]));
    // `ToResponse`: a `reasoning` item (`ResponsesOutputItem` order: id, type, summary,
    // encrypted_content) comes before the message when the model thought.
    let mut output_items = Vec::new();
    if !thinking.is_empty() {
        output_items.push(
            Obj::new()
                .field("id", &format!("rs_{resp_id}"))
                .field("type", "reasoning")
                .raw(
                    "summary",
                    &arr(&[Obj::new()
                        .field("type", "summary_text")
                        .field("text", &thinking)
                        .done()]),
                )
                .field("encrypted_content", &thinking)
                .done(),
        );
    }
    output_items.push(full_message.clone());
    let response_obj = |status: &str, completed: bool, output: &str| {
        let usage = Obj::new()
            .field("input_tokens", &p)
            .field("output_tokens", &c)
            .field("total_tokens", &(p + c))
            .raw("input_tokens_details", r#"{"cached_tokens":0}"#)
            .raw("output_tokens_details", r#"{"reasoning_tokens":0}"#)
            .done();
        Obj::new()
            .field("id", &resp_id)
            .field("object", "response")
            .field("created_at", &created)
            .field(
                "completed_at",
                &(if completed { Some(created) } else { None }),
            )
            .field("status", status)
            .raw("incomplete_details", "null")
            .field("model", &model)
            .raw("previous_response_id", "null")
            .field("instructions", &instructions)
            .raw("output", output)
            .raw("error", "null")
            .raw("tools", "[]")
            .field("tool_choice", "auto")
            .field("truncation", "disabled")
            .field("parallel_tool_calls", &true)
            .raw("text", r#"{"format":{"type":"text"}}"#)
            .field("top_p", &1)
            .field("presence_penalty", &0)
            .field("frequency_penalty", &0)
            .field("top_logprobs", &0)
            .field("temperature", &1)
            .raw("reasoning", "null")
            .raw("usage", if completed { &usage } else { "null" })
            .field("max_output_tokens", &max)
            .raw("max_tool_calls", "null")
            .field("store", &false)
            .field("background", &false)
            .field("service_tier", "default")
            .raw("metadata", "{}")
            .raw("safety_identifier", "null")
            .raw("prompt_cache_key", "null")
            .done()
    };
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if !stream {
        return encoder_json(
            StatusCode::OK,
            &response_obj("completed", true, &arr(&output_items)),
        );
    }
    let mut seq = 0_u64;
    let mut frames = Vec::new();
    let mut event = |kind: &str, mut pairs: Vec<(&str, String)>| {
        pairs.push(("type", enc(kind)));
        pairs.push(("sequence_number", enc(&seq)));
        seq += 1;
        frames.push(format!("event: {kind}\ndata: {}\n\n", sorted_obj(pairs)));
    };
    event(
        "response.created",
        vec![("response", response_obj("in_progress", false, "[]"))],
    );
    event(
        "response.in_progress",
        vec![("response", response_obj("in_progress", false, "[]"))],
    );
    event(
        "response.output_item.added",
        vec![
            ("output_index", enc(&0)),
            ("item", message("in_progress", "[]")),
        ],
    );
    event(
        "response.content_part.added",
        vec![
            ("content_index", enc(&0)),
            ("item_id", enc(&msg_id)),
            ("output_index", enc(&0)),
            ("part", text_part("")),
        ],
    );
    for t in &toks {
        event(
            "response.output_text.delta",
            vec![
                ("content_index", enc(&0)),
                ("delta", enc(t)),
                ("item_id", enc(&msg_id)),
                ("logprobs", "[]".to_owned()),
                ("output_index", enc(&0)),
            ],
        );
    }
    event(
        "response.output_text.done",
        vec![
            ("content_index", enc(&0)),
            ("item_id", enc(&msg_id)),
            ("logprobs", "[]".to_owned()),
            ("output_index", enc(&0)),
            ("text", enc(&text)),
        ],
    );
    event(
        "response.content_part.done",
        vec![
            ("content_index", enc(&0)),
            ("item_id", enc(&msg_id)),
            ("output_index", enc(&0)),
            ("part", text_part(&text)),
        ],
    );
    event(
        "response.output_item.done",
        vec![("output_index", enc(&0)), ("item", full_message.clone())],
    );
    event(
        "response.completed",
        vec![(
            "response",
            response_obj("completed", true, &arr(std::slice::from_ref(&full_message))),
        )],
    );
    let (resp, tx) = streaming("text/event-stream", true);
    tokio::spawn(pump(tx, frames));
    resp
}

fn request_id(app: &App) -> String {
    format!("{:012x}{:012x}", app.next_id(1 << 48), app.next_id(1 << 48))
}

fn anthropic_error(app: &App, status: StatusCode, msg: &str) -> String {
    let kind = match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    };
    Obj::new()
        .field("type", "error")
        .obj(
            "error",
            Obj::new().field("type", kind).field("message", msg),
        )
        .field("request_id", &format!("req_{}", request_id(app)))
        .done()
}

/// `POST /v1/messages` (Anthropic). `fail` = `config.json` `anthropic_errors`.
pub fn messages(app: &Arc<App>, body: &[u8], fail: bool) -> Response {
    let bad = |msg: &str| {
        gin_json(
            StatusCode::BAD_REQUEST,
            anthropic_error(app, StatusCode::BAD_REQUEST, msg),
        )
    };
    let req = match engine::parse_body(body, "EOF") {
        Ok(r) => r,
        Err(e) => return bad(&e),
    };
    let model = engine::str_field(&req, "model").to_owned();
    if model.is_empty() {
        return bad("model is required");
    }
    let max_tokens = req.get("max_tokens").and_then(Value::as_i64).unwrap_or(0);
    if max_tokens <= 0 {
        return bad("max_tokens is required and must be positive");
    }
    let (prompt, n) = native::prompt_of(&req, true);
    if n == 0 {
        return bad("messages is required");
    }
    if fail {
        return encoder_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &anthropic_error(
                app,
                StatusCode::INTERNAL_SERVER_ERROR,
                "an error was encountered while running the model",
            ),
        );
    }
    let ready = match load_for(app, &req, &anthropic_think(app, &req), true) {
        Ok(r) => r,
        Err(NativeError(s, msg)) => return encoder_json(s, &anthropic_error(app, s, &msg)),
    };
    // `ToMessagesResponse`/`StreamConverter`: `input_tokens` is `prompt_eval_count`.
    let p = native::evaluate(app, &ready.model, &req, true).count;
    let out = engine::generate(
        &prompt,
        false,
        ready.thinking,
        u64::try_from(max_tokens).ok(),
    );
    let c = out.eval_count();
    let stop = if out.cut { "max_tokens" } else { "end_turn" };
    let id = format!("msg_{}", request_id(app));
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let usage = |out: u64| {
        Obj::new()
            .field("input_tokens", &p)
            .field("output_tokens", &out)
    };
    if !stream {
        // `ToMessagesResponse`: a thinking block, then a text block, each only when non-empty;
        // `Content` is a nil slice without either, so it marshals as `null`.
        let mut blocks = Vec::new();
        let (thinking, text) = (out.thinking(), out.content());
        if !thinking.is_empty() {
            blocks.push(
                Obj::new()
                    .field("type", "thinking")
                    .field("thinking", &thinking)
                    .done(),
            );
        }
        if !text.is_empty() {
            blocks.push(Obj::new().field("type", "text").field("text", &text).done());
        }
        let content = if blocks.is_empty() {
            "null".to_owned()
        } else {
            arr(&blocks)
        };
        let body = Obj::new()
            .field("id", &id)
            .field("type", "message")
            .field("role", "assistant")
            .field("model", &model)
            .raw("content", &content)
            .field("stop_reason", stop)
            .obj("usage", usage(c))
            .done();
        return encoder_json(StatusCode::OK, &body);
    }
    let mut frames = vec![frame(
        "message_start",
        &Obj::new()
            .field("type", "message_start")
            .obj(
                "message",
                Obj::new()
                    .field("id", &id)
                    .field("type", "message")
                    .field("role", "assistant")
                    .field("model", &model)
                    .raw("content", "[]")
                    .obj("usage", usage(0)),
            )
            .done(),
    )];
    frames.extend(block_events(&out));
    frames.push(frame(
        "message_delta",
        &Obj::new()
            .field("type", "message_delta")
            .obj("delta", Obj::new().field("stop_reason", stop))
            .obj("usage", usage(c))
            .done(),
    ));
    frames.push(frame("message_stop", r#"{"type":"message_stop"}"#));
    if state::fault(&app.mac, "messages-stream-cut").is_some() {
        // A server that dies mid-stream: everything after message_start is lost.
        frames.truncate(1);
    }
    let (resp, tx) = streaming("text/event-stream", true);
    tokio::spawn(pump(tx, frames));
    resp
}

fn frame(name: &str, data: &str) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// The `content_block_*` events of a streamed reply, as `StreamConverter.Process`
/// (`anthropic/anthropic.go`) emits them: a `thinking` block while the model thinks, closed when
/// text starts, then a `text` block; no events at all for a reply with neither (a tiny budget
/// spent on the opening tag).
fn block_events(out: &engine::Generation) -> Vec<String> {
    let start = |index: usize, block: &str| {
        frame(
            "content_block_start",
            &Obj::new()
                .field("type", "content_block_start")
                .field("index", &index)
                .raw("content_block", block)
                .done(),
        )
    };
    let delta = |index: usize, kind: &str, key: &str, text: &str| {
        frame(
            "content_block_delta",
            &Obj::new()
                .field("type", "content_block_delta")
                .field("index", &index)
                .obj("delta", Obj::new().field("type", kind).field(key, text))
                .done(),
        )
    };
    let stop = |index: usize| {
        frame(
            "content_block_stop",
            &Obj::new()
                .field("type", "content_block_stop")
                .field("index", &index)
                .done(),
        )
    };
    let mut frames = Vec::new();
    let mut index = 0;
    let (mut thinking_open, mut text_open) = (false, false);
    for piece in out.visible() {
        match piece {
            engine::Piece::Thinking(t) => {
                if !thinking_open {
                    thinking_open = true;
                    frames.push(start(index, r#"{"type":"thinking","thinking":""}"#));
                }
                frames.push(delta(index, "thinking_delta", "thinking", t));
            }
            engine::Piece::Content(t) => {
                if thinking_open {
                    thinking_open = false;
                    frames.push(stop(index));
                    index += 1;
                }
                if !text_open {
                    text_open = true;
                    frames.push(start(index, r#"{"type":"text","text":""}"#));
                }
                frames.push(delta(index, "text_delta", "text", t));
            }
            engine::Piece::Tag => {}
        }
    }
    if text_open || thinking_open {
        frames.push(stop(index));
    }
    frames
}

/// The think value of an Anthropic request (`FromMessagesRequest`): `thinking.type` `enabled`
/// turns it on; `disabled` turns it off and `output_config.effort` gives a level only from
/// v0.23.4 (before, both were ignored and a thinking model thought anyway).
fn anthropic_think(app: &App, req: &Req) -> engine::Think {
    let kind = req
        .get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str);
    let newer = app.since("0.23.4");
    match kind {
        Some("enabled") => return engine::Think::On,
        Some("disabled") if newer => return engine::Think::Off,
        _ => {}
    }
    let effort = req
        .get("output_config")
        .and_then(|o| o.get("effort"))
        .and_then(Value::as_str)
        .map(|e| e.trim().to_ascii_lowercase());
    match effort.as_deref() {
        Some(e @ ("low" | "medium" | "high" | "max")) if newer => {
            engine::Think::Level(e.to_owned())
        }
        Some("xhigh") if newer => engine::Think::Level("high".to_owned()),
        _ => engine::Think::Unset,
    }
}
