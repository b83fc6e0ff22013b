//! `ssollama warm [MODEL…]`: pull what is missing, load each model and keep it loaded, time it.
//!
//! Continues past failures (each model is independent) and returns one [`Warmed`] per model.
//! Talks to Ollama only (no launchd, no files). Entry point: [`warm`].

use std::time::Instant;

use serde::Serialize;

use crate::apply::{Cancel, Event, Reporter};
use crate::model::Desired;
use crate::model::embedding::is_embedding;
use crate::model::observed::LoadedModel;
use crate::ollama::api::CreateRequest;
use crate::ollama::client::{Client, OllamaError};
use crate::ollama::name::ModelName;
use crate::plan::derived::create_parameters;

/// How warming one model went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Warmed {
    /// The model (Ollama's display form).
    pub model: String,
    /// Whether it had to be pulled first.
    pub pulled: bool,
    /// Milliseconds to load it (after any pull).
    pub millis: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// What `/api/ps` listed right after one model was warmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WarmSeen {
    /// The model just warmed.
    pub model: ModelName,
    /// `/api/ps` right after it loaded.
    pub loaded: Vec<LoadedModel>,
}

/// The entry of `name` in a `/api/ps` list.
fn listed<'a>(list: &'a [LoadedModel], name: &ModelName) -> Option<&'a LoadedModel> {
    list.iter()
        .find(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name))
}

/// `name (4.7 GB)`, or the bare name when no list showed its size.
fn with_size(name: &ModelName, lists: &[&[LoadedModel]]) -> String {
    match lists.iter().find_map(|list| listed(list, name)) {
        Some(m) => format!(
            "{} ({})",
            name.display(),
            crate::render::human_bytes(m.size)
        ),
        None => name.display(),
    }
}

