//! The fake `launchctl`: `print`, `print-disabled`, `bootstrap`, `bootout`, `enable`,
//! `disable`, `kickstart`, with the real texts and exit codes (docs/macos.md §1, §3) and real jobs
//! run by a detached [`supervisor`].
//!
//! Owns the command-line grammar and error texts; the job store is [`job`], the text layouts are
//! [`render`].

pub mod job;
pub mod render;
pub mod supervisor;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use job::{Definition, Domain, JobDir, Loaded, Status};

use crate::cli::{Ctx, Outcome};
use crate::state;

/// How long a fresh `bootout` keeps the job printable when `faults/bootout-linger-ms` is absent.
pub const DEFAULT_LINGER_MS: u64 = 300;
/// How long `bootstrap`/`kickstart` wait for the supervisor to spawn the job.
const SPAWN_WAIT: Duration = Duration::from_secs(3);

const USAGE_TAIL: &str = "<service-target> takes a form of <domain-target>/<service-id>.\n\
Please refer to `man launchctl` for explanation of the <domain-target> specifiers.\n";
const EIO_NONROOT: &str = "Bootstrap failed: 5: Input/output error\nTry re-running the command as root for richer errors.\n";

/// Runs `launchctl args…`.
pub fn launchctl(ctx: &Ctx, args: &[String]) -> Outcome {
    ctx.mac.inject_delay("launchctl-delay-ms");
    let Some((sub, rest)) = args.split_first() else {
        return Outcome::err(
            64,
            "Usage: launchctl <subcommand> ... | help [subcommand]\n",
        );
    };
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match sub.as_str() {
        "print" => print(ctx, &rest),
        "print-disabled" => print_disabled(ctx, &rest),
        "bootstrap" => ctx.mac.locked(|| bootstrap(ctx, &rest)).mutating(true),
        "bootout" => ctx.mac.locked(|| bootout(ctx, &rest)).mutating(true),
        "enable" => ctx.mac.locked(|| enable(ctx, &rest, false)).mutating(true),
        "disable" => ctx.mac.locked(|| enable(ctx, &rest, true)).mutating(true),
        "kickstart" => kickstart(ctx, &rest).mutating(true),
        "list" => list(ctx, &rest),
        "stop" => stop(ctx, &rest).mutating(true),
        other => Outcome::err(
            64,
            format!(
                "Unrecognized subcommand: {other}\nUsage: launchctl <subcommand> ... | help [subcommand]\n"
            ),
        ),
    }
}

fn usage(sub: &str, synopsis: &str) -> Outcome {
    Outcome::err(
        64,
        format!("Unrecognized target specifier.\nUsage: launchctl {sub} {synopsis}\n{USAGE_TAIL}"),
    )
}

fn not_found(domain: &Domain, label: &str) -> String {
    format!(
        "Could not find service \"{label}\" in domain for {}\n",
        domain.for_text()
    )
}

fn no_domain(domain: &Domain) -> Outcome {
    let text = match domain {
        Domain::Gui(uid) => format!("Could not find domain for user gui: {uid}\n"),
        Domain::User(uid) => format!("Could not find domain for user: {uid}\n"),
        Domain::System => "Could not find domain for system\n".to_owned(),
    };
    Outcome::err(112, text)
}

/// A loaded, non-vanished job.
fn find(ctx: &Ctx, domain: &Domain, label: &str) -> Option<(JobDir, Loaded)> {
    let job = JobDir::new(&ctx.mac, domain, label);
    if job.reap_if_stale() {
        return None;
    }
    let loaded = job.loaded()?;
    Some((job, loaded))
}

