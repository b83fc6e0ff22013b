//! `launchctl` command lines ([`Cmd`] values) and the meaning of their exit statuses.
//!
//! Pure: builds commands as data and classifies a finished command's `(status, stdout,
//! stderr)`; it never runs anything (the `sys::exec` gateway does). Exit codes and texts are
//! from real captures (docs/macos.md §1.3, §3.2). Entry points: [`print()`] + [`parse_print`],
//! [`bootstrap`] + [`classify_bootstrap`], [`bootout`] + [`classify_bootout`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::domain::{Domain, ServiceTarget};
use super::print::{parse_service_print, print_header};
use crate::model::Knowable;
use crate::model::observed::JobStatus;
use crate::sys::exec::Cmd;
use crate::sys::tools::Tool;
use crate::text::tool_excerpt;

/// `launchctl`'s "Could not find service" (113) text, stable across the captured releases.
const SERVICE_NOT_FOUND: &str = "Could not find service";

/// Whether a finished command printed the "Could not find service … in domain for …" text.
/// Real Macs have been seen printing it on stderr (the captures in `tests/fixtures`) and on
/// stdout (reports quoted in `tests/fixtures/PROVENANCE.md`), so both streams count.
fn says_service_not_found(stdout: &str, stderr: &str) -> bool {
    stderr.contains(SERVICE_NOT_FOUND) || stdout.contains(SERVICE_NOT_FOUND)
}

/// What a failed command said: stderr, or stdout when stderr is blank (some errors come on
/// stdout, see [`says_service_not_found`]).
fn said<'a>(stdout: &'a str, stderr: &'a str) -> &'a str {
    if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    }
}

/// Whether a print's header names `target`: `gui/501/com.ollama = {` for
/// `gui/501/com.ollama`, or the bare label (`com.ollama = {`), as OS X 10.10 printed it.
fn header_names(header: &str, target: &ServiceTarget) -> bool {
    header == target.to_string() || header == target.label.as_str()
}

/// How an exit status reads in a message.
fn status_text(status: Option<i32>) -> String {
    status.map_or_else(
        || "was killed by a signal".to_owned(),
        |code| format!("exited with {code}"),
    )
}

fn launchctl(args: Vec<String>) -> Cmd {
    Cmd::new(Tool::Launchctl, args)
}

/// `launchctl print <domain>/<label>`: the loaded definition and run state (never needs root).
pub(crate) fn print(target: &ServiceTarget) -> Cmd {
    launchctl(vec!["print".to_owned(), target.to_string()])
}

/// `launchctl bootstrap <domain> <plist>`: load (and, with `RunAtLoad`/`KeepAlive`, start) a
/// job. Needs root for [`Domain::System`] (wrap with [`Cmd::via_sudo`]).
pub(crate) fn bootstrap(domain: Domain, plist: &Path) -> Cmd {
    launchctl(vec![
        "bootstrap".to_owned(),
        domain.to_string(),
        plist.display().to_string(),
    ])
}

/// `launchctl bootout <domain>/<label>`: stop and unload. Asynchronous: poll [`print()`] until
/// it says not loaded (docs/macos.md §3.3).
pub(crate) fn bootout(target: &ServiceTarget) -> Cmd {
    launchctl(vec!["bootout".to_owned(), target.to_string()])
}

/// `launchctl enable <domain>/<label>`: clear a persistent disable override (starts nothing).
pub(crate) fn enable(target: &ServiceTarget) -> Cmd {
    launchctl(vec!["enable".to_owned(), target.to_string()])
}

/// `launchctl disable <domain>/<label>`: set a persistent disable override (stops nothing).
pub(crate) fn disable(target: &ServiceTarget) -> Cmd {
    launchctl(vec!["disable".to_owned(), target.to_string()])
}

/// `launchctl kickstart [-k] <domain>/<label>`: run the job now; with `kill`, kill a running
/// instance first (restart with the *loaded* definition, not the file on disk).
pub(crate) fn kickstart(target: &ServiceTarget, kill: bool) -> Cmd {
    let mut args = vec!["kickstart".to_owned()];
    if kill {
        args.push("-k".to_owned());
    }
    args.push(target.to_string());
    launchctl(args)
}

