//! A [`Plan`] as text for people, in Terraform's vocabulary (`+ ~ - -/+`, `Plan: N to add, …`).
//!
//! Pure; readable without colour (markers carry the meaning, colour only repeats it). Entry
//! points: [`plan_text`] for `plan`/`apply`, [`check_lines`] for `check`.

use std::fmt::Write as _;

use serde_json::Value as Json;
use similar::TextDiff;

use super::{Style, column_table};
use crate::capacity::{Budget, gib};
use crate::plan::change::Tally;
use crate::plan::{Action, Change, Operation, Plan};

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

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

/// A detail line's value: [`show`], and a `size` in bytes as people read it (`4.7 GB`, as
/// `ollama list` prints it).
fn show_key(key: &str, value: &Json) -> String {
    match (key, value.as_u64()) {
        ("size", Some(bytes)) => super::human_bytes(bytes),
        _ => show(value),
    }
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
                        let _ = writeln!(
                            out,
                            "    {key}: {} -> {}",
                            show_key(key, old),
                            show_key(key, new)
                        );
                    }
                    (_, Some(value)) | (Some(value), None) => {
                        let _ = writeln!(out, "    {key}: {}", show_key(key, value));
                    }
                    (None, None) => {}
                }
            }
        }
        (Json::Object(only), Json::Null) | (Json::Null, Json::Object(only)) => {
            for (key, value) in only {
                let _ = writeln!(out, "    {key}: {}", show_key(key, value));
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

/// How [`plan_view`] shows a plan, besides colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct View<'a> {
    /// Colour or not.
    pub style: Style,
    /// The saved observation the plan was made from (`plan --state FILE`), as shown; `None`
    /// when it was made from this Mac.
    pub state: Option<&'a str>,
    /// End with what to run next (`plan`); not when `apply` is about to ask for confirmation.
    pub next_step: bool,
    /// One line per change with its reason, without diffs (apply's later rounds).
    pub brief: bool,
}

impl View<'_> {
    /// What the plan was made from, as the subject of a sentence.
    fn subject(&self) -> String {
        match self.state {
            Some(file) => format!("the Mac observed in `{file}`"),
            None => "this Mac".to_owned(),
        }
    }
}

/// The plan as text, as `plan` prints it from this Mac, with every detail and no next step.
pub(crate) fn plan_text(plan: &Plan, style: Style) -> String {
    plan_view(
        plan,
        View {
            style,
            ..View::default()
        },
    )
}

