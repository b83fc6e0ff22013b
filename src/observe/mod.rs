//! Observe the Mac: run the probes (concurrently where independent), feed their outputs to the
//! pure parsers, and return one [`Observed`] value. Failures become [`Knowable::Unknown`] data
//! with the reason, never a panic and never a guess.
//!
//! One file per resource's probes: [`host`] (macOS version), [`launchd`] (our job and
//! Homebrew's), [`network`], [`ollama`](mod@ollama) (the HTTP API), [`program`] (the `ollama` binary),
//! [`processes`] (listeners and the process table), [`files`] (plist and logs), [`memory`]
//! (the Metal limit's sources), [`cloud`] (`~/.ollama/server.json`).

mod cloud;
mod files;
mod host;
mod launchd;
mod memory;
mod network;
mod ollama;
mod processes;
mod program;
mod scope;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::launchd::domain::{self, Domain, ServiceTarget};
use crate::model::Knowable;
use crate::model::desired::Listen;
use crate::model::observed::{
    FileMeta, HostFacts, JobStatus, LogFile, NetworkState, OBSERVATION_FORMAT, Observed,
    OllamaState, ServerStatus,
};
use crate::ollama::client::Client;
use crate::process;
use crate::sys::exec::{self, Cmd, ExecError, Output};
use crate::sys::fs;
use crate::sys::machine::Machine;
use crate::sys::tools::{BREW_PREFIXES, OLLAMA_CANDIDATES};

pub(crate) use launchd::job;
pub(crate) use ollama::ollama;
pub(crate) use processes::listeners_and_processes;
pub(crate) use program::find_program;
pub(crate) use scope::NetworkScope;
pub use scope::Scope;

/// The Homebrew service that competes with ours for the port (docs/macos.md §5).
pub(crate) const HOMEBREW_LABEL: &str = "homebrew.mxcl.ollama";

/// How to observe: the machine context (who we are, where the tools are) and how long to wait.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The run's machine context.
    pub machine: Machine,
    /// Limit for one external program.
    pub exec_timeout: Duration,
    /// Limit for one short HTTP call.
    pub http_timeout: Duration,
}

impl Settings {
    /// Runs a command through the process gateway.
    pub async fn run(&self, cmd: &Cmd) -> Result<Output, ExecError> {
        exec::run(cmd, self.machine.tool_dir.as_deref(), self.exec_timeout).await
    }

    /// The `ollama` locations to try, in order; Homebrew's install location first (the planner
    /// uses the first one as the future path when Ollama must be installed).
    pub fn ollama_candidates(&self) -> Vec<PathBuf> {
        match &self.machine.tool_dir {
            Some(dir) => vec![dir.join("ollama")],
            None => OLLAMA_CANDIDATES.iter().map(PathBuf::from).collect(),
        }
    }

    /// Where `brew` may be.
    pub fn brew_candidates(&self) -> Vec<PathBuf> {
        match &self.machine.tool_dir {
            Some(dir) => vec![dir.join("brew")],
            None => BREW_PREFIXES.iter().map(PathBuf::from).collect(),
        }
    }

    /// The launchd domain of the job.
    pub fn domain(&self, scope: &Scope) -> Domain {
        domain::domain_for(&scope.mode, self.machine.uid)
    }

    /// The job's service target (`gui/501/com.ollama`).
    pub fn target(&self, scope: &Scope) -> ServiceTarget {
        ServiceTarget::new(self.domain(scope), scope.label.clone())
    }

    /// The plist path.
    pub fn plist_path(&self, scope: &Scope) -> PathBuf {
        domain::plist_path(&scope.mode, &scope.label, &self.machine.home)
    }

    /// A client for the declared bind address.
    pub fn client(&self, listen: &Listen) -> Client {
        Client::new(listen.connect_addr(), self.http_timeout)
    }
}

/// How long each probe took (for `-v` and the benchmark).
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// `(probe, duration)` in completion order.
    pub probes: Vec<(&'static str, Duration)>,
    /// The whole observation.
    pub total: Duration,
}

impl Timings {
    /// The slowest single probe.
    pub fn slowest(&self) -> Option<(&'static str, Duration)> {
        self.probes.iter().copied().max_by_key(|(_, d)| *d)
    }
}

