//! `ollama.program`: install Ollama (Homebrew) when no program was found.

use std::path::PathBuf;

use serde_json::{Value as Json, json};

use super::{Action, Address, Blocker, Change, Context, Operation, Plan};
use crate::model::Observed;
use crate::model::desired::Desired;

/// Where Homebrew (Apple Silicon) installs Ollama: the program path planned when none is found
/// and observation listed no candidate.
const HOMEBREW_OLLAMA: &str = "/opt/homebrew/opt/ollama/bin/ollama";

/// The program the plist runs: the one found, else where installing will put it.
pub(super) fn program_for_plist(observed: &Observed, desired: &Desired) -> PathBuf {
    observed
        .program
        .path
        .clone()
        .or_else(|| desired.service.program.clone())
        .or_else(|| observed.program.candidates.first().cloned())
        .unwrap_or_else(|| PathBuf::from(HOMEBREW_OLLAMA))
}

/// Registered in [`super::RESOURCES`].
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    plan_program(cx.desired, cx.observed, plan);
}

/// Step 1: install Ollama when no program was found.
fn plan_program(desired: &Desired, observed: &Observed, plan: &mut Plan) {
    if observed.program.path.is_some() {
        return;
    }
    let looked = observed
        .program
        .candidates
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(program) = &desired.service.program {
        plan.blockers.push(Blocker {
            resource: Address::Program,
            problem: format!("`service.program` `{}` does not exist", program.display()),
            fix: "install Ollama there, or remove `service.program` from server.toml to use the one Homebrew installs".to_owned(),
        });
        return;
    }
    if observed.program.brew.is_none() {
        plan.blockers.push(Blocker {
            resource: Address::Program,
            problem: format!(
                "no `ollama` program found (looked at {looked}) and no Homebrew to install it"
            ),
            fix: "install Homebrew (https://brew.sh) or Ollama.app, or set service.program"
                .to_owned(),
        });
        return;
    }
    let target = program_for_plist(observed, desired);
    plan.changes.push(Change {
        resource: Address::Program,
        action: Action::Install,
        reason: "no `ollama` program found".to_owned(),
        before: Json::Null,
        after: json!({ "path": target.display().to_string() }),
        operation: Operation::InstallOllama,
    });
}
