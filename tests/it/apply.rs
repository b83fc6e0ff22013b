//! `ssollama apply`, `destroy` and `warm` end to end: the real binary against the simulated Mac
//! (`tests/simmac`). Each test builds its own `Sandbox` (own temp dir, own 127.0.0.X), so they
//! run in parallel. Waits are bounded polls; fault switches keep lingers and throttles short.
//!
//! The fault matrix of `specs/apply.md` is the `fault_*` tests.

use simmac::ollama::seed;
use simmac::state::SudoPolicy;

use super::support::{MODELS, Mac, Run, listening, no_temp_files, wait_for_process};

// ---------------------------------------------------------------------------------------------
// Converging

#[test]
fn a_fresh_mac_converges_and_a_second_apply_changes_nothing() {
    let mac = Mac::new();
    let run = mac.apply();
    insta::assert_snapshot!("fresh_apply", mac.shown(&run));
    let tools: Vec<String> = mac
        .mutations()
        .into_iter()
        .filter(|m| !m.starts_with("http"))
        .map(|m| mac.normalize(&m))
        .collect();
    insta::assert_snapshot!("fresh_apply_mutations", tools.join("\n"));
    run.success()
        .says("Apply complete:")
        .says("This Mac matches server.toml.")
        .says("done     set-network network.service[\"Ethernet\"]")
        .says("done     create launchd.plist")
        .says("done     load launchd.job")
        .says("done     pull ollama.model[\"llama3.2:latest\"]")
        .says("done     warm ollama.model[\"llama3.2:latest\"]");
    mac.assert_converged();
    assert!(mac.loaded_models().contains("llama3.2:latest"));
    // The plist: 0644, no temp file; the log directory was created.
    let meta = std::fs::metadata(mac.plist()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o644
    );
    no_temp_files(&mac.agents_dir());
    assert!(mac.logs_dir().is_dir());

    mac.sb.clear_journal();
    let again = mac.apply();
    again
        .success()
        .says("No changes. This Mac matches server.toml.");
    assert_eq!(mac.mutations(), Vec::<String>::new(), "{}", again.both());
}

#[test]
fn apply_under_sudo_leaves_what_it_creates_to_the_user() {
    const USER: u32 = 501;
    if !rustix::process::getuid().is_root() {
        // `SUDO_UID` only counts for root (CI runs as root); as a user everything is ours anyway.
        eprintln!("skipped: needs root to act as `sudo ssollama apply`");
        return;
    }
    let mac = Mac::new();
    // The console user is 501, and ssollama runs as root through `sudo` on its behalf.
    mac.sb.update_machine(|m| m.uid = USER);
    // The log directory is outside the user's HOME: root never creates it for an agent (see
    // safety.rs), the user does.
    std::fs::create_dir(mac.logs_dir()).unwrap();
    let sudo_apply = || -> Run {
        mac.command(&["apply", "--yes", "--ready-timeout", "10"])
            .env("SUDO_UID", USER.to_string())
            .output()
            .unwrap()
            .into()
    };
    sudo_apply().success().says("done     create launchd.plist");
    let plan: Run = mac
        .command(&["plan", "--detailed-exitcode"])
        .env("SUDO_UID", USER.to_string())
        .output()
        .unwrap()
        .into();
    plan.success().says("No changes.");
    let lock = mac.sb.home().join("Library/Caches/ssollama/lock");
    let uid = |path: &std::path::Path| {
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(path).unwrap())
    };
    for path in [
        mac.agents_dir(),
        lock.parent().unwrap().to_path_buf(),
        lock.clone(),
        mac.plist(),
    ] {
        assert_eq!(uid(&path), USER, "{} is not the user's", path.display());
    }
    // A plist edited by hand: rewritten, and its backup is the user's too.
    let text = std::fs::read_to_string(mac.plist()).unwrap();
    std::fs::write(mac.plist(), text.replace("<true/>", "<false/>")).unwrap();
    sudo_apply().success().says("done     update launchd.plist");
    let backup = mac.backup_of_plist();
    assert_eq!(uid(&backup), USER);
}

#[test]
fn a_mac_without_ollama_gets_it_from_homebrew() {
    let mac = Mac::new();
    mac.sb.remove_ollama();
    let plan = mac.planned();
    assert_eq!(
        plan.first().map(String::as_str),
        Some("install ollama.program")
    );
    let run = mac.apply();
    run.success()
        .says("done     install ollama.program")
        .says("brew install ollama");
    assert!(mac.sb.ollama_path().exists());
    mac.assert_converged();
}

/// How many times `brew install ollama` ran.
fn brew_installs(mac: &Mac) -> usize {
    mac.mutations()
        .iter()
        .filter(|m| m.as_str() == "brew install ollama")
        .count()
}

