//! `ollama.cloud`: the server's `~/.ollama/server.json` against `[ollama] cloud`. Ollama turns
//! cloud off when `OLLAMA_NO_CLOUD` **or** the file's `disable_ollama_cloud` says so
//! (`docs/ollama.md` §4.4), so the file disagrees only when `cloud = true` is declared and the
//! file disables it: apply cannot fix that (ssollama does not own the file), so it is a
//! blocker that says what to do. With `cloud = false` the variable wins whatever the file says.

use super::Address;
use super::{Blocker, Context, Plan};
use crate::model::Knowable;

/// The blocker's resource address.
const CLOUD: Address = Address::Cloud;

/// Registered in [`super::RESOURCES`].
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    if cx.desired.ollama.cloud != Some(true) {
        return;
    }
    match &cx.observed.server_config {
        Some(Knowable::Unknown { reason }) => plan.unknowns.push(format!(
            "{CLOUD}: whether ~/.ollama/server.json turns cloud off is unknown ({reason})"
        )),
        Some(Knowable::Known(config)) if config.disable_ollama_cloud => {
            plan.blockers.push(Blocker {
                resource: CLOUD,
                problem: format!(
                    "`cloud = true` is declared, but {} has `\"disable_ollama_cloud\": true`, and Ollama turns cloud off when either OLLAMA_NO_CLOUD or that file says so",
                    config.path.display()
                ),
                fix: "ssollama does not own that file: turn cloud back on in Ollama.app's settings, or set `\"disable_ollama_cloud\": false` in it, then restart the server (it reads the file once); or declare `cloud = false`".to_owned(),
            });
        }
        // Not observed (a saved observation from before), or the file leaves cloud on.
        None | Some(Knowable::Known(_)) => {}
    }
}
