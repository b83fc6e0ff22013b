//! The one end-to-end harness of the integration tests: the real `ssollama` binary against a
//! simulated Mac (`simmac::Sandbox`), the end-to-end layer of ARCHITECTURE.md.
//!
//! * [`Mac`]: one simulated Mac with a `server.toml`, built either as a fresh Mac with the
//!   standard `server.toml` ([`Mac::new`], [`Mac::with`]; bound to the sandbox's 127.0.0.X, agent
//!   domain of the real uid, short linger and throttle faults) or as a hand-installed server
//!   ([`Mac::served`], [`Mac::converged_server`]: uid 501 through `SUDO_UID`, its own port).
//!   [`Mac::converge_by_hand`] makes a standard Mac converged without running `apply`.
//! * [`Run`]: what one run printed and how it exited, with `#[track_caller]` assertions.
//! * Normalization for snapshots: [`Mac::normalize`], [`Mac::shown`].
//!
//! Every command starts from the sandbox's hermetic environment (`env_clear`, then `HOME`,
//! `PATH`, `SSOLLAMA_TOOL_DIR`, `NO_COLOR`, `COLUMNS`, `LC_ALL`) with stdin closed. Waits are
//! bounded polls. This module must not assert anything a test did not ask for.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::Regex;
use simmac::Sandbox;
use simmac::ollama::seed;

/// Two models: one warm (generate), one only pulled.
pub(crate) const MODELS: &str = r#"
[[models]]
name = "llama3.2"
warm = true

[[models]]
name = "all-minilm"
"#;

/// Ollama's default port: the standard `server.toml` listens there.
pub(crate) const PORT: u16 = 11434;

// ---------------------------------------------------------------------------------------------
// Run

/// What one run printed and how it exited.
#[derive(Debug)]
#[must_use]
pub(crate) struct Run {
    /// The exit code (`None`: killed by a signal).
    pub(crate) code: Option<i32>,
    /// Standard output, lossily decoded.
    pub(crate) stdout: String,
    /// Standard error, lossily decoded.
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Waits for a spawned run ([`Mac::spawn`]) and collects it.
    pub(crate) fn finish(child: Child) -> Self {
        child.wait_with_output().unwrap().into()
    }

    /// Stdout, a newline, stderr: what `says` searches.
    pub(crate) fn both(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Exit code 0.
    #[track_caller]
    pub(crate) fn success(&self) -> &Self {
        self.code(0)
    }

    /// Exit code 1.
    #[track_caller]
    pub(crate) fn failure(&self) -> &Self {
        self.code(1)
    }

    /// Exactly this exit code.
    #[track_caller]
    pub(crate) fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}:\n{}",
            self.both()
        );
        self
    }

    /// `text` appears in stdout or stderr.
    #[track_caller]
    pub(crate) fn says(&self, text: &str) -> &Self {
        assert!(
            self.both().contains(text),
            "expected {text:?} in:\n{}",
            self.both()
        );
        self
    }

    /// `text` appears nowhere in stdout or stderr.
    #[track_caller]
    pub(crate) fn never_says(&self, text: &str) -> &Self {
        assert!(
            !self.both().contains(text),
            "did not expect {text:?} in:\n{}",
            self.both()
        );
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.both()))
    }
}

// ---------------------------------------------------------------------------------------------
// Mac

/// Which kind of simulated Mac: decides the uid, the port and the snapshot vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The standard `server.toml` on port 11434; the agent domain is the real uid. Snapshots say
    /// `[IP]` and `gui/[UID]`; the port is fixed, so it stays.
    Standard,
    /// A hand-installed server of uid 501 (`SUDO_UID` when the tests run as root) on a port
    /// free on both 127.0.0.1 and the sandbox address. Snapshots say `[HOST]` and `[PORT]`.
    Served,
}

/// A simulated Mac with a `server.toml` bound to its loopback address.
#[derive(Debug)]
#[must_use]
pub(crate) struct Mac {
    /// The simulated Mac itself.
    pub(crate) sb: Sandbox,
    /// `server.toml` (absolute, in the sandbox root; absent until written).
    pub(crate) config: PathBuf,
    /// The address the server listens on: the sandbox's 127.0.0.X.
    pub(crate) host: Ipv4Addr,
    /// The port the server listens on.
    pub(crate) port: u16,
    kind: Kind,
    /// A served Mac's hold on 127.0.0.1:[`Mac::port`] (bound, never listening), so that nothing
    /// else takes it while `verify` checks that loopback refuses.
    hold: Option<PortHold>,
}

