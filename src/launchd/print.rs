//! Reading `launchctl print <domain>/<label>` into a [`LoadedJob`].
//!
//! Pure. Apple says the output "is NOT API", so the parser is defensive (macos.md §1.1): it
//! reads only the keys it knows, only at depth 1 (nested blocks such as `resource coalition`
//! carry their own `state =` lines), takes `environment = {` by exact name (never `inherited
//! environment` or `default environment`), skips lines it does not understand (`…` elisions,
//! `submitted job. ignore execute allowed`), and refuses — with a line number — values it
//! cannot read. Entry point: [`parse_service_print`]; the exit-status handling around it is in
//! `launchd::cmd`.

use std::collections::BTreeMap;

use crate::model::observed::{LastExit, LoadedJob};

/// How many characters of an offending line an error quotes.
const EXCERPT_CHARS: usize = 80;

/// Why a `launchctl print` service description could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintParseError {
    /// Nothing but blank lines.
    #[error("the output is empty")]
    Empty,
    /// A line that should hold a value could not be read.
    #[error("line {line}: {problem}: `{excerpt}`")]
    BadLine {
        /// 1-based line number in the whole output.
        line: usize,
        /// What is wrong with it.
        problem: String,
        /// The line, cut to a bounded length.
        excerpt: String,
    },
    /// No `key = value` line at depth 1: this is not a service description.
    #[error("no `key = value` line at the top level: not a service description")]
    NoKeys,
    /// The output stops inside a nested block, so that block's content is partial.
    #[error("the output ends inside the `{block}` block opened on line {line}")]
    Unclosed {
        /// The block's key (`environment`, `arguments`, …).
        block: String,
        /// 1-based line number of its opener.
        line: usize,
    },
}

/// At most [`EXCERPT_CHARS`] characters of `line`, without its indentation.
fn excerpt(line: &str) -> String {
    let line = line.trim();
    let mut out: String = line.chars().take(EXCERPT_CHARS).collect();
    if line.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

fn bad_line(line: usize, problem: impl Into<String>, text: &str) -> PrintParseError {
    PrintParseError::BadLine {
        line,
        problem: problem.into(),
        excerpt: excerpt(text),
    }
}

/// The `<target>` of a header line `<target> = {` (not indented).
fn header_target(line: &str) -> Option<&str> {
    let target = line.strip_suffix(" = {")?;
    let first = target.chars().next()?;
    (!first.is_whitespace()).then_some(target)
}

/// The target named by the output's header line (`gui/501/com.ollama` for
/// `gui/501/com.ollama = {`), or `None` for a headerless excerpt.
pub fn print_header(text: &str) -> Option<&str> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    header_target(first.trim_end())
}

/// `key = value` (or `key =` with an empty value).
fn split_key_value<'a>(content: &'a str, sep: &str) -> Option<(&'a str, &'a str)> {
    let content = content.trim_end_matches(['\r']);
    if let Some((key, value)) = content.split_once(sep) {
        return Some((key.trim(), value));
    }
    content
        .strip_suffix(sep.trim_end())
        .map(|key| (key.trim(), ""))
}

/// `(never exited)`, `0`, `78: EX_CONFIG`.
fn parse_exit_code(value: &str) -> Option<LastExit> {
    let value = value.trim();
    if value == "(never exited)" {
        return Some(LastExit::NeverExited);
    }
    if let Some((code, name)) = value.split_once(':') {
        let name = name.trim();
        return Some(LastExit::Code {
            code: code.trim().parse().ok()?,
            name: (!name.is_empty()).then(|| name.to_owned()),
        });
    }
    Some(LastExit::Code {
        code: value.parse().ok()?,
        name: None,
    })
}

/// `Terminated: 15`.
fn parse_signal(value: &str) -> Option<LastExit> {
    let (name, number) = value.trim().rsplit_once(':')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some(LastExit::Signal {
        signal: number.trim().parse().ok()?,
        name: name.to_owned(),
    })
}

