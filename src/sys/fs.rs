//! The file gateway: reads that name their path in errors, atomic writes with explicit modes,
//! metadata, and the apply lock.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::model::plist_rule::others_may_write;

/// A file operation failed; every variant names the path.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum FsError {
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
    /// Running as root, a path is not safe to open: a symbolic link someone other than root could
    /// have planted, or not the kind of file expected.
    #[error("refusing to use `{}` as root: {problem}", path.display())]
    #[diagnostic(
        code(ssollama::fs::unsafe_path),
        help(
            "as root, ssollama never follows a symbolic link a user could have planted and never opens what is not a plain file or directory; remove or replace it, or run without sudo"
        )
    )]
    Unsafe {
        /// The offending path (the link, or the file).
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Only regular files are removed (`destroy --logs`).
    #[error("refusing to remove `{}`: it is {kind}, not a regular file", path.display())]
    #[diagnostic(
        code(ssollama::fs::not_regular),
        help(
            "only log files ssollama's job wrote are removed; point `[logs]` at files of their own"
        )
    )]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
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
pub(crate) struct Meta {
    /// Owner uid.
    pub uid: u32,
    /// Permission bits (`0o644`).
    pub mode: u32,
    /// Size in bytes.
    pub len: u64,
}

/// Whether `path` itself (not what a link at it points to) is a regular file; `None` when it
/// cannot be `lstat`ed.
pub(crate) fn is_regular_file(path: &Path) -> Option<bool> {
    rustix::fs::lstat(path).ok().map(|stat| {
        rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile
    })
}

/// Whether a directory is at `path` (through links: `/tmp` is one on macOS).
pub(crate) fn is_dir(path: &Path) -> bool {
    rustix::fs::stat(path).is_ok_and(|stat| {
        rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Directory
    })
}

/// The canonical absolute form of `path` (links resolved); `None` when it does not exist.
pub(crate) fn canonical(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// What a path must be for [`guard`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A regular file with one link (or nothing there).
    File,
    /// A directory (or nothing there).
    Dir,
}

/// Whether ssollama runs as root, where every path it opens must pass [`guard`].
fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// As root, checks `path` before it is opened, created or written: no component may be a
/// symbolic link that a non-root user could have planted (one not owned by root, or in a
/// directory that is not root's or that others may write), and what is there must be of `kind`
/// (a plain file with a single link, or a directory). A missing path passes (it is created
/// without following links). Not as root: nothing to check, the user's own links are theirs.
fn guard(path: &Path, kind: Kind) -> Result<(), FsError> {
    if !running_as_root() {
        return Ok(());
    }
    guard_links(path)?;
    // Links passed: what is there (through a root-owned link, as `/var` → `private/var`).
    match rustix::fs::stat(path) {
        Ok(stat) => check_kind(&stat, kind).map_err(|problem| FsError::Unsafe {
            path: path.to_owned(),
            problem,
        }),
        Err(_) => Ok(()),
    }
}

/// The type check of [`guard`] on an `lstat` or `fstat` result.
fn check_kind(stat: &rustix::fs::Stat, kind: Kind) -> Result<(), String> {
    let file_type = rustix::fs::FileType::from_raw_mode(stat.st_mode);
    match (kind, file_type) {
        (Kind::File, rustix::fs::FileType::RegularFile) if stat.st_nlink > 1 => Err(format!(
            "it is a file with {} hard links (one may be a file of the system)",
            stat.st_nlink
        )),
        // A directory where a file is wanted harms nothing: reading or replacing it fails with
        // the OS's own `IsADirectory`, which the callers word (`-c DIR`, `--junit DIR`).
        (Kind::File, rustix::fs::FileType::RegularFile | rustix::fs::FileType::Directory)
        | (Kind::Dir, rustix::fs::FileType::Directory) => Ok(()),
        (_, rustix::fs::FileType::Symlink) => Err(format!(
            "it is a symbolic link (owned by uid {})",
            stat.st_uid
        )),
        (Kind::File, other) => Err(format!("it is not a regular file but {}", describe(other))),
        (Kind::Dir, other) => Err(format!("it is not a directory but {}", describe(other))),
    }
}

fn describe(file_type: rustix::fs::FileType) -> &'static str {
    use rustix::fs::FileType as T;
    match file_type {
        T::RegularFile => "a regular file",
        T::Directory => "a directory",
        T::Symlink => "a symbolic link",
        T::CharacterDevice => "a character device",
        T::BlockDevice => "a block device",
        T::Fifo => "a named pipe",
        T::Socket => "a socket",
        T::Unknown => "a file of unknown type",
    }
}

