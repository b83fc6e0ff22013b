//! The command line: parse arguments, build the [`Context`], dispatch a verb, map the outcome to
//! an exit status. The only layer that uses `miette::Report` and prints (through [`Printer`]).

pub(crate) mod args;
mod commands;
pub(crate) mod printer;
pub(crate) mod progress;
mod signals;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use crate::render;
use crate::sys::env::Env;
use crate::sys::machine::{Machine, MachineError, ProcessIds};
use args::{Args, ColorChoice, Command};
pub(crate) use printer::Printer;

/// How a verb ended, in Terraform's convention (specs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success; for `plan --detailed-exitcode` and `check`, also "no changes".
    Success,
    /// 1: an error, a failed step or a failed check.
    Failure,
    /// 2: changes present / drifted (`plan --detailed-exitcode`, `check`).
    Changes,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Failure => Self::from(1),
            ExitStatus::Changes => Self::from(2),
        }
    }
}

/// What every verb gets: the environment, the printer and the global options.
#[derive(Debug)]
pub(crate) struct Context {
    /// The environment, read once.
    pub env: Env,
    /// The machine context (uid, HOME, root, sudo, tty, tool directory), built once from `env`
    /// and the process; an error only for the verbs that need it.
    pub machine: Result<Machine, MachineError>,
    /// The one writer.
    pub printer: Printer,
    /// `-c`, else `SSOLLAMA_CONFIG`, else `./server.toml`.
    pub config_path: PathBuf,
    /// Whether `-c`/`SSOLLAMA_CONFIG` named the file (for messages).
    pub config_explicit: bool,
}

impl Context {
    /// Renders a diagnostic the way this run prints them (colour, width).
    pub(crate) fn render(&self, diagnostic: &dyn Diagnostic) -> String {
        let theme = if self.printer.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let mut out = String::new();
        let handler = GraphicalReportHandler::new_themed(theme).with_width(self.printer.width);
        if handler.render_report(&mut out, diagnostic).is_err() {
            out = format!("error: {diagnostic}\n");
        }
        out
    }

    /// Prints an error diagnostic to stderr.
    pub(crate) fn report(&self, diagnostic: &dyn Diagnostic) {
        self.printer.err(&self.render(diagnostic));
    }
}

/// Runs ssollama with these arguments; the binary's `main` is this and nothing else.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let env = Env::from_process();
    let stdout_tty = std::io::stdout().is_terminal();
    let stderr_tty = std::io::stderr().is_terminal();
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(err) => {
            let code = u8::from(err.use_stderr());
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let color = match args.global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_tty && !env.no_color,
    };
    let printer = Printer {
        color,
        quiet: args.global.quiet,
        width: env.columns.unwrap_or(100).clamp(40, 200),
    };
    init_tracing(
        &env,
        args.global.verbose,
        args.global.quiet,
        stderr_tty && color,
    );
    let (config_path, config_explicit) = match (&args.global.config, &env.config) {
        (Some(path), _) | (None, Some(path)) => (path.clone(), true),
        (None, None) => (PathBuf::from("server.toml"), false),
    };
    if let Some(dir) = &env.tool_dir {
        tracing::info!(tool_dir = %dir.display(), "SSOLLAMA_TOOL_DIR is set: external programs come from there");
    }
    let machine = Machine::new(&env, ProcessIds::of_process());
    let ctx = Context {
        env,
        machine,
        printer,
        config_path,
        config_explicit,
    };
    let json = json_mode(&args.command);
    if let Some(verb) = live_verb(&args.command)
        && !cfg!(target_os = "macos")
        && ctx.env.tool_dir.is_none()
    {
        // Nothing here to observe: refuse before any command runs or any address is probed.
        let report = miette::miette!(
            code = "ssollama::env::not_macos",
            help = "run it on the Mac that serves Ollama; here, `ssollama plan --state FILE` plans against an observation saved there with `ssollama observe --json > FILE`",
            "`ssollama {verb}` observes a Mac, and this is {}: nothing was run",
            std::env::consts::OS
        );
        return fail(&ctx, &report, json);
    }
    let status = match args.command {
        Command::Validate => commands::validate(&ctx),
        Command::Schema => Ok(commands::schema(&ctx)),
        Command::Init(init) => commands::init(&ctx, &init),
        Command::Observe(observe) => commands::observe(&ctx, &observe),
        Command::Plan(plan) => commands::plan(&ctx, &plan),
        Command::Check(check) => commands::check(&ctx, &check),
        Command::Apply(apply) => commands::apply::apply(&ctx, &apply),
        Command::Destroy(destroy) => commands::destroy::destroy(&ctx, &destroy),
        Command::Warm(warm) => commands::warm::warm(&ctx, &warm),
        Command::Status(status) => commands::status::run(&ctx, &status),
        Command::Verify(verify) => commands::verify::run(&ctx, &verify, args.global.verbose > 0),
        Command::Client(client) => commands::client::run(&ctx, &client),
        Command::Completions(completions) => Ok(commands::completions(&ctx, completions.shell)),
        Command::Man => commands::man(&ctx),
    };
    match status {
        Ok(status) => status.into(),
        Err(report) => fail(&ctx, &report, json),
    }
}

/// Prints an error (and, in `--json` mode, its JSON event on stdout); exit 1.
fn fail(ctx: &Context, report: &miette::Report, json: bool) -> ExitCode {
    ctx.report(report.as_ref());
    if json {
        // A program reading stdout learns of the error in the format it asked for.
        let code = report.code().map(|c| c.to_string());
        let help = report.help().map(|h| h.to_string());
        let event = render::json::error_json(code.as_deref(), &report.to_string(), help.as_deref());
        ctx.printer.out(&format!("{event}\n"));
    }
    ExitStatus::Failure.into()
}

/// The verb's name when it observes or changes the Mac (so it needs macOS, or the simulated Mac
/// of `SSOLLAMA_TOOL_DIR`); `None` for the verbs that only read files.
fn live_verb(command: &Command) -> Option<&'static str> {
    match command {
        Command::Observe(_) => Some("observe"),
        Command::Plan(a) if a.state.is_none() => Some("plan"),
        Command::Check(a) if a.state.is_none() => Some("check"),
        Command::Apply(_) => Some("apply"),
        Command::Destroy(_) => Some("destroy"),
        Command::Warm(_) => Some("warm"),
        Command::Verify(_) => Some("verify"),
        Command::Status(_) => Some("status"),
        Command::Init(a) if a.from_machine => Some("init --from-machine"),
        _ => None,
    }
}

/// Whether the verb was asked for JSON on stdout (`--json`).
fn json_mode(command: &Command) -> bool {
    match command {
        Command::Observe(a) => a.json,
        Command::Plan(a) => a.json,
        Command::Check(a) => a.json,
        Command::Apply(a) => a.json,
        Command::Destroy(a) => a.json,
        Command::Warm(a) => a.json,
        Command::Verify(a) => a.json,
        Command::Status(a) => a.json,
        Command::Validate
        | Command::Schema
        | Command::Init(_)
        | Command::Client(_)
        | Command::Completions(_)
        | Command::Man => false,
    }
}

fn init_tracing(env: &Env, verbose: u8, quiet: bool, ansi: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "ssollama=info",
        (false, 2) => "ssollama=debug",
        (false, _) => "ssollama=trace",
    };
    let filter = env.log_filter.clone().unwrap_or_else(|| level.to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .without_time()
        .with_target(false)
        .try_init();
}
