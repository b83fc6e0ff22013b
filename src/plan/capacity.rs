//! `capacity`: whether the warm models can stay loaded together in what Metal lets Ollama use
//! (`specs/capacity.md`). The budget goes into [`Plan::capacity`]; a warm set that cannot fit
//! is a [`Blocker`] (apply stops before anything changes) naming the models, the numbers and
//! what would make it fit. An unknown limit, weight or geometry is a note, never a block.

use super::Address;
use super::{Blocker, Context, Plan};
use crate::capacity::{self, Budget, MetalLimit, ServerSettings, WarmModel, gib};
use crate::model::Knowable;
use crate::model::desired::{Desired, ModelSpec};
use crate::model::embedding::is_embedding;
use crate::model::observed::{MemoryFacts, Observed, ServerStatus, ShownModel};
use crate::ollama::name::ModelName;

/// The blocker's resource address.
const CAPACITY: Address = Address::Capacity;

/// Registered in [`super::RESOURCES`].
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    plan_capacity(cx.desired, cx.observed, plan);
}

fn plan_capacity(desired: &Desired, observed: &Observed, plan: &mut Plan) {
    let warm: Vec<&ModelSpec> = desired
        .models
        .iter()
        .filter(|m| m.warm && !m.name.is_cloud())
        .collect();
    if warm.is_empty() {
        return;
    }
    // The server down: the models are deferred (known after it starts), and so is their budget.
    let ServerStatus::Up {
        version,
        models: installed,
        shown,
        ..
    } = &observed.ollama.server
    else {
        return;
    };
    // A saved observation from before memory was observed: no budget, as before.
    let Some(limit) = metal_limit(observed.memory.as_ref(), plan) else {
        return;
    };
    let env = desired.ollama.environment();
    let settings = ServerSettings::from_env(&env);
    let env_context = env
        .get("OLLAMA_CONTEXT_LENGTH")
        .and_then(|v| crate::ollama::env::var(v).parse::<u64>().ok())
        .filter(|&c| c > 0);
    let mut models = Vec::new();
    for spec in warm {
        let show = |name: &ModelName| match shown.get(&name.display()) {
            Some(Knowable::Known(Some(model))) => Some(model),
            _ => None,
        };
        let served = show(spec.served_name());
        let base = show(&spec.name);
        let weights = installed.known().and_then(|list| {
            [spec.served_name(), &spec.name]
                .into_iter()
                .find_map(|want| {
                    list.iter()
                        .find(|m| ModelName::parse(&m.name).is_ok_and(|n| &n == want))
                        .map(|m| (m.size, m.capabilities.clone()))
                })
        });
        // Not pulled yet: its size is unknown until this plan's pull; the next plan (apply
        // observes again after each round) budgets it. Not a note: the pull says it already.
        let Some((weights, tag_caps)) = weights else {
            continue;
        };
        let capabilities = served
            .or(base)
            .map_or(tag_caps, |s: &ShownModel| s.capabilities.clone());
        let context = spec
            .derived
            .as_ref()
            .and_then(|d| d.context_length)
            .map(u64::from)
            .or_else(|| served.and_then(num_ctx))
            .or(env_context)
            .unwrap_or_else(|| capacity::default_context(version, limit.bytes));
        let geometry = served.or(base).and_then(|s| s.kv);
        if geometry.is_none() {
            plan.unknowns.push(format!(
                "{CAPACITY}: {}'s KV cache is unknown (`/api/show` gave no attention geometry); the budget counts its weights only",
                spec.served_name().display()
            ));
        }
        models.push(WarmModel {
            name: spec.served_name().display(),
            weights,
            context,
            completion: !is_embedding(spec.served_name(), &capabilities),
            geometry,
        });
    }
    if models.is_empty() {
        return;
    }
    let memsize = observed
        .memory
        .as_ref()
        .and_then(|m| m.sysctl.known())
        .and_then(|s| s.memsize);
    let budget = capacity::budget(limit, &models, &settings, memsize);
    // What is left out or unknown only adds to the sum: a set over the limit without it is
    // over the limit with it.
    if !budget.fits() {
        plan.blockers.push(blocker(&budget));
    }
    plan.capacity = Some(budget);
}

/// The limit (`capacity::limit_of`), its notes added to the plan.
fn metal_limit(memory: Option<&MemoryFacts>, plan: &mut Plan) -> Option<MetalLimit> {
    let (limit, notes) = capacity::limit_of(memory?);
    plan.unknowns
        .extend(notes.into_iter().map(|n| format!("{CAPACITY}: {n}")));
    limit
}

/// The model's own `num_ctx` parameter.
fn num_ctx(show: &ShownModel) -> Option<u64> {
    show.parameters
        .known()?
        .get("num_ctx")?
        .first()?
        .as_u64()
        .filter(|&c| c > 0)
}

/// The blocker of a warm set over the limit: the numbers, then every computed way out.
fn blocker(budget: &Budget) -> Blocker {
    let each: Vec<String> = budget
        .models
        .iter()
        .map(|f| format!("{} {}", f.name, gib(f.total)))
        .collect();
    let problem = format!(
        "the warm models cannot stay loaded together: they need {} ({}) but Metal lets Ollama use {}",
        gib(budget.total),
        each.join(" + "),
        budget.limit.text()
    );
    let mut ways = Vec::new();
    if let Some(advice) = &budget.advice {
        for (name, context) in &advice.contexts {
            if let Some(context) = context {
                ways.push(format!(
                    "`context_length = {context}` for {name} (the others unchanged)"
                ));
            }
        }
        if let Some(parallel) = advice.parallel {
            ways.push(format!("`num_parallel = {parallel}` in [ollama]"));
        }
        for option in advice.kv_cache.iter().filter(|o| o.fits) {
            ways.push(format!(
                "`flash_attention = true` and `kv_cache_type = \"{}\"` in [ollama] ({}, saving {})",
                option.kv_cache_type.as_str(),
                gib(option.total),
                gib(option.saving),
            ));
        }
        if let Some(mb) = advice.wired_limit_mb {
            ways.push(format!(
                "a higher wired limit: `sudo sysctl iogpu.wired_limit_mb={mb}` (until the Mac restarts; then restart the server)"
            ));
        }
    }
    ways.push("`warm = false` on one of them".to_owned());

    Blocker {
        resource: CAPACITY,
        problem: format!(
            "{problem}: over by {}",
            gib(budget.advice.as_ref().map_or(0, |a| a.over_by))
        ),
        fix: format!(
            "any one of: {}{}",
            ways.join("; "),
            if budget.limit.is_estimate() {
                " (the limit is an estimate: once the server has run, `plan` reads the one it logged)"
            } else {
                ""
            }
        ),
    }
}
