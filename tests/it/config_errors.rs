//! `server.toml` diagnostics, the committed JSON Schema, and the shipped example files.
//!
//! Each `cases/config/*.toml` is a bad file; its snapshot is the report a user sees (no color,
//! 80 columns), so the labels' lines and columns are reviewed with the text.

use std::path::Path;

use ssollama::WarningKind;

fn manifest_path(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(manifest_path(relative)).unwrap()
}

/// The errors and then the warnings of a file that does not validate.
fn report(text: &str) -> String {
    let errors =
        ssollama::parse_config("server.toml", text).expect_err("the case must not validate");
    let mut out = ssollama::render_plain(&errors, 80);
    for warning in &errors.warnings {
        out.push_str(&ssollama::render_plain(warning, 80));
    }
    out
}

#[test]
fn bad_files_get_one_labelled_diagnostic_per_problem() {
    insta::glob!("cases/config/*.toml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        insta::assert_snapshot!(report(&text));
    });
}

#[test]
fn several_problems_are_reported_together_in_file_order() {
    let errors = ssollama::parse_config(
        "server.toml",
        &read("tests/it/cases/config/several_errors.toml"),
    )
    .unwrap_err();
    assert_eq!(errors.to_string(), "server.toml has 8 errors");
    let offsets: Vec<usize> = errors
        .errors
        .iter()
        .map(ssollama::ConfigError::offset)
        .collect();
    assert!(offsets.is_sorted(), "{offsets:?}");
}

#[test]
fn schema_file_matches_the_raw_config() {
    let committed = read("schema/server.schema.json");
    let fresh = ssollama::schema_json();
    if committed != fresh {
        let diff = similar::TextDiff::from_lines(&committed, &fresh)
            .unified_diff()
            .context_radius(3)
            .header(
                "schema/server.schema.json (committed)",
                "schema_json() (fresh)",
            )
            .to_string();
        panic!(
            "schema/server.schema.json is out of date:\n{diff}\nregenerate it with:\n    cargo run -- schema > schema/server.schema.json"
        );
    }
}

#[test]
fn example_file_validates_without_warnings() {
    let loaded =
        ssollama::parse_config("server.toml.example", &read("server.toml.example")).unwrap();
    assert!(loaded.warnings.is_empty());
    let desired = loaded.desired;
    assert_eq!(desired.listen.ollama_host(), "192.168.250.20:11434");
    let network = desired.network.unwrap();
    assert_eq!(network.service, "Ethernet");
    assert_eq!(network.dns.unwrap().len(), 2);
    assert_eq!(desired.models.len(), 2);
    assert!(desired.models[0].warm);
    assert_eq!(desired.models[1].name.display(), "llama3.2:latest");
    let env = desired.ollama.environment();
    assert_eq!(env["OLLAMA_KEEP_ALIVE"], "24h");
    assert_eq!(env["OLLAMA_CONTEXT_LENGTH"], "32000");
    assert_eq!(env["OLLAMA_FLASH_ATTENTION"], "1");
}

#[test]
fn starter_validates_without_warnings() {
    let loaded = ssollama::parse_config("server.toml", ssollama::STARTER).unwrap();
    assert!(loaded.warnings.is_empty());
    assert!(ssollama::STARTER.starts_with("#:schema ./server.schema.json\n"));
}