fn print(ctx: &Ctx, args: &[&str]) -> Outcome {
    const SYNOPSIS: &str = "<service-target> | <domain-target>";
    let [target] = args else {
        return usage("print", SYNOPSIS);
    };
    let Some((domain, label)) = job::parse_target(target) else {
        return usage("print", SYNOPSIS);
    };
    if !domain.exists(&ctx.mac, &ctx.machine) {
        return no_domain(&domain);
    }
    let Some(label) = label else {
        let rows = job::all_jobs(&ctx.mac)
            .into_iter()
            .filter(|(d, _, job)| d == &domain && !job.reap_if_stale())
            .map(|(_, label, job)| {
                let status = job.status();
                render::ServiceRow {
                    label,
                    pid: status.pid.unwrap_or(0),
                    last_exit: status.last_exit,
                }
            })
            .collect::<Vec<_>>();
        let disabled = job::disabled_db(&ctx.mac, &domain);
        return Outcome::ok(render::domain(&domain, &rows, &disabled));
    };
    let Some((job, loaded)) = find(ctx, &domain, &label) else {
        // The print capture carries the `Bad request.` line (kickstart's does not).
        let text = format!("Bad request.\n{}", not_found(&domain, &label));
        if ctx.mac.fault("not-found-on-stdout").is_some() {
            // Reported from real Macs too: the same text on stdout (issue 9).
            return Outcome::out(113, text);
        }
        return Outcome::err(113, text);
    };
    if ctx.mac.fault("print-garbage").is_some() {
        return Outcome::ok(format!(
            "{target} = <<< \u{fffd}\u{fffd} corrupted launchd reply\n\tstate => ?? {{\n"
        ));
    }
    let style = match ctx.mac.fault("print-style").as_deref().map(str::trim) {
        Some("macos27") => render::Style::MacOs27,
        _ => render::Style::Classic,
    };
    Outcome::ok(render::service_styled(
        target,
        &loaded,
        &job.status(),
        style,
    ))
}

fn print_disabled(ctx: &Ctx, args: &[&str]) -> Outcome {
    let [target] = args else {
        return usage("print-disabled", "<domain-target>");
    };
    let Some((domain, None)) = job::parse_target(target) else {
        return usage("print-disabled", "<domain-target>");
    };
    if !domain.exists(&ctx.mac, &ctx.machine) {
        return no_domain(&domain);
    }
    Outcome::ok(render::disabled_block(&job::disabled_db(&ctx.mac, &domain)))
}

/// A bootstrap failure: the specific code and text a root caller sees; non-root callers see
/// launchd's catch-all EIO 5 (except the errors real non-root runs show verbatim).
struct BootstrapError {
    code: u8,
    text: &'static str,
}

impl BootstrapError {
    fn outcome(&self, root: bool) -> Outcome {
        if root || matches!(self.code, 1 | 119) {
            Outcome::err(
                self.code,
                format!("Bootstrap failed: {}: {}\n", self.code, self.text),
            )
        } else {
            Outcome::err(5, EIO_NONROOT)
        }
    }
}

const EIO: BootstrapError = BootstrapError {
    code: 5,
    text: "Input/output error",
};

fn bootstrap(ctx: &Ctx, args: &[&str]) -> Outcome {
    const SYNOPSIS: &str = "<domain-target> [service-path, service-path2, ...]";
    let [target, paths @ ..] = args else {
        return usage("bootstrap", SYNOPSIS);
    };
    let Some((domain, None)) = job::parse_target(target) else {
        return usage("bootstrap", SYNOPSIS);
    };
    if paths.is_empty() {
        return usage("bootstrap", SYNOPSIS);
    }
    if !domain.exists(&ctx.mac, &ctx.machine) {
        return Outcome::err(
            112,
            "Bootstrap failed: 112: Could not find specified domain\n",
        );
    }
    let root = ctx.is_root();
    if domain == Domain::System && !root {
        return BootstrapError {
            code: 1,
            text: "Operation not permitted",
        }
        .outcome(root);
    }
    for path in paths {
        if let Err(e) = bootstrap_one(ctx, &domain, path) {
            return e.outcome(root);
        }
    }
    Outcome::ok("")
}

