//! Text renderings of `launchctl print`, `print <domain>` and `print-disabled`, in the layout of
//! the real captures (`tests/fixtures/macos/launchctl/`): one TAB per nesting level, blank lines
//! between groups, `NAME => value` in environment blocks.
//!
//! Pure: takes the stored job, returns text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::job::{Domain, KeepAlive, LastExit, Loaded, Status};

/// The audit session id printed for agents (`domain = gui/501 [100057]`, `asid = 100057`).
pub const ASID: u32 = 100_057;
/// launchd's `default environment` PATH (`_PATH_STDPATH`).
pub const DEFAULT_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";
/// The `inherited environment` of a GUI agent (from capture A).
const SSH_AUTH_SOCK: &str = "/var/run/com.apple.launchd.TzpwIuqAEF/Listeners";

/// `launchctl print <domain>/<label>` for a loaded job.
pub fn service(target: &str, loaded: &Loaded, status: &Status) -> String {
    let def = &loaded.definition;
    let agent = loaded.domain.is_agent();
    let running = status.pid.is_some();
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{target} = {{");
    let _ = writeln!(w, "\tactive count = {}", u8::from(running));
    let _ = writeln!(w, "\tpath = {}", loaded.path);
    let kind = if agent { "LaunchAgent" } else { "LaunchDaemon" };
    let _ = writeln!(w, "\ttype = {kind}");
    let _ = writeln!(w, "\tstate = {}", state_text(status));
    w.push('\n');
    let _ = writeln!(w, "\tprogram = {}", def.executable());
    w.push_str("\targuments = {\n");
    for arg in &def.arguments {
        let _ = writeln!(w, "\t\t{arg}");
    }
    w.push_str("\t}\n\n");
    if let Some(dir) = &def.working_directory {
        let _ = writeln!(w, "\tworking directory = {dir}\n");
    }
    if let Some(path) = &def.stdout_path {
        let _ = writeln!(w, "\tstdout path = {path}");
    }
    if let Some(path) = &def.stderr_path {
        let _ = writeln!(w, "\tstderr path = {path}");
    }
    if agent {
        block(
            w,
            "inherited environment",
            &[("SSH_AUTH_SOCK", SSH_AUTH_SOCK)],
        );
    }
    block(w, "default environment", &[("PATH", DEFAULT_PATH)]);
    let mut env: Vec<(&str, &str)> = vec![("OSLogRateLimit", "64")];
    env.extend(
        def.environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    env.push(("XPC_SERVICE_NAME", def.label.as_str()));
    block(w, "environment", &env);
    if agent {
        let _ = writeln!(w, "\tdomain = {} [{ASID}]", loaded.domain.spec());
        let _ = writeln!(w, "\tasid = {ASID}");
    } else {
        let _ = writeln!(w, "\tdomain = {}", loaded.domain.spec());
    }
    if let (false, Some(user)) = (agent, &def.user_name) {
        let _ = writeln!(w, "\tusername = {user}");
    }
    let _ = writeln!(w, "\tminimum runtime = {}", def.throttle_interval);
    let _ = writeln!(w, "\texit timeout = {}", def.exit_timeout);
    let _ = writeln!(w, "\truns = {}", status.runs);
    if let Some(pid) = status.pid {
        let _ = writeln!(w, "\tpid = {pid}");
    }
    let _ = writeln!(w, "\t{}", last_exit(status.last_exit));
    w.push('\n');
    let mut props = Vec::new();
    if def.keep_alive != KeepAlive::Never {
        props.push("keepalive");
    }
    if def.run_at_load {
        props.push("runatload");
    }
    if def.program.is_none() {
        props.push("inferred program");
    }
    let _ = writeln!(w, "\tproperties = {}", props.join(" | "));
    w.push_str("}\n");
    out
}

fn state_text(status: &Status) -> &str {
    if status.state.is_empty() {
        "not running"
    } else {
        &status.state
    }
}

fn block(w: &mut String, name: &str, entries: &[(&str, &str)]) {
    let _ = writeln!(w, "\t{name} = {{");
    for (key, value) in entries {
        let _ = writeln!(w, "\t\t{key} => {value}");
    }
    w.push_str("\t}\n\n");
}

/// The `last exit code = …` / `last terminating signal = …` line (without indentation).
pub fn last_exit(last: LastExit) -> String {
    match last {
        LastExit::Never => "last exit code = (never exited)".to_owned(),
        LastExit::Code(code) => match sysexit_name(code) {
            Some(name) => format!("last exit code = {code}: {name}"),
            None => format!("last exit code = {code}"),
        },
        LastExit::Signal(signal) => {
            format!(
                "last terminating signal = {}: {signal}",
                signal_name(signal)
            )
        }
    }
}

/// `sysexits.h` names launchd appends (`78: EX_CONFIG`, `75: EX_TEMPFAIL` are captured).
fn sysexit_name(code: i32) -> Option<&'static str> {
    Some(match code {
        64 => "EX_USAGE",
        65 => "EX_DATAERR",
        66 => "EX_NOINPUT",
        67 => "EX_NOUSER",
        68 => "EX_NOHOST",
        69 => "EX_UNAVAILABLE",
        70 => "EX_SOFTWARE",
        71 => "EX_OSERR",
        72 => "EX_OSFILE",
        73 => "EX_CANTCREAT",
        74 => "EX_IOERR",
        75 => "EX_TEMPFAIL",
        76 => "EX_PROTOCOL",
        77 => "EX_NOPERM",
        78 => "EX_CONFIG",
        _ => return None,
    })
}

/// macOS `strsignal` texts (`Terminated: 15`, `Killed: 9`, `Hangup: 1` are captured).
fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        6 => "Abort trap",
        9 => "Killed",
        10 => "Bus error",
        11 => "Segmentation fault",
        13 => "Broken pipe",
        14 => "Alarm clock",
        15 => "Terminated",
        _ => "Unknown signal",
    }
}