#[test]
fn a_homebrew_prefix_the_known_paths_miss_is_found_through_brew_prefix() {
    let mac = Mac::new();
    let prefix = mac.sb.root().join("homebrew");
    mac.sb
        .update_machine(|m| m.brew_prefix = Some(prefix.clone()));
    mac.sb.remove_ollama();
    let program = prefix.join("opt/ollama/bin/ollama");
    mac.apply()
        .success()
        .says("done     install ollama.program")
        .says(&format!("found {}", program.display()));
    assert_eq!(brew_installs(&mac), 1);
    let plist = std::fs::read_to_string(mac.plist()).unwrap();
    assert!(plist.contains(&program.display().to_string()), "{plist}");
    mac.assert_converged();
}

#[test]
fn a_brew_install_that_leaves_no_program_fails_in_that_round_and_runs_once() {
    let mac = Mac::new();
    mac.sb.remove_ollama();
    mac.sb.set_fault("brew-installs-nothing", "1");
    mac.apply()
        .failure()
        .says("failed   install ollama.program")
        .says("brew install ollama` finished, but no `ollama` program is there: looked at `")
        .says("/opt/homebrew/opt/ollama/bin/ollama`")
        .says("in 1 round(s)");
    assert_eq!(brew_installs(&mac), 1);
}

#[test]
fn json_progress_is_one_object_per_line() {
    let mac = Mac::new();
    let run = mac.run(&["apply", "--yes", "--json", "--ready-timeout", "10"]);
    run.success();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(events[0]["event"], "plan");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "pull" && e["model"] == "llama3.2")
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "step_finished" && e["status"] == "done")
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["outcome"], "converged");
    assert_eq!(last["success"], true);
}

// ---------------------------------------------------------------------------------------------
// Drift repaired

#[test]
fn drift_plist_edited_by_hand_is_rewritten_with_a_backup() {
    let mac = Mac::new();
    mac.apply().success();
    let text = std::fs::read_to_string(mac.plist()).unwrap();
    std::fs::write(mac.plist(), text.replace("<true/>", "<false/>")).unwrap();
    assert!(mac.planned().contains(&"update launchd.plist".to_owned()));
    mac.apply().success().says("done     update launchd.plist");
    let backup = mac.backup_of_plist();
    assert!(
        std::fs::read_to_string(backup)
            .unwrap()
            .contains("<false/>")
    );
    mac.assert_converged();
}

#[test]
fn drift_binary_plist_is_rewritten_as_xml_without_a_reload() {
    let mac = Mac::new();
    mac.apply().success();
    // `plutil -convert binary1` / `defaults write`: the same content, in binary.
    let value = plist::Value::from_file(mac.plist()).unwrap();
    value.to_file_binary(mac.plist()).unwrap();
    assert!(std::fs::read(mac.plist()).unwrap().starts_with(b"bplist00"));
    let run = mac.run(&["plan"]);
    run.success()
        .says("binary plist; rewritten as XML")
        .never_says("could not be read");
    assert_eq!(mac.planned(), ["update launchd.plist"]);
    mac.apply().success().says("done     update launchd.plist");
    assert!(
        std::fs::read_to_string(mac.plist())
            .unwrap()
            .starts_with("<?xml")
    );
    // The backup is the binary file, byte for byte.
    let backup = mac.backup_of_plist();
    assert!(std::fs::read(backup).unwrap().starts_with(b"bplist00"));
    mac.assert_converged();
}

#[test]
fn drift_job_booted_out_by_hand_is_loaded_again() {
    let mac = Mac::new();
    mac.apply().success();
    assert!(
        mac.sb
            .launchctl(&["bootout", &mac.target()])
            .status
            .success()
    );
    mac.wait_for_planned("load launchd.job");
    mac.apply().success().says("done     load launchd.job");
    mac.assert_converged();
}

#[test]
fn a_converged_mac_whose_job_was_booted_out_pulls_nothing() {
    let mac = Mac::new();
    mac.apply().success();
    mac.boot_out();
    // While the server is down the models are known after it starts: not `+ pull`, not counted.
    mac.run(&["plan"])
        .says("ollama.model[\"llama3.2:latest\"]: known after the server starts")
        .says("Plan: 1 to add, 0 to change, 0 to destroy.")
        .never_says("+ ollama.model");
    let check = mac.run(&["check"]);
    check
        .says("drift: launchd.job")
        .says("unknown: ollama.model[\"all-minilm:latest\"]: known after the server starts")
        .never_says("drift: ollama.model");
    mac.sb.clear_journal();
    mac.apply()
        .success()
        .says("done     load launchd.job")
        .says("done     warm ollama.model[\"llama3.2:latest\"]");
    assert_eq!(
        http_count(&mac, "POST /api/pull"),
        0,
        "{:?}",
        http_calls(&mac)
    );
    mac.assert_converged();
}

#[test]
fn with_the_server_down_apply_looks_again_once_it_answers_and_pulls_only_what_is_missing() {
    let mac = Mac::new();
    mac.apply().success();
    mac.boot_out();
    // Deleted from the store while the server was down.
    assert!(seed::remove_model(&mac.sb.mac_dir(), "all-minilm").unwrap());
    mac.sb.clear_journal();
    mac.apply()
        .success()
        .says("done     pull ollama.model[\"all-minilm:latest\"]")
        .never_says("pull ollama.model[\"llama3.2:latest\"]");
    assert_eq!(http_count(&mac, "POST /api/pull"), 1);
    mac.assert_converged();
}

