//! `ssollama verify` end to end: the real binary against a simulated Mac whose launchd really
//! runs the fake Ollama. A converged server is set up by hand (plist written, bootstrapped
//! through the fake `launchctl`, models seeded); each failing check is then provoked once.
//!
//! Every server binds a 127.0.0.X of its sandbox on a port that is also free on 127.0.0.1 and
//! held there (bound, not listening) for the test's life, so the "loopback refuses" check probes
//! a port nothing else can take; the tests that want an answer there let go of it first.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Child;

use simmac::Sandbox;
use simmac::ollama::seed;

use super::support::{Mac, Run, listening, wait_until};

/// The Ollama version the servers below run: one that serves `/v1/responses` (0.13.3+) and
/// `/v1/messages` (0.14.0+) and lists capabilities in `/api/tags` (0.30.0+).
const VERSION: &str = "0.32.3";

/// A converged server (`llama3.2` declared and warm) of [`VERSION`] with `models` installed too.
fn modern(on_loopback: bool, models: &[&str]) -> Mac {
    at_version(on_loopback, VERSION, models)
}

fn at_version(on_loopback: bool, version: &str, models: &[&str]) -> Mac {
    Mac::converged_server_with(on_loopback, |mac| {
        seed::set_version(mac, version).unwrap();
        for model in models {
            seed::install_model(mac, model).unwrap();
        }
    })
}

/// Replaces the `[[models]]` of the server's `server.toml` with `models` (`(name, warm)`).
fn declare(server: &Mac, models: &[(&str, bool)]) {
    let toml = std::fs::read_to_string(&server.config).unwrap();
    let head = &toml[..toml.find("[[models]]").unwrap()];
    let mut toml = head.to_owned();
    for (name, warm) in models {
        let _ = write!(toml, "[[models]]\nname = \"{name}\"\nwarm = {warm}\n");
    }
    std::fs::write(&server.config, toml).unwrap();
}

/// `verify --json` on `server`, which must fail no check.
fn passing(server: &Mac) -> serde_json::Value {
    let out = server.run(&["verify", "--json"]);
    assert_eq!(
        failed_ids(&out),
        Vec::<String>::new(),
        "{}",
        server.shown(&out)
    );
    out.json()
}

