//! Fidelity of the simulated Mac: the fakes' bytes and exit codes against the real captures in
//! `tests/fixtures/macos/`, and launchd behaviour (real jobs, `KeepAlive`, asynchronous bootout,
//! imported definitions, kickstart, cleanup).
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::unwrap_used,
    reason = "test code: plain std::fs and unwrap in helpers are fine"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use simmac::Sandbox;
use simmac::network::{Hardware, Lease, NetConfig, Service};
use simmac::state::{FakeProcess, Listen, SudoPolicy, pid_alive};

fn sandbox() -> Sandbox {
    Sandbox::with_simmac(env!("CARGO_BIN_EXE_simmac"))
}

fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/macos")
        .join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
#[track_caller]
fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes a 0644 `LaunchAgent` plist running `args`, with `extra` XML keys.
fn write_plist(path: &Path, label: &str, args: &[&str], extra: &str) {
    let args: String = args.iter().fold(String::new(), |mut out, a| {
        out.push_str("<string>");
        out.push_str(a);
        out.push_str("</string>");
        out
    });
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key><string>{label}</string>
	<key>ProgramArguments</key><array>{args}</array>
	{extra}
</dict>
</plist>
"#
    );
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, xml).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}

const SLEEPER: &[&str] = &["/bin/sh", "-c", "sleep 30"];
const KEEPALIVE: &str = "<key>KeepAlive</key><true/><key>RunAtLoad</key><true/>";

fn agent(sb: &Sandbox, label: &str, args: &[&str], extra: &str) -> PathBuf {
    let path = sb.agents_dir().join(format!("{label}.plist"));
    write_plist(&path, label, args, extra);
    path
}

fn bootstrap(sb: &Sandbox, plist: &Path) -> Output {
    sb.launchctl(&["bootstrap", "gui/501", plist.to_str().unwrap()])
}

fn print(sb: &Sandbox, target: &str) -> Output {
    sb.launchctl(&["print", target])
}

/// The value of a top-level `key = value` line of a print.
fn key(print: &str, key: &str) -> Option<String> {
    let prefix = format!("\t{key} = ");
    print
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
}

fn pid_of(sb: &Sandbox, target: &str) -> Option<u32> {
    let out = print(sb, target);
    key(&stdout(&out), "pid").and_then(|p| p.parse().ok())
}

// ---------------------------------------------------------------- launchctl errors (captured)

#[test]
fn print_unknown_service_matches_capture() {
    let sb = sandbox();
    let out = print(&sb, "gui/501/com.mattstack.deck.nosuchapp");
    assert_exit(&out, 113);
    assert_eq!(stderr(&out), fixture("launchctl/print-not-found.stderr"));
    assert_eq!(stdout(&out), "");
}

#[test]
fn kickstart_unknown_service_matches_capture() {
    let sb = sandbox();
    let out = sb.launchctl(&["kickstart", "gui/501/edgedb-server-authub"]);
    assert_exit(&out, 113);
    assert_eq!(
        stderr(&out),
        fixture("launchctl/kickstart-not-found.stderr")
    );
}

#[test]
fn bootout_wait_is_a_usage_error_like_macos_15() {
    let sb = sandbox();
    let out = sb.launchctl(&["bootout", "--wait", "gui/501/com.t3tools.t3code.service"]);
    assert_exit(&out, 64);
    assert_eq!(stderr(&out), fixture("launchctl/bootout-wait-usage.stderr"));
}

#[test]
fn bootstrap_failures_print_the_nonroot_eio_text() {
    let sb = sandbox();
    let eio = fixture("launchctl/bootstrap-eio-nonroot.stderr");
    let plist = agent(&sb, "com.example.eio", SLEEPER, KEEPALIVE);

    // Injected failure, once.
    sb.set_fault("bootstrap-fail", "1");
    let out = bootstrap(&sb, &plist);
    assert_exit(&out, 5);
    assert_eq!(stderr(&out), eio);

    // Then it loads; a second bootstrap is "already loaded".
    assert_exit(&bootstrap(&sb, &plist), 0);
    let out = bootstrap(&sb, &plist);
    assert_exit(&out, 5);
    assert_eq!(stderr(&out), eio);

    // A group-writable plist is refused.
    let loose = agent(&sb, "com.example.loose", SLEEPER, "");
    fs::set_permissions(&loose, fs::Permissions::from_mode(0o664)).unwrap();
    let out = bootstrap(&sb, &loose);
    assert_exit(&out, 5);
    assert_eq!(stderr(&out), eio);
}

#[test]
fn bootout_of_an_unloaded_job_is_no_such_process() {
    let sb = sandbox();
    let out = sb.launchctl(&["bootout", "gui/501/com.example.none"]);
    assert_exit(&out, 3);
    assert_eq!(stderr(&out), "Boot-out failed: 3: No such process\n");
}

#[test]
fn gui_domain_without_session_is_112() {
    let sb = sandbox();
    sb.set_fault("no-gui-session", "1");
    let out = print(&sb, "gui/501/com.example.x");
    assert_exit(&out, 112);
    assert_eq!(stderr(&out), "Could not find domain for user gui: 501\n");
    sb.clear_fault("no-gui-session");
    let out = print(&sb, "gui/424242/com.example.x");
    assert_exit(&out, 112);
    assert_eq!(stderr(&out), "Could not find domain for user gui: 424242\n");
    let out = print(&sb, "not-a-domain-target");
    assert_exit(&out, 64);
    assert!(stderr(&out).starts_with("Unrecognized target specifier.\n"));
}