/// Sets a value read from a depth-1 key, refusing a second occurrence (the parser would be
/// misreading the structure).
fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    line: usize,
    text: &str,
) -> Result<(), PrintParseError> {
    if slot.is_some() {
        return Err(bad_line(
            line,
            "this key appears twice at the top level",
            text,
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// What the depth-1 lines said so far.
#[derive(Default)]
struct TopLevel {
    job: LoadedJob,
    saw_key: bool,
    exit_code: Option<LastExit>,
    signal: Option<LastExit>,
    properties: Option<Vec<String>>,
    saw_arguments: bool,
    saw_environment: bool,
}

impl TopLevel {
    fn key(
        &mut self,
        key: &str,
        value: &str,
        line: usize,
        text: &str,
    ) -> Result<(), PrintParseError> {
        self.saw_key = true;
        let job = &mut self.job;
        let owned = || value.trim().to_owned();
        match key {
            "state" => set_once(&mut job.state, owned(), line, text),
            "program" => set_once(&mut job.program, owned(), line, text),
            "stdout path" => set_once(&mut job.stdout_path, owned(), line, text),
            "stderr path" => set_once(&mut job.stderr_path, owned(), line, text),
            "path" => set_once(&mut job.path, owned(), line, text),
            "username" => set_once(&mut job.username, owned(), line, text),
            "pid" => {
                let pid = value
                    .trim()
                    .parse()
                    .map_err(|_| bad_line(line, "`pid` is not a process id", text))?;
                set_once(&mut job.pid, pid, line, text)
            }
            "runs" => {
                let runs = value
                    .trim()
                    .parse()
                    .map_err(|_| bad_line(line, "`runs` is not a number", text))?;
                set_once(&mut job.runs, runs, line, text)
            }
            "last exit code" => {
                let exit = parse_exit_code(value).ok_or_else(|| {
                    bad_line(
                        line,
                        "`last exit code` is not `(never exited)`, `N` or `N: NAME`",
                        text,
                    )
                })?;
                set_once(&mut self.exit_code, exit, line, text)
            }
            "last terminating signal" => {
                let signal = parse_signal(value).ok_or_else(|| {
                    bad_line(line, "`last terminating signal` is not `Name: N`", text)
                })?;
                set_once(&mut self.signal, signal, line, text)
            }
            "properties" => {
                let flags = value
                    .split('|')
                    .map(str::trim)
                    .filter(|flag| !flag.is_empty())
                    .map(str::to_owned)
                    .collect();
                set_once(&mut self.properties, flags, line, text)
            }
            _ => Ok(()),
        }
    }

    fn finish(self) -> Result<LoadedJob, PrintParseError> {
        if !self.saw_key {
            return Err(PrintParseError::NoKeys);
        }
        let mut job = self.job;
        // A job killed by a signal prints `last terminating signal` instead of
        // `last exit code`; should both appear, the signal describes the last end.
        job.last_exit = self.signal.or(self.exit_code);
        job.properties = self.properties.unwrap_or_default();
        Ok(job)
    }
}

/// A nested block still open: its key and the line that opened it.
struct Open<'a> {
    name: &'a str,
    line: usize,
}

/// Parses the description `launchctl print <domain>/<label>` writes to stdout (exit 0).
///
/// # Guarantees
/// Reads keys at depth 1 only. `pid` is `None` unless the output has one (only while running).
/// Missing keys stay `None`/empty: an excerpt (such as the headerless capture in macos.md §1.2 F)
/// parses as far as it goes, and output truncated at depth 1 keeps what it has.
///
/// # Errors
/// [`PrintParseError`] for empty input, a first line that is neither `<target> = {` nor an
/// indented key, a value that cannot be read (`pid = abc`), a key seen twice, output ending
/// inside a nested block, text after the closing `}`, or no `key = value` line at all.
pub fn parse_service_print(text: &str) -> Result<LoadedJob, PrintParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .ok_or(PrintParseError::Empty)?;
    let first_line = lines[first].trim_end();
    let start = if header_target(first_line).is_some() {
        first + 1
    } else if first_line.starts_with(['\t', ' ']) {
        // A headerless excerpt: its lines are depth-1 keys.
        first
    } else {
        return Err(bad_line(
            first + 1,
            "expected `<domain>/<label> = {` or an indented `key = value` line",
            first_line,
        ));
    };

    let mut top = TopLevel::default();
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut closed = false;
    for (index, &raw) in lines.iter().enumerate().skip(start) {
        let line = index + 1;
        let raw = raw.trim_end_matches('\r');
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if closed {
            return Err(bad_line(line, "text after the closing `}`", raw));
        }
        if trimmed == "}" {
            if open.pop().is_none() {
                closed = true;
            }
            continue;
        }
        // Entries keep their content verbatim, minus the indentation.
        let content = raw.trim_start_matches(['\t', ' ']);
        match open.last() {
            None => {
                if let Some(name) = trimmed.strip_suffix(" = {") {
                    let seen = match name {
                        "arguments" => Some(&mut top.saw_arguments),
                        "environment" => Some(&mut top.saw_environment),
                        _ => None,
                    };
                    if let Some(seen) = seen {
                        if *seen {
                            return Err(bad_line(line, "this block appears twice", raw));
                        }
                        *seen = true;
                    }
                    open.push(Open { name, line });
                } else if let Some((key, value)) = split_key_value(content, " = ") {
                    top.key(key, value, line, raw)?;
                }
                // Anything else (`…`, `submitted job. ignore execute allowed`) says nothing
                // the model keeps.
            }
            Some(block) if open.len() == 1 && block.name == "arguments" => {
                top.job.arguments.push(content.to_owned());
            }
            Some(block) if open.len() == 1 && block.name == "environment" => {
                let (key, value) = split_key_value(content, " => ")
                    .filter(|(key, _)| !key.is_empty())
                    .ok_or_else(|| bad_line(line, "expected `NAME => value`", raw))?;
                if top
                    .job
                    .environment
                    .insert(key.to_owned(), value.to_owned())
                    .is_some()
                {
                    return Err(bad_line(line, "this variable appears twice", raw));
                }
            }
            Some(_) => {
                // Inside a block the model does not keep: only track nesting.
                if let Some(name) = trimmed.strip_suffix(" = {") {
                    open.push(Open { name, line });
                }
            }
        }
    }
    if let Some(block) = open.first() {
        return Err(PrintParseError::Unclosed {
            block: block.name.to_owned(),
            line: block.line,
        });
    }
    top.finish()
}

/// Keeps only the variables of `environment` that are not launchd's own additions
/// (`XPC_SERVICE_NAME`, `OSLogRateLimit`), for comparison with a plist's
/// `EnvironmentVariables` (macos.md §1.1).
pub fn job_environment(environment: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    environment
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "XPC_SERVICE_NAME" | "OSLogRateLimit"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::{ProptestConfig, proptest};

    use super::{PrintParseError, job_environment, parse_service_print, print_header};
    use crate::model::observed::LastExit;

    const SIGTERM: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-agent-running-sigterm.txt"
    ));
    const FIRST_RUN: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-agent-running-first-run.txt"
    ));
    const DAEMON: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-daemon-running.txt"
    ));
    const HOMEBREW: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-homebrew-ollama-spawn-scheduled.txt"
    ));
    const DISABLED_VENTURA: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-disabled-ventura.txt"
    ));
    const NOT_FOUND: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-not-found.stderr"
    ));

    #[test]
    fn running_agent_killed_by_sigterm_earlier_is_read_key_by_key() {
        let job = parse_service_print(SIGTERM).unwrap();
        assert_eq!(job.state.as_deref(), Some("running"));
        assert_eq!(job.pid, Some(17594));
        assert_eq!(job.runs, Some(103));
        assert_eq!(
            job.last_exit,
            Some(LastExit::Signal {
                signal: 15,
                name: "Terminated".to_owned()
            })
        );
        assert_eq!(
            job.program.as_deref(),
            Some("/Applications/mattstack.app/Contents/Helpers/chat")
        );
        assert_eq!(
            job.arguments,
            ["/Applications/mattstack.app/Contents/Helpers/chat"]
        );
        assert_eq!(
            job.path.as_deref(),
            Some("/Users/tester/Library/LaunchAgents/com.mattstack.deck.chat.plist")
        );
        assert_eq!(
            job.stdout_path.as_deref(),
            Some("/Users/tester/.mattstack/deck/logs/chat.out.log")
        );
        assert_eq!(
            job.properties,
            ["keepalive", "runatload", "inferred program"]
        );
        assert_eq!(job.username, None);
        insta::assert_debug_snapshot!(job);
    }

    #[test]
    fn only_the_depth_one_environment_block_is_read() {
        let job = parse_service_print(SIGTERM).unwrap();
        let keys: Vec<&str> = job.environment.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "MATTSTACK_CANONICAL_HOST",
                "OSLogRateLimit",
                "PATH",
                "PORT",
                "XPC_SERVICE_NAME"
            ]
        );
        // Not `inherited environment`'s SSH_AUTH_SOCK, not `default environment`'s PATH.
        assert!(!job.environment.contains_key("SSH_AUTH_SOCK"));
        assert!(job.environment["PATH"].starts_with("/Applications/mattstack.app"));
        assert_eq!(job.environment["PORT"], "11002");
    }

    #[test]
    fn nested_coalition_state_lines_do_not_override_the_job_state() {
        // Both coalitions say `state = active`; the job says `running`.
        let job = parse_service_print(SIGTERM).unwrap();
        assert_eq!(job.state.as_deref(), Some("running"));
    }

    #[test]
    fn trimmed_first_run_capture_parses_the_lines_it_has() {
        let job = parse_service_print(FIRST_RUN).unwrap();
        assert_eq!(job.state.as_deref(), Some("running"));
        assert_eq!(job.pid, Some(3246));
        assert_eq!(job.runs, Some(1));
        assert_eq!(job.last_exit, Some(LastExit::NeverExited));
        assert_eq!(
            job.arguments,
            ["/Users/tester/.bun/bin/bun", "server/index.ts"]
        );
        assert!(job.environment.is_empty());
        assert_eq!(
            job.properties,
            [
                "keepalive",
                "runatload",
                "inferred program",
                "managed LWCR",
                "has LWCR"
            ]
        );
        insta::assert_debug_snapshot!(job);
    }

    #[test]
    fn truncated_daemon_capture_keeps_what_is_there() {
        let job = parse_service_print(DAEMON).unwrap();
        assert_eq!(job.state.as_deref(), Some("running"));
        assert_eq!(job.pid, Some(893));
        assert_eq!(job.last_exit, None);
        assert_eq!(
            job.arguments,
            [
                "/usr/local/bin/egress-guard",
                "start",
                "--port=8443",
                "--system"
            ]
        );
        assert_eq!(job.environment["HOME"], "/var/db/egress-guard");
        assert_eq!(
            job.path.as_deref(),
            Some("/Library/LaunchDaemons/com.byliu.egress-guard.daemon.plist")
        );
        insta::assert_debug_snapshot!(job);
    }

    #[test]
    fn headerless_homebrew_excerpt_parses_leniently() {
        let job = parse_service_print(HOMEBREW).unwrap();
        assert_eq!(job.state.as_deref(), Some("spawn scheduled"));
        assert_eq!(job.pid, None);
        assert_eq!(
            job.last_exit,
            Some(LastExit::Code {
                code: 78,
                name: Some("EX_CONFIG".to_owned())
            })
        );
        assert_eq!(
            job.program.as_deref(),
            Some("/opt/homebrew/opt/ollama/bin/ollama")
        );
        insta::assert_debug_snapshot!(job);
    }

    #[test]
    fn header_names_the_target() {
        assert_eq!(
            print_header(SIGTERM),
            Some("gui/501/com.mattstack.deck.chat")
        );
        assert_eq!(
            print_header(DAEMON),
            Some("system/com.byliu.egress-guard.daemon")
        );
        assert_eq!(print_header(HOMEBREW), None);
        assert_eq!(print_header(""), None);
    }

    #[test]
    fn plain_exit_code_has_no_name() {
        let text = "gui/501/x = {\n\tstate = not running\n\tlast exit code = 0\n}\n";
        let job = parse_service_print(text).unwrap();
        assert_eq!(
            job.last_exit,
            Some(LastExit::Code {
                code: 0,
                name: None
            })
        );
        assert_eq!(job.state.as_deref(), Some("not running"));
    }

    #[test]
    fn empty_input_is_an_error() {
        assert_eq!(parse_service_print(""), Err(PrintParseError::Empty));
        assert_eq!(parse_service_print("\n\n  \n"), Err(PrintParseError::Empty));
    }

    #[test]
    fn error_text_on_stdout_is_not_a_description() {
        let err = parse_service_print(NOT_FOUND).unwrap_err();
        insta::assert_snapshot!(err.to_string(), @"line 1: expected `<domain>/<label> = {` or an indented `key = value` line: `Bad request.`");
    }

    #[test]
    fn a_block_without_keys_is_not_a_description() {
        // `print-disabled` output: indented, but no depth-1 `key = value`.
        assert_eq!(
            parse_service_print(DISABLED_VENTURA),
            Err(PrintParseError::NoKeys)
        );
        assert_eq!(
            parse_service_print("gui/501/x = {\n}\n"),
            Err(PrintParseError::NoKeys)
        );
    }

    #[test]
    fn output_ending_inside_the_environment_is_refused() {
        let text = "gui/501/x = {\n\tstate = running\n\tenvironment = {\n\t\tA => 1\n";
        assert_eq!(
            parse_service_print(text),
            Err(PrintParseError::Unclosed {
                block: "environment".to_owned(),
                line: 3
            })
        );
    }

    #[test]
    fn unreadable_values_name_their_line() {
        let text = "gui/501/x = {\n\tstate = running\n\tpid = twelve\n}\n";
        let err = parse_service_print(text).unwrap_err();
        insta::assert_snapshot!(err.to_string(), @"line 3: `pid` is not a process id: `pid = twelve`");
        let text = "gui/501/x = {\n\tlast exit code = soon\n}\n";
        assert!(matches!(
            parse_service_print(text),
            Err(PrintParseError::BadLine { line: 2, .. })
        ));
        let text = "gui/501/x = {\n\tlast terminating signal = 15\n}\n";
        assert!(matches!(
            parse_service_print(text),
            Err(PrintParseError::BadLine { line: 2, .. })
        ));
    }

    #[test]
    fn a_key_seen_twice_is_refused() {
        let text = "gui/501/x = {\n\tpid = 1\n\tpid = 2\n}\n";
        assert!(matches!(
            parse_service_print(text),
            Err(PrintParseError::BadLine { line: 3, .. })
        ));
    }

    #[test]
    fn environment_lines_must_be_arrows() {
        let text = "gui/501/x = {\n\tenvironment = {\n\t\tA = 1\n\t}\n\tstate = running\n}\n";
        assert!(matches!(
            parse_service_print(text),
            Err(PrintParseError::BadLine { line: 3, .. })
        ));
    }

    #[test]
    fn text_after_the_closing_brace_is_refused() {
        let text = "gui/501/x = {\n\tstate = running\n}\ngui/501/y = {\n";
        assert!(matches!(
            parse_service_print(text),
            Err(PrintParseError::BadLine { line: 4, .. })
        ));
    }

    #[test]
    fn empty_environment_values_and_crlf_are_kept_apart() {
        let text = "gui/501/x = {\r\n\tenvironment = {\r\n\t\tEMPTY =>\r\n\t\tB => two words \r\n\t}\r\n\tstate = running\r\n}\r\n";
        let job = parse_service_print(text).unwrap();
        let expected = BTreeMap::from([
            ("B".to_owned(), "two words ".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]);
        assert_eq!(job.environment, expected);
    }

    #[test]
    fn launchd_additions_are_not_part_of_the_job_environment() {
        let job = parse_service_print(SIGTERM).unwrap();
        let own = job_environment(&job.environment);
        let keys: Vec<&str> = own.keys().map(String::as_str).collect();
        assert_eq!(keys, ["MATTSTACK_CANONICAL_HOST", "PATH", "PORT"]);
    }

    #[test]
    fn truncations_of_a_real_capture_never_panic() {
        for end in 0..=SIGTERM.len() {
            if SIGTERM.is_char_boundary(end) {
                let _ = parse_service_print(&SIGTERM[..end]);
            }
        }
        assert!(parse_service_print(&SIGTERM[..SIGTERM.len() / 3]).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn never_panics_on_arbitrary_strings(text in "\\PC*") {
            let _ = parse_service_print(&text);
            let _ = print_header(&text);
        }

        #[test]
        fn never_panics_on_print_like_strings(text in "([\t ]{0,3}(gui/501/x|state|pid|runs|last exit code|last terminating signal|environment|arguments|properties|[A-Z]{1,3})( = \\{| = | => |: |\\}|[0-9]{1,4}| \\| )?[a-z0-9:()]{0,6}\r?\n){0,12}") {
            let _ = parse_service_print(&text);
        }
    }
}
