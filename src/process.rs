//! Small system probes: `sw_vers`, `lsof`, `ps` and `ping` command lines, their readers, and
//! [`find_conflicts`], which turns listeners and processes into [`Conflict`]s.
//!
//! Pure: builds [`Cmd`] values and parses outputs (formats from docs/macos.md §8); never runs
//! anything, reads files or touches the environment.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::launchd::domain::ServiceTarget;
use crate::model::Knowable;
use crate::model::observed::Conflict;
use crate::sys::exec::Cmd;
use crate::sys::tools::Tool;

/// How many characters of an offending line an error quotes.
const EXCERPT_CHARS: usize = 120;

/// Ollama.app's main executable (the app, not its bundled `ollama` server).
pub(crate) const OLLAMA_APP_EXECUTABLE: &str = "/Applications/Ollama.app/Contents/MacOS/Ollama";

/// Why the output of `sw_vers`, `lsof` or `ps` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProcessParseError {
    /// Nothing but blank lines where something was expected.
    #[error("the output is empty")]
    Empty,
    /// A line in an unexpected shape.
    #[error("line {line}: {problem}: `{excerpt}`")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
        /// The line, bounded.
        excerpt: String,
    },
}

fn bad_line(line: usize, problem: impl Into<String>, text: &str) -> ProcessParseError {
    // One line of `ps`/`lsof`: `text::excerpt` trims it and cuts it.
    let excerpt = crate::text::excerpt(text, EXCERPT_CHARS);
    ProcessParseError::BadLine {
        line,
        problem: problem.into(),
        excerpt,
    }
}

/// Non-blank lines with their 1-based numbers.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_end()))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// The first whitespace-separated word of `text` and the rest, left-trimmed.
fn first_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// The last path component of a command (`/a/b/Ollama` → `Ollama`).
fn basename(command: &str) -> &str {
    command.rsplit('/').next().unwrap_or(command)
}

/// `sw_vers -productVersion` (prints e.g. `14.2.1`).
pub(crate) fn sw_vers_product_version() -> Cmd {
    Cmd::new(Tool::SwVers, ["-productVersion"])
}

/// Reads the macOS version from `sw_vers -productVersion`, or from plain `sw_vers` output
/// (its `ProductVersion:` line).
///
/// # Errors
/// [`ProcessParseError`] when the output is empty or the version is not dotted digits.
pub(crate) fn parse_product_version(stdout: &str) -> Result<String, ProcessParseError> {
    let (line, version) = numbered_lines(stdout)
        .find_map(|(number, line)| {
            line.trim()
                .strip_prefix("ProductVersion:")
                .map(|value| (number, value.trim()))
        })
        .or_else(|| numbered_lines(stdout).next().map(|(n, l)| (n, l.trim())))
        .ok_or(ProcessParseError::Empty)?;
    let dotted = version
        .split('.')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if !dotted {
        return Err(bad_line(line, "not a version like `14.2.1`", version));
    }
    Ok(version.to_owned())
}

/// `lsof -nP -iTCP:<port> -sTCP:LISTEN`: who listens on the TCP port (no name or port lookups).
/// Without root it sees only the caller's own processes; with no listener it prints nothing and
/// exits non-zero.
pub(crate) fn lsof_listen(port: u16) -> Cmd {
    Cmd::new(
        Tool::Lsof,
        [
            "-nP".to_owned(),
            format!("-iTCP:{port}"),
            "-sTCP:LISTEN".to_owned(),
        ],
    )
}

/// One listening socket from `lsof`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Listener {
    /// `COMMAND` (truncated by lsof to 9 characters, spaces escaped as `\x20`).
    pub command: String,
    /// `PID`.
    pub pid: u32,
    /// `USER` (a name, or a uid when the name is unknown).
    pub user: String,
    /// `NAME` without the ` (LISTEN)` suffix: `127.0.0.1:11434`, `*:11434`, `[::1]:11434`.
    pub address: String,
}

