//! The job's log files and their directories.

use std::path::{Path, PathBuf};

use super::{Ctx, StepError, dir_owner};
use crate::model::Desired;
use crate::sys::fs;

/// Creates the log directories (launchd creates the files, not their directories), owned like
/// the plist's directory.
pub(super) fn create_dirs(ctx: &Ctx<'_>, dirs: &[PathBuf]) -> Result<String, StepError> {
    for dir in dirs {
        fs::create_dir_all_owned(dir, dir_owner(ctx))?;
    }
    Ok(format!("created {} directories", dirs.len()))
}

/// Removes the log files (`destroy --logs`); only regular files.
pub(super) fn remove(paths: &[PathBuf]) -> Result<String, StepError> {
    for path in paths {
        fs::remove_regular_file(path)?;
    }
    Ok(format!("removed {} log file(s)", paths.len()))
}

/// The directories of the job's two logs, as `server.toml` declares them.
pub(super) fn log_dirs(desired: &Desired) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [&desired.logs.stdout, &desired.logs.stderr]
        .into_iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.dedup();
    dirs
}
