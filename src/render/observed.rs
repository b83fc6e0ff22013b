//! The observation as text: what `ssollama observe` prints without `--json`. Pure.

use std::fmt::Write as _;

use crate::model::Knowable;
use crate::model::observed::{Conflict, JobStatus, Observed, PlistFile, ServerStatus};

fn knowable<T>(value: &Knowable<T>, show: impl Fn(&T) -> String) -> String {
    match value {
        Knowable::Known(v) => show(v),
        Knowable::Unknown { reason } => format!("unknown ({reason})"),
    }
}

fn opt<T: std::fmt::Display>(value: Option<&T>) -> String {
    value.map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// One screen describing the observation, section by section; no colour needed to read it.
pub(crate) fn observed_text(observed: &Observed) -> String {
    let mut out = String::new();
    let host = &observed.host;
    let _ = writeln!(
        out,
        "host      uid {}, home {}, macOS {}",
        host.uid,
        host.home.display(),
        knowable(&host.os_version, Clone::clone)
    );
    let plist = match &observed.plist {
        PlistFile::Absent { path } => format!("{} (absent)", path.display()),
        PlistFile::Present {
            path, owner, mode, ..
        } => format!("{} (owner uid {owner}, mode {mode:o})", path.display()),
        PlistFile::Unreadable { path, reason } => {
            format!("{} (unreadable: {reason})", path.display())
        }
    };
    let _ = writeln!(out, "plist     {plist}");
    let job = knowable(&observed.job, |job| match job {
        JobStatus::NotLoaded => "not loaded".to_owned(),
        JobStatus::Loaded(job) => {
            let exit = job.last_exit_text().unwrap_or_else(|| "-".to_owned());
            format!(
                "loaded, state {}, pid {}, last exit {exit}, OLLAMA_HOST {}",
                opt(job.state.as_ref()),
                opt(job.pid.as_ref()),
                opt(job.environment.get("OLLAMA_HOST"))
            )
        }
    });
    let _ = writeln!(out, "job       {job}");
    if let Some(network) = &observed.network {
        let text = knowable(network, |n| {
            let info = match &n.info {
                None => "service does not exist".to_owned(),
                Some(info) => knowable(info, |i| {
                    format!(
                        "{} {} mask {} router {}",
                        i.method.label(),
                        opt(i.address.as_ref()),
                        opt(i.subnet_mask.as_ref()),
                        opt(i.router.as_ref())
                    )
                }),
            };
            let dns = n.dns.as_ref().map_or_else(String::new, |d| {
                format!(
                    ", dns {}",
                    knowable(d, |d| if d.is_empty() {
                        "none".to_owned()
                    } else {
                        d.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                )
            });
            format!("{info}{dns}")
        });
        let _ = writeln!(out, "network   {text}");
    }
    let server = match &observed.ollama.server {
        ServerStatus::Down { reason } => format!("down ({reason})"),
        ServerStatus::Up { version, .. } => format!("up, version {version}"),
    };
    let _ = writeln!(out, "ollama    {} {server}", observed.ollama.url);
    if let ServerStatus::Up { models, loaded, .. } = &observed.ollama.server {
        let _ = writeln!(
            out,
            "models    {}",
            knowable(models, |m| if m.is_empty() {
                "none installed".to_owned()
            } else {
                m.iter()
                    .map(|m| m.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        );
        let _ = writeln!(
            out,
            "loaded    {}",
            knowable(loaded, |m| if m.is_empty() {
                "none".to_owned()
            } else {
                m.iter()
                    .map(|m| format!("{} (until {})", m.name, m.expires_at))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        );
    }
    let program = match &observed.program.path {
        Some(path) => format!(
            "{} ({})",
            path.display(),
            knowable(&observed.program.version, Clone::clone)
        ),
        None => "not found".to_owned(),
    };
    let _ = writeln!(out, "program   {program}");
    for log in &observed.logs {
        let state = log.meta.map_or_else(
            || "absent".to_owned(),
            |m| format!("owner uid {}, mode {:o}", m.owner, m.mode),
        );
        let _ = writeln!(out, "log       {} ({state})", log.path.display());
    }
    let conflicts = knowable(&observed.conflicts, |c| {
        if c.is_empty() {
            "none".to_owned()
        } else {
            c.iter()
                .map(|c| match c {
                    Conflict::OllamaAppRunning { pid } => format!("Ollama.app running (pid {pid})"),
                    Conflict::HomebrewServiceLoaded { target } => format!("{target} loaded"),
                    Conflict::PortTaken {
                        pid,
                        command,
                        address,
                    } => format!("{command} (pid {pid}) listens on {address}"),
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
    });
    let _ = writeln!(out, "conflicts {conflicts}");
    out
}
