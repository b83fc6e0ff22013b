//! What competes with the managed server (`--take-over`): Ollama.app and Homebrew's job.

use super::job::bootout_and_wait;
use super::{StepError, failed, run};
use crate::apply::{Cancel, Settings};
use crate::launchd::cmd as launchctl;
use crate::launchd::domain::ServiceTarget;
use crate::sys::exec::Cmd;
use crate::sys::tools::Tool;

/// `osascript -e 'quit app "Ollama"'` (`--take-over`).
pub(in crate::apply) async fn quit_ollama_app(settings: &Settings) -> Result<String, StepError> {
    let cmd = Cmd::new(Tool::Osascript, ["-e", "quit app \"Ollama\""]);
    let out = run(settings, &cmd).await?;
    if !out.success() {
        return Err(failed(&cmd, &out));
    }
    Ok("quit Ollama.app (remove it from System Settings → General → Login Items too, or it starts again at the next login)".to_owned())
}

/// Boots out Homebrew's `homebrew.mxcl.ollama` (`--take-over`).
pub(in crate::apply) async fn bootout_homebrew(
    settings: &Settings,
    cancel: &Cancel,
    target: &ServiceTarget,
) -> Result<String, StepError> {
    bootout_and_wait(settings, cancel, target).await?;
    // Disabled too, or its RunAtLoad brings it back at the next login and the two fight for the
    // port again (`brew services start ollama` re-enables it, as it always runs `enable`).
    let cmd = launchctl::disable(target);
    let out = run(settings, &cmd).await?;
    if !out.success() {
        return Err(failed(&cmd, &out));
    }
    Ok(format!(
        "booted out and disabled {target} (`brew services start ollama` undoes it)"
    ))
}
