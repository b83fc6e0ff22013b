//! A [`Verdict`] as text (for people), JSON (for scripts) and `JUnit` XML (for CI dashboards).
//! Pure: returns strings; the CLI prints or writes them.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use super::{Group, Status, Verdict};
use crate::text::{Xml, xml_escape};

/// `N passed, N failed, N skipped (T checks)`, with `, N warned` after the skips when a check
/// warned.
pub(crate) fn summary_line(verdict: &Verdict) -> String {
    let (passed, failed, skipped) = verdict.counts();
    let total = verdict.checks.len();
    let warned = match verdict.warned() {
        0 => String::new(),
        n => format!(", {n} warned"),
    };
    format!("{passed} passed, {failed} failed, {skipped} skipped{warned} ({total} checks)")
}

/// The check a SKIP waits for, when its hint is ``fix `ID` first``.
fn prerequisite(check: &super::CheckResult) -> Option<&str> {
    if check.status != Status::Skip {
        return None;
    }
    check
        .hint
        .as_deref()?
        .strip_prefix("fix `")?
        .strip_suffix("` first")
}

/// The human report: a heading, the checks by group, then the summary line. `verbose` adds the
/// expected value of passing checks, each request and reply (truncated) and timings.
pub(crate) fn text(verdict: &Verdict, verbose: bool) -> String {
    let mut out = format!("Verifying {}", verdict.url);
    match &verdict.model {
        Some(model) => {
            let _ = writeln!(out, " (model {}: {})", model.name, model.source);
        }
        None => out.push_str(" (no model to test with)\n"),
    }
    let mut group: Option<Group> = None;
    let mut collapsed: Vec<&str> = Vec::new();
    for check in &verdict.checks {
        // The SKIPs of one failure are one line, at the first of them, naming the failed check.
        let waits_for = prerequisite(check);
        if let Some(id) = waits_for
            && collapsed.contains(&id)
        {
            continue;
        }
        if group != Some(check.group) {
            group = Some(check.group);
            let _ = write!(out, "\n{}\n", check.group.title());
        }
        let label = check.status.label();
        if let Some(id) = waits_for {
            let same = verdict
                .checks
                .iter()
                .filter(|c| prerequisite(c) == Some(id))
                .count();
            if same > 1 {
                collapsed.push(id);
                let title = verdict
                    .checks
                    .iter()
                    .find(|c| c.id == id)
                    .map_or(id, |c| c.name.as_str());
                let _ = writeln!(
                    out,
                    "  {label}  {same} checks skipped because `{title}` failed: {}",
                    check.received
                );
                if verbose {
                    for other in verdict
                        .checks
                        .iter()
                        .filter(|c| prerequisite(c) == Some(id))
                    {
                        let _ = writeln!(out, "          {}", other.name);
                    }
                }
                continue;
            }
        }
        match check.status {
            Status::Pass => {
                let _ = writeln!(out, "  {label}  {}: {}", check.name, check.received);
                if verbose {
                    let _ = writeln!(out, "          expected: {}", check.expected);
                }
            }
            Status::Fail => {
                let _ = writeln!(out, "  {label}  {}", check.name);
                let _ = writeln!(out, "          expected: {}", check.expected);
                let _ = writeln!(out, "          received: {}", check.received);
                if let Some(hint) = &check.hint {
                    let _ = writeln!(out, "          hint: {hint}");
                }
            }
            Status::Skip => {
                let _ = writeln!(out, "  {label}  {}: {}", check.name, check.received);
                if let Some(hint) = &check.hint {
                    let _ = writeln!(out, "          to enable: {hint}");
                }
            }
            Status::Warn => {
                let _ = writeln!(out, "  {label}  {}: {}", check.name, check.received);
                if verbose {
                    let _ = writeln!(out, "          expected: {}", check.expected);
                }
                if let Some(hint) = &check.hint {
                    let _ = writeln!(out, "          hint: {hint}");
                }
            }
        }
        if verbose {
            for line in &check.trace {
                let _ = writeln!(out, "          {line}");
            }
        }
    }
    let _ = write!(out, "\n{}\n", summary_line(verdict));
    out
}

