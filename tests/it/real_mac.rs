//! Real-Mac smoke tests: opt-in (`--ignored`), macOS only, run by `.github/workflows/macos.yml`.
//! They read the real `launchctl`, `networksetup` and `sw_vers` (no `SSOLLAMA_TOOL_DIR`) and use a
//! throwaway label, so they never touch an existing Ollama setup.
#![cfg(target_os = "macos")]

use std::process::Command;

fn ssollama() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ssollama"))
}

fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("server.toml");
    // Its own label, port and log files: nothing of an existing Ollama setup is touched.
    std::fs::write(
        &path,
        format!(
            "[service]\nlabel = \"com.ssollama.smoketest\"\n[listen]\nhost = \"127.0.0.1\"\nport = 11999\n\
             [logs]\nstdout = \"{dir}/stdout.log\"\nstderr = \"{dir}/stderr.log\"\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    path
}

#[test]
#[ignore = "talks to the real launchd and networksetup of this Mac (read-only)"]
fn observe_reads_the_real_mac() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = ssollama()
        .args(["-c"])
        .arg(&config)
        .args(["observe", "--json"])
        .env_remove("SSOLLAMA_TOOL_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let observed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        observed["host"]["os_version"]["status"], "known",
        "{observed:#}"
    );
    // The throwaway label is not loaded: launchctl answered 113 and we parsed it as such
    // (a headless runner without a GUI session gives 112 → unknown, which is also acceptable).
    let job = &observed["job"];
    assert!(
        job["value"]["status"] == "not_loaded" || job["status"] == "unknown",
        "{job:#}"
    );
}

#[test]
#[ignore = "talks to the real launchd of this Mac (read-only)"]
fn plan_on_the_real_mac_wants_to_create_the_throwaway_job() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let out = ssollama()
        .args(["-c"])
        .arg(&config)
        .args(["plan", "--detailed-exitcode"])
        .env_remove("SSOLLAMA_TOOL_DIR")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("launchd.plist"));
}

#[test]
#[ignore = "mutates this Mac: installs Ollama with Homebrew if missing, loads and removes a throwaway LaunchAgent"]
fn apply_verify_destroy_roundtrip_on_the_real_mac() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let run = |args: &[&str]| {
        let out = ssollama()
            .arg("-c")
            .arg(&config)
            .args(args)
            .env_remove("SSOLLAMA_TOOL_DIR")
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = run(&["apply", "--yes"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "a second plan must be empty:\n{text}");
    let (code, text) = run(&["verify", "--skip-model-tests", "--skip-router"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["destroy", "--yes", "--logs"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        code,
        Some(2),
        "after destroy the job is planned again:\n{text}"
    );
}
