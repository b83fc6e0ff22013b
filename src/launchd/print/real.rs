//! The reader against every real `launchctl print <service>` in `tests/fixtures` (provenance in
//! `tests/fixtures/PROVENANCE.md`), and against synthetic prints, one per construct real
//! prints are known to contain (marked SYNTHETIC), plus property tests: nested blocks inserted
//! between depth-1 lines, or tabs turned into spaces, never change what is read.

use proptest::prelude::{Just, ProptestConfig, Strategy, prop_oneof, proptest};
use proptest::{collection, sample};

use super::{PrintParseError, parse_service_print};
use crate::model::observed::{LastExit, LoadedJob};

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/macos/launchctl/",
                $name
            )),
        )
    };
}

/// Every real service print in the fixtures.
const REAL: [(&str, &str); 21] = [
    fixture!("print-agent-running-sigterm.txt"),
    fixture!("print-agent-running-first-run.txt"),
    fixture!("print-daemon-running.txt"),
    fixture!("print-homebrew-ollama-spawn-scheduled.txt"),
    fixture!("print-macos27-watchpaths-exited.txt"),
    fixture!("print-macos27-lwcr-running.txt"),
    fixture!("print-macos27-interval-exited.txt"),
    fixture!("print-macos27-calendar-never-run.txt"),
    fixture!("print-macos26-empty-argument.txt"),
    fixture!("print-macos14-watchpaths-spawn-scheduled.txt"),
    fixture!("print-calendar-never-run.txt"),
    fixture!("print-calendar-four-triggers.txt"),
    fixture!("print-calendar-bash-lc.txt"),
    fixture!("print-agent-running-partial-import.txt"),
    fixture!("print-submitted-spawn-failed.txt"),
    fixture!("print-submitted-running.txt"),
    fixture!("print-exit-reason-codesigning.txt"),
    fixture!("print-exit-reason-spawn-failed.txt"),
    fixture!("print-xpcproxy-starting.txt"),
    fixture!("print-macos27-semaphores-lwcr-running.txt"),
    fixture!("print-calendar-bash-lc-redirect.txt"),
];

/// What each real print must read as, field by field, worked out by hand from the capture.
struct Expected {
    state: &'static str,
    pid: Option<u32>,
    runs: Option<u64>,
    /// [`LoadedJob::last_exit_text`].
    exit: Option<&'static str>,
    program: Option<&'static str>,
    /// The first and the last argv element, and how many there are.
    arguments: (usize, &'static str, &'static str),
    /// The `environment` block's variable names, sorted.
    environment: &'static [&'static str],
}

const XPC: &[&str] = &["OSLogRateLimit", "XPC_SERVICE_NAME"];