fn failed_ids(out: &Run) -> Vec<String> {
    out.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A stray `ollama serve` (not launchd's) on `addr`.
fn stray_server(sb: &Sandbox, addr: SocketAddr) -> Child {
    let child = sb
        .command(sb.ollama_path())
        .arg("serve")
        .env("OLLAMA_HOST", addr.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the stray server listens", || listening(addr));
    child
}

#[test]
fn verify_passes_on_a_converged_server_and_writes_junit() {
    let server = modern(false, &[]);
    let junit = server.sb.root().join("verify.xml");
    let out = server.run(&["verify", "--junit", junit.to_str().unwrap()]);
    insta::assert_snapshot!(server.shown(&out));
    assert_eq!(out.code, Some(0));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"32\" failures=\"0\" errors=\"0\" skipped=\"2\""),
        "{xml}"
    );
    // Read-only: verify changes nothing on the Mac.
    let mutating: Vec<String> = server
        .sb
        .mutating_calls()
        .iter()
        .map(simmac::journal::Call::summary)
        .filter(|c| !c.starts_with("launchctl bootstrap"))
        .collect();
    assert_eq!(mutating, Vec::<String>::new());
}

#[test]
fn each_fault_fails_the_check_about_it() {
    let mut server = modern(false, &[]);
    let mac = server.sb.mac_dir();
    let run = || server.run(&["verify", "--json"]);
    let out = run();
    assert_eq!(
        failed_ids(&out),
        Vec::<String>::new(),
        "{}",
        server.shown(&out)
    );
    assert_eq!(out.json()["summary"]["passed"], 28);

    server.sb.set_fault("job-user", "root");
    let out = run();
    assert_eq!(out.code, Some(1));
    assert_eq!(failed_ids(&out), ["security.process_user"]);
    server.sb.clear_fault("job-user");

    let mut config = simmac::ollama::state::config(&mac).unwrap();
    config.anthropic_errors = true;
    seed::set_config(&mac, &config).unwrap();
    let out = run();
    assert_eq!(
        failed_ids(&out),
        [
            "anthropic.messages",
            "anthropic.stream",
            "anthropic.system",
            "anthropic.multi_turn",
            "anthropic.stream_usage",
            "anthropic.claude_code"
        ],
        "{}",
        server.shown(&out)
    );
    config.anthropic_errors = false;
    seed::set_config(&mac, &config).unwrap();

    seed::remove_model(&mac, "llama3.2").unwrap();
    let out = server.run(&["verify"]);
    insta::assert_snapshot!("model_missing", server.shown(&out));
    seed::install_model(&mac, "llama3.2").unwrap();

    let out = server.run(&[
        "verify",
        "--json",
        "--skip-model-tests",
        "--skip-anthropic-tests",
    ]);
    let doc = out.json();
    assert_eq!(out.code, Some(0));
    // Left out: 6 model checks, 2 client checks that run the model, and 8 Anthropic ones.
    assert_eq!(doc["summary"]["skipped"], 2 + 8 + 8);

    // Last: once 127.0.0.1:<port> is let go, nothing keeps it free for the runs above.
    server.release_loopback_port();
    let stray = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let mut child = stray_server(&server.sb, stray);
    let out = server.run(&["verify", "--json"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        failed_ids(&out),
        ["network.loopback"],
        "{}",
        server.shown(&out)
    );
}

#[test]
fn verify_fails_when_the_server_binds_another_address() {
    // server.toml declares 127.0.0.X; the job was loaded with 127.0.0.1.
    let server = modern(true, &[]);
    let out = server.run(&["verify"]);
    assert_eq!(out.code, Some(1));
    insta::assert_snapshot!(server.shown(&out));
}

fn check<'d>(doc: &'d serde_json::Value, id: &str) -> &'d serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[test]
fn network_checks_read_networksetup_and_ping_the_router() {
    use simmac::network::{Lease, NetConfig, Service};
    let server = modern(false, &[]);
    let mut toml = std::fs::read_to_string(&server.config).unwrap();
    toml.push_str(
        "\n[network]\nservice = \"Ethernet\"\naddress = \"192.168.1.50\"\nsubnet_mask = \"255.255.255.0\"\nrouter = \"192.168.1.1\"\n",
    );
    std::fs::write(&server.config, toml).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["verify", "--json", "--skip-model-tests"];
        args.extend(extra);
        server.run(&args).json()
    };
    // The sandbox's Ethernet is on DHCP (192.168.1.23).
    let doc = run(&[]);
    let static_ip = check(&doc, "network.static_ip");
    assert_eq!(static_ip["status"], "fail");
    assert_eq!(
        static_ip["received"],
        "DHCP 192.168.1.23 mask 255.255.255.0 router 192.168.1.1"
    );
    assert_eq!(check(&doc, "network.router")["status"], "pass");

    server.sb.set_network_services(vec![Service::new(
        "Ethernet",
        true,
        NetConfig::Manual(Lease::new("192.168.1.50", "255.255.255.0", "192.168.1.1")),
    )]);
    let doc = run(&["--skip-router"]);
    assert_eq!(check(&doc, "network.static_ip")["status"], "pass");
    let router = check(&doc, "network.router");
    assert_eq!(router["status"], "skip");
    assert_eq!(router["hint"], "run without --skip-router");
    // ping went through the tool dir only when asked for.
    let pings = server
        .sb
        .journal()
        .iter()
        .filter(|c| c.summary().starts_with("ping "))
        .count();
    assert_eq!(pings, 1);
}

#[test]
fn verbose_shows_each_request_and_reply() {
    let server = modern(false, &[]);
    let out = server.run(&["verify", "-v", "--skip-anthropic-tests"]);
    assert_eq!(out.code, Some(0));
    let text = server.shown(&out);
    assert!(
        text.contains("          > POST http://[HOST]:[PORT]/v1/chat/completions\n"),
        "{text}"
    );
    assert!(
        text.contains("          < 200 text/event-stream ("),
        "{text}"
    );
    assert!(
        text.contains("          expected: HTTP 200 `Ollama is running`\n"),
        "{text}"
    );
}

#[test]
fn a_healthy_server_with_only_a_thinking_model_passes() {
    for (model, kind) in [
        ("qwen3", "thinking"),
        ("deepseek-r1", "thinking"),
        ("gpt-oss:20b", "harmony"),
    ] {
        let server = modern(false, &[model]);
        declare(&server, &[(model, false)]);
        seed::remove_model(&server.sb.mac_dir(), "llama3.2").unwrap();
        let out = server.run(&["verify", "--json"]);
        let doc = out.json();
        assert_eq!(
            failed_ids(&out),
            Vec::<String>::new(),
            "{model}: {}",
            server.shown(&out)
        );
        assert_eq!(doc["model"]["kind"], kind, "{model}");
        assert_eq!(doc["model"]["source"], "the first model in server.toml");
        assert_eq!(doc["summary"]["passed"], 28, "{model}");
        // Budget 1: the reply was thinking only or empty, and that passes.
        let messages = check(&doc, "anthropic.messages");
        assert_eq!(messages["status"], "pass");
        let json_mode = check(&doc, "openai.json_mode");
        assert_eq!(json_mode["status"], "pass", "{model}: {json_mode}");
    }
}

