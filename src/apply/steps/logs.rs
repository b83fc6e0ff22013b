//! The job's log files and their directories.

use std::path::{Path, PathBuf};

use crate::model::Desired;

pub(super) fn log_dirs(desired: &Desired) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [&desired.logs.stdout, &desired.logs.stderr]
        .into_iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    dirs.dedup();
    dirs
}