impl Default for Mac {
    fn default() -> Self {
        Self::new()
    }
}

impl Mac {
    /// A fresh Mac (nothing installed, DHCP Ethernet, server down) with the standard
    /// `server.toml` declaring [`MODELS`].
    pub(crate) fn new() -> Self {
        Self::with(MODELS, "")
    }

    /// A fresh Mac; `models`: `[[models]]` tables; `ollama`: lines for the `[ollama]` table.
    pub(crate) fn with(models: &str, ollama: &str) -> Self {
        let sb = Sandbox::new();
        // ssollama's agent domain is gui/<real uid> (0 in CI): make that the console user.
        let uid = rustix::process::getuid().as_raw();
        sb.update_machine(|m| m.uid = uid);
        sb.set_fault("bootout-linger-ms", "100");
        sb.set_fault("throttle-ms", "200");
        let mac = Self::around(sb, PORT, Kind::Standard);
        mac.configure(models, ollama);
        mac
    }

    /// A Mac for a hand-made install: uid 501 (through `SUDO_UID` when the tests run as root),
    /// a port free on both 127.0.0.1 and the sandbox address, no `server.toml` yet.
    pub(crate) fn served() -> Self {
        let sb = Sandbox::new();
        let real = rustix::process::getuid().as_raw();
        if real != 0 {
            sb.update_machine(|m| m.uid = real);
        }
        let (port, hold) = free_port(sb.loopback());
        let mut mac = Self::around(sb, port, Kind::Served);
        mac.hold = Some(hold);
        mac
    }

    /// The same Mac, listening on `port` instead (127.0.0.1:`port` is not held).
    pub(crate) fn on_port(mut self, port: u16) -> Self {
        self.port = port;
        self.hold = None;
        self
    }

    /// Lets go of 127.0.0.1:[`Mac::port`], for a server meant to answer there.
    pub(crate) fn release_loopback_port(&mut self) {
        self.hold = None;
    }

    fn around(sb: Sandbox, port: u16, kind: Kind) -> Self {
        let config = sb.root().join("server.toml");
        let host = sb.loopback();
        Self {
            sb,
            config,
            host,
            port,
            kind,
            hold: None,
        }
    }

    /// A converged server set up by hand, without `apply`: a minimal `server.toml` (listen,
    /// logs, `keep_alive = -1`, `llama3.2` warm), its plist rendered by ssollama's own renderer
    /// and bootstrapped through the fake `launchctl`, the model installed. `on_loopback`: the
    /// job really gets `OLLAMA_HOST=127.0.0.1:<port>` (a server bound to the wrong address).
    pub(crate) fn converged_server(on_loopback: bool) -> Self {
        Self::converged_server_with(on_loopback, |_| {})
    }

    /// [`Mac::converged_server`], with `prepare` run on the sandbox's Mac directory before the
    /// server starts (to set the Ollama version or install other models).
    pub(crate) fn converged_server_with(on_loopback: bool, prepare: impl FnOnce(&Path)) -> Self {
        let mut mac = Self::served();
        if on_loopback {
            mac.release_loopback_port();
        }
        seed::set_loopback(&mac.sb.mac_dir(), mac.host.into()).unwrap();
        seed::install_model(&mac.sb.mac_dir(), "llama3.2").unwrap();
        prepare(&mac.sb.mac_dir());
        let logs = mac.logs_dir();
        std::fs::create_dir_all(&logs).unwrap();
        let toml = format!(
            "[listen]\nhost = \"{host}\"\nport = {port}\n\n[logs]\nstdout = \"{}\"\nstderr = \"{}\"\n\n[ollama]\nkeep_alive = -1\n\n[[models]]\nname = \"llama3.2\"\nwarm = true\n",
            logs.join("ollama.stdout.log").display(),
            logs.join("ollama.stderr.log").display(),
            host = mac.host,
            port = mac.port,
        );
        std::fs::write(&mac.config, &toml).unwrap();
        let mut plist = mac.desired_plist();
        let mut listen = mac.addr();
        if on_loopback {
            listen = SocketAddr::from((Ipv4Addr::LOCALHOST, mac.port));
            plist = plist.replace(&mac.addr().to_string(), &listen.to_string());
        }
        mac.bootstrap("com.ollama", &plist);
        wait_until("the server listens", || listening(listen));
        mac
    }