fn expected(name: &str) -> Expected {
    let e = |state, pid, runs, exit, program, arguments, environment| Expected {
        state,
        pid,
        runs,
        exit,
        program,
        arguments,
        environment,
    };
    match name {
        "print-agent-running-sigterm.txt" => e(
            "running",
            Some(17594),
            Some(103),
            Some("Terminated: 15"),
            Some("/Applications/mattstack.app/Contents/Helpers/chat"),
            (
                1,
                "/Applications/mattstack.app/Contents/Helpers/chat",
                "/Applications/mattstack.app/Contents/Helpers/chat",
            ),
            &[
                "MATTSTACK_CANONICAL_HOST",
                "OSLogRateLimit",
                "PATH",
                "PORT",
                "XPC_SERVICE_NAME",
            ],
        ),
        "print-agent-running-first-run.txt" => e(
            "running",
            Some(3246),
            Some(1),
            Some("never exited"),
            Some("/Users/tester/.bun/bin/bun"),
            (2, "/Users/tester/.bun/bin/bun", "server/index.ts"),
            &[],
        ),
        "print-daemon-running.txt" => e(
            "running",
            Some(893),
            Some(1),
            None,
            Some("/usr/local/bin/egress-guard"),
            (4, "/usr/local/bin/egress-guard", "--system"),
            &["HOME", "OSLogRateLimit", "PATH", "XPC_SERVICE_NAME"],
        ),
        "print-homebrew-ollama-spawn-scheduled.txt" => e(
            "spawn scheduled",
            None,
            Some(1),
            Some("78: EX_CONFIG"),
            Some("/opt/homebrew/opt/ollama/bin/ollama"),
            (0, "", ""),
            &[],
        ),
        "print-macos27-watchpaths-exited.txt" => e(
            "not running",
            None,
            Some(4),
            Some("1"),
            Some("/Users/sglavoie/.local/bin/sync-legacy.sh"),
            (
                1,
                "/Users/sglavoie/.local/bin/sync-legacy.sh",
                "/Users/sglavoie/.local/bin/sync-legacy.sh",
            ),
            XPC,
        ),
        "print-macos27-lwcr-running.txt" => e(
            "running",
            Some(1076),
            Some(1),
            Some("never exited"),
            Some("/Users/sglavoie/.local/bin/ddc-brightnessd"),
            (
                1,
                "/Users/sglavoie/.local/bin/ddc-brightnessd",
                "/Users/sglavoie/.local/bin/ddc-brightnessd",
            ),
            &["DDC_DISPLAY", "OSLogRateLimit", "XPC_SERVICE_NAME"],
        ),
        "print-macos27-interval-exited.txt" => e(
            "not running",
            None,
            Some(18),
            Some("0"),
            Some("/Users/sglavoie/.local/bin/forgejo-sync.sh"),
            (
                1,
                "/Users/sglavoie/.local/bin/forgejo-sync.sh",
                "/Users/sglavoie/.local/bin/forgejo-sync.sh",
            ),
            XPC,
        ),
        "print-macos27-calendar-never-run.txt" => e(
            "not running",
            None,
            Some(0),
            Some("never exited"),
            Some("/Users/sglavoie/.local/bin/brew-maintain.sh"),
            (
                1,
                "/Users/sglavoie/.local/bin/brew-maintain.sh",
                "/Users/sglavoie/.local/bin/brew-maintain.sh",
            ),
            XPC,
        ),
        "print-macos26-empty-argument.txt" => e(
            "not running",
            None,
            Some(0),
            Some("never exited"),
            Some("/usr/bin/true"),
            (6, "/usr/bin/true", ""),
            XPC,
        ),
        "print-macos14-watchpaths-spawn-scheduled.txt" => e(
            "spawn scheduled",
            None,
            Some(2),
            Some("1"),
            Some("/usr/bin/env"),
            (
                5,
                "/usr/bin/env",
                "/Users/runner/work/teamwork-leader/teamwork-leader/.teamlead-project/.teamlead/",
            ),
            &[
                "CLAUDE_PLUGIN_ROOT",
                "CLAUDE_PROJECT_DIR",
                "TEAMLEAD_DAEMON_VERSION",
                "XPC_SERVICE_NAME",
            ],
        ),
        "print-calendar-never-run.txt" => e(
            "not running",
            None,
            Some(0),
            Some("never exited"),
            Some("/usr/local/bin/node"),
            (
                2,
                "/usr/local/bin/node",
                "/Users/ny/.openclaw/workspace/scripts/auto_detect_and_unfollow_inactive.js",
            ),
            &["OSLogRateLimit", "PATH", "XPC_SERVICE_NAME"],
        ),
        "print-calendar-four-triggers.txt" => e(
            "not running",
            None,
            Some(29),
            Some("0"),
            Some("/bin/bash"),
            (
                2,
                "/bin/bash",
                "/Users/ny/.openclaw/workspace/scripts/comment-orchestrator.sh",
            ),
            &[
                "MAX_AGE_HOURS",
                "MAX_PICKS_PER_FIRE",
                "MIN_LIKES",
                "OSLogRateLimit",
                "REPLY_FOLLOW_DAILY_CAP",
                "XPC_SERVICE_NAME",
            ],
        ),
        "print-calendar-bash-lc.txt" => e(
            "not running",
            None,
            Some(2),
            Some("0"),
            Some("/bin/bash"),
            (
                3,
                "/bin/bash",
                "cd /Users/ny/.openclaw/workspace && SLACK_BOT_TOKEN=$(jq -r .channels.slack.botToken /Users/ny/.openclaw/openclaw.json) /usr/local/bin/node scripts/follower-snapshot.js >> logs/follower-snapshot.log 2>&1",
            ),
            XPC,
        ),
        "print-agent-running-partial-import.txt" => e(
            "running",
            Some(94358),
            Some(1),
            Some("never exited"),
            Some("/Users/ny/.openclaw/service-env/ai.openclaw.gateway-env-wrapper.sh"),
            (
                7,
                "/Users/ny/.openclaw/service-env/ai.openclaw.gateway-env-wrapper.sh",
                "18789",
            ),
            XPC,
        ),
        "print-submitted-spawn-failed.txt" => e(
            "spawn scheduled",
            None,
            Some(22138),
            Some("78: EX_CONFIG, job state = spawn failed"),
            None,
            (4, "cli_pulse_helper", "120"),
            &[],
        ),
        "print-submitted-running.txt" => e(
            "running",
            Some(64011),
            Some(2),
            Some("0"),
            None,
            (0, "", ""),
            &[],
        ),
        "print-exit-reason-codesigning.txt" => e(
            "spawn scheduled",
            None,
            Some(6),
            Some("OS_REASON_CODESIGNING, job state = spawn failed"),
            None,
            (0, "", ""),
            &[],
        ),
        "print-exit-reason-spawn-failed.txt" => e(
            "spawn scheduled",
            None,
            Some(153),
            Some("OS_REASON_CODESIGNING, job state = spawn failed"),
            None,
            (
                1,
                "Contents/Helpers/threading-triggerd",
                "Contents/Helpers/threading-triggerd",
            ),
            &[],
        ),
        "print-xpcproxy-starting.txt" => e(
            "xpcproxy",
            None,
            Some(1),
            Some("never exited"),
            None,
            (0, "", ""),
            &[],
        ),
        "print-macos27-semaphores-lwcr-running.txt" => e(
            "running",
            Some(1082),
            Some(1),
            Some("never exited"),
            Some("/Users/sglavoie/.go/bin/bn-vault-guard"),
            (
                1,
                "/Users/sglavoie/.go/bin/bn-vault-guard",
                "/Users/sglavoie/.go/bin/bn-vault-guard",
            ),
            &[
                "BNOTES_VAULT",
                "GIT_TERMINAL_PROMPT",
                "OSLogRateLimit",
                "PATH",
                "XPC_SERVICE_NAME",
            ],
        ),
        "print-calendar-bash-lc-redirect.txt" => e(
            "not running",
            None,
            Some(1),
            Some("0"),
            Some("/bin/bash"),
            (
                3,
                "/bin/bash",
                "/Users/ny/.openclaw/workspace/scripts/run-badge-followback.sh >> /Users/ny/.openclaw/workspace/logs/badge-followback.log 2>&1",
            ),
            XPC,
        ),
        other => panic!("no expectation for {other}"),
    }
}

