//! The Ollama program: `brew install ollama`, as the right user.

use super::{Ctx, StepError, failed};
use crate::sys::exec::{self, Cmd};
use crate::sys::fs;
use crate::sys::tools::Tool;

pub(super) async fn install_ollama(ctx: &Ctx<'_>) -> Result<String, StepError> {
    let Some(brew) = &ctx.observed.program.brew else {
        return Err(StepError::Invalid(
            "no Homebrew found to install Ollama: install Homebrew (https://brew.sh) or Ollama.app, or set `service.program`".to_owned(),
        ));
    };
    let settings = ctx.settings;
    // Homebrew refuses to run as root, and its `brew` is a user's script that must never run as
    // root at all: under sudo, install as the user behind it; as root without sudo (root's
    // cron), as the owner of `brew`.
    let user = match (settings.machine().is_root, settings.machine().sudo_uid) {
        (true, Some(uid)) if uid != 0 => Some(uid),
        (true, _) => fs::run_as_for(brew).map_err(StepError::Invalid)?,
        _ => None,
    };
    let cmd = match user {
        Some(uid) => {
            let mut args = Vec::new();
            if !settings.machine().interactive {
                args.push("-n".to_owned());
            }
            args.extend([
                "-u".to_owned(),
                format!("#{uid}"),
                brew.display().to_string(),
                "install".to_owned(),
                "ollama".to_owned(),
            ]);
            Cmd::new(Tool::Sudo, args)
        }
        _ => Cmd::new(Tool::Brew(brew.clone()), ["install", "ollama"]),
    };
    let out = exec::run(
        &cmd,
        settings.machine().tool_dir.as_deref(),
        settings.timing.brew_timeout,
    )
    .await?;
    if !out.success() {
        let mut error = failed(&cmd, &out);
        if settings.machine().is_root
            && let StepError::Command { message, .. } = &mut error
        {
            message.push_str(
                "; Homebrew does not run as root: run `ssollama apply` as your user, or `sudo -u <you> brew install ollama` first",
            );
        }
        return Err(error);
    }
    // Look again, Homebrew's own word (`brew --prefix ollama`) included. Nothing there: fail
    // now, saying where we looked, rather than install again in every round.
    let (found, looked) = crate::observe::find_program(
        &crate::observe::Scope::of(ctx.desired),
        &settings.observe,
        Some(brew),
    )
    .await;
    match found {
        Some(path) => Ok(format!("ran `{cmd}`; found {}", path.display())),
        None => Err(StepError::NotInstalled {
            cmd: cmd.to_string(),
            looked: looked
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
