//! [`Sandbox`]: one simulated Mac in a temp dir, for a test. Layout: `bin/` (wrapper scripts,
//! the `SSOLLAMA_TOOL_DIR`), `home/` (the user's `HOME`), `mac/` (the state dir).
//!
//! Owns setup and teardown: `Drop` kills every process the simulated Mac spawned (supervisors,
//! jobs, fake Ollama servers), even after a panic, then removes the directory.

use std::ffi::OsStr;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::journal::{self, Call};
use crate::launchd::job;
use crate::network::{self, Hardware, Lease, NetConfig, Service, Services};
use crate::state::{self, FakeProcess, Listen, Mac, Machine, Processes};

/// Overrides where the simmac binary is found.
pub const SIMMAC_BIN_ENV: &str = "SIMMAC_BIN";
/// The port the loopback address is checked free on (Ollama's default).
pub const OLLAMA_PORT: u16 = 11434;

/// The pid of the Ollama.app process the sandbox helpers add.
pub const OLLAMA_APP_PID: u32 = 853;
/// Ollama.app's executable (`ps comm` of the app).
pub const OLLAMA_APP_EXECUTABLE: &str = "/Applications/Ollama.app/Contents/MacOS/Ollama";
/// The `ollama` bundled in Ollama.app, which the app runs as `ollama serve`.
pub const OLLAMA_APP_SERVER: &str = "/Applications/Ollama.app/Contents/Resources/ollama";

static NEXT_LOOPBACK: AtomicU32 = AtomicU32::new(0);

/// A simulated Mac in a temp dir.
#[derive(Debug)]
pub struct Sandbox {
    dir: tempfile::TempDir,
    simmac: PathBuf,
    loopback: Ipv4Addr,
    /// The `ollama serve` children of Ollama.app started by [`Sandbox::start_ollama_app`]
    /// (real processes of this test; reaped by [`Sandbox::kill_all`]).
    app_servers: Mutex<Vec<Child>>,
}

impl Sandbox {
    /// A fresh simulated Mac with default state, using the simmac binary next to the running
    /// test executable (or `$SIMMAC_BIN`).
    #[track_caller]
    pub fn new() -> Self {
        Self::with_simmac(locate_simmac())
    }

    /// A fresh simulated Mac using the simmac binary at `simmac`.
    #[track_caller]
    pub fn with_simmac(simmac: impl Into<PathBuf>) -> Self {
        let simmac = simmac.into();
        assert!(
            simmac.is_file(),
            "simmac binary not found at {}: build it (`cargo test --workspace` or `cargo build -p simmac`) or set {SIMMAC_BIN_ENV}",
            simmac.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("simmac-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create the sandbox temp dir: {e}"));
        let sandbox = Self {
            dir,
            simmac,
            loopback: pick_loopback(),
            app_servers: Mutex::new(Vec::new()),
        };
        sandbox.init();
        sandbox
    }

