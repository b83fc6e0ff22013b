//! Issue 10 end to end, on the simulated Mac: the server stays up (rollback, settle, signals),
//! root is never a tool for someone else (planted links), nothing that is not ours is deleted,
//! runs never interleave. Root cases run as root (CI) with hostile files planted by uid 501.

use std::path::Path;
use std::process::Command;

use super::support::{MODELS, Mac, Run, no_temp_files, wait_for_process};

/// A definition change that reloads the job: `OLLAMA_NUM_PARALLEL=2` in the new plist only.
const NEW_ENV: &str = "num_parallel = 2";
const NEW_PAIR: &str = "OLLAMA_NUM_PARALLEL=2";

/// A Mac that serves the first definition, with the second one in server.toml.
fn serving_then_changed() -> Mac {
    let mac = Mac::new();
    mac.apply().success();
    mac.configure(MODELS, NEW_ENV);
    mac
}

/// The previous definition serves again: the plist on disk has no new setting, the job is
/// loaded from it and Ollama answers.
#[track_caller]
fn previous_serves_again(mac: &Mac) {
    let plist = std::fs::read_to_string(mac.plist()).unwrap();
    assert!(!plist.contains("OLLAMA_NUM_PARALLEL"), "{plist}");
    let print = mac.sb.launchctl(&["print", &mac.target()]);
    let print = String::from_utf8_lossy(&print.stdout);
    assert!(print.contains("state = running"), "{print}");
    assert!(!print.contains("OLLAMA_NUM_PARALLEL"), "{print}");
    assert!(mac.http("GET", "/api/version", "").contains("version"));
}

/// A failed change of the port rolls back to the old port: the rollback waits on the address
/// the previous plist serves at, not on the new one nothing serves at.
#[test]
fn a_rollback_after_a_port_change_waits_on_the_previous_address() {
    let mac = Mac::new();
    mac.apply().success();
    let config = std::fs::read_to_string(&mac.config).unwrap();
    let moved = config.replace(
        &format!("port = {}", mac.port),
        &format!("port = {}", mac.port + 1),
    );
    assert_ne!(moved, config);
    std::fs::write(&mac.config, moved).unwrap();
    mac.sb.set_fault("bootstrap-fail", "5");
    mac.run(&["apply", "--yes", "--ready-timeout", "3"])
        .failure()
        .says("gave up after 5 attempts")
        .says("rolled back: the previous definition serves again")
        .says(&format!("answers at http://{}", mac.addr()))
        .never_says("the rollback to the previous plist failed too");
    assert!(mac.http("GET", "/api/version", "").contains("version"));
    mac.sb.clear_fault("bootstrap-fail");
}

