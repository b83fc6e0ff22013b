//! `ssollama verify`: probe, judge, report; exit 1 when a check failed.

use miette::{IntoDiagnostic, Report};

use super::{load_config, runtime, settings};
use crate::cli::args::VerifyArgs;
use crate::cli::{Context, ExitStatus};
use crate::sys::fs;
use crate::text::home_path;
use crate::verify::{self, Options, report};

/// `ssollama verify`.
pub(in crate::cli) fn run(
    ctx: &Context,
    args: &VerifyArgs,
    verbose: bool,
) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let settings = settings(ctx)?;
    if let Some(path) = &args.junit {
        // Found out now, not after a minute of model checks.
        junit_writable(path)?;
    }
    let options = Options {
        skip_model_tests: args.skip_model_tests,
        skip_anthropic_tests: args.skip_anthropic_tests,
        skip_router: args.skip_router,
        model: args.model.clone(),
    };
    let facts = runtime()?.block_on(verify::probe(&desired, &settings, &options));
    let verdict = verify::judge(&desired, &facts, &options);
    if let Some(path) = &args.junit {
        fs::write_atomic(path, report::junit(&verdict).as_bytes(), 0o644, None)?;
        ctx.printer.note(&format!(
            "wrote the JUnit report to `{}`\n",
            home_path(path, ctx.env.home.as_deref())
        ));
    }
    if args.json {
        let mut text = serde_json::to_string_pretty(&report::json(&verdict)).into_diagnostic()?;
        text.push('\n');
        ctx.printer.out(&text);
    } else {
        ctx.printer.out(&report::text(&verdict, verbose));
    }
    Ok(if verdict.passed() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Whether `--junit FILE` can be written: not a directory, in a directory that exists.
fn junit_writable(path: &std::path::Path) -> Result<(), Report> {
    let shown = path.display();
    if let Err(fs::FsError::Read { source, .. }) = fs::read_optional_bytes(path)
        && source.kind() == std::io::ErrorKind::IsADirectory
    {
        return Err(miette::miette!(
            code = "ssollama::verify::junit",
            help = format!("name a file: `--junit {shown}/verify.xml`"),
            "`--junit {shown}` is a directory; no check was run"
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && fs::meta(dir).is_none()
    {
        return Err(miette::miette!(
            code = "ssollama::verify::junit",
            help = format!(
                "create it first (`mkdir -p {}`), or name another file",
                dir.display()
            ),
            "the directory of `--junit {shown}` does not exist; no check was run"
        ));
    }
    Ok(())
}
