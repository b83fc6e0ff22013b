//! Ollama's models: pull, remove, warm, and the joint check of the warm set.

pub(crate) mod warm;

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Ctx, StepError};
use crate::model::Knowable;
use crate::ollama::api;
use crate::ollama::name::ModelName;

pub(super) async fn pull(ctx: &Ctx<'_>, name: &ModelName) -> Result<String, StepError> {
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let pulling = warm::pull(&client, name, ctx.reporter);
    tokio::select! {
        result = pulling => result?,
        () = ctx.cancel.cancelled() => return Err(StepError::Interrupted),
    }
    Ok(format!("pulled {}", name.display()))
}

/// Unloads, then deletes: `DELETE /api/delete` removes the files only, and a loaded model
/// would stay in memory (`ollama rm` unloads first too).
pub(super) async fn remove(ctx: &Ctx<'_>, name: &str) -> Result<String, StepError> {
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let timeout = ctx.settings.observe.http_timeout;
    let unloaded = client.unload(name, timeout).await?;
    client.delete(name, timeout).await?;
    Ok(if unloaded {
        format!("removed {name} (unloaded first)")
    } else {
        format!("removed {name}")
    })
}

/// Creates (or replaces) a derived model: `POST /api/create` with `from` and `parameters`,
/// its statuses reported like a pull's. A replace unloads the old model first: a runner loaded
/// with the old parameters would otherwise keep serving them.
pub(super) async fn create(
    ctx: &Ctx<'_>,
    name: &ModelName,
    from: &ModelName,
    parameters: &BTreeMap<String, serde_json::Value>,
    replace: bool,
) -> Result<String, StepError> {
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let model = name.display();
    let unloaded = replace
        && client
            .unload(&model, ctx.settings.observe.http_timeout)
            .await?;
    let request = api::CreateRequest {
        model: model.clone(),
        from: from.display(),
        parameters: parameters.clone(),
        stream: Some(true),
    };
    let creating = client.create(&request, warm::progress(ctx.reporter, &model));
    tokio::select! {
        result = creating => result?,
        () = ctx.cancel.cancelled() => return Err(StepError::Interrupted),
    }
    let verb = if replace { "replaced" } else { "created" };
    let unloaded = if unloaded { " (unloaded first)" } else { "" };
    Ok(format!("{verb} {model} from {}{unloaded}", from.display()))
}

pub(super) async fn warm_model(
    ctx: &Ctx<'_>,
    name: &ModelName,
    embedding: bool,
    context_length: Option<u32>,
) -> Result<String, StepError> {
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let start = Instant::now();
    // keep_alive -1: stay loaded until the server stops (a number; the string "-1" is a 400).
    let loading = warm::load(&client, name, embedding, context_length);
    tokio::select! {
        result = loading => result?,
        () = ctx.cancel.cancelled() => return Err(StepError::Interrupted),
    }
    let took = start.elapsed();
    let loaded = client.ps(ctx.settings.observe.http_timeout).await?;
    let served = loaded
        .iter()
        .find(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name))
        .map(|m| m.context_length);
    let listed = served.is_some();
    ctx.warmed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(warm::WarmSeen {
            model: name.clone(),
            loaded,
        });
    if !listed {
        return Err(StepError::NotWarm {
            model: name.display(),
        });
    }
    let context = match (context_length, served.flatten()) {
        (Some(declared), served) => {
            let trained = trained_context(ctx, name);
            if let Some(message) = warm::context_shortfall(name, declared, served, trained) {
                return Err(StepError::ContextShort(message));
            }
            served.map_or_else(
                || ", context not reported by this Ollama".to_owned(),
                |n| format!(", context {n}"),
            )
        }
        (None, _) => String::new(),
    };
    Ok(format!(
        "loaded {} in {:.1} s (keep_alive forever{context})",
        name.display(),
        took.as_secs_f64()
    ))
}

/// The training context of `name`, or of the declared model it is derived from, as observed
/// (`/api/show` `model_info`): a derived model created in this round was not observed yet.
fn trained_context(ctx: &Ctx<'_>, name: &ModelName) -> Option<u64> {
    let crate::model::observed::ServerStatus::Up { shown, .. } = &ctx.observed.ollama.server else {
        return None;
    };
    let base = ctx
        .desired
        .models
        .iter()
        .find(|m| m.served_name() == name)
        .map(|m| &m.name);
    std::iter::once(name).chain(base).find_map(|n| {
        shown
            .get(&n.display())?
            .known()?
            .as_ref()?
            .kv?
            .context_length
    })
}

/// The joint check after the warm steps of a round: every `warm` model of server.toml must still
/// be in memory (`warm::evictions` says what evicted what).
pub(in crate::apply) async fn check_warm(ctx: &Ctx<'_>) -> Result<String, StepError> {
    let seen = std::mem::take(
        &mut *ctx
            .warmed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let warm: Vec<ModelName> = ctx
        .desired
        .models
        .iter()
        .filter(|m| m.warm && !m.name.is_cloud())
        .map(|m| m.served_name().clone())
        .collect();
    let before = match &ctx.observed.ollama.server {
        crate::model::observed::ServerStatus::Up {
            loaded: Knowable::Known(list),
            ..
        } => list.clone(),
        _ => Vec::new(),
    };
    let client = ctx.settings.observe.client(&ctx.desired.listen);
    let now = client.ps(ctx.settings.observe.http_timeout).await?;
    match warm::evictions(&warm, &before, &seen, &now) {
        Some(message) => Err(StepError::WarmEvicted(message)),
        None => Ok(format!("{} warm model(s) in memory together", warm.len())),
    }
}
