//! One function per verb. Each returns an [`ExitStatus`] or a report for `cli::run` to print.

mod adopt;
pub(super) mod apply;
pub(super) mod client;
pub(super) mod destroy;
pub(super) mod status;
pub(super) mod verify;
pub(super) mod warm;

use std::path::Path;
use std::time::Duration;

use miette::{IntoDiagnostic, Report, WrapErr, miette};

use super::args::{CheckArgs, InitArgs, ObserveArgs, PlanArgs};
use super::{Context, ExitStatus};
use crate::config;
use crate::model::{Desired, Observed};
use crate::observe::{self, Scope, Settings};
use crate::plan::{self};
use crate::render::text::View;
use crate::render::{self, Style};
use crate::sys::fs;
use crate::text::home_path;

/// Reads and validates the configuration; prints warnings; errors become one report.
pub(super) fn load_config(ctx: &Context) -> Result<Desired, Report> {
    let path = &ctx.config_path;
    let shown = path.display().to_string();
    let bytes = match fs::read_optional_bytes(path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            let hint = if ctx.config_explicit {
                "check the path given with `-c` or `SSOLLAMA_CONFIG`".to_owned()
            } else {
                "create one with `ssollama init`, or name another with `-c FILE`".to_owned()
            };
            return Err(miette!(
                code = "ssollama::config::missing",
                help = hint,
                "`{shown}` does not exist"
            ));
        }
        Err(err) => return Err(unreadable_config(&shown, err)),
    };
    let text = config_text(&shown, bytes)?;
    match config::parse(&shown, &text) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                ctx.printer.note(&ctx.render(warning));
            }
            Ok(loaded.desired)
        }
        Err(errors) => {
            // Warnings still matter when there are errors (`0.0.0.0` exposes the API, …).
            for warning in &errors.warnings {
                ctx.printer.note(&ctx.render(warning));
            }
            Err(Report::new(errors))
        }
    }
}

/// The largest file taken for a server.toml (a real one is a few KB).
const MAX_CONFIG_BYTES: usize = 1 << 20;

/// A server.toml that could not be read, with what to do about it.
fn unreadable_config(shown: &str, err: fs::FsError) -> Report {
    let fs::FsError::Read { source, .. } = &err else {
        return Report::new(err);
    };
    let (problem, help) = match source.kind() {
        std::io::ErrorKind::IsADirectory => (
            format!("`{shown}` is a directory, not a server.toml"),
            format!("name the file in it: `-c {shown}/server.toml`"),
        ),
        std::io::ErrorKind::PermissionDenied => (
            format!("`{shown}` cannot be read: permission denied"),
            format!(
                "check its owner and mode (`ls -l {shown}`); run ssollama as that user, or make it readable (`chmod a+r {shown}`)"
            ),
        ),
        _ => return Report::new(err),
    };
    miette!(
        code = "ssollama::config::unreadable",
        help = help,
        "{problem}"
    )
}

/// The bytes of a server.toml as text, refusing (without echoing it) what cannot be one: a
/// huge or binary file, text that is not UTF-8 (with its line and column), an observation.
fn config_text(shown: &str, bytes: Vec<u8>) -> Result<String, Report> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(miette!(
            code = "ssollama::config::too_big",
            help = "give `-c` the server.toml itself (a few KB)",
            "`{shown}` is {} bytes: too big to be a server.toml",
            bytes.len()
        ));
    }
    if bytes.contains(&0) {
        return Err(miette!(
            code = "ssollama::config::binary",
            help = "give `-c` the server.toml itself, a text file",
            "`{shown}` is a binary file, not a server.toml"
        ));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let before = &err.as_bytes()[..at];
            let line = before.split(|&b| b == b'\n').count();
            let start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
            return Err(miette!(
                code = "ssollama::config::not_utf8",
                help =
                    "save it as UTF-8 (`iconv -f latin1 -t utf-8`, or your editor's encoding menu)",
                "`{shown}` is not UTF-8: byte 0x{:02x} at line {line}, column {column}",
                err.as_bytes()[at]
            ));
        }
    };
    if text.trim_start().starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text)
    {
        let observation = map.contains_key("host") && map.contains_key("plist");
        return Err(miette!(
            code = "ssollama::config::json",
            help = if observation {
                format!("plan against it with `--state {shown}`; `-c` takes the server.toml")
            } else {
                "`-c` takes the server.toml (TOML), not JSON".to_owned()
            },
            "`{shown}` is {}, not a server.toml",
            if observation {
                "an observation saved by `ssollama observe --json`"
            } else {
                "a JSON document"
            }
        ));
    }
    Ok(text)
}

