//! The job supervisor: what launchd does for one loaded job. `bootstrap` spawns it detached
//! (`simmac --state X __supervise <domain> <label>`); it runs the program, restarts it per
//! `KeepAlive` (throttled), serves `kickstart` and `bootout` requests, and removes the job after
//! the bootout linger.
//!
//! It polls (every 20 ms) instead of using signals, so it needs no unsafe code and no runtime.
//! It must not print anything: its stdio is `/dev/null`.

use std::fs;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::job::{Domain, JobDir, LastExit, Loaded, Status};
use crate::state::{self, Mac};

const POLL: Duration = Duration::from_millis(20);
/// Default restart throttle of the fake (launchd's is `ThrottleInterval`, 10 s).
const DEFAULT_THROTTLE_MS: u64 = 1000;
/// `EX_CONFIG`: what launchd records when it cannot spawn the job.
const EX_CONFIG: i32 = 78;

/// Runs the supervisor for `domain`/`label` until the job is booted out (or its state vanishes).
pub fn run(state_dir: &Path, domain: &str, label: &str) -> ExitCode {
    let _ = rustix::process::setsid();
    let mac = Mac::new(state_dir);
    let Some((domain, None)) = super::job::parse_target(domain) else {
        return ExitCode::from(64);
    };
    let job = JobDir::new(&mac, &domain, label);
    let Some(loaded) = job.loaded() else {
        return ExitCode::from(113);
    };
    let mut sup = Supervisor {
        mac,
        job,
        loaded,
        domain,
        child: None,
        status: Status::default(),
        next_spawn: None,
        last_spawn: None,
        kill_at: None,
        restart_after_stop: false,
        booting_out: false,
    };
    sup.main_loop();
    ExitCode::SUCCESS
}

struct Supervisor {
    mac: Mac,
    job: JobDir,
    loaded: Loaded,
    domain: Domain,
    child: Option<Child>,
    status: Status,
    next_spawn: Option<Instant>,
    last_spawn: Option<Instant>,
    kill_at: Option<Instant>,
    restart_after_stop: bool,
    booting_out: bool,
}

impl Supervisor {
    fn main_loop(&mut self) {
        self.status = self.job.status();
        "not running".clone_into(&mut self.status.state);
        if self.loaded.definition.starts_at_load() {
            self.next_spawn = Some(Instant::now());
        }
        self.save();
        loop {
            if !self.job.exists() {
                self.stop_child(Signal::KILL);
                return;
            }
            for request in self.job.take_requests() {
                self.handle(request.trim());
            }
            self.reap();
            if self.booting_out && self.child.is_none() {
                self.finish_bootout();
                return;
            }
            if self.kill_at.is_some_and(|at| Instant::now() >= at) {
                self.stop_child(Signal::KILL);
                self.kill_at = None;
            }
            if self.child.is_none() && self.next_spawn.is_some_and(|t| Instant::now() >= t) {
                self.next_spawn = None;
                self.spawn();
            }
            std::thread::sleep(POLL);
        }
    }

    fn handle(&mut self, request: &str) {
        match request {
            "bootout" => {
                self.booting_out = true;
                self.next_spawn = None;
                self.restart_after_stop = false;
                self.terminate();
            }
            // Legacy `launchctl stop`: SIGTERM; KeepAlive decides whether it comes back.
            "stop" if !self.booting_out => self.terminate(),
            "kickstart" if !self.booting_out && self.child.is_none() => {
                self.next_spawn = Some(Instant::now());
            }
            "kickstart-k" if !self.booting_out => {
                if self.child.is_some() {
                    self.restart_after_stop = true;
                    self.terminate();
                } else {
                    self.next_spawn = Some(Instant::now());
                }
            }
            _ => {}
        }
    }

    /// SIGTERM the job's process group; SIGKILL after `ExitTimeOut`.
    fn terminate(&mut self) {
        if self.child.is_some() {
            self.stop_child(Signal::TERM);
            let timeout = self.loaded.definition.exit_timeout.max(1);
            self.kill_at = Some(Instant::now() + Duration::from_secs(timeout));
        }
    }

