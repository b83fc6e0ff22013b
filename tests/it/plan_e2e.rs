//! `ssollama plan` end to end: the real binary against the simulated Mac, one test per
//! scenario. Each snapshots the exit code, stdout and stderr of `plan` (text, `NO_COLOR`),
//! normalized, and also asserts the key facts without snapshots (the changes as `action
//! resource` lines from `plan --json`, exit codes, the words that matter).
//!
//! The converged Mac is set up by hand ([`Mac::converge_by_hand`]), not by `apply`, so a bug in
//! `apply` cannot hide one in `plan`. Plist text is kept out of the snapshots where it can be
//! (only the changed lines of a diff), so a harmless change of the rendered plist does not churn
//! them.

use super::support::{Mac, Run};

/// `plan` in text, snapshotted under `name` (normalized, plist text elided).
#[track_caller]
fn snapshot_plan(mac: &Mac, name: &str) -> Run {
    let run = mac.run(&["plan"]);
    insta::assert_snapshot!(name, elide_plist(&mac.shown(&run)));
    run
}

/// The plist diffs of a plan, without the plist text that may move: a created plist is one
/// `[plist text]` line; an updated one keeps only its `-`/`+` lines, and hunk headers lose
/// their line numbers.
fn elide_plist(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    // Inside a hunk: `Some(true)` for a created file.
    let mut hunk: Option<bool> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("    @@ ") {
            let create = rest.starts_with("-0,0 ");
            out.push(if create {
                "    [plist text]"
            } else {
                "    @@ [lines] @@"
            });
            hunk = Some(create);
            continue;
        }
        match hunk {
            Some(create) if line.starts_with("    ") => {
                if !create && (line.starts_with("    -") || line.starts_with("    +")) {
                    out.push(line);
                }
            }
            _ => {
                hunk = None;
                out.push(line);
            }
        }
    }
    let mut joined = out.join("\n");
    if text.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// A converged standard Mac, checked converged before the test breaks it.
fn converged() -> Mac {
    let mac = Mac::new();
    mac.converge_by_hand();
    mac.assert_converged();
    mac
}

fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|&s| s.to_owned()).collect()
}

#[test]
fn fresh_mac_plans_everything() {
    let mac = Mac::new();
    let run = snapshot_plan(&mac, "fresh");
    run.success()
        .says("ssollama will make these changes to this Mac:")
        .says("+ launchd.plist (create)")
        .never_says("panicked");
    assert_eq!(
        mac.planned(),
        lines(&[
            "set-network network.service[\"Ethernet\"]",
            "create launchd.plist",
            "load launchd.job",
        ])
    );
    // The server is down: the models are known after it starts, not planned.
    run.says("ollama.model[\"all-minilm:latest\"]: known after the server starts");
    mac.run(&["plan", "--detailed-exitcode"]).code(2);
    // Planning changes nothing.
    assert_eq!(mac.mutations(), Vec::<String>::new());
}

#[test]
fn plan_out_saves_json_with_a_fingerprint() {
    let mac = Mac::new();
    let file = mac.sb.root().join("plan.json");
    mac.run(&["plan", "--out", file.to_str().unwrap()])
        .success();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let fingerprint = saved["fingerprint"]
        .as_str()
        .unwrap_or_else(|| panic!("no fingerprint: {saved:#}"));
    assert_eq!(fingerprint.len(), 64, "{fingerprint}");
    assert!(
        fingerprint
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "not lower-case hex: {fingerprint}"
    );
    // The saved changes are the live plan's.
    assert_eq!(super::support::planned_lines(&saved), mac.planned());
}

#[test]
fn converged_mac_plans_no_changes() {
    let mac = converged();
    let run = snapshot_plan(&mac, "converged");
    run.success();
    // The warm model's budget follows (`specs/capacity.md`).
    assert!(
        run.stdout
            .starts_with("No changes. This Mac matches server.toml.\n\nCapacity: "),
        "{}",
        run.stdout
    );
    mac.run(&["plan", "--detailed-exitcode"]).code(0);
    let check = mac.run(&["check"]);
    check.success();
    assert_eq!((check.stdout.as_str(), check.stderr.as_str()), ("", ""));
}