/// `ssollama validate`.
pub(super) fn validate(ctx: &Context) -> Result<ExitStatus, Report> {
    load_config(ctx)?;
    ctx.printer
        .note(&format!("`{}` is valid\n", ctx.config_path.display()));
    Ok(ExitStatus::Success)
}

/// `ssollama schema`.
pub(super) fn schema(ctx: &Context) -> ExitStatus {
    ctx.printer.out(&config::schema_json());
    ExitStatus::Success
}

/// `ssollama completions SHELL`: the completion script of clap's definition of the command line.
pub(super) fn completions(ctx: &Context, shell: clap_complete::Shell) -> ExitStatus {
    let mut command = <super::args::Args as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ssollama", &mut script);
    ctx.printer.out(&String::from_utf8_lossy(&script));
    ExitStatus::Success
}

/// `ssollama man`: the man page (roff), with every verb and its options.
pub(super) fn man(ctx: &Context) -> Result<ExitStatus, Report> {
    let command = <super::args::Args as clap::CommandFactory>::command();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut page).into_diagnostic()?;
    man.render_name_section(&mut page).into_diagnostic()?;
    man.render_synopsis_section(&mut page).into_diagnostic()?;
    man.render_description_section(&mut page)
        .into_diagnostic()?;
    man.render_options_section(&mut page).into_diagnostic()?;
    man.render_subcommands_section(&mut page)
        .into_diagnostic()?;
    // Each verb's options and examples, as `ssollama VERB --help` shows them.
    for verb in command.get_subcommands().filter(|v| v.get_name() != "help") {
        let mut section = Vec::new();
        clap_mangen::Man::new(verb.clone())
            .render_options_section(&mut section)
            .into_diagnostic()?;
        let heading = format!(".SH \"SSOLLAMA {}\"\n", verb.get_name().to_uppercase());
        page.extend_from_slice(heading.as_bytes());
        if let Some(about) = verb.get_about() {
            page.extend_from_slice(format!("{about}\n").as_bytes());
        }
        // A verb's options are a subsection of its section.
        let text = String::from_utf8_lossy(&section).replace(".SH OPTIONS", ".SS Options");
        page.extend_from_slice(text.as_bytes());
        if let Some(after) = verb.get_after_help() {
            page.extend_from_slice(b".PP\n.nf\n");
            page.extend_from_slice(roff_escape(&after.to_string()).as_bytes());
            page.extend_from_slice(b"\n.fi\n");
        }
    }
    man.render_extra_section(&mut page).into_diagnostic()?;
    man.render_version_section(&mut page).into_diagnostic()?;
    ctx.printer.out(&String::from_utf8_lossy(&page));
    Ok(ExitStatus::Success)
}

/// Text for a roff no-fill block: backslashes and hyphens escaped (`--yes` stays two hyphens),
/// a leading `.` or `'` made literal.
fn roff_escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `ssollama init [FILE]`.
pub(super) fn init(ctx: &Context, args: &InitArgs) -> Result<ExitStatus, Report> {
    let path = args.file.as_deref().unwrap_or(&ctx.config_path);
    if args.from_machine {
        return adopt::run(ctx, args, path);
    }
    refuse_existing(
        path,
        "edit it, or move it away and run `ssollama init` again",
    )?;
    write_server_toml(ctx, path, config::STARTER, "edit it, then run")?;
    Ok(ExitStatus::Success)
}

