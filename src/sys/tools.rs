//! The external programs ssollama runs, by absolute path, never through `PATH`.
//!
//! The one override is the test/diagnostic seam `SSOLLAMA_TOOL_DIR`: when set, every program is
//! taken from that directory by its base name (see `specs/seams.md`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// An external program.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    /// `/bin/launchctl`.
    Launchctl,
    /// `/usr/sbin/networksetup`.
    Networksetup,
    /// `/usr/bin/sudo`.
    Sudo,
    /// `/usr/bin/sw_vers`.
    SwVers,
    /// `/usr/sbin/lsof`.
    Lsof,
    /// `/bin/ps`.
    Ps,
    /// `/sbin/ping`.
    Ping,
    /// `/usr/bin/osascript` (to quit Ollama.app politely).
    Osascript,
    /// `/usr/sbin/sysctl` (RAM and the GPU wired-memory cap, for the Metal estimate).
    Sysctl,
    /// `brew`, found at a Homebrew prefix (the path is part of the tool).
    Brew(PathBuf),
    /// The `ollama` executable at the given path.
    Ollama(PathBuf),
}

impl Tool {
    /// The program's base name (what is looked up in `SSOLLAMA_TOOL_DIR`).
    pub fn name(&self) -> &str {
        match self {
            Self::Launchctl => "launchctl",
            Self::Networksetup => "networksetup",
            Self::Sudo => "sudo",
            Self::SwVers => "sw_vers",
            Self::Lsof => "lsof",
            Self::Ps => "ps",
            Self::Ping => "ping",
            Self::Osascript => "osascript",
            Self::Sysctl => "sysctl",
            Self::Brew(_) => "brew",
            Self::Ollama(_) => "ollama",
        }
    }

    /// The absolute path on a real Mac.
    pub fn system_path(&self) -> PathBuf {
        match self {
            Self::Launchctl => PathBuf::from("/bin/launchctl"),
            Self::Networksetup => PathBuf::from("/usr/sbin/networksetup"),
            Self::Sudo => PathBuf::from("/usr/bin/sudo"),
            Self::SwVers => PathBuf::from("/usr/bin/sw_vers"),
            Self::Lsof => PathBuf::from("/usr/sbin/lsof"),
            Self::Ps => PathBuf::from("/bin/ps"),
            Self::Ping => PathBuf::from("/sbin/ping"),
            Self::Osascript => PathBuf::from("/usr/bin/osascript"),
            Self::Sysctl => PathBuf::from("/usr/sbin/sysctl"),
            Self::Brew(path) | Self::Ollama(path) => path.clone(),
        }
    }

    /// The path to run: under `tool_dir` when the seam is set (except `ollama`, whose path comes
    /// from `server.toml` or detection, which already honours the seam), else the system path.
    pub fn resolve(&self, tool_dir: Option<&Path>) -> PathBuf {
        match (self, tool_dir) {
            (Self::Ollama(path), _) => path.clone(),
            (_, Some(dir)) => dir.join(self.name()),
            (_, None) => self.system_path(),
        }
    }
}

/// Where Homebrew puts `brew` (Apple Silicon first, then Intel).
pub(crate) const BREW_PREFIXES: [&str; 2] = ["/opt/homebrew/bin/brew", "/usr/local/bin/brew"];

/// Where `ollama` is looked for when `service.program` is not set, in order: Homebrew's stable
/// `opt` path (survives upgrades), Homebrew's `bin`, Intel Homebrew / the app's symlink, and the
/// CLI bundled in Ollama.app (docs/macos.md §5).
pub(crate) const OLLAMA_CANDIDATES: [&str; 4] = [
    "/opt/homebrew/opt/ollama/bin/ollama",
    "/opt/homebrew/bin/ollama",
    "/usr/local/bin/ollama",
    "/Applications/Ollama.app/Contents/Resources/ollama",
];
