//! Example table of plans through the real binary: every `cases/plan/<name>/` folder holds a
//! `server.toml` and an `observed.json`; `ssollama plan --state` is run on it and its exit code,
//! stdout and stderr are snapshotted (text and JSON). Adding a scenario means adding a folder.

use std::path::Path;
use std::process::Command;

fn ssollama(case: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ssollama"))
        .env_clear()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env("HOME", "/nonexistent-home")
        // Relative paths: messages name the files the way the snapshot can keep them.
        .current_dir(case)
        .args(["-c", "server.toml"])
        .args(args)
        .args(["--state", "observed.json"])
        .output()
        .unwrap();
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn plan_text_of_every_case() {
    insta::glob!("cases/plan/*/server.toml", |path| {
        let case = path.parent().unwrap();
        insta::assert_snapshot!(ssollama(case, &["plan", "--detailed-exitcode"]));
    });
}

#[test]
fn check_of_every_case() {
    insta::glob!("cases/plan/*/server.toml", |path| {
        let case = path.parent().unwrap();
        insta::assert_snapshot!(ssollama(case, &["check"]));
    });
}

#[test]
fn plan_json_has_the_stable_fields() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/cases/plan/fresh-mac");
    let text = ssollama(&case, &["plan", "--json"]);
    let json = text
        .split_once("--- stdout\n")
        .unwrap()
        .1
        .split_once("--- stderr\n")
        .unwrap()
        .0;
    let plan: serde_json::Value = serde_json::from_str(json).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    for change in changes {
        assert!(change["resource"].is_string(), "{change}");
        assert!(change["action"].is_string(), "{change}");
        assert!(change.get("before").is_some() && change.get("after").is_some());
    }
    assert!(plan["fingerprint"].as_str().unwrap().len() == 64);
}
