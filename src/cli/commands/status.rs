//! `ssollama status`: observe once, print the one-screen summary (or its JSON document).

use std::time::{SystemTime, UNIX_EPOCH};

use miette::{IntoDiagnostic, Report};

use super::{load_config, observation};
use crate::cli::args::StatusArgs;
use crate::cli::{Context, ExitStatus};
use crate::render::status;

/// `ssollama status`.
pub(in crate::cli) fn run(ctx: &Context, args: &StatusArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let observed = observation(ctx, &desired, None)?;
    // The one clock read: expiry times are shown relative to now, like `ollama ps`.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let doc = status::document(&desired, &observed, now);
    if args.json {
        let mut text = serde_json::to_string_pretty(&doc).into_diagnostic()?;
        text.push('\n');
        ctx.printer.out(&text);
    } else {
        ctx.printer.out(&status::text(&doc, &observed.host.home));
    }
    Ok(ExitStatus::Success)
}
