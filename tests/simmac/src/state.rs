//! The simulated Mac's state directory (`<sandbox>/mac/`): paths, `machine.json`, `faults/`,
//! `processes.json`, and the small file and process helpers every fake shares.
//!
//! Owns the on-disk layout documented in `tests/simmac/README.md`. It must not know any tool's
//! output format: the fakes render, this module only stores.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Environment marker set by the fake `sudo`: the command runs as root.
pub const ELEVATED_ENV: &str = "SIMMAC_ELEVATED";

/// Environment marker for a fake `ollama serve` whose parent is a fake process (Ollama.app's
/// pid in `processes.json`): the pid its listener file gives as `ppid` instead of the real one.
pub const PARENT_PID_ENV: &str = "SIMMAC_PARENT_PID";

/// Environment marker for a fake `ollama serve` started as another executable (Ollama.app's
/// bundled `Contents/Resources/ollama`): the path its listener file gives as `command`.
pub const COMMAND_ENV: &str = "SIMMAC_COMMAND";

/// `machine.json`: who and what the simulated Mac is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Machine {
    /// The console user's uid (`gui/<uid>`).
    pub uid: u32,
    /// The console user's short name.
    pub user: String,
    /// The user's home directory (`HOME` of agents); `/Users/<user>` when absent.
    pub home: Option<PathBuf>,
    /// The tool directory holding the wrappers (where `brew install ollama` puts `ollama`);
    /// `<state>/../bin` when absent.
    pub bin_dir: Option<PathBuf>,
    /// Homebrew's prefix as `brew --prefix` prints it; absent = `/opt/homebrew`, and `brew
    /// install ollama` writes `<bin>/ollama` (the tool dir stands for the known paths). When set
    /// (a prefix the known paths do not cover), `brew install ollama` writes
    /// `<prefix>/opt/ollama/bin/ollama`, and only `brew --prefix ollama` tells where it is.
    pub brew_prefix: Option<PathBuf>,
    /// `sw_vers` `ProductVersion`.
    pub os_version: String,
    /// `sw_vers` `BuildVersion`.
    pub os_build: String,
    /// Someone is logged in at the GUI (else every `gui/<uid>` target gives 112).
    pub gui_session: bool,
    /// The user is an admin (networksetup set commands work without sudo).
    pub admin: bool,
    /// Whether the fake caller is root: `Some(false)` simulates a normal user even when the tests
    /// run as root (CI); `None` uses the real effective uid.
    pub root: Option<bool>,
    /// What `sudo` does: `allow` or `refuse` (password required).
    pub sudo: SudoPolicy,
    /// Addresses `ping` answers for (besides 127.0.0.0/8).
    pub reachable: Vec<String>,
    /// Physical memory, bytes (`sysctl hw.memsize`); 32 GiB by default.
    pub memsize: u64,
    /// `sysctl iogpu.wired_limit_mb`: the GPU wired-memory cap in MiB; 0 = macOS's default.
    pub wired_limit_mb: u64,
    /// What Metal reports as `recommendedMaxWorkingSetSize` (the `total` of the fake Ollama's
    /// `inference compute` line), bytes; absent = derived, see [`Machine::metal_total`].
    pub metal_total_bytes: Option<u64>,
    /// The chip (`description` of Ollama's `inference compute` line), e.g. `Apple M2 Max`.
    pub chip: String,
}

impl Default for Machine {
    fn default() -> Self {
        Self {
            uid: 501,
            user: "tester".to_owned(),
            home: None,
            bin_dir: None,
            brew_prefix: None,
            os_version: "14.2.1".to_owned(),
            os_build: "23C71".to_owned(),
            gui_session: true,
            admin: true,
            root: None,
            sudo: SudoPolicy::Allow,
            reachable: Vec::new(),
            memsize: 32 << 30,
            wired_limit_mb: 0,
            metal_total_bytes: None,
            chip: "Apple M2 Max".to_owned(),
        }
    }
}

