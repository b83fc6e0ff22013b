//! `ssollama init --from-machine` end to end: a hand-made install (plist written and
//! bootstrapped as the seed's `install.sh` does, models pulled, one loaded) is adopted in one
//! command, and `plan` right after shows no changes — or, for the seed's literal plist, exactly
//! the normalizations the adoption noted.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use simmac::Sandbox;
use simmac::ollama::seed;

use super::verify::{bootstrap, filter, free_port, listening, ssollama};

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

/// `POST /api/generate` with an empty prompt: loads `model` for `keep_alive`.
pub(crate) fn load(addr: SocketAddr, model: &str, keep_alive: &str) {
    let body = format!(r#"{{"model":"{model}","prompt":"","keep_alive":{keep_alive}}}"#);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/generate HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

fn installed(sb: &Sandbox, host: &str, extra_env: &str, extra_keys: &str) -> SocketAddr {
    let mac = sb.mac_dir();
    seed::install_model(&mac, "llama3.2").unwrap();
    seed::install_model(&mac, "nomic-embed-text").unwrap();
    let logs = sb.root().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let plist = seed_plist(&sb.ollama_path(), host, &logs, extra_env, extra_keys);
    bootstrap(sb, "com.ollama", &plist);
    let addr: SocketAddr = if host.contains(':') {
        host.parse().unwrap()
    } else {
        SocketAddr::from((host.parse::<Ipv4Addr>().unwrap(), 11434))
    };
    let start = std::time::Instant::now();
    while !listening(addr) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the server never listened"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    load(addr, "llama3.2", "-1");
    addr
}

fn shown(sb: &Sandbox, addr: SocketAddr, out: &Output) -> String {
    let text = format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(host) = (match addr.ip() {
        std::net::IpAddr::V4(v4) => Some(v4),
        std::net::IpAddr::V6(_) => None,
    }) else {
        return text;
    };
    filter(&text, sb, host, addr.port())
}

#[test]
fn adopting_an_install_in_ssollamas_shape_plans_no_changes() {
    let sb = Sandbox::new();
    super::verify::align_uid(&sb);
    let host = sb.loopback();
    let port = free_port(host);
    let addr = installed(
        &sb,
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
    sb.set_network_services(vec![ethernet]);
    let out = ssollama(
        &sb,
        &[
            "-c",
            "server.toml",
            "init",
            "--from-machine",
            "--network-service",
            "Ethernet",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&sb, addr, &out));
    let toml = std::fs::read_to_string(sb.root().join("server.toml")).unwrap();
    insta::assert_snapshot!(filter(&toml, &sb, host, port));
    assert!(ssollama::config::parse("server.toml", &toml).is_ok());

    let plan = ssollama(&sb, &["-c", "server.toml", "plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", shown(&sb, addr, &plan));
    assert_eq!(
        String::from_utf8_lossy(&plan.stdout),
        "No changes. This Mac matches server.toml.\n"
    );

    // Refuses to overwrite, like `init`.
    let again = ssollama(&sb, &["-c", "server.toml", "init", "--from-machine"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn adopting_the_seed_plist_notes_what_plan_will_normalize() {
    let sb = Sandbox::new();
    super::verify::align_uid(&sb);
    let host = sb.loopback();
    // The seed writes the bare address: Ollama then listens on 11434 (free on the sandbox's
    // loopback address).
    let addr = installed(&sb, &host.to_string(), "", "");
    let out = ssollama(&sb, &["-c", "server.toml", "init", "--from-machine"]);
    insta::assert_snapshot!("seed_init", shown(&sb, addr, &out));
    let toml = std::fs::read_to_string(sb.root().join("server.toml")).unwrap();
    insta::assert_snapshot!("seed_server_toml", filter(&toml, &sb, host, 11434));
    let plan = ssollama(&sb, &["-c", "server.toml", "plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", shown(&sb, addr, &plan));
    assert_eq!(
        String::from_utf8_lossy(&plan.stdout),
        "No changes. This Mac matches server.toml.\n"
    );
}

#[test]
fn without_a_job_there_is_nothing_to_adopt() {
    let sb = Sandbox::new();
    super::verify::align_uid(&sb);
    let out = ssollama(
        &sb,
        &[
            "-c",
            "server.toml",
            "init",
            "--from-machine",
            "--label",
            "com.example.none",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("there is no job `com.example.none` to adopt"),
        "{stderr}"
    );
    assert!(!sb.root().join("server.toml").exists());
}

#[test]
fn a_network_service_on_dhcp_is_not_adopted() {
    let sb = Sandbox::new();
    super::verify::align_uid(&sb);
    let host = sb.loopback();
    let port = free_port(host);
    let addr = installed(&sb, &format!("{host}:{port}"), "", "");
    let out = ssollama(
        &sb,
        &[
            "-c",
            "server.toml",
            "init",
            "--from-machine",
            "--network-service",
            "Ethernet",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", shown(&sb, addr, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("has no complete manual IPv4 configuration"),
        "{stderr}"
    );
    assert!(!sb.root().join("server.toml").exists());
}
