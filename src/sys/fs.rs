//! The file gateway: reads that name their path in errors, atomic writes with explicit modes,
//! metadata, and the apply lock.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file operation failed; every variant names the path.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FsError {
    /// Reading failed.
    #[error("could not read `{}`", path.display())]
    #[diagnostic(code(ssollama::fs::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Writing (temp file, fsync, rename, chmod, chown) failed.
    #[error("could not write `{}`", path.display())]
    #[diagnostic(code(ssollama::fs::write))]
    Write {
        /// The destination.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Creating a directory failed.
    #[error("could not create the directory `{}`", path.display())]
    #[diagnostic(code(ssollama::fs::mkdir))]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Removing failed.
    #[error("could not remove `{}`", path.display())]
    #[diagnostic(code(ssollama::fs::remove))]
    Remove {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Owner, mode and size of an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Owner uid.
    pub uid: u32,
    /// Permission bits (`0o644`).
    pub mode: u32,
    /// Size in bytes.
    pub len: u64,
}

/// Reads a whole file as UTF-8 text; `Ok(None)` when it does not exist.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub fn read_optional(path: &Path) -> Result<Option<String>, FsError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| FsError::Read {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Reads a whole file as bytes (a binary plist is not text); `Ok(None)` when it does not exist.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub fn read_optional_bytes(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Reads a whole file as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, FsError> {
    read_optional(path)?.ok_or_else(|| FsError::Read {
        path: path.to_owned(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })
}

/// Owner and mode of a file; `None` when it does not exist (or cannot be stat'ed).
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub fn meta(path: &Path) -> Option<Meta> {
    std::fs::metadata(path).ok().map(|m| Meta {
        uid: m.uid(),
        mode: m.mode() & 0o7777,
        len: m.len(),
    })
}

/// Whether a path exists and is an executable file.
pub fn is_executable(path: &Path) -> bool {
    meta(path).is_some_and(|m| m.mode & 0o111 != 0)
}

/// The last `max_bytes` of a file (for quoting a log tail in an error), lossily decoded.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub fn tail(path: &Path, max_bytes: usize) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let start = bytes.len().saturating_sub(max_bytes);
    Some(String::from_utf8_lossy(&bytes[start..]).into_owned())
}

/// Creates a directory and its parents; each directory it creates (not the ones that already
/// exist) is given `owner` (`(uid, gid)`): under `sudo`, what ssollama creates in the user's home
/// must belong to the user, not to root.
pub fn create_dir_all_owned(path: &Path, owner: Option<(u32, u32)>) -> Result<(), FsError> {
    make_dirs(path, owner).map_err(|source| FsError::CreateDir {
        path: path.to_owned(),
        source,
    })
}

