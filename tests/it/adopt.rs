//! `ssollama init --from-machine` end to end: a hand-made install (plist written and
//! bootstrapped as the seed's `install.sh` does, models pulled, one loaded) is adopted in one
//! command, and `plan` right after shows no changes — or, for the seed's literal plist, exactly
//! the normalizations the adoption noted.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use simmac::ollama::seed;

use super::support::{Mac, Run, listening, wait_until};

/// A seed-style agent plist for `label` (4-space indentation, as `install.sh` writes it).
fn seed_plist(
    program: &Path,
    host: &str,
    logs: &Path,
    extra_env: &str,
    extra_keys: &str,
) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key>
    <string>com.ollama</string>
    <key>ProgramArguments</key>
    <array>
        <string>{program}</string>
        <string>serve</string>
    </array>
    <key>EnvironmentVariables</key>
    <dict>
        <key>OLLAMA_HOST</key>
        <string>{host}</string>{extra_env}
        <!-- Optional CORS configuration (uncomment if needed):
        <key>OLLAMA_ORIGINS</key>
        <string>*</string>
        -->
    </dict>
    <key>KeepAlive</key>
    <true/>
    <key>RunAtLoad</key>
    <true/>{extra_keys}
    <key>StandardOutPath</key>
    <string>{stdout}</string>
    <key>StandardErrorPath</key>
    <string>{stderr}</string>
</dict>
</plist>
"#,
        program = program.display(),
        stdout = logs.join("ollama.stdout.log").display(),
        stderr = logs.join("ollama.stderr.log").display(),
    )
}

/// `ssollama -c server.toml init --from-machine <extra>` in the sandbox root.
fn init_from_machine(mac: &Mac, extra: &[&str]) -> Run {
    let mut args = vec!["-c", "server.toml", "init", "--from-machine"];
    args.extend(extra);
    mac.ssollama(&args)
}

/// The seed's install on `mac`: two models pulled, the plist written and bootstrapped with
/// `OLLAMA_HOST=<host>`, `llama3.2` loaded for good.
fn installed(mac: &Mac, host: &str, extra_env: &str, extra_keys: &str) {
    let dir = mac.sb.mac_dir();
    seed::install_model(&dir, "llama3.2").unwrap();
    seed::install_model(&dir, "nomic-embed-text").unwrap();
    let logs = mac.logs_dir();
    std::fs::create_dir_all(&logs).unwrap();
    let plist = seed_plist(&mac.sb.ollama_path(), host, &logs, extra_env, extra_keys);
    mac.bootstrap("com.ollama", &plist);
    let addr: SocketAddr = if host.contains(':') {
        host.parse().unwrap()
    } else {
        SocketAddr::from((host.parse::<Ipv4Addr>().unwrap(), 11434))
    };
    wait_until("the server listens", || listening(addr));
    super::support::load(addr, "llama3.2", "-1");
}

#[test]
fn adopting_an_install_in_ssollamas_shape_plans_no_changes() {
    let mac = Mac::served();
    let (host, port) = (mac.host, mac.port);
    installed(
        &mac,
        &format!("{host}:{port}"),
        "\n        <key>OLLAMA_KEEP_ALIVE</key>\n        <string>24h</string>\n        <key>OLLAMA_NOHISTORY</key>\n        <string>1</string>",
        "\n    <key>ProcessType</key>\n    <string>Interactive</string>",
    );
    // A static address on Ethernet, as set by hand (System Settings) or by the seed.
    let mut ethernet = simmac::network::Service::new(
        "Ethernet",
        true,
        simmac::network::NetConfig::Manual(simmac::network::Lease::new(
            "192.168.1.50",
            "255.255.255.0",
            "192.168.1.1",
        )),
    );
    ethernet.dns = vec!["192.168.1.1".to_owned(), "1.1.1.1".to_owned()];
    mac.sb.set_network_services(vec![ethernet]);
    let out = init_from_machine(&mac, &["--network-service", "Ethernet"]);
    assert_eq!(out.code, Some(0), "{}", mac.shown(&out));
    let toml = std::fs::read_to_string(mac.sb.root().join("server.toml")).unwrap();
    insta::assert_snapshot!(mac.normalize(&toml));
    assert!(ssollama::parse_config("server.toml", &toml).is_ok());

    let plan = mac.ssollama(&["-c", "server.toml", "plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(0), "{}", mac.shown(&plan));
    // Followed by the warm model's budget (`specs/capacity.md`).
    assert!(
        plan.stdout
            .starts_with("No changes. This Mac matches server.toml.\n\nCapacity: "),
        "{}",
        plan.stdout
    );

    // Refuses to overwrite, like `init`.
    let again = init_from_machine(&mac, &[]);
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("already exists"));
}

#[test]
fn adopting_the_seed_plist_notes_what_plan_will_normalize() {
    // The seed writes the bare address: Ollama then listens on 11434 (free on the sandbox's
    // loopback address).
    let mac = Mac::served().on_port(11434);
    let host = mac.host;
    installed(&mac, &host.to_string(), "", "");
    let out = init_from_machine(&mac, &[]);
    insta::assert_snapshot!("seed_init", mac.shown(&out));
    let toml = std::fs::read_to_string(mac.sb.root().join("server.toml")).unwrap();
    insta::assert_snapshot!("seed_server_toml", mac.normalize(&toml));
    let plan = mac.ssollama(&["-c", "server.toml", "plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, Some(0), "{}", mac.shown(&plan));
    // Followed by the warm model's budget (`specs/capacity.md`).
    assert!(
        plan.stdout
            .starts_with("No changes. This Mac matches server.toml.\n\nCapacity: "),
        "{}",
        plan.stdout
    );
}

#[test]
fn without_a_job_there_is_nothing_to_adopt() {
    let mac = Mac::served();
    let out = init_from_machine(&mac, &["--label", "com.example.none"]);
    assert_eq!(out.code, Some(1));
    let stderr = out.stderr;
    assert!(
        stderr.contains("there is no job `com.example.none` to adopt"),
        "{stderr}"
    );
    assert!(!mac.sb.root().join("server.toml").exists());
}

#[test]
fn a_network_service_on_dhcp_is_not_adopted() {
    let mac = Mac::served();
    let (host, port) = (mac.host, mac.port);
    installed(&mac, &format!("{host}:{port}"), "", "");
    let out = init_from_machine(&mac, &["--network-service", "Ethernet"]);
    assert_eq!(out.code, Some(1), "{}", mac.shown(&out));
    let stderr = out.stderr;
    assert!(
        stderr.contains("has no complete manual IPv4 configuration"),
        "{stderr}"
    );
    assert!(!mac.sb.root().join("server.toml").exists());
}
