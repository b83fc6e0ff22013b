//! Reading `launchctl print <domain>/<label>` into a [`LoadedJob`].
//!
//! Pure. Apple says the output "is NOT API", so the parser is defensive (docs/macos.md §1.1): it
//! reads only the keys it knows, only at depth 1 (nested blocks such as `resource coalition`
//! carry their own `state =` lines), takes `environment = {` by exact name (never `inherited
//! environment` or `default environment`), skips lines it does not understand (`…` elisions,
//! `submitted job. ignore execute allowed`), and refuses — with a line number — values it
//! cannot read. Entry point: [`parse_service_print`]; the exit-status handling around it is in
//! `launchd::cmd`.

use std::collections::BTreeMap;

use crate::model::observed::{LastExit, LoadedJob};
use crate::text::excerpt;

/// How many characters of an offending line an error quotes.
const EXCERPT_CHARS: usize = 80;

/// Why a `launchctl print` service description could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PrintParseError {
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

fn bad_line(line: usize, problem: impl Into<String>, text: &str) -> PrintParseError {
    PrintParseError::BadLine {
        line,
        problem: problem.into(),
        excerpt: excerpt(text, EXCERPT_CHARS),
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
pub(crate) fn print_header(text: &str) -> Option<&str> {
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
            "last exit reason" => set_once(&mut job.last_exit_reason, owned(), line, text),
            "job state" => set_once(&mut job.job_state, owned(), line, text),
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

/// The opener suffixes of a nested block: dictionaries (` = {`, launchd's own keys, and
/// ` => {`, keys of XPC dictionaries such as `event triggers` entries or `LWCR`'s `"reqs"`) and
/// arrays (` = [`, ` => [`).
const OPENERS: [&str; 4] = [" = {", " => {", " = [", " => ["];

/// The key of a block opener line (`arguments` for `arguments = {`), or `None`.
fn opener(rest: &str) -> Option<&str> {
    OPENERS.iter().find_map(|suffix| rest.strip_suffix(suffix))
}

/// A closer line's text: `}` for dictionaries, `]` for arrays.
fn is_closer(rest: &str) -> bool {
    matches!(rest, "}" | "]")
}

/// The indentation of one nesting level, learnt from the first indented line: one TAB in real
/// output, spaces where a capture was pasted through something that expands tabs.
struct Indent<'a> {
    unit: &'a str,
}

impl<'a> Indent<'a> {
    /// Learns the unit from the first indented line of `lines`, if any.
    fn learn(lines: &[&'a str]) -> Option<Self> {
        lines.iter().find_map(|line| {
            let body = line.trim_start_matches(['\t', ' ']);
            let width = line.len() - body.len();
            if width == 0 || body.trim().is_empty() {
                return None;
            }
            let first = line.as_bytes()[0];
            // A tab-indented line's unit is one tab; a space-indented line's unit is all of its
            // leading spaces (it is at depth 1).
            let unit = if first == b'\t' {
                &line[..1]
            } else {
                let spaces = line.len() - line.trim_start_matches(' ').len();
                &line[..spaces]
            };
            Some(Self { unit })
        })
    }

    /// How many whole units `line` starts with, and what follows them.
    fn level<'l>(&self, line: &'l str) -> (usize, &'l str) {
        let mut rest = line;
        let mut depth = 0;
        while let Some(next) = rest.strip_prefix(self.unit) {
            rest = next;
            depth += 1;
        }
        (depth, rest)
    }

    /// `line` is exactly at `depth`: that many units, then text that does not start with
    /// whitespace (or nothing at all).
    fn at<'l>(&self, line: &'l str, depth: usize) -> Option<&'l str> {
        let (level, rest) = self.level(line);
        (level == depth && !rest.starts_with(['\t', ' '])).then_some(rest)
    }
}