/// Whether `init` writes to stdout (`-`) instead of a file.
pub(super) fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// `init` never overwrites a server.toml.
pub(super) fn refuse_existing(path: &Path, help: &str) -> Result<(), Report> {
    if !is_stdout(path) && fs::meta(path).is_some() {
        return Err(miette!(
            code = "ssollama::init::exists",
            help = help.to_owned(),
            "`{}` already exists; not overwriting it",
            path.display()
        ));
    }
    Ok(())
}

/// Writes a new server.toml (its `#:schema ./server.schema.json` line resolves: the schema is
/// written next to it), or prints it for `-`; then the hint, naming the file written.
pub(super) fn write_server_toml(
    ctx: &Context,
    path: &Path,
    text: &str,
    then: &str,
) -> Result<(), Report> {
    if is_stdout(path) {
        ctx.printer.out(text);
        ctx.printer.note(
            "note: `ssollama schema > server.schema.json` next to the file gives editors its `#:schema`\n",
        );
        return Ok(());
    }
    fs::write_atomic(path, text.as_bytes(), 0o644, None)?;
    let schema = path
        .parent()
        .unwrap_or(Path::new(""))
        .join("server.schema.json");
    fs::write_atomic(&schema, config::schema_json().as_bytes(), 0o644, None)?;
    let shown = home_path(path, ctx.env.home.as_deref());
    // The default file needs no `-c`; any other does.
    let plan = if path == Path::new("server.toml") {
        "ssollama plan".to_owned()
    } else {
        format!("ssollama -c {} plan", path.display())
    };
    ctx.printer.note(&format!(
        "wrote `{shown}` (and `server.schema.json` beside it, for editors); {then} `{plan}`\n"
    ));
    Ok(())
}

/// How this run observes the Mac: its machine context and the time limits.
pub(super) fn settings(ctx: &Context) -> Result<Settings, Report> {
    Ok(Settings {
        machine: ctx.machine.clone()?,
        exec_timeout: Duration::from_secs(20),
        http_timeout: Duration::from_secs(5),
    })
}

/// A single-threaded runtime for the async edges.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Report> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()
        .wrap_err("could not start the async runtime")
}

/// Observes the Mac (or reads `--state`).
fn observation(ctx: &Context, desired: &Desired, state: Option<&Path>) -> Result<Observed, Report> {
    if let Some(state) = state {
        return read_observation(state);
    }
    let settings = settings(ctx)?;
    let (observed, timings) = runtime()?.block_on(observe::observe(&Scope::of(desired), &settings));
    for (probe, took) in &timings.probes {
        tracing::info!(probe, ms = took.as_millis(), "probe finished");
    }
    tracing::info!(ms = timings.total.as_millis(), "observation finished");
    Ok(observed)
}

/// Reads a saved observation (`observe --json`): `format_version` `"1"`, or the `format: 1` of
/// observations saved before every document had `format_version`.
fn read_observation(state: &Path) -> Result<Observed, Report> {
    let not_one = || {
        format!(
            "`{}` is not an observation saved by `ssollama observe --json`",
            state.display()
        )
    };
    let text = fs::read_text(state)?;
    let mut json: serde_json::Value = serde_json::from_str(&text)
        .into_diagnostic()
        .wrap_err_with(not_one)?;
    let Some(map) = json
        .as_object_mut()
        .filter(|map| map.contains_key(render::json::VERSION_KEY) || map.contains_key("format"))
    else {
        return Err(miette!(
            code = "ssollama::state::format",
            help = "make one with `ssollama observe --json > FILE`",
            "{}",
            not_one()
        ));
    };
    let expected = crate::model::observed::OBSERVATION_FORMAT;
    let (format, raw) = if let Some(version) = map.remove(render::json::VERSION_KEY) {
        let number = version.as_str().and_then(|v| v.parse::<u32>().ok());
        (number, version.to_string())
    } else {
        let version = map.get("format").cloned().unwrap_or_default();
        let number = version.as_u64().and_then(|v| u32::try_from(v).ok());
        (number, version.to_string())
    };
    if format != Some(expected) {
        return Err(miette!(
            code = "ssollama::state::format",
            help =
                "make the observation again with this ssollama: `ssollama observe --json > FILE`",
            "`{}` is an observation in format {raw}; this ssollama reads format {expected}",
            state.display(),
        ));
    }
    map.insert("format".to_owned(), expected.into());
    serde_json::from_value(json)
        .into_diagnostic()
        .wrap_err_with(not_one)
}

