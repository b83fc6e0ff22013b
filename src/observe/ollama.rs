//! Ollama's HTTP API: version, installed models (tags) and loaded models (ps).

use super::{Scope, Settings};
use crate::model::Knowable;
use crate::model::observed::{OllamaState, ServerStatus};

/// Ollama's API at the declared address.
pub(crate) async fn ollama(scope: &Scope, settings: &Settings) -> OllamaState {
    let client = settings.client(&scope.listen);
    let url = client.base_url().to_owned();
    let server = match client.version(settings.http_timeout).await {
        Err(err) => ServerStatus::Down {
            reason: err.to_string(),
        },
        Ok(version) => {
            let (tags, ps) = tokio::join!(
                client.tags(settings.http_timeout),
                client.ps(settings.http_timeout)
            );
            ServerStatus::Up {
                version,
                models: tags.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
                loaded: ps.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
            }
        }
    };
    OllamaState { url, server }
}