#[test]
fn minimal_file_takes_the_defaults() {
    let desired = ssollama::parse_config("server.toml", "[listen]\nhost = \"127.0.0.1\"\n")
        .unwrap()
        .desired;
    insta::assert_json_snapshot!(desired, @r#"
    {
      "service": {
        "label": "com.ollama",
        "mode": {
          "mode": "agent"
        },
        "program": null,
        "process_type": "interactive"
      },
      "listen": {
        "host": "127.0.0.1",
        "port": 11434
      },
      "network": null,
      "logs": {
        "stdout": "/tmp/ollama.stdout.log",
        "stderr": "/tmp/ollama.stderr.log"
      },
      "ollama": {
        "keep_alive": null,
        "context_length": null,
        "flash_attention": null,
        "kv_cache_type": null,
        "num_parallel": null,
        "max_loaded_models": null,
        "max_queue": null,
        "debug": null,
        "origins": null,
        "models_dir": null,
        "load_timeout": null,
        "no_prune": null,
        "extra_env": {}
      },
      "model_policy": {
        "prune": false
      },
      "models": []
    }
    "#);
}

#[test]
fn durations_keep_their_text_and_negative_means_forever() {
    let text =
        "[listen]\nhost = \"127.0.0.1\"\n[ollama]\nkeep_alive = -1\nload_timeout = \"1h30m\"\n";
    let ollama = ssollama::parse_config("server.toml", text)
        .unwrap()
        .desired
        .ollama;
    let keep_alive = ollama.keep_alive.unwrap();
    assert_eq!((keep_alive.text.as_str(), keep_alive.nanos), ("-1", None));
    let load_timeout = ollama.load_timeout.unwrap();
    assert_eq!(load_timeout.text, "1h30m");
    assert_eq!(load_timeout.nanos, Some(5_400_000_000_000));
}

#[test]
fn daemon_with_user_and_ipv6_host_validate() {
    let text =
        "[service]\nmode = \"daemon\"\nuser = \"_ollama\"\n[listen]\nhost = \"::1\"\nport = 8080\n";
    let desired = ssollama::parse_config("server.toml", text).unwrap().desired;
    assert_eq!(desired.listen.ollama_host(), "[::1]:8080");
    assert_eq!(
        desired.service.mode,
        ssollama::Mode::Daemon {
            user: "_ollama".to_owned()
        }
    );
}

const RISKY: &str = r#"[listen]
host = "0.0.0.0"

[network]
service = "Ethernet"
address = "192.168.250.20"
subnet_mask = "255.255.255.0"
router = "192.168.250.1"

[ollama]
kv_cache_type = "q4_0"
origins = ["http://192.168.250.30:3000", "*"]
"#;

#[test]
fn risky_settings_validate_with_warnings() {
    let loaded = ssollama::parse_config("server.toml", RISKY).unwrap();
    let kinds: Vec<WarningKind> = loaded.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(
        kinds,
        [
            WarningKind::AllInterfaces,
            WarningKind::KvCacheWithoutFlashAttention,
            WarningKind::WildcardOrigin
        ]
    );
    let rendered: String = loaded
        .warnings
        .iter()
        .map(|w| ssollama::render_plain(w, 80))
        .collect();
    insta::assert_snapshot!(rendered);
}

#[test]
fn host_other_than_the_static_address_is_warned() {
    let text = RISKY
        .replace("0.0.0.0", "192.168.250.21")
        .replace(
            "kv_cache_type = \"q4_0\"",
            "kv_cache_type = \"q8_0\"\nflash_attention = true",
        )
        .replace(", \"*\"", "");
    let loaded = ssollama::parse_config("server.toml", &text).unwrap();
    let kinds: Vec<WarningKind> = loaded.warnings.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, [WarningKind::HostNotNetworkAddress]);
    insta::assert_snapshot!(ssollama::render_plain(&loaded.warnings[0], 80));
}

#[test]
fn loopback_host_with_a_static_address_is_not_warned() {
    let text = RISKY
        .replace("0.0.0.0", "127.0.0.1")
        .replace("kv_cache_type = \"q4_0\"", "kv_cache_type = \"f16\"")
        .replace(", \"*\"", "");
    assert!(
        ssollama::parse_config("server.toml", &text)
            .unwrap()
            .warnings
            .is_empty()
    );
}

/// The example with line `line` replaced by `junk`: mostly valid, so validation runs deep.
fn mutated_example(line: usize, junk: &str) -> String {
    let example = read("server.toml.example");
    let mut lines: Vec<&str> = example.lines().collect();
    let line = line % lines.len();
    lines[line] = junk;
    lines.join("\n")
}

/// Either a `Desired`, or at least one error whose report renders.
fn assert_total(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
    match ssollama::parse_config("server.toml", text) {
        Ok(_) => {}
        Err(errors) => {
            proptest::prop_assert!(!errors.errors.is_empty());
            proptest::prop_assert!(ssollama::render_plain(&errors, 80).contains("server.toml has"));
        }
    }
    Ok(())
}

proptest::proptest! {
    #[test]
    fn any_text_gets_a_result_or_errors_never_a_panic(text in "\\PC{0,200}") {
        assert_total(&text)?;
    }

    #[test]
    fn any_damaged_example_line_gets_a_result_or_errors(
        line in 0usize..200,
        junk in "[a-z_\\[\\]\"=. 0-9:/-]{0,30}",
    ) {
        assert_total(&mutated_example(line, &junk))?;
    }
}

#[test]
fn a_table_given_as_a_value_is_a_wrong_type() {
    let errors = ssollama::parse_config("server.toml", "listen = 5\n").unwrap_err();
    insta::assert_snapshot!(ssollama::render_plain(&errors.errors[0], 80), @r"
    ssollama::config::wrong_type

      × wrong type for `listen`: invalid type: integer `5`, expected a table
       ╭─[server.toml:1:10]
     1 │ listen = 5
       ·          ┬
       ·          ╰── wrong type
       ╰────
      help: see schema/server.schema.json or specs/server-toml.md for the type of
            `listen`
    ");
}
