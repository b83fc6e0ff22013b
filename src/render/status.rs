//! `ssollama status`: the one-screen summary of the server, from one [`Observed`].
//!
//! Pure: [`document`] turns `server.toml`, an observation and the current time (passed in, so
//! the output is reproducible) into the stable `status --json` document; [`text`] renders that
//! document for people. Sizes and expiry times are shown the way `ollama list`/`ollama ps` show
//! them (docs/ollama.md §5): `4.7 GB`, `4 minutes from now`, `Forever`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value as Json, json};

use super::{column_table, human_bytes};
use crate::capacity::{self, gib};
use crate::launchd::domain;
use crate::model::desired::{Desired, Mode};
use crate::model::observed::{Conflict, JobStatus, PlistFile, ServerStatus};
use crate::model::{Knowable, Observed};
use crate::ollama::name::ModelName;
use crate::text::home_path;

/// `HumanDuration` as Ollama's `format.HumanTime` uses it.
pub(crate) fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0 => return "Less than a second".to_owned(),
        1 => return "1 second".to_owned(),
        2..60 => return format!("{seconds} seconds"),
        _ => {}
    }
    let minutes = seconds / 60;
    match minutes {
        1 => return "About a minute".to_owned(),
        2..60 => return format!("{minutes} minutes"),
        _ => {}
    }
    let hours = (seconds + 1800) / 3600;
    match hours {
        1 => "About an hour".to_owned(),
        2..48 => format!("{hours} hours"),
        48..336 => format!("{} days", hours / 24),
        336..1440 => format!("{} weeks", hours / 24 / 7),
        1440..17520 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

/// Beyond this many seconds ahead an expiry is "forever" (`keep_alive` -1 makes it ~292 years).
const FOREVER_SECONDS: i64 = 20 * 365 * 24 * 3600;

/// Whether a loaded model's `expires_at` means it stays loaded forever (`keep_alive` -1): more
/// than 20 years after `now`, where `ollama ps` shows `Forever`. An unreadable time is not forever.
#[must_use]
pub(crate) fn is_forever(expires_at: &str, now: i64) -> bool {
    parse_rfc3339(expires_at).is_some_and(|at| at - now > FOREVER_SECONDS)
}

/// `ollama ps`'s UNTIL column: `Forever` beyond 20 years, `Stopping...` when already past,
/// else `<duration> from now`.
pub(crate) fn until(expires_at: &str, now: i64) -> String {
    let Some(at) = parse_rfc3339(expires_at) else {
        return expires_at.to_owned();
    };
    let left = at - now;
    if left < 0 {
        "Stopping...".to_owned()
    } else if is_forever(expires_at, now) {
        "Forever".to_owned()
    } else {
        format!("{} from now", human_duration(left))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of an RFC 3339 time as Ollama writes it (`2318-04-12T23:47:16.854775807Z`,
/// `2025-05-10T08:06:48.639712648-07:00`); fractions are dropped.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let number = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    let zone_at = time.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = time.split_at(zone_at);
    let clock = clock.split_once('.').map_or(clock, |(c, _)| c);
    let mut hms = clock.splitn(3, ':');
    let (hour, minute, second) = (
        number(hms.next()?)?,
        number(hms.next()?)?,
        number(hms.next()?)?,
    );
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            sign * (number(h)? * 3600 + number(m)? * 60)
        }
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn conflict(conflict: &Conflict) -> String {
    match conflict {
        Conflict::OllamaAppRunning { pid } => format!("Ollama.app is running (pid {pid})"),
        Conflict::HomebrewServiceLoaded { target } => {
            format!("Homebrew's service is loaded (`{target}`)")
        }
        Conflict::PortTaken {
            pid,
            command,
            address,
        } => format!("`{command}` (pid {pid}) listens on {address}"),
    }
}

/// The version in the first line `ollama --version` printed (`ollama version is 0.12.6`, or
/// `Warning: client version is 0.12.6` when no server answered it); `None` for the warning that
/// says only that no server answered.
fn program_version(line: &str) -> Option<String> {
    ["ollama version is ", "Warning: client version is "]
        .iter()
        .find_map(|prefix| line.strip_prefix(prefix))
        .map(|v| v.trim().to_owned())
}

/// The `status --json` document (specs/verify.md, "status").
pub(crate) fn document(desired: &Desired, observed: &Observed, now: i64) -> Json {
    let target = format!(
        "{}/{}",
        domain::domain_for(&desired.service.mode, observed.host.uid),
        desired.service.label
    );
    let plist = match &observed.plist {
        PlistFile::Absent { path } => json!({ "path": path, "status": "absent" }),
        PlistFile::Present {
            path, owner, mode, ..
        } => {
            json!({ "path": path, "status": "present", "owner": owner, "mode": format!("{mode:o}") })
        }
        PlistFile::Unreadable { path, reason } => {
            json!({ "path": path, "status": "unreadable", "reason": reason })
        }
    };
    let (job, loaded_host) = match &observed.job {
        Knowable::Known(JobStatus::NotLoaded) => (json!({ "status": "not_loaded" }), None),
        Knowable::Unknown { reason } => (json!({ "status": "unknown", "reason": reason }), None),
        Knowable::Known(JobStatus::Loaded(job)) => {
            let running = job.state.as_deref() == Some("running") && job.pid.is_some();
            (
                json!({
                    "status": if running { "running" } else { "not_running" },
                    "state": job.state,
                    "pid": job.pid,
                    "runs": job.runs,
                    "last_exit": job.last_exit_text(),
                    "last_exit_reason": job.last_exit_reason,
                    "job_state": job.job_state,
                }),
                job.environment.get("OLLAMA_HOST").cloned(),
            )
        }
    };
    let network = desired
        .network
        .as_ref()
        .map(|spec| match observed.network.as_ref() {
            Some(Knowable::Known(state)) => match &state.info {
                Some(Knowable::Known(info)) => {
                    json!({
                        "service": spec.service,
                        "status": "known",
                        "method": info.method.name(),
                        "address": info.address,
                        "subnet_mask": info.subnet_mask,
                        "router": info.router,
                        "dns": state.dns.as_ref().and_then(|d| d.known().cloned()),
                    })
                }
                Some(Knowable::Unknown { reason }) => {
                    json!({ "service": spec.service, "status": "unknown", "reason": reason })
                }
                None => json!({ "service": spec.service, "status": "missing" }),
            },
            Some(Knowable::Unknown { reason }) => {
                json!({ "service": spec.service, "status": "unknown", "reason": reason })
            }
            None => {
                json!({ "service": spec.service, "status": "unknown", "reason": "not observed" })
            }
        });
    let declared: Vec<&ModelName> = desired.models.iter().map(|m| &m.name).collect();
    let ollama = match &observed.ollama.server {
        ServerStatus::Down { reason } => {
            json!({ "url": observed.ollama.url, "status": "down", "reason": reason })
        }
        ServerStatus::Up {
            version,
            models,
            loaded,
            ..
        } => {
            let models = models.known().map(|list| {
                list.iter()
                    .map(|m| {
                        let is_declared =
                            ModelName::parse(&m.name).is_ok_and(|n| declared.contains(&&n));
                        json!({
                            "name": m.name,
                            "size": m.size,
                            "size_text": human_bytes(m.size),
                            "declared": is_declared,
                        })
                    })
                    .collect::<Vec<_>>()
            });
            let loaded = loaded.known().map(|list| {
                list.iter()
                    .map(|m| {
                        json!({
                            "name": m.name,
                            "size": m.size,
                            "size_text": human_bytes(m.size),
                            "expires_at": m.expires_at,
                            "until": until(&m.expires_at, now),
                        })
                    })
                    .collect::<Vec<_>>()
            });
            json!({
                "url": observed.ollama.url,
                "status": "up",
                "version": version,
                "models": models,
                "loaded": loaded,
            })
        }
    };
    let conflicts = observed
        .conflicts
        .known()
        .map(|list| list.iter().map(conflict).collect::<Vec<_>>());
    crate::render::json::versioned(json!({
        "service": {
            "label": desired.service.label,
            "mode": match &desired.service.mode { Mode::Agent => "agent", Mode::Daemon { .. } => "daemon" },
            "target": target,
            "plist": plist,
            "job": job,
        },
        "listen": { "declared": desired.listen.ollama_host(), "loaded": loaded_host },
        "network": network,
        "ollama": ollama,
        "program": {
            "path": observed.program.path,
            "version": observed.program.version.known().and_then(|v| program_version(v)),
        },
        "logs": observed.logs.iter().map(|l| json!({ "path": l.path, "exists": l.meta.is_some() })).collect::<Vec<_>>(),
        "conflicts": conflicts,
        "capacity": capacity(observed),
    }))
}

/// The loaded models (`/api/ps`: their `size_vram` and context) against the Metal limit
/// (`specs/capacity.md` §6); `null` when the limit or the loaded models are unknown.
fn capacity(observed: &Observed) -> Json {
    let Some(memory) = &observed.memory else {
        return Json::Null;
    };
    let (Some(limit), _) = capacity::limit_of(memory) else {
        return Json::Null;
    };
    let ServerStatus::Up {
        loaded: Knowable::Known(loaded),
        ..
    } = &observed.ollama.server
    else {
        return Json::Null;
    };
    let total = loaded
        .iter()
        .map(|m| m.size_vram)
        .fold(0, u64::saturating_add);
    json!({
        "limit": limit,
        "limit_text": limit.text(),
        "loaded": loaded.iter().map(|m| json!({
            "name": m.name,
            "size_vram": m.size_vram,
            "context_length": m.context_length,
        })).collect::<Vec<_>>(),
        "total": total,
        "fits": total <= limit.bytes,
    })
}

/// The memory table of the status screen: each loaded model's context and GPU memory, and
/// their sum against the limit.
fn capacity_text(capacity: &Json) -> String {
    let mut out = format!(
        "\nMemory: Metal lets Ollama use {}\n",
        capacity["limit_text"].as_str().unwrap_or("")
    );
    let loaded = capacity["loaded"].as_array().map_or(&[][..], Vec::as_slice);
    if !loaded.is_empty() {
        let mut rows = vec![vec![
            "LOADED".to_owned(),
            "CONTEXT".to_owned(),
            "GPU MEMORY".to_owned(),
        ]];
        for m in loaded {
            rows.push(vec![
                m["name"].as_str().unwrap_or("").to_owned(),
                m["context_length"]
                    .as_u64()
                    .map_or_else(|| "unknown".to_owned(), |c| c.to_string()),
                gib(m["size_vram"].as_u64().unwrap_or(0)),
            ]);
        }
        out.push_str(&column_table(&rows));
    }
    let total = capacity["total"].as_u64().unwrap_or(0);
    let limit = capacity["limit"]["bytes"].as_u64().unwrap_or(0);
    let verdict = if total <= limit {
        format!("{} free", gib(limit - total))
    } else {
        format!("over by {}", gib(total - limit))
    };
    let _ = writeln!(out, "  loaded {} of {} ({verdict})", gib(total), gib(limit));
    out
}

fn shown(path: &Json, home: &Path) -> String {
    home_path(Path::new(path.as_str().unwrap_or("")), Some(home))
}

/// The status screen, from [`document`]. `home` shortens paths to `~/…`.
pub(crate) fn text(doc: &Json, home: &Path) -> String {
    let service = &doc["service"];
    let job = &service["job"];
    let mut out = format!(
        "{} ({}, {})\n",
        service["label"].as_str().unwrap_or(""),
        service["mode"].as_str().unwrap_or(""),
        service["target"].as_str().unwrap_or("")
    );
    let mut rows: Vec<Vec<String>> = Vec::new();
    let job_text = match job["status"].as_str().unwrap_or("") {
        "running" => format!(
            "running, pid {}, last exit: {}",
            job["pid"],
            job["last_exit"].as_str().unwrap_or("unknown")
        ),
        "not_running" => format!(
            "loaded, not running (state = {}), last exit: {}",
            job["state"].as_str().unwrap_or("unknown"),
            job["last_exit"].as_str().unwrap_or("unknown")
        ),
        "not_loaded" => "not loaded".to_owned(),
        _ => format!("unknown ({})", job["reason"].as_str().unwrap_or("")),
    };
    rows.push(vec!["job".to_owned(), job_text]);
    let plist = &service["plist"];
    let plist_text = match plist["status"].as_str().unwrap_or("") {
        "present" => format!(
            "{} (owner uid {}, mode {})",
            shown(&plist["path"], home),
            plist["owner"],
            plist["mode"].as_str().unwrap_or("")
        ),
        "absent" => format!("{} (absent)", shown(&plist["path"], home)),
        _ => format!(
            "{} (unreadable: {})",
            shown(&plist["path"], home),
            plist["reason"].as_str().unwrap_or("")
        ),
    };
    rows.push(vec!["plist".to_owned(), plist_text]);
    let listen = &doc["listen"];
    let declared = listen["declared"].as_str().unwrap_or("");
    let bind = match listen["loaded"].as_str() {
        // Another spelling of the same bind (`192.168.250.20`) is no drift.
        Some(loaded) if crate::ollama::env::same_meaning("OLLAMA_HOST", loaded, declared) => {
            format!("{declared} (loaded)")
        }
        Some(loaded) => format!("{declared} declared, {loaded} loaded"),
        // What the job binds is known only when the job is: an unknown job (a print that
        // could not be read, no GUI session) is never "not loaded".
        None => match job["status"].as_str().unwrap_or("") {
            "not_loaded" => format!("{declared} declared, not loaded"),
            "running" | "not_running" => format!(
                "{declared} declared, the loaded job sets no OLLAMA_HOST (Ollama's default 127.0.0.1:11434)"
            ),
            _ => format!("{declared} declared, loaded bind unknown (the job is unknown)"),
        },
    };
    rows.push(vec!["bind".to_owned(), bind]);
    let network = &doc["network"];
    let network_text = if network.is_null() {
        "not managed".to_owned()
    } else {
        let service = network["service"].as_str().unwrap_or("");
        match network["status"].as_str().unwrap_or("") {
            "known" => {
                let dns = match network["dns"].as_array() {
                    Some(list) if list.is_empty() => ", DNS (none)".to_owned(),
                    Some(list) => format!(
                        ", DNS {}",
                        list.iter()
                            .filter_map(Json::as_str)
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    None => String::new(),
                };
                let addr = |key: &str| network[key].as_str().unwrap_or("none").to_owned();
                format!(
                    "{service}: {} {} mask {} router {}{dns}",
                    network["method"].as_str().unwrap_or(""),
                    addr("address"),
                    addr("subnet_mask"),
                    addr("router")
                )
            }
            "missing" => format!("{service}: no such network service"),
            _ => format!(
                "{service}: unknown ({})",
                network["reason"].as_str().unwrap_or("")
            ),
        }
    };
    rows.push(vec!["network".to_owned(), network_text]);
    let ollama = &doc["ollama"];
    let ollama_text = match ollama["status"].as_str().unwrap_or("") {
        "up" => format!(
            "up at {}, version {}",
            ollama["url"].as_str().unwrap_or(""),
            ollama["version"].as_str().unwrap_or("")
        ),
        _ => format!(
            "down at {} ({})",
            ollama["url"].as_str().unwrap_or(""),
            ollama["reason"].as_str().unwrap_or("")
        ),
    };
    rows.push(vec!["ollama".to_owned(), ollama_text]);
    let program = &doc["program"];
    let program_text = match program["path"].as_str() {
        Some(_) => match program["version"].as_str() {
            Some(version) => format!("{} (version {version})", shown(&program["path"], home)),
            None => shown(&program["path"], home),
        },
        None => "not found".to_owned(),
    };
    rows.push(vec!["program".to_owned(), program_text]);
    let mut logs: Vec<String> = doc["logs"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|l| {
                    let path = shown(&l["path"], home);
                    if l["exists"].as_bool() == Some(true) {
                        path
                    } else {
                        format!("{path} (absent)")
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    logs.dedup();
    rows.push(vec!["logs".to_owned(), logs.join(", ")]);
    let conflicts = match doc["conflicts"].as_array() {
        Some(list) if list.is_empty() => "none".to_owned(),
        Some(list) => list
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        None => "unknown".to_owned(),
    };
    rows.push(vec!["conflicts".to_owned(), conflicts]);
    out.push_str(&column_table(&rows));

    if ollama["status"] == "up" {
        let installed = ollama["models"].as_array();
        let loaded = ollama["loaded"].as_array();
        let count = |list: Option<&Vec<Json>>| {
            list.map_or_else(|| "unknown".to_owned(), |l| l.len().to_string())
        };
        let _ = write!(
            out,
            "\nModels: {} installed, {} loaded\n",
            count(installed),
            count(loaded)
        );
        if let Some(installed) = installed.filter(|l| !l.is_empty()) {
            let mut rows = vec![vec![
                "NAME".to_owned(),
                "SIZE".to_owned(),
                "DECLARED".to_owned(),
                "LOADED UNTIL".to_owned(),
            ]];
            for model in installed {
                let name = model["name"].as_str().unwrap_or("");
                let until = loaded
                    .and_then(|l| l.iter().find(|m| m["name"] == name))
                    .map_or_else(
                        || "-".to_owned(),
                        |m| m["until"].as_str().unwrap_or("").to_owned(),
                    );
                rows.push(vec![
                    name.to_owned(),
                    model["size_text"].as_str().unwrap_or("").to_owned(),
                    if model["declared"] == true {
                        "yes"
                    } else {
                        "no"
                    }
                    .to_owned(),
                    until,
                ]);
            }
            out.push_str(&column_table(&rows));
        }
    }
    if doc["capacity"].is_object() {
        out.push_str(&capacity_text(&doc["capacity"]));
    }
    out.push_str(&next_step(doc));
    out
}

/// The line that says how to start a job that is down (empty when it runs and answers).
fn next_step(doc: &Json) -> String {
    let target = doc["service"]["target"].as_str().unwrap_or("");
    match doc["service"]["job"]["status"].as_str().unwrap_or("") {
        "not_loaded" => "\nThe job is not loaded. Start it with `ssollama apply` (`ssollama plan` shows what that changes).\n".to_owned(),
        "not_running" => format!(
            "\nThe job is loaded but not running. Start it with `ssollama apply`, or `launchctl kickstart -k {target}`.\n"
        ),
        "running" if doc["ollama"]["status"] != "up" => {
            "\nThe job runs but Ollama does not answer. `ssollama plan` says why; `ssollama apply` restarts it.\n".to_owned()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::observed::LoadedJob;

    #[test]
    fn sizes_read_like_ollama_list() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1000), "1 KB");
        assert_eq!(human_bytes(4_661_224_676), "4.7 GB");
        assert_eq!(human_bytes(19_851_336_436), "19 GB");
        assert_eq!(human_bytes(2_019_393_189), "2.0 GB");
    }

    #[test]
    fn durations_read_like_ollama_ps() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(299), "4 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(24 * 3600), "24 hours");
        assert_eq!(human_duration(3 * 24 * 3600), "3 days");
    }

    #[test]
    fn expiry_is_forever_beyond_twenty_years_and_stopping_when_past() {
        let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(until("2318-04-12T23:47:16.854775807Z", now), "Forever");
        assert!(is_forever("2318-04-12T23:47:16.854775807Z", now));
        assert!(!is_forever("2025-05-10T08:11:48Z", now));
        assert!(!is_forever("not a time", now));
        assert_eq!(until("2026-01-01T00:04:30Z", now), "4 minutes from now");
        assert_eq!(until("2025-12-31T23:59:00Z", now), "Stopping...");
        assert_eq!(
            until("2025-12-31T16:04:30-08:00", now),
            "4 minutes from now"
        );
        assert_eq!(until("garbage", now), "garbage");
    }

    #[test]
    fn rfc3339_matches_known_unix_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            parse_rfc3339("2025-05-10T08:06:48.639712648-07:00"),
            Some(1_746_889_608)
        );
        assert_eq!(parse_rfc3339("2025-13-10T08:06:48Z"), None);
        assert_eq!(parse_rfc3339("x"), None);
    }

    /// The converged case's `server.toml` and observation.
    fn converged_case() -> (Desired, Observed) {
        let observed: Observed = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/cases/plan/converged/observed.json"
        )))
        .unwrap();
        let desired = crate::config::parse(
            "server.toml",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/it/cases/plan/converged/server.toml"
            )),
        )
        .unwrap()
        .desired;
        (desired, observed)
    }

    /// The `bind` row of `status` for the converged case with its job replaced by `job`.
    fn bind_row(job: Knowable<JobStatus>) -> String {
        let (desired, mut observed) = converged_case();
        observed.job = job;
        let doc = document(&desired, &observed, 0);
        let shown = text(&doc, Path::new("/Users/tester"));
        shown
            .lines()
            .find_map(|line| line.trim_start().strip_prefix("bind"))
            .unwrap()
            .trim()
            .to_owned()
    }

    #[test]
    fn the_bind_row_says_unknown_for_an_unknown_job_never_not_loaded() {
        let unknown = bind_row(Knowable::unknown("could not read `launchctl print`"));
        assert!(
            unknown.ends_with("declared, loaded bind unknown (the job is unknown)"),
            "{unknown}"
        );
        assert!(!unknown.contains("not loaded"), "{unknown}");
        let gone = bind_row(Knowable::Known(JobStatus::NotLoaded));
        assert!(gone.ends_with("declared, not loaded"), "{gone}");
        let bare = bind_row(Knowable::Known(JobStatus::Loaded(LoadedJob {
            state: Some("running".to_owned()),
            pid: Some(7),
            ..LoadedJob::default()
        })));
        assert!(
            bare.ends_with("the loaded job sets no OLLAMA_HOST (Ollama's default 127.0.0.1:11434)"),
            "{bare}"
        );
    }

    #[test]
    fn status_of_the_converged_case() {
        let (desired, observed) = converged_case();
        let now = parse_rfc3339("2026-11-26T10:00:00Z").unwrap();
        let doc = document(&desired, &observed, now);
        assert_eq!(doc["format_version"], "1");
        insta::assert_snapshot!(text(&doc, Path::new("/Users/tester")));
    }
}
