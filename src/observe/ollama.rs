//! Ollama's HTTP API: version, installed models (tags), loaded models (ps), and `/api/show` of
//! every model the scope names.
//!
//! All calls start at once; the server is up when `/api/version` answered, and only then do the
//! other answers count. A show that answers 404 is a model Ollama does not have (`Known(None)`,
//! docs/ollama.md §12); any other failure is unknown.

use std::collections::BTreeMap;

use futures_util::future::join_all;

use super::{Scope, Settings};
use crate::model::Knowable;
use crate::model::observed::{OllamaState, ServerStatus, ShownModel};
use crate::ollama::client::{Client, OllamaError};
use crate::ollama::name::ModelName;

/// Ollama's API at the declared address.
pub(crate) async fn ollama(scope: &Scope, settings: &Settings) -> OllamaState {
    let client = settings.client(&scope.listen);
    let url = client.base_url().to_owned();
    let (version, tags, ps, shown) = tokio::join!(
        client.version(settings.http_timeout),
        client.tags(settings.http_timeout),
        client.ps(settings.http_timeout),
        shown(&client, scope, settings)
    );
    let server = match version {
        Err(err) => ServerStatus::Down {
            reason: err.to_string(),
        },
        Ok(version) => ServerStatus::Up {
            version,
            models: tags.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
            loaded: ps.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
            shown,
        },
    };
    OllamaState { url, server }
}

/// `/api/show` of every model in the scope, concurrently, keyed by display name.
async fn shown(
    client: &Client,
    scope: &Scope,
    settings: &Settings,
) -> BTreeMap<String, Knowable<Option<ShownModel>>> {
    let names: Vec<String> = scope.models.iter().map(ModelName::display).collect();
    let answers = join_all(
        names
            .iter()
            .map(|name| client.show(name, settings.http_timeout)),
    )
    .await;
    names
        .into_iter()
        .zip(answers)
        .map(|(name, answer)| {
            let fact = match answer {
                Ok(show) => Knowable::Known(Some(ShownModel::from(show))),
                Err(OllamaError::Status { status: 404, .. }) => Knowable::Known(None),
                Err(err) => Knowable::unknown(err.to_string()),
            };
            (name, fact)
        })
        .collect()
}