/// How a real print reads against its expectation.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Right,
    Unknown(PrintParseError),
    Wrong(Vec<&'static str>),
}

fn verdict(name: &str, text: &str) -> Verdict {
    let job = match parse_service_print(text) {
        Ok(job) => job,
        Err(err) => return Verdict::Unknown(err),
    };
    let want = expected(name);
    let mut wrong = Vec::new();
    let (count, first, last) = want.arguments;
    let argv = &job.arguments;
    let checks = [
        ("state", job.state.as_deref() == Some(want.state)),
        ("pid", job.pid == want.pid),
        ("runs", job.runs == want.runs),
        ("last exit", job.last_exit_text().as_deref() == want.exit),
        ("program", job.program.as_deref() == want.program),
        ("argument count", argv.len() == count),
        (
            "first argument",
            argv.first().map_or("", String::as_str) == first,
        ),
        (
            "last argument",
            argv.last().map_or("", String::as_str) == last,
        ),
        (
            "environment",
            job.environment
                .keys()
                .map(String::as_str)
                .eq(want.environment.iter().copied()),
        ),
    ];
    for (what, ok) in checks {
        if !ok {
            wrong.push(what);
        }
    }
    if wrong.is_empty() {
        Verdict::Right
    } else {
        Verdict::Wrong(wrong)
    }
}

#[test]
fn every_real_print_is_read_right() {
    let verdicts: Vec<(&str, Verdict)> = REAL
        .iter()
        .map(|(name, text)| (*name, verdict(name, text)))
        .collect();
    let right = verdicts
        .iter()
        .filter(|(_, v)| *v == Verdict::Right)
        .count();
    let failures: Vec<&(&str, Verdict)> = verdicts
        .iter()
        .filter(|(_, v)| *v != Verdict::Right)
        .collect();
    assert!(
        failures.is_empty(),
        "{right} of {} real prints read right; the others: {failures:#?}",
        REAL.len()
    );
}

