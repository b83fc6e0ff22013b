//! The `service` checks: the launchd job, the process, the port, HTTP.

use super::replies::need_status;
use super::{Check, Found, Judge, fail, skip};
use crate::model::Knowable;
use crate::model::observed::JobStatus;
use crate::verify::{Group, Probe};

pub(super) fn checks(j: &mut Judge<'_>) {
    let target = j.facts.target.clone();
    let plist = crate::verify::plist_path(j.desired, j.facts);
    let check = Check {
        group: Group::Service,
        id: "job_loaded",
        name: "launchd job is loaded",
    };
    let expected = format!("`{target}` loaded");
    let found = match &j.facts.observed.job {
        Knowable::Known(JobStatus::Loaded(job)) => Found::Pass(format!(
            "loaded (state = {})",
            job.state.as_deref().unwrap_or("unknown")
        )),
        Knowable::Known(JobStatus::NotLoaded) => fail(
            "not loaded",
            format!(
                "run `ssollama apply`, or `launchctl bootstrap {} {}`",
                target.domain,
                plist.display()
            ),
        ),
        Knowable::Unknown { reason } => fail(
            format!("unknown: {reason}"),
            "run `ssollama observe` to see what launchctl says",
        ),
    };
    j.push(check, &expected, found, None);

    let check = Check {
        group: Group::Service,
        id: "process",
        name: "Ollama process is running",
    };
    let found = match j.loaded() {
        None => skip("the job is not loaded", "fix `service.job_loaded` first"),
        Some(job) => match (job.state.as_deref(), job.pid) {
            (Some("running"), Some(pid)) => {
                let user = match &j.facts.processes {
                    Knowable::Known(list) => list
                        .iter()
                        .find(|p| p.pid == pid)
                        .map_or_else(|| "not in `ps`".to_owned(), |p| p.user.clone()),
                    Knowable::Unknown { reason } => format!("unknown ({reason})"),
                };
                Found::Pass(format!("pid {pid}, user {user}"))
            }
            (state, _) => {
                let exit = job
                    .last_exit_text()
                    .map_or_else(String::new, |e| format!(", last exit: {e}"));
                fail(
                    format!("state = {}{exit}", state.unwrap_or("unknown")),
                    format!(
                        "see the log `{}`; `ssollama apply` restarts it",
                        j.stderr_log()
                    ),
                )
            }
        },
    };
    j.push(check, "state = running, with a pid", found, None);

    let port = j.desired.listen.port;
    let name = format!("Ollama listens on port {port}");
    let check = Check {
        group: Group::Service,
        id: "port",
        name: &name,
    };
    let found = match (j.job_listeners(), &j.facts.listeners) {
        (_, Knowable::Unknown { reason }) => fail(
            format!("unknown: {reason}"),
            "run `lsof -nP -iTCP -sTCP:LISTEN` to see who listens",
        ),
        (Some(mine), _) if !mine.is_empty() => Found::Pass(
            mine.iter()
                .map(|l| format!("{} (pid {})", l.address, l.pid))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (_, Knowable::Known(all)) => {
            let others: Vec<String> = all
                .iter()
                .filter(|l| l.port() == Some(port))
                .map(|l| format!("`{}` (pid {}) on {}", l.command, l.pid, l.address))
                .collect();
            if others.is_empty() && j.loaded().and_then(|job| job.pid).is_none() {
                skip("the job is not running", "fix `service.process` first")
            } else if others.is_empty() {
                fail(
                    format!("nothing listens on port {port}"),
                    format!("see the log `{}`", j.stderr_log()),
                )
            } else {
                fail(
                    format!("only other processes listen: {}", others.join(", ")),
                    "stop them, or change `listen.port`; `ssollama plan` lists conflicts",
                )
            }
        }
    };
    j.push(check, "a socket of the job in LISTEN", found, None);

    let name = format!("HTTP answers at {}", j.facts.url);
    let check = Check {
        group: Group::Service,
        id: "http",
        name: &name,
    };
    j.http(
        check,
        Probe::Root,
        "HTTP 200 `Ollama is running`",
        |status, _, body| {
            need_status(status, 200)?;
            if body.trim() == "Ollama is running" {
                Ok("HTTP 200 `Ollama is running`".to_owned())
            } else {
                Err("another server answers".to_owned())
            }
        },
    );
}