impl Machine {
    /// The memory Metal lets one process keep on the GPU (`recommendedMaxWorkingSetSize`, which
    /// Ollama logs as `total` of `inference compute`): `metal_total_bytes` when set; else a
    /// non-zero `iogpu.wired_limit_mb` (the cap macOS applies to the GPU's wired memory); else
    /// macOS's default share of RAM, 2/3 up to 36 GiB and 3/4 above (the rule llama.cpp's Metal
    /// backend users observe: 16 GiB → 10.7 GiB, 64 GiB → 48 GiB; see `README.md`).
    pub fn metal_total(&self) -> u64 {
        if let Some(bytes) = self.metal_total_bytes {
            return bytes;
        }
        if self.wired_limit_mb > 0 {
            return self.wired_limit_mb << 20;
        }
        if self.memsize <= 36 << 30 {
            self.memsize / 3 * 2
        } else {
            self.memsize / 4 * 3
        }
    }
}

/// What the fake `sudo` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SudoPolicy {
    /// Run the command as root without asking.
    #[default]
    Allow,
    /// A password would be required (non-interactive callers fail).
    Refuse,
}

/// A fake process listed by `ps` and `lsof` (`processes.json`); never a real process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeProcess {
    /// Its pid (not checked against real processes).
    pub pid: u32,
    /// Its parent's pid (`ps ppid`); absent = 1 (`launchd`, the parent of every job and app).
    #[serde(default)]
    pub ppid: Option<u32>,
    /// Owner's user name.
    pub user: String,
    /// Executable path (`ps comm`), e.g. `/Applications/Ollama.app/Contents/MacOS/Ollama`.
    pub command: String,
    /// Extra argv after the executable (`ps args`).
    #[serde(default)]
    pub args: Vec<String>,
    /// TCP listening sockets.
    #[serde(default)]
    pub listen: Vec<Listen>,
}

/// One listening TCP socket of a fake process (an `lsof` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listen {
    /// `lsof` NAME without ` (LISTEN)`: `127.0.0.1:11434`, `*:11434`, `[::1]:11434`.
    pub address: String,
    /// File descriptor number (`lsof` FD without the `u`).
    #[serde(default = "default_fd")]
    pub fd: u32,
    /// `IPv4` or `IPv6`; derived from the address when absent.
    #[serde(default)]
    pub ip_type: Option<String>,
    /// Kernel socket address shown as DEVICE; derived from pid and fd when absent.
    #[serde(default)]
    pub device: Option<String>,
}

fn default_fd() -> u32 {
    3
}

impl Listen {
    /// A listener on `address` with fd 3 and derived type/device.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            fd: default_fd(),
            ip_type: None,
            device: None,
        }
    }
}

/// `processes.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processes {
    /// The fake processes, in `ps` order.
    pub processes: Vec<FakeProcess>,
}

/// Handle on a state directory.
#[derive(Debug, Clone)]
pub struct Mac {
    dir: PathBuf,
}

