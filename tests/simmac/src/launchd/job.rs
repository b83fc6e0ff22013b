//! A loaded job on disk: domains and targets, the definition imported from the plist at
//! bootstrap time, the run status the supervisor maintains, and the per-job directory layout.
//!
//! Layout of `launchd/<domain-key>/<label>/`: `plist` (bytes as imported), `definition.json`
//! (parsed, written once by `bootstrap`), `status.json` (written by the supervisor),
//! `supervisor.pid`, `bootout` (deadline in epoch ms, while booting out), `requests/` (commands
//! from `launchctl` to the supervisor). Disabled overrides live in `launchd/disabled/<key>.json`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state::{self, Mac, Machine};

/// A launchd domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Domain {
    /// `gui/<uid>`: the login session's agents.
    Gui(u32),
    /// `user/<uid>`: the background per-user domain.
    User(u32),
    /// `system`: daemons.
    System,
}

impl Domain {
    /// The specifier (`gui/501`, `system`).
    pub fn spec(&self) -> String {
        match self {
            Self::Gui(uid) => format!("gui/{uid}"),
            Self::User(uid) => format!("user/{uid}"),
            Self::System => "system".to_owned(),
        }
    }

    /// Directory name under `launchd/` (the specifier with `/` replaced by `-`).
    pub fn key(&self) -> String {
        self.spec().replace('/', "-")
    }

    /// Parses a domain key back.
    pub fn from_key(key: &str) -> Option<Self> {
        parse_target(&key.replacen('-', "/", 1)).and_then(|(d, label)| label.is_none().then_some(d))
    }

    /// Agents live in per-user domains, daemons in `system`.
    pub fn is_agent(&self) -> bool {
        !matches!(self, Self::System)
    }

    /// The tail of "Could not find service … in domain for …".
    pub fn for_text(&self) -> String {
        match self {
            Self::Gui(uid) => format!("user gui: {uid}"),
            Self::User(uid) => format!("user: {uid}"),
            Self::System => "system".to_owned(),
        }
    }

    /// Whether the domain exists on this machine (a GUI domain needs a GUI session).
    pub fn exists(&self, mac: &Mac, machine: &Machine) -> bool {
        match self {
            Self::Gui(uid) => {
                *uid == machine.uid && machine.gui_session && mac.fault("no-gui-session").is_none()
            }
            Self::User(uid) => *uid == machine.uid,
            Self::System => true,
        }
    }
}

/// Parses `gui/501`, `gui/501/label`, `user/501[/label]`, `system[/label]`.
pub fn parse_target(target: &str) -> Option<(Domain, Option<String>)> {
    let mut parts = target.splitn(3, '/');
    let head = parts.next()?;
    let (domain, rest) = match head {
        "system" => {
            let rest: Vec<&str> = parts.collect();
            (Domain::System, rest.join("/"))
        }
        "gui" | "user" => {
            let uid: u32 = parts.next()?.parse().ok()?;
            let domain = if head == "gui" {
                Domain::Gui(uid)
            } else {
                Domain::User(uid)
            };
            (domain, parts.next().unwrap_or_default().to_owned())
        }
        _ => return None,
    };
    if rest.is_empty() {
        Some((domain, None))
    } else {
        Some((domain, Some(rest)))
    }
}

/// `KeepAlive` as launchd understands it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeepAlive {
    /// Absent or false: run on demand only.
    Never,
    /// `true`: restart unconditionally.
    Always,
    /// A dictionary: restart depending on how the job ended.
    Conditions {
        /// `SuccessfulExit`: true ⇒ restart after exit 0, false ⇒ after a non-zero exit.
        successful_exit: Option<bool>,
        /// `Crashed`: true ⇒ restart after death by signal.
        crashed: Option<bool>,
    },
}

impl KeepAlive {
    /// Whether launchd would restart a job that ended with `last`.
    pub fn restarts_after(&self, last: &LastExit) -> bool {
        match self {
            Self::Never => false,
            Self::Always => true,
            Self::Conditions {
                successful_exit,
                crashed,
            } => match last {
                LastExit::Never => false,
                LastExit::Code(code) => successful_exit.is_some_and(|want| want == (*code == 0)),
                LastExit::Signal(_) => crashed == &Some(true),
            },
        }
    }
}