#[test]
fn every_real_print_reads_as_its_snapshot() {
    // The whole model of each print, for review (every field, not only the expectations).
    let all: Vec<(&str, LoadedJob)> = REAL
        .iter()
        .map(|(name, text)| (*name, parse_service_print(text).unwrap()))
        .collect();
    insta::assert_debug_snapshot!(all);
}

#[test]
fn nested_state_and_pid_lines_of_real_prints_are_not_read() {
    // Coalitions, event channels and LWCR carry `state = active`, `active = 0`, `port = …`.
    for (name, text) in REAL {
        let job = parse_service_print(text).unwrap();
        assert_ne!(job.state.as_deref(), Some("active"), "{name}");
    }
    let (_, lwcr) = REAL[5];
    let job = parse_service_print(lwcr).unwrap();
    assert_eq!(job.job_state.as_deref(), Some("running"));
    assert_eq!(job.last_exit, Some(LastExit::NeverExited));
}

// ---- SYNTHETIC prints: one per construct seen in real output ----

/// SYNTHETIC: a running `ollama serve` agent in the shape of the macOS 27 captures, with
/// every nested construct real prints show, and depth-1-looking keys inside each.
const SYNTHETIC_NESTED: &str = "gui/501/com.ollama.server = {
\tactive count = 1
\tpath = /Users/tester/Library/LaunchAgents/com.ollama.server.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /opt/homebrew/bin/ollama
\targuments = {
\t\t/opt/homebrew/bin/ollama
\t\tserve
\t}

\tenvironment = {
\t\tOLLAMA_HOST => 192.168.250.20:11434
\t\tXPC_SERVICE_NAME => com.ollama.server
\t}

\tLWCR = {
\t\t\"reqs\" => {
\t\t\t\"cdhash\" => {
\t\t\t\t\"$in\" => [
\t\t\t\t\t0 = \t\t\t\t]
\t\t\t}
\t\t\tpid = 1
\t\t}
\t\t\"vers\" => 1
\t}

\truns = 3
\tpid = 4242
\tlast exit code = 1

\tevent triggers = {
\t\tcom.ollama.server.268435472 => {
\t\t\tstream = com.apple.launchd.calendarinterval
\t\t\tstate = active
\t\t\tdescriptor = {
\t\t\t\t\"Minute\" => 0
\t\t\t}
\t\t}
\t\tcom.apple.launchd.WatchPaths => {
\t\t\tdescriptor = {
\t\t\t\t\"WatchPaths\" => [
\t\t\t\t\t0 = \"/Volumes\"
\t\t\t\t]
\t\t\t}
\t\t}
\t\tcom.ollama.server.bonjour => {
\t\t\tstream = com.apple.bonjour
\t\t\tprogram = /not/the/program
\t\t\tenvironment = {
\t\t\t\tOLLAMA_HOST => 0.0.0.0
\t\t\t}
\t\t}
\t}

\tsockets = {
\t\t\"Listeners\" = {
\t\t\ttype = stream
\t\t\tstate = listening
\t\t}
\t}

\tjob state = running
\tproperties = keepalive | runatload | managed LWCR | has LWCR
}
";

#[test]
fn synthetic_nested_blocks_of_every_kind_are_skipped_whole() {
    let job = parse_service_print(SYNTHETIC_NESTED).unwrap();
    assert_eq!(job.state.as_deref(), Some("running"));
    assert_eq!(job.pid, Some(4242));
    assert_eq!(job.runs, Some(3));
    assert_eq!(job.program.as_deref(), Some("/opt/homebrew/bin/ollama"));
    assert_eq!(job.arguments, ["/opt/homebrew/bin/ollama", "serve"]);
    assert_eq!(job.environment["OLLAMA_HOST"], "192.168.250.20:11434");
    assert_eq!(job.environment.len(), 2);
    assert_eq!(job.job_state.as_deref(), Some("running"));
    assert_eq!(
        job.properties,
        ["keepalive", "runatload", "managed LWCR", "has LWCR"]
    );
}

/// SYNTHETIC: `sh -c` with a script over several lines, printed raw as launchd does: lines
/// without indentation, a lone `}`, a line that looks like a depth-1 key, a TAB + `}` line,
/// and a blank line inside the script. (A TAB + `}` line followed by a depth-1-looking line
/// would end the block there: the one reading `closes_here` cannot tell apart.)
const SYNTHETIC_SCRIPT: &str = "gui/501/com.ollama.server = {
\tstate = running
\tprogram = /bin/sh
\targuments = {
\t\t/bin/sh
\t\t-c
\t\tserve() {
  exec /opt/homebrew/bin/ollama serve
}
wait_net() {
\tpid = 1
\twhile ! ping -c1 -t1 192.168.250.1; do sleep 1; done
\t}

wait_net; serve
\t\tlast
\t}