    fn stop_child(&self, signal: Signal) {
        if let Some(child) = &self.child {
            state::kill_group(child.id(), signal);
        }
    }

    fn reap(&mut self) {
        let Some(child) = &mut self.child else {
            return;
        };
        let Ok(Some(exit)) = child.try_wait() else {
            return;
        };
        let pgid = child.id();
        self.child = None;
        self.kill_at = None;
        // launchd kills what is left of the job's process group (no AbandonProcessGroup).
        state::kill_group(pgid, Signal::KILL);
        self.status.pid = None;
        self.status.last_exit = match (exit.code(), exit.signal()) {
            (Some(code), _) => LastExit::Code(code),
            (None, Some(signal)) => LastExit::Signal(signal),
            (None, None) => LastExit::Code(-1),
        };
        if self.booting_out {
            "not running".clone_into(&mut self.status.state);
        } else if std::mem::take(&mut self.restart_after_stop) {
            self.next_spawn = Some(Instant::now());
            "spawn scheduled".clone_into(&mut self.status.state);
        } else if self
            .loaded
            .definition
            .keep_alive
            .restarts_after(&self.status.last_exit)
        {
            self.schedule_throttled();
        } else {
            "not running".clone_into(&mut self.status.state);
        }
        self.save();
    }

    fn schedule_throttled(&mut self) {
        let throttle = Duration::from_millis(
            self.mac
                .fault_u64("throttle-ms")
                .unwrap_or(DEFAULT_THROTTLE_MS),
        );
        let earliest = self.last_spawn.map_or_else(Instant::now, |t| t + throttle);
        self.next_spawn = Some(earliest.max(Instant::now()));
        "spawn scheduled".clone_into(&mut self.status.state);
    }

    fn spawn(&mut self) {
        self.status.runs += 1;
        self.last_spawn = Some(Instant::now());
        if let Ok(child) = self.command().and_then(|mut cmd| cmd.spawn()) {
            {
                self.status.pid = Some(child.id());
                "running".clone_into(&mut self.status.state);
                self.child = Some(child);
            }
        } else {
            {
                self.status.pid = None;
                self.status.last_exit = LastExit::Code(EX_CONFIG);
                if self.loaded.definition.keep_alive == super::job::KeepAlive::Never {
                    "not running".clone_into(&mut self.status.state);
                } else {
                    self.schedule_throttled();
                }
            }
        }
        self.save();
    }

    /// The job's command: exactly the plist's environment (+ what launchd adds), its cwd, its
    /// log files (created, never their directories), its own process group.
    fn command(&self) -> std::io::Result<Command> {
        let def = &self.loaded.definition;
        let mut cmd = Command::new(def.executable());
        if let Some((first, rest)) = def.arguments.split_first() {
            cmd.arg0(first).args(rest);
        }
        cmd.env_clear();
        cmd.env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin");
        if self.domain.is_agent() {
            cmd.env("HOME", self.mac.home());
        }
        for (key, value) in &def.environment {
            cmd.env(key, value);
        }
        cmd.env("XPC_SERVICE_NAME", &def.label);
        cmd.current_dir(def.working_directory.as_deref().unwrap_or("/"));
        cmd.stdin(Stdio::null());
        cmd.stdout(open_log(def.stdout_path.as_deref())?);
        cmd.stderr(open_log(def.stderr_path.as_deref())?);
        cmd.process_group(0);
        Ok(cmd)
    }

    fn finish_bootout(&mut self) {
        "not running".clone_into(&mut self.status.state);
        self.status.pid = None;
        self.save();
        let deadline = self.job.bootout_deadline().unwrap_or(0);
        while state::now_ms() < deadline && self.job.exists() {
            std::thread::sleep(POLL);
        }
        let _ = fs::remove_dir_all(self.job.dir());
    }

    fn save(&self) {
        if self.job.exists() {
            let _ = self.job.set_status(&self.status);
        }
    }
}

fn open_log(path: Option<&str>) -> std::io::Result<Stdio> {
    match path {
        None => Ok(Stdio::null()),
        Some(path) => fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Stdio::from),
    }
}