#[test]
fn rollback_when_the_new_definition_cannot_be_bootstrapped() {
    let mac = serving_then_changed();
    // Every attempt of the new definition fails (5), the rollback's first one succeeds.
    mac.sb.set_fault("bootstrap-fail", "5");
    mac.apply()
        .failure()
        .says("failed   reload launchd.job")
        .says("gave up after 5 attempts")
        .says("rolled back: the previous definition serves again")
        .says("done     rollback launchd.job")
        .says("put the previous");
    previous_serves_again(&mac);
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn rollback_when_the_new_server_never_answers() {
    let mac = serving_then_changed();
    mac.sb.set_fault("ollama-faults-when-env", NEW_PAIR);
    mac.sb.set_fault("ollama-never-ready", "1");
    mac.run(&["apply", "--yes", "--ready-timeout", "2"])
        .failure()
        .says("Ollama did not answer at")
        .says("rolled back: the previous definition serves again")
        .says("done     rollback launchd.job");
    previous_serves_again(&mac);
    mac.sb.clear_fault("ollama-never-ready");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn rollback_when_the_new_server_stops_answering_within_the_settle_window() {
    let mac = serving_then_changed();
    mac.sb.set_fault("ollama-faults-when-env", NEW_PAIR);
    mac.sb.set_fault("ollama-crash", "300");
    // launchd restarts the crashed server only after 1.5 s: a gap no 100 ms poll can miss, however
    // loaded the machine.
    mac.sb.set_fault("throttle-ms", "1500");
    mac.apply()
        .failure()
        .says("stopped answering")
        .says("settle window")
        .says("rolled back: the previous definition serves again")
        .says("done     rollback launchd.job");
    previous_serves_again(&mac);
    mac.sb.clear_fault("ollama-crash");
    mac.apply().success();
    mac.assert_converged();
}

#[test]
fn without_a_previous_definition_apply_says_loudly_that_ollama_is_not_running() {
    let mac = Mac::new();
    mac.sb.set_fault("ollama-never-ready", "1");
    mac.run(&["apply", "--yes", "--ready-timeout", "2"])
        .failure()
        .says("failed   load launchd.job")
        .says("OLLAMA IS NOT RUNNING")
        .says("then run `ssollama apply` again")
        .never_says("rollback launchd.job");
}

fn signal(child: &std::process::Child, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, signal).unwrap();
}

#[test]
fn sighup_during_a_reload_finishes_it_before_exiting() {
    let mac = serving_then_changed();
    // Each launchctl call takes 400 ms: the hangup lands between bootout and bootstrap.
    mac.sb.set_fault("launchctl-delay-ms", "400");
    let child = mac.spawn(&["apply", "--yes", "--ready-timeout", "10"]);
    assert!(
        wait_for_process(&mac.sb.mac_dir(), "bootout"),
        "the reload never started"
    );
    signal(&child, rustix::process::Signal::HUP);
    Run::finish(child)
        .failure()
        .says("interrupted (SIGHUP): stopping after the current step")
        .says("done     reload launchd.job")
        .says("skipped  ");
    // The new definition serves: the reload was finished, not abandoned after the bootout.
    let print = mac.sb.launchctl(&["print", &mac.target()]);
    let print = String::from_utf8_lossy(&print.stdout);
    assert!(print.contains("OLLAMA_NUM_PARALLEL => 2"), "{print}");
    assert!(mac.http("GET", "/api/version", "").contains("version"));
    mac.sb.clear_fault("launchctl-delay-ms");
    mac.apply().success();
    mac.assert_converged();
}

/// A `launchctl` that hangs, and takes 500 ms to exit on SIGTERM (as a program cleaning up): its
/// own shell script, copied in by `cp` (a file this multi-threaded test process opened for writing
/// could leak into a concurrently forked child and make exec'ing it fail with ETXTBSY).
fn slow_to_stop_launchctl(mac: &Mac) {
    let script = mac.sb.root().join("slow-launchctl.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ntrap 'sleep 0.5; exit 143' TERM\nsleep 30 &\nwait\n",
    )
    .unwrap();
    let launchctl = mac.sb.bin_dir().join("launchctl");
    let status = Command::new("cp")
        .arg(&script)
        .arg(&launchctl)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_while_observing_exits_1_and_leaves_no_program_running() {
    let mac = Mac::new();
    slow_to_stop_launchctl(&mac);
    let child = mac.spawn(&["apply", "--yes"]);
    let bin = mac.sb.bin_dir();
    assert!(wait_for_process(&bin, "launchctl"));
    signal(&child, rustix::process::Signal::TERM);
    Run::finish(child)
        .code(1)
        .says("interrupted (SIGTERM) while observing: nothing was changed");
    assert_eq!(mac.mutations(), Vec::<String>::new());
    // The probes ssollama started were stopped, and waited for, before it exited: none runs the
    // moment it is gone, not even one slow to stop (no grace period here: an exit that only
    // signals them fails this).
    assert!(
        !still_running(&bin, "launchctl"),
        "a launchctl probe outlived ssollama"
    );
}

/// Whether a process whose command line names `dir` and `needle` runs now (a zombie has none).
fn still_running(dir: &Path, needle: &str) -> bool {
    let dir = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|raw| {
                let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                line.contains(&dir) && line.contains(needle) && !line.contains("__supervise")
            })
        })
}

// ---------------------------------------------------------------------------------------------
// Root: links and files planted by another uid

const OTHER: u32 = 501;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs `program args` as uid 501 (a user who could plant files in their own home).
fn as_other(program: &str, args: &[&str]) {
    let status = Command::new("setpriv")
        .args([
            &format!("--reuid={OTHER}"),
            "--regid=20",
            "--clear-groups",
            program,
        ])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "{program} {args:?} as {OTHER}");
}

fn chown_other(path: &Path) {
    rustix::fs::chown(
        path,
        Some(rustix::fs::Uid::from_raw(OTHER)),
        Some(rustix::fs::Gid::from_raw(20)),
    )
    .unwrap();
}

#[test]
fn root_refuses_a_launch_agents_link_planted_by_a_user() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mac = Mac::new();
    let library = mac.sb.home().join("Library");
    std::fs::create_dir_all(&library).unwrap();
    chown_other(&library);
    // Where the user wants root to write: a directory of root's.
    let target = mac.sb.root().join("root-only");
    std::fs::create_dir_all(&target).unwrap();
    as_other(
        "ln",
        &[
            "-s",
            target.to_str().unwrap(),
            mac.agents_dir().to_str().unwrap(),
        ],
    );
    mac.apply()
        .failure()
        .says("refusing to use `")
        .says("Library/LaunchAgents` as root: it is a symbolic link owned by uid 501");
    assert_eq!(
        std::fs::read_dir(&target).unwrap().count(),
        0,
        "nothing written through the link"
    );
}