fn bootstrap_one(ctx: &Ctx, domain: &Domain, path: &str) -> Result<(), BootstrapError> {
    let path = absolute(path);
    let bytes = std::fs::read(&path).map_err(|_| BootstrapError {
        code: 2,
        text: "No such file or directory",
    })?;
    if let Some(remaining) = ctx.mac.fault_u64("bootstrap-fail").filter(|n| *n > 0) {
        let _ = ctx
            .mac
            .set_fault("bootstrap-fail", &(remaining - 1).to_string());
        return Err(EIO);
    }
    let mode = std::fs::metadata(&path).map_or(0, |m| {
        use std::os::unix::fs::PermissionsExt as _;
        m.permissions().mode()
    });
    if mode & 0o022 != 0 {
        return Err(BootstrapError {
            code: 122,
            text: "Path had bad ownership/permissions",
        });
    }
    let definition = Definition::parse(&bytes).map_err(|_| EIO)?;
    if job::disabled_db(&ctx.mac, domain)
        .get(&definition.label)
        .copied()
        .unwrap_or(false)
    {
        return Err(BootstrapError {
            code: 119,
            text: "Service is disabled",
        });
    }
    let job = JobDir::new(&ctx.mac, domain, &definition.label);
    if !job.reap_if_stale() {
        return Err(EIO);
    }
    let _ = std::fs::remove_dir_all(job.dir());
    let label = definition.label.clone();
    let starts = definition.starts_at_load();
    let loaded = Loaded {
        domain: domain.clone(),
        path: path.display().to_string(),
        definition,
    };
    let stored = state::write_atomic(&job.dir().join("plist"), &bytes)
        .and_then(|()| {
            job.set_status(&Status {
                state: "not running".to_owned(),
                ..Status::default()
            })
        })
        .and_then(|()| state::write_json(&job.dir().join("definition.json"), &loaded));
    if stored.is_err() {
        return Err(EIO);
    }
    let exe = std::env::current_exe().map_err(|_| EIO)?;
    let supervisor = Command::new(exe)
        .arg("--state")
        .arg(ctx.mac.dir())
        .args(["__supervise", &domain.spec(), &label])
        .env_remove(state::ELEVATED_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| EIO)?;
    let _ = state::write_atomic(
        &job.dir().join("supervisor.pid"),
        supervisor.id().to_string().as_bytes(),
    );
    let _ = state::append_line(
        &ctx.mac.launchd_dir().join("supervisors.pids"),
        &supervisor.id().to_string(),
    );
    // The child is reaped by init once this process exits; dropping the handle detaches it.
    drop(supervisor);
    if starts {
        wait_until(SPAWN_WAIT, || job.status().runs >= 1 || !job.exists());
    }
    Ok(())
}

fn absolute(path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    }
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn bootout(ctx: &Ctx, args: &[&str]) -> Outcome {
    const SYNOPSIS: &str = "<domain-target> [service-path1, service-path2, ...] | <service-target>";
    let (domain, label) = match args {
        [target] => match job::parse_target(target) {
            Some((domain, Some(label))) => (domain, label),
            _ => return usage("bootout", SYNOPSIS),
        },
        [target, path] => {
            let Some((domain, None)) = job::parse_target(target) else {
                return usage("bootout", SYNOPSIS);
            };
            let label = std::fs::read(absolute(path))
                .ok()
                .and_then(|b| Definition::parse(&b).ok())
                .map(|d| d.label);
            match label {
                Some(label) if find(ctx, &domain, &label).is_some() => (domain, label),
                _ => return Outcome::err(5, "Boot-out failed: 5: Input/output error\n"),
            }
        }
        _ => return usage("bootout", SYNOPSIS),
    };
    if !domain.exists(&ctx.mac, &ctx.machine) {
        return Outcome::err(
            112,
            "Boot-out failed: 112: Could not find specified domain\n",
        );
    }
    if domain == Domain::System && !ctx.is_root() {
        return Outcome::err(1, "Boot-out failed: 1: Operation not permitted\n");
    }
    let Some((job, _)) = find(ctx, &domain, &label) else {
        return Outcome::err(3, "Boot-out failed: 3: No such process\n");
    };
    if job.bootout_deadline().is_some() {
        return Outcome::err(36, "Boot-out failed: 36: Operation now in progress\n");
    }
    let linger = ctx
        .mac
        .fault_u64("bootout-linger-ms")
        .unwrap_or(DEFAULT_LINGER_MS);
    let deadline = state::now_ms() + linger;
    let marked = state::write_atomic(&job.dir().join("bootout"), deadline.to_string().as_bytes())
        .and_then(|()| job.request("bootout"));
    if marked.is_err() {
        return Outcome::err(5, "Boot-out failed: 5: Input/output error\n");
    }
    Outcome::ok("")
}