/// Every component of `path` that is a symbolic link must be root's, in a directory root owns
/// and nobody else may write: a link a user could have planted is never followed.
fn guard_links(path: &Path) -> Result<(), FsError> {
    let mut at = PathBuf::new();
    for component in path.components() {
        let dir = at.clone();
        at.push(component);
        let Ok(stat) = rustix::fs::lstat(&at) else {
            // Missing from here on: created by us, without following links.
            return Ok(());
        };
        if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::Symlink {
            continue;
        }
        let planted_by = if stat.st_uid != 0 {
            Some(format!("owned by uid {}", stat.st_uid))
        } else {
            match rustix::fs::stat(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &dir
            }) {
                Ok(d) if d.st_uid != 0 => Some(format!(
                    "in `{}`, a directory of uid {}",
                    dir.display(),
                    d.st_uid
                )),
                Ok(d) if d.st_mode & 0o022 != 0 => Some(format!(
                    "in `{}`, a directory others may write",
                    dir.display()
                )),
                Ok(_) => None,
                Err(_) => Some("in a directory that cannot be checked".to_owned()),
            }
        };
        if let Some(why) = planted_by {
            return Err(FsError::Unsafe {
                path: at,
                problem: format!("it is a symbolic link {why}, which a user could have planted"),
            });
        }
    }
    Ok(())
}

/// Opens an existing file for reading without following a symbolic link at its last component;
/// as root, the path is checked (`guard`) and the opened file checked again (`fstat`).
fn open_read(path: &Path) -> Result<std::fs::File, FsError> {
    guard(path, Kind::File)?;
    // As root: never through a link swapped in after the check (a trusted root link is
    // followed); never blocking on a FIFO.
    let is_link = rustix::fs::lstat(path).is_ok_and(|stat| {
        rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Symlink
    });
    let flags = rustix::fs::OFlags::RDONLY
        | rustix::fs::OFlags::CLOEXEC
        | if running_as_root() && !is_link {
            rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK
        } else if running_as_root() {
            rustix::fs::OFlags::NONBLOCK
        } else {
            rustix::fs::OFlags::empty()
        };
    let fd = rustix::fs::open(path, flags, rustix::fs::Mode::empty()).map_err(|e| {
        if running_as_root() && e == rustix::io::Errno::LOOP {
            FsError::Unsafe {
                path: path.to_owned(),
                problem: "it is a symbolic link".to_owned(),
            }
        } else {
            FsError::Read {
                path: path.to_owned(),
                source: e.into(),
            }
        }
    })?;
    if running_as_root() {
        let stat = rustix::fs::fstat(&fd).map_err(|e| FsError::Read {
            path: path.to_owned(),
            source: e.into(),
        })?;
        check_kind(&stat, Kind::File).map_err(|problem| FsError::Unsafe {
            path: path.to_owned(),
            problem,
        })?;
    }
    Ok(std::fs::File::from(fd))
}

/// Reads a whole file; `Ok(None)` when it does not exist.
fn read_all(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    use std::io::Read as _;
    let mut file = match open_read(path) {
        Ok(file) => file,
        Err(FsError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|source| FsError::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(bytes))
}

/// Reads a whole file as UTF-8 text; `Ok(None)` when it does not exist. As root, a symbolic
/// link a user could have planted, or anything but a plain file, is refused
/// ([`FsError::Unsafe`]).
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, FsError> {
    read_all(path)?
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|e| FsError::Read {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
            })
        })
        .transpose()
}

/// Reads a whole file as bytes (a binary plist is not text); `Ok(None)` when it does not exist.
/// Refuses like [`read_optional`].
pub(crate) fn read_optional_bytes(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    read_all(path)
}

/// Reads a whole file as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String, FsError> {
    read_optional(path)?.ok_or_else(|| FsError::Read {
        path: path.to_owned(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })
}

/// Owner and mode of a file; `None` when it does not exist (or cannot be stat'ed).
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub(crate) fn meta(path: &Path) -> Option<Meta> {
    std::fs::metadata(path).ok().map(|m| Meta {
        uid: m.uid(),
        mode: m.mode() & 0o7777,
        len: m.len(),
    })
}

/// Who besides root may write the program at `path` (through its own mode, not its
/// directories): its owner's uid when that is not root, `Some(0)` for a root-owned file that its
/// group or others may write, `None` when only root may (or it cannot be stat'ed).
pub(crate) fn writable_by_others(path: &Path) -> Option<u32> {
    let meta = meta(path)?;
    if meta.uid != 0 {
        Some(meta.uid)
    } else if others_may_write(meta.mode) {
        Some(0)
    } else {
        None
    }
}