#[test]
fn drift_deleted_log_directory_is_created_before_the_restart() {
    let mac = Mac::new();
    mac.apply().success();
    std::fs::remove_dir_all(mac.logs_dir()).unwrap();
    // launchd cannot open `StandardOutPath`: the job never runs again (exit 78).
    assert!(
        mac.sb
            .launchctl(&["kickstart", "-k", &mac.target()])
            .status
            .success()
    );
    mac.wait_for_planned("restart launchd.job");
    let plan = mac.planned();
    let logs = plan.iter().position(|l| l == "create logs");
    let restart = plan.iter().position(|l| l == "restart launchd.job");
    assert!(
        matches!((logs, restart), (Some(l), Some(r)) if l < r),
        "{plan:?}"
    );
    mac.apply()
        .success()
        .says("done     create logs")
        .says("done     restart launchd.job");
    assert!(mac.logs_dir().is_dir());
    mac.assert_converged();
}

#[test]
fn drift_env_changed_in_server_toml_reloads_the_job() {
    let mac = Mac::new();
    mac.apply().success();
    mac.configure(MODELS, "flash_attention = true");
    let plan = mac.planned();
    assert!(
        plan.contains(&"update launchd.plist".to_owned()),
        "{plan:?}"
    );
    assert!(plan.contains(&"reload launchd.job".to_owned()), "{plan:?}");
    mac.apply()
        .success()
        .says("done     reload launchd.job")
        .says("done     warm ollama.model[\"llama3.2:latest\"]");
    let print = mac.sb.launchctl(&["print", &mac.target()]);
    assert!(String::from_utf8_lossy(&print.stdout).contains("OLLAMA_FLASH_ATTENTION => 1"));
    mac.assert_converged();
}

#[test]
fn drift_static_ip_changed_on_the_mac_is_set_back() {
    let mac = Mac::new();
    mac.apply().success();
    mac.set_manual("Ethernet", "10.9.9.9", "255.0.0.0", "10.0.0.1");
    assert!(
        mac.planned()
            .contains(&"set-network network.service[\"Ethernet\"]".to_owned())
    );
    mac.apply().success().says("done     set-network");
    mac.assert_converged();
}

#[test]
fn drift_ipv6_dns_server_set_on_the_mac_is_set_back() {
    let mac = Mac::new();
    let toml = std::fs::read_to_string(&mac.config).unwrap();
    std::fs::write(
        &mac.config,
        toml.replace("[network]\n", "[network]\ndns = [\"1.1.1.1\"]\n"),
    )
    .unwrap();
    mac.apply().success();
    let out = mac.sb.tool(
        "networksetup",
        &[
            "-setdnsservers",
            "Ethernet",
            "1.1.1.1",
            "2001:4860:4860::8888",
        ],
    );
    assert!(out.status.success());
    let plan = mac.run(&["plan"]);
    plan.success()
        .says("dns: [1.1.1.1, 2001:4860:4860::8888] -> [1.1.1.1]")
        .never_says("could not be observed");
    mac.apply().success().says("done     set-dns");
    mac.assert_converged();
}

