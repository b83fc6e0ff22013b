//! Stateful behaviour of the fake Ollama: pulls, faults, loading and keep-alive, restarts,
//! binding rules, listener file, journal, and the `ollama` client commands.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "tests read the fake's files directly"
)]

mod ollama_support;

use std::net::TcpStream;
use std::time::Duration;

use ollama_support::{Mac, get, post, request};
use simmac::ollama::{Readiness, ServeError, cli, seed, spawn, state};

#[test]
fn pull_dying_at_50_percent_closes_the_stream_and_installs_nothing() {
    let mac = Mac::new();
    mac.fault("pull-die-at-percent", "50\n");
    let (_srv, addr) = mac.serve();
    let r = post(addr, "/api/pull", r#"{"model":"llama3"}"#);
    assert_eq!(r.status, 200);
    assert!(!r.complete, "the chunked body must end abruptly");
    let text = r.text();
    assert!(!text.contains("success"), "{text}");
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["completed"], last["total"].as_u64().unwrap() / 2);
    assert!(state::installed(mac.path()).unwrap().is_empty());
    assert_eq!(get(addr, "/api/tags").text(), r#"{"models":[]}"#);
    let r = post(addr, "/api/pull", r#"{"model":"llama3","stream":false}"#);
    assert_eq!(
        (r.status, r.text()),
        (500, r#"{"error":"unexpected EOF"}"#.to_owned())
    );
    assert!(state::installed(mac.path()).unwrap().is_empty());
    // The server itself keeps running; without the fault the pull succeeds.
    seed::clear_fault(mac.path(), "pull-die-at-percent").unwrap();
    let r = post(addr, "/api/pull", r#"{"model":"llama3"}"#);
    assert!(r.text().ends_with("{\"status\":\"success\"}\n"));
}

#[test]
fn generate_with_empty_prompt_loads_and_keep_alive_zero_unloads() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3", "qwen2.5-coder:32b"]).serve();
    assert_eq!(get(addr, "/api/ps").text(), r#"{"models":[]}"#);
    let r = post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","keep_alive":"10m"}"#,
    );
    assert_eq!(r.json()["done_reason"], "load");
    let r = post(
        addr,
        "/api/chat",
        r#"{"model":"qwen2.5-coder:32b","messages":[],"keep_alive":-1}"#,
    );
    assert_eq!(r.json()["done_reason"], "load");
    assert_eq!(r.json()["message"]["role"], "assistant");
    let ps = get(addr, "/api/ps").json();
    let models = ps["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    // Sorted by expires_at descending: forever first.
    assert_eq!(models[0]["name"], "qwen2.5-coder:32b");
    assert!(models[0]["expires_at"].as_str().unwrap() > "2300");
    assert_eq!(models[1]["name"], "llama3:latest");
    assert_eq!(models[1]["context_length"], 4096);
    assert_eq!(models[1]["size"], models[1]["size_vram"]);
    let keys = ollama_support::top_level_keys(&serde_json::to_string(&models[1]).unwrap());
    assert!(!keys.is_empty());
    let raw = get(addr, "/api/ps").text();
    let entry_keys = ollama_support::key_sequence(&raw);
    assert_eq!(
        entry_keys[1..9],
        [
            "name",
            "model",
            "size",
            "digest",
            "details",
            "parent_model",
            "format",
            "family"
        ]
    );
    let r = post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","keep_alive":0}"#,
    );
    assert_eq!(r.json()["done_reason"], "unload");
    let ps = get(addr, "/api/ps").json();
    assert_eq!(ps["models"].as_array().unwrap().len(), 1);
    assert_eq!(ps["models"][0]["name"], "qwen2.5-coder:32b");
}

#[test]
fn short_keep_alive_expires_and_env_default_applies() {
    let mac = Mac::new();
    mac.install(&["llama3"]);
    let mut env = Mac::env(&format!("{}:0", mac.ip));
    env.insert("OLLAMA_KEEP_ALIVE".into(), "24h".into());
    env.insert("OLLAMA_CONTEXT_LENGTH".into(), "8192".into());
    let srv = spawn(mac.path(), env).unwrap();
    let addr = srv.addr().unwrap();
    post(addr, "/api/generate", r#"{"model":"llama3"}"#);
    let ps = get(addr, "/api/ps").json();
    assert_eq!(ps["models"][0]["context_length"], 8192);
    let exp = ps["models"][0]["expires_at"].as_str().unwrap().to_owned();
    post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","keep_alive":"300ms"}"#,
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        get(addr, "/api/ps").text(),
        r#"{"models":[]}"#,
        "expired (was {exp})"
    );
}

#[test]
fn generation_streams_ndjson_and_loads_the_model() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    let r = post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","prompt":"why is the sky blue"}"#,
    );
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines = r.lines();
    let text: String = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["response"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(text, "ok. You said: why is the sky blue");
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "stop");
    assert!(last["eval_count"].as_u64().unwrap() > 0);
    let r = post(
        addr,
        "/api/chat",
        r#"{"model":"llama3","stream":false,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.json()["message"]["content"], "ok. You said: hi");
    assert_eq!(
        get(addr, "/api/ps").json()["models"][0]["name"],
        "llama3:latest"
    );
}

#[test]
fn embed_loads_embedding_models() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["all-minilm"]).serve();
    let r = post(addr, "/api/embed", r#"{"model":"all-minilm"}"#);
    assert_eq!(r.text(), r#"{"model":"all-minilm","embeddings":[]}"#);
    let r = post(
        addr,
        "/api/embed",
        r#"{"model":"all-minilm","input":["a","b"]}"#,
    );
    let v = r.json();
    assert_eq!(v["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(v["embeddings"][0].as_array().unwrap().len(), 384);
    assert_eq!(
        get(addr, "/api/ps").json()["models"][0]["name"],
        "all-minilm:latest"
    );
}

#[test]
fn restart_keeps_models_and_unloads_everything() {
    let mac = Mac::new();
    let (srv, addr) = mac.serve();
    post(addr, "/api/pull", r#"{"model":"llama3.2"}"#);
    post(
        addr,
        "/api/generate",
        r#"{"model":"llama3.2","keep_alive":-1}"#,
    );
    assert_eq!(
        get(addr, "/api/ps").json()["models"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let tags_before = get(addr, "/api/tags").text();
    srv.stop().unwrap();
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
    let srv = mac.start_on(&addr.to_string());
    assert_eq!(srv.addr(), Some(addr));
    assert_eq!(get(addr, "/api/tags").text(), tags_before);
    assert_eq!(get(addr, "/api/ps").text(), r#"{"models":[]}"#);
}

#[test]
fn never_ready_fault_listens_nowhere() {
    let mac = Mac::new();
    // Find a free port on our IP, then ask for it.
    let probe = std::net::TcpListener::bind(format!("{}:0", mac.ip)).unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    mac.fault("ollama-never-ready", "");
    let srv = mac.start_on(&addr.to_string());
    assert_eq!(srv.readiness, Readiness::NeverReady);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
    assert!(!mac.file("ollama/listeners").exists());
    srv.stop().unwrap();
}

#[test]
fn busy_port_fails_like_go() {
    let mac = Mac::new();
    let first = mac.start();
    let addr = first.addr().unwrap();
    let err = spawn(mac.path(), Mac::env(&addr.to_string())).unwrap_err();
    assert!(matches!(err, ServeError::InUse(_)));
    assert_eq!(
        err.to_string(),
        format!("Error: listen tcp {addr}: bind: address already in use")
    );
}

#[test]
fn foreign_addresses_are_refused_and_wildcards_bind_loopback() {
    let mac = Mac::new();
    for host in ["192.168.1.50:11434", "http://10.0.0.1"] {
        let err = spawn(mac.path(), Mac::env(host)).unwrap_err();
        assert!(matches!(err, ServeError::CannotAssign(_)), "{host}: {err}");
    }
    assert_eq!(
        spawn(mac.path(), Mac::env("192.168.1.50:11434"))
            .unwrap_err()
            .to_string(),
        "Error: listen tcp 192.168.1.50:11434: bind: can't assign requested address"
    );
    let err = spawn(mac.path(), Mac::env("example.com")).unwrap_err();
    assert!(matches!(err, ServeError::NotLoopback(_)), "{err}");
    // `:0` asks for all interfaces: really bound on 127.0.0.1, reported as a wildcard.
    let srv = mac.start_on(":0");
    let addr = srv.addr().unwrap();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    let listeners: Vec<_> = std::fs::read_dir(mac.file("ollama/listeners"))
        .unwrap()
        .collect();
    assert_eq!(listeners.len(), 1);
    let body = std::fs::read_to_string(listeners[0].as_ref().unwrap().path()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["address"], format!("*:{}", addr.port()));
    assert_eq!(v["pid"], std::process::id());
}

#[test]
fn the_macs_lan_address_and_the_wildcard_use_the_sandbox_loopback() {
    use simmac::network::{Lease, NetConfig, Service, Services};
    let mac = Mac::new();
    let alias: std::net::IpAddr = mac.ip.parse().unwrap();
    seed::set_loopback(mac.path(), alias).unwrap();
    simmac::network::save(
        &simmac::state::Mac::new(mac.path()),
        &Services {
            services: vec![Service::new(
                "Ethernet",
                true,
                NetConfig::Manual(Lease::new("192.168.1.50", "255.255.255.0", "192.168.1.1")),
            )],
        },
    )
    .unwrap();
    // A LAN address the Mac has: bound on the alias, shown as the LAN address.
    let srv = mac.start_on("192.168.1.50:0");
    let addr = srv.addr().unwrap();
    assert_eq!(addr.ip(), alias);
    let file = mac.file(&format!("ollama/listeners/{}.json", std::process::id()));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["address"], format!("192.168.1.50:{}", addr.port()));
    // The client reaches it through the same mapping; a LAN Host header is allowed.
    let env = Mac::env(&format!("192.168.1.50:{}", addr.port()));
    assert_eq!(
        cli::version_lines(mac.path(), &env, "0.12.6"),
        ["ollama version is 0.12.6"]
    );
    srv.stop().unwrap();
    // Another LAN address is not the Mac's.
    let err = spawn(mac.path(), Mac::env("192.168.1.51:0")).unwrap_err();
    assert!(matches!(err, ServeError::CannotAssign(_)), "{err}");
    // The wildcard lands on the alias too, and `0.0.0.0` clients connect there.
    let srv = mac.start_on("0.0.0.0:0");
    let addr = srv.addr().unwrap();
    assert_eq!(addr.ip(), alias);
    let env = Mac::env(&format!("0.0.0.0:{}", addr.port()));
    assert_eq!(
        cli::version_lines(mac.path(), &env, "0.12.6"),
        ["ollama version is 0.12.6"]
    );
}

#[test]
fn listener_file_lives_as_long_as_the_server() {
    let mac = Mac::new();
    let (srv, addr) = mac.serve();
    let file = mac.file(&format!("ollama/listeners/{}.json", std::process::id()));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["address"], addr.to_string());
    srv.stop().unwrap();
    assert!(!file.exists());
}

#[test]
fn every_request_is_journaled() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    get(addr, "/api/tags");
    post(addr, "/api/pull", r#"{"model":"llama3"}"#);
    post(addr, "/api/generate", r#"{"model":"llama3"}"#);
    request(addr, "DELETE", "/api/delete", Some(r#"{"model":"llama3"}"#));
    let journal = std::fs::read_to_string(mac.file("journal.log")).unwrap();
    assert_eq!(
        journal,
        concat!(
            r#"{"tool":"http","method":"GET","path":"/api/tags","mutating":false}"#,
            "\n",
            r#"{"tool":"http","method":"POST","path":"/api/pull","mutating":true}"#,
            "\n",
            r#"{"tool":"http","method":"POST","path":"/api/generate","mutating":false,"kind":"load"}"#,
            "\n",
            r#"{"tool":"http","method":"DELETE","path":"/api/delete","mutating":true}"#,
            "\n",
        )
    );
}

#[test]
fn crash_fault_ends_the_server_with_an_error() {
    let mac = Mac::new();
    mac.fault("ollama-crash", "150");
    let (srv, addr) = mac.serve();
    assert_eq!(get(addr, "/").status, 200);
    std::thread::sleep(Duration::from_millis(400));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
    assert!(matches!(srv.stop(), Err(ServeError::Crash(150))));
}

#[test]
fn slow_fault_delays_responses() {
    let mac = Mac::new();
    mac.fault("ollama-slow-ms", "300");
    let (_srv, addr) = mac.serve();
    let t = std::time::Instant::now();
    assert_eq!(get(addr, "/api/version").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[test]
fn client_version_list_and_ps() {
    let mac = Mac::new();
    let (srv, addr) = mac.install(&["llama3"]).serve();
    let env = Mac::env(&addr.to_string());
    assert_eq!(
        cli::version_lines(mac.path(), &env, "0.12.6"),
        ["ollama version is 0.12.6"]
    );
    assert_eq!(
        cli::version_lines(mac.path(), &env, "0.13.0"),
        [
            "ollama version is 0.12.6",
            "Warning: client version is 0.13.0"
        ]
    );
    let list = cli::list_or_ps(mac.path(), &env, false, None).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert!(
        lines[0].starts_with("NAME             ID              SIZE      MODIFIED    "),
        "{list}"
    );
    assert!(lines[1].ends_with(" ago    "), "{list}");
    assert_eq!(
        lines[0].len(),
        lines[1].len() - 3,
        "header ends with one space, cells with four"
    );
    assert!(lines[1].starts_with("llama3:latest    "), "{list}");
    assert!(lines[1].contains("    4.7 GB    "), "{list}");
    post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","keep_alive":-1}"#,
    );
    let ps = cli::list_or_ps(mac.path(), &env, true, None).unwrap();
    assert!(
        ps.starts_with(
            "NAME             ID              SIZE      PROCESSOR    CONTEXT    UNTIL   \n"
        ),
        "{ps:?}"
    );
    assert!(
        ps.contains("100% GPU     4096       Forever    \n"),
        "{ps:?}"
    );
    srv.stop().unwrap();
    assert_eq!(
        cli::version_lines(mac.path(), &env, "0.12.6"),
        [
            "Warning: could not connect to a running Ollama instance",
            "Warning: client version is 0.12.6"
        ]
    );
    assert_eq!(
        cli::list_or_ps(mac.path(), &env, false, None).unwrap_err(),
        "Error: could not connect to ollama server, run 'ollama serve' to start it"
    );
}

/// Two pulls finishing at the same moment both install: the fake's `models.json` update must
/// not race (a shared temp file name, or a read-modify-write that loses one entry). Seen as
/// `pull all-minilm failed: No such file or directory (os error 2)` in `ssollama apply` under load.
#[test]
fn concurrent_pulls_all_install() {
    for _ in 0..20 {
        let mac = Mac::new();
        let (_srv, addr) = mac.serve();
        let models = ["llama3.2", "all-minilm", "nomic-embed-text", "llama3"];
        let replies: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = models
                .iter()
                .map(|m| {
                    s.spawn(move || {
                        post(
                            addr,
                            "/api/pull",
                            &format!(r#"{{"model":"{m}","stream":false}}"#),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (model, reply) in models.iter().zip(&replies) {
            assert_eq!(
                (reply.status, reply.text()),
                (200, r#"{"status":"success"}"#.to_owned()),
                "{model}"
            );
        }
        let tags = get(addr, "/api/tags").json();
        assert_eq!(
            tags["models"].as_array().unwrap().len(),
            models.len(),
            "{tags}"
        );
    }
}

/// Names in `/api/ps`, in its order.
fn loaded_names(addr: std::net::SocketAddr) -> Vec<String> {
    get(addr, "/api/ps").json()["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_model_that_does_not_fit_evicts_shortest_keep_alive_first_pinned_ones_too() {
    let mac = Mac::new();
    let (_srv, addr) = mac
        .install(&["llama3", "llama3.2", "qwen2.5-coder:32b"])
        .serve();
    // Runner sizes (weights + the f16 KV cache of 4096 tokens, `layers × 4096 × (128 + 128) ×
    // 8 KV heads × 2 bytes`): llama3 ≈ 5.2 GB, llama3.2 ≈ 2.5 GB, qwen ≈ 20.9 GB.
    seed::set_memory(mac.path(), Some(27_000_000_000)).unwrap();
    let load = |model: &str, keep_alive: &str| {
        post(
            addr,
            "/api/generate",
            &format!(r#"{{"model":"{model}","keep_alive":{keep_alive}}}"#),
        )
    };
    assert_eq!(load("llama3", "-1").status, 200);
    assert_eq!(load("llama3.2", "\"10m\"").status, 200);
    assert_eq!(loaded_names(addr), ["llama3:latest", "llama3.2:latest"]);
    // qwen does not fit beside both: the 10-minute runner goes first, the pinned one stays.
    assert_eq!(load("qwen2.5-coder:32b", "-1").status, 200);
    let mut names = loaded_names(addr);
    names.sort();
    assert_eq!(names, ["llama3:latest", "qwen2.5-coder:32b"]);
    // With less memory a pinned runner is evicted too (both are pinned: the model path decides
    // which; here qwen's blob sorts first, and llama3.2 fits beside llama3).
    seed::set_memory(mac.path(), Some(22_000_000_000)).unwrap();
    assert_eq!(load("llama3.2", "-1").status, 200);
    let mut names = loaded_names(addr);
    names.sort();
    assert_eq!(names, ["llama3.2:latest", "llama3:latest"]);
}

#[test]
fn a_model_that_can_never_fit_fails_after_evicting_everything() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3", "qwen2.5-coder:32b"]).serve();
    seed::set_memory(mac.path(), Some(10_000_000_000)).unwrap();
    let r = post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","keep_alive":-1}"#,
    );
    assert_eq!(r.status, 200);
    let r = post(
        addr,
        "/api/generate",
        r#"{"model":"qwen2.5-coder:32b","keep_alive":-1}"#,
    );
    assert_eq!(r.status, 500);
    assert_eq!(
        r.text(),
        r#"{"error":"model requires more system memory (19.5 GiB) than is available (9.3 GiB)"}"#
    );
    assert!(loaded_names(addr).is_empty());
}

#[test]
fn delete_removes_the_files_and_leaves_a_loaded_model_in_memory() {
    let mac = Mac::new();
    let (_srv, addr) = mac.install(&["llama3"]).serve();
    post(
        addr,
        "/api/generate",
        r#"{"model":"llama3","keep_alive":-1}"#,
    );
    let r = request(addr, "DELETE", "/api/delete", Some(r#"{"model":"llama3"}"#));
    assert_eq!(r.status, 200);
    assert_eq!(get(addr, "/api/tags").text(), r#"{"models":[]}"#);
    assert_eq!(loaded_names(addr), ["llama3:latest"]);
}