/// The job definition imported at bootstrap time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    /// `Label`.
    pub label: String,
    /// `Program`, when given (else `inferred program` from the first argument).
    pub program: Option<String>,
    /// `ProgramArguments`.
    pub arguments: Vec<String>,
    /// `EnvironmentVariables` (string values only, plist order).
    pub environment: Vec<(String, String)>,
    /// `WorkingDirectory`.
    pub working_directory: Option<String>,
    /// `StandardOutPath`.
    pub stdout_path: Option<String>,
    /// `StandardErrorPath`.
    pub stderr_path: Option<String>,
    /// `RunAtLoad`.
    pub run_at_load: bool,
    /// `KeepAlive`.
    pub keep_alive: KeepAlive,
    /// `ThrottleInterval` (default 10), printed as `minimum runtime`.
    pub throttle_interval: u64,
    /// `ExitTimeOut` (default 5).
    pub exit_timeout: u64,
    /// `UserName` (daemons).
    pub user_name: Option<String>,
}

impl Definition {
    /// Parses a launchd plist; `Err` carries a short reason.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let value = plist::Value::from_reader(std::io::Cursor::new(bytes))
            .map_err(|e| format!("unparseable plist: {e}"))?;
        let dict = value.as_dictionary().ok_or("plist is not a dictionary")?;
        let string = |key: &str| {
            dict.get(key)
                .and_then(plist::Value::as_string)
                .map(str::to_owned)
        };
        let label = string("Label").ok_or("missing Label")?;
        let program = string("Program");
        let arguments: Vec<String> = dict
            .get("ProgramArguments")
            .and_then(plist::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_string().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if program.is_none() && arguments.is_empty() {
            return Err("missing Program and ProgramArguments".to_owned());
        }
        let environment = dict
            .get("EnvironmentVariables")
            .and_then(plist::Value::as_dictionary)
            .map(|env| {
                env.iter()
                    .filter_map(|(k, v)| v.as_string().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let keep_alive = match dict.get("KeepAlive") {
            Some(plist::Value::Boolean(true)) => KeepAlive::Always,
            Some(plist::Value::Dictionary(d)) => KeepAlive::Conditions {
                successful_exit: d.get("SuccessfulExit").and_then(plist::Value::as_boolean),
                crashed: d.get("Crashed").and_then(plist::Value::as_boolean),
            },
            _ => KeepAlive::Never,
        };
        let int = |key: &str, default: u64| {
            dict.get(key)
                .and_then(plist::Value::as_unsigned_integer)
                .unwrap_or(default)
        };
        Ok(Self {
            label,
            program,
            arguments,
            environment,
            working_directory: string("WorkingDirectory"),
            stdout_path: string("StandardOutPath"),
            stderr_path: string("StandardErrorPath"),
            run_at_load: dict
                .get("RunAtLoad")
                .and_then(plist::Value::as_boolean)
                .unwrap_or(false),
            keep_alive,
            throttle_interval: int("ThrottleInterval", 10),
            exit_timeout: int("ExitTimeOut", 5),
            user_name: string("UserName"),
        })
    }

    /// The executable launchd runs (`Program`, else the first argument; a relative name is
    /// resolved along `/usr/bin:/bin:/usr/sbin:/sbin` like `_PATH_STDPATH`).
    pub fn executable(&self) -> String {
        let raw = self
            .program
            .clone()
            .or_else(|| self.arguments.first().cloned())
            .unwrap_or_default();
        if raw.contains('/') {
            return raw;
        }
        ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
            .iter()
            .map(|dir| format!("{dir}/{raw}"))
            .find(|p| Path::new(p).exists())
            .unwrap_or(raw)
    }

    /// Whether launchd starts the job at load (`RunAtLoad`, or implied by `KeepAlive`).
    pub fn starts_at_load(&self) -> bool {
        self.run_at_load || self.keep_alive != KeepAlive::Never
    }
}

/// What a loaded job is: written once by `bootstrap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loaded {
    /// The domain it was bootstrapped into.
    pub domain: Domain,
    /// The plist path as given to `bootstrap` (absolute).
    pub path: String,
    /// The definition as imported.
    pub definition: Definition,
}

/// How the previous instance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LastExit {
    /// No instance has exited yet.
    #[default]
    Never,
    /// Exited with a status.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

/// Run status, written by the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    /// `running`, `not running`, `spawn scheduled`.
    pub state: String,
    /// The running instance.
    pub pid: Option<u32>,
    /// Spawns since load.
    pub runs: u32,
    /// The previous instance's end.
    pub last_exit: LastExit,
}

/// Paths of one job's directory.
#[derive(Debug, Clone)]
pub struct JobDir {
    dir: PathBuf,
}

impl JobDir {
    /// The job `label` in `domain`.
    pub fn new(mac: &Mac, domain: &Domain, label: &str) -> Self {
        Self {
            dir: mac.launchd_dir().join(domain.key()).join(label),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the job is loaded (directory present with a definition).
    pub fn exists(&self) -> bool {
        self.dir.join("definition.json").exists()
    }

    /// The imported definition.
    pub fn loaded(&self) -> Option<Loaded> {
        state::read_json(&self.dir.join("definition.json"))
    }

    /// The current status.
    pub fn status(&self) -> Status {
        state::read_json(&self.dir.join("status.json")).unwrap_or_default()
    }

    /// Replaces the status.
    pub fn set_status(&self, status: &Status) -> std::io::Result<()> {
        state::write_json(&self.dir.join("status.json"), status)
    }

    /// The supervisor's pid.
    pub fn supervisor(&self) -> Option<u32> {
        fs::read_to_string(self.dir.join("supervisor.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// The bootout deadline (epoch ms) when a bootout is in progress.
    pub fn bootout_deadline(&self) -> Option<u64> {
        fs::read_to_string(self.dir.join("bootout"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Queues a request for the supervisor (`bootout`, `kickstart`, `kickstart-k`).
    pub fn request(&self, what: &str) -> std::io::Result<()> {
        let name = format!("{:020}-{}", state::now_ms(), std::process::id());
        state::write_atomic(&self.dir.join("requests").join(name), what.as_bytes())
    }

    /// Takes the queued requests, oldest first.
    pub fn take_requests(&self) -> Vec<String> {
        let dir = self.dir.join("requests");
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .filter_map(|p| {
                let text = fs::read_to_string(&p).ok();
                let _ = fs::remove_file(&p);
                text
            })
            .collect()
    }

    /// Removes a job whose bootout finished but whose supervisor died before cleaning up.
    /// Returns whether the job is (now) gone.
    pub fn reap_if_stale(&self) -> bool {
        if !self.exists() {
            return true;
        }
        let Some(deadline) = self.bootout_deadline() else {
            return false;
        };
        let supervisor_alive = self.supervisor().is_some_and(state::pid_alive);
        if !supervisor_alive && state::now_ms() >= deadline {
            if let Some(pid) = self.status().pid {
                state::kill_group(pid, rustix::process::Signal::TERM);
            }
            let _ = fs::remove_dir_all(&self.dir);
            return true;
        }
        false
    }
}

/// Every loaded job: (domain, label, dir), sorted.
pub fn all_jobs(mac: &Mac) -> Vec<(Domain, String, JobDir)> {
    let mut out = Vec::new();
    let Ok(domains) = fs::read_dir(mac.launchd_dir()) else {
        return out;
    };
    for domain_entry in domains.filter_map(Result::ok) {
        let key = domain_entry.file_name().to_string_lossy().into_owned();
        let Some(domain) = Domain::from_key(&key) else {
            continue;
        };
        let Ok(labels) = fs::read_dir(domain_entry.path()) else {
            continue;
        };
        for label_entry in labels.filter_map(Result::ok) {
            let label = label_entry.file_name().to_string_lossy().into_owned();
            let job = JobDir::new(mac, &domain, &label);
            if job.exists() {
                out.push((domain.clone(), label, job));
            }
        }
    }
    out.sort_by(|a, b| (a.0.spec(), &a.1).cmp(&(b.0.spec(), &b.1)));
    out
}

/// The disabled-services overrides of a domain (`label → disabled`).
pub fn disabled_db(mac: &Mac, domain: &Domain) -> BTreeMap<String, bool> {
    state::read_json(&disabled_path(mac, domain)).unwrap_or_default()
}

/// Records an `enable`/`disable` override.
pub fn set_disabled(
    mac: &Mac,
    domain: &Domain,
    label: &str,
    disabled: bool,
) -> std::io::Result<()> {
    let mut db = disabled_db(mac, domain);
    db.insert(label.to_owned(), disabled);
    state::write_json(&disabled_path(mac, domain), &db)
}

fn disabled_path(mac: &Mac, domain: &Domain) -> PathBuf {
    mac.launchd_dir()
        .join("disabled")
        .join(format!("{}.json", domain.key()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_launchctl() {
        assert_eq!(parse_target("gui/501"), Some((Domain::Gui(501), None)));
        assert_eq!(
            parse_target("gui/501/com.ollama"),
            Some((Domain::Gui(501), Some("com.ollama".to_owned())))
        );
        assert_eq!(
            parse_target("system/com.ollama.server"),
            Some((Domain::System, Some("com.ollama.server".to_owned())))
        );
        assert_eq!(parse_target("user/501"), Some((Domain::User(501), None)));
        assert_eq!(parse_target("gui/tester/com.ollama"), None);
        assert_eq!(parse_target("com.ollama"), None);
        assert_eq!(parse_target("--wait"), None);
        assert_eq!(
            Domain::from_key(&Domain::Gui(501).key()),
            Some(Domain::Gui(501))
        );
        assert_eq!(Domain::from_key("system"), Some(Domain::System));
        assert_eq!(Domain::from_key("disabled"), None);
    }

    #[test]
    fn keepalive_dict_decides_by_how_the_job_ended() {
        let on_failure = KeepAlive::Conditions {
            successful_exit: Some(false),
            crashed: None,
        };
        assert!(on_failure.restarts_after(&LastExit::Code(1)));
        assert!(!on_failure.restarts_after(&LastExit::Code(0)));
        assert!(!on_failure.restarts_after(&LastExit::Signal(9)));
        let crashed = KeepAlive::Conditions {
            successful_exit: None,
            crashed: Some(true),
        };
        assert!(crashed.restarts_after(&LastExit::Signal(11)));
        assert!(KeepAlive::Always.restarts_after(&LastExit::Code(0)));
        assert!(!KeepAlive::Never.restarts_after(&LastExit::Code(1)));
    }

    #[test]
    fn definition_reads_the_launchd_keys() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>com.ollama</string>
<key>Program</key><string>/opt/homebrew/opt/ollama/bin/ollama</string>
<key>ProgramArguments</key><array><string>ollama</string><string>serve</string></array>
<key>EnvironmentVariables</key><dict>
  <key>OLLAMA_HOST</key><string>127.0.0.1:11434</string>
  <key>IGNORED</key><integer>1</integer>
  <key>HOME</key><string>/Users/tester</string>
</dict>
<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
<key>ThrottleInterval</key><integer>30</integer>
</dict></plist>"#;
        let def = Definition::parse(xml).unwrap();
        assert_eq!(def.label, "com.ollama");
        assert_eq!(def.executable(), "/opt/homebrew/opt/ollama/bin/ollama");
        assert_eq!(
            def.environment,
            [
                ("OLLAMA_HOST".to_owned(), "127.0.0.1:11434".to_owned()),
                ("HOME".to_owned(), "/Users/tester".to_owned())
            ]
        );
        assert_eq!(def.throttle_interval, 30);
        assert_eq!(def.exit_timeout, 5);
        assert!(def.starts_at_load());
        assert!(!def.run_at_load);
        assert!(Definition::parse(b"<plist><dict></dict></plist>").is_err());
        assert!(Definition::parse(b"not a plist").is_err());
    }
}