    /// Makes this standard Mac converged without `apply`: the static address set through the
    /// fake `networksetup`, the declared models installed, the plist rendered by ssollama's
    /// own renderer and bootstrapped, the warm models loaded. The caller checks the result
    /// (usually with [`Mac::assert_converged`]).
    pub(crate) fn converge_by_hand(&self) -> &Self {
        let desired = self.desired();
        if let Some(net) = &desired.network {
            self.set_manual(
                &net.service,
                &net.address.to_string(),
                &net.subnet_mask.to_string(),
                &net.router.to_string(),
            );
        }
        for model in &desired.models {
            seed::install_model(&self.sb.mac_dir(), model.name.raw()).unwrap();
        }
        std::fs::create_dir_all(self.logs_dir()).unwrap();
        self.bootstrap(desired.service.label.as_str(), &self.desired_plist());
        wait_until("the server listens", || listening(self.addr()));
        for model in desired.models.iter().filter(|m| m.warm) {
            self.load(model.name.raw(), "-1");
        }
        self
    }

    /// `networksetup -setmanual <service> <address> <mask> <router>` through the fake, as
    /// someone at the Mac would; asserts it succeeded.
    #[track_caller]
    pub(crate) fn set_manual(&self, service: &str, address: &str, mask: &str, router: &str) {
        let out = self.sb.tool(
            "networksetup",
            &["-setmanual", service, address, mask, router],
        );
        assert!(out.status.success(), "{}", Run::from(out).both());
    }

    /// `server.toml` parsed.
    pub(crate) fn desired(&self) -> ssollama::Desired {
        let toml = std::fs::read_to_string(&self.config).unwrap();
        ssollama::parse_config("server.toml", &toml)
            .unwrap_or_else(|e| panic!("server.toml does not parse: {e:?}"))
            .desired
    }

    /// The plist ssollama's renderer makes of `server.toml` (program: the sandbox's `ollama`).
    pub(crate) fn desired_plist(&self) -> String {
        ssollama::desired_plist_xml(&self.desired(), &self.sb.ollama_path())
    }

    /// Loads Homebrew's `homebrew.mxcl.ollama` job as `brew services start ollama` does, in its
    /// normal state: `RunAtLoad`, `KeepAlive`, a real (fake) `ollama serve` listening on the
    /// declared port. Homebrew's plist sets no `OLLAMA_HOST` (127.0.0.1:11434); here it is the
    /// wildcard on the declared port, which the fake binds on the sandbox's own address (never
    /// the shared 127.0.0.1). Waits (bounded) until it listens.
    pub(crate) fn load_homebrew_job(&self) -> PathBuf {
        let program = self.sb.ollama_path().display().to_string();
        self.load_homebrew_job_running(&[&program, "serve"])
    }