#[test]
fn the_chat_checks_pass_over_an_embedding_model_and_say_so() {
    let server = modern(false, &["all-minilm"]);
    declare(&server, &[("all-minilm", true), ("llama3.2", true)]);
    let doc = passing(&server);
    assert_eq!(doc["model"]["name"], "llama3.2:latest");
    assert_eq!(
        doc["model"]["source"],
        "the first warm model in server.toml that can chat; passed over all-minilm:latest (embedding only)"
    );
    let text = server.shown(&server.run(&["verify"]));
    assert!(
        text.contains("(model llama3.2:latest: the first warm model in server.toml that can chat; passed over all-minilm:latest (embedding only))"),
        "{text}"
    );
    // Only an embedding model: the model checks skip and say why.
    declare(&server, &[("all-minilm", true)]);
    seed::remove_model(&server.sb.mac_dir(), "llama3.2").unwrap();
    let out = server.run(&["verify", "--json"]);
    let doc = out.json();
    assert_eq!(out.code, Some(0), "{}", server.shown(&out));
    assert_eq!(doc["model"], serde_json::Value::Null);
    assert_eq!(
        check(&doc, "openai.chat")["received"],
        "no model that can chat: all-minilm:latest (embedding only)"
    );
}

#[test]
fn an_older_server_without_capabilities_is_asked_through_api_show() {
    let server = at_version(false, "0.14.0", &["nomic-embed-text", "qwen3"]);
    declare(&server, &[]);
    seed::remove_model(&server.sb.mac_dir(), "llama3.2").unwrap();
    let doc = passing(&server);
    assert_eq!(doc["model"]["name"], "qwen3:latest");
    assert_eq!(doc["model"]["kind"], "thinking");
}

