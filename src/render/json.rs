//! A [`Plan`] as JSON for machines (`plan --json`): a stable format documented in
//! `specs/plan-json.md`, versioned by [`FORMAT_VERSION`], like every other `--json` document
//! and event line ([`versioned`], specs/json.md).
//!
//! Pure. Entry points: [`plan_json`], [`versioned`], [`error_json`].

use serde_json::{Value as Json, json};

use crate::capacity::Budget;
use crate::plan::Plan;

/// `format_version` of every `--json` document and NDJSON event line (a string); bumped on any
/// incompatible change.
pub(crate) const FORMAT_VERSION: &str = "1";

/// The one versioning key of every `--json` document and event line.
pub(crate) const VERSION_KEY: &str = "format_version";

/// `value` with [`VERSION_KEY`] set to [`FORMAT_VERSION`] (when it is an object).
#[must_use]
pub(crate) fn versioned(mut value: Json) -> Json {
    if let Json::Object(map) = &mut value {
        map.insert(VERSION_KEY.to_owned(), Json::from(FORMAT_VERSION));
    }
    value
}

/// The `error` event of `--json` mode: the diagnostic's code, message and help line.
pub(crate) fn error_json(code: Option<&str>, message: &str, help: Option<&str>) -> Json {
    versioned(json!({
        "event": "error",
        "code": code,
        "message": message,
        "help": help,
    }))
}

/// The plan as the JSON document of `specs/plan-json.md`; `fingerprint` is
/// [`crate::plan::fingerprint`] of the observation the plan was made from.
pub(crate) fn plan_json(plan: &Plan, fingerprint: &str) -> Json {
    let changes: Vec<Json> = plan
        .changes
        .iter()
        .map(|change| {
            json!({
                "resource": change.resource,
                "action": change.action.name(),
                "reason": change.reason,
                "before": change.before,
                "after": change.after,
                "operation": serde_json::to_value(&change.operation).unwrap_or(Json::Null),
            })
        })
        .collect();
    let blockers: Vec<Json> = plan
        .blockers
        .iter()
        .map(|b| json!({ "resource": b.resource, "problem": b.problem, "fix": b.fix }))
        .collect();
    let (add, change, destroy) = plan.summary_counts();
    let mut document = json!({
        "fingerprint": fingerprint,
        "changes": changes,
        "blockers": blockers,
        "unknowns": plan.unknowns,
        "summary": { "add": add, "change": change, "destroy": destroy },
    });
    if let (Some(budget), Json::Object(map)) = (&plan.capacity, &mut document) {
        map.insert("capacity".to_owned(), capacity_json(budget));
    }
    versioned(document)
}

/// The budget of `plan --json` (`specs/plan-json.md`): the limit, each warm model's
/// footprint, the sum, whether it fits and the advice (`null` when it fits).
pub(crate) fn capacity_json(budget: &Budget) -> Json {
    let mut value = serde_json::to_value(budget).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut value {
        map.insert("fits".to_owned(), Json::from(budget.fits()));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ollama::name::ModelName;
    use crate::plan::{Action, Address, Blocker, Change, Operation};

    #[test]
    fn plan_json_has_the_documented_shape() {
        let plan = Plan {
            changes: vec![Change {
                resource: Address::model("llama3:latest"),
                action: Action::Pull,
                reason: "model is not installed".to_owned(),
                before: Json::Null,
                after: json!({ "name": "llama3:latest" }),
                operation: Operation::PullModel {
                    name: ModelName::parse("llama3").unwrap(),
                },
            }],
            blockers: vec![Blocker {
                resource: Address::Port,
                problem: "`python3` (pid 7) already listens on 127.0.0.1:11434".to_owned(),
                fix: "stop that process".to_owned(),
            }],
            unknowns: vec!["launchd.job: no GUI session".to_owned()],
            capacity: None,
        };
        insta::assert_json_snapshot!(plan_json(&plan, "ab12"), @r#"
        {
          "blockers": [
            {
              "fix": "stop that process",
              "problem": "`python3` (pid 7) already listens on 127.0.0.1:11434",
              "resource": "conflict.port"
            }
          ],
          "changes": [
            {
              "action": "pull",
              "after": {
                "name": "llama3:latest"
              },
              "before": null,
              "operation": {
                "name": "llama3",
                "op": "pull_model"
              },
              "reason": "model is not installed",
              "resource": "ollama.model[\"llama3:latest\"]"
            }
          ],
          "fingerprint": "ab12",
          "format_version": "1",
          "summary": {
            "add": 1,
            "change": 0,
            "destroy": 0
          },
          "unknowns": [
            "launchd.job: no GUI session"
          ]
        }
        "#);
    }
}
