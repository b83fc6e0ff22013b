//! The multi-call entry point: `simmac --state <mac-dir> <tool> [args…]` dispatches to one fake,
//! journals the call, and writes its output.
//!
//! Owns [`Ctx`] (who is calling) and [`Outcome`] (what a fake answers). Fakes return outcomes and
//! never write to stdout/stderr themselves.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::journal::{self, Call};
use crate::state::{self, Mac, Machine};

/// The tools the wrappers in `<sandbox>/bin/` dispatch to (besides `ollama`).
pub const TOOLS: [&str; 10] = [
    "launchctl",
    "networksetup",
    "sudo",
    "sw_vers",
    "lsof",
    "ps",
    "ping",
    "osascript",
    "brew",
    "sysctl",
];

/// The calling context of one fake invocation.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The state dir.
    pub mac: Mac,
    /// The machine description, read once.
    pub machine: Machine,
    /// Running under the fake `sudo`.
    pub elevated: bool,
}

impl Ctx {
    /// A context for `state`; `elevated` when run under the fake `sudo`.
    pub fn new(state: &Path, elevated: bool) -> Self {
        let mac = Mac::new(state);
        let machine = mac.machine();
        Self {
            mac,
            machine,
            elevated,
        }
    }

    /// Whether the caller is root (sudo, or `machine.json` `root`, or the real euid).
    pub fn is_root(&self) -> bool {
        self.elevated
            || self
                .machine
                .root
                .unwrap_or_else(|| rustix::process::geteuid().is_root())
    }
}

/// What a fake printed and how it exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub code: u8,
    /// The call is a state-changing verb.
    pub mutating: bool,
}

impl Outcome {
    /// Exit 0 with `stdout`.
    pub fn ok(stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            ..Self::default()
        }
    }

    /// Exit `code` with `stderr`.
    pub fn err(code: u8, stderr: impl Into<String>) -> Self {
        Self {
            stderr: stderr.into(),
            code,
            ..Self::default()
        }
    }

    /// Exit `code` with `stdout` (tools that print errors on stdout).
    pub fn out(code: u8, stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            code,
            ..Self::default()
        }
    }

    /// Marks the outcome as a mutating call.
    #[must_use]
    pub fn mutating(mut self, mutating: bool) -> Self {
        self.mutating = mutating;
        self
    }
}

/// Runs one tool call in-process, journals it, and returns its outcome.
pub fn call(ctx: &Ctx, tool: &str, args: &[String]) -> Outcome {
    // Latency injection for every tool call (benchmarks): `faults/tool-delay-ms`.
    ctx.mac.inject_delay("tool-delay-ms");
    let outcome = match tool {
        "launchctl" => crate::launchd::launchctl(ctx, args),
        "networksetup" => crate::network::networksetup(ctx, args),
        "sudo" => crate::tools::sudo(ctx, args),
        "sw_vers" => crate::tools::sw_vers(ctx, args),
        "lsof" => crate::procs::lsof(ctx, args),
        "ps" => crate::procs::ps(ctx, args),
        "ping" => crate::tools::ping(ctx, args),
        "osascript" => crate::tools::osascript(ctx, args),
        "brew" => crate::tools::brew(ctx, args),
        "sysctl" => crate::tools::sysctl(ctx, args),
        other => return Outcome::err(127, format!("simmac: unknown tool `{other}`\n")),
    };
    let _ = journal::append(
        ctx.mac.dir(),
        &Call::tool(
            tool,
            args,
            outcome.mutating,
            ctx.elevated,
            i32::from(outcome.code),
        ),
    );
    outcome
}

/// `main` of the simmac binary.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (state, rest) = match args.as_slice() {
        [flag, state, rest @ ..] if flag == "--state" => (PathBuf::from(state), rest),
        _ => {
            return fail("usage: simmac --state <mac-dir> <tool> [args…]\n");
        }
    };
    let Some((tool, tool_args)) = rest.split_first() else {
        return fail("usage: simmac --state <mac-dir> <tool> [args…]\n");
    };
    if tool == "__install-wrappers" {
        // Written by this short-lived process, never by the (multi-threaded) test process: a file
        // open for writing there could leak into a concurrently forked child and make exec'ing
        // the wrapper fail with ETXTBSY.
        let Some((bin, tools)) = tool_args.split_first() else {
            return fail("usage: simmac --state <mac-dir> __install-wrappers <bin> <tool>…\n");
        };
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return fail(&format!("simmac: cannot find myself: {e}\n")),
        };
        for tool in tools {
            if let Err(e) = crate::tools::write_wrapper(Path::new(bin), &exe, &state, tool) {
                return fail(&format!("simmac: cannot write the {tool} wrapper: {e}\n"));
            }
        }
        return ExitCode::SUCCESS;
    }
    if tool == "__supervise" {
        return match tool_args {
            [domain, label] => crate::launchd::supervisor::run(&state, domain, label),
            _ => fail("usage: simmac --state <mac-dir> __supervise <domain> <label>\n"),
        };
    }
    // The fake Ollama is dispatched by `main.rs` before this function (it is long-running and
    // journals its own HTTP requests).
    let elevated = std::env::var_os(state::ELEVATED_ENV).is_some_and(|v| v == "1");
    let ctx = Ctx::new(&state, elevated);
    let outcome = call(&ctx, tool, tool_args);
    emit(&outcome)
}

/// Writes an outcome to the real stdout/stderr and converts its status.
pub fn emit(outcome: &Outcome) -> ExitCode {
    let _ = std::io::stdout()
        .lock()
        .write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr()
        .lock()
        .write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.code)
}

fn fail(message: &str) -> ExitCode {
    let _ = std::io::stderr().lock().write_all(message.as_bytes());
    ExitCode::from(64)
}
