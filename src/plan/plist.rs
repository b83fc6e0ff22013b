//! `launchd.plist`: the job's plist file (create, update by value, replace when unusable).

use std::path::Path;

use serde_json::{Value as Json, json};

use super::{Action, Address, Change, Context, Operation, Plan};
use crate::launchd::plist::{canonical_xml, differing_keys, parse_plist, semantically_equal};
use crate::model::Observed;
use crate::model::desired::Desired;
use crate::model::observed::PlistFile;
use crate::model::plist_rule::others_may_write;

/// What the plan does to the plist file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PlistOutcome {
    /// The file already says what `server.toml` wants.
    Same,
    /// The file is rewritten with the same content (owner or mode fixed): the job needs no reload.
    Rewritten,
    /// The file's content changes in this plan.
    Changing,
    /// The file could not be read: neither it nor the job is touched.
    Unknown,
}

/// Registered in [`super::RESOURCES`]: tells the job what happens to the file.
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    cx.plist = plan_plist(cx.desired, cx.observed, &cx.path, &cx.dict, plan);
}

/// Step 4: the plist file: create, update (by value) or replace (unparseable).
fn plan_plist(
    desired: &Desired,
    observed: &Observed,
    path: &Path,
    dict: &plist::Dictionary,
    plan: &mut Plan,
) -> PlistOutcome {
    let value = plist::Value::Dictionary(dict.clone());
    let contents = canonical_xml(&value);
    let write = Operation::WritePlist {
        path: path.to_owned(),
        contents: contents.clone(),
    };
    // Agents must belong to the user who loads them, daemons to root; neither may be group- or
    // world-writable, or launchd refuses the file (docs/macos.md §4.1).
    let owner = desired.service.mode.plist_owner(observed.host.uid);
    let mut outcome = PlistOutcome::Changing;
    let (action, reason, before) = match &observed.plist {
        PlistFile::Absent { .. } => (Action::Create, "file is absent".to_owned(), Json::Null),
        PlistFile::Unreadable { reason, .. } => {
            plan.unknowns.push(format!(
                "{}: `{}` could not be read ({reason}); the file and the job are left alone",
                Address::Plist,
                path.display()
            ));
            return PlistOutcome::Unknown;
        }
        PlistFile::Present {
            text,
            owner: file_owner,
            mode,
            binary,
            ..
        } => match parse_plist(text) {
            Err(error) => (
                Action::Replace,
                format!("file is unusable ({error})"),
                json!(text),
            ),
            Ok(existing) => {
                let before = canonical_xml(&existing);
                if !semantically_equal(&existing, &value) {
                    let keys = match existing.as_dictionary() {
                        Some(old) => differing_keys(old, dict),
                        None => Vec::new(),
                    };
                    let count = if keys.len() == 1 {
                        "1 key".to_owned()
                    } else {
                        format!("{} keys", keys.len())
                    };
                    (
                        Action::Update,
                        format!("file differs ({count}: {})", keys.join(", ")),
                        json!(before),
                    )
                } else if *file_owner != owner {
                    outcome = PlistOutcome::Rewritten;
                    (
                        Action::Update,
                        format!("file is owned by uid {file_owner}, not {owner}"),
                        json!(before),
                    )
                } else if others_may_write(*mode) {
                    outcome = PlistOutcome::Rewritten;
                    (
                        Action::Update,
                        format!("file mode {mode:o} lets others write it; launchd refuses it"),
                        json!(before),
                    )
                } else if *binary {
                    // launchd reads it, but people and `plan`'s diffs read XML: same content, so
                    // the job needs no reload.
                    outcome = PlistOutcome::Rewritten;
                    (
                        Action::Update,
                        "binary plist; rewritten as XML".to_owned(),
                        json!(before),
                    )
                } else {
                    return PlistOutcome::Same;
                }
            }
        },
    };
    plan.changes.push(Change {
        resource: Address::Plist,
        action,
        reason,
        before,
        after: json!(contents),
        operation: write,
    });
    outcome
}