/// [`create_dir_all_owned`] with the bare OS error.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
fn make_dirs(path: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    // The missing ancestors, deepest first; created top down.
    let mut missing = Vec::new();
    let mut at = Some(path);
    while let Some(dir) = at {
        if dir.as_os_str().is_empty() || std::fs::metadata(dir).is_ok() {
            break;
        }
        missing.push(dir);
        at = dir.parent();
    }
    for dir in missing.into_iter().rev() {
        match std::fs::create_dir(dir) {
            Ok(()) => {
                if let Some((uid, gid)) = owner {
                    chown(dir, uid, gid)?;
                }
            }
            // Created meanwhile by someone else: theirs, not ours to chown.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    if path.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::from(std::io::ErrorKind::NotADirectory))
    }
}

fn chown(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    rustix::fs::chown(
        path,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )
    .map_err(std::io::Error::from)
}

/// Removes a file; a missing file is fine.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub fn remove_file(path: &Path) -> Result<(), FsError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FsError::Remove {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Writes `contents` to `path` atomically: a temp file in the same directory, explicit `mode`,
/// optional owner, fsync, rename, fsync of the directory. A reader sees the old or the new file,
/// never half of one; a failure leaves the old file untouched and no temp file behind.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub fn write_atomic(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), FsError> {
    let err = |source| FsError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.ssollama-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = owner {
            rustix::fs::fchown(
                &file,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )
            .map_err(std::io::Error::from)?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Durability of the rename itself; not all filesystems support it.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Copies `path` to `backup` byte for byte (atomically, same mode, `owner` as for
/// [`write_atomic`]) when `path` exists.
pub fn backup(path: &Path, backup: &Path, owner: Option<(u32, u32)>) -> Result<bool, FsError> {
    let Some(bytes) = read_optional_bytes(path)? else {
        return Ok(false);
    };
    let mode = meta(path).map_or(0o644, |m| m.mode);
    write_atomic(backup, &bytes, mode, owner)?;
    Ok(true)
}

/// An exclusive advisory lock (`flock(2)`) held while the value lives.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
    path: PathBuf,
}

/// Taking the lock failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockError {
    /// Another ssollama holds it.
    #[error("another ssollama (pid {holder}) is working on this Mac")]
    #[diagnostic(
        code(ssollama::lock::held),
        help("wait for it to finish; the lock is `{}`", path.display())
    )]
    Held {
        /// The holder's pid, as it wrote it in the lock file (`?` when unreadable).
        holder: String,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened.
    #[error("could not open the lock file `{}`", path.display())]
    #[diagnostic(code(ssollama::lock::open))]
    Open {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Lock {
    /// Takes the lock at `path` without waiting, and writes our pid into it. The directories
    /// and the file it creates get `owner` (see [`create_dir_all_owned`]). A lock file this user
    /// may not write (left by an older run as root) is opened read-only instead: `flock` works
    /// on it all the same, only the pid is not recorded.
    #[expect(clippy::disallowed_methods, reason = "the file gateway")]
    pub fn acquire(path: &Path, owner: Option<(u32, u32)>) -> Result<Self, LockError> {
        let open_err = |source| LockError::Open {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            make_dirs(dir, owner).map_err(open_err)?;
        }
        let (mut file, writable) = open_lock(path, owner).map_err(open_err)?;
        if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            let holder = std::fs::read_to_string(path)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "?".to_owned());
            return Err(LockError::Held {
                holder,
                path: path.to_owned(),
            });
        }
        if writable {
            file.set_len(0).map_err(open_err)?;
            writeln!(file, "{}", std::process::id()).map_err(open_err)?;
        }
        Ok(Self {
            _file: file,
            path: path.to_owned(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens (creating it, with `owner`, when absent) the lock file; `true` when writable.
fn open_lock(path: &Path, owner: Option<(u32, u32)>) -> std::io::Result<(std::fs::File, bool)> {
    use std::io::ErrorKind;
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true);
    // Two rounds: the file may vanish between "exists" and opening it.
    let mut last = std::io::Error::from(ErrorKind::NotFound);
    for _ in 0..2 {
        match options.clone().create_new(true).open(path) {
            Ok(file) => {
                if let Some((uid, gid)) = owner {
                    rustix::fs::fchown(
                        &file,
                        Some(rustix::fs::Uid::from_raw(uid)),
                        Some(rustix::fs::Gid::from_raw(gid)),
                    )
                    .map_err(std::io::Error::from)?;
                }
                return Ok((file, true));
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        match options.open(path) {
            Ok(file) => return Ok((file, true)),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                return std::fs::File::open(path).map(|file| (file, false));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.plist");
        write_atomic(&path, b"one", 0o644, None).unwrap();
        write_atomic(&path, b"two", 0o600, None).unwrap();
        assert_eq!(read_text(&path).unwrap(), "two");
        assert_eq!(meta(&path).unwrap().mode, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
    }

    #[test]
    fn atomic_write_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/a.plist");
        let err = write_atomic(&path, b"x", 0o644, None).unwrap_err();
        assert!(err.to_string().contains("a.plist"), "{err}");
    }

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = Lock::acquire(&path, None).unwrap();
        let err = Lock::acquire(&path, None).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        Lock::acquire(&path, None).unwrap();
    }

    #[test]
    fn read_optional_distinguishes_absent() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_optional(&dir.path().join("nope")).unwrap(), None);
    }

    /// A uid that is not ours: chowning to it needs root, which CI has; elsewhere our own.
    fn other_uid() -> u32 {
        if rustix::process::geteuid().is_root() {
            501
        } else {
            rustix::process::getuid().as_raw()
        }
    }

    #[test]
    fn created_directories_get_the_owner_and_existing_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let mine = meta(dir.path()).unwrap().uid;
        let deep = dir.path().join("Library/LaunchAgents/x");
        create_dir_all_owned(&dir.path().join("Library"), None).unwrap();
        create_dir_all_owned(&deep, Some((other_uid(), 20))).unwrap();
        assert!(deep.is_dir());
        assert_eq!(meta(dir.path()).unwrap().uid, mine);
        assert_eq!(meta(&dir.path().join("Library")).unwrap().uid, mine);
        for created in [dir.path().join("Library/LaunchAgents"), deep.clone()] {
            assert_eq!(
                meta(&created).unwrap().uid,
                other_uid(),
                "{}",
                created.display()
            );
        }
        // Again: nothing to create, fine.
        create_dir_all_owned(&deep, Some((other_uid(), 20))).unwrap();
        // A file in the way is an error that names the path.
        let file = dir.path().join("file");
        write_atomic(&file, b"", 0o644, None).unwrap();
        let err = create_dir_all_owned(&file, None).unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
    }

    #[test]
    fn a_created_lock_and_its_directories_get_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Caches/ssollama/lock");
        let lock = Lock::acquire(&path, Some((other_uid(), 20))).unwrap();
        for owned in [
            &path,
            &dir.path().join("Caches/ssollama"),
            &dir.path().join("Caches"),
        ] {
            assert_eq!(meta(owned).unwrap().uid, other_uid(), "{}", owned.display());
        }
        assert_eq!(
            read_text(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(lock);
    }

    #[test]
    fn backup_gets_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.plist");
        write_atomic(&path, b"x", 0o644, None).unwrap();
        let copy = dir.path().join("a.plist.bak");
        assert!(backup(&path, &copy, Some((other_uid(), 20))).unwrap());
        assert_eq!(meta(&copy).unwrap().uid, other_uid());
        assert_eq!(read_text(&copy).unwrap(), "x");
    }

    #[test]
    fn a_lock_file_we_may_not_write_is_locked_read_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("lock");
        // Left by an older run as root: read-only for anyone else.
        write_atomic(&path, b"1\n", 0o444, None).unwrap();
        let try_lock = {
            let path = path.clone();
            move || {
                Lock::acquire(&path, None)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        };
        let result = if rustix::process::geteuid().is_root() {
            // Root may write anything: be uid 501 in one thread (Linux: uids are per thread).
            std::thread::spawn(move || {
                rustix::thread::set_thread_uid(rustix::fs::Uid::from_raw(501)).unwrap();
                try_lock()
            })
            .join()
            .unwrap()
        } else {
            try_lock()
        };
        assert_eq!(result, Ok(()));
        // The flock still excludes: a held lock is reported as held.
        let held = Lock::acquire(&path, None).unwrap();
        assert!(matches!(
            Lock::acquire(&path, None),
            Err(LockError::Held { .. })
        ));
        drop(held);
    }
}