#[test]
fn root_never_quotes_a_log_that_is_a_planted_link() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mac = Mac::new();
    let secret = mac.sb.root().join("secret");
    std::fs::write(&secret, "TOPSECRET-LINE\n").unwrap();
    std::fs::create_dir_all(mac.logs_dir()).unwrap();
    chown_other(&mac.logs_dir());
    let stderr = mac.logs_dir().join("ollama.stderr.log");
    as_other(
        "ln",
        &["-s", secret.to_str().unwrap(), stderr.to_str().unwrap()],
    );
    mac.sb.set_fault("ollama-never-ready", "1");
    mac.run(&["apply", "--yes", "--ready-timeout", "2"])
        .failure()
        .says("Ollama did not answer")
        .never_says("TOPSECRET");
}

#[test]
fn a_temp_file_left_by_a_killed_write_is_removed_by_the_next_run() {
    let mac = Mac::new();
    std::fs::create_dir_all(mac.agents_dir()).unwrap();
    // pid 4194303 is beyond any running process here: the run that wrote it is gone.
    let left = mac
        .agents_dir()
        .join(".com.ollama.plist.ssollama-4194303.tmp");
    std::fs::write(&left, "<?xml half").unwrap();
    mac.apply().success();
    assert!(!left.exists());
    no_temp_files(&mac.agents_dir());
}

// ---------------------------------------------------------------------------------------------
// Never delete what is not ours

#[test]
fn destroy_logs_never_removes_a_device_or_a_links_target() {
    if !is_root() {
        eprintln!("skipped: needs root (mknod)");
        return;
    }
    let mac = Mac::new();
    // A null device of the test's own (never the machine's /dev/null).
    let device = mac.sb.root().join("null");
    let made = Command::new("mknod")
        .args([device.to_str().unwrap(), "c", "1", "3"])
        .status()
        .unwrap();
    assert!(made.success());
    let kept = mac.sb.root().join("precious.log");
    std::fs::write(&kept, "keep me").unwrap();
    let toml = std::fs::read_to_string(&mac.config).unwrap();
    let stdout = mac.logs_dir().join("ollama.stdout.log");
    let toml = toml.replace(stdout.to_str().unwrap(), device.to_str().unwrap());
    std::fs::write(&mac.config, toml).unwrap();
    mac.apply().success();
    // stderr becomes a link to a file that is not a log of the job.
    let stderr = mac.logs_dir().join("ollama.stderr.log");
    std::fs::remove_file(&stderr).unwrap();
    std::os::unix::fs::symlink(&kept, &stderr).unwrap();
    mac.run(&["destroy", "--yes", "--logs"])
        .success()
        .never_says("remove_logs")
        .never_says("delete logs");
    let meta = std::fs::symlink_metadata(&device).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &meta.file_type()
    ));
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "keep me");
}

// ---------------------------------------------------------------------------------------------
// Runs never interleave

#[test]
fn deleting_the_lock_file_does_not_let_a_second_run_in() {
    let mac = Mac::new();
    mac.sb.set_fault("networksetup-delay-ms", "1500");
    let first = mac.spawn(&["apply", "--yes", "--ready-timeout", "10"]);
    assert!(wait_for_process(&mac.sb.mac_dir(), "networksetup"));
    let lock = mac.sb.home().join("Library/Caches/ssollama/lock");
    std::fs::remove_file(&lock).unwrap();
    // The holder's pid was in the deleted file: `?` now, but the run is refused all the same.
    mac.apply().failure().says("is working on this Mac");
    Run::finish(first).success();
}

/// Two users' agents on one Mac: different HOMEs, so different per-user locks; the Mac-wide lock
/// (in the simulated Mac's tool directory) refuses the second run, naming the holder, before it
/// creates anything; deleting that lock file lets no one in either (its directory is locked).
#[test]
fn two_users_applies_on_one_mac_never_interleave() {
    let mac = Mac::new();
    mac.sb.set_fault("networksetup-delay-ms", "1500");
    let first = mac.spawn(&["apply", "--yes", "--ready-timeout", "10"]);
    assert!(wait_for_process(&mac.sb.mac_dir(), "networksetup"));
    let home = mac.sb.root().join("other-home");
    std::fs::create_dir(&home).unwrap();
    let second = || -> Run {
        mac.command(&["apply", "--yes"])
            .env("HOME", &home)
            .output()
            .unwrap()
            .into()
    };
    let lock = mac.sb.bin_dir().join("ssollama.lock");
    second()
        .failure()
        .says(&format!(
            "another ssollama (pid {}) is working on this Mac",
            first.id()
        ))
        .says(&lock.display().to_string());
    std::fs::remove_file(&lock).unwrap();
    second().failure().says("is working on this Mac");
    assert!(
        !home.join("Library").exists(),
        "the refused run created its lock under its HOME"
    );
    Run::finish(first).success();
    mac.assert_converged();
}

