//! `ssollama verify`: probe, judge, report; exit 1 when a check failed.

use miette::{IntoDiagnostic, Report};

use super::{load_config, runtime, settings};
use crate::cli::args::VerifyArgs;
use crate::cli::{Context, ExitStatus, user_display};
use crate::sys::fs;
use crate::verify::{self, Options, report};

/// `ssollama verify`.
pub(in crate::cli) fn run(
    ctx: &Context,
    args: &VerifyArgs,
    verbose: bool,
) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let settings = settings(ctx)?;
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
            user_display(path, ctx.env.home.as_deref())
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