impl Listener {
    /// The port of [`Listener::address`] (after its last `:`).
    pub(crate) fn port(&self) -> Option<u16> {
        self.address.rsplit_once(':')?.1.parse().ok()
    }
}

/// Reads `lsof -nP -iTCP… -sTCP:LISTEN` output: a header line, then one row per socket.
/// Empty output is no listener (lsof prints nothing when nothing matches).
///
/// # Errors
/// [`ProcessParseError`] when the first line is not lsof's `COMMAND … NAME` header, or a row
/// has too few columns, a non-numeric `PID`, or a `NAME` without a port.
pub(crate) fn parse_lsof(stdout: &str) -> Result<Vec<Listener>, ProcessParseError> {
    let mut lines = numbered_lines(stdout);
    let Some((number, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let columns: Vec<&str> = header.split_whitespace().collect();
    if columns.first() != Some(&"COMMAND")
        || columns.get(1) != Some(&"PID")
        || columns.last() != Some(&"NAME")
    {
        return Err(bad_line(
            number,
            "expected lsof's `COMMAND PID … NAME` header",
            header,
        ));
    }
    lines
        .map(|(number, row)| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            if fields.len() < columns.len() {
                return Err(bad_line(number, "fewer columns than the header", row));
            }
            let pid = fields[1]
                .parse()
                .map_err(|_| bad_line(number, "`PID` is not a number", row))?;
            // NAME is the last column, optionally followed by the TCP state: `*:11434 (LISTEN)`.
            let mut name = fields[fields.len() - 1];
            if name.starts_with('(') && name.ends_with(')') {
                name = fields[fields.len() - 2];
            }
            if !name.contains(':') {
                return Err(bad_line(number, "`NAME` has no port", row));
            }
            Ok(Listener {
                command: fields[0].to_owned(),
                pid,
                user: fields[2].to_owned(),
                address: name.to_owned(),
            })
        })
        .collect()
}

/// `ps -axo pid=,ppid=,user=,comm=`: every process, no header. `ppid` tells a job's own
/// children from strangers.
pub(crate) fn ps() -> Cmd {
    Cmd::new(Tool::Ps, ["-axo", "pid=,ppid=,user=,comm="])
}

/// One process from [`ps`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Effective user name.
    pub user: String,
    /// `comm`: the executable (on macOS usually its full path), spaces and all.
    pub command: String,
}