\tpid = 77
\tlast exit code = (never exited)
}
";

#[test]
fn synthetic_multi_line_argument_stays_one_element_and_does_not_close_the_block() {
    let job = parse_service_print(SYNTHETIC_SCRIPT).unwrap();
    assert_eq!(job.arguments.len(), 4, "{:#?}", job.arguments);
    assert_eq!(job.arguments[0], "/bin/sh");
    assert_eq!(job.arguments[1], "-c");
    assert_eq!(
        job.arguments[2],
        "serve() {\n  exec /opt/homebrew/bin/ollama serve\n}\nwait_net() {\n\tpid = 1\n\twhile ! ping -c1 -t1 192.168.250.1; do sleep 1; done\n\t}\n\nwait_net; serve"
    );
    assert_eq!(job.arguments[3], "last");
    // The script's `\tpid = 1` is part of the argument, not the job's pid.
    assert_eq!(job.pid, Some(77));
    assert_eq!(job.last_exit, Some(LastExit::NeverExited));
}

#[test]
fn synthetic_script_ending_in_a_tab_brace_line_is_kept_whole() {
    // The script's last line is TAB + `}`; the block's own closer follows it at once.
    let text = "gui/501/x = {\n\targuments = {\n\t\t/bin/sh\n\t\t-c\n\t\tf() {\n\t}\n\t}\n\tstate = running\n}\n";
    let job = parse_service_print(text).unwrap();
    assert_eq!(job.arguments, ["/bin/sh", "-c", "f() {\n\t}"]);
    assert_eq!(job.state.as_deref(), Some("running"));
}

#[test]
fn synthetic_multi_line_environment_value_is_kept_whole() {
    let text = "gui/501/x = {\n\tenvironment = {\n\t\tBANNER => one\ntwo\n\t\tB => 2\n\t}\n\tstate = running\n}\n";
    let job = parse_service_print(text).unwrap();
    assert_eq!(job.environment["BANNER"], "one\ntwo");
    assert_eq!(job.environment["B"], "2");
}

#[test]
fn synthetic_exit_reason_without_exit_code_and_spawn_failed_are_kept() {
    let text = "gui/501/com.ollama.server = {\n\tstate = spawn scheduled\n\truns = 9\n\tlast exit reason = OS_REASON_EXEC\n\tjob state = spawn failed\n}\n";
    let job = parse_service_print(text).unwrap();
    assert_eq!(job.last_exit, None);
    assert_eq!(job.last_exit_reason.as_deref(), Some("OS_REASON_EXEC"));
    assert_eq!(job.job_state.as_deref(), Some("spawn failed"));
    assert_eq!(
        job.last_exit_text().as_deref(),
        Some("OS_REASON_EXEC, job state = spawn failed")
    );
}

#[test]
fn synthetic_empty_argument_is_an_element() {
    let text = "gui/501/x = {\n\targuments = {\n\t\t/bin/echo\n\t\t\n\t\tafter\n\t}\n\tstate = running\n}\n";
    let job = parse_service_print(text).unwrap();
    assert_eq!(job.arguments, ["/bin/echo", "", "after"]);
}

#[test]
fn a_stray_depth_one_closer_is_refused() {
    let text = "gui/501/x = {\n\tstate = running\n\t}\n\tpid = 3\n}\n";
    assert!(matches!(
        parse_service_print(text),
        Err(PrintParseError::BadLine { line: 3, .. })
    ));
}

#[test]
fn output_ending_inside_a_skipped_block_is_refused() {
    let text = "gui/501/x = {\n\tstate = running\n\tevent triggers = {\n\t\tx => {\n";
    assert_eq!(
        parse_service_print(text),
        Err(PrintParseError::Unclosed {
            block: "event triggers".to_owned(),
            line: 3
        })
    );
}

// ---- property tests ----