/// The check after the warm steps of a round: all `warm` models together, as `/api/ps` lists
/// them `now`. Ollama unloads other runners, pinned ones too, to make room for a model that
/// does not fit beside them, so each warm step can succeed while the set does not fit; then
/// warming them again in later rounds would only evict them in turn. `None` when every warm
/// model is in memory; else one line naming each evicted model and what loading evicted it, with
/// the sizes Ollama reported. `before`: `/api/ps` at the observation the round started from;
/// `seen`: the warm steps of the round in order.
pub(crate) fn evictions(
    warm: &[ModelName],
    before: &[LoadedModel],
    seen: &[WarmSeen],
    now: &[LoadedModel],
) -> Option<String> {
    let mut lists: Vec<&[LoadedModel]> = vec![now];
    lists.extend(seen.iter().map(|s| s.loaded.as_slice()));
    lists.push(before);
    let mut evicted = Vec::new();
    for name in warm.iter().filter(|n| listed(now, n).is_none()) {
        // Gone since it was last seen loaded: from its own warm step on, or from the start.
        let from = seen.iter().rposition(|s| s.model == *name).unwrap_or(0);
        let by = seen[from..]
            .iter()
            .find(|s| s.model != *name && listed(&s.loaded, name).is_none());
        evicted.push(match by {
            Some(step) => format!(
                "loading {} evicted {}",
                with_size(&step.model, &lists),
                with_size(name, &lists)
            ),
            None => format!("{} is not in memory after warming", with_size(name, &lists)),
        });
    }
    if evicted.is_empty() {
        return None;
    }
    let in_memory = if now.is_empty() {
        "nothing".to_owned()
    } else {
        now.iter()
            .map(|m| format!("{} ({})", m.name, crate::render::human_bytes(m.size)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(format!(
        "the warm models do not fit in memory together: {}; in memory now: {in_memory}; warm fewer or smaller models (or give Ollama more memory)",
        evicted.join("; ")
    ))
}

/// One model `ssollama warm` loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WarmTarget {
    /// The model loaded (a derived model's served name).
    pub name: ModelName,
    /// Its declared context: sent as `options.num_ctx`, then checked in `/api/ps`.
    pub context_length: Option<u32>,
    /// For a derived model, how to create it when missing (instead of a pull).
    pub create: Option<CreateRequest>,
}

/// What `ssollama warm` loads: the `named` models, else every `warm = true` one (cloud models
/// excepted). A declared model with a derived model stands for the derived model, its context
/// and its create request; anything else is loaded as named.
pub(crate) fn warm_targets(desired: &Desired, named: &[ModelName]) -> Vec<WarmTarget> {
    let of = |name: &ModelName| {
        let spec = desired
            .models
            .iter()
            .find(|m| m.name == *name || m.served_name() == name);
        match spec.and_then(|m| m.derived.as_ref()) {
            Some(derived) => WarmTarget {
                name: derived.name.clone(),
                context_length: derived.context_length,
                create: Some(CreateRequest {
                    model: derived.name.display(),
                    from: derived.from.display(),
                    parameters: create_parameters(derived),
                    stream: Some(true),
                }),
            },
            None => WarmTarget {
                name: name.clone(),
                context_length: None,
                create: None,
            },
        }
    };
    if named.is_empty() {
        desired
            .models
            .iter()
            .filter(|m| m.warm && !m.name.is_cloud())
            .map(|m| of(&m.name))
            .collect()
    } else {
        named.iter().map(of).collect()
    }
}

/// Warms `models` one after the other: pull (or, for a derived model, create) when missing
/// (progress as [`Event::Pull`]), load with `keep_alive = -1` (forever) and the declared
/// context, check `/api/ps` and the served context; then check them all together
/// ([`evictions`]): a model evicted to load a later one fails with what evicted it.
pub(crate) async fn warm(
    client: &Client,
    models: &[WarmTarget],
    http_timeout: std::time::Duration,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Vec<Warmed> {
    let mut results = Vec::new();
    let mut seen = Vec::new();
    for target in models {
        if cancel.is_cancelled() {
            results.push(Warmed {
                model: target.name.display(),
                pulled: false,
                millis: 0,
                error: Some("interrupted".to_owned()),
            });
            continue;
        }
        results.push(warm_one(client, target, http_timeout, reporter, cancel, &mut seen).await);
    }
    let names: Vec<ModelName> = models.iter().map(|t| t.name.clone()).collect();
    if seen.len() > 1
        && let Ok(now) = client.ps(http_timeout).await
        && let Some(message) = evictions(&names, &[], &seen, &now)
    {
        for (name, result) in names.iter().zip(&mut results) {
            if result.error.is_none() && listed(&now, name).is_none() {
                result.error = Some(message.clone());
            }
        }
    }
    results
}

async fn warm_one(
    client: &Client,
    target: &WarmTarget,
    http_timeout: std::time::Duration,
    reporter: &dyn Reporter,
    cancel: &Cancel,
    seen: &mut Vec<WarmSeen>,
) -> Warmed {
    let name = &target.name;
    let mut result = Warmed {
        model: name.display(),
        pulled: false,
        millis: 0,
        error: None,
    };
    let outcome: Result<(), String> = async {
        let tags = client.tags(http_timeout).await.map_err(|e| e.to_string())?;
        let mut installed = tags
            .into_iter()
            .find(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name));
        if installed.is_none() {
            let model = name.display();
            let fetch = async {
                match &target.create {
                    // Ollama pulls a missing base itself (`parseFromModel`).
                    Some(request) => client.create(request, progress(reporter, &model)).await,
                    None => pull(client, name, reporter).await,
                }
            };
            tokio::select! {
                fetched = fetch => fetched.map_err(|e| e.to_string())?,
                () = cancel.cancelled() => return Err("interrupted".to_owned()),
            }
            result.pulled = true;
            installed = client.tags(http_timeout).await.ok().and_then(|t| {
                t.into_iter()
                    .find(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name))
            });
        }
        let embedding = is_embedding(
            name,
            installed
                .as_ref()
                .map_or(&[][..], |m| m.capabilities.as_slice()),
        );
        let start = Instant::now();
        tokio::select! {
            loaded = load(client, name, embedding, target.context_length) => {
                loaded.map_err(|e| e.to_string())?;
            }
            () = cancel.cancelled() => return Err("interrupted".to_owned()),
        }
        result.millis = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let loaded = client.ps(http_timeout).await.map_err(|e| e.to_string())?;
        let served = listed(&loaded, name).map(|m| m.context_length);
        seen.push(WarmSeen {
            model: name.clone(),
            loaded,
        });
        match (served, target.context_length) {
            (None, _) => Err(format!(
                "{} was loaded but `/api/ps` does not list it",
                name.display()
            )),
            (Some(served), Some(declared)) => {
                context_shortfall(name, declared, served, None).map_or(Ok(()), Err)
            }
            (Some(_), None) => Ok(()),
        }
    }
    .await;
    result.error = outcome.err();
    result
}

/// Pulls `name` (as written), reporting Ollama's progress as [`Event::Pull`].
pub(super) async fn pull(
    client: &Client,
    name: &ModelName,
    reporter: &dyn Reporter,
) -> Result<(), OllamaError> {
    let model = name.raw().to_owned();
    client.pull(&model, progress(reporter, &model)).await
}

/// Reports each line of a pull or create stream as an [`Event::Pull`] of `model`.
pub(super) fn progress<'a>(
    reporter: &'a dyn Reporter,
    model: &'a str,
) -> impl FnMut(&crate::ollama::api::ProgressResponse) + 'a {
    move |line| {
        reporter.event(&Event::Pull {
            model: model.to_owned(),
            status: line.status.clone(),
            completed: line.completed,
            total: line.total,
        });
    }
}