#[test]
fn system_domain_needs_root() {
    let sb = sandbox();
    let plist = sb.root().join("com.example.daemon.plist");
    write_plist(&plist, "com.example.daemon", SLEEPER, KEEPALIVE);
    let out = sb.launchctl(&["bootstrap", "system", plist.to_str().unwrap()]);
    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out),
        "Bootstrap failed: 1: Operation not permitted\n"
    );
    let out = sb.tool(
        "sudo",
        &[
            "-n",
            "/bin/launchctl",
            "bootstrap",
            "system",
            plist.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    let text = stdout(&print(&sb, "system/com.example.daemon"));
    assert_eq!(key(&text, "type").as_deref(), Some("LaunchDaemon"));
    assert_eq!(key(&text, "domain").as_deref(), Some("system"));
    assert!(!text.contains("inherited environment"), "{text}");
    let out = print(&sb, "system/com.example.none");
    assert_eq!(
        stderr(&out),
        "Bad request.\nCould not find service \"com.example.none\" in domain for system\n"
    );
}

// ---------------------------------------------------------------- launchctl print (structure)

/// The shape of a print: top-level keys (and block openers/closers) and blank lines, for the keys
/// in `keep`; blocks whose key is not kept are skipped whole; consecutive blanks collapse.
fn skeleton(text: &str, keep: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        if skipping {
            if line == "\t}" {
                skipping = false;
            }
            continue;
        }
        if line.is_empty() {
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        if line == "\t}" {
            out.push(line.to_owned());
            continue;
        }
        let Some(body) = line.strip_prefix('\t') else {
            continue;
        };
        if body.starts_with('\t') {
            continue;
        }
        let name = body.split(" = ").next().unwrap_or(body);
        let name = if name.starts_with("last exit code") || name.starts_with("last terminating") {
            "last exit"
        } else {
            name
        };
        if keep.contains(&name) {
            let opener = if body.ends_with("= {") { " {" } else { "" };
            out.push(format!("{name}{opener}"));
        } else if body.ends_with("= {") {
            skipping = true;
        }
    }
    if out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

const EMITTED: &[&str] = &[
    "active count",
    "path",
    "type",
    "state",
    "program",
    "arguments",
    "working directory",
    "stdout path",
    "stderr path",
    "inherited environment",
    "default environment",
    "environment",
    "domain",
    "asid",
    "minimum runtime",
    "exit timeout",
    "runs",
    "pid",
    "last exit",
    "properties",
];

/// The lines of the depth-1 block `opener` (its opener line to its `\t}`), or none.
fn depth_one_block<'a>(text: &'a str, opener: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| *l != opener);
    let mut out = Vec::new();
    for line in lines.by_ref() {
        out.push(line);
        if line == "\t}" {
            break;
        }
    }
    out
}

#[test]
fn macos27_print_style_has_the_nested_blocks_of_the_macos27_captures() {
    let sb = sandbox();
    sb.set_fault("print-style", "macos27");
    let logs = sb.root().join("logs");
    fs::create_dir_all(&logs).unwrap();
    let extra = format!(
        "{KEEPALIVE}<key>StandardOutPath</key><string>{0}/out.log</string>\
         <key>StandardErrorPath</key><string>{0}/err.log</string>\
         <key>EnvironmentVariables</key><dict><key>DDC_DISPLAY</key><string>PA27JCV</string></dict>",
        logs.display()
    );
    let plist = agent(&sb, "com.sglavoie.ddc-brightnessd", SLEEPER, &extra);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let out = print(&sb, "gui/501/com.sglavoie.ddc-brightnessd");
    assert_exit(&out, 0);
    let ours = stdout(&out);
    let lwcr = fixture("launchctl/print-macos27-lwcr-running.txt");
    // The LWCR block byte for byte, inline `]` close included.
    assert_eq!(depth_one_block(&lwcr, "\tLWCR = {").len(), 11);
    assert_eq!(
        depth_one_block(&ours, "\tLWCR = {"),
        depth_one_block(&lwcr, "\tLWCR = {"),
        "{ours}"
    );
    let mut keep = EMITTED.to_vec();
    keep.extend([
        "LWCR",
        "resource coalition",
        "jetsam coalition",
        "job state",
        "sanitizer flags",
    ]);
    assert_eq!(skeleton(&ours, &keep), skeleton(&lwcr, &keep), "{ours}");
    // The calendar trigger entry has the shape of the calendar capture (`=> {` entry).
    let calendar = fixture("launchctl/print-macos27-calendar-never-run.txt");
    let shape = |text: &str| -> Vec<String> {
        depth_one_block(text, "\tevent triggers = {")
            .iter()
            .map(|l| {
                l.split(" = ")
                    .next()
                    .unwrap_or(l)
                    .split(" => ")
                    .next()
                    .unwrap_or(l)
                    .trim_end_matches(char::is_numeric)
                    .to_owned()
            })
            .filter(|l| !l.contains("Weekday"))
            .collect()
    };
    let ours_shape: Vec<String> = shape(&ours)
        .into_iter()
        .map(|l| l.replace("com.sglavoie.ddc-brightnessd", "com.sglavoie.brew-maintain"))
        .collect();
    assert_eq!(shape(&calendar).len(), 12);
    assert_eq!(ours_shape, shape(&calendar), "{ours}");
    assert_eq!(key(&ours, "job state").as_deref(), Some("running"));
}