/// Which depth-1 block the reader is in, and what it keeps of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    /// `arguments = {`: one argv element per depth-2 line; other lines continue the element
    /// before them (launchd prints each element raw, newlines and all).
    Arguments,
    /// `environment = {`: `NAME => value` per depth-2 line; other lines continue the value.
    Environment,
    /// Any other block (`event triggers`, `LWCR`, coalitions, `inherited environment`, …):
    /// skipped whole, whatever it nests.
    Skipped,
}

/// The reader over the lines after the header.
struct Reader<'a> {
    indent: Indent<'a>,
    lines: &'a [&'a str],
    /// Line number of `lines[0]` minus one.
    offset: usize,
    top: TopLevel,
}

impl Reader<'_> {
    fn line_number(&self, index: usize) -> usize {
        self.offset + index + 1
    }

    /// Reads every line; returns what depth 1 said.
    fn run(mut self) -> Result<LoadedJob, PrintParseError> {
        let mut index = 0;
        let mut closed = false;
        while index < self.lines.len() {
            let raw = self.lines[index];
            let line = self.line_number(index);
            if raw.trim().is_empty() {
                index += 1;
                continue;
            }
            if closed {
                return Err(bad_line(line, "text after the closing `}`", raw));
            }
            if let Some(rest) = self.indent.at(raw, 0) {
                // The description's closing brace; other unindented text says nothing here.
                closed = rest.trim_end() == "}";
                index += 1;
                continue;
            }
            let Some(rest) = self.indent.at(raw, 1) else {
                // Deeper (or oddly indented) text outside any block carries no depth-1 key.
                index += 1;
                continue;
            };
            let trimmed = rest.trim_end();
            if is_closer(trimmed) {
                return Err(bad_line(line, "this closes no open block", raw));
            }
            if let Some(name) = opener(trimmed) {
                index = self.block(name, index)?;
                continue;
            }
            if let Some((key, value)) = split_key_value(rest, " = ") {
                self.top.key(key, value, line, raw)?;
            }
            // Anything else (`…`, `submitted job. ignore execute allowed`) says nothing the
            // model keeps.
            index += 1;
        }
        self.top.finish()
    }

    /// Whether a depth-1 closer at `index` really closes its block: it does unless another
    /// depth-1 closer follows with no depth-1 line in between. launchd prints raw values
    /// (a `sh -c` script) verbatim, so a line of one can be a TAB + `}`; the block's own
    /// closer is then the last of the run, and whatever sits between (unindented script
    /// lines, a lone `}`, an author's `…`) belongs to the value.
    fn closes_here(&self, index: usize) -> bool {
        for line in &self.lines[index + 1..] {
            if let Some(rest) = self.indent.at(line, 1) {
                return !is_closer(rest.trim_end());
            }
        }
        true
    }

    /// Reads the block opened on `open` (its key `name`); returns the index after its closer.
    fn block(&mut self, name: &str, open: usize) -> Result<usize, PrintParseError> {
        let line = self.line_number(open);
        let kind = match name {
            "arguments" => Block::Arguments,
            "environment" => Block::Environment,
            _ => Block::Skipped,
        };
        let seen = match kind {
            Block::Arguments => Some(&mut self.top.saw_arguments),
            Block::Environment => Some(&mut self.top.saw_environment),
            Block::Skipped => None,
        };
        if let Some(seen) = seen {
            if *seen {
                return Err(bad_line(line, "this block appears twice", self.lines[open]));
            }
            *seen = true;
        }
        let mut last_variable: Option<String> = None;
        for index in open + 1..self.lines.len() {
            let raw = self.lines[index];
            if self
                .indent
                .at(raw, 1)
                .is_some_and(|rest| is_closer(rest.trim_end()))
                && self.closes_here(index)
            {
                return Ok(index + 1);
            }
            match kind {
                Block::Skipped => {}
                Block::Arguments => self.argument_line(raw),
                Block::Environment => {
                    self.environment_line(raw, self.line_number(index), &mut last_variable)?;
                }
            }
        }
        Err(PrintParseError::Unclosed {
            block: name.to_owned(),
            line,
        })
    }

    /// A line inside `arguments`: a new element at depth 2 (even an empty one), else the
    /// continuation of the element before it, verbatim.
    fn argument_line(&mut self, raw: &str) {
        let arguments = &mut self.top.job.arguments;
        if let Some(rest) = self.indent.at(raw, 2) {
            arguments.push(rest.to_owned());
        } else if let Some(last) = arguments.last_mut() {
            last.push('\n');
            last.push_str(raw);
        } else if !raw.trim().is_empty() {
            arguments.push(raw.to_owned());
        }
    }

    /// A line inside `environment`: `NAME => value` at depth 2, else the continuation of the
    /// value before it.
    fn environment_line(
        &mut self,
        raw: &str,
        line: usize,
        last: &mut Option<String>,
    ) -> Result<(), PrintParseError> {
        let environment = &mut self.top.job.environment;
        if let Some(rest) = self.indent.at(raw, 2).filter(|rest| !rest.is_empty()) {
            let (key, value) = split_key_value(rest, " => ")
                .filter(|(key, _)| !key.is_empty())
                .ok_or_else(|| bad_line(line, "expected `NAME => value`", raw))?;
            if environment
                .insert(key.to_owned(), value.to_owned())
                .is_some()
            {
                return Err(bad_line(line, "this variable appears twice", raw));
            }
            *last = Some(key.to_owned());
            return Ok(());
        }
        match last.as_ref().and_then(|key| environment.get_mut(key)) {
            Some(value) => {
                value.push('\n');
                value.push_str(raw);
                Ok(())
            }
            None if raw.trim().is_empty() => Ok(()),
            None => Err(bad_line(line, "expected `NAME => value`", raw)),
        }
    }
}

