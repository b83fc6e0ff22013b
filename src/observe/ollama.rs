//! Ollama's HTTP API: version, installed models (tags) and loaded models (ps).
//!
//! The three calls start at once; the server is up when `/api/version` answered, and only then
//! do the tags and ps answers count.

use super::{Scope, Settings};
use crate::model::Knowable;
use crate::model::observed::{OllamaState, ServerStatus};

/// Ollama's API at the declared address.
pub(crate) async fn ollama(scope: &Scope, settings: &Settings) -> OllamaState {
    let client = settings.client(&scope.listen);
    let url = client.base_url().to_owned();
    let (version, tags, ps) = tokio::join!(
        client.version(settings.http_timeout),
        client.tags(settings.http_timeout),
        client.ps(settings.http_timeout)
    );
    let server = match version {
        Err(err) => ServerStatus::Down {
            reason: err.to_string(),
        },
        Ok(version) => ServerStatus::Up {
            version,
            models: tags.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
            loaded: ps.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
        },
    };
    OllamaState { url, server }
}
