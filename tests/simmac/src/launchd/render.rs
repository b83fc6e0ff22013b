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

/// How `launchctl print <service>` lays out a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Capture A's layout (the default).
    Classic,
    /// The macOS 27.0 captures' layout (`print-macos27-*.txt`): everything of `Classic` plus
    /// the nested blocks newer launchd prints: `LWCR = {` with `"reqs" => {` and an inline
    /// `0 = \t\t\t\t]` array close, an `event triggers = {` calendar entry opened with `=> {`
    /// (`print-macos27-calendar-never-run.txt`), the coalitions while running, and
    /// `job state = …` (`spawn failed` for a spawn that exits 78 and is rescheduled, as in
    /// `print-submitted-spawn-failed.txt`).
    MacOs27,
}

/// `launchctl print <domain>/<label>` for a loaded job, in capture A's layout.
pub fn service(target: &str, loaded: &Loaded, status: &Status) -> String {
    service_styled(target, loaded, status, Style::Classic)
}

/// The `LWCR` block of the macOS 27.0 captures, verbatim (`print-macos27-lwcr-running.txt`).
const LWCR: &str = "\tLWCR = {\n\t\t\"reqs\" => {\n\t\t\t\"cdhash\" => {\n\t\t\t\t\"$in\" => [\n\t\t\t\t\t0 = \t\t\t\t]\n\t\t\t}\n\t\t}\n\t\t\"vers\" => 1\n\t\t\"comp\" => 1\n\t\t\"ccat\" => 0\n\t}\n\n";

/// `launchctl print <domain>/<label>` for a loaded job, in `style`.
pub fn service_styled(target: &str, loaded: &Loaded, status: &Status, style: Style) -> String {
    let macos27 = style == Style::MacOs27;
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
    if macos27 {
        w.push_str(LWCR);
    }
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
    if macos27 {
        nested_blocks(w, &def.label, running);
    }
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
    if macos27 {
        let job_state = if running {
            "running"
        } else if status.state == "spawn scheduled" && status.last_exit == LastExit::Code(78) {
            "spawn failed"
        } else {
            "exited"
        };
        let _ = writeln!(w, "\tjob state = {job_state}\n\tsanitizer flags = 0x0\n");
        props.push("managed LWCR");
        props.push("has LWCR");
    }
    let _ = writeln!(w, "\tproperties = {}", props.join(" | "));
    w.push_str("}\n");
    out
}

/// The macOS 27 nested blocks between the run counters and `properties`: a calendar
/// `event triggers` entry and its `event channels` (as in `print-macos27-calendar-never-run.txt`;
/// the fake's jobs have no calendar, so the entry is decoration with the captured shape), and
/// the two coalitions while running, whose `state = active` lines must not be read as the job's.
fn nested_blocks(w: &mut String, label: &str, running: bool) {
    let _ = write!(
        w,
        "\tevent triggers = {{\n\t\t{label}.268435472 => {{\n\t\t\tkeepalive = 0\n\t\t\tservice = {label}\n\t\t\tstream = com.apple.launchd.calendarinterval\n\t\t\tmonitor = com.apple.UserEventAgent-Aqua\n\t\t\tdescriptor = {{\n\t\t\t\t\"Minute\" => 0\n\t\t\t\t\"Hour\" => 12\n\t\t\t}}\n\t\t}}\n\t}}\n\n"
    );
    w.push_str("\tevent channels = {\n\t\t\"com.apple.launchd.calendarinterval\" = {\n\t\t\tport = 0x0\n\t\t\tactive = 0\n\t\t\tmanaged = 1\n\t\t\treset = 0\n\t\t\thide = 0\n\t\t\twatching = 1\n\t\t}\n\t}\n\n");
    if running {
        for (id, kind) in [(1140, "resource"), (1141, "jetsam")] {
            let _ = write!(
                w,
                "\t{kind} coalition = {{\n\t\tID = {id}\n\t\ttype = {kind}\n\t\tstate = active\n\t\tactive count = 1\n\t\tname = {label}\n\t}}\n\n"
            );
        }
    }
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
