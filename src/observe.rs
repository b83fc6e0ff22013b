//! Observe the Mac: run the probes (concurrently where independent), feed their outputs to the
//! pure parsers, and return one [`Observed`] value. Failures become [`Knowable::Unknown`] data
//! with the reason, never a panic and never a guess.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::launchd::cmd as launchctl;
use crate::launchd::domain::{self, Domain, ServiceTarget};
use crate::model::Desired;
use crate::model::Knowable;
use crate::model::desired::Label;
use crate::model::observed::{
    FileMeta, HostFacts, JobStatus, LogFile, NetworkState, OBSERVATION_FORMAT, Observed,
    OllamaState, PlistFile, ProgramState, ServerStatus,
};
use crate::network::networksetup;
use crate::ollama::client::Client;
use crate::process;
use crate::sys::exec::{self, Cmd, ExecError, Output};
use crate::sys::fs;
use crate::sys::tools::{BREW_PREFIXES, OLLAMA_CANDIDATES, Tool};

/// The Homebrew service that competes with ours for the port (macos.md §5).
pub(crate) const HOMEBREW_LABEL: &str = "homebrew.mxcl.ollama";

/// How to observe: where the tools are, who we are, how long to wait.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `SSOLLAMA_TOOL_DIR`.
    pub tool_dir: Option<PathBuf>,
    /// `HOME`.
    pub home: PathBuf,
    /// The uid whose `gui/<uid>` domain holds the agent.
    pub uid: u32,
    /// Limit for one external program.
    pub exec_timeout: Duration,
    /// Limit for one short HTTP call.
    pub http_timeout: Duration,
}

impl Settings {
    /// Runs a command through the process gateway.
    pub async fn run(&self, cmd: &Cmd) -> Result<Output, ExecError> {
        exec::run(cmd, self.tool_dir.as_deref(), self.exec_timeout).await
    }

    /// The `ollama` locations to try, in order; Homebrew's install location first (the planner
    /// uses the first one as the future path when Ollama must be installed).
    pub fn ollama_candidates(&self) -> Vec<PathBuf> {
        match &self.tool_dir {
            Some(dir) => vec![dir.join("ollama")],
            None => OLLAMA_CANDIDATES.iter().map(PathBuf::from).collect(),
        }
    }

    /// Where `brew` may be.
    pub fn brew_candidates(&self) -> Vec<PathBuf> {
        match &self.tool_dir {
            Some(dir) => vec![dir.join("brew")],
            None => BREW_PREFIXES.iter().map(PathBuf::from).collect(),
        }
    }

    /// The launchd domain of the job.
    pub fn domain(&self, desired: &Desired) -> Domain {
        domain::domain_for(&desired.service.mode, self.uid)
    }

    /// The job's service target (`gui/501/com.ollama`).
    pub fn target(&self, desired: &Desired) -> ServiceTarget {
        ServiceTarget::new(self.domain(desired), desired.service.label.clone())
    }

    /// The plist path.
    pub fn plist_path(&self, desired: &Desired) -> PathBuf {
        domain::plist_path(&desired.service.mode, &desired.service.label, &self.home)
    }

