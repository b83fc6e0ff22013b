//! The plist of the launchd job: written (its previous version kept as a backup) and removed.

use std::path::{Path, PathBuf};

use super::logs::log_dirs;
use super::{Ctx, StepError, dir_owner};
use crate::model::plist_rule::PLIST_MODE;
use crate::sys::fs;

/// Where the previous plist is kept: outside the directory launchd reads (a file left in
/// `~/Library/LaunchAgents` is one more thing launchd and the user see there), in
/// `Library/Application Support/ssollama/backups/` beside it (`~/Library/…` for an agent,
/// `/Library/…` for a daemon), never ending in `.plist`.
fn backup_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.push_str(".ssollama-backup");
    let library = path
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    library
        .join("Application Support")
        .join("ssollama")
        .join("backups")
        .join(name)
}

/// Copies the plist to [`backup_path`] (creating its directory, owned like the plist's).
fn keep_backup(ctx: &Ctx<'_>, path: &Path) -> Result<(bool, PathBuf), StepError> {
    let backup = backup_path(path);
    if fs::meta(path).is_none() {
        return Ok((false, backup));
    }
    if let Some(dir) = backup.parent() {
        fs::create_dir_all_owned(dir, dir_owner(ctx))?;
    }
    let kept = fs::backup(path, &backup, plist_owner(ctx))?;
    Ok((kept, backup))
}

/// The owner a plist must have: agents belong to the user (only settable as root), daemons to
/// root:wheel (docs/macos.md §4.1).
pub(super) fn plist_owner(ctx: &Ctx<'_>) -> Option<(u32, u32)> {
    if ctx.desired.service.mode.plist_owned_by_root() {
        Some((0, 0))
    } else {
        dir_owner(ctx)
    }
}

/// Writes the plist atomically with its owner and mode, keeping the file it replaces as a
/// backup and, for a rollback, in the step context.
pub(super) fn write(ctx: &Ctx<'_>, path: &Path, contents: &str) -> Result<String, StepError> {
    let owner = dir_owner(ctx);
    if let Some(dir) = path.parent() {
        fs::create_dir_all_owned(dir, owner)?;
    }
    // launchd creates the log files, not their directories.
    for dir in log_dirs(ctx.desired) {
        fs::create_dir_all_owned(&dir, owner)?;
    }
    let previous = fs::read_optional_bytes(path)?;
    let (kept, backup) = keep_backup(ctx, path)?;
    fs::write_atomic(path, contents.as_bytes(), PLIST_MODE, plist_owner(ctx))?;
    if let Ok(mut slot) = ctx.previous_plist.lock() {
        *slot = previous;
    }
    Ok(if kept {
        format!(
            "wrote {} (the previous file is kept as {})",
            path.display(),
            backup.display()
        )
    } else {
        format!("wrote {}", path.display())
    })
}

/// Removes the plist (`destroy`), keeping a copy as a backup.
pub(super) fn remove(ctx: &Ctx<'_>, path: &Path) -> Result<String, StepError> {
    let (_, backup) = keep_backup(ctx, path)?;
    fs::remove_file(path)?;
    Ok(format!(
        "removed {} (a copy is kept as {})",
        path.display(),
        backup.display()
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::backup_path;

    #[test]
    fn the_backup_is_kept_outside_the_launchd_directory_and_does_not_end_in_plist() {
        let backup = backup_path(Path::new("/Users/t/Library/LaunchAgents/com.ollama.plist"));
        assert_eq!(
            backup,
            Path::new(
                "/Users/t/Library/Application Support/ssollama/backups/com.ollama.plist.ssollama-backup"
            )
        );
        assert!(!backup.to_string_lossy().ends_with(".plist"));
        assert_eq!(
            backup_path(Path::new("/Library/LaunchDaemons/com.ollama.plist")),
            Path::new(
                "/Library/Application Support/ssollama/backups/com.ollama.plist.ssollama-backup"
            )
        );
    }
}