#[test]
fn a_broken_server_still_fails() {
    // Wrong status: the Anthropic endpoint answers 500.
    let server = modern(false, &["qwen3"]);
    declare(&server, &[("qwen3", true)]);
    let mac = server.sb.mac_dir();
    let mut config = simmac::ollama::state::config(&mac).unwrap();
    config.anthropic_errors = true;
    seed::set_config(&mac, &config).unwrap();
    let out = server.run(&["verify", "--json"]);
    assert!(
        failed_ids(&out).contains(&"anthropic.messages".to_owned()),
        "{}",
        server.shown(&out)
    );
    config.anthropic_errors = false;
    seed::set_config(&mac, &config).unwrap();
    // Missing event sequence: the stream stops after message_start.
    server.sb.set_fault("messages-stream-cut", "");
    let out = server.run(&["verify", "--json"]);
    assert_eq!(
        failed_ids(&out),
        [
            "anthropic.stream",
            "anthropic.stream_usage",
            "anthropic.claude_code"
        ],
        "{}",
        server.shown(&out)
    );
    assert_eq!(
        check(&out.json(), "anthropic.stream")["received"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap(),
        "the last event is \"message_start\", not message_stop"
    );
}

#[test]
fn before_0_14_0_the_anthropic_checks_fail_with_the_upgrade_hint() {
    let server = at_version(false, "0.13.3", &[]);
    let out = server.run(&["verify", "--json"]);
    let doc = out.json();
    assert_eq!(
        failed_ids(&out),
        [
            "anthropic.messages",
            "anthropic.stream",
            "anthropic.system",
            "anthropic.error",
            "anthropic.multi_turn",
            "anthropic.stream_usage",
            "anthropic.claude_code"
        ],
        "{}",
        server.shown(&out)
    );
    assert_eq!(
        check(&doc, "anthropic.messages")["hint"],
        "Ollama 0.13.3 has no /v1/messages (added in 0.14.0): upgrade Ollama, or run with --skip-anthropic-tests"
    );
    let out = server.run(&["verify", "--json", "--skip-anthropic-tests"]);
    assert_eq!(out.code, Some(0), "{}", server.shown(&out));
    let server = at_version(false, "0.13.2", &[]);
    let out = server.run(&["verify", "--json", "--skip-anthropic-tests"]);
    assert_eq!(
        failed_ids(&out),
        ["openai.responses"],
        "{}",
        server.shown(&out)
    );
}

#[test]
fn a_served_port_stays_refused_on_loopback_until_let_go() {
    // What the "loopback refuses" check of every test above relies on: nothing else (another
    // test's listener, another test run) can take 127.0.0.1:<port>, and it still refuses.
    let mut server = Mac::served();
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    assert!(std::net::TcpListener::bind(loopback).is_err());
    assert!(!listening(loopback));
    server.release_loopback_port();
    assert!(std::net::TcpListener::bind(loopback).is_ok());
}

/// Declares `llama3.2` warm, served as `llama3.2-64k` with `context_length` 65536, and installs
/// that derived model as if it had been built with `num_ctx` = `built_with`.
fn derived_model(server: &Mac, built_with: u64) {
    let toml = std::fs::read_to_string(&server.config).unwrap();
    let head = &toml[..toml.find("[[models]]").unwrap()];
    std::fs::write(
        &server.config,
        format!(
            "{head}[[models]]\nname = \"llama3.2\"\nwarm = true\ncontext_length = 65536\nserve_as = \"llama3.2-64k\"\n"
        ),
    )
    .unwrap();
    let mac = server.sb.mac_dir();
    let registry = simmac::ollama::state::registry(&mac).unwrap();
    let (_, mut spec) = seed::lookup(&registry, "llama3.2").unwrap();
    spec.parameters
        .insert("num_ctx".to_owned(), serde_json::json!(built_with));
    "llama3.2:latest".clone_into(&mut spec.parent_model);
    seed::record_install(&mac, "llama3.2-64k:latest", &spec).unwrap();
}

#[test]
fn verify_fails_a_warm_model_served_below_its_declared_context() {
    // The derived model was built with 8192: Ollama serves what the model says.
    let server = modern(false, &[]);
    derived_model(&server, 8192);
    let out = server.run(&["verify", "--json"]);
    assert_eq!(out.code, Some(1), "{}", server.shown(&out));
    assert_eq!(
        failed_ids(&out),
        ["clients.context"],
        "{}",
        server.shown(&out)
    );
    let doc = out.json();
    // The model checks use the name clients are told to use.
    assert_eq!(doc["model"]["name"], "llama3.2-64k:latest");
    let context = check(&doc, "clients.context");
    assert_eq!(
        context["received"],
        "llama3.2-64k:latest 8192 (declares 65536)"
    );
    assert!(
        context["hint"]
            .as_str()
            .unwrap()
            .contains("`context_length`"),
        "{context}"
    );
}

#[test]
fn verify_measures_prompt_reuse_and_warns_when_the_first_token_would_come_too_late() {
    // Built as declared: the context passes. At the fake's 500 tokens/s a full 65536-token
    // prompt takes about 131 s; a model served with 262144 tokens would take 524 s.
    let server = modern(false, &[]);
    derived_model(&server, 65536);
    let doc = passing(&server);
    assert_eq!(check(&doc, "clients.context")["status"], "pass");
    assert_eq!(check(&doc, "anthropic.claude_code")["status"], "pass");
    let count_tokens = check(&doc, "anthropic.count_tokens");
    assert_eq!(count_tokens["status"], "warn", "{count_tokens}");
    let reuse = check(&doc, "clients.prompt_reuse");
    assert_eq!(reuse["status"], "pass", "{reuse}");
    let first = check(&doc, "clients.first_token");
    assert_eq!(first["status"], "pass", "{first}");
    assert!(
        first["received"]
            .as_str()
            .unwrap()
            .contains("s to the first token at 65536 tokens"),
        "{first}"
    );
    // The same prefix again in the next run is new to the server (each run's prefix is its
    // own), so the prefill is measured again, not served from the cache.
    let again = passing(&server);
    assert_eq!(check(&again, "clients.prompt_reuse")["status"], "pass");

    let server = modern(false, &[]);
    derived_model(&server, 262_144);
    let out = server.run(&["verify"]);
    assert_eq!(out.code, Some(0), "{}", server.shown(&out));
    let text = server.shown(&out);
    assert!(
        text.contains("  WARN  a prompt at the served context gets its first token within Claude Code's 300 s: prefill "),
        "{text}"
    );
    assert!(
        text.contains("s to the first token at 262144 tokens"),
        "{text}"
    );
}