#[test]
fn plist_edited_by_hand_shows_a_unified_diff() {
    let mac = converged();
    let text = std::fs::read_to_string(mac.plist()).unwrap();
    assert!(text.contains("<key>KeepAlive</key>\n\t<true/>"), "{text}");
    std::fs::write(
        mac.plist(),
        text.replace(
            "<key>KeepAlive</key>\n\t<true/>",
            "<key>KeepAlive</key>\n\t<false/>",
        ),
    )
    .unwrap();
    let run = snapshot_plan(&mac, "plist_edited");
    let shown = mac.shown(&run);
    run.success().says("~ launchd.plist: update");
    for line in [
        "    why: file differs (1 key: KeepAlive)\n",
        "    --- [SANDBOX]/home/Library/LaunchAgents/com.ollama.plist (on disk)\n",
        "    +++ [SANDBOX]/home/Library/LaunchAgents/com.ollama.plist (planned)\n",
        "    -\t<false/>\n",
        "    +\t<true/>\n",
    ] {
        assert!(shown.contains(line), "{line:?} not in:\n{shown}");
    }
    assert_eq!(
        mac.planned(),
        lines(&[
            "update launchd.plist",
            "reload launchd.job",
            "warm ollama.model[\"llama3.2:latest\"]",
        ])
    );
}

#[test]
fn job_booted_out_by_hand_is_reloaded() {
    let mac = converged();
    mac.boot_out();
    let run = snapshot_plan(&mac, "booted_out");
    run.success().says("launchd.job");
    let plan = mac.planned();
    assert!(plan.contains(&"load launchd.job".to_owned()), "{plan:?}");
    assert!(
        !plan.iter().any(|l| l.contains("launchd.plist")),
        "{plan:?}"
    );
    mac.run(&["plan", "--detailed-exitcode"]).code(2);
}