#[test]
fn drift_deleted_model_is_pulled_and_unloaded_warm_model_is_warmed() {
    let mac = Mac::new();
    mac.apply().success();
    mac.http("DELETE", "/api/delete", r#"{"model":"all-minilm"}"#);
    mac.http(
        "POST",
        "/api/generate",
        r#"{"model":"llama3.2","keep_alive":0}"#,
    );
    let plan = mac.planned();
    assert!(
        plan.contains(&"pull ollama.model[\"all-minilm:latest\"]".to_owned()),
        "{plan:?}"
    );
    assert!(
        plan.contains(&"warm ollama.model[\"llama3.2:latest\"]".to_owned()),
        "{plan:?}"
    );
    mac.apply()
        .success()
        .says("done     pull ollama.model[\"all-minilm:latest\"]")
        .says("done     warm ollama.model[\"llama3.2:latest\"]");
    mac.assert_converged();
}

#[test]
fn an_evicted_warm_model_is_not_drift_for_check_but_apply_warms_it() {
    let mac = Mac::new();
    mac.apply().success();
    mac.http(
        "POST",
        "/api/generate",
        r#"{"model":"llama3.2","keep_alive":0}"#,
    );
    mac.wait_for_planned("warm ollama.model[\"llama3.2:latest\"]");
    let check = mac.run(&["check"]);
    check.success();
    assert_eq!(check.stdout, "", "{}", check.both());
    let json = mac.run(&["check", "--json"]);
    json.success();
    assert_eq!(json.json()["in_sync"], true, "{}", json.both());
    mac.apply()
        .success()
        .says("done     warm ollama.model[\"llama3.2:latest\"]");
    assert!(mac.loaded_models().contains("llama3.2:latest"));
}

#[test]
fn two_warm_models_that_do_not_fit_together_fail_in_the_round_that_warms_them() {
    const BOTH: &str = r#"
[[models]]
name = "llama3.2"
warm = true

[[models]]
name = "llama3"
warm = true
"#;
    let mac = Mac::with(BOTH, "");
    mac.apply().success();
    // Less memory than the two runners need together (≈ 2.5 GB + 5.2 GB with their KV caches), enough for either.
    seed::set_memory(&mac.sb.mac_dir(), Some(6_000_000_000)).unwrap();
    mac.http(
        "POST",
        "/api/generate",
        r#"{"model":"llama3","keep_alive":0}"#,
    );
    mac.sb.clear_journal();
    let run = mac.apply();
    run.failure()
        .says("done     warm ollama.model[\"llama3:latest\"]")
        .says("failed   check-warm ollama.models: the warm models do not fit in memory together: loading llama3:latest (5.2 GB) evicted llama3.2:latest (2.5 GB); in memory now: llama3:latest (5.2 GB)")
        .says("in 1 round(s)");
    // No churn: one load, no second round warming llama3.2 again.
    assert_eq!(http_count(&mac, "POST /api/generate"), 1, "{}", run.both());
    // `ssollama warm` checks them together too.
    mac.run(&["warm"])
        .failure()
        .says("failed  llama3.2:latest")
        .says("loading llama3:latest (5.2 GB) evicted llama3.2:latest (2.5 GB)");
}

// ---------------------------------------------------------------------------------------------
// Fault matrix (specs/apply.md)

#[test]
fn fault_bootstrap_eio_a_few_times_is_retried() {
    let mac = Mac::new();
    mac.sb.set_fault("bootstrap-fail", "2");
    mac.apply()
        .success()
        .says("(after 3 attempts)")
        .says("Input/output error");
    mac.assert_converged();
}

#[test]
fn fault_bootstrap_eio_many_times_fails_then_a_rerun_converges() {
    let mac = Mac::new();
    mac.sb.set_fault("bootstrap-fail", "50");
    let run = mac.apply();
    insta::assert_snapshot!("fault_bootstrap_eio_always", mac.shown(&run));
    run.failure()
        .says("failed   load launchd.job")
        .says("Bootstrap failed: 5: Input/output error")
        .says("gave up after 5 attempts")
        .never_says("pull ollama.model")
        .says("step failed: load launchd.job");
    mac.sb.clear_fault("bootstrap-fail");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn fault_bootout_lingering_past_the_limit_fails_then_a_rerun_converges() {
    let mac = Mac::new();
    mac.apply().success();
    mac.sb.set_fault("bootout-linger-ms", "4000");
    mac.configure(MODELS, "num_parallel = 2");
    mac.run(&[
        "apply",
        "--yes",
        "--bootout-timeout",
        "1",
        "--ready-timeout",
        "10",
    ])
    .failure()
    .says("failed   reload launchd.job")
    .says("was still loaded 1 s after `launchctl bootout`");
    // A linger shorter than the limit is waited out.
    mac.sb.set_fault("bootout-linger-ms", "600");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn fault_networksetup_needs_admin_and_sudo_refuses() {
    let mac = Mac::new();
    mac.sb.update_machine(|m| {
        m.admin = false;
        m.sudo = SudoPolicy::Refuse;
    });
    let run = mac.apply();
    insta::assert_snapshot!("fault_networksetup_sudo_refused", mac.shown(&run));
    run.failure()
        .says("failed   set-network network.service[\"Ethernet\"]")
        .says("sudo: a password is required")
        .says("needs admin privileges and sudo refused")
        .says("skipped  load launchd.job: `set-network network.service[\"Ethernet\"]` did not complete");
    assert!(
        !mac.mutations().iter().any(|m| m.contains("bootstrap")),
        "{:?}",
        mac.mutations()
    );
    // With sudo allowed, the rerun goes through `sudo -n` and converges.
    mac.sb.update_machine(|m| m.sudo = SudoPolicy::Allow);
    mac.apply().success();
    assert!(mac.sb.journal().iter().any(|c| c.tool == "sudo"));
    mac.assert_converged();
}

#[test]
fn fault_ollama_never_ready_quotes_the_log_then_a_rerun_converges() {
    let mac = Mac::new();
    mac.sb.set_fault("ollama-never-ready", "1");
    mac.run(&["apply", "--yes", "--ready-timeout", "2"])
        .failure()
        .says("failed   load launchd.job")
        .says("Ollama did not answer at")
        .says("the last lines of `")
        .says("ollama.stderr.log");
    mac.sb.clear_fault("ollama-never-ready");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn fault_pull_dies_at_half_then_a_rerun_converges() {
    let mac = Mac::new();
    mac.sb.set_fault("pull-die-at-percent", "50");
    let run = mac.apply();
    insta::assert_snapshot!("fault_pull_dies_at_half", mac.shown(&run));
    run
        .failure()
        .says("failed   pull ollama.model[\"llama3.2:latest\"]")
        .says("skipped  warm ollama.model[\"llama3.2:latest\"]: `pull ollama.model[\"llama3.2:latest\"]` did not complete");
    mac.sb.clear_fault("pull-die-at-percent");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn fault_unknown_model_names_the_registry_error() {
    let models = format!("{MODELS}\n[[models]]\nname = \"no-such-model\"\n");
    let mac = Mac::with(&models, "");
    let run = mac.apply();
    insta::assert_snapshot!("fault_unknown_model", mac.shown(&run));
    run.failure()
        .says("failed   pull ollama.model[\"no-such-model:latest\"]")
        .says("pull model manifest: file does not exist");
    // Fixing server.toml fixes the Mac.
    mac.configure(MODELS, "");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn fault_sigint_mid_apply_stops_after_the_current_step_then_a_rerun_converges() {
    let mac = Mac::new();
    // The network step takes a second: SIGINT lands inside it, however busy the machine.
    mac.sb.set_fault("networksetup-delay-ms", "1000");
    let child = mac.spawn(&["apply", "--yes", "--ready-timeout", "10"]);
    assert!(
        wait_for_process(&mac.sb.mac_dir(), "-setmanual"),
        "the network step never started"
    );
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let run = Run::finish(child);
    run.failure()
        .says("stopping after the current step")
        .says("done     set-network")
        .says("skipped  create launchd.plist: interrupted")
        .says("interrupted after 1 step(s)");
    assert!(!mac.plist().exists(), "no plist after an interrupted apply");
    no_temp_files(&mac.agents_dir());
    mac.sb.clear_fault("networksetup-delay-ms");
    mac.apply().success();
    mac.assert_converged();
}

/// A Ctrl-C at a terminal signals the whole foreground process group: the running `networksetup`
/// must not die with ssollama's group (it runs in its own), so the step finishes and only then does
/// apply stop.
#[test]
fn ctrl_c_at_a_terminal_lets_the_running_step_finish() {
    use std::os::unix::process::CommandExt as _;
    let mac = Mac::new();
    mac.sb.set_fault("networksetup-delay-ms", "1000");
    let child = mac
        .command(&["apply", "--yes", "--ready-timeout", "10"])
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for_process(&mac.sb.mac_dir(), "-setmanual"),
        "the network step never started"
    );
    // The job-control group of the "terminal": ssollama's own pid is its group id.
    let group = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process_group(group, rustix::process::Signal::INT).unwrap();
    Run::finish(child)
        .failure()
        .says("stopping after the current step")
        .says("done     set-network")
        .says("skipped  create launchd.plist: interrupted");
    mac.sb.clear_fault("networksetup-delay-ms");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn fault_plist_directory_not_writable() {
    let mac = Mac::new();
    // CI runs as root, where a 0555 directory is still writable. A directory nobody can create
    // files in, not even root: procfs. `~/Library/LaunchAgents` points there.
    std::fs::create_dir_all(mac.sb.home().join("Library")).unwrap();
    std::os::unix::fs::symlink("/proc/1", mac.agents_dir()).unwrap();
    let run = mac.apply();
    insta::assert_snapshot!("fault_plist_directory_not_writable", mac.shown(&run));
    run.failure()
        .says("failed   create launchd.plist")
        .says("could not write `")
        .says("com.ollama.plist`")
        .says("skipped  load launchd.job: `create launchd.plist` did not complete");
    std::fs::remove_file(mac.agents_dir()).unwrap();
    mac.apply().success();
    mac.assert_converged();
}

// ---------------------------------------------------------------------------------------------
// Safety rails

#[test]
fn without_a_terminal_and_without_yes_apply_refuses() {
    let mac = Mac::new();
    let run = mac.run(&["apply"]);
    insta::assert_snapshot!("tty_refusal", mac.shown(&run));
    run.failure()
        .says("refusing to apply without confirmation: stdin is not a terminal")
        .says("--yes");
    assert_eq!(mac.mutations(), Vec::<String>::new());
}

#[test]
fn a_second_apply_and_a_check_are_refused_while_one_runs() {
    let mac = Mac::new();
    mac.sb.set_fault("networksetup-delay-ms", "300");
    let first = mac.spawn(&["apply", "--yes", "--ready-timeout", "10"]);
    assert!(wait_for_process(&mac.sb.mac_dir(), "networksetup"));
    let holder = format!("pid {}", first.id());
    mac.apply()
        .failure()
        .says(&holder)
        .says("is working on this Mac");
    mac.run(&["check"]).failure().says(&holder);
    Run::finish(first).success();
}

#[test]
fn a_saved_plan_applies_and_a_stale_one_is_refused() {
    let mac = Mac::new();
    let file = mac.sb.root().join("plan.json");
    let file = file.to_str().unwrap();
    mac.run(&["plan", "--out", file]).success();
    // The Mac changes before the plan is applied: stale.
    mac.set_manual("Ethernet", "10.1.1.1", "255.0.0.0", "10.0.0.1");
    mac.sb.clear_journal();
    mac.run(&["apply", file])
        .failure()
        .says("saved plan is stale");
    assert_eq!(mac.mutations(), Vec::<String>::new());
    // A fresh saved plan applies without a prompt.
    mac.run(&["plan", "--out", file]).success();
    mac.run(&["apply", file, "--ready-timeout", "10"]).success();
    mac.assert_converged();
}

#[test]
fn conflicts_block_until_take_over_which_never_kills_a_port_owner() {
    let mac = Mac::new();
    mac.sb.add_ollama_app();
    take_over_ollama_app(&mac);
    mac.assert_converged();

    // A port held by an unrelated process stays a blocker: `--take-over` never stops it.
    mac.sb.add_process(simmac::state::FakeProcess {
        pid: 4242,
        ppid: None,
        user: "tester".to_owned(),
        command: "/usr/local/bin/caddy".to_owned(),
        args: Vec::new(),
        listen: vec![simmac::state::Listen::new(format!("*:{}", mac.port))],
    });
    mac.sb.clear_journal();
    mac.run(&["apply", "--yes", "--take-over"])
        .failure()
        .says("conflict.port")
        .says("apply is blocked: nothing was changed");
    assert_eq!(mac.mutations(), Vec::<String>::new());
}

#[test]
fn take_over_boots_out_and_disables_homebrews_job() {
    let mac = Mac::new();
    mac.load_homebrew_job();
    // Its `ollama serve` listens on the declared port: part of the Homebrew conflict (which
    // --take-over clears), not a port owner that --take-over would refuse to touch.
    let lsof = mac.sb.tool("lsof", &["-nP", "-iTCP:11434", "-sTCP:LISTEN"]);
    assert!(
        String::from_utf8_lossy(&lsof.stdout).contains("ollama"),
        "{lsof:?}"
    );
    assert_eq!(mac.blocked(), ["blocked conflict.homebrew_service"]);
    take_over_homebrews_job(&mac);
}

/// Ollama.app blocks apply (nothing changes), whose hint says what `--take-over` does;
/// `apply --take-over` quits it through `osascript` and succeeds.
fn take_over_ollama_app(mac: &Mac) {
    mac.apply()
        .failure()
        .says("conflict.ollama_app")
        .says("--take-over` to quit it")
        .says("apply is blocked: nothing was changed");
    assert_eq!(mac.mutations(), Vec::<String>::new());
    mac.run(&["apply", "--yes", "--take-over", "--ready-timeout", "10"])
        .success()
        .says("done     take-over conflict.ollama_app");
    assert!(mac.mutations().iter().any(|m| m.starts_with("osascript")));
}

/// Homebrew's job blocks apply, whose hint says what `--take-over` does; `apply --take-over`
/// boots it out and disables it, and converges.
fn take_over_homebrews_job(mac: &Mac) {
    mac.apply()
        .failure()
        .says("conflict.homebrew_service")
        .says("--take-over` to boot it out and disable it");
    mac.run(&["apply", "--yes", "--take-over", "--ready-timeout", "10"])
        .success()
        .says("booted out and disabled");
    let homebrew = format!("gui/{}/homebrew.mxcl.ollama", mac.sb.machine().uid);
    assert_eq!(
        mac.sb.launchctl(&["print", &homebrew]).status.code(),
        Some(113)
    );
    let disabled = mac
        .sb
        .launchctl(&["print-disabled", &format!("gui/{}", mac.sb.machine().uid)]);
    assert!(
        String::from_utf8_lossy(&disabled.stdout).contains("\"homebrew.mxcl.ollama\" => disabled"),
        "{disabled:?}"
    );
    mac.assert_converged();
}

#[test]
fn take_over_boots_out_homebrews_job_whose_server_is_its_child() {
    let mac = Mac::new();
    // A job whose program is a shell that runs `ollama serve` as its child (no `exec`): the
    // listener's parent is the job's process, which `ps` shows.
    let script = format!("{} serve; exit 1", mac.sb.ollama_path().display());
    mac.load_homebrew_job_running(&["/bin/sh", "-c", &script]);
    let homebrew = format!("gui/{}/homebrew.mxcl.ollama", mac.sb.machine().uid);
    let job = pid_in_print(&mac.sb.launchctl(&["print", &homebrew]));
    let server = listener_pid(&mac);
    assert_ne!(server, job);
    assert_eq!(parent_in_ps(&mac, server), Some(job));
    assert_eq!(mac.blocked(), ["blocked conflict.homebrew_service"]);
    take_over_homebrews_job(&mac);
    assert!(!simmac::state::pid_alive(server));
}

#[test]
fn take_over_quits_ollama_app_and_with_it_its_server_on_the_port() {
    let mac = Mac::new();
    let server = mac.start_ollama_app();
    // Ollama.app's `ollama serve` holds the declared port, and `ps` shows it as the app's
    // child: part of the Ollama.app conflict only (not also `conflict.port`).
    assert_eq!(listener_pid(&mac), server);
    assert_eq!(
        parent_in_ps(&mac, server),
        Some(simmac::sandbox::OLLAMA_APP_PID)
    );
    assert_eq!(mac.blocked(), ["blocked conflict.ollama_app"]);
    take_over_ollama_app(&mac);
    // Quitting the app stopped its server; ssollama's own job now serves the port.
    assert!(!simmac::state::pid_alive(server));
    assert_ne!(listener_pid(&mac), server);
    mac.assert_converged();
}

#[test]
fn take_over_quits_ollama_app_first_when_its_server_answers_on_the_declared_address() {
    let mac = Mac::new();
    let desired = mac.desired();
    let net = desired.network.as_ref().unwrap();
    mac.set_manual(
        &net.service,
        &net.address.to_string(),
        &net.subnet_mask.to_string(),
        &net.router.to_string(),
    );
    // The app's server answers where ssollama's will: still only the app's conflict.
    let server = mac.start_ollama_app();
    assert!(listening(mac.addr()));
    assert_eq!(mac.blocked(), ["blocked conflict.ollama_app"]);
    mac.sb.clear_journal();
    mac.run(&["apply", "--yes", "--take-over", "--ready-timeout", "10"])
        .success()
        .says("done     take-over conflict.ollama_app");
    // The app is quit before anything else changes (no pull reaches its server); it is gone.
    let mutations = mac.mutations();
    assert!(mutations[0].starts_with("osascript"), "{mutations:?}");
    assert!(!simmac::state::pid_alive(server));
    mac.assert_converged();
}

/// The one pid `lsof -t` gives for the declared port.
fn listener_pid(mac: &Mac) -> u32 {
    let port = format!("-iTCP:{}", mac.port);
    let out = mac.sb.tool("lsof", &["-t", &port, "-sTCP:LISTEN"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(pids.len(), 1, "{out:?}");
    pids[0]
}

/// The parent of `pid` as `ps -axo pid=,ppid=` prints it.
fn parent_in_ps(mac: &Mac, pid: u32) -> Option<u32> {
    let out = mac.sb.tool("ps", &["-axo", "pid=,ppid="]);
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let mut cols = l.split_whitespace().map(|c| c.parse::<u32>().ok());
        (cols.next()?? == pid).then(|| cols.next()?)?
    })
}

/// The `pid = …` of a `launchctl print` of a running job.
fn pid_in_print(out: &std::process::Output) -> u32 {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("pid = ")?.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {out:?}"))
}

#[test]
fn take_over_touches_nothing_while_another_blocker_remains() {
    let mac = Mac::new();
    mac.sb.add_ollama_app();
    let text = std::fs::read_to_string(&mac.config)
        .unwrap()
        .replace("service = \"Ethernet\"", "service = \"No Such Service\"");
    std::fs::write(&mac.config, text).unwrap();
    mac.run(&["apply", "--yes", "--take-over"])
        .failure()
        .says("No Such Service")
        .says("apply is blocked: nothing was changed");
    // Ollama.app was not quit: the apply could not have gone on anyway.
    assert_eq!(mac.mutations(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// destroy and warm

#[test]
fn destroy_removes_what_ssollama_manages_and_is_idempotent() {
    let mac = Mac::new();
    mac.apply().success();
    mac.run(&["destroy", "--yes", "--logs", "--network"])
        .success()
        .says("done     delete launchd.job")
        .says("done     delete launchd.plist")
        .says("done     set-network network.service[\"Ethernet\"]")
        .says("Destroy complete:")
        .says("Nothing of server.toml is installed now: removed the job and its plist, the log files, the static IP (DHCP again); kept models.");
    assert!(!mac.plist().exists());
    assert!(mac.backup_of_plist().exists());
    // Nothing of ssollama's is left where launchd looks.
    assert_eq!(std::fs::read_dir(mac.agents_dir()).unwrap().count(), 0);
    assert!(!mac.logs_dir().join("ollama.stderr.log").exists());
    let print = mac.sb.launchctl(&["print", &mac.target()]);
    assert_eq!(print.status.code(), Some(113));
    mac.sb.clear_journal();
    mac.run(&["destroy", "--yes", "--logs", "--network"])
        .success();
    assert_eq!(mac.mutations(), Vec::<String>::new());
    // After destroy, plan wants everything ssollama manages back (the models were kept, so the
    // planner knows nothing about them until the server answers again).
    let planned = mac.planned();
    for wanted in [
        "set-network network.service[\"Ethernet\"]",
        "create launchd.plist",
        "load launchd.job",
    ] {
        assert!(
            planned.iter().any(|line| line == wanted),
            "{wanted:?} not in {planned:?}"
        );
    }
    // And one apply brings it all back.
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn warm_loads_the_warm_models_and_reports_failures() {
    let mac = Mac::new();
    mac.apply().success();
    mac.http(
        "POST",
        "/api/generate",
        r#"{"model":"llama3.2","keep_alive":0}"#,
    );
    mac.run(&["warm"])
        .success()
        .says("warm    llama3.2:latest (");
    assert!(mac.loaded_models().contains("llama3.2:latest"));
    mac.run(&["warm", "all-minilm", "no-such-model"])
        .failure()
        .says("warm    all-minilm:latest")
        .says("failed  no-such-model:latest")
        .says("1 of 2 model(s) could not be warmed");
}

#[test]
fn destroy_models_removes_only_the_declared_models() {
    let mac = Mac::new();
    mac.apply().success();
    // A model server.toml does not list: never removed.
    mac.http(
        "POST",
        "/api/pull",
        r#"{"model":"nomic-embed-text","stream":false}"#,
    );
    mac.run(&["destroy", "--yes", "--models"])
        .success()
        .says("done     remove ollama.model[\"llama3.2:latest\"]")
        .says("done     remove ollama.model[\"all-minilm:latest\"]")
        .says("done     delete launchd.job");
    let models =
        std::fs::read_to_string(mac.sb.mac_dir().join("ollama").join("models.json")).unwrap();
    assert!(models.contains("nomic-embed-text"), "{models}");
    assert!(!models.contains("llama3.2"), "{models}");
}

/// The fake Ollama's HTTP calls, as `METHOD path` lines, in order.
fn http_calls(mac: &Mac) -> Vec<String> {
    mac.sb
        .journal()
        .iter()
        .filter(|c| c.tool == "http")
        .map(|c| {
            format!(
                "{} {}",
                c.method.as_deref().unwrap_or(""),
                c.path.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// How many `METHOD path` requests the fake Ollama journaled.
fn http_count(mac: &Mac, call: &str) -> usize {
    http_calls(mac).iter().filter(|c| *c == call).count()
}

/// Asserts that every `DELETE /api/delete` comes right after an unload request
/// (`POST /api/generate`), and returns how many deletes there were.
#[track_caller]
fn assert_each_delete_follows_an_unload(calls: &[String]) -> usize {
    let deletes: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| *c == "DELETE /api/delete")
        .map(|(i, _)| i)
        .collect();
    for &i in &deletes {
        assert!(
            i > 0 && calls[i - 1] == "POST /api/generate",
            "a delete without an unload right before it: {calls:?}"
        );
    }
    deletes.len()
}

#[test]
fn prune_unloads_a_loaded_model_before_deleting_it() {
    let mac = Mac::new();
    mac.apply().success();
    // A model server.toml does not declare, loaded and pinned.
    mac.http("POST", "/api/pull", r#"{"model":"llama3","stream":false}"#);
    mac.load("llama3", "-1");
    let toml = std::fs::read_to_string(&mac.config).unwrap();
    std::fs::write(
        &mac.config,
        format!("{toml}\n[model_policy]\nprune = true\n"),
    )
    .unwrap();
    mac.sb.clear_journal();
    mac.apply()
        .success()
        .says("done     remove ollama.model[\"llama3:latest\"]")
        .says("removed llama3:latest (unloaded first)");
    assert_eq!(assert_each_delete_follows_an_unload(&http_calls(&mac)), 1);
    // `DELETE /api/delete` alone leaves a runner in memory: the unload took it out.
    let ps = mac.loaded_models();
    assert!(!ps.contains("llama3:latest"), "{ps}");
    assert!(ps.contains("llama3.2:latest"), "{ps}");
    mac.assert_converged();
}

#[test]
fn destroy_models_unloads_each_model_before_deleting_it() {
    let mac = Mac::new();
    mac.apply().success();
    mac.sb.clear_journal();
    mac.run(&["destroy", "--yes", "--models"]).success();
    assert_eq!(assert_each_delete_follows_an_unload(&http_calls(&mac)), 2);
}

#[test]
fn destroy_models_with_the_server_down_refuses_and_touches_nothing() {
    let mac = Mac::new();
    mac.apply().success();
    mac.boot_out();
    mac.sb.clear_journal();
    mac.run(&["destroy", "--yes", "--models"])
        .code(1)
        .says("cannot remove the models server.toml lists: Ollama is not running")
        .says("nothing was changed")
        .says("without `--models`");
    assert_eq!(mac.mutations(), Vec::<String>::new());
    assert!(mac.plist().exists());
}

#[test]
fn destroy_without_a_gui_session_touches_nothing_and_says_why() {
    let mac = Mac::new();
    mac.apply().success();
    mac.sb.set_fault("no-gui-session", "1");
    mac.sb.clear_journal();
    mac.run(&["destroy", "--yes"])
        .failure()
        .says("no GUI session")
        .says("cannot tell what is left to remove");
    assert_eq!(mac.mutations(), Vec::<String>::new());
    assert!(mac.plist().exists());
}

#[test]
fn fault_network_managed_elsewhere_does_not_converge_and_names_what_comes_back() {
    // Something else manages Ethernet (a configuration profile's network payload, a management
    // agent): `networksetup -setmanual` exits 0, yet DHCP is back before the next look.
    let mac = Mac::new();
    mac.sb.set_fault("network-managed", "Ethernet");
    let run = mac.apply();
    insta::assert_snapshot!("fault_network_managed", mac.shown(&run));
    run.failure()
        .says("Apply did not converge: 6 done, 0 failed, 0 skipped in 4 round(s).")
        .says("Apply did not converge: after 4 round(s) still planned: set-network")
        .says("network.service[\"Ethernet\"] (method, address, subnet mask, router differ)")
        .says("something on this Mac undoes these changes");
    assert!(!run.both().contains("Apply failed"), "{}", run.both());
}
