//! The command line through the real binary: help text, exit codes, `validate`, `schema`, `init`.

use std::path::Path;
use std::process::Command;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn ssollama(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ssollama"))
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env("HOME", dir)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A listener where a new server.toml (`[listen]` on it, then `rest`) says Ollama is: a verb
/// that probed the server would connect.
fn unprobed_server(rest: &str) -> (std::net::TcpListener, tempfile::TempDir, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("server.toml"),
        format!("[listen]\nhost = \"127.0.0.1\"\nport = {port}\n{rest}"),
    )
    .unwrap();
    (listener, dir, port)
}

/// Nothing connected to the listener of [`unprobed_server`].
fn assert_never_connected(listener: &std::net::TcpListener) {
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn help_lists_every_verb() {
    let run = ssollama(root(), &["--help"]);
    assert_eq!(run.code, Some(0));
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn usage_errors_exit_1_so_that_2_keeps_meaning_changes() {
    let run = ssollama(root(), &["plan", "--no-such-flag"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
}

#[test]
fn validate_accepts_the_example_and_says_so() {
    let run = ssollama(root(), &["-c", "server.toml.example", "validate"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "`server.toml.example` is valid\n");
}

#[test]
fn validate_reports_every_error_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("server.toml"),
        "[listen]\nhost = \"10.0.0.300\"\nport = 0\n[logs]\nstdout = \"relative.log\"\n",
    )
    .unwrap();
    let run = ssollama(dir.path(), &["validate"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("has 3 errors"), "{}", run.stderr);
    for key in ["listen.host", "listen.port", "logs.stdout"] {
        assert!(
            run.stderr.contains(key),
            "{key} missing from:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_missing_config_says_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    // `--state`: off macOS a live `plan` refuses before it reads anything.
    let run = ssollama(dir.path(), &["plan", "--state", "observed.json"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("`server.toml` does not exist"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ssollama init"), "{}", run.stderr);
}

#[test]
fn schema_prints_the_committed_schema() {
    let run = ssollama(root(), &["schema"]);
    assert_eq!(run.code, Some(0));
    let committed = std::fs::read_to_string(root().join("schema/server.schema.json")).unwrap();
    assert!(
        run.stdout == committed,
        "schema/server.schema.json is stale: run `cargo run -- schema > schema/server.schema.json`\n{}",
        similar::TextDiff::from_lines(&committed, &run.stdout)
            .unified_diff()
            .header("schema/server.schema.json", "ssollama schema")
    );
}

#[test]
fn init_writes_a_valid_starter_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let run = ssollama(dir.path(), &["init"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let written = std::fs::read_to_string(dir.path().join("server.toml")).unwrap();
    assert_eq!(written, ssollama::STARTER);
    assert_eq!(ssollama(dir.path(), &["validate"]).code, Some(0));
    let again = ssollama(dir.path(), &["init"]);
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("server.toml")).unwrap(),
        written,
        "the file was not touched"
    );
}

#[test]
fn plan_state_refuses_another_observation_format() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/state/fresh-mac.json"))
        .unwrap()
        .replacen("\"format\": 1,", "\"format\": 99,", 1);
    std::fs::write(dir.path().join("state.json"), text).unwrap();
    let state = dir.path().join("state.json");
    let run = ssollama(
        root(),
        &[
            "-c",
            "server.toml.example",
            "plan",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("format 99"), "{}", run.stderr);
}

#[test]
fn a_relative_home_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("server.toml"),
        "[listen]\nhost = \"127.0.0.1\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ssollama"))
        .current_dir(dir.path())
        .env_clear()
        .env("NO_COLOR", "1")
        .env("HOME", "relative/home")
        // An empty stand-in tool directory: the HOME check comes before any tool runs.
        .env("SSOLLAMA_TOOL_DIR", dir.path())
        .args(["plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an absolute path"));
}

#[test]
fn warnings_are_shown_even_when_there_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("server.toml"),
        "[listen]\nhost = \"0.0.0.0\"\nport = 0\n",
    )
    .unwrap();
    let run = ssollama(dir.path(), &["validate"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("listen.port"), "{}", run.stderr);
    assert!(run.stderr.contains("every interface"), "{}", run.stderr);
}

#[test]
fn plan_state_reads_a_saved_observation_and_refuses_garbage() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("state.json"),
        "{\"not\": \"an observation\"}",
    )
    .unwrap();
    let run = ssollama(
        root(),
        &[
            "-c",
            "server.toml.example",
            "plan",
            "--state",
            dir.path().join("state.json").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("is not an observation saved by `ssollama observe --json`"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_verb_help_has_examples_and_the_global_options_once() {
    let verbs = [
        "validate",
        "schema",
        "init",
        "observe",
        "plan",
        "check",
        "apply",
        "destroy",
        "warm",
        "verify",
        "status",
        "completions",
        "man",
    ];
    for verb in verbs {
        let run = ssollama(root(), &[verb, "--help"]);
        assert_eq!(run.code, Some(0), "{verb}: {}", run.stderr);
        assert!(
            run.stdout.contains("\nExamples:\n  ssollama "),
            "{verb}:\n{}",
            run.stdout
        );
        assert_eq!(
            run.stdout.matches("Global options:").count(),
            1,
            "{verb}:\n{}",
            run.stdout
        );
        assert!(
            !run.stdout.contains("Possible values:"),
            "{verb}:\n{}",
            run.stdout
        );
    }
    for verb in ["plan", "check", "apply", "verify"] {
        let run = ssollama(root(), &[verb, "--help"]);
        assert!(run.stdout.contains("Exit codes"), "{verb}:\n{}", run.stdout);
    }
    insta::assert_snapshot!(ssollama(root(), &["plan", "--help"]).stdout);
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let run = ssollama(root(), &["completions", shell]);
        assert_eq!(run.code, Some(0), "{shell}: {}", run.stderr);
        for word in [
            "ssollama",
            "plan",
            "apply",
            "detailed-exitcode",
            "take-over",
        ] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    let run = ssollama(root(), &["completions", "tcsh"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
}

#[test]
fn the_man_page_has_every_verb_with_its_options_and_examples() {
    let run = ssollama(root(), &["man"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains(".TH ssollama 1"), "{}", run.stdout);
    for verb in [
        "VALIDATE", "PLAN", "CHECK", "APPLY", "DESTROY", "WARM", "VERIFY", "STATUS",
    ] {
        assert!(
            run.stdout.contains(&format!(".SH \"SSOLLAMA {verb}\"")),
            "{verb} missing"
        );
    }
    assert!(run.stdout.contains("detailed\\-exitcode"));
    assert!(run.stdout.contains("Exit codes"));
    assert!(
        run.stdout
            .contains("ssollama apply \\-\\-yes \\-\\-take\\-over"),
        "{}",
        run.stdout
    );
}

#[cfg(not(target_os = "macos"))]
#[test]
fn off_macos_the_live_verbs_refuse_at_once_and_touch_nothing() {
    let (listener, dir, _) = unprobed_server("");
    let verbs: [&[&str]; 11] = [
        &["observe"],
        &["plan"],
        &["check"],
        &["apply", "--yes"],
        &["destroy", "--yes"],
        &["warm", "llama3"],
        &["verify"],
        &["status"],
        &["init", "--from-machine", "adopted.toml"],
        &["status", "--json"],
        &["plan", "--json"],
    ];
    for args in verbs {
        let run = ssollama(dir.path(), args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("observes a Mac, and this is")
                && run.stderr.contains("nothing was run"),
            "{args:?}: {}",
            run.stderr
        );
        if args.contains(&"--json") {
            let event: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(event["event"], "error");
            assert_eq!(event["format_version"], "1");
            assert_eq!(event["code"], "ssollama::env::not_macos");
        } else {
            assert_eq!(run.stdout, "", "{args:?}");
        }
    }
    // Nothing was written (no lock, no plist, no adopted file) and nothing connected.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["server.toml"]);
    assert_never_connected(&listener);
    // The verbs that read files only still work.
    assert_eq!(ssollama(dir.path(), &["validate"]).code, Some(0));
}

#[test]
fn init_writes_a_schema_line_that_resolves_names_the_file_and_can_print_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let run = ssollama(dir.path(), &["init", "conf/ollama.toml"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "wrote `conf/ollama.toml` (and `server.schema.json` beside it, for editors); edit it, then run `ssollama -c conf/ollama.toml plan`\n"
    );
    let written = std::fs::read_to_string(dir.path().join("conf/ollama.toml")).unwrap();
    // The `#:schema` path is relative to the file, and the schema is there.
    let line = written.lines().next().unwrap();
    let schema = line.strip_prefix("#:schema ").unwrap();
    let beside = dir.path().join("conf").join(schema);
    let text = std::fs::read_to_string(&beside).unwrap();
    assert_eq!(text, ssollama(dir.path(), &["schema"]).stdout);

    let run = ssollama(dir.path(), &["init", "-"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, ssollama::STARTER);
    assert!(
        run.stderr.contains("ssollama schema > server.schema.json"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("-").exists());
}

#[test]
fn file_level_config_errors_say_what_to_do_and_never_echo_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir(p.join("conf")).unwrap();
    std::fs::write(p.join("latin1.toml"), b"[listen]\nhost = \"caf\xe9\"\n").unwrap();
    let mut binary = b"\x7fELF\x02\x01\x01\x00SECRET".to_vec();
    binary.extend(std::iter::repeat_n(0u8, 64));
    std::fs::write(p.join("binary.toml"), &binary).unwrap();
    std::fs::write(p.join("huge.toml"), "# SECRET\n".repeat(200_000)).unwrap();
    std::fs::copy(
        root().join("examples/state/fresh-mac.json"),
        p.join("observed.json"),
    )
    .unwrap();
    let cases: [(&str, &str, &str); 5] = [
        (
            "conf",
            "`conf` is a directory, not a server.toml",
            "-c conf/server.toml",
        ),
        (
            "latin1.toml",
            "`latin1.toml` is not UTF-8: byte 0xe9 at line 2, column 12",
            "save it as UTF-8",
        ),
        (
            "binary.toml",
            "`binary.toml` is a binary file",
            "a text file",
        ),
        (
            "huge.toml",
            "`huge.toml` is 1800000 bytes: too big",
            "a few KB",
        ),
        (
            "observed.json",
            "`observed.json` is an observation saved by `ssollama observe --json`",
            "--state observed.json",
        ),
    ];
    for (file, problem, help) in cases {
        let run = ssollama(p, &["-c", file, "validate"]);
        assert_eq!(run.code, Some(1), "{file}: {}", run.stderr);
        assert!(run.stderr.contains(problem), "{file}: {}", run.stderr);
        assert!(run.stderr.contains(help), "{file}: {}", run.stderr);
        assert!(run.stderr.len() < 1000, "{file} echoed: {}", run.stderr);
        assert!(!run.stderr.contains("SECRET"), "{file}: {}", run.stderr);
    }
}

#[test]
fn an_unreadable_config_says_permission_denied_with_a_help_line() {
    // Root reads anything: read it as another user (this machine and CI run as root).
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.toml");
    std::fs::write(&file, "[listen]\nhost = \"127.0.0.1\"\n").unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_ssollama"))
        .args(["-c", file.to_str().unwrap(), "validate"])
        .env_clear()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot be read: permission denied"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: check its owner and mode"),
        "{stderr}"
    );
}

#[test]
fn quiet_leaves_stdout_to_what_was_asked_for() {
    let mac = super::support::Mac::new();
    let applied = mac.run(&["-q", "apply", "--yes", "--ready-timeout", "10"]);
    applied.success();
    assert_eq!(applied.stdout, "", "apply -q printed a journal");
    assert_eq!(applied.stderr, "", "apply -q printed notes");
    mac.assert_converged();
    // What a verb exists to print stays: the status screen, check's drift lines.
    let status = mac.run(&["-q", "status"]);
    assert!(status.stdout.contains("job"), "{}", status.stdout);
    mac.configure(super::support::MODELS, "num_parallel = 3");
    let check = mac.run(&["-q", "check"]);
    assert_eq!(check.code, Some(2), "{}", check.stderr);
    assert!(check.stdout.starts_with("drift: "), "{}", check.stdout);
    let plan = mac.run(&["-q", "plan"]);
    assert!(plan.stdout.contains("Plan: "), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains("To make these changes"),
        "{}",
        plan.stdout
    );
}

#[test]
fn verify_checks_the_junit_path_before_any_check_runs() {
    let mac = super::support::Mac::new();
    let missing = mac.sb.root().join("no/such/dir/verify.xml");
    let run = mac.run(&["verify", "--junit", missing.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("does not exist; no check"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "checks ran: {}", run.stdout);
    let dir = mac.sb.root().to_str().unwrap().to_owned();
    let run = mac.run(&["verify", "--json", "--junit", &dir]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("is a directory; no check"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["event"], "error");
}

#[test]
fn client_prints_claude_code_and_aider_settings_from_server_toml_alone() {
    let (listener, dir, port) = unprobed_server(
        "\n[[models]]\nname = \"nomic-embed-text\"\nwarm = true\n\n[[models]]\nname = \"qwen3-coder:30b\"\nwarm = true\ncontext_length = 65536\nserve_as = \"coder:64k\"\n",
    );
    let url = format!("http://127.0.0.1:{port}");
    let run = ssollama(dir.path(), &["client", "claude-code"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    let settings: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(settings["env"]["ANTHROPIC_BASE_URL"], url.as_str());
    assert_eq!(
        settings["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"],
        "coder:64k"
    );
    assert_eq!(settings["env"]["CLAUDE_CODE_AUTO_COMPACT_WINDOW"], "65536");

    let run = ssollama(
        dir.path(),
        &[
            "client",
            "claude-code",
            "--format",
            "sh",
            "--url",
            "https://gpu.example/v1",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("export ANTHROPIC_BASE_URL='https://gpu.example'\n"),
        "{}",
        run.stdout
    );

    let run = ssollama(dir.path(), &["client", "aider", "--only", "conf"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "openai-api-base: \"{url}/v1\"\nopenai-api-key: \"ollama\"\nmodel: \"openai/coder:64k\"\n"
        )),
        "{}",
        run.stdout
    );
    let run = ssollama(dir.path(), &["client", "aider", "--only", "metadata"]);
    let metadata: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(metadata["openai/coder:64k"]["max_input_tokens"], 65536);

    // An embedding model is refused, and so is a model server.toml does not declare.
    let run = ssollama(
        dir.path(),
        &["client", "aider", "--model", "nomic-embed-text"],
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("ssollama::client::embedding")
            && run.stderr.contains("is an embedding model"),
        "{}",
        run.stderr
    );
    let run = ssollama(dir.path(), &["client", "claude-code", "--model", "llama3"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("not declared in server.toml") && run.stderr.contains("coder:64k"),
        "{}",
        run.stderr
    );
    // Nothing connected: the verb reads server.toml only.
    assert_never_connected(&listener);
}

#[test]
fn client_refuses_a_server_without_a_chat_model_and_says_which_context_it_assumes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("server.toml"),
        "[listen]\nhost = \"127.0.0.1\"\n[[models]]\nname = \"mxbai-embed-large\"\n",
    )
    .unwrap();
    let run = ssollama(dir.path(), &["client", "claude-code"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("declares no chat model: every declared model is an embedding model"),
        "{}",
        run.stderr
    );
    std::fs::write(
        dir.path().join("server.toml"),
        "[listen]\nhost = \"127.0.0.1\"\n[[models]]\nname = \"llama3.2\"\n",
    )
    .unwrap();
    let run = ssollama(dir.path(), &["client", "claude-code"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("note: the context 4096 is Ollama's default"),
        "{}",
        run.stderr
    );
}