    /// A client for the declared bind address.
    pub fn client(&self, desired: &Desired) -> Client {
        Client::new(desired.listen.connect_addr(), self.http_timeout)
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

/// Observes everything `desired` mentions. Independent probes run concurrently.
pub async fn observe(desired: &Desired, settings: &Settings) -> (Observed, Timings) {
    let start = Instant::now();
    let target = settings.target(desired);
    let (
        (os_version, t_os),
        (job, t_job),
        (homebrew, t_brewjob),
        (network, t_net),
        (ollama, t_ollama),
        (program, t_program),
        ((listeners, processes), t_procs),
    ) = tokio::join!(
        timed("sw_vers", os_version(settings)),
        timed("launchctl print", job(settings, &target)),
        timed("homebrew job", homebrew_job(desired, settings)),
        timed("networksetup", network(desired, settings)),
        timed("ollama api", ollama(desired, settings)),
        timed("ollama program", program(desired, settings)),
        timed(
            "lsof+ps",
            listeners_and_processes(desired, settings, describe)
        ),
    );
    let plist = plist_file(&settings.plist_path(desired));
    let logs = [&desired.logs.stdout, &desired.logs.stderr]
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
    let ollama = not_here_yet(desired, network.as_ref()).map_or(ollama, |reason| OllamaState {
        url: settings.client(desired).base_url().to_owned(),
        server: ServerStatus::Down { reason },
    });
    let observed = Observed {
        format: OBSERVATION_FORMAT,
        host: HostFacts {
            uid: settings.uid,
            home: settings.home.clone(),
            os_version,
        },
        plist,
        job,
        network,
        ollama,
        program,
        logs,
        conflicts,
    };
    let timings = Timings {
        probes: vec![t_os, t_job, t_brewjob, t_net, t_ollama, t_program, t_procs],
        total: start.elapsed(),
    };
    (observed, timings)
}

/// Why the declared bind address cannot be this Mac's server yet: `[network]` gives this Mac
/// `listen.host`, but the service does not have it (a replacement Mac before its first apply).
/// Whatever answers there is another machine — the old server, say — and must not be planned
/// against: its models would look installed, and with `prune` someone else's would be removed.
fn not_here_yet(desired: &Desired, network: Option<&Knowable<NetworkState>>) -> Option<String> {
    let spec = desired.network.as_ref()?;
    if desired.listen.host != std::net::IpAddr::V4(spec.address) {
        return None;
    }
    let have = match network? {
        Knowable::Known(NetworkState {
            info: Some(Knowable::Known(info)),
            ..
        }) => info.address,
        Knowable::Known(NetworkState { info: None, .. }) => None,
        // Unknown network: nothing to go on; probe as usual.
        _ => return None,
    };
    (have != Some(spec.address)).then(|| {
        format!(
            "{} is not this Mac's address yet (network service {:?} has {}): not asking whatever answers there",
            spec.address,
            spec.service,
            have.map_or_else(|| "none".to_owned(), |a| a.to_string())
        )
    })
}

fn describe(err: &ExecError) -> String {
    match err {
        ExecError::Spawn { path, source, .. } => {
            format!("could not run `{}`: {source}", path.display())
        }
        other => other.to_string(),
    }
}

/// A tool's run as a fact: `parse` of its stdout when `accept` takes the output (else the exit
/// status and stderr), or why it did not run (`describe_err`).
fn tool_fact<T, E: std::fmt::Display>(
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

async fn os_version(settings: &Settings) -> Knowable<String> {
    tool_fact(
        "sw_vers",
        settings.run(&process::sw_vers_product_version()).await,
        Output::success,
        process::parse_product_version,
        describe,
    )
}

/// `launchctl print <target>`, parsed.
pub(crate) async fn job(settings: &Settings, target: &ServiceTarget) -> Knowable<JobStatus> {
    match settings.run(&launchctl::print(target)).await {
        Ok(out) => launchctl::parse_print(target, out.status, &out.stdout, &out.stderr),
        Err(err) => Knowable::unknown(describe(&err)),
    }
}

/// Whether Homebrew's `homebrew.mxcl.ollama` agent is loaded in the user's GUI domain: its
/// target (and pid while it runs) when loaded, `None` when not (or when it is the managed job itself), unknown when
/// `launchctl print` failed.
async fn homebrew_job(
    desired: &Desired,
    settings: &Settings,
) -> Knowable<Option<process::HomebrewJob>> {
    if desired.service.label.as_str() == HOMEBREW_LABEL {
        return Knowable::Known(None);
    }
    let label = match Label::new(HOMEBREW_LABEL) {
        Ok(label) => label,
        Err(err) => return Knowable::unknown(err.to_string()),
    };
    let target = ServiceTarget::new(Domain::Gui(settings.uid), label);
    match settings.run(&launchctl::print(&target)).await {
        Ok(out) => homebrew_job_of(&target, &out),
        Err(err) => Knowable::unknown(format!("Homebrew's job: {}", describe(&err))),
    }
}

/// What `launchctl print gui/<uid>/homebrew.mxcl.ollama` says about Homebrew's agent. Exit 112
/// (no GUI session for the user) means no agent of that user can be loaded at all, so it is
/// "not loaded"; any other failure is unknown.
fn homebrew_job_of(target: &ServiceTarget, out: &Output) -> Knowable<Option<process::HomebrewJob>> {
    if out.status == Some(112) {
        return Knowable::Known(None);
    }
    match launchctl::parse_print(target, out.status, &out.stdout, &out.stderr) {
        Knowable::Known(JobStatus::Loaded(job)) => Knowable::Known(Some(process::HomebrewJob {
            target: target.clone(),
            pid: job.pid,
        })),
        Knowable::Known(JobStatus::NotLoaded) => Knowable::Known(None),
        Knowable::Unknown { reason } => Knowable::unknown(format!("Homebrew's job: {reason}")),
    }
}

async fn network(desired: &Desired, settings: &Settings) -> Option<Knowable<NetworkState>> {
    let spec = desired.network.as_ref()?;
    let listed = match settings
        .run(&networksetup::list_all_network_services())
        .await
    {
        Ok(out) if out.success() => match networksetup::parse_services(&out.stdout) {
            Ok(services) => services,
            Err(err) => return Some(Knowable::unknown(err.to_string())),
        },
        Ok(out) => {
            let err = networksetup::classify_error(out.status, &out.stdout, &out.stderr);
            return Some(Knowable::unknown(err.to_string()));
        }
        Err(err) => return Some(Knowable::unknown(describe(&err))),
    };
    if !listed.iter().any(|s| s.name == spec.service) {
        return Some(Knowable::Known(NetworkState {
            services: listed,
            info: None,
            dns: None,
        }));
    }
    let (info_cmd, dns_cmd) = (
        networksetup::get_info(&spec.service),
        networksetup::get_dns_servers(&spec.service),
    );
    let (info, dns) = tokio::join!(settings.run(&info_cmd), settings.run(&dns_cmd));
    let info = match info {
        Ok(out) if out.success() => match networksetup::parse_getinfo(&out.stdout) {
            Ok(info) => Knowable::Known(info),
            Err(err) => Knowable::unknown(err.to_string()),
        },
        Ok(out) => Knowable::unknown(
            networksetup::classify_error(out.status, &out.stdout, &out.stderr).to_string(),
        ),
        Err(err) => Knowable::unknown(describe(&err)),
    };
    let dns = match dns {
        Ok(out) if out.success() => match networksetup::parse_dns(&out.stdout) {
            Ok(dns) => Knowable::Known(dns),
            Err(err) => Knowable::unknown(err.to_string()),
        },
        Ok(out) => Knowable::unknown(
            networksetup::classify_error(out.status, &out.stdout, &out.stderr).to_string(),
        ),
        Err(err) => Knowable::unknown(describe(&err)),
    };
    Some(Knowable::Known(NetworkState {
        services: listed,
        info: Some(info),
        dns: Some(dns),
    }))
}

/// Ollama's API at the declared address.
pub(crate) async fn ollama(desired: &Desired, settings: &Settings) -> OllamaState {
    let client = settings.client(desired);
    let url = client.base_url().to_owned();
    let server = match client.version(settings.http_timeout).await {
        Err(err) => ServerStatus::Down {
            reason: err.to_string(),
        },
        Ok(version) => {
            let (tags, ps) = tokio::join!(
                client.tags(settings.http_timeout),
                client.ps(settings.http_timeout)
            );
            ServerStatus::Up {
                version,
                models: tags.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
                loaded: ps.map_or_else(|e| Knowable::unknown(e.to_string()), Knowable::Known),
            }
        }
    };
    OllamaState { url, server }
}

/// `program args…` (`ollama --version`, `brew --prefix ollama`); as root, a program a user may
/// write is never run as root: as its owner (`sudo -n -u #<uid>`), and not at all when root owns
/// it but others may write it.
fn as_its_owner(program: &Path, tool: Tool, args: &[&str]) -> Result<Cmd, String> {
    let plain = Cmd::new(tool, args.iter().copied());
    if !rustix::process::geteuid().is_root() {
        return Ok(plain);
    }
    match fs::run_as_for(program)? {
        None => Ok(plain),
        Some(owner) => Ok(Cmd::new(
            Tool::Sudo,
            [
                "-n".to_owned(),
                "-u".to_owned(),
                format!("#{owner}"),
                program.display().to_string(),
            ]
            .into_iter()
            .chain(args.iter().map(|a| (*a).to_owned())),
        )),
    }
}

/// Finds the `ollama` program: `service.program` when declared (only there), else the known
/// paths, else where Homebrew itself says its formula is (`brew --prefix ollama` + `bin/ollama`,
/// for a prefix the known paths miss). Returns the program found and every path looked at, in
/// order. `brew --prefix` runs only when nothing was found and `brew` exists.
pub(crate) async fn find_program(
    desired: &Desired,
    settings: &Settings,
    brew: Option<&Path>,
) -> (Option<PathBuf>, Vec<PathBuf>) {
    let mut candidates = match &desired.service.program {
        Some(path) => {
            return (
                fs::is_executable(path).then(|| path.clone()),
                vec![path.clone()],
            );
        }
        None => settings.ollama_candidates(),
    };
    if let Some(path) = candidates.iter().find(|p| fs::is_executable(p)) {
        return (Some(path.clone()), candidates);
    }
    let Some(brew) = brew else {
        return (None, candidates);
    };
    // Homebrew's `brew` is the user's script: as root it runs as its owner, never as root.
    let Ok(cmd) = as_its_owner(brew, Tool::Brew(brew.to_owned()), &["--prefix", "ollama"]) else {
        return (None, candidates);
    };
    let prefix = match settings.run(&cmd).await {
        Ok(out) if out.success() => out.stdout.lines().next().map(|l| PathBuf::from(l.trim())),
        _ => None,
    };
    if let Some(prefix) = prefix.filter(|p| p.is_absolute()) {
        let path = prefix.join("bin").join("ollama");
        if !candidates.contains(&path) {
            candidates.push(path.clone());
        }
        if fs::is_executable(&path) {
            return (Some(path), candidates);
        }
    }
    (None, candidates)
}

async fn program(desired: &Desired, settings: &Settings) -> ProgramState {
    let brew = settings
        .brew_candidates()
        .into_iter()
        .find(|p| fs::is_executable(p));
    let (path, candidates) = find_program(desired, settings, brew.as_deref()).await;
    let version = match &path {
        None => Knowable::unknown("no `ollama` program found"),
        Some(path) => match as_its_owner(path, Tool::Ollama(path.clone()), &["--version"]) {
            Err(reason) => Knowable::unknown(reason),
            Ok(cmd) => match settings.run(&cmd).await {
                Ok(out) => crate::ollama::cli::parse_version_output(&out.stdout).map_or_else(
                    || {
                        Knowable::unknown(format!(
                            "`ollama --version` printed no version: {}",
                            out.stdout.trim()
                        ))
                    },
                    Knowable::Known,
                ),
                Err(err) => Knowable::unknown(describe(&err)),
            },
        },
    };
    ProgramState {
        path,
        candidates,
        version,
        brew,
    }
}

/// Who listens on the declared port (`lsof`) and which processes run (`ps`), run
/// concurrently: the inputs of conflict detection (and of `verify`). `describe_err` says why a
/// tool did not run.
pub(crate) async fn listeners_and_processes(
    desired: &Desired,
    settings: &Settings,
    describe_err: fn(&ExecError) -> String,
) -> (
    Knowable<Vec<process::Listener>>,
    Knowable<Vec<process::ProcessInfo>>,
) {
    let (lsof_cmd, ps_cmd) = (process::lsof_listen(desired.listen.port), process::ps());
    let (lsof, ps) = tokio::join!(settings.run(&lsof_cmd), settings.run(&ps_cmd));
    let listeners = tool_fact(
        "lsof",
        lsof,
        |out| out.success() || lsof_found_nothing(out),
        process::parse_lsof,
        describe_err,
    );
    let processes = tool_fact("ps", ps, Output::success, process::parse_ps, describe_err);
    (listeners, processes)
}

/// lsof exits 1 without a word when nothing listens; a non-zero exit that says something on
/// either stream is a failure (a missing or broken lsof, a bad option), not "no listeners".
fn lsof_found_nothing(out: &Output) -> bool {
    out.status == Some(1) && out.stdout.trim().is_empty() && out.stderr.trim().is_empty()
}

/// The plist file as observed: its text (a binary plist's canonical XML, flagged `binary`), its
/// owner and mode; unreadable when it cannot be read or decoded.
fn plist_file(path: &Path) -> PlistFile {
    let unreadable = |reason: String| PlistFile::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let bytes = match fs::read_optional_bytes(path) {
        Ok(None) => {
            return PlistFile::Absent {
                path: path.to_owned(),
            };
        }
        Ok(Some(bytes)) => bytes,
        Err(err) => {
            return unreadable(
                std::error::Error::source(&err)
                    .map_or_else(|| err.to_string(), ToString::to_string),
            );
        }
    };
    let (text, binary) = match plist_text(&bytes) {
        Ok(decoded) => decoded,
        Err(reason) => return unreadable(reason),
    };
    // Read but not stat'ed (it went away in between): never invent an owner or a mode.
    let Some(meta) = fs::meta(path) else {
        return unreadable("its owner and mode could not be read".to_owned());
    };
    PlistFile::Present {
        path: path.to_owned(),
        text,
        owner: meta.uid,
        mode: meta.mode,
        binary,
    }
}

/// A plist file's bytes as text: XML as it is, a binary plist (`bplist00`) as the canonical XML
/// of what it holds (`true` = it was binary). `Err` says why it cannot be read.
fn plist_text(bytes: &[u8]) -> Result<(String, bool), String> {
    if bytes.starts_with(b"bplist00") {
        let value = plist::Value::from_reader(std::io::Cursor::new(bytes))
            .map_err(|e| format!("binary plist could not be decoded: {e}"))?;
        return Ok((crate::launchd::plist::canonical_xml(&value), true));
    }
    String::from_utf8(bytes.to_vec())
        .map(|text| (text, false))
        .map_err(|e| e.utf8_error().to_string())
}

#[cfg(test)]
mod tests {
    use super::{homebrew_job_of, lsof_found_nothing, plist_text};
    use crate::launchd::domain::{Domain, ServiceTarget};
    use crate::model::Knowable;
    use crate::model::desired::Label;
    use crate::sys::exec::Output;

    fn out(status: Option<i32>, stdout: &str, stderr: &str) -> Output {
        Output {
            status,
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
        }
    }

    #[test]
    fn lsof_says_no_listeners_only_by_a_silent_exit_1() {
        assert!(lsof_found_nothing(&out(Some(1), "", "")));
        assert!(lsof_found_nothing(&out(Some(1), "\n", " ")));
        assert!(!lsof_found_nothing(&out(
            Some(1),
            "",
            "lsof: unsupported TCP/TPI info selection: X"
        )));
        assert!(!lsof_found_nothing(&out(Some(2), "", "")));
        assert!(!lsof_found_nothing(&out(None, "", "")));
    }

    #[test]
    fn a_binary_plist_reads_as_its_canonical_xml() {
        let mut dict = plist::Dictionary::new();
        dict.insert("Label".to_owned(), "com.ollama".into());
        dict.insert("RunAtLoad".to_owned(), true.into());
        let value = plist::Value::Dictionary(dict);
        let mut bytes = Vec::new();
        value.to_writer_binary(&mut bytes).unwrap();
        assert!(bytes.starts_with(b"bplist00"));
        let (text, binary) = plist_text(&bytes).unwrap();
        assert!(binary);
        assert_eq!(text, crate::launchd::plist::canonical_xml(&value));
        // XML stays as it is.
        let xml = crate::launchd::plist::canonical_xml(&value);
        assert_eq!(plist_text(xml.as_bytes()), Ok((xml.clone(), false)));
        // A truncated binary plist and non-UTF-8 text are unreadable, with the reason.
        let cut = plist_text(&bytes[..12]).unwrap_err();
        assert!(
            cut.starts_with("binary plist could not be decoded: "),
            "{cut}"
        );
        assert!(plist_text(&[0xff, 0xfe, b'<']).is_err());
    }

    #[test]
    fn a_failed_homebrew_probe_is_unknown_not_absent() {
        let target = ServiceTarget::new(
            Domain::Gui(501),
            Label::new("homebrew.mxcl.ollama").unwrap(),
        );
        let not_found = out(
            Some(113),
            "",
            "Could not find service \"homebrew.mxcl.ollama\" in domain for user gui: 501\n",
        );
        assert_eq!(homebrew_job_of(&target, &not_found), Knowable::Known(None));
        // No GUI session: no agent of that user can be loaded.
        let no_session = out(Some(112), "", "Could not find domain for user gui: 501\n");
        assert_eq!(homebrew_job_of(&target, &no_session), Knowable::Known(None));
        let Knowable::Unknown { reason } =
            homebrew_job_of(&target, &out(Some(5), "", "Input/output error\n"))
        else {
            panic!("a failed print must be unknown");
        };
        assert!(reason.starts_with("Homebrew's job: "), "{reason}");
        assert!(reason.contains("Input/output error"), "{reason}");
    }
}
