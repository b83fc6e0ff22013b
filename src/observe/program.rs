//! The `ollama` program: where it is, its version, and where Homebrew is.

use std::path::{Path, PathBuf};

use super::{Scope, Settings, describe};
use crate::model::Knowable;
use crate::model::observed::ProgramState;
use crate::sys::exec::Cmd;
use crate::sys::fs;
use crate::sys::tools::Tool;

/// `program args…` (`ollama --version`, `brew --prefix ollama`); as root, a program a user may
/// write is never run as root: as its owner (`sudo -n -u #<uid>`), and not at all when root owns
/// it but others may write it.
fn as_its_owner(is_root: bool, program: &Path, tool: Tool, args: &[&str]) -> Result<Cmd, String> {
    let plain = Cmd::new(tool, args.iter().copied());
    if !is_root {
        return Ok(plain);
    }
    match fs::run_as_for(program)? {
        None => Ok(plain),
        Some(owner) => Ok(Cmd::new(
            Tool::Sudo,
            [
                "-n".to_owned(),
                "-u".to_owned(),
                format!("#{owner}"),
                program.display().to_string(),
            ]
            .into_iter()
            .chain(args.iter().map(|a| (*a).to_owned())),
        )),
    }
}

/// Finds the `ollama` program: `service.program` when declared (only there), else the known
/// paths, else where Homebrew itself says its formula is (`brew --prefix ollama` + `bin/ollama`,
/// for a prefix the known paths miss). Returns the program found and every path looked at, in
/// order. `brew --prefix` runs only when nothing was found and `brew` exists.
pub(crate) async fn find_program(
    scope: &Scope,
    settings: &Settings,
    brew: Option<&Path>,
) -> (Option<PathBuf>, Vec<PathBuf>) {
    let mut candidates = match &scope.program {
        Some(path) => {
            return (
                fs::is_executable(path).then(|| path.clone()),
                vec![path.clone()],
            );
        }
        None => settings.ollama_candidates(),
    };
    if let Some(path) = candidates.iter().find(|p| fs::is_executable(p)) {
        return (Some(path.clone()), candidates);
    }
    let Some(brew) = brew else {
        return (None, candidates);
    };
    // Homebrew's `brew` is the user's script: as root it runs as its owner, never as root.
    let Ok(cmd) = as_its_owner(
        settings.machine.is_root,
        brew,
        Tool::Brew(brew.to_owned()),
        &["--prefix", "ollama"],
    ) else {
        return (None, candidates);
    };
    let prefix = match settings.run(&cmd).await {
        Ok(out) if out.success() => out.stdout.lines().next().map(|l| PathBuf::from(l.trim())),
        _ => None,
    };
    if let Some(prefix) = prefix.filter(|p| p.is_absolute()) {
        let path = prefix.join("bin").join("ollama");
        if !candidates.contains(&path) {
            candidates.push(path.clone());
        }
        if fs::is_executable(&path) {
            return (Some(path), candidates);
        }
    }
    (None, candidates)
}

pub(super) async fn program(scope: &Scope, settings: &Settings) -> ProgramState {
    let brew = settings
        .brew_candidates()
        .into_iter()
        .find(|p| fs::is_executable(p));
    let (path, candidates) = find_program(scope, settings, brew.as_deref()).await;
    let version = match &path {
        None => Knowable::unknown("no `ollama` program found"),
        Some(path) => match as_its_owner(
            settings.machine.is_root,
            path,
            Tool::Ollama(path.clone()),
            &["--version"],
        ) {
            Err(reason) => Knowable::unknown(reason),
            Ok(cmd) => match settings.run(&cmd).await {
                Ok(out) => crate::ollama::cli::parse_version_output(&out.stdout).map_or_else(
                    || {
                        Knowable::unknown(format!(
                            "`ollama --version` printed no version: {}",
                            out.stdout.trim()
                        ))
                    },
                    Knowable::Known,
                ),
                Err(err) => Knowable::unknown(describe(&err)),
            },
        },
    };
    ProgramState {
        path,
        candidates,
        version,
        brew,
    }
}
