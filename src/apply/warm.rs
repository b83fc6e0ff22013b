//! `ssollama warm [MODEL…]`: pull what is missing, load each model and keep it loaded, time it.
//!
//! Continues past failures (each model is independent) and returns one [`Warmed`] per model.
//! Talks to Ollama only (no launchd, no files). Entry point: [`warm`].

use std::time::Instant;

use serde::Serialize;

use super::{Cancel, Event, Reporter};
use crate::model::observed::InstalledModel;
use crate::ollama::client::{Client, OllamaError};
use crate::ollama::name::ModelName;

/// How warming one model went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warmed {
    /// The model (Ollama's display form).
    pub model: String,
    /// Whether it had to be pulled first.
    pub pulled: bool,
    /// Milliseconds to load it (after any pull).
    pub millis: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Whether to load through `/api/embed`: Ollama's `capabilities` when it reports them, else the
/// name (`*embed*`, as the planner does).
fn is_embedding(name: &ModelName, installed: Option<&InstalledModel>) -> bool {
    match installed {
        Some(model) if !model.capabilities.is_empty() => {
            model.capabilities.iter().any(|c| c == "embedding")
        }
        _ => name.key().contains("embed"),
    }
}

/// Warms `models` one after the other: pull when missing (progress as [`Event::Pull`]), load
/// with `keep_alive = -1` (forever), check `/api/ps`.
pub async fn warm(
    client: &Client,
    models: &[ModelName],
    http_timeout: std::time::Duration,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Vec<Warmed> {
    let mut results = Vec::new();
    for name in models {
        if cancel.is_cancelled() {
            results.push(Warmed {
                model: name.display(),
                pulled: false,
                millis: 0,
                error: Some("interrupted".to_owned()),
            });
            continue;
        }
        results.push(warm_one(client, name, http_timeout, reporter, cancel).await);
    }
    results
}

async fn warm_one(
    client: &Client,
    name: &ModelName,
    http_timeout: std::time::Duration,
    reporter: &dyn Reporter,
    cancel: &Cancel,
) -> Warmed {
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
            tokio::select! {
                pulled = pull(client, name, reporter) => pulled.map_err(|e| e.to_string())?,
                () = cancel.cancelled() => return Err("interrupted".to_owned()),
            }
            result.pulled = true;
            installed = client.tags(http_timeout).await.ok().and_then(|t| {
                t.into_iter()
                    .find(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name))
            });
        }
        let embedding = is_embedding(name, installed.as_ref());
        let start = Instant::now();
        tokio::select! {
            loaded = load(client, name, embedding) => loaded.map_err(|e| e.to_string())?,
            () = cancel.cancelled() => return Err("interrupted".to_owned()),
        }
        result.millis = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let loaded = client.ps(http_timeout).await.map_err(|e| e.to_string())?;
        if loaded
            .iter()
            .any(|m| ModelName::parse(&m.name).is_ok_and(|n| n == *name))
        {
            Ok(())
        } else {
            Err(format!(
                "{} was loaded but `/api/ps` does not list it",
                name.display()
            ))
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
    client
        .pull(&model, |progress| {
            reporter.event(&Event::Pull {
                model: model.clone(),
                status: progress.status.clone(),
                completed: progress.completed,
                total: progress.total,
            });
        })
        .await
}

/// Loads with `keep_alive = -1`; a model that refuses `/api/generate` because it only embeds
/// (older servers list no `capabilities`, so the name may not tell) is loaded through
/// `/api/embed` instead.
pub(super) async fn load(
    client: &Client,
    name: &ModelName,
    embedding: bool,
) -> Result<(), OllamaError> {
    match client.load(name.raw(), Some("-1"), embedding).await {
        Err(OllamaError::Status {
            status: 400,
            message,
            ..
        }) if !embedding && message.contains("does not support generate") => {
            client.load(name.raw(), Some("-1"), true).await
        }
        other => other,
    }
}
