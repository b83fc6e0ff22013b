//! `ollama.model[…]`: removals (prune), pulls and warming of the declared models.

use std::collections::{BTreeMap, BTreeSet};

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
        let then = match (spec.warm && !spec.name.is_cloud(), &spec.derived) {
            (true, Some(derived)) => &format!(
                "pulled if missing, {} created from it if missing, then warmed",
                derived.name.display()
            ),
            (false, Some(derived)) => &format!(
                "pulled if missing, {} created from it if missing",
                derived.name.display()
            ),
            (true, None) => "pulled if missing, then warmed",
            (false, None) => "pulled if missing",
        };
        plan.unknowns.push(format!(
            "{}: known after the server starts ({then})",
            Address::model(&spec.name.display())
        ));
    }
}

fn plan_models(desired: &Desired, observed: &Observed, restarting: bool, plan: &mut Plan) {
    let (installed, loaded, shown) = match &observed.ollama.server {
        ServerStatus::Down { reason } => {
            defer_models(desired, reason, plan);
            return;
        }
        ServerStatus::Up {
            models,
            loaded,
            shown,
            ..
        } => (models.clone(), loaded.clone(), shown),
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
        // A declared model's derived model is declared too.
        let declared: BTreeSet<&ModelName> = desired
            .models
            .iter()
            .flat_map(|m| std::iter::once(&m.name).chain(m.derived.as_ref().map(|d| &d.name)))
            .collect();
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

    let listed = |name: &ModelName| installed.known().map(|_| find(name).is_some());
    let created = super::derived::plan(
        desired,
        &super::derived::Seen {
            shown,
            installed: &listed,
            pulled: &pulled,
        },
        plan,
    );

    // Each loaded model and the context `/api/ps` says it is served with.
    let in_memory: Knowable<BTreeMap<ModelName, Option<u64>>> = loaded.map(|list| {
        list.iter()
            .filter_map(|m| Some((ModelName::parse(&m.name).ok()?, m.context_length)))
            .collect()
    });
    // Cloud models (`…:cloud`) run remotely: they never appear in `/api/ps`, so they are not
    // warmed (planning it would never converge).
    for spec in desired
        .models
        .iter()
        .filter(|m| m.warm && !m.name.is_cloud())
    {
        // The derived model is what is warmed, with its context as `options.num_ctx`.
        let served = spec.served_name();
        let context_length = spec.derived.as_ref().and_then(|d| d.context_length);
        let is_loaded = in_memory.known().map(|map| map.contains_key(served));
        let reason = if restarting {
            "the server (re)starts in this plan".to_owned()
        } else if created.contains(served) {
            "model is created in this plan".to_owned()
        } else {
            match &in_memory {
                Knowable::Known(map) if map.contains_key(served) => {
                    // Pulling a model that is already in memory does not unload it; a runner
                    // with less context than declared is loaded again with it.
                    match (context_length, map.get(served).copied().flatten()) {
                        (Some(declared), Some(have)) if have < u64::from(declared) => format!(
                            "model is served with a {have}-token context, declared {declared}"
                        ),
                        _ => continue,
                    }
                }
                _ if pulled.contains(served) => "model is pulled in this plan".to_owned(),
                Knowable::Known(_) => "model is not loaded in memory".to_owned(),
                Knowable::Unknown { reason } => {
                    format!("after the server starts: loaded models are unknown ({reason})")
                }
            }
        };
        let capabilities = find(served)
            .or_else(|| find(&spec.name))
            .map_or(&[][..], |m| m.capabilities.as_slice());
        let embedding = is_embedding(&spec.name, capabilities);
        plan.changes.push(Change {
            resource: Address::model(&served.display()),
            action: Action::Warm,
            reason,
            // A restart empties the server's memory, so that is the state warming starts from.
            before: if restarting {
                json!({ "loaded": false })
            } else {
                is_loaded.map_or(Json::Null, |l| json!({ "loaded": l }))
            },
            after: match context_length {
                Some(context) => {
                    json!({ "loaded": true, "embedding": embedding, "context_length": context })
                }
                None => json!({ "loaded": true, "embedding": embedding }),
            },
            operation: Operation::WarmModel {
                name: served.clone(),
                embedding,
                context_length,
            },
        });
    }
}
