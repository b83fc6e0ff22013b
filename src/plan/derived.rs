//! `ollama.model[…]` of a derived model (`[[models]] context_length`, `[models.parameters]`,
//! `serve_as`): `create` when Ollama does not have it, `replace` when its parent or its
//! parameters differ (docs/ollama.md §12). Planned by `models` after the pulls (the base must
//! be there) and before the warming (the derived model is what is warmed).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value as Json, json};

use super::{Action, Address, Change, Operation, Plan};
use crate::model::Knowable;
use crate::model::desired::{DerivedModel, Desired, ParameterValue};
use crate::model::observed::ShownModel;
use crate::ollama::name::ModelName;

/// What the models' planner knows when it comes to the derived models.
pub(super) struct Seen<'a> {
    /// `/api/show` by display name.
    pub shown: &'a BTreeMap<String, Knowable<Option<ShownModel>>>,
    /// Whether Ollama lists the model (`/api/tags`); `None` when the list is unknown.
    pub installed: &'a dyn Fn(&ModelName) -> Option<bool>,
    /// The models pulled in this plan.
    pub pulled: &'a BTreeSet<ModelName>,
}

/// The parameters `POST /api/create` is sent for `derived`: `[models.parameters]` and
/// `num_ctx` = `context_length`, as JSON.
pub(crate) fn create_parameters(derived: &DerivedModel) -> BTreeMap<String, Json> {
    let mut out: BTreeMap<String, Json> = derived
        .parameters
        .iter()
        .map(|(name, value)| (name.clone(), parameter_json(value)))
        .collect();
    if let Some(context) = derived.context_length {
        out.insert("num_ctx".to_owned(), context.into());
    }
    out
}

fn parameter_json(value: &ParameterValue) -> Json {
    match value {
        ParameterValue::Integer(n) => json!(n),
        ParameterValue::Float(x) => json!(x),
        ParameterValue::Bool(b) => json!(b),
        ParameterValue::Strings(items) => json!(items),
    }
}

/// A parameter's values as `/api/show` lists them (an array one value per line).
fn as_listed(value: &Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Two values of a parameter are the same: numbers by value (`1.0` is listed as `1`), the rest
/// exactly.
fn same(a: &[Json], b: &[Json]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x.to_bits() == y.to_bits(),
                _ => x == y,
            })
}

/// How the model Ollama has differs from the declared one (empty = the same). `base`: the
/// base's own parameters when known: Ollama merges the request over them (`setParameters`), so
/// the derived model must have exactly that merge; without them only the declared parameters
/// are compared.
pub(crate) fn differences(
    derived: &DerivedModel,
    shown: &ShownModel,
    parameters: &BTreeMap<String, Vec<Json>>,
    base: Option<&BTreeMap<String, Vec<Json>>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let parent = shown
        .parent
        .as_deref()
        .and_then(|p| ModelName::parse(p).ok());
    if parent.as_ref() != Some(&derived.from) {
        out.push(format!(
            "its parent is {}, declared {}",
            shown.parent.as_deref().unwrap_or("none"),
            derived.from.display()
        ));
    }
    let mut wanted: BTreeMap<String, Vec<Json>> = base.cloned().unwrap_or_default();
    for (name, value) in create_parameters(derived) {
        wanted.insert(name, as_listed(&value));
    }
    let names: BTreeSet<&String> = if base.is_some() {
        wanted.keys().chain(parameters.keys()).collect()
    } else {
        wanted.keys().collect()
    };
    for name in names {
        match (parameters.get(name), wanted.get(name)) {
            (Some(have), Some(want)) if same(have, want) => {}
            (have, want) => out.push(format!(
                "{name} is {}, declared {}",
                shown_values(have),
                shown_values(want)
            )),
        }
    }
    out
}

fn shown_values(values: Option<&Vec<Json>>) -> String {
    match values.map(Vec::as_slice) {
        None | Some([]) => "unset".to_owned(),
        Some([one]) => one.to_string(),
        Some(many) => Json::Array(many.to_vec()).to_string(),
    }
}

/// Plans the derived models of `desired` (never a removal: an unknown is a note) and returns
/// those created or replaced in this plan.
pub(super) fn plan(desired: &Desired, seen: &Seen<'_>, plan: &mut Plan) -> BTreeSet<ModelName> {
    let mut created = BTreeSet::new();
    for spec in desired.models.iter().filter(|m| !m.name.is_cloud()) {
        let Some(derived) = &spec.derived else {
            continue;
        };
        let display = derived.name.display();
        let address = Address::model(&display);
        let shown = seen.shown.get(&display);
        let base_parameters = match seen.shown.get(&spec.name.display()) {
            Some(Knowable::Known(Some(base))) if !seen.pulled.contains(&spec.name) => {
                base.parameters.known()
            }
            _ => None,
        };
        let (action, reason, before) = match ((seen.installed)(&derived.name), shown) {
            // Not listed, or Ollama says not found: missing.
            (Some(false), _) | (_, Some(Knowable::Known(None))) => (
                Action::Create,
                if seen.pulled.contains(&spec.name) {
                    "derived model is missing (its base is pulled in this plan)".to_owned()
                } else {
                    "derived model is missing".to_owned()
                },
                Json::Null,
            ),
            (_, Some(Knowable::Known(Some(have)))) => {
                let parameters = match &have.parameters {
                    Knowable::Known(parameters) => parameters,
                    Knowable::Unknown { reason } => {
                        plan.unknowns.push(format!(
                            "{address}: its parameters are unknown ({reason}); not compared"
                        ));
                        continue;
                    }
                };
                let differs = differences(derived, have, parameters, base_parameters);
                if differs.is_empty() {
                    continue;
                }
                (
                    Action::Replace,
                    differs.join("; "),
                    json!({ "from": have.parent, "parameters": parameters }),
                )
            }
            (_, Some(Knowable::Unknown { reason })) => {
                plan.unknowns.push(format!(
                    "{address}: `/api/show` failed ({reason}); the derived model is not compared"
                ));
                continue;
            }
            (_, None) => {
                plan.unknowns.push(format!(
                    "{address}: `/api/show` was not observed; the derived model is not compared"
                ));
                continue;
            }
        };
        let parameters = create_parameters(derived);
        created.insert(derived.name.clone());
        plan.changes.push(Change {
            resource: address,
            action,
            reason,
            before,
            after: json!({ "from": derived.from.display(), "parameters": parameters }),
            operation: Operation::CreateModel {
                name: derived.name.clone(),
                from: derived.from.clone(),
                parameters,
                replace: action == Action::Replace,
            },
        });
    }
    created
}
