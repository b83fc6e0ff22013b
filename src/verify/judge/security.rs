//! The `security` checks: who the server runs as, the logs' and the plist's owners and modes,
//! the bind the loaded job was given.

use super::{Check, Found, Judge, fail, skip};
use crate::model::Knowable;
use crate::model::desired::Mode;
use crate::model::observed::PlistFile;
use crate::model::plist_rule::others_may_write;
use crate::verify::Group;

/// Whether the mode bits let `uid` read a file of `owner` (group bits are not considered).
fn readable(uid: u32, owner: u32, mode: u32) -> bool {
    uid == 0 || (owner == uid && mode & 0o400 != 0) || mode & 0o004 != 0
}

pub(super) fn checks(j: &mut Judge<'_>) {
    let g = Group::Security;
    let (expected, wanted_user) = match &j.desired.service.mode {
        Mode::Agent => ("a user other than root".to_owned(), None),
        Mode::Daemon { user } => (format!("user {user}"), Some(user.clone())),
    };
    let check = Check {
        group: g,
        id: "process_user",
        name: "Ollama does not run as root",
    };
    let pid = j
        .loaded()
        .filter(|job| job.state.as_deref() == Some("running"))
        .and_then(|job| job.pid);
    let found = match (pid, &j.facts.processes) {
        (None, _) => skip("the job is not running", "fix `service.process` first"),
        (Some(_), Knowable::Unknown { reason }) => {
            fail(format!("unknown: {reason}"), "run `ps -axo pid,user,comm`")
        }
        (Some(pid), Knowable::Known(list)) => match list.iter().find(|p| p.pid == pid) {
            None => fail(
                format!("pid {pid} is not in `ps`"),
                "run `ssollama verify` again; the server may be restarting",
            ),
            Some(p) if p.user == "root" => fail(
                format!("root (pid {pid})"),
                "a server running as root exposes root to the network and keeps its models in root's home; use mode = \"agent\", or a daemon with `service.user`, and `ssollama apply`",
            ),
            Some(p) if wanted_user.as_ref().is_some_and(|u| *u != p.user) => fail(
                format!("{} (pid {pid})", p.user),
                "the loaded job runs as another user than `service.user`: `ssollama apply` reloads it",
            ),
            Some(p) => Found::Pass(format!("{} (pid {pid})", p.user)),
        },
    };
    j.push(check, &expected, found, None);

    let check = Check {
        group: g,
        id: "logs",
        name: "log files exist and are readable",
    };
    let uid = j.facts.observed.host.uid;
    let mut problems = Vec::new();
    let mut fine = Vec::new();
    for log in &j.facts.observed.logs {
        match log.meta {
            None => problems.push(format!("`{}` does not exist", log.path.display())),
            Some(meta) if !readable(uid, meta.owner, meta.mode) => problems.push(format!(
                "`{}` is not readable (owner uid {}, mode {:o})",
                log.path.display(),
                meta.owner,
                meta.mode
            )),
            Some(_) => fine.push(format!("`{}`", log.path.display())),
        }
    }
    fine.dedup();
    let found = if problems.is_empty() {
        Found::Pass(fine.join(", "))
    } else {
        fail(
            problems.join("; "),
            "launchd creates them when the job starts: is it running? Check `[logs]` and the directories' permissions",
        )
    };
    j.push(check, "both log files, readable by you", found, None);

    let owner = j.desired.service.mode.plist_owner(uid);
    let check = Check {
        group: g,
        id: "plist",
        name: "plist is yours and not writable by others",
    };
    let expected = format!("owner uid {owner}, not group- or world-writable");
    let found = match &j.facts.observed.plist {
        PlistFile::Absent { path } => fail(
            format!("`{}` does not exist", path.display()),
            "run `ssollama apply`",
        ),
        PlistFile::Unreadable { path, reason } => fail(
            format!("`{}` cannot be read: {reason}", path.display()),
            "check its permissions",
        ),
        PlistFile::Present {
            owner: file_owner,
            mode,
            ..
        } => {
            if *file_owner != owner {
                fail(
                    format!("owner uid {file_owner}, mode {mode:o}"),
                    "launchd refuses it; `ssollama apply` rewrites it with the right owner",
                )
            } else if others_may_write(*mode) {
                fail(
                    format!("owner uid {file_owner}, mode {mode:o}"),
                    "launchd refuses it; `ssollama apply` rewrites it with mode 644",
                )
            } else {
                Found::Pass(format!("owner uid {file_owner}, mode {mode:o}"))
            }
        }
    };
    j.push(check, &expected, found, None);

    let host = j.desired.listen.ollama_host();
    let name = format!("loaded OLLAMA_HOST is {host}");
    let check = Check {
        group: g,
        id: "ollama_host",
        name: &name,
    };
    let found = match j.loaded() {
        None => skip("the job is not loaded", "fix `service.job_loaded` first"),
        Some(job) => match job.environment.get("OLLAMA_HOST") {
            // Another spelling of the same bind (`192.168.250.20` for `…:11434`) passes.
            Some(value) if crate::ollama::env::same_meaning("OLLAMA_HOST", value, &host) => {
                Found::Pass(value.clone())
            }
            Some(value) => fail(
                value.clone(),
                "the loaded job binds elsewhere: `ssollama apply` rewrites and reloads it",
            ),
            None => fail(
                "not set (Ollama binds 127.0.0.1:11434)",
                "`ssollama apply` rewrites and reloads the job",
            ),
        },
    };
    j.push(check, &host, found, None);
}