/// The lines of `text` before which a depth-1 block can be inserted: not inside a block.
fn insertion_points(text: &str) -> Vec<usize> {
    let mut points = Vec::new();
    let mut inside = false;
    for (index, line) in text.lines().enumerate().skip(1) {
        if !inside {
            points.push(index);
        }
        if let Some(rest) = line.strip_prefix('\t')
            && !rest.starts_with('\t')
        {
            if rest.ends_with('{') || rest.ends_with('[') {
                inside = true;
            } else if rest == "}" || rest == "]" {
                inside = false;
            }
        }
    }
    points
}

/// A nested value at `depth` (TABs), as real prints nest them.
fn nested(depth: usize) -> impl Strategy<Value = Vec<String>> {
    let indent = "\t".repeat(depth);
    let leaf = {
        let indent = indent.clone();
        sample::select(vec![
            "state = active",
            "pid = 1",
            "program = /elsewhere",
            "last exit code = 9",
            "\"Minute\" => 30",
            "0 = \"/Volumes\"",
            "}",
            "]",
            "environment = {",
            "arguments = {",
            "job state = spawn failed",
        ])
        .prop_map(move |line| vec![format!("{indent}{line}")])
    };
    leaf.prop_recursive(3, 24, 4, move |inner| {
        let indent = indent.clone();
        (
            sample::select(vec![
                "\"reqs\"",
                "descriptor",
                "com.x.1",
                "\"$in\"",
                "sockets",
            ]),
            sample::select(vec![" = {", " => {", " = [", " => ["]),
            collection::vec(inner, 0..4),
            prop_oneof![Just(false), Just(true)],
        )
            .prop_map(move |(name, open, children, inline_close)| {
                let close = if open.ends_with('[') { "]" } else { "}" };
                let mut lines = vec![format!("{indent}{name}{open}")];
                for child in children {
                    // Children go one level deeper than the opener.
                    lines.extend(child.into_iter().map(|l| format!("\t{l}")));
                }
                if inline_close {
                    // LWCR's `0 = \t\t\t\t]`: the closer at the end of a value line.
                    lines.push(format!("{indent}\t0 = \t\t{close}"));
                } else {
                    lines.push(format!("{indent}{close}"));
                }
                lines
            })
    })
}

/// A depth-1 block with arbitrary nested content.
fn depth_one_block() -> impl Strategy<Value = String> {
    (
        sample::select(vec![
            "event triggers = {",
            "LWCR = {",
            "event channels = {",
            "resource coalition = {",
            "sockets = {",
            "semaphores = {",
            "spawn constraints = [",
        ]),
        collection::vec(nested(2), 0..4),
    )
        .prop_map(|(opener, children)| {
            let close = if opener.ends_with('[') { "\t]" } else { "\t}" };
            let mut lines = vec![format!("\t{opener}")];
            lines.extend(children.into_iter().flatten());
            lines.push(close.to_owned());
            lines.join("\n")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn inserting_nested_blocks_between_depth_one_lines_never_changes_the_reading(
        which in 0..REAL.len(),
        blocks in collection::vec((any_index(), depth_one_block()), 1..4),
    ) {
        let (_, text) = REAL[which];
        let before = parse_service_print(text).unwrap();
        let points = insertion_points(text);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut chosen: Vec<(usize, String)> = blocks
            .into_iter()
            .map(|(at, block)| (points[at.index(points.len())], block))
            .collect();
        // Insert from the bottom so earlier points stay valid.
        chosen.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        for (at, block) in chosen {
            lines.insert(at, block);
        }
        let after = parse_service_print(&lines.join("\n")).unwrap();
        proptest::prop_assert_eq!(before, after);
    }

    #[test]
    fn tabs_turned_into_spaces_never_change_the_reading(
        which in 0..REAL.len(),
        width in 2_usize..9,
    ) {
        let (_, text) = REAL[which];
        let before = parse_service_print(text).unwrap();
        let mut spaced = String::new();
        for line in text.lines() {
            let body = line.trim_start_matches('\t');
            let depth = line.len() - body.len();
            spaced.push_str(&" ".repeat(depth * width));
            spaced.push_str(body);
            spaced.push('\n');
        }
        let after = parse_service_print(&spaced).unwrap();
        // Only leading tabs became spaces: a value that contains a TAB (LWCR's) is nested
        // and skipped anyway.
        proptest::prop_assert_eq!(before, after);
    }
}

fn any_index() -> impl Strategy<Value = sample::Index> {
    proptest::arbitrary::any::<sample::Index>()
}