#[test]
fn static_ip_changed_on_the_mac_is_set_back() {
    let mac = converged();
    mac.set_manual("Ethernet", "10.9.9.9", "255.0.0.0", "10.0.0.1");
    let run = snapshot_plan(&mac, "ip_changed");
    run.success()
        .says("10.9.9.9")
        .says("is not this Mac's address yet");
    // The address comes back first. Whatever answers at the declared address is not asked while
    // it is not this Mac's (it could be the old server on a replacement Mac), so the models are
    // unknown until then: known after the server answers there (nothing planned for them, never
    // removed), and the job is not restarted for it.
    let planned = mac.planned();
    assert_eq!(
        planned,
        ["set-network network.service[\"Ethernet\"]"],
        "{planned:?}"
    );
    run.says("known after the server starts");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn deleted_model_is_pulled_again() {
    let mac = converged();
    let reply = mac.http("DELETE", "/api/delete", r#"{"model":"all-minilm"}"#);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let run = snapshot_plan(&mac, "model_deleted");
    run.success().says("all-minilm:latest");
    assert_eq!(
        mac.planned(),
        lines(&["pull ollama.model[\"all-minilm:latest\"]"])
    );
}

#[test]
fn ollama_app_running_blocks_until_take_over() {
    let mac = Mac::new();
    // Its normal state: the app runs its own `ollama serve` on the declared port, which is part
    // of the Ollama.app conflict (quitting the app stops it), not also a `conflict.port`.
    mac.start_ollama_app();
    let run = snapshot_plan(&mac, "ollama_app");
    run.says("Blocked")
        .says("run `ssollama apply --take-over` to quit it")
        .says("Ollama.app");
    assert_eq!(mac.blocked(), ["blocked conflict.ollama_app"]);
}

#[test]
fn no_gui_session_makes_the_job_unknown_never_not_running() {
    // Nobody logged in at the console: `launchctl` answers 112 for gui/<uid>, and (as on a real
    // Mac) no agent runs. Without models, nothing else is unknown: the job alone decides.
    let mac = Mac::with("", "");
    mac.converge_by_hand();
    mac.assert_converged();
    mac.boot_out();
    mac.sb.set_fault("no-gui-session", "1");
    let print = mac.sb.launchctl(&["print", &mac.target()]);
    assert_eq!(print.status.code(), Some(112));
    let run = snapshot_plan(&mac, "no_gui_session");
    run.success()
        .says("launchd.job: no GUI session for gui/")
        .says("log in at the console")
        .never_says("not loaded")
        .never_says("not running");
    // An unknown job is never bootstrapped or booted out, and `check` never says "in sync".
    assert_eq!(mac.planned(), Vec::<String>::new());
    mac.run(&["check"])
        .failure()
        .says("unknown: launchd.job: no GUI session");
}

#[test]
fn launchctl_print_garbage_makes_the_job_unknown_with_the_reason() {
    let mac = converged();
    mac.sb.set_fault("print-garbage", "1");
    let run = snapshot_plan(&mac, "print_garbage");
    run.success()
        .says("launchd.job: could not read `launchctl print gui/")
        .says("corrupted launchd reply")
        .never_says("not loaded")
        .never_says("not running");
    let plan = mac.planned();
    assert!(!plan.iter().any(|l| l.contains("launchd.job")), "{plan:?}");
    // Never "in sync" on facts it does not have; the job's own listener, which cannot be told
    // apart from a stranger without the job's pid, is neither a conflict nor hides the others.
    let check = mac.run(&["check"]);
    check
        .code(1)
        .says("unknown: launchd.job: could not read")
        .never_says("conflict");
}

#[test]
fn a_missing_tool_is_a_clear_unknown_not_a_panic() {
    let mac = converged();
    std::fs::remove_file(mac.sb.bin_dir().join("networksetup")).unwrap();
    let run = snapshot_plan(&mac, "missing_networksetup");
    run.success()
        .says("part of this Mac is unknown")
        .says("network.service[\"Ethernet\"]: could not run `")
        .says("/bin/networksetup`: No such file or directory")
        .never_says("panicked");
    // Unknown is not a difference: nothing is planned for the network service.
    assert_eq!(mac.planned(), Vec::<String>::new());
    mac.run(&["plan", "--detailed-exitcode"]).code(0);
    mac.run(&["check"])
        .failure()
        .says("unknown: network.service[\"Ethernet\"]");
}

#[test]
fn a_failed_conflict_probe_keeps_the_conflicts_unknown() {
    let mac = converged();
    // Homebrew's own agent is loaded: a conflict, as long as lsof works.
    mac.load_homebrew_job();
    assert_eq!(mac.planned(), ["blocked conflict.homebrew_service"]);

    // Without lsof, the list is unknown, whatever else is known: never a partial list.
    std::fs::remove_file(mac.sb.bin_dir().join("lsof")).unwrap();
    let run = mac.run(&["plan"]);
    run.success()
        .says("conflicts: could not check (could not run `")
        .says("/lsof`: No such file or directory")
        .never_says("conflict.homebrew_service");
    assert_eq!(mac.planned(), Vec::<String>::new());
    mac.run(&["check"])
        .code(1)
        .says("unknown: conflicts: could not check");
}

#[test]
fn observe_json_replays_through_plan_state() {
    let mac = converged();
    // A little drift, so the replayed plan has something to say.
    mac.http("DELETE", "/api/delete", r#"{"model":"all-minilm"}"#);
    let observed = mac.run(&["observe", "--json"]);
    observed.success();
    let parsed: serde_json::Value = serde_json::from_str(&observed.stdout).unwrap();
    assert_eq!(parsed["format_version"], "1", "{}", observed.stdout);
    let file = mac.sb.root().join("observed.json");
    std::fs::write(&file, &observed.stdout).unwrap();
    let live = mac.run(&["plan"]);
    let replayed = mac.run(&["plan", "--state", file.to_str().unwrap()]);
    assert_eq!(replayed.code, live.code, "{}", replayed.both());
    // The same plan, spoken of as the observation in the file rather than this Mac.
    let subject = format!("the Mac observed in `{}`", file.display());
    assert!(replayed.stdout.contains(&subject), "{}", replayed.stdout);
    assert_eq!(
        replayed
            .stdout
            .replace(&subject, "this Mac")
            .replace("ssollama would make", "ssollama will make")
            .replace(" on the Mac that was observed.", ""),
        live.stdout.replace(
            " (or `ssollama plan --out FILE`, then `ssollama apply FILE`).",
            ""
        )
    );
    let live_json = mac.run(&["plan", "--json"]);
    let replayed_json = mac.run(&["plan", "--json", "--state", file.to_str().unwrap()]);
    assert_eq!(
        super::support::planned_lines(&replayed_json.json()),
        super::support::planned_lines(&live_json.json())
    );
    assert_eq!(
        super::support::planned_lines(&live_json.json()),
        lines(&["pull ollama.model[\"all-minilm:latest\"]"])
    );
}