/// Parses the description `launchctl print <domain>/<label>` writes to stdout (exit 0).
///
/// # Guarantees
/// Reads keys at depth 1 only, by indentation (one TAB per level in real output; the unit is
/// learnt from the first indented line, so a capture whose tabs became spaces reads the same):
/// nested blocks of any kind (` = {`, ` => {`, ` = [`, ` => [`, closers inline or not) are
/// skipped whole, and only a depth-1 `}`/`]` closes a depth-1 block. `arguments` keeps one
/// element per depth-2 line, a multi-line element whole; of depth-1 closers with no other
/// depth-1 line between them, the last closes the block (the others are raw value lines). `pid` is `None` unless the output has one
/// (only while running). Missing keys stay `None`/empty: an excerpt (such as the headerless
/// capture in docs/macos.md §1.2 F) parses as far as it goes, and output truncated at depth 1 keeps
/// what it has.
///
/// # Errors
/// [`PrintParseError`] for empty input, a first line that is neither `<target> = {` nor an
/// indented key, a value that cannot be read (`pid = abc`), a key seen twice, a depth-1 closer
/// with no block open, output ending inside a depth-1 block, text after the closing `}`, or no
/// `key = value` line at depth 1 at all.
pub(crate) fn parse_service_print(text: &str) -> Result<LoadedJob, PrintParseError> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
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
    let body = &lines[start..];
    let Some(indent) = Indent::learn(body) else {
        // Nothing indented (`gui/501/x = {` + `}`): no depth-1 key at all.
        return Err(PrintParseError::NoKeys);
    };
    Reader {
        indent,
        lines: body,
        offset: start,
        top: TopLevel::default(),
    }
    .run()
}

/// Keeps only the variables of `environment` that are not launchd's own additions
/// (`XPC_SERVICE_NAME`, `OSLogRateLimit`), for comparison with a plist's
/// `EnvironmentVariables` (docs/macos.md §1.1).
pub(crate) fn job_environment(environment: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    environment
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "XPC_SERVICE_NAME" | "OSLogRateLimit"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod real;

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
