//! Byte-level fidelity of the fake Ollama server against `tests/fixtures/ollama/` and the rules of
//! docs/ollama.md §0 (content types, trailing newlines, key order, router texts).
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests")]

mod ollama_support;

use ollama_support::{Mac, fixture, get, key_sequence, mask_times, post, request, top_level_keys};
use simmac::ollama::seed;

const GIN_JSON: &str = "application/json; charset=utf-8";

#[test]
fn root_get_and_head_say_ollama_is_running() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let r = get(addr, "/");
    r.assert_is(200, "text/plain; charset=utf-8", "Ollama is running");
    let h = request(addr, "HEAD", "/", None);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(h.header("content-length"), Some("17"));
    assert!(h.body.is_empty());
}

#[test]
fn router_404_and_405_are_gin_plain_text() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let r = get(addr, "/api/nope");
    r.assert_is(404, "text/plain", "404 page not found");
    let r = get(addr, "/api/show");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(r.text(), "405 method not allowed");
    // `:model` is one path segment: namespaced names cannot be retrieved.
    assert_eq!(
        get(addr, "/v1/models/ns/model:tag").text(),
        "404 page not found"
    );
}

#[test]
fn version_is_gin_json_without_newline_and_configurable() {
    let mac = Mac::new();
    seed::set_version(mac.path(), "0.30.1").unwrap();
    let (_srv, addr) = mac.serve();
    let r = get(addr, "/api/version");
    r.assert_body(GIN_JSON, r#"{"version":"0.30.1"}"#);
    let h = request(addr, "HEAD", "/api/version", None);
    assert_eq!(h.status, 200);
}

#[test]
fn tags_empty_then_entries_in_struct_order() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let r = get(addr, "/api/tags");
    r.assert_body(GIN_JSON, r#"{"models":[]}"#);

    // v0.12.6 shape: the docs sample's key order (no capabilities, no lengths).
    mac.install(&["llama3.2"]);
    let ours = get(addr, "/api/tags").text();
    let docs = fixture("api-tags-docs-sample.json");
    let docs_keys = key_sequence(&docs);
    let one_entry = &docs_keys[..=docs_keys.len() / 2]; // "models" + first entry
    assert_eq!(key_sequence(&ours), one_entry);
    let v: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["name"], "llama3.2:latest");
    assert_eq!(m["size"], 2_019_393_189_u64);
    let digest = m["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert!(
        digest
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert!(m["modified_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn tags_of_a_v030_server_match_the_compact_wire_entry() {
    let mac = Mac::new();
    seed::set_version(mac.path(), "0.30.0").unwrap();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let ours = get(addr, "/api/tags").text();
    let theirs = fixture("api-tags-entry-compact.json");
    assert_eq!(key_sequence(&ours), key_sequence(&theirs));
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&ours).unwrap(),
        serde_json::from_str(&theirs).unwrap(),
    );
    assert_eq!(a["models"][0]["details"], b["models"][0]["details"]);
    assert_eq!(a["models"][0]["size"], b["models"][0]["size"]);
    assert_eq!(
        a["models"][0]["capabilities"],
        b["models"][0]["capabilities"]
    );
}

#[test]
fn most_recently_modified_first() {
    let mac = Mac::new();
    mac.install(&["llama3"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (_srv, addr) = mac.install(&["all-minilm"]).serve();
    let v = get(addr, "/api/tags").json();
    assert_eq!(v["models"][0]["name"], "all-minilm:latest");
    assert_eq!(v["models"][1]["name"], "llama3:latest");
}

#[test]
fn pull_streams_the_documented_ndjson_sequence() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let r = post(addr, "/api/pull", r#"{"model":"llama3"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    assert!(r.complete);
    assert!(r.text().ends_with('\n'));
    let lines = r.lines();
    assert!(lines.len() <= 16, "{lines:?}");
    let example: Vec<String> = fixture("pull-stream-example.ndjson")
        .lines()
        .map(str::to_owned)
        .collect();
    // Same first line and same last three lines as the reference example.
    assert_eq!(lines[0], example[0]);
    assert_eq!(lines[lines.len() - 3..], example[example.len() - 3..]);
    // The model layer lines have the reference's digest, short name and key order.
    assert_eq!(lines[1], example[1]);
    assert_eq!(key_sequence(&lines[2]), key_sequence(&example[2]));
    assert!(lines.contains(&example[3]), "license layer line");
    for l in &lines[1..lines.len() - 3] {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let digest = v["digest"].as_str().unwrap();
        assert_eq!(v["status"], format!("pulling {}", &digest[7..19]));
    }
    let tags = get(addr, "/api/tags").json();
    assert_eq!(tags["models"][0]["name"], "llama3:latest");
}

#[test]
fn pull_of_an_installed_model_emits_one_line_per_layer() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(addr, "/api/pull", r#"{"model":"llama3:latest"}"#);
    // manifest + 4 layers + config + verifying/writing/success
    assert_eq!(r.lines().len(), 9, "{}", r.text());
    for l in &r.lines()[1..6] {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["total"], v["completed"]);
    }
}

#[test]
fn pull_of_an_unknown_model_fails_inside_the_stream() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let r = post(addr, "/api/pull", r#"{"model":"nope-model"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), fixture("pull-unknown-model.ndjson"));
    let r = post(
        addr,
        "/api/pull",
        r#"{"model":"nope-model","stream":false}"#,
    );
    r.assert_is(
        500,
        "application/json",
        fixture("pull-unknown-model-nostream.json"),
    );
    let r = post(addr, "/api/pull", r#"{"model":"llama3","stream":false}"#);
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"status":"success"}"#.to_owned())
    );
    let r = post(addr, "/api/pull", r#"{"model":"bad:"}"#);
    r.assert_is(400, GIN_JSON, r#"{"error":"invalid model name"}"#);
    let r = post(addr, "/api/pull", "");
    assert_eq!(r.text(), r#"{"error":"missing request body"}"#);
    let r = post(addr, "/api/pull", "xyz");
    assert_eq!(
        r.text(),
        r#"{"error":"invalid character 'x' looking for beginning of value"}"#
    );
}

#[test]
fn delete_replies_empty_200_then_404_with_the_name_as_sent() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = request(addr, "DELETE", "/api/delete", Some(r#"{"model":"llama3"}"#));
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(get(addr, "/api/tags").text(), r#"{"models":[]}"#);
    let r = request(addr, "DELETE", "/api/delete", Some(r#"{"model":"llama3"}"#));
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), r#"{"error":"model 'llama3' not found"}"#);
    let r = request(addr, "DELETE", "/api/delete", Some(r#"{"model":""}"#));
    assert_eq!(
        (r.status, r.text()),
        (400, r#"{"error":"model is required"}"#.to_owned())
    );
}

#[test]
fn show_and_generate_errors() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["all-minilm"]).serve();
    let r = post(addr, "/api/show", r#"{"model":"llama3"}"#);
    assert_eq!(
        (r.status, r.text()),
        (404, r#"{"error":"model 'llama3' not found"}"#.to_owned())
    );
    let r = post(addr, "/api/show", r#"{"model":"all-minilm"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(GIN_JSON));
    assert!(
        r.json()["modelfile"]
            .as_str()
            .unwrap()
            .starts_with("# Modelfile generated by \\\"ollama show\\\"")
            || r.json()["modelfile"]
                .as_str()
                .unwrap()
                .starts_with("# Modelfile generated by \"ollama show\"")
    );
    let r = post(addr, "/api/generate", r#"{"model":"llama3"}"#);
    assert_eq!(
        (r.status, r.text()),
        (404, r#"{"error":"model 'llama3' not found"}"#.to_owned())
    );
    let r = post(addr, "/api/generate", r#"{"model":""}"#);
    assert_eq!(
        (r.status, r.text()),
        (404, r#"{"error":"model '' not found"}"#.to_owned())
    );
    let r = post(addr, "/api/generate", r#"{"model":"all-minilm"}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"error":"\"all-minilm\" does not support generate"}"#
    );
    let r = post(
        addr,
        "/api/generate",
        r#"{"model":"all-minilm","keep_alive":"-1"}"#,
    );
    assert_eq!(
        r.text(),
        r#"{"error":"time: missing unit in duration \"-1\""}"#
    );
    let r = post(addr, "/api/embed", r#"{"model":"nomic-embed-text"}"#);
    assert_eq!(
        (r.status, r.text()),
        (
            404,
            r#"{"error":"model \"nomic-embed-text\" not found, try pulling it first"}"#.to_owned()
        )
    );
}

#[test]
fn load_and_unload_replies_match_the_reference_shapes() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(addr, "/api/generate", r#"{"model":"llama3"}"#);
    assert_eq!(r.header("content-type"), Some(GIN_JSON));
    assert_eq!(
        mask_times(&r.text()),
        mask_times(fixture("generate-load-derived.json").trim_end())
    );
    let r = post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","keep_alive":0}"#,
    );
    let docs: serde_json::Value =
        serde_json::from_str(&fixture("generate-unload-docs-sample.json")).unwrap();
    let ours = r.json();
    assert_eq!(
        key_sequence(&r.text()),
        ["model", "created_at", "response", "done", "done_reason"]
    );
    assert_eq!(ours["done_reason"], docs["done_reason"]);
    assert_eq!(ours["model"], "llama3");
    let created = ours["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'));
}

#[test]
fn v1_models_is_null_when_empty_and_uses_the_encoder_writer() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let r = get(addr, "/v1/models");
    r.assert_body("application/json", fixture("v1-models-empty.json"));
    mac.install(&["llama3"]);
    let r = get(addr, "/v1/models");
    let sample = fixture("v1-models-sample.json");
    assert_eq!(key_sequence(&r.text()), key_sequence(&sample));
    assert!(r.text().ends_with("}\n"));
    let v = r.json();
    assert_eq!(v["data"][0]["id"], "llama3:latest");
    assert_eq!(v["data"][0]["owned_by"], "library");
    let r = get(addr, "/v1/models/llama3");
    assert_eq!(r.json()["id"], "llama3");
    let r = get(addr, "/v1/models/nope");
    r.assert_is(
        404,
        "application/json",
        fixture("v1-chat-completions-unknown-model.json"),
    );
}

#[test]
fn chat_completions_errors_are_byte_exact() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let body = r#"{"model":"nope","messages":[{"role":"user","content":"hi"}]}"#;
    for b in [body.to_owned(), body.replace('}', r#","stream":true}"#)] {
        let r = post(addr, "/v1/chat/completions", &b);
        r.assert_is(
            404,
            "application/json",
            fixture("v1-chat-completions-unknown-model.json"),
        );
    }
    let r = post(addr, "/v1/chat/completions", "xyz");
    r.assert_is(400, GIN_JSON, fixture("v1-malformed-json-error.json"));
    let r = post(
        addr,
        "/v1/chat/completions",
        r#"{"model":"nope","messages":[]}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"error":{"message":"[] is too short - 'messages'","type":"invalid_request_error","param":null,"code":null}}"#
    );
}

#[test]
fn chat_completion_non_stream_follows_struct_order() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(
        addr,
        "/v1/chat/completions",
        r#"{"model":"llama3","messages":[{"role":"user","content":"Say <hi> & bye"}]}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.text().ends_with("}\n"));
    assert_eq!(
        key_sequence(&r.text()),
        key_sequence(&fixture("v1-chat-completion-example.json"))
    );
    // Go's HTML escaping inside strings.
    assert!(
        r.text().contains(r"\u003chi\u003e \u0026 bye"),
        "{}",
        r.text()
    );
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["model"], "llama3");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
}

#[test]
fn chat_completion_stream_ends_with_done_and_usage_chunk() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(
        addr,
        "/v1/chat/completions",
        r#"{"model":"llama3","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello there"}]}"#,
    );
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let text = r.text();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let frames: Vec<&str> = text.split_terminator("\n\n").collect();
    let example = fixture("v1-chat-completions-stream-example.sse");
    let ex: Vec<&str> = example.split_terminator("\n\n").collect();
    assert_eq!(key_sequence(frames[0]), key_sequence(ex[0]));
    assert_eq!(key_sequence(frames[1]), key_sequence(ex[1]));
    let n = frames.len();
    assert_eq!(key_sequence(frames[n - 3]), key_sequence(ex[2]));
    assert!(frames[n - 3].contains(r#""delta":{},"finish_reason":"stop""#));
    assert_eq!(key_sequence(frames[n - 2]), key_sequence(ex[3]));
    assert!(frames[n - 2].contains(r#""choices":[]"#));
    let content: String = frames[..n - 3]
        .iter()
        .map(|f| {
            let v: serde_json::Value =
                serde_json::from_str(f.trim_start_matches("data: ")).unwrap();
            v["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(content, "ok. You said: hello there");

    // max_tokens 1 → exactly one content chunk, finish_reason length, no usage chunk.
    let r = post(
        addr,
        "/v1/chat/completions",
        r#"{"model":"llama3","stream":true,"max_tokens":1,"messages":[{"role":"user","content":"hello there"}]}"#,
    );
    let text = r.text();
    let frames: Vec<&str> = text.split_terminator("\n\n").collect();
    assert_eq!(frames.len(), 3, "{text}");
    assert!(frames[1].contains(r#""finish_reason":"length""#));
}

#[test]
fn json_object_response_format_yields_valid_json() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(
        addr,
        "/v1/chat/completions",
        r#"{"model":"llama3","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"give \"json\""}]}"#,
    );
    let content = r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed: serde_json::Value = serde_json::from_str(&content).expect("content is JSON");
    assert!(parsed.is_object());
}

fn anthropic_events(text: &str) -> Vec<(String, serde_json::Value)> {
    text.split_terminator("\n\n")
        .map(|f| {
            let (ev, data) = f.split_once('\n').unwrap();
            (
                ev.trim_start_matches("event: ").to_owned(),
                serde_json::from_str(data.trim_start_matches("data: ")).unwrap(),
            )
        })
        .collect()
}

#[test]
fn anthropic_messages_stream_event_order_and_errors() {
    let mac = Mac::new();
    seed::set_version(mac.path(), "0.14.0").unwrap();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"llama3","max_tokens":64,"stream":true,"system":"be brief","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"ok"},{"role":"user","content":"again"}]}"#,
    );
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let ours = anthropic_events(&r.text());
    let theirs = anthropic_events(&fixture("anthropic-messages-stream-example.sse"));
    let names = |v: &[(String, serde_json::Value)]| {
        let mut n: Vec<String> = v.iter().map(|(e, _)| e.clone()).collect();
        n.dedup();
        n
    };
    assert_eq!(names(&ours), names(&theirs));
    for (e, d) in &ours {
        assert_eq!(&d["type"], e);
    }
    let raw = r.text();
    let ex = fixture("anthropic-messages-stream-example.sse");
    let first_data = |s: &str, ev: &str| {
        let i = s.find(&format!("event: {ev}\n")).unwrap();
        let line = s[i..].lines().nth(1).unwrap().to_owned();
        key_sequence(&line)
    };
    for ev in [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "message_delta",
    ] {
        assert_eq!(first_data(&raw, ev), first_data(&ex, ev), "{ev}");
    }
    // non-stream
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"llama3","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(
        key_sequence(&r.text()),
        [
            "id",
            "type",
            "role",
            "model",
            "content",
            "type",
            "text",
            "stop_reason",
            "usage",
            "input_tokens",
            "output_tokens"
        ]
    );
    assert!(r.text().ends_with("}\n"));
    // errors
    let r = post(
        addr,
        "/v1/messages",
        r#"{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["message"], "model is required");
    assert!(v["request_id"].as_str().unwrap().starts_with("req_"));
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"llama3","max_tokens":0,"messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(
        r.json()["error"]["message"],
        "max_tokens is required and must be positive"
    );
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"llama3","max_tokens":5,"messages":[]}"#,
    );
    assert_eq!(r.json()["error"]["message"], "messages is required");
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"nonexistent","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
    );
    assert_eq!(r.status, 404);
    let fx = fixture("anthropic-unknown-model.json");
    let cut = |s: &str| s[..s.find("req_").unwrap()].to_owned();
    assert_eq!(cut(&r.text()), cut(&fx));
    assert!(r.text().ends_with("\"}\n"));
}

#[test]
fn anthropic_errors_switch_makes_messages_fail() {
    let mac = Mac::new();
    seed::set_version(mac.path(), "0.14.0").unwrap();
    mac.install(&["llama3"]);
    let mut cfg = simmac::ollama::state::config(mac.path()).unwrap();
    cfg.anthropic_errors = true;
    seed::set_config(mac.path(), &cfg).unwrap();
    let (_srv, addr) = mac.serve();
    let r = post(
        addr,
        "/v1/messages",
        r#"{"model":"llama3","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["type"], "api_error");
}

#[test]
fn responses_non_stream_and_stream_shapes() {
    let mac = Mac::new();
    seed::set_version(mac.path(), "0.13.3").unwrap();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(addr, "/v1/responses", r#"{"model":"llama3","input":"hi"}"#);
    assert_eq!(r.status, 200);
    let keys = key_sequence(&r.text());
    assert_eq!(
        keys[..8],
        [
            "id",
            "object",
            "created_at",
            "completed_at",
            "status",
            "incomplete_details",
            "model",
            "previous_response_id"
        ]
    );
    let v = r.json();
    assert_eq!(v["output"][0]["content"][0]["text"], "ok. You said: hi");
    assert_eq!(v["status"], "completed");
    let r = post(
        addr,
        "/v1/responses",
        r#"{"model":"llama3","input":"hi there","stream":true}"#,
    );
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let text = r.text();
    assert!(!text.contains("[DONE]"));
    let mut names = Vec::new();
    for (seq, frame) in text.split_terminator("\n\n").enumerate() {
        let (ev, data) = frame.split_once('\n').unwrap();
        let data = data.trim_start_matches("data: ");
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["sequence_number"], seq);
        let name = ev.trim_start_matches("event: ");
        assert_eq!(v["type"], name);
        names.push(name.to_owned());
        // top-level keys sorted (Go map)
        let top = top_level_keys(data);
        let mut sorted = top.clone();
        sorted.sort();
        assert_eq!(top, sorted, "{data}");
    }
    names.dedup();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
}

#[test]
fn foreign_host_headers_get_an_empty_403_on_a_loopback_server() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let raw = |host: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /api/version HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let denied = raw("evil.example.com");
    assert!(denied.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{denied}");
    assert!(denied.ends_with("\r\n\r\n"), "empty body: {denied}");
    for ok in [
        "localhost:11434",
        "127.0.0.1",
        "192.168.1.23:11434",
        "mac-mini.local",
        "[::1]:11434",
    ] {
        assert!(raw(ok).starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
    }
}