/// Reads a finished `launchctl print <target>`.
///
/// # Guarantees
/// [`JobStatus::NotLoaded`] only for exit 113 with `Could not find service` on stderr or
/// stdout; exit 112
/// (no such domain: nobody logged in at the console for `gui/<uid>`) is never "not loaded".
/// Every other outcome — another status, a signal, output that does not parse or names another
/// target — is [`Knowable::Unknown`] with a reason for the user.
pub(crate) fn parse_print(
    target: &ServiceTarget,
    status: Option<i32>,
    stdout: &str,
    stderr: &str,
) -> Knowable<JobStatus> {
    let command = format!("launchctl print {target}");
    match status {
        Some(0) => {
            if let Some(header) = print_header(stdout)
                && !header_names(header, target)
            {
                return Knowable::unknown(format!("`{command}` described `{header}` instead"));
            }
            match parse_service_print(stdout) {
                Ok(job) => Knowable::Known(JobStatus::Loaded(job)),
                Err(err) => Knowable::unknown(format!("could not read `{command}`: {err}")),
            }
        }
        Some(113) if says_service_not_found(stdout, stderr) => {
            Knowable::Known(JobStatus::NotLoaded)
        }
        Some(112) => match target.domain {
            Domain::Gui(_) => Knowable::unknown(format!(
                "no GUI session for {} ({}) — log in at the console or use mode = \"daemon\"",
                target.domain,
                tool_excerpt(stderr)
            )),
            Domain::System => Knowable::unknown(format!(
                "`{command}` exited with 112 (domain not found): {}",
                tool_excerpt(stderr)
            )),
        },
        other => Knowable::unknown(format!(
            "`{command}` {}: {}",
            status_text(other),
            tool_excerpt(said(stdout, stderr))
        )),
    }
}

/// What a finished `launchctl bootstrap` means (docs/macos.md §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum BootstrapOutcome {
    /// Exit 0: loaded.
    Ok,
    /// Exit 5 (`Input/output error`, the non-root catch-all: already loaded, or still draining
    /// after a `bootout`), 17 (`File exists`) or 37 (`Operation already in progress`): bootout
    /// and wait, then retry.
    AlreadyLoadedOrTransient {
        /// The exit status.
        code: i32,
        /// stderr, trimmed and bounded.
        message: String,
    },
    /// Exit 119: a persistent `disable` override; `enable` the target first.
    Disabled {
        /// stderr, trimmed and bounded.
        message: String,
    },
    /// Anything else (122 bad ownership/permissions, 134 wrong session, a signal, …).
    Other {
        /// The exit status; `None` when killed by a signal.
        code: Option<i32>,
        /// stderr, trimmed and bounded.
        message: String,
    },
}

impl BootstrapOutcome {
    /// Whether retrying (after a bootout and a short wait) can help.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, Self::AlreadyLoadedOrTransient { .. })
    }
}

/// Classifies a finished `launchctl bootstrap`.
pub(crate) fn classify_bootstrap(status: Option<i32>, stderr: &str) -> BootstrapOutcome {
    let message = tool_excerpt(stderr);
    match status {
        Some(0) => BootstrapOutcome::Ok,
        Some(code @ (5 | 17 | 37)) => BootstrapOutcome::AlreadyLoadedOrTransient { code, message },
        Some(119) => BootstrapOutcome::Disabled { message },
        code => BootstrapOutcome::Other { code, message },
    }
}

/// What a finished `launchctl bootout <domain>/<label>` means (docs/macos.md §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum BootoutOutcome {
    /// Exit 0: unloading started (bootout is asynchronous; poll `print` until 113).
    Ok,
    /// Exit 3 (`No such process`), or 113 `Could not find service`: nothing was loaded.
    NotLoaded,
    /// Exit 36 (`Operation now in progress`): still stopping; poll and retry.
    InProgress,
    /// Anything else (64 usage error, a signal, …).
    Other {
        /// The exit status; `None` when killed by a signal.
        code: Option<i32>,
        /// stderr, trimmed and bounded.
        message: String,
    },
}

/// Classifies a finished `launchctl bootout`. Real Macs answer a job that is not loaded with
/// exit 3 `Boot-out failed: 3: No such process` (docs/macos.md §3.2); exit 113 counts as not loaded
/// only with the `Could not find service` text, on stderr or on stdout as for `print`.
pub(crate) fn classify_bootout(status: Option<i32>, stdout: &str, stderr: &str) -> BootoutOutcome {
    match status {
        Some(0) => BootoutOutcome::Ok,
        Some(3) => BootoutOutcome::NotLoaded,
        Some(113) if says_service_not_found(stdout, stderr) => BootoutOutcome::NotLoaded,
        Some(36) => BootoutOutcome::InProgress,
        code => BootoutOutcome::Other {
            code,
            message: tool_excerpt(said(stdout, stderr)),
        },
    }
}

