//! `/v1/*`: the OpenAI-compatible endpoints (`/v1/models`, `/v1/chat/completions`,
//! `/v1/embeddings`, `/v1/responses`) and the Anthropic-compatible `/v1/messages`
//! (ollama.md §3). Chat-completion streaming uses the v0.32.6+ chunk shape; `/v1/responses` and
//! `/v1/messages` are served whatever version is configured (real servers added them in v0.13.3
//! and v0.14.0).
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
use super::state::Installed;

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

/// Loads `model` like the native chat handler would; `Err` = the native error.
fn load_for(app: &App, req: &Req) -> Result<Installed, NativeError> {
    let mut native_req = Req::new();
    native_req.insert(
        "model".to_owned(),
        req.get("model").cloned().unwrap_or(Value::Null),
    );
    if let Some(k) = req.get("keep_alive") {
        native_req.insert("keep_alive".to_owned(), k.clone());
    }
    match native::prepare(app, &native_req, true, false) {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(NativeError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unloaded".to_owned(),
        )),
        Err(e) => Err(e),
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
    let m = match load_for(app, &req) {
        Ok(m) => m,
        Err(NativeError(s, msg)) => return openai_native_error(s, &msg),
    };
    let _ = m;
    let model = engine::str_field(&req, "model").to_owned();
    let json_mode = req
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "json_object" || t == "json_schema");
    let text = if json_mode {
        engine::reply_json(&prompt)
    } else {
        engine::reply_text(&prompt)
    };
    let max = req
        .get("max_tokens")
        .or_else(|| req.get("max_completion_tokens"))
        .and_then(Value::as_u64);
    let (toks, cut) = engine::limit(engine::tokens(&text), max);
    let finish = if cut { "length" } else { "stop" };
    let p = engine::prompt_tokens(&prompt, n);
    let c = u64::try_from(toks.len()).unwrap_or(0);
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
                    .field("content", &toks.concat())
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
    for (i, t) in toks.iter().enumerate() {
        let delta = if i == 0 {
            Obj::new().field("role", "assistant").field("content", t)
        } else {
            Obj::new().field("content", t)
        };
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
    if let Err(NativeError(s, msg)) = load_for(app, &req) {
        return openai_native_error(s, &msg);
    }
    let model = engine::str_field(&req, "model").to_owned();
    let max = req.get("max_output_tokens").and_then(Value::as_u64);
    let (toks, _) = engine::limit(engine::tokens(&engine::reply_text(&prompt)), max);
    let text = toks.concat();
    let p = engine::prompt_tokens(&prompt, n);
    let c = u64::try_from(toks.len()).unwrap_or(0);
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
            &response_obj("completed", true, &arr(std::slice::from_ref(&full_message))),
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
    if let Err(NativeError(s, msg)) = load_for(app, &req) {
        return encoder_json(s, &anthropic_error(app, s, &msg));
    }
    let system = match req.get("system") {
        Some(Value::String(s)) => s.clone(),
        Some(v @ Value::Array(_)) => content_text(v),
        _ => String::new(),
    };
    let p = engine::prompt_tokens(&format!("{system} {prompt}"), n);
    let (toks, cut) = engine::limit(
        engine::tokens(&engine::reply_text(&prompt)),
        u64::try_from(max_tokens).ok(),
    );
    let c = u64::try_from(toks.len()).unwrap_or(0);
    let stop = if cut { "max_tokens" } else { "end_turn" };
    let id = format!("msg_{}", request_id(app));
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let usage = |out: u64| {
        Obj::new()
            .field("input_tokens", &p)
            .field("output_tokens", &out)
    };
    if !stream {
        let block = Obj::new()
            .field("type", "text")
            .field("text", &toks.concat())
            .done();
        let body = Obj::new()
            .field("id", &id)
            .field("type", "message")
            .field("role", "assistant")
            .field("model", &model)
            .raw("content", &arr(&[block]))
            .field("stop_reason", stop)
            .obj("usage", usage(c))
            .done();
        return encoder_json(StatusCode::OK, &body);
    }
    let frame = |name: &str, data: String| format!("event: {name}\ndata: {data}\n\n");
    let mut frames = vec![
        frame(
            "message_start",
            Obj::new()
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
        ),
        frame(
            "content_block_start",
            Obj::new()
                .field("type", "content_block_start")
                .field("index", &0)
                .raw("content_block", r#"{"type":"text","text":""}"#)
                .done(),
        ),
    ];
    for t in &toks {
        frames.push(frame(
            "content_block_delta",
            Obj::new()
                .field("type", "content_block_delta")
                .field("index", &0)
                .obj(
                    "delta",
                    Obj::new().field("type", "text_delta").field("text", t),
                )
                .done(),
        ));
    }
    frames.push(frame(
        "content_block_stop",
        Obj::new()
            .field("type", "content_block_stop")
            .field("index", &0)
            .done(),
    ));
    frames.push(frame(
        "message_delta",
        Obj::new()
            .field("type", "message_delta")
            .obj("delta", Obj::new().field("stop_reason", stop))
            .obj("usage", usage(c))
            .done(),
    ));
    frames.push(frame(
        "message_stop",
        r#"{"type":"message_stop"}"#.to_owned(),
    ));
    let (resp, tx) = streaming("text/event-stream", true);
    tokio::spawn(pump(tx, frames));
    resp
}