    /// [`Mac::load_homebrew_job`] whose `ProgramArguments` are `arguments`, which must start an
    /// `ollama serve` on the declared port (`OLLAMA_HOST` is set), maybe as a child process.
    pub(crate) fn load_homebrew_job_running(&self, arguments: &[&str]) -> PathBuf {
        let arguments = arguments.iter().fold(String::new(), |mut out, a| {
            let _ = writeln!(out, "\t\t<string>{a}</string>");
            out
        });
        let path = self.bootstrap(
            "homebrew.mxcl.ollama",
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>EnvironmentVariables</key>
	<dict>
		<key>OLLAMA_HOST</key>
		<string>0.0.0.0:{port}</string>
	</dict>
	<key>KeepAlive</key>
	<true/>
	<key>Label</key>
	<string>homebrew.mxcl.ollama</string>
	<key>ProgramArguments</key>
	<array>
{arguments}	</array>
	<key>RunAtLoad</key>
	<true/>
</dict>
</plist>
"#,
                port = self.port,
            ),
        );
        let wildcard = SocketAddr::from((self.host, self.port));
        wait_until("Homebrew's server listens", || listening(wildcard));
        path
    }

    /// Starts Ollama.app in its normal state: the app with its own `ollama serve` child on the
    /// declared port (see [`simmac::Sandbox::start_ollama_app`]). Returns the server's pid.
    pub(crate) fn start_ollama_app(&self) -> u32 {
        self.sb.start_ollama_app(self.port)
    }

    /// The plan's `blocked …` lines (see [`Mac::planned`]).
    pub(crate) fn blocked(&self) -> Vec<String> {
        self.planned()
            .into_iter()
            .filter(|l| l.starts_with("blocked"))
            .collect()
    }

    /// Writes `text` as the agent plist of `label`, owned by the machine user, and bootstraps
    /// it through the fake `launchctl`.
    pub(crate) fn bootstrap(&self, label: &str, text: &str) -> PathBuf {
        let sb = &self.sb;
        std::fs::create_dir_all(sb.agents_dir()).unwrap();
        let path = sb.agents_dir().join(format!("{label}.plist"));
        std::fs::write(&path, text).unwrap();
        if rustix::process::getuid().as_raw() == 0 {
            std::os::unix::fs::chown(&path, Some(sb.machine().uid), None).unwrap();
        }
        let domain = format!("gui/{}", sb.machine().uid);
        let out = sb.launchctl(&["bootstrap", &domain, path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "bootstrap failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    }

    /// Writes the standard `server.toml` (`models`: `[[models]]` tables; `ollama`: lines for
    /// the `[ollama]` table), bound to the sandbox address, static IP on Ethernet.
    pub(crate) fn configure(&self, models: &str, ollama: &str) {
        let ip = self.ip();
        let logs = self.logs_dir();
        let text = format!(
            r#"[service]
label = "com.ollama"
mode = "agent"

[listen]
host = "{ip}"
port = {port}

[network]
service = "Ethernet"
address = "{ip}"
subnet_mask = "255.0.0.0"
router = "127.0.0.1"

[logs]
stdout = "{logs}/ollama.stdout.log"
stderr = "{logs}/ollama.stderr.log"

[ollama]
{ollama}
{models}"#,
            port = self.port,
            logs = logs.display()
        );
        std::fs::write(&self.config, text).unwrap();
    }

    /// The sandbox address, as text.
    pub(crate) fn ip(&self) -> String {
        self.host.to_string()
    }

    /// Where the server listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.host, self.port))
    }

    /// The log directory `server.toml` names.
    pub(crate) fn logs_dir(&self) -> PathBuf {
        self.sb.root().join("logs")
    }

    /// `~/Library/LaunchAgents` of the sandbox (not created: a test may make it a symlink).
    pub(crate) fn agents_dir(&self) -> PathBuf {
        self.sb.home().join("Library").join("LaunchAgents")
    }

    /// Where `apply` and `destroy` keep the previous plist: outside `~/Library/LaunchAgents`.
    pub(crate) fn backup_of_plist(&self) -> PathBuf {
        self.sb
            .home()
            .join("Library/Application Support/ssollama/backups/com.ollama.plist.ssollama-backup")
    }

    /// The agent plist of `com.ollama`.
    pub(crate) fn plist(&self) -> PathBuf {
        self.agents_dir().join("com.ollama.plist")
    }

    /// `gui/<uid>/com.ollama`: the job as `launchctl` names it.
    pub(crate) fn target(&self) -> String {
        format!("gui/{}/com.ollama", self.sb.machine().uid)
    }

    // -----------------------------------------------------------------------------------------
    // Running ssollama

    /// `ssollama <args>` (no `-c`), hermetic, stdin closed, in the sandbox root.
    pub(crate) fn command_raw(&self, args: &[&str]) -> Command {
        let mut cmd = self.sb.command(env!("CARGO_BIN_EXE_ssollama"));
        if self.kind == Kind::Served && rustix::process::getuid().as_raw() == 0 {
            cmd.env("SUDO_UID", self.sb.machine().uid.to_string());
        }
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// `ssollama -c <server.toml> <args>`.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut all = vec!["-c", self.config.to_str().unwrap()];
        all.extend(args);
        self.command_raw(&all)
    }

    /// Runs `ssollama <args>` (no `-c`: the caller names the config, if any).
    pub(crate) fn ssollama(&self, args: &[&str]) -> Run {
        self.command_raw(args).output().unwrap().into()
    }

    /// Runs `ssollama -c <server.toml> <args>`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().unwrap().into()
    }

    /// `apply --yes --ready-timeout 10`.
    pub(crate) fn apply(&self) -> Run {
        self.run(&["apply", "--yes", "--ready-timeout", "10"])
    }

    /// Starts `ssollama -c <server.toml> <args>` with piped output; collect it with
    /// [`Run::finish`].
    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The plan's changes as `action resource` lines, then `blocked resource` lines.
    pub(crate) fn planned(&self) -> Vec<String> {
        planned_lines(&self.run(&["plan", "--json"]).json())
    }

    /// The plan is empty and `check` succeeds.
    #[track_caller]
    pub(crate) fn assert_converged(&self) {
        assert_eq!(
            self.planned(),
            Vec::<String>::new(),
            "the plan is not empty"
        );
        self.run(&["check"]).success();
    }

    /// Polls (bounded) until the plan contains `line`.
    #[track_caller]
    pub(crate) fn wait_for_planned(&self, line: &str) {
        let start = Instant::now();
        while !self.planned().iter().any(|l| l == line) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{line:?} never showed in the plan"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Boots the job out through the fake `launchctl` and waits (bounded) until `print` says
    /// it is gone (exit 113).
    #[track_caller]
    pub(crate) fn boot_out(&self) {
        let target = self.target();
        assert!(self.sb.launchctl(&["bootout", &target]).status.success());
        wait_until("launchctl print says 113", || {
            self.sb.launchctl(&["print", &target]).status.code() == Some(113)
        });
    }

    /// The mutating calls of the fakes, as one-line summaries.
    pub(crate) fn mutations(&self) -> Vec<String> {
        self.sb
            .mutating_calls()
            .iter()
            .map(simmac::journal::Call::summary)
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // The fake Ollama

    /// A raw HTTP request to the fake Ollama; returns the response text (status line included).
    pub(crate) fn http(&self, method: &str, path: &str, body: &str) -> String {
        http(self.addr(), method, path, body)
    }

    /// `POST /api/generate` with an empty prompt: loads `model` for `keep_alive`; asserts 200.
    #[track_caller]
    pub(crate) fn load(&self, model: &str, keep_alive: &str) {
        load(self.addr(), model, keep_alive);
    }

    /// `GET /api/ps`, raw.
    pub(crate) fn loaded_models(&self) -> String {
        self.http("GET", "/api/ps", "")
    }

    // -----------------------------------------------------------------------------------------
    // Snapshots

    /// Exit code, stdout and stderr (without `pull ` progress lines, whose interleaving depends
    /// on timing), normalized.
    pub(crate) fn shown(&self, run: &Run) -> String {
        let stderr = run.stderr.lines().filter(|l| !l.starts_with("pull ")).fold(
            String::new(),
            |mut out, l| {
                out.push_str(l);
                out.push('\n');
                out
            },
        );
        self.normalize(&format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{stderr}",
            run.code, run.stdout
        ))
    }

    /// Replaces what changes from run to run: the sandbox path (`[SANDBOX]`), the sandbox's
    /// 127.0.0.X but never a longer address starting with it (`[IP]`; `[HOST]` on a served
    /// Mac), a served Mac's port (`[PORT]`), the uid in `gui/<uid>` and launchctl's `user gui: <uid>`
    /// of a standard Mac (`[UID]`), pids, durations and Anthropic request ids.
    pub(crate) fn normalize(&self, text: &str) -> String {
        let text = text.replace(&self.sb.root().display().to_string(), "[SANDBOX]");
        let label = match self.kind {
            Kind::Standard => "[IP]",
            Kind::Served => "[HOST]",
        };
        let mut text = replace_address(&text, &self.ip(), label);
        if self.kind == Kind::Served {
            let port = self.port;
            for (from, to) in [
                (format!(":{port}"), ":[PORT]"),
                (format!("port {port}"), "port [PORT]"),
                (format!("port = {port}"), "port = [PORT]"),
            ] {
                text = text.replace(&from, to);
            }
        }
        for (re, to) in DURATIONS.iter() {
            text = re.replace_all(&text, *to).into_owned();
        }
        if self.kind == Kind::Standard {
            text = UID
                .replace_all(&text, |c: &regex::Captures<'_>| {
                    if c[0].starts_with("gui/") {
                        "gui/[UID]"
                    } else {
                        "user gui: [UID]"
                    }
                })
                .into_owned();
        }
        REQUEST_ID.replace_all(&text, "req_[ID]$1").into_owned()
    }
}