    fn init(&self) {
        adopt_orphans();
        for dir in [self.bin_dir(), self.home(), self.mac_dir()] {
            fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        // The simmac process writes the wrappers (see `__install-wrappers`).
        let out = Command::new(&self.simmac)
            .arg("--state")
            .arg(self.mac_dir())
            .arg("__install-wrappers")
            .arg(self.bin_dir())
            .args(crate::cli::TOOLS.iter().copied().chain(["ollama"]))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.simmac.display()));
        assert!(
            out.status.success(),
            "writing the wrappers failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let machine = Machine {
            home: Some(self.home()),
            bin_dir: Some(self.bin_dir()),
            root: Some(false),
            reachable: vec!["192.168.1.1".to_owned()],
            ..Machine::default()
        };
        self.set_machine(&machine);
        let mut ethernet = Service::new(
            "Ethernet",
            true,
            NetConfig::Dhcp(Some(Lease::new(
                "192.168.1.23",
                "255.255.255.0",
                "192.168.1.1",
            ))),
        );
        "3c:a6:f6:1e:52:7b".clone_into(&mut ethernet.hardware_address);
        "en0".clone_into(&mut ethernet.device);
        let mut wifi = Service::new("Wi-Fi", true, NetConfig::Dhcp(None));
        wifi.hardware = Hardware::Wifi;
        "3c:a6:f6:1e:52:7c".clone_into(&mut wifi.hardware_address);
        "en1".clone_into(&mut wifi.device);
        let mut bridge = Service::new("Thunderbolt Bridge", true, NetConfig::Dhcp(None));
        "bridge0".clone_into(&mut bridge.device);
        self.set_network_services(vec![ethernet, wifi, bridge]);
        self.set_processes(Vec::new());
        // Wildcard binds (`0.0.0.0`, `:11434`) and the Mac's LAN address really bind this
        // sandbox's own 127.0.0.X, so parallel sandboxes never collide on 127.0.0.1.
        crate::ollama::seed::set_loopback(&self.mac_dir(), self.loopback.into())
            .unwrap_or_else(|e| panic!("cannot write the fake Ollama's config: {e}"));
    }

    /// The sandbox root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The tool dir (`SSOLLAMA_TOOL_DIR`).
    pub fn bin_dir(&self) -> PathBuf {
        self.root().join("bin")
    }

    /// The user's `HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// `~/Library/LaunchAgents` (created).
    pub fn agents_dir(&self) -> PathBuf {
        let dir = self.home().join("Library").join("LaunchAgents");
        let _ = fs::create_dir_all(&dir);
        dir
    }

    /// The state dir.
    pub fn mac_dir(&self) -> PathBuf {
        self.root().join("mac")
    }

    /// A handle on the state dir.
    pub fn mac(&self) -> Mac {
        Mac::new(self.mac_dir())
    }

    /// This sandbox's loopback address (127.0.0.X, X in 2..=254, unique in this process).
    pub fn loopback(&self) -> Ipv4Addr {
        self.loopback
    }

    /// The simmac binary.
    pub fn simmac_exe(&self) -> &Path {
        &self.simmac
    }

    /// The machine description.
    pub fn machine(&self) -> Machine {
        self.mac().machine()
    }

    /// Replaces `machine.json`.
    pub fn set_machine(&self, machine: &Machine) -> &Self {
        self.mac()
            .set_machine(machine)
            .unwrap_or_else(|e| panic!("cannot write machine.json: {e}"));
        self
    }

    /// Edits `machine.json`.
    pub fn update_machine(&self, edit: impl FnOnce(&mut Machine)) -> &Self {
        let mut machine = self.machine();
        edit(&mut machine);
        self.set_machine(&machine)
    }

    /// Sets the Mac's physical memory (`sysctl hw.memsize`), bytes.
    pub fn set_memsize(&self, bytes: u64) -> &Self {
        self.update_machine(|m| m.memsize = bytes)
    }

    /// Sets `iogpu.wired_limit_mb` (0 = macOS's default share of RAM for the GPU).
    pub fn set_wired_limit_mb(&self, mb: u64) -> &Self {
        self.update_machine(|m| m.wired_limit_mb = mb)
    }

    /// Pins what Metal reports as the GPU's working set (`None`: derived from the memory and
    /// the wired limit, [`Machine::metal_total`]). A running fake Ollama read it at start.
    pub fn set_metal_total(&self, bytes: Option<u64>) -> &Self {
        self.update_machine(|m| m.metal_total_bytes = bytes)
    }

    /// The `total` the fake Ollama logs in `inference compute` ([`Machine::metal_total`]).
    pub fn metal_total(&self) -> u64 {
        self.machine().metal_total()
    }

    /// Makes the fake Ollama's runners share the Metal total (`config.json` `memory_bytes`), so
    /// warm models that do not fit in it evict each other as on a real Mac.
    pub fn limit_runners_to_metal(&self) -> &Self {
        crate::ollama::seed::set_memory(&self.mac_dir(), Some(self.metal_total()))
            .unwrap_or_else(|e| panic!("cannot write the fake Ollama's config: {e}"));
        self
    }

    /// Installed models, in install order (what `/api/tags` lists).
    pub fn installed_models(&self) -> Vec<crate::ollama::state::Installed> {
        crate::ollama::state::installed(&self.mac_dir())
            .unwrap_or_else(|e| panic!("cannot read the fake Ollama's models: {e}"))
    }

    /// Models made by `/api/create`: `(name, parent model)`, in creation order.
    pub fn created_models(&self) -> Vec<(String, String)> {
        self.installed_models()
            .into_iter()
            .filter(|m| !m.spec.parent_model.is_empty())
            .map(|m| (m.name, m.spec.parent_model))
            .collect()
    }

    /// The Modelfile parameters of an installed model (any spelling of its name), `None` when
    /// it is not installed.
    pub fn model_parameters(
        &self,
        name: &str,
    ) -> Option<std::collections::BTreeMap<String, serde_json::Value>> {
        let key = crate::ollama::name::key_of(name);
        self.installed_models()
            .into_iter()
            .find(|m| crate::ollama::name::key_of(&m.name) == key)
            .map(|m| m.spec.parameters)
    }

    /// The network services, in order.
    pub fn network_services(&self) -> Vec<Service> {
        network::load(&self.mac()).services
    }

    /// Replaces the network services.
    pub fn set_network_services(&self, services: Vec<Service>) -> &Self {
        network::save(&self.mac(), &Services { services })
            .unwrap_or_else(|e| panic!("cannot write services.json: {e}"));
        self
    }

    /// Appends a (wired) network service.
    pub fn add_network_service(&self, name: &str, enabled: bool, config: NetConfig) -> &Self {
        let mut services = self.network_services();
        services.push(Service::new(name, enabled, config));
        self.set_network_services(services)
    }

    /// Turns a fault switch on (`faults/<name>` = `value`).
    pub fn set_fault(&self, name: &str, value: &str) -> &Self {
        self.mac()
            .set_fault(name, value)
            .unwrap_or_else(|e| panic!("cannot set fault {name}: {e}"));
        self
    }

    /// Turns a fault switch off.
    pub fn clear_fault(&self, name: &str) -> &Self {
        self.mac()
            .clear_fault(name)
            .unwrap_or_else(|e| panic!("cannot clear fault {name}: {e}"));
        self
    }

    /// The fake processes of `processes.json`.
    pub fn processes(&self) -> Vec<FakeProcess> {
        self.mac().processes().processes
    }

    /// Replaces `processes.json`.
    pub fn set_processes(&self, processes: Vec<FakeProcess>) -> &Self {
        self.mac()
            .set_processes(&Processes { processes })
            .unwrap_or_else(|e| panic!("cannot write processes.json: {e}"));
        self
    }

    /// Adds a fake process.
    pub fn add_process(&self, process: FakeProcess) -> &Self {
        let mut processes = self.processes();
        processes.push(process);
        self.set_processes(processes)
    }

    /// Adds a running Ollama.app (pid 853, the console user, its UI listener on 127.0.0.1:49153:
    /// the app serves its UI on `127.0.0.1:0`, `app/cmd/app/app.go`) whose server is not running
    /// (see [`Sandbox::start_ollama_app`] for its normal state).
    pub fn add_ollama_app(&self) -> &Self {
        let user = self.machine().user;
        self.add_process(FakeProcess {
            pid: OLLAMA_APP_PID,
            ppid: None,
            user,
            command: OLLAMA_APP_EXECUTABLE.to_owned(),
            args: Vec::new(),
            listen: vec![Listen {
                fd: 4,
                ..Listen::new("127.0.0.1:49153")
            }],
        })
    }

    /// Starts Ollama.app in its normal state: the app (pid 853, as [`Sandbox::add_ollama_app`])
    /// with its own `ollama serve` child listening on `port`, and waits (bounded) until that
    /// server listens. Returns the server's pid.
    ///
    /// Follows `app/server/server.go`: `Server.Run` starts `<app>/Contents/Resources/ollama
    /// serve` (`Server.cmd`, the binary found by `resolvePath` next to the app's executable) as a
    /// child; with the app's "expose" setting it sets `OLLAMA_HOST=0.0.0.0` (a LAN server's
    /// case; the fake binds the wildcard on this sandbox's own 127.0.0.X). `ps` shows the app
    /// as the server's parent and `lsof` the server as `ollama` on `*:<port>`; quitting the app
    /// (`osascript`) stops the server.
    ///
    /// # Panics
    /// When the server cannot be started or does not listen within 10 seconds.
    pub fn start_ollama_app(&self, port: u16) -> u32 {
        self.add_ollama_app();
        let child = self
            .command(self.ollama_path())
            .arg("serve")
            .env("OLLAMA_HOST", format!("0.0.0.0:{port}"))
            .env(state::PARENT_PID_ENV, OLLAMA_APP_PID.to_string())
            .env(state::COMMAND_ENV, OLLAMA_APP_SERVER)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Ollama.app's server: {e}"));
        let pid = child.id();
        self.app_servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(child);
        let addr = SocketAddr::from((self.loopback, port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "Ollama.app's server does not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        pid
    }

    /// Every journaled call, oldest first.
    pub fn journal(&self) -> Vec<Call> {
        journal::read(&self.mac_dir())
    }

    /// The journaled calls that changed (or tried to change) the simulated Mac.
    pub fn mutating_calls(&self) -> Vec<Call> {
        self.journal()
            .into_iter()
            .filter(Call::is_mutating)
            .collect()
    }

    /// Empties the journal.
    pub fn clear_journal(&self) -> &Self {
        let _ = fs::remove_file(self.mac().journal_path());
        self
    }

    /// `<bin>/ollama`.
    pub fn ollama_path(&self) -> PathBuf {
        self.bin_dir().join("ollama")
    }

    /// Makes this a Mac without Ollama installed (removes `<bin>/ollama`).
    pub fn remove_ollama(&self) -> &Self {
        let _ = fs::remove_file(self.ollama_path());
        self
    }

    /// Runs the fake `launchctl` directly.
    pub fn launchctl(&self, args: &[&str]) -> Output {
        self.tool("launchctl", args)
    }

    /// Runs a fake tool directly (`simmac --state <mac> <tool> args…`, hermetic env).
    pub fn tool(&self, tool: &str, args: &[&str]) -> Output {
        let mut cmd = self.command(&self.simmac);
        cmd.arg("--state").arg(self.mac_dir()).arg(tool).args(args);
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run simmac {tool}: {e}"))
    }

    /// A command for `program` with the hermetic environment of the design (env cleared; `HOME`,
    /// `PATH` from the test process, `SSOLLAMA_TOOL_DIR`, `NO_COLOR=1`, `COLUMNS=100`, `LC_ALL=C`).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("HOME", self.home())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SSOLLAMA_TOOL_DIR", self.bin_dir())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("LC_ALL", "C")
            .current_dir(self.root());
        cmd
    }

    /// Pids of the live processes this sandbox spawned (supervisors, jobs and their process
    /// groups' members, fake Ollama servers).
    pub fn spawned_pids(&self) -> Vec<u32> {
        let mac = self.mac();
        let mut pids = Vec::new();
        for supervisor in self.supervisors() {
            pids.push(supervisor);
            pids.extend(session_members(supervisor));
        }
        for (_, _, job) in job::all_jobs(&mac) {
            pids.extend(job.status().pid);
        }
        pids.extend(self.listener_pids());
        pids.sort_unstable();
        pids.dedup();
        pids.retain(|p| state::pid_alive(*p));
        pids
    }

    /// Every supervisor ever started in this sandbox (`launchd/supervisors.pids`).
    fn started_supervisors(&self) -> Vec<u32> {
        fs::read_to_string(self.mac().launchd_dir().join("supervisors.pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    fn supervisors(&self) -> Vec<u32> {
        let mac_dir = self.mac_dir();
        let mut pids: Vec<u32> = job::all_jobs(&self.mac())
            .into_iter()
            .filter_map(|(_, _, job)| job.supervisor())
            .collect();
        // Supervisors whose job dir is already gone (lingering bootouts) are found by cmdline.
        pids.extend(processes_mentioning(&mac_dir, "__supervise"));
        pids.retain(|p| cmdline_mentions(*p, &mac_dir));
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    fn listener_pids(&self) -> Vec<u32> {
        let mac_dir = self.mac_dir();
        fs::read_dir(self.mac().listeners_dir())
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| {
                        e.file_name()
                            .to_string_lossy()
                            .strip_suffix(".json")
                            .and_then(|p| p.parse().ok())
                    })
                    .filter(|p| cmdline_mentions(*p, &mac_dir))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Kills everything this sandbox spawned and waits (bounded) until it is gone.
    pub fn kill_all(&self) {
        for mut child in self
            .app_servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mac = self.mac();
        let supervisors = self.supervisors();
        let mut victims: Vec<u32> = Vec::new();
        for pid in &supervisors {
            state::kill_pid(*pid, Signal::KILL);
            victims.extend(session_members(*pid));
        }
        for (_, _, job) in job::all_jobs(&mac) {
            if let Some(pid) = job.status().pid {
                state::kill_group(pid, Signal::KILL);
                victims.push(pid);
            }
        }
        victims.extend(self.listener_pids());
        for pid in &victims {
            state::kill_pid(*pid, Signal::KILL);
        }
        // Reap in order: supervisors first (their orphans are then re-parented to us).
        let killed: Vec<u32> = supervisors.iter().chain(&victims).copied().collect();
        reap_children(&self.started_supervisors(), &killed);
        let start = Instant::now();
        while !self.spawned_pids().is_empty() && start.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Makes the test process the reaper of the simulated Mac's orphans (supervisors outlive the
/// `launchctl` that started them), so they never linger as zombies of a non-reaping init.
fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
        });
    }
}

/// Reaps this sandbox's processes that are children of this process (the subreaper): every
/// supervisor that was just killed or already exited on its own (a zombie still named `simmac`),
/// then every killed job process. Only those pids are waited for, so no other thread's `Child`
/// loses its status, and a recycled pid is never reaped by mistake.
fn reap_children(started: &[u32], killed: &[u32]) {
    let wait = |pid: u32| {
        if let Some(raw) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::waitpid(Some(raw), rustix::process::WaitOptions::empty());
        }
    };
    for pid in started {
        if killed.contains(pid) || is_simmac_zombie(*pid) {
            wait(*pid);
        }
    }
    for pid in killed {
        wait(*pid);
    }
}