/// Why a warmed model's served context is not what `server.toml` declares: `/api/ps`
/// `context_length` below `context_length` (docs/ollama.md §12). `trained`: the model's
/// training context (`/api/show` `model_info`), to which Ollama caps the runner. `None` when
/// the served context is at least the declared one, or when the server does not report it
/// (before v0.10.0).
pub(crate) fn context_shortfall(
    name: &ModelName,
    declared: u32,
    served: Option<u64>,
    trained: Option<u64>,
) -> Option<String> {
    let served = served?;
    if served >= u64::from(declared) {
        return None;
    }
    let head = format!(
        "{} is served with a {served}-token context, below the declared context_length = {declared}",
        name.display()
    );
    Some(match trained {
        Some(trained) if trained <= served => format!(
            "{head}: the model was trained for {trained} tokens and Ollama serves no more than that; declare context_length = {trained} or less, or choose a model with a longer context"
        ),
        _ => format!(
            "{head}: Ollama gave it less than its num_ctx, most likely because the model with its KV cache at that context does not fit in the memory Metal lets Ollama use; lower context_length, warm fewer models, or give Ollama more memory (iogpu.wired_limit_mb)"
        ),
    })
}

/// Loads with `keep_alive = -1`; a model that refuses `/api/generate` because it only embeds
/// (older servers list no `capabilities`, so the name may not tell) is loaded through
/// `/api/embed` instead.
pub(super) async fn load(
    client: &Client,
    name: &ModelName,
    embedding: bool,
    context_length: Option<u32>,
) -> Result<(), OllamaError> {
    match client
        .load(name.raw(), Some("-1"), embedding, context_length)
        .await
    {
        Err(OllamaError::Status {
            status: 400,
            message,
            ..
        }) if !embedding && message.contains("does not support generate") => {
            client
                .load(name.raw(), Some("-1"), true, context_length)
                .await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{LoadedModel, ModelName, WarmSeen, context_shortfall, evictions};

    #[test]
    fn a_served_context_below_the_declared_one_says_both_numbers_and_memory() {
        let model = name("llama3.2:64k");
        let message = context_shortfall(&model, 65536, Some(32768), Some(131_072)).unwrap();
        assert!(
            message.starts_with(
                "llama3.2:64k is served with a 32768-token context, below the declared context_length = 65536"
            ),
            "{message}"
        );
        assert!(message.contains("memory"), "{message}");
        // Capped at the training context (docs/ollama.md §14.1): said so.
        let capped = context_shortfall(&model, 65536, Some(32768), Some(32768)).unwrap();
        assert!(
            capped.contains("trained for 32768 tokens") && !capped.contains("memory"),
            "{capped}"
        );
        assert_eq!(context_shortfall(&model, 65536, Some(65536), None), None);
        assert_eq!(context_shortfall(&model, 65536, Some(131_072), None), None);
        // A server that does not report it (before v0.10.0): nothing to judge.
        assert_eq!(context_shortfall(&model, 65536, None, None), None);
    }

    fn loaded(name: &str, size: u64) -> LoadedModel {
        LoadedModel {
            name: name.to_owned(),
            digest: String::new(),
            expires_at: String::new(),
            size,
            size_vram: size,
            context_length: None,
        }
    }

    fn name(text: &str) -> ModelName {
        ModelName::parse(text).unwrap()
    }

    #[test]
    fn a_warm_model_evicted_by_the_next_one_is_named_with_both_sizes() {
        let warm = [name("llama3.2"), name("qwen2.5-coder:32b")];
        let small = loaded("llama3.2:latest", 2_300_000_000);
        let big = loaded("qwen2.5-coder:32b", 20_100_000_000);
        let seen = [
            WarmSeen {
                model: warm[0].clone(),
                loaded: vec![small.clone()],
            },
            WarmSeen {
                model: warm[1].clone(),
                loaded: vec![big.clone()],
            },
        ];
        assert_eq!(
            evictions(&warm, &[], &seen, std::slice::from_ref(&big)).as_deref(),
            Some(
                "the warm models do not fit in memory together: loading qwen2.5-coder:32b (20 GB) evicted llama3.2:latest (2.3 GB); in memory now: qwen2.5-coder:32b (20 GB); warm fewer or smaller models (or give Ollama more memory)"
            )
        );
        // A model loaded before the round and evicted by its only warm step.
        let only = [seen[1].clone()];
        assert!(
            evictions(&warm, &[small], &only, std::slice::from_ref(&big))
                .unwrap()
                .contains("loading qwen2.5-coder:32b (20 GB) evicted llama3.2:latest (2.3 GB)")
        );
        // All in memory: nothing to say.
        let both = [loaded("llama3.2:latest", 1), loaded("qwen2.5-coder:32b", 1)];
        assert_eq!(evictions(&warm, &[], &seen, &both), None);
    }
}