async fn timed<T>(
    name: &'static str,
    fut: impl Future<Output = T>,
) -> (T, (&'static str, Duration)) {
    let start = Instant::now();
    let value = fut.await;
    (value, (name, start.elapsed()))
}

/// Observes everything `scope` mentions. Independent probes run concurrently.
pub async fn observe(scope: &Scope, settings: &Settings) -> (Observed, Timings) {
    let start = Instant::now();
    let target = settings.target(scope);
    let (
        (os_version, t_os),
        (job, t_job),
        (homebrew, t_brewjob),
        (network, t_net),
        (ollama, t_ollama),
        (program, t_program),
        ((listeners, processes), t_procs),
        (memory, t_memory),
    ) = tokio::join!(
        timed("sw_vers", host::os_version(settings)),
        timed("launchctl print", job(settings, &target)),
        timed("homebrew job", launchd::homebrew_job(scope, settings)),
        timed("networksetup", network::network(scope, settings)),
        timed("ollama api", ollama(scope, settings)),
        timed("ollama program", program::program(scope, settings)),
        timed(
            "lsof+ps",
            listeners_and_processes(scope, settings, describe)
        ),
        timed("sysctl+log", memory::memory(scope, settings)),
    );
    let plist = files::plist_file(&settings.plist_path(scope));
    let server_config = cloud::server_config(scope, settings);
    let logs = [&scope.logs.stdout, &scope.logs.stderr]
        .into_iter()
        .map(|path| LogFile {
            path: path.clone(),
            meta: fs::meta(path).map(|m| FileMeta {
                owner: m.uid,
                mode: m.mode,
                regular: fs::is_regular_file(path).unwrap_or(false),
            }),
        })
        .collect();
    let conflicts = process::conflicts(
        listeners,
        processes,
        homebrew,
        &job.as_ref().map(|status| match status {
            JobStatus::Loaded(loaded) => loaded.pid,
            JobStatus::NotLoaded => None,
        }),
    );
    let ollama = not_here_yet(scope, network.as_ref()).map_or(ollama, |reason| OllamaState {
        url: settings.client(&scope.listen).base_url().to_owned(),
        server: ServerStatus::Down { reason },
    });
    let observed = Observed {
        format: OBSERVATION_FORMAT,
        host: HostFacts {
            uid: settings.machine.uid,
            home: settings.machine.home.clone(),
            os_version,
        },
        plist,
        job,
        network,
        ollama,
        program,
        logs,
        conflicts,
        memory: Some(memory),
        server_config: Some(server_config),
    };
    let timings = Timings {
        probes: vec![
            t_os, t_job, t_brewjob, t_net, t_ollama, t_program, t_procs, t_memory,
        ],
        total: start.elapsed(),
    };
    (observed, timings)
}

/// Why the declared bind address cannot be this Mac's server yet: `[network]` gives this Mac
/// `listen.host`, but the service does not have it (a replacement Mac before its first apply).
/// Whatever answers there is another machine — the old server, say — and must not be planned
/// against: its models would look installed, and with `prune` someone else's would be removed.
fn not_here_yet(scope: &Scope, network: Option<&Knowable<NetworkState>>) -> Option<String> {
    let (spec, address) = scope.own_address()?;
    let have = match network? {
        Knowable::Known(NetworkState {
            info: Some(Knowable::Known(info)),
            ..
        }) => info.address,
        Knowable::Known(NetworkState { info: None, .. }) => None,
        // Unknown network: nothing to go on; probe as usual.
        _ => return None,
    };
    (have != Some(address)).then(|| {
        format!(
            "{} is not this Mac's address yet (network service {:?} has {}): not asking whatever answers there",
            address,
            spec.service,
            have.map_or_else(|| "none".to_owned(), |a| a.to_string())
        )
    })
}

pub(super) fn describe(err: &ExecError) -> String {
    match err {
        ExecError::Spawn { path, source, .. } => {
            format!("could not run `{}`: {source}", path.display())
        }
        other => other.to_string(),
    }
}

/// A tool's run as a fact: `parse` of its stdout when `accept` takes the output (else the exit
/// status and stderr), or why it did not run (`describe_err`).
pub(super) fn tool_fact<T, E: std::fmt::Display>(
    tool: &str,
    result: Result<Output, ExecError>,
    accept: impl Fn(&Output) -> bool,
    parse: impl FnOnce(&str) -> Result<T, E>,
    describe_err: impl FnOnce(&ExecError) -> String,
) -> Knowable<T> {
    match result {
        Ok(out) if accept(&out) => parse(&out.stdout).map_or_else(
            |e| Knowable::unknown(format!("`{tool}`: {e}")),
            Knowable::Known,
        ),
        Ok(out) => Knowable::unknown(format!(
            "`{tool}` exited with {:?}: {}",
            out.status,
            out.stderr.trim()
        )),
        Err(err) => Knowable::unknown(describe_err(&err)),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::sys::exec::Output;

    /// A tool's output, for the probes' readers.
    pub(crate) fn output(status: Option<i32>, stdout: &str, stderr: &str) -> Output {
        Output {
            status,
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        }
    }
}