#[test]
fn a_check_with_a_lock_timeout_waits_for_the_apply() {
    let mac = Mac::new();
    mac.sb.set_fault("networksetup-delay-ms", "800");
    let first = mac.spawn(&["apply", "--yes", "--ready-timeout", "10"]);
    assert!(wait_for_process(&mac.sb.mac_dir(), "networksetup"));
    let check = mac.run(&["check", "--lock-timeout", "1m"]);
    // The apply's own outcome first: a check that waited for a failed apply sees drift.
    Run::finish(first).success();
    check.success();
    mac.run(&["check", "--lock-timeout", "soon"])
        .failure()
        .says("--lock-timeout");
}

#[test]
fn root_runs_a_user_writable_ollama_as_its_owner() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mac = Mac::new();
    chown_other(&mac.sb.ollama_path());
    let run = mac.run(&["observe", "--json"]);
    run.success();
    let version = &run.json()["program"]["version"];
    assert_eq!(version["status"], "known", "{version}");
    let calls = mac.sb.journal();
    let sudo = calls
        .iter()
        .find(|c| c.tool == "sudo" && c.args.iter().any(|a| a == "--version"))
        .unwrap_or_else(|| panic!("`ollama --version` did not go through sudo: {calls:?}"));
    assert_eq!(sudo.args[..3], ["-n", "-u", "#501"]);
}

/// Homebrew's `brew` is a user's script: as root, `brew --prefix ollama` (looking for the
/// program) and `brew install ollama` run as its owner, never as root.
#[test]
fn root_runs_a_user_owned_brew_as_its_owner() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mac = Mac::new();
    mac.sb.remove_ollama();
    chown_other(&mac.sb.bin_dir().join("brew"));
    let as_owner = |verb: &str| {
        let calls = mac.sb.journal();
        let sudo = calls
            .iter()
            .find(|c| c.tool == "sudo" && c.args.iter().any(|a| a == verb))
            .unwrap_or_else(|| panic!("`brew {verb}` did not go through sudo: {calls:?}"));
        assert_eq!(sudo.args[..3], ["-n", "-u", "#501"], "{sudo:?}");
    };
    mac.run(&["observe", "--json"]).success();
    as_owner("--prefix");
    mac.sb.clear_journal();
    mac.apply()
        .success()
        .says("done     install ollama.program");
    as_owner("install");
}

/// `sudo ssollama apply` of an agent whose log directory is outside the user's HOME (the
/// sandbox's `logs/`, missing): refused before any change, naming the directory and what to do;
/// nothing is created as root. Once the user made it, apply goes on.
#[test]
fn root_never_creates_a_log_directory_outside_the_sudo_users_home() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mac = Mac::new();
    // uid 501 is logged in at the console (its `gui/501` domain exists) and ran sudo.
    mac.sb.update_machine(|m| m.uid = OTHER);
    let logs = mac.logs_dir();
    assert!(!logs.exists());
    let sudo_apply = || -> Run {
        mac.command(&["apply", "--yes", "--ready-timeout", "10"])
            .env("SUDO_UID", OTHER.to_string())
            .env("SUDO_USER", "other")
            .output()
            .unwrap()
            .into()
    };
    sudo_apply()
        .failure()
        .says(&format!("refusing to create `{}` as root", logs.display()))
        .says(&format!(
            "create it yourself (`mkdir -p {}`)",
            logs.display()
        ))
        .says("nothing was changed");
    assert_eq!(mac.mutations(), Vec::<String>::new());
    assert!(!logs.exists(), "the log directory was created as root");
    // Once the directory exists (made by the user), the sudo apply goes on and converges.
    std::fs::create_dir(&logs).unwrap();
    sudo_apply().success().never_says("refusing to create");
}

#[test]
fn root_refuses_a_home_that_is_not_the_sudo_users() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let mac = Mac::new();
    // `sudo -H` or a HOME of someone else: uid 502's directory, while uid 501 ran sudo.
    rustix::fs::chown(
        mac.sb.home(),
        Some(rustix::fs::Uid::from_raw(502)),
        Some(rustix::fs::Gid::from_raw(20)),
    )
    .unwrap();
    let run: Run = mac
        .command(&["apply", "--yes"])
        .env("SUDO_UID", OTHER.to_string())
        .output()
        .unwrap()
        .into();
    run.failure()
        .says("refusing to work on the user's agent")
        .says("belongs to uid 502");
    assert_eq!(mac.mutations(), Vec::<String>::new());
    assert!(
        !mac.sb.home().join("Library").exists(),
        "nothing created under the wrong HOME"
    );
}