#[test]
fn print_of_an_unknown_service_on_stdout_when_asked() {
    let sb = sandbox();
    sb.set_fault("not-found-on-stdout", "1");
    let out = print(&sb, "gui/501/com.mattstack.deck.nosuchapp");
    assert_exit(&out, 113);
    assert_eq!(stdout(&out), fixture("launchctl/print-not-found.stderr"));
    assert_eq!(stderr(&out), "");
}

#[test]
fn print_of_a_running_agent_has_the_shape_of_capture_a() {
    let sb = sandbox();
    let logs = sb.root().join("logs");
    fs::create_dir_all(&logs).unwrap();
    let extra = format!(
        "{KEEPALIVE}<key>WorkingDirectory</key><string>/tmp</string>\
         <key>StandardOutPath</key><string>{0}/out.log</string>\
         <key>StandardErrorPath</key><string>{0}/err.log</string>\
         <key>EnvironmentVariables</key><dict><key>PORT</key><string>11002</string></dict>",
        logs.display()
    );
    let plist = agent(&sb, "com.mattstack.deck.chat", SLEEPER, &extra);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let target = "gui/501/com.mattstack.deck.chat";
    let out = print(&sb, target);
    assert_exit(&out, 0);
    let ours = stdout(&out);
    let capture = fixture("launchctl/print-agent-running-sigterm.txt");
    assert_eq!(
        skeleton(&ours, EMITTED),
        skeleton(&capture, EMITTED),
        "{ours}"
    );
    assert!(ours.starts_with("gui/501/com.mattstack.deck.chat = {\n"));
    assert!(ours.ends_with("\n}\n"));
    for line in ours.lines().filter(|l| !l.is_empty()) {
        let body = line.trim_start_matches('\t');
        assert!(!body.starts_with(' '), "space indentation: {line:?}");
    }
    assert!(ours.contains("\t\tXPC_SERVICE_NAME => com.mattstack.deck.chat\n"));
    assert!(ours.contains("\t\tOSLogRateLimit => 64\n"));
    assert!(ours.contains("\t\tPORT => 11002\n"));
    assert_eq!(key(&ours, "state").as_deref(), Some("running"));
    assert_eq!(key(&ours, "domain").as_deref(), Some("gui/501 [100057]"));
    assert_eq!(
        key(&ours, "properties").as_deref(),
        Some("keepalive | runatload | inferred program")
    );
    assert_eq!(
        key(&ours, "last exit code").as_deref(),
        Some("(never exited)")
    );
    assert!(pid_alive(key(&ours, "pid").unwrap().parse().unwrap()));
}

#[test]
fn print_of_a_daemon_has_the_shape_of_capture_d() {
    let sb = sandbox();
    sb.update_machine(|m| m.root = Some(true));
    let plist = sb.root().join("com.byliu.egress-guard.daemon.plist");
    let extra = format!(
        "{KEEPALIVE}<key>StandardOutPath</key><string>{0}/d.log</string>\
         <key>StandardErrorPath</key><string>{0}/d.err</string>\
         <key>EnvironmentVariables</key><dict><key>HOME</key><string>/var/db/x</string></dict>",
        sb.root().display()
    );
    write_plist(&plist, "com.byliu.egress-guard.daemon", SLEEPER, &extra);
    let out = sb.launchctl(&["bootstrap", "system", plist.to_str().unwrap()]);
    assert_exit(&out, 0);
    let ours = stdout(&print(&sb, "system/com.byliu.egress-guard.daemon"));
    let capture = fixture("launchctl/print-daemon-running.txt");
    // The capture ends mid-output: compare our skeleton's prefix.
    let want = skeleton(&capture, EMITTED);
    let got = skeleton(&ours, EMITTED);
    assert_eq!(&got[..want.len()], want.as_slice(), "{ours}");
}

#[test]
fn print_has_no_pid_once_the_job_exited() {
    let sb = sandbox();
    let plist = agent(
        &sb,
        "com.example.once",
        &["/bin/sh", "-c", "exit 3"],
        "<key>RunAtLoad</key><true/>",
    );
    assert_exit(&bootstrap(&sb, &plist), 0);
    let target = "gui/501/com.example.once";
    eventually(Duration::from_secs(5), "job exits", || {
        key(&stdout(&print(&sb, target)), "state").as_deref() == Some("not running")
    });
    let text = stdout(&print(&sb, target));
    assert_eq!(key(&text, "pid"), None, "{text}");
    assert_eq!(key(&text, "last exit code").as_deref(), Some("3"));
    assert_eq!(key(&text, "runs").as_deref(), Some("1"));
    assert_eq!(
        key(&text, "properties").as_deref(),
        Some("runatload | inferred program")
    );
}

#[test]
fn spawn_failure_is_spawn_scheduled_with_ex_config() {
    let sb = sandbox();
    sb.set_fault("throttle-ms", "100");
    let extra = format!(
        "{KEEPALIVE}<key>StandardOutPath</key><string>{}/missing/dir/out.log</string>",
        sb.root().display()
    );
    let plist = agent(&sb, "homebrew.mxcl.ollama", SLEEPER, &extra);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let text = stdout(&print(&sb, "gui/501/homebrew.mxcl.ollama"));
    assert_eq!(
        key(&text, "state").as_deref(),
        Some("spawn scheduled"),
        "{text}"
    );
    assert_eq!(
        key(&text, "last exit code").as_deref(),
        Some("78: EX_CONFIG")
    );
    assert_eq!(key(&text, "pid"), None);
    // launchd creates the log file, not its directory.
    assert!(!sb.root().join("missing").exists());
}