/// Reads `launchctl print-disabled <domain>`: label → `true` when disabled.
///
/// Accepts the Ventura-and-later spelling (`=> disabled` / `=> enabled`) and the older one
/// (`=> true` = disabled / `=> false`). Only the `disabled services = {` block is read (not
/// `login item associations`); elisions (`...`) and lines in another shape are skipped. A label
/// absent from the map is enabled.
pub(crate) fn parse_print_disabled(stdout: &str) -> BTreeMap<String, bool> {
    let mut overrides = BTreeMap::new();
    let mut inside = false;
    for line in stdout.lines() {
        let line = line.trim();
        if !inside {
            inside = line == "disabled services = {";
            continue;
        }
        if line == "}" {
            break;
        }
        let Some((label, value)) = line.split_once(" => ") else {
            continue;
        };
        let Some(label) = label
            .strip_prefix('"')
            .and_then(|l| l.strip_suffix('"'))
            .filter(|l| !l.is_empty())
        else {
            continue;
        };
        let disabled = match value.trim() {
            "disabled" | "true" => true,
            "enabled" | "false" => false,
            _ => continue,
        };
        overrides.insert(label.to_owned(), disabled);
    }
    overrides
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use proptest::prelude::proptest;

    use super::{
        BootoutOutcome, BootstrapOutcome, bootout, bootstrap, classify_bootout, classify_bootstrap,
        disable, enable, kickstart, parse_print, parse_print_disabled, print,
    };
    use crate::launchd::domain::{Domain, ServiceTarget};
    use crate::model::Knowable;
    use crate::model::desired::Label;
    use crate::model::observed::JobStatus;

    const SIGTERM: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-agent-running-sigterm.txt"
    ));
    const NOT_FOUND: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-not-found.stderr"
    ));
    const KICKSTART_NOT_FOUND: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/kickstart-not-found.stderr"
    ));
    const BOOTSTRAP_EIO: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/bootstrap-eio-nonroot.stderr"
    ));
    const BOOTOUT_USAGE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/bootout-wait-usage.stderr"
    ));
    const DISABLED_VENTURA: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-disabled-ventura.txt"
    ));
    const DISABLED_PRE_VENTURA: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/macos/launchctl/print-disabled-pre-ventura.txt"
    ));

    fn target(label: &str) -> ServiceTarget {
        ServiceTarget::new(Domain::Gui(501), Label::new(label).unwrap())
    }

    #[test]
    fn builders_spell_the_launchctl_subcommands() {
        let t = target("com.ollama");
        let plist = Path::new("/Users/tester/Library/LaunchAgents/com.ollama.plist");
        let lines: Vec<String> = [
            print(&t),
            bootstrap(Domain::Gui(501), plist),
            bootout(&t),
            enable(&t),
            disable(&t),
            kickstart(&t, false),
            kickstart(&t, true),
            bootstrap(
                Domain::System,
                Path::new("/Library/LaunchDaemons/com.ollama.plist"),
            )
            .via_sudo(true),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        /bin/launchctl print gui/501/com.ollama
        /bin/launchctl bootstrap gui/501 /Users/tester/Library/LaunchAgents/com.ollama.plist
        /bin/launchctl bootout gui/501/com.ollama
        /bin/launchctl enable gui/501/com.ollama
        /bin/launchctl disable gui/501/com.ollama
        /bin/launchctl kickstart gui/501/com.ollama
        /bin/launchctl kickstart -k gui/501/com.ollama
        /usr/bin/sudo -n /bin/launchctl bootstrap system /Library/LaunchDaemons/com.ollama.plist
        ");
    }

    #[test]
    fn exit_zero_with_a_description_is_loaded() {
        let status = parse_print(&target("com.mattstack.deck.chat"), Some(0), SIGTERM, "");
        let Knowable::Known(JobStatus::Loaded(job)) = status else {
            panic!("expected a loaded job, got {status:?}");
        };
        assert_eq!(job.pid, Some(17594));
    }

    #[test]
    fn exit_zero_describing_another_target_is_unknown() {
        let status = parse_print(&target("com.ollama"), Some(0), SIGTERM, "");
        insta::assert_debug_snapshot!(status, @r#"
        Unknown {
            reason: "`launchctl print gui/501/com.ollama` described `gui/501/com.mattstack.deck.chat` instead",
        }
        "#);
    }

    #[test]
    fn exit_113_could_not_find_service_is_not_loaded() {
        let status = parse_print(
            &target("com.mattstack.deck.nosuchapp"),
            Some(113),
            "",
            NOT_FOUND,
        );
        assert_eq!(status, Knowable::Known(JobStatus::NotLoaded));
        let status = parse_print(
            &target("edgedb-server-authub"),
            Some(113),
            "",
            KICKSTART_NOT_FOUND,
        );
        assert_eq!(status, Knowable::Known(JobStatus::NotLoaded));
    }

    #[test]
    fn exit_113_with_the_not_found_text_on_stdout_is_not_loaded_too() {
        // Real Macs have printed the text on stdout as well as on stderr.
        let t = target("com.mattstack.deck.nosuchapp");
        let status = parse_print(&t, Some(113), NOT_FOUND, "");
        assert_eq!(status, Knowable::Known(JobStatus::NotLoaded));
        let status = parse_print(&t, Some(113), KICKSTART_NOT_FOUND, "\n");
        assert_eq!(status, Knowable::Known(JobStatus::NotLoaded));
        // Other text on stdout is quoted in the reason, never taken for "not loaded".
        let status = parse_print(&t, Some(113), "Bad request.\n", "");
        insta::assert_debug_snapshot!(status, @r#"
        Unknown {
            reason: "`launchctl print gui/501/com.mattstack.deck.nosuchapp` exited with 113: Bad request.",
        }
        "#);
    }

    #[test]
    fn a_header_naming_only_the_label_describes_the_target() {
        // OS X 10.10 printed `dev.mysql = {` for `launchctl print system/dev.mysql`.
        let text = "com.ollama = {\n\tstate = running\n\tpid = 5\n}\n";
        let status = parse_print(&target("com.ollama"), Some(0), text, "");
        assert!(
            matches!(status, Knowable::Known(JobStatus::Loaded(_))),
            "{status:?}"
        );
        let status = parse_print(&target("com.other"), Some(0), text, "");
        assert!(matches!(status, Knowable::Unknown { .. }), "{status:?}");
    }

    #[test]
    fn not_found_text_with_another_status_is_unknown() {
        let t = target("com.mattstack.deck.nosuchapp");
        let status = parse_print(&t, Some(0), "", NOT_FOUND);
        insta::assert_debug_snapshot!(status, @r#"
        Unknown {
            reason: "could not read `launchctl print gui/501/com.mattstack.deck.nosuchapp`: the output is empty",
        }
        "#);
        // The stderr text on stdout (garbage) is not a description either.
        assert!(matches!(
            parse_print(&t, Some(0), NOT_FOUND, ""),
            Knowable::Unknown { .. }
        ));
        assert!(matches!(
            parse_print(&t, Some(1), "", NOT_FOUND),
            Knowable::Unknown { .. }
        ));
        assert!(matches!(
            parse_print(&t, None, "", NOT_FOUND),
            Knowable::Unknown { .. }
        ));
    }

    #[test]
    fn exit_113_without_the_not_found_text_is_unknown() {
        let status = parse_print(&target("com.ollama"), Some(113), "", "garbage\n");
        insta::assert_debug_snapshot!(status, @r#"
        Unknown {
            reason: "`launchctl print gui/501/com.ollama` exited with 113: garbage",
        }
        "#);
    }

    #[test]
    fn exit_112_is_no_gui_session_never_not_loaded() {
        let status = parse_print(
            &target("com.ollama"),
            Some(112),
            "",
            "Could not find domain for user gui: 501\n",
        );
        insta::assert_debug_snapshot!(status, @r#"
        Unknown {
            reason: "no GUI session for gui/501 (Could not find domain for user gui: 501) — log in at the console or use mode = \"daemon\"",
        }
        "#);
    }

    #[test]
    fn exit_64_quotes_the_usage_error() {
        let status = parse_print(&target("com.ollama"), Some(64), "", BOOTOUT_USAGE);
        let Knowable::Unknown { reason } = status else {
            panic!("expected unknown");
        };
        assert!(reason.starts_with(
            "`launchctl print gui/501/com.ollama` exited with 64: Unrecognized target specifier. / Usage:"
        ));
        assert!(reason.chars().count() < 300);
    }

    #[test]
    fn bootstrap_statuses_are_classified() {
        assert_eq!(classify_bootstrap(Some(0), ""), BootstrapOutcome::Ok);
        let eio = classify_bootstrap(Some(5), BOOTSTRAP_EIO);
        assert!(eio.is_retryable());
        insta::assert_debug_snapshot!(eio, @r#"
        AlreadyLoadedOrTransient {
            code: 5,
            message: "Bootstrap failed: 5: Input/output error / Try re-running the command as root for richer errors.",
        }
        "#);
        assert!(matches!(
            classify_bootstrap(Some(119), "Bootstrap failed: 119: Service is disabled\n"),
            BootstrapOutcome::Disabled { .. }
        ));
        let other = classify_bootstrap(
            Some(122),
            "Bootstrap failed: 122: Path had bad ownership/permissions\n",
        );
        assert!(!other.is_retryable());
        assert_eq!(
            other,
            BootstrapOutcome::Other {
                code: Some(122),
                message: "Bootstrap failed: 122: Path had bad ownership/permissions".to_owned()
            }
        );
        assert!(matches!(
            classify_bootstrap(None, ""),
            BootstrapOutcome::Other { code: None, .. }
        ));
    }

    #[test]
    fn bootout_statuses_are_classified() {
        assert_eq!(classify_bootout(Some(0), "", ""), BootoutOutcome::Ok);
        assert_eq!(
            classify_bootout(Some(3), "", "Boot-out failed: 3: No such process\n"),
            BootoutOutcome::NotLoaded
        );
        assert_eq!(
            classify_bootout(Some(113), "", KICKSTART_NOT_FOUND),
            BootoutOutcome::NotLoaded
        );
        assert_eq!(
            classify_bootout(
                Some(36),
                "",
                "Boot-out failed: 36: Operation now in progress\n"
            ),
            BootoutOutcome::InProgress
        );
        insta::assert_debug_snapshot!(classify_bootout(Some(64), "", BOOTOUT_USAGE));
    }

    #[test]
    fn bootout_113_with_the_not_found_text_on_either_stream_is_not_loaded() {
        // The real texts, on stderr as captured and on stdout as reported (as for `print`).
        for text in [NOT_FOUND, KICKSTART_NOT_FOUND] {
            assert_eq!(
                classify_bootout(Some(113), "", text),
                BootoutOutcome::NotLoaded
            );
            assert_eq!(
                classify_bootout(Some(113), text, ""),
                BootoutOutcome::NotLoaded
            );
            assert_eq!(
                classify_bootout(Some(113), text, "\n"),
                BootoutOutcome::NotLoaded
            );
        }
        // Other text with 113 is a failure that quotes what was said, on whichever stream.
        assert_eq!(
            classify_bootout(Some(113), "Bad request.\n", ""),
            BootoutOutcome::Other {
                code: Some(113),
                message: "Bad request.".to_owned()
            }
        );
        assert_eq!(
            classify_bootout(Some(113), "ignored\n", "Boot-out failed: 113: Unknown\n"),
            BootoutOutcome::Other {
                code: Some(113),
                message: "Boot-out failed: 113: Unknown".to_owned()
            }
        );
    }

    #[test]
    fn print_disabled_reads_the_ventura_spelling() {
        let map = parse_print_disabled(DISABLED_VENTURA);
        assert_eq!(map.get("com.apple.Siri.agent"), Some(&true));
        assert_eq!(map.get("ai.rundesk.gateway"), Some(&false));
        assert_eq!(map.len(), 2);
        insta::assert_debug_snapshot!(map, @r#"
        {
            "ai.rundesk.gateway": false,
            "com.apple.Siri.agent": true,
        }
        "#);
    }

    #[test]
    fn print_disabled_reads_the_pre_ventura_spelling_and_skips_login_items() {
        let map = parse_print_disabled(DISABLED_PRE_VENTURA);
        insta::assert_debug_snapshot!(map, @r#"
        {
            "com.apple.ManagedClientAgent.enrollagent": true,
            "com.docker.helper": false,
        }
        "#);
    }

    #[test]
    fn print_disabled_of_garbage_is_empty() {
        assert!(parse_print_disabled("").is_empty());
        assert!(parse_print_disabled(NOT_FOUND).is_empty());
        assert!(parse_print_disabled("disabled services = {\n\"\" => true\nx => y\n").is_empty());
    }

    proptest! {
        #[test]
        fn classifiers_never_panic(status in proptest::option::of(proptest::num::i32::ANY), stdout in "\\PC*", stderr in "\\PC*") {
            let _ = parse_print(&target("com.ollama"), status, &stdout, &stderr);
            let _ = classify_bootstrap(status, &stderr);
            let _ = classify_bootout(status, &stdout, &stderr);
            let _ = parse_print_disabled(&stdout);
        }

        #[test]
        fn print_disabled_never_panics_on_block_like_strings(text in "((\t?disabled services = \\{|\t\t\"[a-z.]{0,5}\"? => (true|false|enabled|disabled|x)|\\}|\\.\\.\\.)\n){0,8}") {
            let _ = parse_print_disabled(&text);
        }
    }
}