/// Pids and durations: `pid 123`, `(1.2 s)`, `(1.2 s, `, `in 1.2 s`.
static DURATIONS: LazyLock<[(Regex, &str); 4]> = LazyLock::new(|| {
    [
        (Regex::new(r"\(\d+\.\d s\)").unwrap(), "([T] s)"),
        (Regex::new(r"\(\d+\.\d s, ").unwrap(), "([T] s, "),
        (Regex::new(r"in \d+\.\d s").unwrap(), "in [T] s"),
        (Regex::new(r"pid \d+").unwrap(), "pid [PID]"),
    ]
});
/// The uid of a standard Mac: `gui/0`, launchctl's `user gui: 0`.
static UID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"gui/\d+|user gui: \d+").unwrap());
/// Anthropic request ids: `req_` and exactly 24 hex digits.
static REQUEST_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"req_[0-9a-fA-F]{24}([^0-9a-fA-F]|$)").unwrap());

/// `text` with `ip` replaced by `label`, but not where a longer address starts with it
/// (127.0.0.2 inside 127.0.0.23).
fn replace_address(text: &str, ip: &str, label: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(ip) {
        let after = &rest[at + ip.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(ip);
        } else {
            out.push_str(label);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The changes of a plan JSON document (`plan --json`, `plan --out`) as `action resource`
/// lines, then `blocked resource` lines.
#[track_caller]
pub(crate) fn planned_lines(plan: &serde_json::Value) -> Vec<String> {
    let mut lines: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["resource"].as_str().unwrap()
            )
        })
        .collect();
    lines.extend(
        plan["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| format!("blocked {}", b["resource"].as_str().unwrap())),
    );
    lines
}

// ---------------------------------------------------------------------------------------------
// Free functions: network and waiting

/// A TCP socket bound to a port of 127.0.0.1 without `SO_REUSEADDR` and never listening: while
/// it lives no other socket of any process can bind that port on 127.0.0.1 (nor get it from
/// `bind(…:0)`), and a connection to it is refused exactly as if nothing were there.
#[derive(Debug)]
pub(crate) struct PortHold(#[expect(dead_code, reason = "held for its bind only")] OwnedFd);

/// A port free on both 127.0.0.1 and `host`, held on 127.0.0.1 until the [`PortHold`] drops. A
/// port that is only free when picked could be handed to the next `bind(127.0.0.1:0)` (a test's
/// listener, another test run) and then answer `verify`'s "loopback refuses" probe.
pub(crate) fn free_port(host: Ipv4Addr) -> (u16, PortHold) {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, bind, getsockname, socket_with};
    for _ in 0..50 {
        // Close-on-exec: a server spawned meanwhile must not keep the port held.
        let fd = socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        bind(&fd, &SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        let port = SocketAddr::try_from(getsockname(&fd).unwrap())
            .unwrap()
            .port();
        if TcpListener::bind((host, port)).is_ok() {
            return (port, PortHold(fd));
        }
    }
    panic!("no port free on both 127.0.0.1 and {host}");
}

/// Something accepts connections at `addr`.
pub(crate) fn listening(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
}

/// Polls `ok` (every 25 ms, at most 10 s) until it holds.
#[track_caller]
pub(crate) fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A raw HTTP/1.1 request to `addr`; returns the response text (status line included).
pub(crate) fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

/// `POST /api/generate` with an empty prompt: loads `model` for `keep_alive`; asserts 200.
#[track_caller]
pub(crate) fn load(addr: SocketAddr, model: &str, keep_alive: &str) {
    let body = format!(r#"{{"model":"{model}","prompt":"","keep_alive":{keep_alive}}}"#);
    let reply = http(addr, "POST", "/api/generate", &body);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// Waits (bounded, 20 s) until a process of this sandbox runs with `needle` in its command
/// line.
pub(crate) fn wait_for_process(mac_dir: &Path, needle: &str) -> bool {
    let start = Instant::now();
    let mac = mac_dir.display().to_string();
    while start.elapsed() < Duration::from_secs(20) {
        let found = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                std::fs::read(e.path().join("cmdline")).is_ok_and(|raw| {
                    let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                    line.contains(&mac) && line.contains(needle)
                })
            });
        if found {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// No `*.tmp` file is left in `dir`.
#[track_caller]
pub(crate) fn no_temp_files(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let temp = Path::new(&name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tmp"));
            assert!(!temp, "temp file left behind: {name}");
        }
    }
}