/// The `observe --json` document: the observation with `format_version` as its one version key.
pub(super) fn observation_json(observed: &Observed) -> serde_json::Value {
    let mut json = serde_json::to_value(observed).unwrap_or_default();
    if let Some(map) = json.as_object_mut() {
        map.remove("format");
    }
    render::json::versioned(json)
}

/// `ssollama observe`.
pub(super) fn observe(ctx: &Context, args: &ObserveArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let observed = observation(ctx, &desired, None)?;
    if args.json {
        let mut text =
            serde_json::to_string_pretty(&observation_json(&observed)).into_diagnostic()?;
        text.push('\n');
        ctx.printer.out(&text);
    } else {
        ctx.printer.out(&render::observed_text(&observed));
    }
    Ok(ExitStatus::Success)
}

/// `ssollama plan`.
pub(super) fn plan(ctx: &Context, args: &PlanArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let observed = observation(ctx, &desired, args.state.as_deref())?;
    let plan = plan::plan(&desired, &observed);
    let fingerprint = plan::fingerprint(&observed);
    let json = render::json::plan_json(&plan, &fingerprint);
    if let Some(out) = &args.out {
        let mut text = serde_json::to_string_pretty(&json).into_diagnostic()?;
        text.push('\n');
        fs::write_atomic(out, text.as_bytes(), 0o600, None)?;
        ctx.printer.note(&format!(
            "saved the plan to `{}`; apply it with `ssollama apply {}`\n",
            home_path(out, ctx.env.home.as_deref()),
            out.display()
        ));
    }
    if args.json {
        let mut text = serde_json::to_string_pretty(&json).into_diagnostic()?;
        text.push('\n');
        ctx.printer.out(&text);
    } else {
        let state = args.state.as_deref().map(|file| file.display().to_string());
        ctx.printer.out(&render::text::plan_view(
            &plan,
            View {
                style: Style {
                    color: ctx.printer.color,
                },
                state: state.as_deref(),
                next_step: args.out.is_none() && !ctx.printer.quiet,
                brief: false,
            },
        ));
    }
    Ok(if !args.detailed_exitcode {
        ExitStatus::Success
    } else if !plan.blockers.is_empty() {
        // A blocked plan cannot be applied: not "changes present" but a problem to fix.
        ExitStatus::Failure
    } else if plan.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Changes
    })
}

/// `ssollama check`.
pub(super) fn check(ctx: &Context, args: &CheckArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    // Never read the Mac halfway through an apply (a saved observation needs no lock).
    let _lock = match &args.state {
        Some(_) => None,
        None => Some(apply::lock(ctx, &desired, false, args.lock_timeout)?),
    };
    let observed = observation(ctx, &desired, args.state.as_deref())?;
    // An unloaded warm model is not drift (`apply` warms it again); see `Plan::drift`.
    let plan = plan::plan(&desired, &observed).drift();
    if args.json {
        let fingerprint = plan::fingerprint(&observed);
        let mut json = render::json::plan_json(&plan, &fingerprint);
        json["in_sync"] = serde_json::Value::Bool(plan.is_empty() && plan.unknowns.is_empty());
        let mut text = serde_json::to_string_pretty(&json).into_diagnostic()?;
        text.push('\n');
        ctx.printer.out(&text);
    } else {
        ctx.printer.out(&render::text::check_lines(&plan));
    }
    Ok(if !plan.is_empty() {
        ExitStatus::Changes
    } else if plan.unknowns.is_empty() {
        ExitStatus::Success
    } else {
        // Nothing drifted that we can see, but "in sync" would be a claim we cannot make.
        let subject = args.state.as_ref().map_or_else(
            || "this Mac".to_owned(),
            |file| format!("the Mac observed in `{}`", file.display()),
        );
        ctx.printer.err(&format!(
            "error: part of {subject} is unknown; cannot tell whether it is in sync\n"
        ));
        ExitStatus::Failure
    })
}
