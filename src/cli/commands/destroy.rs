//! `ssollama destroy`: remove what ssollama manages (the job and its plist; with `--logs`,
//! `--network`, `--models` also those), with the same lock, confirmation, journal and executor
//! as `apply`.

use std::fmt::Write as _;
use std::time::Duration;

use miette::Report;

use super::super::args::DestroyArgs;
use super::super::{Context, ExitStatus};
use super::apply::{
    Guard, Wording, apply_settings, confirm, converge_and_finish, lock_and_observe, preflight,
    progress, set_phase, show_plan,
};
use super::load_config;
use crate::apply::Timing;
use crate::model::{Desired, Observed};
use crate::plan::Plan;
use crate::plan::destroy::{DestroyOptions, destroy_plan, models_unknown};
use crate::sys::fs;

/// `ssollama destroy`.
pub(in crate::cli) fn destroy(ctx: &Context, args: &DestroyArgs) -> Result<ExitStatus, Report> {
    let desired = load_config(ctx)?;
    let guard = Guard::install(ctx.printer);
    // A log path that is server.toml itself (`[logs]` pointing at the config) is never removed.
    let config = fs::canonical(&ctx.config_path);
    let keep = [&desired.logs.stdout, &desired.logs.stderr]
        .into_iter()
        .filter(|log| config.is_some() && fs::canonical(log) == config)
        .cloned()
        .collect();
    let options = DestroyOptions {
        keep,
        logs: args.logs,
        network: args.network,
        models: args.models,
    };
    let timing = Timing {
        bootout_wait: Duration::from_secs(args.bootout_timeout),
        ..Timing::default()
    };
    let mut settings = apply_settings(ctx, false, 2, timing)?;
    // After a bootout Ollama is gone, so e.g. the model list becomes unknown: that is expected.
    settings.strict_unknowns = false;
    let (_lock, rt, observed) =
        lock_and_observe(ctx, guard.as_ref(), &desired, &settings, args.lock_timeout)?;
    if args.models
        && let Some(reason) = models_unknown(&desired, &observed)
    {
        // Removing the job but no model, then reporting success, would be a lie.
        return Err(miette::miette!(
            code = "ssollama::destroy::models_unknown",
            help = "start the server (`ssollama apply`) and run `ssollama destroy --models` again, or run `ssollama destroy` without `--models`",
            "cannot remove the models server.toml lists: {reason}; nothing was changed"
        ));
    }
    let outcome = left_behind(&options, desired.network.is_some());
    let planner = move |d: &Desired, o: &Observed| -> Plan { destroy_plan(d, o, &options) };
    let plan = planner(&desired, &observed);
    preflight(&desired, &plan, &settings)?;
    let progress = progress(ctx, args.json);
    show_plan(ctx, &progress, &plan, &observed);
    if !args.models && !progress.is_json() {
        ctx.printer
            .note("note: models are kept (`--models` removes the ones server.toml lists)\n");
    }
    if plan.changes.is_empty() {
        if plan.unknowns.is_empty() {
            return Ok(ExitStatus::Success);
        }
        // Nothing planned because something could not be observed: not "nothing left".
        return Err(miette::miette!(
            code = "ssollama::destroy::unresolved",
            help = "fix what the notes above describe and run `ssollama destroy` again",
            "part of this Mac could not be observed, so ssollama cannot tell what is left to remove"
        ));
    }
    set_phase(guard.as_ref(), "waiting for the confirmation");
    if !confirm(ctx, settings.machine().interactive, args.yes, "destroy")? {
        return Ok(ExitStatus::Failure);
    }
    converge_and_finish(
        ctx,
        guard.as_ref(),
        &rt,
        &desired,
        (observed, plan),
        &planner,
        &settings,
        &progress,
        &Wording {
            verb: "Destroy",
            outcome,
            next: None,
        },
    )
}

/// What a successful destroy leaves, honestly: the job and its plist are gone; what the options
/// did not ask for is kept, and a kept static IP is still server.toml's.
fn left_behind(options: &DestroyOptions, has_network: bool) -> String {
    let mut removed = vec!["the job and its plist"];
    let mut kept = Vec::new();
    if options.logs {
        removed.push("the log files");
    } else {
        kept.push("log files");
    }
    if options.models {
        removed.push("the models server.toml lists");
    } else {
        kept.push("models");
    }
    let mut text = if !has_network {
        "Nothing of server.toml is installed now".to_owned()
    } else if options.network {
        removed.push("the static IP (DHCP again)");
        "Nothing of server.toml is installed now".to_owned()
    } else {
        "Only server.toml's static IP is still set (`--network` reverts it to DHCP)".to_owned()
    };
    let kept = if kept.is_empty() {
        "nothing".to_owned()
    } else {
        kept.join(", ")
    };
    let _ = write!(text, ": removed {}; kept {kept}.", removed.join(", "));
    text
}
