//! A [`Plan`] as text for people, in Terraform's vocabulary (`+ ~ - -/+`, `Plan: N to add, …`).
//!
//! Pure; readable without colour (markers carry the meaning, colour only repeats it). Entry
//! points: [`plan_text`] for `plan`/`apply`, [`check_lines`] for `check`.

use std::fmt::Write as _;

use serde_json::Value as Json;
use similar::TextDiff;

use super::Style;
use crate::plan::change::Tally;
use crate::plan::{Action, Change, Operation, Plan};

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The first line of an empty plan.
pub const NO_CHANGES: &str = "No changes. This Mac matches server.toml.";

/// The empty plan's line when part of the Mac could not be observed: nothing is planned, but
/// ssollama cannot claim the Mac matches.
pub const NO_CHANGES_UNKNOWN: &str =
    "No changes planned, but part of this Mac could not be observed (see the notes).";

/// The name of an action as `plan --json` spells it (`set-network`, `pull`, …).
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Replace => "replace",
        Action::Reload => "reload",
        Action::Restart => "restart",
        Action::Install => "install",
        Action::SetNetwork => "set-network",
        Action::SetDns => "set-dns",
        Action::Pull => "pull",
        Action::Remove => "remove",
        Action::Warm => "warm",
    }
}

fn paint(style: Style, code: &str, text: &str) -> String {
    if style.color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

fn marker(style: Style, action: Action) -> String {
    let code = match action.tally() {
        Tally::Add => GREEN,
        Tally::Change => YELLOW,
        Tally::Destroy | Tally::Replace => RED,
    };
    paint(style, code, action.marker())
}

/// `(add, change, destroy)` counts; a replace counts as one add and one destroy.
pub fn summary_counts(plan: &Plan) -> (usize, usize, usize) {
    let (mut add, mut change, mut destroy) = (0, 0, 0);
    for item in &plan.changes {
        match item.action.tally() {
            Tally::Add => add += 1,
            Tally::Change => change += 1,
            Tally::Destroy => destroy += 1,
            Tally::Replace => {
                add += 1;
                destroy += 1;
            }
        }
    }
    (add, change, destroy)
}

/// A JSON value as one line of text: strings bare, arrays as `[a, b]`, null as `(none)`.
fn show(value: &Json) -> String {
    match value {
        Json::Null => "(none)".to_owned(),
        Json::String(text) => text.clone(),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// The unified diff of a file, indented, coloured per line.
fn file_diff(out: &mut String, style: Style, path: &str, before: &str, after: &str) {
    let diff = TextDiff::from_lines(before, after);
    let on_disk = if before.is_empty() {
        "/dev/null".to_owned()
    } else {
        format!("{path} (on disk)")
    };
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&on_disk, &format!("{path} (planned)"))
        .to_string();
    for line in text.lines() {
        let code = if line.starts_with("@@") {
            CYAN
        } else if line.starts_with('+') {
            GREEN
        } else if line.starts_with('-') {
            RED
        } else {
            ""
        };
        let line = if code.is_empty() {
            line.to_owned()
        } else {
            paint(style, code, line)
        };
        let _ = writeln!(out, "    {line}");
    }
}

/// The detail lines of one change: a file diff, or `key: before -> after` lines.
fn details(out: &mut String, style: Style, change: &Change) {
    if let Operation::WritePlist { path, .. } = &change.operation {
        let before = change.before.as_str().unwrap_or("");
        let after = change.after.as_str().unwrap_or("");
        file_diff(out, style, &path.display().to_string(), before, after);
        return;
    }
    match (&change.before, &change.after) {
        (Json::Object(before), Json::Object(after)) => {
            let mut keys: Vec<&String> = after.keys().chain(before.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                // A key on one side only is an attribute of that side, not a change.
                match (before.get(key), after.get(key)) {
                    (Some(old), Some(new)) if old != new => {
                        let _ = writeln!(out, "    {key}: {} -> {}", show(old), show(new));
                    }
                    (_, Some(value)) | (Some(value), None) => {
                        let _ = writeln!(out, "    {key}: {}", show(value));
                    }
                    (None, None) => {}
                }
            }
        }
        (Json::Object(only), Json::Null) | (Json::Null, Json::Object(only)) => {
            for (key, value) in only {
                let _ = writeln!(out, "    {key}: {}", show(value));
            }
        }
        (Json::Null, Json::Null) => {}
        (before, after) if before.is_null() => {
            let _ = writeln!(out, "    {}", show(after));
        }
        (before, after) => {
            let _ = writeln!(out, "    {} -> {}", show(before), show(after));
        }
    }
}

/// The plan as text: the affected resources, each change with its details (a unified diff for
/// the plist), blockers, notes about unknowns, and the summary line.
///
/// An empty plan is [`NO_CHANGES`] (followed by notes, if any).
pub fn plan_text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str(if plan.unknowns.is_empty() {
            NO_CHANGES
        } else {
            NO_CHANGES_UNKNOWN
        });
        out.push('\n');
        notes(&mut out, plan);
        return out;
    }
    if !plan.changes.is_empty() {
        out.push_str("ssollama will make these changes:\n");
        let mut seen: Vec<&str> = Vec::new();
        for change in &plan.changes {
            if seen.contains(&change.resource.as_str()) {
                continue;
            }
            seen.push(&change.resource);
            let _ = writeln!(
                out,
                "  {} {}",
                marker(style, change.action),
                change.resource
            );
        }
        for change in &plan.changes {
            let _ = writeln!(
                out,
                "\n{} {}: {}",
                marker(style, change.action),
                paint(style, BOLD, &change.resource),
                action_name(change.action)
            );
            let _ = writeln!(out, "    why: {}", change.reason);
            details(&mut out, style, change);
        }
    }
    if !plan.blockers.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{}",
            paint(
                style,
                RED,
                "Blocked: apply will not start until these are fixed:"
            )
        );
        for blocker in &plan.blockers {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint(style, RED, "!"),
                blocker.resource,
                blocker.problem
            );
            let _ = writeln!(out, "    fix: {}", blocker.fix);
        }
    }
    notes(&mut out, plan);
    let (add, change, destroy) = summary_counts(plan);
    let _ = writeln!(
        out,
        "\n{}",
        paint(
            style,
            BOLD,
            &format!("Plan: {add} to add, {change} to change, {destroy} to destroy.")
        )
    );
    out
}

fn notes(out: &mut String, plan: &Plan) {
    if plan.unknowns.is_empty() {
        return;
    }
    out.push_str("\nNotes:\n");
    for note in &plan.unknowns {
        let _ = writeln!(out, "  - {note}");
    }
}

/// One line per drifted resource (`drift: launchd.plist: file differs (2 keys: …)`), per
/// blocker (`blocked: conflict.port: …`) and per fact that could not be observed
/// (`unknown: …`), for `ssollama check`. `warm` changes are not drift and are left out. Empty
/// when the Mac is known to be in sync.
pub fn check_lines(plan: &Plan) -> String {
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    // Warming is an action, not drift (`Plan::drift`).
    for change in plan.changes.iter().filter(|c| c.action != Action::Warm) {
        if seen.contains(&change.resource.as_str()) {
            continue;
        }
        seen.push(&change.resource);
        let _ = writeln!(out, "drift: {}: {}", change.resource, change.reason);
    }
    for blocker in &plan.blockers {
        let _ = writeln!(out, "blocked: {}: {}", blocker.resource, blocker.problem);
    }
    for note in &plan.unknowns {
        let _ = writeln!(out, "unknown: {note}");
    }
    out
}