fn is_simmac_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            Some(comm == "simmac" && rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

fn locate_simmac() -> PathBuf {
    if let Some(path) = std::env::var_os(SIMMAC_BIN_ENV) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir.join(format!("simmac{}", std::env::consts::EXE_SUFFIX))
}

/// Picks 127.0.0.X with port 11434 free, unique within this process and spread across processes.
fn pick_loopback() -> Ipv4Addr {
    let base = std::process::id();
    for _ in 0..253 {
        let n = NEXT_LOOPBACK.fetch_add(1, Ordering::Relaxed);
        let x = 2 + (base.wrapping_add(n)) % 253;
        let Ok(x) = u8::try_from(x) else { continue };
        let addr = Ipv4Addr::new(127, 0, 0, x);
        if TcpListener::bind((addr, OLLAMA_PORT)).is_ok() {
            return addr;
        }
    }
    panic!("no free loopback address 127.0.0.2..=254 with port {OLLAMA_PORT} free");
}

/// The argv of a live process (Linux `/proc`), joined by spaces.
fn cmdline(pid: u32) -> Option<String> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

fn cmdline_mentions(pid: u32, mac_dir: &Path) -> bool {
    cmdline(pid).is_some_and(|c| c.contains(&mac_dir.display().to_string()))
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn processes_mentioning(mac_dir: &Path, word: &str) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|p| cmdline(*p).is_some_and(|c| c.contains(word)) && cmdline_mentions(*p, mac_dir))
        .collect()
}

/// Processes whose session id is `sid` (the supervisor is a session leader; its jobs stay in
/// its session even in their own process groups).
fn session_members(sid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(3)?.parse::<u32>().ok()
                })
                == Some(sid)
        })
        .collect()
}
