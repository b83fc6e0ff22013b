//! `launchctl print` as real Macs print it (docs/macos.md §1), through the real binary
//! against the simulated Mac: the macOS 27 layout with nested blocks (`faults/print-style`),
//! `spawn failed` with its exit, and the "Could not find service" text on stdout
//! (`faults/not-found-on-stdout`).

use super::support::{Mac, wait_until};

fn converged() -> Mac {
    let mac = Mac::new();
    mac.converge_by_hand();
    mac.assert_converged();
    mac
}

#[test]
fn a_converged_mac_printing_nested_blocks_is_still_converged() {
    let mac = converged();
    mac.sb.set_fault("print-style", "macos27");
    let print = mac.sb.launchctl(&["print", &mac.target()]);
    let text = String::from_utf8_lossy(&print.stdout).into_owned();
    // The fake really prints the nested blocks (and their `state = active` lines).
    assert!(text.contains("\tLWCR = {\n\t\t\"reqs\" => {"), "{text}");
    assert!(
        text.contains("\tevent triggers = {\n\t\tcom.ollama.268435472 => {"),
        "{text}"
    );
    assert!(text.contains("\t\tstate = active\n"), "{text}");
    mac.assert_converged();
    mac.run(&["plan"])
        .success()
        .says("No changes.")
        .never_says("unknown");
    let doc = mac.run(&["status", "--json"]).json();
    assert_eq!(doc["service"]["job"]["status"], "running");
    assert!(doc["service"]["job"]["pid"].is_u64(), "{doc:#}");
    assert_eq!(doc["service"]["job"]["job_state"], "running");
    assert_eq!(doc["listen"]["declared"], doc["listen"]["loaded"]);
    mac.run(&["status"])
        .success()
        .says("(loaded)")
        .never_says("not loaded")
        .never_says("unknown");
}

#[test]
fn a_job_whose_spawn_failed_says_why_in_plan_and_status() {
    let mac = converged();
    mac.sb.set_fault("print-style", "macos27");
    // The log directory is gone when launchd loads the job again: every spawn fails with
    // EX_CONFIG and is rescheduled.
    mac.boot_out();
    std::fs::remove_dir_all(mac.logs_dir()).unwrap();
    let out = mac.sb.launchctl(&[
        "bootstrap",
        &format!("gui/{}", mac.sb.machine().uid),
        mac.plist().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let target = mac.target();
    wait_until("the spawn fails", || {
        String::from_utf8_lossy(&mac.sb.launchctl(&["print", &target]).stdout)
            .contains("\tjob state = spawn failed\n")
    });
    mac.run(&["plan"])
        .success()
        .says("78: EX_CONFIG, job state = spawn failed")
        .never_says("could not read");
    let doc = mac.run(&["status", "--json"]).json();
    assert_eq!(doc["service"]["job"]["status"], "not_running");
    assert_eq!(doc["service"]["job"]["job_state"], "spawn failed");
    assert_eq!(
        doc["service"]["job"]["last_exit"],
        "78: EX_CONFIG, job state = spawn failed"
    );
    mac.run(&["status"])
        .success()
        .says("last exit: 78: EX_CONFIG, job state = spawn failed");
}

#[test]
fn not_found_on_stdout_is_not_loaded() {
    let mac = converged();
    mac.sb.set_fault("not-found-on-stdout", "1");
    mac.boot_out();
    let print = mac.sb.launchctl(&["print", &mac.target()]);
    assert_eq!(print.status.code(), Some(113));
    assert!(print.stderr.is_empty());
    assert!(String::from_utf8_lossy(&print.stdout).contains("Could not find service"));
    let doc = mac.run(&["status", "--json"]).json();
    assert_eq!(doc["service"]["job"]["status"], "not_loaded");
    mac.run(&["status"]).success().says("declared, not loaded");
    let planned = mac.planned();
    assert!(
        planned.iter().any(|line| line.ends_with(" launchd.job")),
        "{planned:?}"
    );
    mac.run(&["check"])
        .says("drift: launchd.job: job is not loaded")
        .never_says("unknown: launchd.job");
}

#[test]
fn an_unreadable_print_is_unknown_in_the_status_bind_row() {
    let mac = converged();
    mac.sb.set_fault("print-garbage", "1");
    mac.run(&["status"])
        .success()
        .says("declared, loaded bind unknown (the job is unknown)")
        .never_says("not loaded");
}
