//! Which model the model tests use (pure): the installed models as the server lists them, and
//! the choice among them ([`choose_model`]). [`super::probe()`] makes the choice before it sends
//! the model requests; the judge only reads the result in [`super::Facts`].

use super::{ChosenModel, ModelInfo, ModelKind, Options};
use crate::model::desired::Desired;
use crate::model::observed::ServerStatus;
use crate::model::{Knowable, Observed};
use crate::ollama::name::ModelName;

/// The installed models as `/api/tags` lists them (empty when the server is down or the list
/// could not be read); [`super::probe()`] completes their capabilities with `/api/show`.
pub(crate) fn installed_models(observed: &Observed) -> Vec<ModelInfo> {
    match &observed.ollama.server {
        ServerStatus::Up {
            models: Knowable::Known(models),
            ..
        } => models
            .iter()
            .map(|m| ModelInfo {
                name: m.name.clone(),
                capabilities: m.capabilities.clone(),
                family: m.family.clone(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `name` can answer chat requests: its `completion` capability when the server reports
/// capabilities; otherwise not for the names embedding models have (`*embed*`, as the planner
/// guesses), else unknown (`None`: tried).
pub(crate) fn can_chat(name: &ModelName, info: Option<&ModelInfo>) -> Option<bool> {
    match info {
        Some(info) if !info.capabilities.is_empty() => {
            Some(info.capabilities.iter().any(|c| c == "completion"))
        }
        _ if name.named_like_embedding() => Some(false),
        _ => None,
    }
}

/// Why a model cannot chat, for messages: `all-minilm:latest (embedding only)`.
fn cannot_chat(name: &str, info: Option<&ModelInfo>) -> String {
    match info.map(|i| i.capabilities.as_slice()) {
        Some(caps) if caps.iter().any(|c| c == "embedding") => format!("{name} (embedding only)"),
        Some(caps) if !caps.is_empty() => format!("{name} (capabilities: {})", caps.join(", ")),
        _ => format!("{name} (an embedding model, by its name)"),
    }
}

/// The model the model tests use: `--model`, else the first warm model of `server.toml`, else
/// its first model (each by its served name: the derived model's when it declares one), else the first model the server has installed — each time the first that
/// can chat (from the capabilities the server reports: an embedding model is passed over, and
/// the source says so). Cloud models are passed over (they run remotely). `Err` says why there
/// is none when models were passed over.
pub(crate) fn choose_model(
    desired: &Desired,
    options: &Options,
    models: &[ModelInfo],
) -> Result<ChosenModel, Option<String>> {
    let info_of = |name: &ModelName| {
        models
            .iter()
            .find(|m| ModelName::parse(&m.name).is_ok_and(|n| n.key() == name.key()))
    };
    let kind_of = |info: Option<&ModelInfo>| {
        info.map_or(ModelKind::Unknown, |i| {
            ModelKind::of(&i.capabilities, i.family.as_deref())
        })
    };
    if let Some(name) = &options.model {
        let info = ModelName::parse(name).ok().and_then(|n| info_of(&n));
        return Ok(ChosenModel {
            name: name.clone(),
            source: "--model".to_owned(),
            kind: kind_of(info),
        });
    }
    let local = || desired.models.iter().filter(|m| !m.name.is_cloud());
    let installed = models
        .iter()
        .filter_map(|m| ModelName::parse(&m.name).ok())
        .filter(|n| !n.is_cloud());
    // A declared model is tested under the name clients are told to use (its derived model's).
    let candidates = local()
        .filter(|m| m.warm)
        .map(|m| {
            (
                m.served_name().clone(),
                "the first warm model in server.toml",
            )
        })
        .chain(local().map(|m| (m.served_name().clone(), "the first model in server.toml")))
        .chain(installed.map(|n| (n, "the first installed model")));
    let mut passed_over: Vec<String> = Vec::new();
    for (name, source) in candidates {
        let info = info_of(&name);
        let shown = info.map_or_else(|| name.display(), |i| i.name.clone());
        if can_chat(&name, info) == Some(false) {
            let why = cannot_chat(&shown, info);
            if !passed_over.contains(&why) {
                passed_over.push(why);
            }
            continue;
        }
        let source = if passed_over.is_empty() {
            source.to_owned()
        } else {
            format!(
                "{source} that can chat; passed over {}",
                passed_over.join(", ")
            )
        };
        return Ok(ChosenModel {
            name: shown,
            source,
            kind: kind_of(info),
        });
    }
    Err((!passed_over.is_empty())
        .then(|| format!("no model that can chat: {}", passed_over.join(", "))))
}
