//! The bundled example observations in `examples/state/`: the README's first command plans
//! `server.toml.example` against `fresh-mac.json`, on any OS.
//!
//! They are observations of the simulated Mac (`ssollama observe --json`, before and after
//! `ssollama apply --yes`) with the sandbox's paths, uid and 127.0.0.X replaced by the values of
//! `server.toml.example` and a typical Mac (`/Users/tester`, uid 501, 192.168.250.20):
//! `cargo test --test it regenerate_example_states -- --ignored` writes them again.

use std::path::Path;
use std::process::{Command, Output};

use super::support::Mac;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn plan(state: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ssollama"))
        .current_dir(root())
        .env_clear()
        .env("NO_COLOR", "1")
        .args(["-c", "server.toml.example", "plan", "--detailed-exitcode"])
        .args(["--state", state])
        .output()
        .unwrap()
}

#[test]
fn the_fresh_mac_example_plans_the_whole_server() {
    let out = plan("examples/state/fresh-mac.json");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    for resource in [
        "network.service[\"Ethernet\"]",
        "launchd.plist",
        "launchd.job",
        "ollama.model[\"qwen2.5-coder:32b\"]",
        "ollama.model[\"llama3.2:latest\"]",
    ] {
        assert!(stdout.contains(resource), "{resource} missing:\n{stdout}");
    }
    assert!(stdout.contains("Plan: "), "{stdout}");
}

#[test]
fn the_converged_mac_example_has_no_changes() {
    let out = plan("examples/state/converged-mac.json");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "No changes. The Mac observed in `examples/state/converged-mac.json` matches server.toml.\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

/// Replaces `from` only where it stands as a whole JSON string, before a `:port`, or as a word in
/// a message.
fn replace_address(text: &str, from: &str, to: &str) -> String {
    text.replace(&format!("\"{from}\""), &format!("\"{to}\""))
        .replace(&format!("\"{from} "), &format!("\"{to} "))
        .replace(&format!(" {from} "), &format!(" {to} "))
        .replace(&format!("{from}:"), &format!("{to}:"))
        .replace(&format!("//{from}"), &format!("//{to}"))
}

#[test]
#[ignore = "regenerates examples/state/*.json from the simulated Mac"]
fn regenerate_example_states() {
    let mac = Mac::new();
    let uid = mac.sb.machine().uid;
    let ip = mac.ip();
    let sandbox_root = mac.sb.root().display().to_string();
    let example = std::fs::read_to_string(root().join("server.toml.example")).unwrap();
    let config = example
        .replace("\"192.168.250.20\"", &format!("\"{ip}\""))
        .replace("\"255.255.255.0\"", "\"255.0.0.0\"")
        .replace("\"192.168.250.1\"", "\"127.0.0.1\"")
        .replace("/tmp/ollama.", &format!("{sandbox_root}/logs/ollama."));
    std::fs::write(&mac.config, config).unwrap();
    let run = |args: &[&str]| {
        let run = mac.run(args);
        run.success();
        run.stdout
    };
    let typical = |json: String| {
        let json = json
            .replace(
                &format!("{sandbox_root}/bin/ollama"),
                "/opt/homebrew/opt/ollama/bin/ollama",
            )
            .replace(
                &format!("{sandbox_root}/bin/brew"),
                "/opt/homebrew/bin/brew",
            )
            .replace(&format!("{sandbox_root}/logs/ollama."), "/tmp/ollama.")
            .replace(&format!("{sandbox_root}/home"), "/Users/tester")
            .replace(&format!("gui/{uid}"), "gui/501")
            .replace(&format!("\"uid\": {uid},"), "\"uid\": 501,")
            .replace(&format!("\"owner\": {uid},"), "\"owner\": 501,")
            .replace("\"255.0.0.0\"", "\"255.255.255.0\"");
        let json = replace_address(&json, &ip, "192.168.250.20");
        let json = replace_address(&json, "127.0.0.1", "192.168.250.1");
        assert!(
            !json.contains(&sandbox_root),
            "a sandbox path is left:\n{json}"
        );
        // It must still be an observation.
        serde_json::from_str::<ssollama::Observed>(&json).unwrap();
        json
    };
    let fresh = typical(run(&["observe", "--json"]));
    std::fs::write(root().join("examples/state/fresh-mac.json"), fresh).unwrap();
    run(&["apply", "--yes", "--ready-timeout", "20"]);
    let converged = typical(run(&["observe", "--json"]));
    std::fs::write(root().join("examples/state/converged-mac.json"), converged).unwrap();
}
