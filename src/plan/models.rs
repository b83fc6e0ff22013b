//! `ollama.model[…]`: removals (prune), pulls and warming of the declared models.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};

use super::{Action, Address, Change, Context, Operation, Plan};
use crate::model::desired::Desired;
use crate::model::embedding::is_embedding;
use crate::model::observed::{InstalledModel, ServerStatus};
use crate::model::{Knowable, Observed};
use crate::ollama::name::ModelName;

/// Registered in [`super::RESOURCES`].
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    plan_models(cx.desired, cx.observed, cx.restarting, plan);
}

/// The change that removes an installed model (`ollama rm`), by the name Ollama lists.
pub(super) fn remove_model(model: &InstalledModel, reason: &str) -> Change {
    Change {
        resource: Address::model(&model.name),
        action: Action::Remove,
        reason: reason.to_owned(),
        before: json!({ "name": model.name, "digest": model.digest, "size": model.size }),
        after: Json::Null,
        operation: Operation::RemoveModel {
            name: model.name.clone(),
        },
    }
}

/// Step 6: models: remove (prune), pull, warm.
/// The declared models while the server is down: "known after the server starts". Nothing is
/// planned for them (no `+ pull` for models the Mac may well have, nothing counted); the notes
/// say so, `check` reports them as unknown (not drift), and `apply`, which observes again after
/// each round, plans the pulls of what is really missing once the server answers.
fn defer_models(desired: &Desired, reason: &str, plan: &mut Plan) {
    if desired.models.is_empty() {
        return;
    }
    // The reason names the URL already (`Ollama did not answer at …`).
    plan.unknowns.push(format!(
        "{}: the server is down ({reason}); the declared models are known after the server starts",
        Address::Models
    ));
    for spec in &desired.models {
        let then = if spec.warm && !spec.name.is_cloud() {
            "pulled if missing, then warmed"
        } else {
            "pulled if missing"
        };
        plan.unknowns.push(format!(
            "{}: known after the server starts ({then})",
            Address::model(&spec.name.display())
        ));
    }
}

fn plan_models(desired: &Desired, observed: &Observed, restarting: bool, plan: &mut Plan) {
    let (installed, loaded) = match &observed.ollama.server {
        ServerStatus::Down { reason } => {
            defer_models(desired, reason, plan);
            return;
        }
        ServerStatus::Up { models, loaded, .. } => (models.clone(), loaded.clone()),
    };
    // Installed models by normalized name; names Ollama lists but we cannot parse are kept out
    // of every comparison (never removed).
    let installed: Knowable<Vec<(ModelName, InstalledModel)>> = installed.map(|models| {
        let mut parsed: Vec<(ModelName, InstalledModel)> = models
            .into_iter()
            .filter_map(|m| Some((ModelName::parse(&m.name).ok()?, m)))
            .collect();
        parsed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        parsed
    });
    let find = |name: &ModelName| -> Option<&InstalledModel> {
        installed
            .known()
            .and_then(|list| list.iter().find(|(n, _)| n == name).map(|(_, m)| m))
    };
    if let Knowable::Unknown { reason } = &installed {
        plan.unknowns.push(format!(
            "{}: installed models are unknown ({reason}); pulls are planned for every declared model",
            Address::Models
        ));
    }

    // Removals first: they free disk space for the pulls.
    if desired.model_policy.prune
        && let Knowable::Known(list) = &installed
    {
        let declared: BTreeSet<&ModelName> = desired.models.iter().map(|m| &m.name).collect();
        for (name, model) in list {
            if declared.contains(name) {
                continue;
            }
            plan.changes.push(remove_model(
                model,
                "not declared in server.toml and `model_policy.prune = true`",
            ));
        }
    }

    let mut pulled = BTreeSet::new();
    for spec in &desired.models {
        let reason = match &installed {
            Knowable::Known(_) if find(&spec.name).is_some() => continue,
            Knowable::Known(_) => "model is not installed".to_owned(),
            // Pulling a model Ollama already has is cheap (it compares digests), so an unknown
            // list (the server answers, its list does not parse) means "pull everything", never
            // "remove anything".
            Knowable::Unknown { reason } => format!("installed models are unknown ({reason})"),
        };
        pulled.insert(spec.name.clone());
        plan.changes.push(Change {
            resource: Address::model(&spec.name.display()),
            action: Action::Pull,
            reason,
            before: Json::Null,
            after: json!({ "name": spec.name.display() }),
            operation: Operation::PullModel {
                name: spec.name.clone(),
            },
        });
    }

    let in_memory: Knowable<BTreeSet<ModelName>> = loaded.map(|list| {
        list.iter()
            .filter_map(|m| ModelName::parse(&m.name).ok())
            .collect()
    });
    // Cloud models (`…:cloud`) run remotely: they never appear in `/api/ps`, so they are not
    // warmed (planning it would never converge).
    for spec in desired
        .models
        .iter()
        .filter(|m| m.warm && !m.name.is_cloud())
    {
        let is_loaded = in_memory.known().map(|set| set.contains(&spec.name));
        let reason = if restarting {
            "the server (re)starts in this plan".to_owned()
        } else {
            match &in_memory {
                // Pulling a model that is already in memory does not unload it.
                Knowable::Known(set) if set.contains(&spec.name) => continue,
                _ if pulled.contains(&spec.name) => "model is pulled in this plan".to_owned(),
                Knowable::Known(_) => "model is not loaded in memory".to_owned(),
                Knowable::Unknown { reason } => {
                    format!("after the server starts: loaded models are unknown ({reason})")
                }
            }
        };
        let embedding = is_embedding(
            &spec.name,
            find(&spec.name).map_or(&[][..], |m| m.capabilities.as_slice()),
        );
        plan.changes.push(Change {
            resource: Address::model(&spec.name.display()),
            action: Action::Warm,
            reason,
            // A restart empties the server's memory, so that is the state warming starts from.
            before: if restarting {
                json!({ "loaded": false })
            } else {
                is_loaded.map_or(Json::Null, |l| json!({ "loaded": l }))
            },
            after: json!({ "loaded": true, "embedding": embedding }),
            operation: Operation::WarmModel {
                name: spec.name.clone(),
                embedding,
            },
        });
    }
}
