//! Models for coding clients: `/api/create` (derived models), `/api/show` parameters and
//! `model_info`, the served context in `/api/ps`, runner memory by weights plus KV cache, and
//! the GPU lines of the server log (`README.md` next to `src/ollama`, "Models for coding
//! clients", names the Ollama source each follows).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "tests read the fake's files and sockets directly"
)]

mod ollama_support;

use std::net::SocketAddr;

use ollama_support::{Mac, get, post, request};
use serde_json::{Value, json};
use simmac::ollama::{seed, spawn, state};

fn ps(addr: SocketAddr) -> Vec<Value> {
    get(addr, "/api/ps").json()["models"]
        .as_array()
        .unwrap()
        .clone()
}

/// Installed model names, in install order.
fn installed_names(mac: &Mac) -> Vec<String> {
    state::installed(mac.path())
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect()
}

fn load(addr: SocketAddr, body: &str) -> u16 {
    post(addr, "/api/generate", body).status
}

#[test]
fn create_from_an_installed_base_streams_the_layers_and_stores_the_parameters() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["qwen2.5-coder:32b"]).serve();
    let base = state::installed(mac.path()).unwrap()[0].clone();
    let r = post(
        addr,
        "/api/create",
        r#"{"model":"qwen-coder-64k","from":"qwen2.5-coder:32b","parameters":{"num_ctx":65536,"temperature":0.2}}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let statuses: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = base
        .spec
        .layers
        .iter()
        .map(|l| format!("using existing layer {}", l.digest))
        .collect();
    let params = "{\"num_ctx\":65536,\"temperature\":0.2}\n";
    expected.push(format!(
        "creating new layer sha256:{}",
        state::sha256_hex(params.as_bytes())
    ));
    expected.push("writing manifest".to_owned());
    expected.push("success".to_owned());
    assert_eq!(statuses, expected);
    // The derived model is listed, shares the weights, and names its parent.
    let tags = get(addr, "/api/tags").json();
    let derived = &tags["models"][0];
    assert_eq!(derived["name"], "qwen-coder-64k:latest");
    assert_eq!(derived["details"]["parent_model"], "qwen2.5-coder:32b");
    let weights = base.spec.layers[0].size;
    assert!(derived["size"].as_u64().unwrap() > weights);
    let show = post(addr, "/api/show", r#"{"model":"qwen-coder-64k"}"#).json();
    assert_eq!(
        show["parameters"],
        "num_ctx                        65536\ntemperature                    0.2"
    );
    assert_eq!(show["details"]["parent_model"], "qwen2.5-coder:32b");
    assert_eq!(show["model_info"]["qwen2.block_count"], 64);
    assert!(
        show["modelfile"]
            .as_str()
            .unwrap()
            .contains("PARAMETER num_ctx 65536\n")
    );
    // A second create of the same parameters reuses the params blob.
    let again = post(
        addr,
        "/api/create",
        r#"{"model":"other","from":"qwen2.5-coder:32b","parameters":{"temperature":0.2,"num_ctx":65536},"stream":false}"#,
    );
    assert_eq!(
        (again.status, again.text()),
        (200, r#"{"status":"success"}"#.to_owned())
    );
    // Deleting the derived model leaves the base.
    let d = request(
        addr,
        "DELETE",
        "/api/delete",
        Some(r#"{"model":"qwen-coder-64k"}"#),
    );
    assert_eq!(d.status, 200);
    assert_eq!(installed_names(&mac), ["qwen2.5-coder:32b", "other:latest"]);
}

#[test]
fn create_errors_are_ollamas() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    // No `from` (and no files): 400 before anything is streamed.
    let r = post(addr, "/api/create", r#"{"model":"x"}"#);
    assert_eq!(r.status, 400);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.text(),
        r#"{"error":"neither 'from' or 'files' was specified"}"#
    );
    let r = post(
        addr,
        "/api/create",
        r#"{"model":"bad name!","from":"llama3"}"#,
    );
    assert_eq!(
        (r.status, r.text()),
        (400, r#"{"error":"invalid model name"}"#.to_owned())
    );
    let r = post(addr, "/api/create", "");
    assert_eq!(
        (r.status, r.text()),
        (400, r#"{"error":"missing request body"}"#.to_owned())
    );
    // A base that is neither installed nor pullable: the pull's error, in the stream.
    let r = post(addr, "/api/create", r#"{"model":"x","from":"nope:7b"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "{\"status\":\"pulling manifest\"}\n{\"error\":\"pull model manifest: file does not exist\"}\n"
    );
    let r = post(
        addr,
        "/api/create",
        r#"{"model":"x","from":"gpt-oss:120b-cloud","stream":false}"#,
    );
    assert_eq!(
        (r.status, r.text()),
        (
            500,
            r#"{"error":"pull model manifest: file does not exist"}"#.to_owned()
        )
    );
    // Parameters are not checked at create time; a bad type fails the load.
    let r = post(
        addr,
        "/api/create",
        r#"{"model":"broken","from":"llama3","parameters":{"num_ctx":"big","no_such_option":1},"stream":false}"#,
    );
    assert_eq!(r.status, 200);
    let r = post(addr, "/api/generate", r#"{"model":"broken"}"#);
    assert_eq!(
        (r.status, r.text()),
        (
            500,
            r#"{"error":"option \"num_ctx\" must be of type integer"}"#.to_owned()
        )
    );
    assert_eq!(
        get(addr, "/api/tags").json()["models"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn create_from_a_base_not_yet_pulled_pulls_it_first() {
    let mac = Mac::new();
    let (_srv, addr) = mac.serve();
    let r = post(
        addr,
        "/api/create",
        r#"{"model":"l32-32k","from":"llama3.2","parameters":{"num_ctx":32768}}"#,
    );
    let text = r.text();
    let statuses: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(statuses[0], "pulling manifest");
    let success = statuses.iter().filter(|s| *s == "success").count();
    assert_eq!(success, 2, "the pull's success, then the create's: {text}");
    assert!(statuses.iter().any(|s| s.starts_with("pulling ")));
    assert_eq!(installed_names(&mac), ["llama3.2:latest", "l32-32k:latest"]);
    let show = post(addr, "/api/show", r#"{"model":"l32-32k"}"#).json();
    assert_eq!(show["details"]["parent_model"], "llama3.2:latest");
}

#[test]
fn served_context_is_the_request_then_the_model_then_the_environment_then_4096() {
    let mac = Mac::new();
    mac.install(&["llama3.2", "qwen3"]);
    let mut env = Mac::env(&format!("{}:0", mac.ip));
    env.insert("OLLAMA_CONTEXT_LENGTH".to_owned(), "8192".to_owned());
    let srv = spawn(mac.path(), env).unwrap();
    let addr = srv.addr().unwrap();
    post(
        addr,
        "/api/create",
        r#"{"model":"l32-64k","from":"llama3.2","parameters":{"num_ctx":65536},"stream":false}"#,
    );
    assert_eq!(load(addr, r#"{"model":"qwen3"}"#), 200);
    assert_eq!(load(addr, r#"{"model":"l32-64k"}"#), 200);
    let ctx = |name: &str| {
        ps(addr)
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["context_length"].as_u64().unwrap())
    };
    assert_eq!(ctx("qwen3:latest"), Some(8192), "OLLAMA_CONTEXT_LENGTH");
    assert_eq!(ctx("l32-64k:latest"), Some(65536), "the model's num_ctx");
    assert_eq!(
        load(addr, r#"{"model":"l32-64k","options":{"num_ctx":16384}}"#),
        200
    );
    assert_eq!(ctx("l32-64k:latest"), Some(16384), "the request's num_ctx");
    drop(srv);
    // Without the variable: v0.12.6's default, 4096.
    let (_srv, addr) = mac.serve();
    assert_eq!(load(addr, r#"{"model":"qwen3"}"#), 200);
    assert_eq!(ps(addr)[0]["context_length"], 4096);
}

#[test]
fn the_default_context_follows_the_version_and_the_metal_total() {
    let mac = Mac::new();
    mac.install(&["llama3.2", "gpt-oss:20b"]);
    let machine = simmac::state::Mac::new(mac.path());
    let set_total = |gib: u64| {
        let mut m = machine.machine();
        m.metal_total_bytes = Some(gib << 30);
        machine.set_machine(&m).unwrap();
    };
    // v0.12.6: gpt-oss gets at least 8192 unless the GPU has under 20 GiB (low VRAM mode).
    set_total(24);
    let (srv, addr) = mac.serve();
    load(addr, r#"{"model":"gpt-oss:20b"}"#);
    assert_eq!(ps(addr)[0]["context_length"], 8192);
    drop(srv);
    set_total(16);
    let (srv, addr) = mac.serve();
    load(addr, r#"{"model":"gpt-oss:20b"}"#);
    assert_eq!(ps(addr)[0]["context_length"], 4096);
    drop(srv);
    // From v0.15.5 the default is the VRAM tier: ≥ 23 GiB → 32768, ≥ 47 GiB → 262144.
    seed::set_version(mac.path(), "0.15.5").unwrap();
    for (gib, want) in [(16, 4096), (24, 32768), (48, 262_144)] {
        set_total(gib);
        let (_srv, addr) = mac.serve();
        load(addr, r#"{"model":"llama3.2"}"#);
        assert_eq!(ps(addr)[0]["context_length"], want, "{gib} GiB");
    }
    // … and no more gpt-oss minimum.
    set_total(16);
    let (_srv, addr) = mac.serve();
    load(
        addr,
        r#"{"model":"gpt-oss:20b","options":{"num_ctx":2048}}"#,
    );
    assert_eq!(ps(addr)[0]["context_length"], 2048);
}

#[test]
fn runner_memory_is_the_weights_plus_the_kv_cache() {
    let mac = Mac::new();
    mac.install(&["llama3", "qwen3"]);
    let size_of = |env: &[(&str, &str)], model: &str, ctx: u64| {
        let mut e = Mac::env(&format!("{}:0", mac.ip));
        for (k, v) in env {
            e.insert((*k).to_owned(), (*v).to_owned());
        }
        let srv = spawn(mac.path(), e).unwrap();
        let addr = srv.addr().unwrap();
        let body = json!({"model": model, "options": {"num_ctx": ctx}}).to_string();
        assert_eq!(load(addr, &body), 200);
        let m = ps(addr)[0].clone();
        assert_eq!(m["size"], m["size_vram"]);
        m["size"].as_u64().unwrap()
    };
    let weights = |name: &str| {
        state::installed(mac.path())
            .unwrap()
            .into_iter()
            .find(|m| m.name == name)
            .unwrap()
            .size
    };
    // llama3: 32 layers × 8 KV heads × (128 + 128) head dims × 2 bytes (f16) per token.
    let per_token = 32 * 8 * 256 * 2;
    assert_eq!(
        size_of(&[], "llama3", 8192),
        weights("llama3:latest") + 8192 * per_token
    );
    assert_eq!(
        size_of(&[("OLLAMA_NUM_PARALLEL", "2")], "llama3", 8192),
        weights("llama3:latest") + 2 * 8192 * per_token
    );
    // q8_0 needs flash attention, off by default for llama: still f16.
    assert_eq!(
        size_of(&[("OLLAMA_KV_CACHE_TYPE", "q8_0")], "llama3", 8192),
        weights("llama3:latest") + 8192 * per_token
    );
    // … and on with OLLAMA_FLASH_ATTENTION: one byte per element, q4_0 half a byte.
    assert_eq!(
        size_of(
            &[
                ("OLLAMA_KV_CACHE_TYPE", "q8_0"),
                ("OLLAMA_FLASH_ATTENTION", "1")
            ],
            "llama3",
            8192
        ),
        weights("llama3:latest") + 8192 * per_token / 2
    );
    // qwen3 has flash attention by default (v0.12.6): q4_0 applies.
    let qwen_per_token = 36 * 8 * 256 * 2;
    assert_eq!(
        size_of(&[("OLLAMA_KV_CACHE_TYPE", "q4_0")], "qwen3", 16384),
        weights("qwen3:latest") + 16384 * qwen_per_token / 4
    );
    // The cache is capped at the training context (llama3: 8192), the reported context not.
    assert_eq!(
        size_of(&[], "llama3", 32768),
        weights("llama3:latest") + 8192 * per_token
    );
}

#[test]
fn show_reports_the_attention_geometry_of_each_catalogue_model() {
    let mac = Mac::new();
    let (_srv, addr) = mac
        .install(&["gpt-oss:20b", "llama3", "all-minilm"])
        .serve();
    let info = |m: &str| {
        post(addr, "/api/show", &json!({"model": m}).to_string()).json()["model_info"].clone()
    };
    let g = info("gpt-oss:20b");
    assert_eq!(g["general.architecture"], "gptoss");
    for (k, v) in [
        ("gptoss.block_count", 24),
        ("gptoss.attention.head_count", 64),
        ("gptoss.attention.head_count_kv", 8),
        ("gptoss.attention.key_length", 64),
        ("gptoss.attention.value_length", 64),
        ("gptoss.context_length", 131_072),
        ("gptoss.embedding_length", 2880),
    ] {
        assert_eq!(g[k], v, "{k}");
    }
    let l = info("llama3");
    assert_eq!(l["llama.attention.head_count_kv"], 8);
    assert!(
        l.get("llama.attention.key_length").is_none(),
        "llama3's GGUF has no key_length"
    );
    let e = info("all-minilm");
    assert_eq!(e["bert.pooling_type"], 1);
    assert!(e.get("bert.attention.head_count_kv").is_none());
}

fn out(o: &std::process::Output) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

#[test]
fn sysctl_answers_the_memory_and_the_wired_limit_like_macos() {
    let sb = simmac::Sandbox::new();
    sb.set_memsize(38_654_705_664);
    assert_eq!(
        out(&sb.tool("sysctl", &["hw.memsize"])),
        ("hw.memsize: 38654705664\n".to_owned(), String::new(), 0)
    );
    assert_eq!(
        out(&sb.tool("sysctl", &["-n", "hw.memsize", "iogpu.wired_limit_mb"])),
        ("38654705664\n0\n".to_owned(), String::new(), 0)
    );
    // An unknown OID: the real error on stderr, the known ones still printed, exit 1.
    assert_eq!(
        out(&sb.tool("sysctl", &["-n", "hw.perflevel0.count", "hw.memsize"])),
        (
            "38654705664\n".to_owned(),
            "sysctl: unknown oid 'hw.perflevel0.count'\n".to_owned(),
            1
        )
    );
    // Writing the wired limit needs root.
    assert_eq!(
        out(&sb.tool("sysctl", &["iogpu.wired_limit_mb=28000"])).2,
        1
    );
    assert_eq!(
        out(&sb.tool("sudo", &["sysctl", "iogpu.wired_limit_mb=28000"])),
        (
            "iogpu.wired_limit_mb: 0 -> 28000\n".to_owned(),
            String::new(),
            0
        )
    );
    assert_eq!(sb.machine().wired_limit_mb, 28000);
    assert_eq!(sb.metal_total(), 28000 << 20);
}

#[test]
fn the_metal_total_is_the_wired_limit_else_a_share_of_ram() {
    let sb = simmac::Sandbox::new();
    sb.set_memsize(16 << 30);
    assert_eq!(engine_human(sb.metal_total()), "10.7 GiB");
    sb.set_memsize(64 << 30);
    assert_eq!(engine_human(sb.metal_total()), "48.0 GiB");
    sb.set_wired_limit_mb(57_344);
    assert_eq!(engine_human(sb.metal_total()), "56.0 GiB");
    sb.set_metal_total(Some(5 << 30));
    assert_eq!(sb.metal_total(), 5 << 30);
}

fn engine_human(b: u64) -> String {
    simmac::ollama::engine::human_bytes2(b)
}

/// A `<bin>/ollama serve` of the sandbox on `<loopback>:11434` with its stderr in a file.
struct LoggedServer {
    child: std::process::Child,
    log: std::path::PathBuf,
    addr: SocketAddr,
}

impl LoggedServer {
    /// Starts the server and waits (bounded) until it has logged its GPU and listens.
    fn start(sb: &simmac::Sandbox, env: &[(&str, &str)]) -> Self {
        let log = sb.root().join("server.log");
        let addr = SocketAddr::from((sb.loopback(), simmac::sandbox::OLLAMA_PORT));
        let mut cmd = sb.command(sb.ollama_path());
        cmd.arg("serve")
            .env("OLLAMA_HOST", addr.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let server = Self {
            child: cmd.spawn().unwrap(),
            log,
            addr,
        };
        let start = std::time::Instant::now();
        while !(server.text().contains("inference compute")
            && std::net::TcpStream::connect(addr).is_ok())
        {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "the server did not start: {}",
                server.text()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        server
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's log once it has logged its GPU (the server is stopped).
fn server_log(sb: &simmac::Sandbox, env: &[(&str, &str)]) -> String {
    LoggedServer::start(sb, env).text()
}

fn masked(line: &str) -> String {
    let rest = line.split_once(" level=").map_or(line, |(_, r)| r);
    format!("level={rest}")
}

#[test]
fn the_server_logs_its_metal_device_in_the_versions_format() {
    let sb = simmac::Sandbox::new();
    sb.update_machine(|m| {
        m.memsize = 16 << 30;
        "Apple M4".clone_into(&mut m.chip);
    });
    let text = server_log(&sb, &[]);
    let lines: Vec<String> = text
        .lines()
        .filter(|l| l.contains("GPUs...") || l.contains("inference compute") || l.contains("vram"))
        .map(masked)
        .collect();
    // v0.12.6's attribute set (the v0.12.5 capture has the same one).
    assert_eq!(
        lines,
        [
            "level=INFO source=runner.go:80 msg=\"discovering available GPUs...\"",
            "level=INFO source=types.go:112 msg=\"inference compute\" id=0 library=Metal compute=0.0 name=Metal description=\"Apple M4\" libdirs=\"\" driver=0.0 pci_id=00:00.0 type=discrete total=\"10.7 GiB\" available=\"10.7 GiB\"",
            "level=INFO source=routes.go:1605 msg=\"entering low vram mode\" \"total vram\"=\"10.7 GiB\" threshold=\"20.0 GiB\"",
        ]
    );
    // A newer server: filter_id, an empty pci_id, and the VRAM-based default context.
    seed::set_version(&sb.mac_dir(), "0.17.0").unwrap();
    sb.set_memsize(32 << 30).set_wired_limit_mb(25_600);
    let text = server_log(&sb, &[]);
    let gpu: Vec<String> = text
        .lines()
        .filter(|l| l.contains("inference compute") || l.contains("vram"))
        .map(masked)
        .collect();
    assert_eq!(
        gpu,
        [
            "level=INFO source=types.go:42 msg=\"inference compute\" id=0 filter_id=0 library=Metal compute=0.0 name=Metal description=\"Apple M4\" libdirs=\"\" driver=0.0 pci_id=\"\" type=discrete total=\"25.0 GiB\" available=\"25.0 GiB\"",
            "level=INFO source=routes.go:1648 msg=\"vram-based default context\" total_vram=\"25.0 GiB\" default_num_ctx=32768",
        ]
    );
}

/// A long shared prefix: Claude Code re-sends its system prompt and the conversation.
fn long_system() -> String {
    (0..400)
        .map(|i| format!("rule{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_repeated_prefix_is_reused_the_count_stays_the_duration_drops() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3.2"]).serve();
    let chat = |user: &str| {
        post(
            addr,
            "/api/chat",
            &json!({
                "model": "llama3.2",
                "stream": false,
                "messages": [
                    {"role": "system", "content": long_system()},
                    {"role": "user", "content": user},
                ],
            })
            .to_string(),
        )
        .json()
    };
    let first = chat("first question here");
    let second = chat("another one");
    let count = |r: &Value| r["prompt_eval_count"].as_u64().unwrap();
    let dur = |r: &Value| r["prompt_eval_duration"].as_u64().unwrap();
    // 6 header tokens, 2 × 4 framing tokens, 400 + 3 words.
    assert_eq!(count(&first), 6 + 8 + 400 + 3);
    assert_eq!(count(&second), 6 + 8 + 400 + 2);
    // All of the first was processed; of the second only what differs: the user message's
    // words and its closing token (its opening framing is the same).
    assert_eq!(dur(&first), count(&first) * 2_000_000);
    assert_eq!(dur(&second), 3 * 2_000_000);
    // The very same prompt again: one token is always processed.
    assert_eq!(dur(&chat("another one")), 2_000_000);
}

#[test]
fn openai_and_anthropic_usage_are_the_prompt_eval_count() {
    let mac = Mac::new();
    seed::set_version(mac.path(), "0.14.0").unwrap();
    let (_srv, addr) = mac.install(&["llama3.2"]).serve();
    let messages = json!([{"role": "user", "content": "hello there"}]);
    let o = post(
        addr,
        "/v1/chat/completions",
        &json!({"model": "llama3.2", "messages": messages}).to_string(),
    )
    .json();
    assert_eq!(o["usage"]["prompt_tokens"], 6 + 4 + 2);
    let a = post(
        addr,
        "/v1/messages",
        &json!({"model": "llama3.2", "max_tokens": 5, "system": long_system(), "messages": messages})
            .to_string(),
    )
    .json();
    assert_eq!(a["usage"]["input_tokens"], 6 + 8 + 400 + 2);
}

#[test]
fn a_prompt_longer_than_the_served_context_is_truncated_and_logged() {
    let sb = simmac::Sandbox::new();
    seed::install_model(&sb.mac_dir(), "llama3.2").unwrap();
    let server = LoggedServer::start(&sb, &[]);
    let r = post(
        server.addr,
        "/api/generate",
        &json!({"model": "llama3.2", "prompt": long_system(), "stream": false, "options": {"num_ctx": 256}})
            .to_string(),
    )
    .json();
    // The runner keeps num_keep (4) tokens and the last 252: 256 in all.
    assert_eq!(r["prompt_eval_count"], 256);
    let warn: Vec<String> = server
        .text()
        .lines()
        .filter(|l| l.contains("truncating"))
        .map(masked)
        .collect();
    assert_eq!(
        warn,
        [
            "level=WARN source=runner.go:171 msg=\"truncating input prompt\" limit=256 prompt=410 keep=4 new=256"
        ]
    );
}

#[test]
fn a_claude_code_shaped_request_is_served_and_count_tokens_is_not() {
    let mac = Mac::new();
    seed::set_version(mac.path(), "0.14.0").unwrap();
    let (_srv, addr) = mac.install(&["qwen3"]).serve();
    let body = json!({
        "model": "qwen3",
        "max_tokens": 32,
        "stream": true,
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": long_system()},
        ],
        "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "list the files"}]}],
    })
    .to_string();
    let raw = format!(
        "POST /v1/messages?beta=true HTTP/1.1\r\nHost: {addr}\r\nanthropic-version: 2023-06-01\r\nx-api-key: ollama\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = ollama_support::raw_request(addr, &raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let text = r.text();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    // Not a route of the Ollama server (only its Claude Desktop proxy answers it): gin's 404.
    let r = post(addr, "/v1/messages/count_tokens?beta=true", &body);
    assert_eq!((r.status, r.text()), (404, "404 page not found".to_owned()));
}

#[test]
fn cloud_off_by_env_or_server_json_refuses_cloud_models_from_v0_16_2() {
    let mac = Mac::new();
    mac.install(&["llama3"]);
    seed::set_version(mac.path(), "0.16.2").unwrap();
    let home = mac.path().join("home");
    let start = |no_cloud: Option<&str>| {
        let mut env = Mac::env(&format!("{}:0", mac.ip));
        env.insert("HOME".to_owned(), home.display().to_string());
        if let Some(v) = no_cloud {
            env.insert("OLLAMA_NO_CLOUD".to_owned(), v.to_owned());
        }
        spawn(mac.path(), env).unwrap()
    };
    let status = |addr| get(addr, "/api/status").text();
    let srv = start(None);
    let addr = srv.addr().unwrap();
    assert_eq!(
        status(addr),
        r#"{"cloud":{"disabled":false,"source":"none"}}"#
    );
    drop(srv);
    let srv = start(Some("1"));
    let addr = srv.addr().unwrap();
    assert_eq!(
        status(addr),
        r#"{"cloud":{"disabled":true,"source":"env"}}"#
    );
    let r = post(
        addr,
        "/api/chat",
        r#"{"model":"gpt-oss:120b-cloud","messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(
        (r.status, r.text()),
        (
            403,
            r#"{"error":"ollama cloud is disabled: remote model is unavailable"}"#.to_owned()
        )
    );
    // Local models are unaffected.
    assert_eq!(load(addr, r#"{"model":"llama3"}"#), 200);
    drop(srv);
    // The file Ollama.app writes (`app/store/cloud_config.go`): two-space JSON, a newline.
    std::fs::create_dir_all(home.join(".ollama")).unwrap();
    std::fs::write(
        home.join(".ollama/server.json"),
        "{\n  \"disable_ollama_cloud\": true\n}\n",
    )
    .unwrap();
    let srv = start(Some("1"));
    assert_eq!(
        status(srv.addr().unwrap()),
        r#"{"cloud":{"disabled":true,"source":"both"}}"#
    );
    drop(srv);
    let srv = start(None);
    assert_eq!(
        status(srv.addr().unwrap()),
        r#"{"cloud":{"disabled":true,"source":"config"}}"#
    );
    drop(srv);
    // Before v0.16.2 there is no switch and no route.
    seed::set_version(mac.path(), "0.16.1").unwrap();
    let srv = start(Some("1"));
    assert_eq!(get(srv.addr().unwrap(), "/api/status").status, 404);
}

#[test]
fn sandbox_helpers_read_what_was_created() {
    let sb = simmac::Sandbox::new();
    seed::install_model(&sb.mac_dir(), "qwen3").unwrap();
    let srv = spawn(&sb.mac_dir(), Mac::env(&format!("{}:0", sb.loopback()))).unwrap();
    let addr = srv.addr().unwrap();
    let r = post(
        addr,
        "/api/create",
        r#"{"model":"qwen3-64k","from":"qwen3","parameters":{"num_ctx":65536,"stop":["<|im_end|>"]},"stream":false}"#,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        sb.created_models(),
        [("qwen3-64k:latest".to_owned(), "qwen3:latest".to_owned())]
    );
    let params = sb.model_parameters("QWEN3-64K").unwrap();
    assert_eq!(params["num_ctx"], 65536);
    assert_eq!(params["stop"], json!(["<|im_end|>"]));
    assert_eq!(sb.model_parameters("qwen3").unwrap().len(), 0);
    assert_eq!(sb.model_parameters("absent"), None);
    assert_eq!(
        post(addr, "/api/show", r#"{"model":"qwen3-64k"}"#).json()["parameters"],
        "num_ctx                        65536\nstop                           \"<|im_end|>\""
    );
    // limit_runners_to_metal: the runners share the Metal total.
    sb.set_metal_total(Some(6 << 30)).limit_runners_to_metal();
    let r = post(addr, "/api/generate", r#"{"model":"qwen3-64k"}"#);
    assert_eq!(
        r.status, 500,
        "5.2 GB of weights + a 9.7 GB f16 cache at 65536 do not fit"
    );
    assert!(
        r.text().contains("than is available (6.0 GiB)"),
        "{}",
        r.text()
    );
}