impl Mac {
    /// The state directory `dir` (not created).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `journal.log`.
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.log")
    }

    /// `machine.json`.
    pub fn machine_path(&self) -> PathBuf {
        self.dir.join("machine.json")
    }

    /// `launchd/`.
    pub fn launchd_dir(&self) -> PathBuf {
        self.dir.join("launchd")
    }

    /// `network/services.json`.
    pub fn services_path(&self) -> PathBuf {
        self.dir.join("network").join("services.json")
    }

    /// `processes.json`.
    pub fn processes_path(&self) -> PathBuf {
        self.dir.join("processes.json")
    }

    /// `faults/`.
    pub fn faults_dir(&self) -> PathBuf {
        self.dir.join("faults")
    }

    /// `ollama/listeners/` (written by the fake Ollama server).
    pub fn listeners_dir(&self) -> PathBuf {
        self.dir.join("ollama").join("listeners")
    }

    /// The machine description (defaults when the file is absent or unreadable).
    pub fn machine(&self) -> Machine {
        read_json(&self.machine_path()).unwrap_or_default()
    }

    /// Replaces `machine.json`.
    pub fn set_machine(&self, machine: &Machine) -> std::io::Result<()> {
        write_json(&self.machine_path(), machine)
    }

    /// The fake processes (empty when the file is absent).
    pub fn processes(&self) -> Processes {
        read_json(&self.processes_path()).unwrap_or_default()
    }

    /// Replaces `processes.json`.
    pub fn set_processes(&self, processes: &Processes) -> std::io::Result<()> {
        write_json(&self.processes_path(), processes)
    }

    /// The home directory of the console user.
    pub fn home(&self) -> PathBuf {
        let machine = self.machine();
        machine
            .home
            .unwrap_or_else(|| PathBuf::from(format!("/Users/{}", machine.user)))
    }

    /// The tool directory.
    pub fn bin_dir(&self) -> PathBuf {
        self.machine().bin_dir.unwrap_or_else(|| {
            self.dir
                .parent()
                .map_or_else(|| PathBuf::from("bin"), |p| p.join("bin"))
        })
    }

    /// A fault switch's content (trimmed), `None` when the switch is off.
    pub fn fault(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.faults_dir().join(name))
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// A numeric fault switch.
    pub fn fault_u64(&self, name: &str) -> Option<u64> {
        self.fault(name).and_then(|s| s.parse().ok())
    }

    /// Turns a fault switch on with `value`.
    pub fn set_fault(&self, name: &str, value: &str) -> std::io::Result<()> {
        write_atomic(&self.faults_dir().join(name), value.as_bytes())
    }

    /// Turns a fault switch off.
    pub fn clear_fault(&self, name: &str) -> std::io::Result<()> {
        match fs::remove_file(self.faults_dir().join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Sleeps for the latency fault `name` (milliseconds), if set.
    pub fn inject_delay(&self, name: &str) {
        if let Some(ms) = self.fault_u64(name) {
            std::thread::sleep(Duration::from_millis(ms));
        }
    }

    /// Runs `f` while holding the state dir's exclusive lock (`.lock`), so concurrent fake calls
    /// see each other's read-modify-write as atomic.
    pub fn locked<T>(&self, f: impl FnOnce() -> T) -> T {
        let lock = fs::create_dir_all(&self.dir).and_then(|()| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(".lock"))
        });
        match lock {
            Ok(file) => {
                // Best effort: an unlockable file still lets the fake run.
                let _ = rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive);
                let out = f();
                drop(file);
                out
            }
            Err(_) => f(),
        }
    }
}

/// Reads and parses a JSON file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    let text = fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes a JSON file atomically (pretty, trailing newline), creating parent directories.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Writes a file atomically (temp file + rename), creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(parent)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.{}.{}.tmp", std::process::id(), now_ms()));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    drop(file);
    fs::rename(&tmp, path)
}

/// Appends `line` and a newline to `path` in one `O_APPEND` write, creating parent directories.
pub fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{line}\n").as_bytes())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whether a real process with `pid` exists (zombies count as dead).
pub fn pid_alive(pid: u32) -> bool {
    let Some(raw) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    if rustix::process::test_kill_process(raw).is_err() {
        return false;
    }
    // A zombie still answers kill(0); /proc tells (Linux; elsewhere assume alive).
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// Sends `signal` to the process group `pgid` (ignores errors: the group may be gone).
pub fn kill_group(pgid: u32, signal: rustix::process::Signal) {
    if let Some(raw) = i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(raw, signal);
    }
}

/// Sends `signal` to the process `pid` (ignores errors: it may be gone).
pub fn kill_pid(pid: u32, signal: rustix::process::Signal) {
    if let Some(raw) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(raw, signal);
    }
}