fn enable(ctx: &Ctx, args: &[&str], disable: bool) -> Outcome {
    let sub = if disable { "disable" } else { "enable" };
    let [target] = args else {
        return usage(sub, "<service-target>");
    };
    let Some((domain, Some(label))) = job::parse_target(target) else {
        return usage(sub, "<service-target>");
    };
    if !domain.exists(&ctx.mac, &ctx.machine) {
        return no_domain(&domain);
    }
    if domain == Domain::System && !ctx.is_root() {
        return Outcome::err(
            1,
            format!("Could not {sub} service: 1: Operation not permitted\n"),
        );
    }
    match job::set_disabled(&ctx.mac, &domain, &label, disable) {
        Ok(()) => Outcome::ok(""),
        Err(_) => Outcome::err(
            5,
            format!("Could not {sub} service: 5: Input/output error\n"),
        ),
    }
}

fn kickstart(ctx: &Ctx, args: &[&str]) -> Outcome {
    const SYNOPSIS: &str = "[-kps] <service-target>";
    let mut kill = false;
    let mut print_pid = false;
    let mut target = None;
    for arg in args {
        if let Some(flags) = arg.strip_prefix('-') {
            for flag in flags.chars() {
                match flag {
                    'k' => kill = true,
                    'p' => print_pid = true,
                    's' => {}
                    _ => return usage("kickstart", SYNOPSIS),
                }
            }
        } else if target.replace(*arg).is_some() {
            return usage("kickstart", SYNOPSIS);
        }
    }
    let Some((domain, Some(label))) = target.and_then(job::parse_target) else {
        return usage("kickstart", SYNOPSIS);
    };
    if !domain.exists(&ctx.mac, &ctx.machine) {
        return no_domain(&domain);
    }
    let Some((job, _)) = find(ctx, &domain, &label) else {
        return Outcome::err(113, not_found(&domain, &label));
    };
    if domain == Domain::System && !ctx.is_root() {
        return Outcome::err(
            1,
            format!("Could not kickstart service \"{label}\": 1: Operation not permitted\n"),
        );
    }
    let before = job.status();
    if before.pid.is_some() && !kill {
        return Outcome::ok(if print_pid {
            pid_line(before.pid.unwrap_or_default())
        } else {
            String::new()
        });
    }
    if job.bootout_deadline().is_some() {
        return Outcome::err(
            36,
            format!("Could not kickstart service \"{label}\": 36: Operation now in progress\n"),
        );
    }
    let request = if kill { "kickstart-k" } else { "kickstart" };
    if job.request(request).is_err() {
        return Outcome::err(
            5,
            format!("Could not kickstart service \"{label}\": 5: Input/output error\n"),
        );
    }
    let mut after = before.clone();
    wait_until(SPAWN_WAIT, || {
        after = job.status();
        after.runs > before.runs || !job.exists()
    });
    match (print_pid, after.pid) {
        (true, Some(pid)) => Outcome::ok(pid_line(pid)),
        _ => Outcome::ok(""),
    }
}

/// `kickstart -p`'s output: a bare pid when stdout is not a terminal (always, in tests),
/// `service spawned with pid: N` on a terminal (real terminal captures; the tty switch is from
/// Procursus' launchctl source, CODE).
fn pid_line(pid: u32) -> String {
    use std::io::IsTerminal as _;
    if std::io::stdout().is_terminal() {
        format!("service spawned with pid: {pid}\n")
    } else {
        format!("{pid}\n")
    }
}

/// The domain legacy subcommands (`list`, `stop`) act on: the caller's session.
fn caller_domain(ctx: &Ctx) -> Domain {
    if ctx.is_root() {
        Domain::System
    } else if Domain::Gui(ctx.machine.uid).exists(&ctx.mac, &ctx.machine) {
        Domain::Gui(ctx.machine.uid)
    } else {
        Domain::User(ctx.machine.uid)
    }
}

