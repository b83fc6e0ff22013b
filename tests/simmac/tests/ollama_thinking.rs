//! The fake Ollama's thinking models, capabilities and endpoint versions, each against the rule
//! of Ollama's source it follows (named in each test; the list is in `tests/simmac/README.md`).
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests")]

mod ollama_support;

use ollama_support::{Mac, get, post};
use serde_json::Value;
use simmac::ollama::seed;

/// A server of `version` with `models` installed.
fn server(
    version: &str,
    models: &[&str],
) -> (Mac, simmac::ollama::RunningServer, std::net::SocketAddr) {
    let mac = Mac::new();
    seed::set_version(mac.path(), version).unwrap();
    mac.install(models);
    let (srv, addr) = mac.serve();
    (mac, srv, addr)
}

fn chat(addr: std::net::SocketAddr, body: &str) -> Value {
    let r = post(addr, "/api/chat", body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// `POST path body` answers 400 with the gin error `error`.
fn refused(addr: std::net::SocketAddr, path: &str, body: &str, error: &str) {
    post(addr, path, body).assert_is(400, "application/json; charset=utf-8", error);
}

/// Event names of an SSE body.
fn events(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn responses_and_messages_exist_from_their_releases_only() {
    // server/routes.go GenerateRoutes: /v1/responses since v0.13.3, /v1/messages since v0.14.0.
    let msg = r#"{"model":"llama3","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = r#"{"model":"llama3","input":"hi"}"#;
    for (version, responses, messages) in [
        ("0.13.2", 404, 404),
        ("0.13.3", 200, 404),
        ("0.14.0", 200, 200),
        ("0.32.3", 200, 200),
    ] {
        let (_mac, _srv, addr) = server(version, &["llama3"]);
        let r = post(addr, "/v1/responses", resp);
        assert_eq!(r.status, responses, "{version}");
        let m = post(addr, "/v1/messages", msg);
        assert_eq!(m.status, messages, "{version}");
        if messages == 404 {
            m.assert_is(404, "text/plain", "404 page not found");
            // The route does not exist at all: no 405 for another method either.
            assert_eq!(get(addr, "/v1/messages").status, 404);
        }
    }
}

#[test]
fn tags_list_capabilities_and_an_embedding_model_refuses_chat_and_generate() {
    let (_mac, _srv, addr) = server("0.30.0", &["qwen3", "gpt-oss:20b", "all-minilm", "llama3"]);
    let tags = get(addr, "/api/tags").json();
    let caps = |name: &str| {
        tags["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["capabilities"].clone())
            .unwrap()
    };
    assert_eq!(
        caps("qwen3:latest"),
        serde_json::json!(["completion", "tools", "thinking"])
    );
    assert_eq!(
        caps("gpt-oss:20b"),
        serde_json::json!(["completion", "tools", "thinking"])
    );
    assert_eq!(caps("all-minilm:latest"), serde_json::json!(["embedding"]));
    assert_eq!(caps("llama3:latest"), serde_json::json!(["completion"]));

    // server/routes.go ChatHandler / GenerateHandler: scheduleRunner's errCapabilityCompletion.
    refused(
        addr,
        "/api/chat",
        r#"{"model":"all-minilm","messages":[{"role":"user","content":"hi"}]}"#,
        r#"{"error":"\"all-minilm\" does not support chat"}"#,
    );
    refused(
        addr,
        "/api/generate",
        r#"{"model":"all-minilm","prompt":"hi"}"#,
        r#"{"error":"\"all-minilm\" does not support generate"}"#,
    );
    // Through the OpenAI middleware, re-wrapped as an OpenAI error.
    let r = post(
        addr,
        "/v1/chat/completions",
        r#"{"model":"all-minilm","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none"}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "\"all-minilm\" does not support chat"
    );
}

#[test]
fn thinking_models_think_by_default_and_only_gpt_oss_cannot_stop() {
    let (_mac, _srv, addr) = server("0.32.3", &["qwen3", "deepseek-r1", "gpt-oss:20b", "llama3"]);
    let ask = |model: &str, think: &str| {
        chat(
            addr,
            &format!(
                r#"{{"model":"{model}","stream":false,{think}"messages":[{{"role":"user","content":"Say OK."}}]}}"#
            ),
        )
    };
    for model in ["qwen3", "deepseek-r1", "gpt-oss:20b"] {
        // ChatHandler: think unset on a thinking model means true.
        let on = ask(model, "");
        assert!(
            !on["message"]["thinking"].as_str().unwrap().is_empty(),
            "{model}: {on}"
        );
        assert_eq!(on["message"]["content"], "ok. You said: Say OK.");
    }
    for model in ["qwen3", "deepseek-r1"] {
        let off = ask(model, r#""think":false,"#);
        assert!(off["message"].get("thinking").is_none(), "{model}: {off}");
    }
    // harmony (gpt-oss) ignores false: it still thinks; only the level changes.
    let off = ask("gpt-oss:20b", r#""think":false,"#);
    assert!(
        off["message"]["thinking"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let words = |v: &Value| {
        v["message"]["thinking"]
            .as_str()
            .unwrap()
            .split(' ')
            .count()
    };
    let low = ask("gpt-oss:20b", r#""think":"low","#);
    let high = ask("gpt-oss:20b", r#""think":"high","#);
    assert!(words(&low) < words(&off) && words(&off) < words(&high));
    // A model without the capability asked to think: 400.
    refused(
        addr,
        "/api/chat",
        r#"{"model":"llama3","think":true,"messages":[{"role":"user","content":"hi"}]}"#,
        r#"{"error":"\"llama3\" does not support thinking"}"#,
    );
    // … but think:false is fine for it.
    let plain = ask("llama3", r#""think":false,"#);
    assert!(plain["message"].get("thinking").is_none());
    // api.ThinkValue.UnmarshalJSON.
    let r = post(
        addr,
        "/api/chat",
        r#"{"model":"qwen3","think":"lots","messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("invalid think value: \\\"lots\\\""),
        "{}",
        r.text()
    );
}

#[test]
fn openai_reasoning_effort_and_json_mode_after_thinking() {
    let (_mac, _srv, addr) = server("0.32.3", &["qwen3", "gpt-oss:20b", "llama3"]);
    let complete = |model: &str, extra: &str| {
        let r = post(
            addr,
            "/v1/chat/completions",
            &format!(
                r#"{{"model":"{model}",{extra}"messages":[{{"role":"user","content":"Reply with a JSON object."}}]}}"#
            ),
        );
        (r.status, r.json())
    };
    // openai/openai.go FromChatRequest: the thinking comes back as `reasoning`.
    let (_, on) = complete("qwen3", "");
    assert!(on["choices"][0]["message"]["reasoning"].as_str().is_some());
    let (_, off) = complete("qwen3", r#""reasoning_effort":"none","#);
    assert!(
        off["choices"][0]["message"].get("reasoning").is_none(),
        "{off}"
    );
    let (_, harmony) = complete("gpt-oss:20b", r#""reasoning_effort":"none","#);
    assert!(
        harmony["choices"][0]["message"]["reasoning"]
            .as_str()
            .is_some()
    );
    // "none" on a model that cannot think is not an error (think false).
    let (status, _) = complete("llama3", r#""reasoning_effort":"none","#);
    assert_eq!(status, 200);
    let (status, err) = complete("qwen3", r#""reasoning_effort":"lots","#);
    assert_eq!(status, 400);
    assert_eq!(
        err["error"]["message"],
        r#"invalid reasoning value: 'lots' (must be "high", "medium", "low", or "none")"#
    );
    // JSON mode: the grammar applies after thinking, so the content is JSON…
    let json = r#""response_format":{"type":"json_object"},"#;
    let (_, v) = complete("gpt-oss:20b", json);
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(content).is_ok(), "{content}");
    // … and a budget that thinking uses up leaves none.
    let (_, v) = complete("gpt-oss:20b", &format!(r#"{json}"max_tokens":8,"#));
    assert_eq!(v["choices"][0]["message"]["content"], "");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert!(v["choices"][0]["message"]["reasoning"].as_str().is_some());
    // Low effort leaves room for the answer within a modest budget.
    let (_, v) = complete(
        "gpt-oss:20b",
        &format!(r#"{json}"max_tokens":64,"reasoning_effort":"low","#),
    );
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(serde_json::from_str::<Value>(content).is_ok(), "{v}");
}

#[test]
fn anthropic_replies_with_a_tiny_budget_are_thinking_only_or_empty() {
    let (_mac, _srv, addr) = server("0.32.3", &["qwen3", "llama3"]);
    let messages = |extra: &str| {
        let r = post(
            addr,
            "/v1/messages",
            &format!(
                r#"{{"model":"qwen3",{extra}"messages":[{{"role":"user","content":"Say OK."}}]}}"#
            ),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r
    };
    // anthropic/anthropic.go ToMessagesResponse: no thinking, no text → a nil slice → null.
    let empty = messages(r#""max_tokens":1,"#);
    assert_eq!(empty.json()["content"], Value::Null, "{}", empty.text());
    assert_eq!(empty.json()["stop_reason"], "max_tokens");
    // StreamConverter.Process: no content_block_* events at all.
    let stream = messages(r#""max_tokens":1,"stream":true,"#);
    assert_eq!(
        events(&stream.text()),
        ["message_start", "message_delta", "message_stop"]
    );
    // A few tokens: thinking only.
    let thinking = messages(r#""max_tokens":3,"#).json();
    assert_eq!(thinking["content"].as_array().unwrap().len(), 1);
    assert_eq!(thinking["content"][0]["type"], "thinking");
    let stream = messages(r#""max_tokens":3,"stream":true,"#);
    let ev = events(&stream.text());
    assert_eq!(ev[1], "content_block_start");
    assert!(
        stream
            .text()
            .contains(r#""content_block":{"type":"thinking","thinking":""}"#)
    );
    // Enough tokens: a thinking block, then a text block at index 1.
    let full = messages(r#""max_tokens":200,"stream":true,"#).text();
    assert!(
        full.contains(
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#
        ),
        "{full}"
    );
    // thinking disabled (v0.23.4+): text only.
    let off = messages(r#""max_tokens":200,"thinking":{"type":"disabled"},"#).json();
    assert_eq!(off["content"].as_array().unwrap().len(), 1);
    assert_eq!(off["content"][0]["type"], "text");
    // relax_thinking: asking a plain model to think is not an error here.
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"llama3","max_tokens":50,"thinking":{"type":"enabled"},"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["content"][0]["type"], "text");
}

#[test]
fn anthropic_thinking_disabled_is_ignored_before_0_23_4() {
    let (_mac, _srv, addr) = server("0.14.0", &["qwen3"]);
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"qwen3","max_tokens":200,"thinking":{"type":"disabled"},"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(r.json()["content"][0]["type"], "thinking");
}