/// As root, whom `program` must run as: `Ok(None)` as it is (only root may write it),
/// `Ok(Some(uid))` as its owner (a user may write it: never as root), `Err` not at all (root
/// owns it but its group or others may write it).
pub(crate) fn run_as_for(program: &Path) -> Result<Option<u32>, String> {
    match writable_by_others(program) {
        None => Ok(None),
        Some(0) => Err(format!(
            "`{}` is not run as root: its group or others may write it (`chmod go-w` it)",
            program.display()
        )),
        Some(owner) => Ok(Some(owner)),
    }
}

/// Whether a path exists and is an executable file.
pub(crate) fn is_executable(path: &Path) -> bool {
    meta(path).is_some_and(|m| m.mode & 0o111 != 0)
}

/// The last `max_bytes` of a file (for quoting a log tail in an error), lossily decoded. As
/// root, a log that is a planted symbolic link, a device or a hard link is not read (`None`): an
/// error message must never quote another file.
pub(crate) fn tail(path: &Path, max_bytes: usize) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = open_read(path).ok()?;
    let len = file.metadata().ok()?.len();
    let skip = len.saturating_sub(u64::try_from(max_bytes).unwrap_or(u64::MAX));
    file.seek(SeekFrom::Start(skip)).ok()?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(max_bytes).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Creates a directory and its parents; each directory it creates (not the ones that already
/// exist) is given `owner` (`(uid, gid)`): under `sudo`, what ssollama creates in the user's home
/// must belong to the user, not to root.
pub(crate) fn create_dir_all_owned(path: &Path, owner: Option<(u32, u32)>) -> Result<(), FsError> {
    guard(path, Kind::Dir)?;
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

/// Gives the directory just created at `path` to `uid:gid`, through a descriptor opened without
/// following a link: a link swapped in after `mkdir` is never chowned through.
fn chown(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    use rustix::fs::OFlags;
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    rustix::fs::fchown(
        &fd,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    )
    .map_err(std::io::Error::from)
}

/// Removes a file (a link itself, never its target); a missing file is fine. As root, the
/// directories on the way are checked (`guard`).
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub(crate) fn remove_file(path: &Path) -> Result<(), FsError> {
    if running_as_root() {
        guard_links(path.parent().unwrap_or_else(|| Path::new("")))?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FsError::Remove {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Removes a regular file and nothing else: a device (`/dev/null` is a common log path), a
/// directory, a symbolic link (or what it points to) are refused, by anyone. A missing file is
/// fine. For `destroy --logs`.
///
/// # Errors
/// [`FsError::Unsafe`]-like refusal ([`FsError::NotRegular`]) naming the path, or the OS error.
pub(crate) fn remove_regular_file(path: &Path) -> Result<(), FsError> {
    match rustix::fs::lstat(path) {
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => {
            return Err(FsError::Remove {
                path: path.to_owned(),
                source: e.into(),
            });
        }
        Ok(stat) => {
            let file_type = rustix::fs::FileType::from_raw_mode(stat.st_mode);
            if file_type != rustix::fs::FileType::RegularFile {
                return Err(FsError::NotRegular {
                    path: path.to_owned(),
                    kind: describe(file_type),
                });
            }
        }
    }
    remove_file(path)
}

/// The temp file name [`write_atomic`] uses for `name` in process `pid`.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.ssollama-{pid}.tmp")
}

/// Removes the temp files of `name` that an earlier run, killed inside [`write_atomic`], left
/// in `dir` (their process is gone). Best effort: a file that cannot be removed stays.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
fn sweep_temp_files(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.ssollama-");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        // Another user's live process answers EPERM: alive too.
        let alive = rustix::process::Pid::from_raw(pid).is_some_and(|p| {
            !matches!(
                rustix::process::test_kill_process(p),
                Err(rustix::io::Errno::SRCH)
            )
        });
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if !alive && is_file {
            tracing::info!(path = %entry.path().display(), "removing a temp file left by a killed run");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `contents` to `path` atomically: a temp file in the same directory, explicit `mode`,
/// optional owner, fsync, rename, fsync of the directory. A reader sees the old or the new file,
/// never half of one; a failure leaves the old file untouched and no temp file behind, and the
/// temp files of a run killed inside it are removed by the next write of the same file. As root,
/// the directory is checked (`guard`) and what is at `path` must be a plain file.
#[expect(clippy::disallowed_methods, reason = "the file gateway")]
pub(crate) fn write_atomic(
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
    guard(dir, Kind::Dir)?;
    guard(path, Kind::File)?;
    sweep_temp_files(dir, &name);
    let tmp = dir.join(temp_name(&name, std::process::id()));
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
pub(crate) fn backup(
    path: &Path,
    backup: &Path,
    owner: Option<(u32, u32)>,
) -> Result<bool, FsError> {
    let Some(bytes) = read_optional_bytes(path)? else {
        return Ok(false);
    };
    let mode = meta(path).map_or(0o644, |m| m.mode);
    write_atomic(backup, &bytes, mode, owner)?;
    Ok(true)
}

/// An exclusive advisory lock (`flock(2)`) held while the value lives: on the lock file, and
/// (see [`LockScope`]) on its directory too, so deleting the lock file during a run does not let
/// a second run in (it would lock a new file, but not the directory).
#[derive(Debug)]
pub(crate) struct Lock {
    _file: std::fs::File,
    _dir: Option<rustix::fd::OwnedFd>,
}

/// Taking the lock failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum LockError {
    /// Another ssollama holds it.
    #[error("another ssollama (pid {holder}) is working on this Mac")]
    #[diagnostic(
        code(ssollama::lock::held),
        help(
            "wait for it to finish, or pass `--lock-timeout DURATION` (e.g. `10m`) to wait for it; the lock is `{}`",
            path.display()
        )
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
    /// As root, the lock file or its directory is not safe to open.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Unsafe(FsError),
}

/// What a [`Lock`] locks besides its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockScope {
    /// The lock file only (a daemon's, in a root-only directory).
    File,
    /// The file and its directory, ssollama's own (an agent's `~/Library/Caches/ssollama`).
    Dir,
    /// The Mac-wide lock every user takes: the file and its directory (sticky and root's, as
    /// `/private/tmp`: nobody can delete or replace it), the file created readable and writable
    /// by everyone (`0666`) so whoever holds it can record their pid.
    MacWide,
}

/// How often a waiting [`Lock::acquire`] tries again.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(100);

impl Lock {
    /// Takes the lock at `path`, waiting up to `wait` for a holder to finish (zero: fail at once),
    /// and writes our pid into it. `scope` says whether the lock file's directory is locked too
    /// and who may write the file ([`LockScope`]). The directories and
    /// the file it creates get `owner` (see [`create_dir_all_owned`]). Never follows a link at
    /// the lock file; as root its directories are checked (`guard`). A lock file this user may not
    /// write (left by an older run as root), or that is not its own, is opened read-only
    /// instead: `flock` works on it all the same, only the pid is not recorded.
    pub(crate) fn acquire(
        path: &Path,
        owner: Option<(u32, u32)>,
        scope: LockScope,
        wait: std::time::Duration,
    ) -> Result<Self, LockError> {
        let open_err = |source| LockError::Open {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            guard(dir, Kind::Dir).map_err(LockError::Unsafe)?;
            make_dirs(dir, owner).map_err(open_err)?;
        }
        guard(path, Kind::File).map_err(LockError::Unsafe)?;
        let start = std::time::Instant::now();
        loop {
            let dir = if scope == LockScope::File {
                None
            } else {
                path.parent().map(open_dir).transpose().map_err(open_err)?
            };
            let mode = if scope == LockScope::MacWide {
                0o666
            } else {
                0o644
            };
            let (mut file, writable) = open_lock(path, owner, mode).map_err(|e| {
                if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                    LockError::Unsafe(FsError::Unsafe {
                        path: path.to_owned(),
                        problem: "it is a symbolic link".to_owned(),
                    })
                } else {
                    open_err(e)
                }
            })?;
            let opened = rustix::fs::fstat(&file).map_err(|e| open_err(e.into()))?;
            check_kind(&opened, Kind::File).map_err(|problem| {
                LockError::Unsafe(FsError::Unsafe {
                    path: path.to_owned(),
                    problem,
                })
            })?;
            let exclusive = rustix::fs::FlockOperation::NonBlockingLockExclusive;
            // A directory that cannot be flocked (some network file systems) is not locked.
            let dir_free = dir.as_ref().is_none_or(|d| {
                !matches!(
                    rustix::fs::flock(d, exclusive),
                    Err(rustix::io::Errno::WOULDBLOCK)
                )
            });
            if dir_free && rustix::fs::flock(&file, exclusive).is_ok() {
                // Deleted (and maybe re-created) between open and flock: lock the file that is
                // there now.
                let same = rustix::fs::lstat(path)
                    .is_ok_and(|now| now.st_ino == opened.st_ino && now.st_dev == opened.st_dev);
                if same {
                    if writable {
                        file.set_len(0).map_err(open_err)?;
                        writeln!(file, "{}", std::process::id()).map_err(open_err)?;
                    }
                    return Ok(Self {
                        _file: file,
                        _dir: dir,
                    });
                }
                continue;
            }
            if start.elapsed() >= wait {
                let holder = read_optional(path)
                    .ok()
                    .flatten()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty() && s.len() < 20)
                    .unwrap_or_else(|| "?".to_owned());
                return Err(LockError::Held {
                    holder,
                    path: path.to_owned(),
                });
            }
            std::thread::sleep(LOCK_POLL.min(wait.saturating_sub(start.elapsed())));
        }
    }
}

/// Opens a directory for `flock`, without following a link.
fn open_dir(dir: &Path) -> std::io::Result<rustix::fd::OwnedFd> {
    use rustix::fs::OFlags;
    Ok(rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?)
}

/// Opens (creating it, with `owner` and exactly `mode`, when absent) the lock file, never
/// through a link; `true` when we may write our pid into it (it is writable, and as root our own
/// or the user's we act for; or created by us).
fn open_lock(
    path: &Path,
    owner: Option<(u32, u32)>,
    mode: u32,
) -> std::io::Result<(std::fs::File, bool)> {
    use std::io::ErrorKind;
    use std::os::unix::fs::OpenOptionsExt as _;
    let nofollow = rustix::fs::OFlags::NOFOLLOW.bits();
    let nofollow = i32::try_from(nofollow).unwrap_or(0);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).custom_flags(nofollow);
    // Two rounds: the file may vanish between "exists" and opening it.
    let mut last = std::io::Error::from(ErrorKind::NotFound);
    for _ in 0..2 {
        match options.clone().create_new(true).mode(mode).open(path) {
            Ok(file) => {
                // Not narrowed by the umask: a Mac-wide lock must be writable by every user.
                rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(mode))
                    .map_err(std::io::Error::from)?;
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
            Ok(file) => {
                // Root writes its pid only into a file of its own or of the user it acts for
                // (a user, into any lock file it may write: the Mac-wide one is everyone's).
                let mine = rustix::fs::fstat(&file).is_ok_and(|stat| {
                    let euid = rustix::process::geteuid();
                    !euid.is_root()
                        || stat.st_uid == euid.as_raw()
                        || owner.is_some_and(|(uid, _)| uid == stat.st_uid)
                });
                if mine {
                    return Ok((file, true));
                }
                let mut read_only = std::fs::OpenOptions::new();
                read_only.read(true).custom_flags(nofollow);
                return read_only.open(path).map(|file| (file, false));
            }
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                let mut read_only = std::fs::OpenOptions::new();
                read_only.read(true).custom_flags(nofollow);
                return read_only.open(path).map(|file| (file, false));
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
        let held = Lock::acquire(&path, None, LockScope::Dir, std::time::Duration::ZERO).unwrap();
        let err =
            Lock::acquire(&path, None, LockScope::Dir, std::time::Duration::ZERO).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        Lock::acquire(&path, None, LockScope::Dir, std::time::Duration::ZERO).unwrap();
    }

    #[test]
    fn the_mac_wide_lock_is_everyones_and_never_a_hard_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssollama.lock");
        let zero = std::time::Duration::ZERO;
        let held = Lock::acquire(&path, None, LockScope::MacWide, zero).unwrap();
        // 0666 whatever the umask: whichever user holds it next records their pid.
        assert_eq!(meta(&path).unwrap().mode & 0o777, 0o666);
        // Its directory is locked too: a new file after a deletion lets no one in.
        remove_file(&path).unwrap();
        let err = Lock::acquire(&path, None, LockScope::MacWide, zero).unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        drop(held);
        // A hard link (to a file of the system, say) is refused, never truncated.
        remove_file(&path).unwrap();
        let other = dir.path().join("precious");
        write_atomic(&other, b"keep", 0o644, None).unwrap();
        std::fs::hard_link(&other, &path).unwrap();
        let err = Lock::acquire(&path, None, LockScope::MacWide, zero).unwrap_err();
        assert!(err.to_string().contains("hard links"), "{err}");
        remove_file(&path).unwrap();
        assert_eq!(read_text(&other).unwrap(), "keep");
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
        let lock = Lock::acquire(
            &path,
            Some((other_uid(), 20)),
            LockScope::Dir,
            std::time::Duration::ZERO,
        )
        .unwrap();
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
                Lock::acquire(&path, None, LockScope::Dir, std::time::Duration::ZERO)
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
        let held = Lock::acquire(&path, None, LockScope::Dir, std::time::Duration::ZERO).unwrap();
        assert!(matches!(
            Lock::acquire(&path, None, LockScope::Dir, std::time::Duration::ZERO),
            Err(LockError::Held { .. })
        ));
        drop(held);
    }
}