/// One loaded job as listed in a domain print.
#[derive(Debug, Clone)]
pub struct ServiceRow {
    /// The label.
    pub label: String,
    /// The running pid (0 when not running).
    pub pid: u32,
    /// The last exit (`-` when never exited).
    pub last_exit: LastExit,
}

/// `launchctl print <domain>` (abridged: the header keys, `services`, `disabled services`).
pub fn domain(domain: &Domain, rows: &[ServiceRow], disabled: &BTreeMap<String, bool>) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{} = {{", domain.spec());
    match domain {
        Domain::Gui(uid) => {
            let _ = writeln!(
                w,
                "\ttype = login\n\thandle = {ASID}\n\tactive count = {}",
                rows.len()
            );
            let _ = writeln!(w, "\tcreator = loginwindow\n\tcreator euid = {uid}");
        }
        Domain::User(uid) => {
            let _ = writeln!(
                w,
                "\ttype = user\n\thandle = {uid}\n\tactive count = {}",
                rows.len()
            );
        }
        Domain::System => {
            let _ = writeln!(
                w,
                "\ttype = system\n\thandle = 0\n\tactive count = {}",
                rows.len()
            );
        }
    }
    w.push('\n');
    w.push_str("\tservices = {\n");
    for row in rows {
        let exit = match row.last_exit {
            LastExit::Never => "-".to_owned(),
            LastExit::Code(code) => code.to_string(),
            LastExit::Signal(signal) => format!("-{signal}"),
        };
        let _ = writeln!(w, "\t\t{:>8} {exit:>6} \t{}", row.pid, row.label);
    }
    w.push_str("\t}\n\n");
    w.push_str(&disabled_block(disabled));
    w.push_str("}\n");
    out
}

/// `launchctl print-disabled <domain>` in the Ventura-and-later format.
pub fn disabled_block(disabled: &BTreeMap<String, bool>) -> String {
    let mut out = String::from("\tdisabled services = {\n");
    for (label, is_disabled) in disabled {
        let word = if *is_disabled { "disabled" } else { "enabled" };
        let _ = writeln!(out, "\t\t\"{label}\" => {word}");
    }
    out.push_str("\t}\n");
    out
}