/// The plan as text: one line per change (so the list agrees with the counts), each change with
/// its details (a unified diff for the plist) unless `brief`, blockers, notes about unknowns, the
/// summary line and, with `next_step`, what to run next.
///
/// An empty plan says the observed Mac matches (followed by notes, if any).
pub(crate) fn plan_view(plan: &Plan, view: View<'_>) -> String {
    let style = view.style;
    let subject = view.subject();
    let mut out = String::new();
    if plan.is_empty() {
        if plan.unknowns.is_empty() {
            let _ = writeln!(
                out,
                "No changes. {} matches server.toml.",
                capital(&subject)
            );
        } else {
            let _ = writeln!(
                out,
                "No changes planned, but part of {subject} is unknown (see the notes)."
            );
        }
        capacity(&mut out, plan);
        notes(&mut out, plan);
        return out;
    }
    if !plan.changes.is_empty() {
        let verb = if view.state.is_some() {
            "would"
        } else {
            "will"
        };
        let _ = writeln!(out, "ssollama {verb} make these changes to {subject}:");
        for change in &plan.changes {
            let _ = write!(
                out,
                "  {} {} ({})",
                marker(style, change.action),
                change.resource,
                change.action.name()
            );
            if view.brief {
                let _ = write!(out, ": {}", change.reason);
            }
            out.push('\n');
        }
        if !view.brief {
            for change in &plan.changes {
                let _ = writeln!(
                    out,
                    "\n{} {}: {}",
                    marker(style, change.action),
                    paint(style, BOLD, &change.resource.to_string()),
                    change.action.name()
                );
                let _ = writeln!(out, "    why: {}", change.reason);
                details(&mut out, style, change);
            }
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
    capacity(&mut out, plan);
    notes(&mut out, plan);
    let (add, change, destroy) = plan.summary_counts();
    let counts = format!("{add} to add, {change} to change, {destroy} to destroy");
    let summary = match plan.blockers.len() {
        0 => format!("Plan: {counts}."),
        1 => format!("Plan: blocked by 1 problem; once it is fixed, {counts}."),
        n => format!("Plan: blocked by {n} problems; once they are fixed, {counts}."),
    };
    let _ = writeln!(out, "\n{}", paint(style, BOLD, &summary));
    if view.next_step {
        out.push_str(&next_step(plan, view.state));
    }
    out
}

/// The line after a plan's summary: what to run next.
fn next_step(plan: &Plan, state: Option<&str>) -> String {
    if !plan.blockers.is_empty() {
        return "Fix the problems under `Blocked:`, then run `ssollama plan` again.\n".to_owned();
    }
    match state {
        Some(_) => "To make these changes, run `ssollama apply` on the Mac that was observed.\n"
            .to_owned(),
        None => "To make these changes, run `ssollama apply` (or `ssollama plan --out FILE`, then `ssollama apply FILE`).\n".to_owned(),
    }
}

/// `text` with its first letter upper-case.
fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn capacity(out: &mut String, plan: &Plan) {
    if let Some(budget) = &plan.capacity {
        out.push('\n');
        out.push_str(&budget_table(budget));
    }
}

/// The budget as `plan` shows it: the limit and where it comes from, one row per warm model
/// (context × sequences, weights, KV cache and its type, margin, total) and the sum against the
/// limit.
pub(crate) fn budget_table(budget: &Budget) -> String {
    let mut rows = vec![vec![
        "model".to_owned(),
        "context".to_owned(),
        "weights".to_owned(),
        "KV cache".to_owned(),
        "margin".to_owned(),
        "total".to_owned(),
    ]];
    for f in &budget.models {
        rows.push(vec![
            f.name.clone(),
            format!("{} × {}", f.context, f.parallel),
            gib(f.weights),
            f.kv_cache.map_or_else(
                || "unknown".to_owned(),
                |kv| format!("{} {}", gib(kv), f.kv_cache_type.as_str()),
            ),
            gib(f.margin),
            gib(f.total),
        ]);
    }
    let mut out = format!("Capacity: Metal lets Ollama use {}\n", budget.limit.text());
    out.push_str(&column_table(&rows));
    let verdict = match &budget.advice {
        None => format!("fits ({} to spare)", gib(budget.limit.bytes - budget.total)),
        Some(advice) => format!("does not fit (over by {})", gib(advice.over_by)),
    };
    let _ = writeln!(
        out,
        "  sum {} of {}: {verdict}",
        gib(budget.total),
        gib(budget.limit.bytes)
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

/// One line per drift (`drift: network.service["Ethernet"]: address differs (address
/// 192.168.250.99, declared 192.168.250.20)`), every reason of a resource on a line of its own,
/// per blocker (`blocked: conflict.port: …`) and per fact that could not be observed
/// (`unknown: …`), for `ssollama check` and its cron mail. `warm` changes are not drift and are
/// left out. Empty when the Mac is known to be in sync.
pub(crate) fn check_lines(plan: &Plan) -> String {
    let mut out = String::new();
    // Warming is an action, not drift (`Plan::drift`).
    for change in plan.changes.iter().filter(|c| c.action != Action::Warm) {
        let _ = write!(out, "drift: {}: {}", change.resource, change.reason);
        let values = observed_and_declared(change);
        if !values.is_empty() {
            let _ = write!(out, " ({})", values.join("; "));
        }
        out.push('\n');
    }
    for blocker in &plan.blockers {
        let _ = writeln!(out, "blocked: {}: {}", blocker.resource, blocker.problem);
    }
    for note in &plan.unknowns {
        let _ = writeln!(out, "unknown: {note}");
    }
    out
}

/// `key observed, declared value` for every key whose value differs between a change's `before`
/// and `after` objects (a plist's text is summed up by its reason instead).
fn observed_and_declared(change: &Change) -> Vec<String> {
    let (Json::Object(before), Json::Object(after)) = (&change.before, &change.after) else {
        return Vec::new();
    };
    after
        .iter()
        .filter_map(|(key, declared)| {
            let observed = before.get(key)?;
            (observed != declared)
                .then(|| format!("{key} {}, declared {}", show(observed), show(declared)))
        })
        .collect()
}