#[test]
fn print_garbage_fault_is_unparseable() {
    let sb = sandbox();
    let plist = agent(&sb, "com.example.g", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    sb.set_fault("print-garbage", "1");
    let out = print(&sb, "gui/501/com.example.g");
    assert_exit(&out, 0);
    assert_eq!(key(&stdout(&out), "state"), None);
}

// ---------------------------------------------------------------- launchd behaviour

#[test]
fn bootstrap_runs_the_job_with_exactly_the_plist_environment() {
    let sb = sandbox();
    let out_file = sb.root().join("env.out");
    let extra = format!(
        "<key>RunAtLoad</key><true/>\
         <key>StandardOutPath</key><string>{}</string>\
         <key>WorkingDirectory</key><string>{}</string>\
         <key>EnvironmentVariables</key><dict><key>OLLAMA_HOST</key><string>127.0.0.7:11434</string></dict>",
        out_file.display(),
        sb.root().display()
    );
    let plist = agent(
        &sb,
        "com.example.env",
        &["/bin/sh", "-c", "env | sort; pwd"],
        &extra,
    );
    assert_exit(&bootstrap(&sb, &plist), 0);
    eventually(Duration::from_secs(5), "job output", || {
        fs::read_to_string(&out_file).is_ok_and(|t| t.contains(&sb.root().display().to_string()))
    });
    let text = fs::read_to_string(&out_file).unwrap();
    assert!(text.contains("OLLAMA_HOST=127.0.0.7:11434\n"), "{text}");
    assert!(
        text.contains("XPC_SERVICE_NAME=com.example.env\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("HOME={}\n", sb.home().display())),
        "{text}"
    );
    assert!(!text.contains("SSOLLAMA_TOOL_DIR"), "{text}");
}

#[test]
fn keepalive_restarts_a_killed_job() {
    let sb = sandbox();
    sb.set_fault("throttle-ms", "100");
    let plist = agent(&sb, "com.example.ka", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let target = "gui/501/com.example.ka";
    let first = pid_of(&sb, target).expect("running");
    simmac::state::kill_pid(first, rustix::process::Signal::KILL);
    eventually(Duration::from_secs(5), "restart", || {
        pid_of(&sb, target).is_some_and(|p| p != first && pid_alive(p))
    });
    let text = stdout(&print(&sb, target));
    assert_eq!(key(&text, "runs").as_deref(), Some("2"));
    assert_eq!(
        key(&text, "last terminating signal").as_deref(),
        Some("Killed: 9")
    );
}

#[test]
fn bootout_is_asynchronous() {
    let sb = sandbox();
    sb.set_fault("bootout-linger-ms", "1500");
    let plist = agent(&sb, "com.example.bo", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let target = "gui/501/com.example.bo";
    let pid = pid_of(&sb, target).unwrap();
    let started = Instant::now();
    assert_exit(&sb.launchctl(&["bootout", target]), 0);
    let out = print(&sb, target);
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_exit(&out, 0);
    // Bootstrapping while it drains fails like on a real Mac.
    assert_exit(&bootstrap(&sb, &plist), 5);
    eventually(Duration::from_secs(5), "job stops", || !pid_alive(pid));
    eventually(Duration::from_secs(5), "service disappears", || {
        print(&sb, target).status.code() == Some(113)
    });
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_exit(&sb.launchctl(&["bootout", target]), 3);
    assert_exit(&bootstrap(&sb, &plist), 0);
}

#[test]
fn default_bootout_linger_is_short() {
    let sb = sandbox();
    let plist = agent(&sb, "com.example.linger", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let target = "gui/501/com.example.linger";
    assert_exit(&sb.launchctl(&["bootout", target]), 0);
    eventually(Duration::from_secs(3), "service disappears", || {
        print(&sb, target).status.code() == Some(113)
    });
}

#[test]
fn print_shows_the_definition_imported_at_bootstrap() {
    let sb = sandbox();
    let old = "<key>EnvironmentVariables</key><dict><key>OLLAMA_HOST</key><string>127.0.0.1:11434</string></dict>";
    let plist = agent(
        &sb,
        "com.example.edit",
        SLEEPER,
        &format!("{KEEPALIVE}{old}"),
    );
    assert_exit(&bootstrap(&sb, &plist), 0);
    let new = "<key>EnvironmentVariables</key><dict><key>OLLAMA_HOST</key><string>0.0.0.0:11434</string></dict>";
    write_plist(
        &plist,
        "com.example.edit",
        &["/bin/sh", "-c", "sleep 60"],
        &format!("{KEEPALIVE}{new}"),
    );
    let text = stdout(&print(&sb, "gui/501/com.example.edit"));
    assert!(
        text.contains("\t\tOLLAMA_HOST => 127.0.0.1:11434\n"),
        "{text}"
    );
    assert!(text.contains("\t\tsleep 30\n"), "{text}");
    assert!(!text.contains("0.0.0.0"), "{text}");
    // kickstart -k restarts the old definition too.
    assert_exit(
        &sb.launchctl(&["kickstart", "-k", "gui/501/com.example.edit"]),
        0,
    );
    let text = stdout(&print(&sb, "gui/501/com.example.edit"));
    assert!(text.contains("\t\tsleep 30\n"), "{text}");
}

#[test]
fn kickstart_k_changes_the_pid_and_p_prints_it() {
    let sb = sandbox();
    let plist = agent(&sb, "com.example.kick", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let target = "gui/501/com.example.kick";
    let before = pid_of(&sb, target).unwrap();
    let out = sb.launchctl(&["kickstart", "-kp", target]);
    assert_exit(&out, 0);
    let printed: u32 = stdout(&out).trim().parse().unwrap();
    assert_ne!(printed, before);
    assert_eq!(pid_of(&sb, target), Some(printed));
    assert!(pid_alive(printed));
    eventually(Duration::from_secs(3), "old instance gone", || {
        !pid_alive(before)
    });
    // Without -k a running job is left alone; -p prints its pid.
    let out = sb.launchctl(&["kickstart", "-p", target]);
    assert_eq!(stdout(&out).trim(), printed.to_string());
}

#[test]
fn kickstart_starts_an_on_demand_job() {
    let sb = sandbox();
    let plist = agent(&sb, "com.example.demand", SLEEPER, "");
    assert_exit(&bootstrap(&sb, &plist), 0);
    let target = "gui/501/com.example.demand";
    let text = stdout(&print(&sb, target));
    assert_eq!(key(&text, "state").as_deref(), Some("not running"));
    assert_eq!(key(&text, "runs").as_deref(), Some("0"));
    assert_exit(&sb.launchctl(&["kickstart", target]), 0);
    assert!(pid_of(&sb, target).is_some_and(pid_alive));
}

#[test]
fn disabled_services_cannot_bootstrap() {
    let sb = sandbox();
    let plist = agent(&sb, "com.example.dis", SLEEPER, KEEPALIVE);
    assert_exit(&sb.launchctl(&["disable", "gui/501/com.example.dis"]), 0);
    let out = bootstrap(&sb, &plist);
    assert_exit(&out, 119);
    assert_eq!(stderr(&out), "Bootstrap failed: 119: Service is disabled\n");
    let out = sb.launchctl(&["print-disabled", "gui/501"]);
    assert_eq!(
        stdout(&out),
        "\tdisabled services = {\n\t\t\"com.example.dis\" => disabled\n\t}\n"
    );
    assert_exit(&sb.launchctl(&["enable", "gui/501/com.example.dis"]), 0);
    assert!(stdout(&sb.launchctl(&["print-disabled", "gui/501"])).contains("=> enabled\n"));
    assert_exit(&bootstrap(&sb, &plist), 0);
}

#[test]
fn domain_print_lists_services_like_the_capture() {
    let sb = sandbox();
    let plist = agent(
        &sb,
        "homebrew.mxcl.ollama",
        &["/bin/sh", "-c", "exit 78"],
        "<key>RunAtLoad</key><true/>",
    );
    assert_exit(&bootstrap(&sb, &plist), 0);
    eventually(Duration::from_secs(5), "exit", || {
        stdout(&print(&sb, "gui/501")).contains("\t\t       0     78 \thomebrew.mxcl.ollama\n")
    });
    let capture = fixture("launchctl/print-domain-services-excerpt.txt");
    assert!(capture.contains("\t\t       0     78 \thomebrew.mxcl.ollama\n"));
}

#[test]
fn drop_kills_every_spawned_process() {
    let pids;
    {
        let sb = sandbox();
        let plist = agent(&sb, "com.example.drop", SLEEPER, KEEPALIVE);
        assert_exit(&bootstrap(&sb, &plist), 0);
        let other = agent(&sb, "com.example.drop2", SLEEPER, KEEPALIVE);
        assert_exit(&bootstrap(&sb, &other), 0);
        eventually(Duration::from_secs(3), "both sessions populated", || {
            sb.spawned_pids().len() >= 4
        });
        pids = sb.spawned_pids();
    }
    for pid in pids {
        assert!(!pid_alive(pid), "pid {pid} survived the sandbox");
    }
}

#[test]
fn drop_after_a_panic_still_cleans_up() {
    let captured = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let inner = captured.clone();
    let result = std::panic::catch_unwind(move || {
        let sb = sandbox();
        let plist = agent(&sb, "com.example.panic", SLEEPER, KEEPALIVE);
        assert_exit(&bootstrap(&sb, &plist), 0);
        *inner.lock().unwrap() = sb.spawned_pids();
        panic!("test failure inside a sandbox");
    });
    assert!(result.is_err());
    let pids = captured.lock().unwrap().clone();
    assert!(!pids.is_empty());
    for pid in pids {
        assert!(!pid_alive(pid), "pid {pid} survived the panic");
    }
}

// ---------------------------------------------------------------- networksetup

fn seed_services(sb: &Sandbox) {
    let mut usb = Service::new(
        "USB 10/100/1000 LAN",
        true,
        NetConfig::Dhcp(Some(Lease::new(
            "30.25.25.195",
            "255.255.255.128",
            "30.25.25.254",
        ))),
    );
    usb.ipv6 = None;
    "44:67:52:02:16:d4".clone_into(&mut usb.hardware_address);
    let mut wifi = Service::new(
        "Wi-Fi",
        true,
        NetConfig::Manual(Lease::new("192.168.0.129", "255.255.255.0", "192.168.0.1")),
    );
    wifi.hardware = Hardware::Wifi;
    "e6:ce:8e:10:a6:af".clone_into(&mut wifi.hardware_address);
    sb.set_network_services(vec![
        wifi,
        usb,
        Service::new("Thunderbolt Bridge", true, NetConfig::Dhcp(None)),
        Service::new("iPhone USB", true, NetConfig::Dhcp(None)),
        Service::new("Bluetooth PAN", false, NetConfig::Dhcp(None)),
        Service::new("Apple USB Ethernet Adapter", true, NetConfig::Dhcp(None)),
        Service::new("Ethernet", true, NetConfig::Dhcp(None)),
    ]);
}

fn ns(sb: &Sandbox, args: &[&str]) -> Output {
    sb.tool("networksetup", args)
}

#[test]
fn listallnetworkservices_matches_capture() {
    let sb = sandbox();
    seed_services(&sb);
    let mut services = sb.network_services();
    services.truncate(5);
    sb.set_network_services(services);
    let out = ns(&sb, &["-listallnetworkservices"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        fixture("networksetup/listallnetworkservices.txt")
    );
}

#[test]
fn listnetworkserviceorder_matches_capture() {
    let sb = sandbox();
    let svc = |name: &str, port: &str, dev: &str| {
        let mut s = Service::new(name, true, NetConfig::Dhcp(None));
        s.hardware_port = Some(port.to_owned());
        dev.clone_into(&mut s.device);
        s
    };
    sb.set_network_services(vec![
        svc("AX88179A", "AX88179A", "en9"),
        svc("USB 10/100/1000 LAN", "USB 10/100/1000 LAN", "en5"),
        svc("AX88179", "AX88179", "en6"),
        svc("USB 10/100/1000 LAN 2", "USB 10/100/1000 LAN", "en11"),
        svc("Thunderbolt Bridge", "Thunderbolt Bridge", "bridge0"),
        svc("Wi-Fi", "Wi-Fi", "en0"),
    ]);
    let out = ns(&sb, &["-listnetworkserviceorder"]);
    assert_eq!(
        stdout(&out),
        fixture("networksetup/listnetworkserviceorder.txt")
    );
}

#[test]
fn getinfo_matches_the_captured_shapes() {
    let sb = sandbox();
    seed_services(&sb);
    let out = ns(&sb, &["-getinfo", "USB 10/100/1000 LAN"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        fixture("networksetup/getinfo-dhcp-ethernet.txt")
    );

    let adapter = "Apple USB Ethernet Adapter";
    assert_eq!(
        stdout(&ns(&sb, &["-getinfo", adapter])),
        fixture("networksetup/getinfo-dhcp-nolease.txt")
    );
    let out = ns(
        &sb,
        &[
            "-setmanual",
            adapter,
            "192.168.100.100",
            "255.255.255.0",
            "192.168.100.1",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stdout(&ns(&sb, &["-getinfo", adapter])),
        fixture("networksetup/getinfo-manual.txt")
    );
    // The 2012 Wi-Fi capture starts with an empty line; modern output does not (assumed).
    let wifi = fixture("networksetup/getinfo-manual-wifi.txt");
    assert_eq!(
        stdout(&ns(&sb, &["-getinfo", "Wi-Fi"])),
        wifi.strip_prefix('\n').unwrap()
    );
    // Empty router → (null); the capture is trimmed after the Router line.
    assert_exit(
        &ns(
            &sb,
            &["-setmanual", adapter, "192.168.50.120", "255.255.255.0", ""],
        ),
        0,
    );
    let text = stdout(&ns(&sb, &["-getinfo", adapter]));
    assert!(
        text.starts_with(&fixture(
            "networksetup/getinfo-manual-null-router-trimmed.txt"
        )),
        "{text}"
    );
    // Back to DHCP: the lease-less DHCP shape again.
    assert_exit(&ns(&sb, &["-setdhcp", adapter]), 0);
    assert_eq!(
        stdout(&ns(&sb, &["-getinfo", adapter])),
        fixture("networksetup/getinfo-dhcp-nolease.txt")
    );
}

#[test]
fn dns_servers_match_the_captures() {
    let sb = sandbox();
    seed_services(&sb);
    let out = ns(&sb, &["-getdnsservers", "Ethernet"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        fixture("networksetup/getdnsservers-empty.txt")
    );
    let out = ns(&sb, &["-setdnsservers", "Ethernet", "10.4.0.1"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stdout(&ns(&sb, &["-getdnsservers", "Ethernet"])),
        fixture("networksetup/getdnsservers-one.txt")
    );
    assert_exit(&ns(&sb, &["-setdnsservers", "Ethernet", "empty"]), 0);
    assert_eq!(
        stdout(&ns(&sb, &["-getdnsservers", "Ethernet"])),
        fixture("networksetup/getdnsservers-empty.txt")
    );
}

#[test]
fn unknown_service_matches_capture() {
    let sb = sandbox();
    seed_services(&sb);
    let out = ns(&sb, &["-getdnsservers", "Bluetooth", "DUN"]);
    assert_exit(&out, 4);
    assert_eq!(stdout(&out), fixture("networksetup/unknown-service.txt"));
}

#[test]
fn set_commands_need_admin_unless_sudo() {
    let sb = sandbox();
    seed_services(&sb);
    sb.update_machine(|m| m.admin = false);
    let out = ns(&sb, &["-setdnsservers", "8.8.8.8"]);
    assert_exit(&out, 14);
    assert_eq!(stdout(&out), fixture("networksetup/admin-required.txt"));
    let out = sb.tool(
        "sudo",
        &[
            "-n",
            "/usr/sbin/networksetup",
            "-setdnsservers",
            "Ethernet",
            "1.1.1.1",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&ns(&sb, &["-getdnsservers", "Ethernet"])),
        "1.1.1.1\n"
    );
    sb.update_machine(|m| m.sudo = SudoPolicy::Refuse);
    let out = sb.tool(
        "sudo",
        &["-n", "/usr/sbin/networksetup", "-setdhcp", "Ethernet"],
    );
    assert_exit(&out, 1);
    assert_eq!(stderr(&out), "sudo: a password is required\n");
}

#[test]
fn networksetup_latency_is_injectable() {
    let sb = sandbox();
    sb.set_fault("networksetup-delay-ms", "200");
    let start = Instant::now();
    assert_exit(&ns(&sb, &["-listallnetworkservices"]), 0);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

// ---------------------------------------------------------------- small tools

#[test]
fn sw_vers_matches_capture() {
    let sb = sandbox();
    let out = sb.tool("sw_vers", &[]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), fixture("sw_vers/sw_vers-14.2.1.txt"));
    assert_eq!(
        stdout(&sb.tool("sw_vers", &["-productVersion"])),
        "14.2.1\n"
    );
}

fn seed_lsof_capture(sb: &Sandbox) {
    let listen = |addr: &str, fd: u32, ty: &str, dev: &str| Listen {
        address: addr.to_owned(),
        fd,
        ip_type: Some(ty.to_owned()),
        device: Some(dev.to_owned()),
    };
    let p = |pid: u32, cmd: &str, listen: Vec<Listen>| FakeProcess {
        pid,
        ppid: None,
        user: "scottrosenberg".to_owned(),
        command: cmd.to_owned(),
        args: Vec::new(),
        listen,
    };
    sb.set_processes(vec![
        p(
            621,
            "/usr/libexec/rapportd",
            vec![
                listen("*:61119", 10, "IPv4", "0xf234b11f7adef2b"),
                listen("*:61119", 11, "IPv6", "0x341e1b72b2cb7a9b"),
            ],
        ),
        p(
            826,
            "/Applications/EEventManager.app/Contents/MacOS/EEventManager",
            vec![listen("*:2968", 4, "IPv4", "0xed09f324ebd98d22")],
        ),
        p(
            853,
            "/Applications/Ollama.app/Contents/MacOS/Ollama",
            vec![listen("127.0.0.1:49153", 4, "IPv4", "0xace4297ca96f619d")],
        ),
        p(
            921,
            "/opt/homebrew/bin/ollama",
            vec![listen("127.0.0.1:11434", 3, "IPv4", "0x888e00d28704b5ff")],
        ),
    ]);
}

#[test]
fn lsof_matches_capture() {
    let sb = sandbox();
    seed_lsof_capture(&sb);
    let out = sb.tool("lsof", &["-nP", "-iTCP", "-sTCP:LISTEN"]);
    assert_exit(&out, 0);
    let capture = fixture("lsof/lsof-listen-all.txt");
    assert_eq!(stdout(&out), capture);
    let out = sb.tool("lsof", &["-nP", "-iTCP:11434", "-sTCP:LISTEN"]);
    let lines: Vec<&str> = capture.lines().collect();
    assert_eq!(stdout(&out), format!("{}\n{}\n", lines[0], lines[5]));
    let out = sb.tool("lsof", &["-nP", "-iTCP:1", "-sTCP:LISTEN"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "");
}

#[test]
fn ps_lists_jobs_and_fake_processes() {
    let sb = sandbox();
    sb.add_ollama_app();
    sb.set_fault("job-user", "root");
    let plist = agent(&sb, "com.example.ps", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let pid = pid_of(&sb, "gui/501/com.example.ps").unwrap();
    let out = sb.tool("ps", &["-axo", "pid=,user=,comm="]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("  853 tester /Applications/Ollama.app/Contents/MacOS/Ollama\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{pid:>5} root   /bin/sh\n")),
        "{text}"
    );
    // osascript quits the app.
    let out = sb.tool("osascript", &["-e", "quit app \"Ollama\""]);
    assert_exit(&out, 0);
    assert!(!stdout(&sb.tool("ps", &["-axo", "pid=,user=,comm="])).contains("Ollama.app"));
    assert!(sb.processes().is_empty());
}

#[test]
fn ollama_app_runs_its_server_as_its_child_and_quitting_stops_it() {
    let sb = sandbox();
    let server = sb.start_ollama_app(11434);
    let plist = agent(&sb, "com.example.ps", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let job = pid_of(&sb, "gui/501/com.example.ps").unwrap();
    // `ps` prints each process's parent: the app's server is the app's child, the app and a
    // job are launchd's, launchd is the kernel's.
    let text = stdout(&sb.tool("ps", &["-axo", "pid=,ppid=,user=,comm="]));
    assert!(
        text.starts_with("    1     0 root   /sbin/launchd\n"),
        "{text}"
    );
    assert!(
        text.contains("  853     1 tester /Applications/Ollama.app/Contents/MacOS/Ollama\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{server:>5}   853 tester /Applications/Ollama.app/Contents/Resources/ollama\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{job:>5}     1 tester /bin/sh\n")),
        "{text}"
    );
    let lsof = stdout(&sb.tool("lsof", &["-nP", "-iTCP:11434", "-sTCP:LISTEN"]));
    assert!(
        lsof.lines().any(|l| l.starts_with("ollama")
            && l.contains(&format!(" {server} "))
            && l.contains("*:11434 (LISTEN)")),
        "{lsof}"
    );
    // Quitting the app stops its server (SIGINT, as the app's `stop` does), then the app.
    assert_exit(&sb.tool("osascript", &["-e", "quit app \"Ollama\""]), 0);
    assert!(!pid_alive(server));
    assert_exit(&sb.tool("lsof", &["-nP", "-iTCP:11434", "-sTCP:LISTEN"]), 1);
    let text = stdout(&sb.tool("ps", &["-axo", "pid=,ppid=,user=,comm="]));
    assert!(!text.contains("Ollama"), "{text}");
    assert!(!text.contains(&format!("{server:>5} ")), "{text}");
    assert!(
        std::net::TcpStream::connect((sb.loopback(), 11434)).is_err(),
        "the app's server still answers"
    );
}

#[test]
fn ping_answers_from_the_reachable_list() {
    let sb = sandbox();
    let out = sb.tool("ping", &["-c", "1", "-t", "1", "192.168.1.1"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with(
        "PING 192.168.1.1 (192.168.1.1): 56 data bytes\n64 bytes from 192.168.1.1: icmp_seq=0"
    ));
    let out = sb.tool("ping", &["-c", "1", "-t", "1", "10.9.9.9"]);
    assert_exit(&out, 2);
    assert!(stdout(&out).contains("Request timeout for icmp_seq 0\n"));
}

#[test]
fn brew_installs_ollama_as_a_user_and_refuses_root() {
    let sb = sandbox();
    sb.remove_ollama();
    assert!(!sb.ollama_path().exists());
    let out = sb.tool("brew", &["install", "ollama"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("==> Pouring ollama--"),
        "{}",
        stdout(&out)
    );
    assert!(sb.ollama_path().exists());
    let out = sb.tool("sudo", &["brew", "install", "ollama"]);
    assert_exit(&out, 1);
    assert_eq!(stderr(&out), fixture("brew/install-as-root.stderr"));
    assert_eq!(stdout(&sb.tool("brew", &["--prefix"])), "/opt/homebrew\n");
}

#[test]
fn journal_records_calls_and_mutations() {
    let sb = sandbox();
    assert_exit(&sb.tool("sw_vers", &["-productVersion"]), 0);
    assert_exit(&print(&sb, "gui/501/com.example.j"), 113);
    assert_exit(&sb.launchctl(&["enable", "gui/501/com.example.j"]), 0);
    assert_exit(
        &sb.tool("sudo", &["-n", "networksetup", "-setdhcp", "Ethernet"]),
        0,
    );
    let journal = sb.journal();
    let tools: Vec<&str> = journal.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(
        tools,
        ["sw_vers", "launchctl", "launchctl", "networksetup", "sudo"]
    );
    assert_eq!(journal[1].exit, Some(113));
    let mutating: Vec<String> = sb
        .mutating_calls()
        .iter()
        .map(simmac::journal::Call::summary)
        .collect();
    assert_eq!(
        mutating,
        [
            "launchctl enable gui/501/com.example.j",
            "networksetup -setdhcp Ethernet"
        ]
    );
    assert!(sb.mutating_calls()[1].elevated);
}

#[test]
fn wrappers_run_through_the_tool_dir() {
    let sb = sandbox();
    let out = sb
        .command(sb.bin_dir().join("sw_vers"))
        .arg("-productVersion")
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "14.2.1\n");
    assert!(sb.loopback().is_loopback());
    assert_ne!(sb.loopback(), std::net::Ipv4Addr::LOCALHOST);
    // `Sandbox::new()` finds the binary next to the test executable, as the ssollama tests do.
    let other = Sandbox::new();
    assert_ne!(other.loopback(), sb.loopback());
    assert_eq!(
        fs::canonicalize(other.simmac_exe()).unwrap(),
        fs::canonicalize(env!("CARGO_BIN_EXE_simmac")).unwrap()
    );
}

#[test]
fn legacy_list_and_stop() {
    let sb = sandbox();
    sb.set_fault("throttle-ms", "100");
    let plist = agent(&sb, "com.ollama", SLEEPER, KEEPALIVE);
    assert_exit(&bootstrap(&sb, &plist), 0);
    let pid = pid_of(&sb, "gui/501/com.ollama").unwrap();
    let out = sb.launchctl(&["list"]);
    assert_eq!(
        stdout(&out),
        format!("PID\tStatus\tLabel\n{pid}\t0\tcom.ollama\n")
    );
    let text = stdout(&sb.launchctl(&["list", "com.ollama"]));
    assert!(text.contains(&format!("\t\"PID\" = {pid};\n")), "{text}");
    assert!(text.contains("\t\"OnDemand\" = false;\n"), "{text}");
    let out = sb.launchctl(&["list", "com.example.none"]);
    assert_exit(&out, 113);
    assert_eq!(
        stderr(&out),
        "Could not find service \"com.example.none\" in domain for port\n"
    );
    // stop: SIGTERM, and KeepAlive brings it back.
    assert_exit(&sb.launchctl(&["stop", "com.ollama"]), 0);
    eventually(Duration::from_secs(5), "restart after stop", || {
        pid_of(&sb, "gui/501/com.ollama").is_some_and(|p| p != pid)
    });
    let out = sb.launchctl(&["list"]);
    assert!(
        stdout(&out).contains("\t-15\tcom.ollama\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn launchctl_latency_is_injectable() {
    let sb = sandbox();
    sb.set_fault("launchctl-delay-ms", "200");
    let start = Instant::now();
    assert_exit(&print(&sb, "gui/501/com.example.slow"), 113);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[test]
fn sudo_dash_u_runs_the_command_as_that_user_not_root() {
    let sb = Sandbox::new();
    sb.remove_ollama();
    // As root, Homebrew refuses; `sudo -u <user>` makes brew run as the user, so it installs.
    let as_root = sb.tool("sudo", &["-n", "brew", "install", "ollama"]);
    assert_eq!(as_root.status.code(), Some(1), "{as_root:?}");
    assert!(!sb.ollama_path().exists());
    let as_user = sb.tool("sudo", &["-n", "-u", "#501", "brew", "install", "ollama"]);
    assert!(as_user.status.success(), "{as_user:?}");
    assert!(sb.ollama_path().exists());
}