/// Legacy `list` (the caller's domain) and `list <label>` (old-style dictionary, docs/macos.md §2).
fn list(ctx: &Ctx, args: &[&str]) -> Outcome {
    let domain = caller_domain(ctx);
    match args {
        [] => {
            let mut out = String::from("PID\tStatus\tLabel\n");
            for (d, label, job) in job::all_jobs(&ctx.mac) {
                if d != domain || job.reap_if_stale() {
                    continue;
                }
                let status = job.status();
                let pid = status.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
                let last = match status.last_exit {
                    job::LastExit::Never => 0,
                    job::LastExit::Code(code) => code,
                    job::LastExit::Signal(signal) => -signal,
                };
                let _ = writeln!(out, "{pid}\t{last}\t{label}");
            }
            Outcome::ok(out)
        }
        [label] => {
            let Some((job, loaded)) = find(ctx, &domain, label) else {
                return Outcome::err(
                    113,
                    format!("Could not find service \"{label}\" in domain for port\n"),
                );
            };
            Outcome::ok(list_dict(&loaded, &job.status()))
        }
        _ => Outcome::err(64, "Usage: launchctl list [service-name]\n"),
    }
}

fn list_dict(loaded: &Loaded, status: &Status) -> String {
    let def = &loaded.definition;
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\\\""));
    let mut out = String::from("{\n");
    if let Some(path) = &def.stdout_path {
        let _ = writeln!(out, "\t\"StandardOutPath\" = {};", quote(path));
    }
    let session = if loaded.domain.is_agent() {
        "Aqua"
    } else {
        "System"
    };
    let _ = writeln!(out, "\t\"LimitLoadToSessionType\" = \"{session}\";");
    if let Some(path) = &def.stderr_path {
        let _ = writeln!(out, "\t\"StandardErrorPath\" = {};", quote(path));
    }
    let _ = writeln!(out, "\t\"Label\" = {};", quote(&def.label));
    let on_demand = def.keep_alive == job::KeepAlive::Never;
    let _ = writeln!(out, "\t\"OnDemand\" = {on_demand};");
    let raw = match status.last_exit {
        job::LastExit::Never => 0,
        job::LastExit::Code(code) => code << 8,
        job::LastExit::Signal(signal) => signal,
    };
    let _ = writeln!(out, "\t\"LastExitStatus\" = {raw};");
    if let Some(pid) = status.pid {
        let _ = writeln!(out, "\t\"PID\" = {pid};");
    }
    let _ = writeln!(out, "\t\"Program\" = {};", quote(&def.executable()));
    out.push_str("\t\"ProgramArguments\" = (\n");
    for arg in &def.arguments {
        let _ = writeln!(out, "\t\t{};", quote(arg));
    }
    out.push_str("\t);\n};\n");
    out
}

/// Legacy `stop <label>`: SIGTERM the running instance (`KeepAlive` restarts it); always exit 0.
fn stop(ctx: &Ctx, args: &[&str]) -> Outcome {
    let [label] = args else {
        return Outcome::err(64, "Usage: launchctl stop <service-name>\n");
    };
    if let Some((job, _)) = find(ctx, &caller_domain(ctx), label) {
        let _ = job.request("stop");
    }
    Outcome::ok("")
}

/// Pids of every loaded job's running instance with its user (for `ps`/`lsof`).
pub fn job_processes(ctx: &Ctx) -> Vec<(u32, String, Definition)> {
    let job_user = ctx.mac.fault("job-user");
    job::all_jobs(&ctx.mac)
        .into_iter()
        .filter_map(|(domain, _, job)| {
            let pid = job.status().pid.filter(|p| state::pid_alive(*p))?;
            let loaded = job.loaded()?;
            let user = job_user.clone().unwrap_or_else(|| {
                if domain.is_agent() {
                    ctx.machine.user.clone()
                } else {
                    loaded
                        .definition
                        .user_name
                        .clone()
                        .unwrap_or_else(|| "root".to_owned())
                }
            });
            Some((pid, user, loaded.definition))
        })
        .collect()
}
