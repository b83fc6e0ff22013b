//! `ssollama warm [MODEL…]`: pull what is missing, load, keep loaded, report the time per model.

use std::time::{Duration, Instant};

use miette::{Report, miette};

use super::super::args::WarmArgs;
use super::super::{Context, ExitStatus};
use super::apply::{lock, progress, watch_signals};
use super::{load_config, runtime, settings};
use crate::apply::{Cancel, warm};
use crate::ollama::name::ModelName;

/// `ssollama warm`.
pub(in crate::cli) fn warm(ctx: &Context, args: &WarmArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let named: Vec<ModelName> = args
        .models
        .iter()
        .map(|m| ModelName::parse(m).map_err(|e| miette!("`{m}` is not a model name: {e}")))
        .collect::<Result<_, _>>()?;
    let models = warm::warm_targets(&desired, &named);
    if models.is_empty() {
        ctx.printer
            .note("nothing to warm: no model has `warm = true` in server.toml (or name some)\n");
        return Ok(ExitStatus::Success);
    }
    let settings = settings(ctx)?;
    let _lock = lock(ctx, &desired, false, args.lock_timeout)?;
    let client = settings.client(&desired.listen);
    let progress = progress(ctx, args.json);
    let cancel = Cancel::new();
    let results = runtime()?.block_on(async {
        let watcher = watch_signals(ctx, &cancel);
        // At boot the server may still be starting: wait for it, bounded.
        let deadline = Instant::now() + Duration::from_secs(args.wait);
        while client.version(settings.http_timeout).await.is_err()
            && Instant::now() < deadline
            && !cancel.is_cancelled()
        {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let results = warm::warm(&client, &models, settings.http_timeout, &progress, &cancel).await;
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        results
    });
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    for result in &results {
        if progress.is_json() {
            let mut json = serde_json::to_value(result).unwrap_or_default();
            // The event says what happened: a model that could not be warmed is not `warmed`.
            let event = if result.error.is_some() {
                "warm_failed"
            } else {
                "warmed"
            };
            json["event"] = serde_json::Value::from(event);
            progress.json_line(&json);
            continue;
        }
        let pulled = if result.pulled { ", pulled first" } else { "" };
        ctx.printer.extra(&match &result.error {
            None => format!(
                "  warm    {} ({:.1} s{pulled})\n",
                result.model,
                Duration::from_millis(result.millis).as_secs_f64()
            ),
            Some(error) => format!("  failed  {}: {error}\n", result.model),
        });
    }
    if failed == 0 {
        Ok(ExitStatus::Success)
    } else {
        Err(miette!(
            code = "ssollama::warm::failed",
            "{failed} of {} model(s) could not be warmed",
            results.len()
        ))
    }
}
