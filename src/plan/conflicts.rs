//! `conflict.*`: Ollama.app, Homebrew's job or another process on the port stop `apply`.

use super::{Address, Blocker, Context, Plan};
use crate::model::observed::Conflict;
use crate::model::{Knowable, Observed};

/// Registered in [`super::RESOURCES`].
pub(super) fn plan(cx: &mut Context<'_>, plan: &mut Plan) {
    plan_conflicts(cx.observed, plan);
}

/// Step 2: conflicts stop `apply`; an unknown conflict list is only a note.
fn plan_conflicts(observed: &Observed, plan: &mut Plan) {
    let conflicts = match &observed.conflicts {
        Knowable::Known(conflicts) => conflicts,
        Knowable::Unknown { reason } => {
            plan.unknowns
                .push(format!("conflicts: could not check ({reason})"));
            return;
        }
    };
    let mut conflicts: Vec<&Conflict> = conflicts.iter().collect();
    conflicts.sort();
    for conflict in conflicts {
        plan.blockers.push(match conflict {
            Conflict::OllamaAppRunning { pid } => Blocker {
                resource: Address::OllamaApp,
                problem: format!("Ollama.app is running (pid {pid}); when its own server fails it stops every other `ollama serve`"),
                fix: "quit Ollama.app and remove it from Login Items, or run `ssollama apply --take-over` to quit it".to_owned(),
            },
            Conflict::HomebrewServiceLoaded { target } => Blocker {
                resource: Address::HomebrewService,
                problem: format!("Homebrew's `homebrew.mxcl.ollama` job is loaded (`{target}`) and competes for the port (its `ollama serve` and children count as this conflict)"),
                fix: "run `brew services stop ollama`, or run `ssollama apply --take-over` to boot it out and disable it (its server stops with it)".to_owned(),
            },
            Conflict::PortTaken { pid, command, address } => Blocker {
                resource: Address::Port,
                problem: format!("`{command}` (pid {pid}) already listens on {address}"),
                fix: "stop that process or change `listen.port` in server.toml (`--take-over` only stops Ollama.app and Homebrew's job)".to_owned(),
            },
        });
    }
}