/// Reads [`ps`] output: `pid ppid user command…` per line; the command is the rest of the line.
///
/// # Errors
/// [`ProcessParseError`] on empty output (ps always lists at least itself) or a line whose pid or
/// ppid is not a number or that has no user.
pub(crate) fn parse_ps(stdout: &str) -> Result<Vec<ProcessInfo>, ProcessParseError> {
    let processes = numbered_lines(stdout)
        .map(|(number, line)| {
            let (pid_text, rest) = first_word(line);
            let (parent_text, rest) = first_word(rest);
            let (user, command) = first_word(rest);
            let pid = pid_text
                .parse()
                .map_err(|_| bad_line(number, "the pid is not a number", line))?;
            let parent = parent_text
                .parse()
                .map_err(|_| bad_line(number, "the parent pid is not a number", line))?;
            if user.is_empty() {
                return Err(bad_line(number, "no user", line));
            }
            Ok(ProcessInfo {
                pid,
                ppid: parent,
                user: user.to_owned(),
                command: command.to_owned(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if processes.is_empty() {
        return Err(ProcessParseError::Empty);
    }
    Ok(processes)
}

/// `ping -c 1 -t 2 <ip>`: one echo request, give up after 2 seconds (used to see whether a
/// static address is already taken on the LAN).
pub(crate) fn ping(address: Ipv4Addr) -> Cmd {
    Cmd::new(
        Tool::Ping,
        [
            "-c".to_owned(),
            "1".to_owned(),
            "-t".to_owned(),
            "2".to_owned(),
            address.to_string(),
        ],
    )
}

/// Whether `command` is Ollama.app itself (which SIGTERMs other `ollama serve`s when its own
/// server fails, docs/macos.md §5.3).
fn is_ollama_app(command: &str) -> bool {
    command == OLLAMA_APP_EXECUTABLE || basename(command) == "Ollama"
}

/// Homebrew's loaded `homebrew.mxcl.ollama` job: its target and, while it runs, its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HomebrewJob {
    /// e.g. `gui/501/homebrew.mxcl.ollama`.
    pub target: ServiceTarget,
    /// `pid` of `launchctl print` (present only while running).
    pub pid: Option<u32>,
}

/// Whether `pid` is one of `roots` or descends from one (following `ppid` in `processes`,
/// bounded by their number, so a cycle in odd `ps` output cannot loop).
fn descends_from(pid: u32, roots: &[u32], processes: &[ProcessInfo]) -> bool {
    let mut current = pid;
    for _ in 0..=processes.len() {
        if roots.contains(&current) {
            return true;
        }
        match processes.iter().find(|p| p.pid == current) {
            Some(p) if p.ppid != current && p.ppid > 1 => current = p.ppid,
            _ => return false,
        }
    }
    false
}

/// Everything that fights the managed server, sorted and without duplicates.
///
/// - [`Conflict::OllamaAppRunning`] for each process that is Ollama.app (`comm` is
///   [`OLLAMA_APP_EXECUTABLE`], or its base name is `Ollama` with a capital O);
/// - [`Conflict::HomebrewServiceLoaded`] when `homebrew_job` is loaded;
/// - [`Conflict::PortTaken`] for each listener that is neither the job's process (`job_pid`) nor
///   an `ollama` child of it, nor part of one of the two conflicts above: Ollama.app's own
///   `ollama serve` (a child of the app) and Homebrew's job (its process or a descendant) are
///   listed as that conflict only, which `--take-over` clears (quitting the app stops its
///   server; booting the job out stops its process group). `listeners` must come from
///   [`lsof_listen`] for the managed port.
pub(crate) fn find_conflicts(
    listeners: &[Listener],
    processes: &[ProcessInfo],
    job_pid: Option<u32>,
    homebrew_job: Option<HomebrewJob>,
) -> Vec<Conflict> {
    let mut conflicts = BTreeSet::new();
    let mut taken_over: Vec<u32> = Vec::new();
    for process in processes.iter().filter(|p| is_ollama_app(&p.command)) {
        conflicts.insert(Conflict::OllamaAppRunning { pid: process.pid });
        taken_over.push(process.pid);
    }
    if let Some(job) = homebrew_job {
        taken_over.extend(job.pid);
        conflicts.insert(Conflict::HomebrewServiceLoaded { target: job.target });
    }
    let is_ours = |pid: u32| {
        let Some(job) = job_pid else {
            return false;
        };
        pid == job
            || processes
                .iter()
                .any(|p| p.pid == pid && p.ppid == job && basename(&p.command) == "ollama")
    };
    for listener in listeners
        .iter()
        .filter(|l| !is_ours(l.pid) && !descends_from(l.pid, &taken_over, processes))
    {
        conflicts.insert(Conflict::PortTaken {
            pid: listener.pid,
            command: listener.command.clone(),
            address: listener.address.clone(),
        });
    }
    conflicts.into_iter().collect()
}

/// The conflict list of an observation, from its probes: `listeners` (lsof), `processes` (ps),
/// `homebrew` (the loaded `homebrew.mxcl.ollama` target, if any) and the job's pid (`None` inside
/// when it is not running, unknown when `launchctl print` failed).
///
/// Unknown, with every failed probe's reason, whenever one of the three conflict probes failed:
/// a partial list would be taken for a full one (`check` would pass, `apply` would go ahead).
/// With an unknown job, [`attribute_without_job`] leaves out the `ollama` listener that cannot
/// be told apart from the managed server.
pub(crate) fn conflicts(
    listeners: Knowable<Vec<Listener>>,
    processes: Knowable<Vec<ProcessInfo>>,
    homebrew: Knowable<Option<HomebrewJob>>,
    job_pid: &Knowable<Option<u32>>,
) -> Knowable<Vec<Conflict>> {
    match (listeners, processes, homebrew) {
        (Knowable::Known(listeners), Knowable::Known(processes), Knowable::Known(homebrew)) => {
            match job_pid {
                Knowable::Known(pid) => {
                    Knowable::Known(find_conflicts(&listeners, &processes, *pid, homebrew))
                }
                Knowable::Unknown { .. } => Knowable::Known(attribute_without_job(find_conflicts(
                    &listeners, &processes, None, homebrew,
                ))),
            }
        }
        (listeners, processes, homebrew) => {
            fn reason<T>(fact: Knowable<T>) -> Option<String> {
                match fact {
                    Knowable::Known(_) => None,
                    Knowable::Unknown { reason } => Some(reason),
                }
            }
            let reasons: Vec<String> = [reason(listeners), reason(processes), reason(homebrew)]
                .into_iter()
                .flatten()
                .collect();
            Knowable::unknown(reasons.join("; "))
        }
    }
}

/// The conflicts as far as they can be told when the job's state is unknown (`launchctl print`
/// gave 112 or unreadable output): without the job's pid, an `ollama` process on the port may be
/// our own server, so it is left out rather than reported as a conflict that blocks `apply` and
/// tells the user to stop it. Every other conflict (Ollama.app, Homebrew's job, a stranger on the
/// port) is kept; the unknown job is already an unknown of its own (`check` fails on it).
pub(crate) fn attribute_without_job(conflicts: Vec<Conflict>) -> Vec<Conflict> {
    conflicts
        .into_iter()
        .filter(
            |c| !matches!(c, Conflict::PortTaken { command, .. } if basename(command) == "ollama"),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::proptest;

    use super::{
        HomebrewJob, Listener, ProcessInfo, ProcessParseError, find_conflicts, lsof_listen,
        parse_lsof, parse_product_version, parse_ps, ping, ps, sw_vers_product_version,
    };
    use crate::model::Knowable;
    use crate::model::observed::Conflict;

    const SW_VERS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/sw_vers/sw_vers-14.2.1.txt"
    ));
    const LSOF: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/lsof/lsof-listen-all.txt"
    ));

    /// Synthetic `ps -axo pid=,ppid=,user=,comm=` in ps's right-aligned layout.
    const PS: &str = "    1     0 root             /sbin/launchd
  853     1 scott            /Applications/Ollama.app/Contents/MacOS/Ollama
  900   853 scott            /Applications/Ollama.app/Contents/Resources/ollama
  921     1 scott            /opt/homebrew/opt/ollama/bin/ollama
  930   921 scott            /opt/homebrew/Cellar/ollama/0.32.3/libexec/ollama
 1200     1 scott            /Applications/Visual Studio Code.app/Contents/MacOS/Electron
";

    fn listener(command: &str, pid: u32, address: &str) -> Listener {
        Listener {
            command: command.to_owned(),
            pid,
            user: "scott".to_owned(),
            address: address.to_owned(),
        }
    }

    #[test]
    fn builders_spell_the_commands() {
        let lines: Vec<String> = [
            sw_vers_product_version(),
            lsof_listen(11434),
            ps(),
            ping(Ipv4Addr::new(192, 0, 2, 10)),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        /usr/bin/sw_vers -productVersion
        /usr/sbin/lsof -nP -iTCP:11434 -sTCP:LISTEN
        /bin/ps -axo pid=,ppid=,user=,comm=
        /sbin/ping -c 1 -t 2 192.0.2.10
        ");
    }

    #[test]
    fn product_version_from_full_sw_vers_and_from_the_flag() {
        assert_eq!(parse_product_version(SW_VERS).as_deref(), Ok("14.2.1"));
        assert_eq!(parse_product_version("26.5\n").as_deref(), Ok("26.5"));
    }

    #[test]
    fn product_version_refuses_garbage() {
        assert_eq!(parse_product_version(""), Err(ProcessParseError::Empty));
        let err = parse_product_version("sw_vers: command not found\n").unwrap_err();
        insta::assert_snapshot!(err.to_string(), @"line 1: not a version like `14.2.1`: `sw_vers: command not found`");
        assert!(parse_product_version("14..2\n").is_err());
        assert!(parse_product_version("ProductVersion:\t\t\n").is_err());
    }

    #[test]
    fn lsof_rows_keep_command_pid_user_and_address() {
        let listeners = parse_lsof(LSOF).unwrap();
        assert_eq!(listeners.len(), 5);
        assert_eq!(
            listeners[0],
            Listener {
                command: "rapportd".to_owned(),
                pid: 621,
                user: "scottrosenberg".to_owned(),
                address: "*:61119".to_owned(),
            }
        );
        assert_eq!(listeners[4].command, "ollama");
        assert_eq!(listeners[4].address, "127.0.0.1:11434");
        assert_eq!(listeners[4].port(), Some(11434));
        insta::assert_debug_snapshot!(listeners);
    }

    #[test]
    fn lsof_reads_ipv6_names_and_rows_without_the_state() {
        let text = "COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n\
                    ollama  921 scott 3u IPv6 0xabc 0t0 TCP [::1]:11434 (LISTEN)\n\
                    ollama  921 scott 4u IPv4 0xdef 0t0 TCP *:11434\n";
        let listeners = parse_lsof(text).unwrap();
        assert_eq!(listeners[0].address, "[::1]:11434");
        assert_eq!(listeners[0].port(), Some(11434));
        assert_eq!(listeners[1].address, "*:11434");
    }

    #[test]
    fn lsof_without_output_is_no_listener() {
        assert_eq!(parse_lsof(""), Ok(Vec::new()));
    }

    #[test]
    fn lsof_refuses_garbage() {
        assert!(matches!(
            parse_lsof("lsof: illegal option\n"),
            Err(ProcessParseError::BadLine { line: 1, .. })
        ));
        let header = "COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n";
        assert!(matches!(
            parse_lsof(&format!(
                "{header}ollama abc scott 3u IPv4 0x1 0t0 TCP *:1 (LISTEN)\n"
            )),
            Err(ProcessParseError::BadLine { line: 2, .. })
        ));
        assert!(matches!(
            parse_lsof(&format!("{header}ollama 921 scott\n")),
            Err(ProcessParseError::BadLine { line: 2, .. })
        ));
        assert!(matches!(
            parse_lsof(&format!(
                "{header}ollama 921 scott 3u IPv4 0x1 0t0 TCP nowhere (LISTEN)\n"
            )),
            Err(ProcessParseError::BadLine { line: 2, .. })
        ));
    }

    #[test]
    fn ps_lines_keep_commands_with_spaces() {
        let processes = parse_ps(PS).unwrap();
        assert_eq!(processes.len(), 6);
        assert_eq!(
            processes[5],
            ProcessInfo {
                pid: 1200,
                ppid: 1,
                user: "scott".to_owned(),
                command: "/Applications/Visual Studio Code.app/Contents/MacOS/Electron".to_owned(),
            }
        );
        insta::assert_debug_snapshot!(processes[..2], @r#"
        [
            ProcessInfo {
                pid: 1,
                ppid: 0,
                user: "root",
                command: "/sbin/launchd",
            },
            ProcessInfo {
                pid: 853,
                ppid: 1,
                user: "scott",
                command: "/Applications/Ollama.app/Contents/MacOS/Ollama",
            },
        ]
        "#);
    }

    #[test]
    fn ps_refuses_garbage() {
        assert_eq!(parse_ps(""), Err(ProcessParseError::Empty));
        assert!(matches!(
            parse_ps("  PID  PPID USER COMM\n"),
            Err(ProcessParseError::BadLine { line: 1, .. })
        ));
        assert!(matches!(
            parse_ps("1 0\n"),
            Err(ProcessParseError::BadLine { line: 1, .. })
        ));
    }

    #[test]
    fn the_jobs_own_listener_is_not_a_conflict() {
        let processes = parse_ps(PS).unwrap();
        let listeners = [listener("ollama", 921, "127.0.0.1:11434")];
        let conflicts = find_conflicts(&listeners, &processes, Some(921), None);
        assert_eq!(conflicts, [Conflict::OllamaAppRunning { pid: 853 }]);
    }

    #[test]
    fn an_ollama_child_of_the_job_is_not_a_conflict() {
        let processes = parse_ps(PS).unwrap();
        let listeners = [listener("ollama", 930, "*:11434")];
        assert_eq!(
            find_conflicts(&listeners, &processes, Some(921), None),
            [Conflict::OllamaAppRunning { pid: 853 }]
        );
    }

    #[test]
    fn strangers_on_the_port_and_homebrew_are_conflicts() {
        let processes = parse_ps(PS).unwrap();
        // Ollama.app's own server (a child of the app, not of the job) on IPv4 and IPv6 counts
        // as the app's conflict; the others are strangers on the port.
        let listeners = [
            listener("ollama", 900, "*:11434"),
            listener("ollama", 900, "*:11434"),
            listener("ollama", 921, "127.0.0.1:11434"),
            listener("nginx", 1300, "*:11434"),
        ];
        // Homebrew's job without a pid (not running): 921 is a stranger.
        let conflicts = find_conflicts(
            &listeners,
            &processes,
            None,
            Some(HomebrewJob {
                target: "gui/501/homebrew.mxcl.ollama".parse().unwrap(),
                pid: None,
            }),
        );
        insta::assert_debug_snapshot!(conflicts, @r#"
        [
            OllamaAppRunning {
                pid: 853,
            },
            HomebrewServiceLoaded {
                target: "gui/501/homebrew.mxcl.ollama",
            },
            PortTaken {
                pid: 921,
                command: "ollama",
                address: "127.0.0.1:11434",
            },
            PortTaken {
                pid: 1300,
                command: "nginx",
                address: "*:11434",
            },
        ]
        "#);
    }

    #[test]
    fn the_servers_of_ollama_app_and_homebrews_job_are_part_of_their_conflicts() {
        let processes = parse_ps(PS).unwrap();
        // 900: Ollama.app's `ollama serve`; 921: Homebrew's job; 930: a child of it.
        let listeners = [
            listener("ollama", 900, "*:11434"),
            listener("ollama", 921, "127.0.0.1:11434"),
            listener("ollama", 930, "127.0.0.1:11434"),
        ];
        let brew = HomebrewJob {
            target: "gui/501/homebrew.mxcl.ollama".parse().unwrap(),
            pid: Some(921),
        };
        assert_eq!(
            find_conflicts(&listeners, &processes, None, Some(brew)),
            [
                Conflict::OllamaAppRunning { pid: 853 },
                Conflict::HomebrewServiceLoaded {
                    target: "gui/501/homebrew.mxcl.ollama".parse().unwrap()
                },
            ]
        );
        // Without Homebrew's job loaded, its former process is a stranger on the port.
        assert_eq!(
            find_conflicts(&listeners[1..2], &processes, None, None),
            [
                Conflict::OllamaAppRunning { pid: 853 },
                Conflict::PortTaken {
                    pid: 921,
                    command: "ollama".to_owned(),
                    address: "127.0.0.1:11434".to_owned()
                },
            ]
        );
    }

    #[test]
    fn the_apps_bundled_server_is_not_the_app() {
        let processes = [ProcessInfo {
            pid: 5,
            ppid: 1,
            user: "scott".to_owned(),
            command: "/Applications/Ollama.app/Contents/Resources/ollama".to_owned(),
        }];
        assert!(find_conflicts(&[], &processes, None, None).is_empty());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC*") {
            let _ = parse_product_version(&text);
            let _ = parse_lsof(&text);
            let _ = parse_ps(&text);
        }

        #[test]
        fn parsers_never_panic_on_table_like_lines(text in "(COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n)?([ \t]{0,3}[a-zA-Z0-9*:.\\[\\]()/-]{0,8}([ \t]{1,3}[a-zA-Z0-9*:.\\[\\]()/-]{0,8}){0,10}\n){0,6}") {
            let _ = parse_product_version(&text);
            let _ = parse_lsof(&text);
            let _ = parse_ps(&text);
        }
    }

    #[test]
    fn conflicts_are_unknown_whenever_a_probe_failed() {
        let app = ProcessInfo {
            pid: 853,
            ppid: 1,
            user: "scott".to_owned(),
            command: "/Applications/Ollama.app/Contents/MacOS/Ollama".to_owned(),
        };
        let brew: crate::launchd::domain::ServiceTarget =
            "gui/501/homebrew.mxcl.ollama".parse().unwrap();
        let job = HomebrewJob {
            target: brew.clone(),
            pid: None,
        };
        let known = super::conflicts(
            Knowable::Known(Vec::new()),
            Knowable::Known(vec![app.clone()]),
            Knowable::Known(Some(job.clone())),
            &Knowable::Known(None),
        );
        assert_eq!(
            known,
            Knowable::Known(vec![
                Conflict::OllamaAppRunning { pid: 853 },
                Conflict::HomebrewServiceLoaded {
                    target: brew.clone()
                },
            ])
        );
        // A loaded Homebrew job does not hide a failed lsof or ps.
        let Knowable::Unknown { reason } = super::conflicts(
            Knowable::unknown("`lsof` exited with Some(1): lsof: bad option"),
            Knowable::unknown("could not run `ps`"),
            Knowable::Known(Some(job)),
            &Knowable::Known(None),
        ) else {
            panic!("a failed probe must make the conflicts unknown");
        };
        assert_eq!(
            reason,
            "`lsof` exited with Some(1): lsof: bad option; could not run `ps`"
        );
        // Nor does a failed Homebrew probe read as "not loaded".
        assert_eq!(
            super::conflicts(
                Knowable::Known(Vec::new()),
                Knowable::Known(vec![app]),
                Knowable::unknown("Homebrew's job: timed out"),
                &Knowable::Known(None),
            ),
            Knowable::unknown("Homebrew's job: timed out")
        );
    }

    #[test]
    fn an_ollama_on_the_port_is_not_blamed_when_the_job_is_unknown() {
        let port = Conflict::PortTaken {
            pid: 921,
            command: "ollama".to_owned(),
            address: "127.0.0.1:11434".to_owned(),
        };
        let app = Conflict::OllamaAppRunning { pid: 853 };
        let brew = Conflict::HomebrewServiceLoaded {
            target: "gui/501/homebrew.mxcl.ollama".parse().unwrap(),
        };
        // The ambiguous listener is left out; what is known for sure is kept.
        assert_eq!(
            super::attribute_without_job(vec![app.clone(), brew.clone(), port]),
            vec![app.clone(), brew]
        );
        let stranger = Conflict::PortTaken {
            pid: 77,
            command: "nginx".to_owned(),
            address: "*:11434".to_owned(),
        };
        assert_eq!(
            super::attribute_without_job(vec![app.clone(), stranger.clone()]),
            vec![app, stranger]
        );
    }
}