/// The `verify --json` document (specs/verify.md).
pub(crate) fn json(verdict: &Verdict) -> Json {
    let (passed, failed, skipped) = verdict.counts();
    let checks: Vec<Json> = verdict
        .checks
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "group": c.group,
                "name": c.name,
                "status": c.status,
                "expected": c.expected,
                "received": c.received,
                "hint": c.hint,
                "elapsed_ms": c.elapsed_ms,
            })
        })
        .collect();
    crate::render::json::versioned(json!({
        "url": verdict.url,
        "model": verdict.model.as_ref().map(|m| json!({ "name": m.name, "source": m.source, "kind": m.kind })),
        "passed": failed == 0,
        "summary": { "passed": passed, "failed": failed, "skipped": skipped, "warned": verdict.warned() },
        "checks": checks,
    }))
}

fn seconds(ms: Option<u64>) -> String {
    let ms = ms.unwrap_or(0);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `JUnit` XML: one `<testsuite>` per group, one `<testcase>` per check; a failure carries the
/// expected and received values as its message and the hint as its text; a skip its reason.
pub(crate) fn junit(verdict: &Verdict) -> String {
    let (_, failed, skipped) = verdict.counts();
    let total = verdict.checks.len();
    let time: u64 = verdict.checks.iter().filter_map(|c| c.elapsed_ms).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"ssollama verify\" tests=\"{total}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">",
        seconds(Some(time))
    );
    let mut groups: Vec<Group> = verdict.checks.iter().map(|c| c.group).collect();
    groups.dedup();
    for group in groups {
        let checks: Vec<_> = verdict.checks.iter().filter(|c| c.group == group).collect();
        let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
        let group_time: u64 = checks.iter().filter_map(|c| c.elapsed_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
            xml_escape(group.title(), Xml::Attribute),
            checks.len(),
            count(Status::Fail),
            count(Status::Skip),
            seconds(Some(group_time))
        );
        for check in checks {
            let head = format!(
                "    <testcase classname=\"ssollama.verify.{}\" name=\"{}\" time=\"{}\"",
                group.key(),
                xml_escape(&check.name, Xml::Attribute),
                seconds(check.elapsed_ms)
            );
            match check.status {
                Status::Pass => {
                    let _ = writeln!(out, "{head}/>");
                }
                // JUnit has no warning: a passed test case whose output says why it warned.
                Status::Warn => {
                    let _ = writeln!(out, "{head}>");
                    let _ = writeln!(
                        out,
                        "      <system-out>{}</system-out>",
                        xml_escape(
                            &format!(
                                "warning: {} (hint: {})",
                                check.received,
                                check.hint.as_deref().unwrap_or("none")
                            ),
                            Xml::Text
                        )
                    );
                    let _ = writeln!(out, "    </testcase>");
                }
                Status::Fail => {
                    let _ = writeln!(out, "{head}>");
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        xml_escape(
                            &format!("expected: {}; received: {}", check.expected, check.received),
                            Xml::Attribute
                        ),
                        xml_escape(&check.id, Xml::Attribute),
                        xml_escape(check.hint.as_deref().unwrap_or(""), Xml::Attribute)
                    );
                    let _ = writeln!(out, "    </testcase>");
                }
                Status::Skip => {
                    let _ = writeln!(out, "{head}>");
                    let message = match &check.hint {
                        Some(hint) => format!("{} (to enable: {hint})", check.received),
                        None => check.received.clone(),
                    };
                    let _ = writeln!(
                        out,
                        "      <skipped message=\"{}\"/>",
                        xml_escape(&message, Xml::Attribute)
                    );
                    let _ = writeln!(out, "    </testcase>");
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}
