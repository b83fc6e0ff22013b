//! `ssollama verify` end to end: the real binary against a simulated Mac whose launchd really
//! runs the fake Ollama. A converged server is set up by hand (plist written, bootstrapped
//! through the fake `launchctl`, models seeded); each failing check is then provoked once.
//!
//! Every server binds a 127.0.0.X of its sandbox on a port that is also free on 127.0.0.1, so
//! the "loopback refuses" check probes a port nobody else uses.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use simmac::Sandbox;
use simmac::ollama::seed;

/// A port free on both 127.0.0.1 and `host`.
pub(crate) fn free_port(host: Ipv4Addr) -> u16 {
    for _ in 0..50 {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if TcpListener::bind((host, port)).is_ok() {
            return port;
        }
    }
    panic!("no port free on both 127.0.0.1 and {host}");
}

/// The uid ssollama will use: the machine's, via `SUDO_UID` when the tests run as root.
pub(crate) fn align_uid(sb: &Sandbox) {
    let real = rustix::process::getuid().as_raw();
    if real != 0 {
        sb.update_machine(|m| m.uid = real);
    }
}

/// `ssollama <args>` in the sandbox.
pub(crate) fn ssollama(sb: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = sb.command(env!("CARGO_BIN_EXE_ssollama"));
    if rustix::process::getuid().as_raw() == 0 {
        cmd.env("SUDO_UID", sb.machine().uid.to_string());
    }
    cmd.args(args).output().unwrap()
}

/// A converged server: `server.toml` in the sandbox root, its plist written by ssollama's own
/// renderer and bootstrapped, the declared models installed.
pub(crate) struct Server {
    pub(crate) sb: Sandbox,
    pub(crate) host: Ipv4Addr,
    pub(crate) port: u16,
    pub(crate) config: PathBuf,
}

impl Server {
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["-c", self.config.to_str().unwrap()];
        all.extend(args);
        ssollama(&self.sb, &all)
    }

    /// Exit code, stdout and stderr, with the sandbox path, address, port and pids filtered.
    pub(crate) fn shown(&self, out: &Output) -> String {
        let text = format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        filter(&text, &self.sb, self.host, self.port)
    }
}

pub(crate) fn filter(text: &str, sb: &Sandbox, host: Ipv4Addr, port: u16) -> String {
    let mut text = text.replace(&sb.root().display().to_string(), "[SANDBOX]");
    // One sandbox address per text (127.0.0.X, X >= 2), so a plain replace is exact enough.
    text = text.replace(&host.to_string(), "[HOST]");
    for (from, to) in [
        (format!(":{port}"), ":[PORT]"),
        (format!("port {port}"), "port [PORT]"),
        (format!("port = {port}"), "port = [PORT]"),
    ] {
        text = text.replace(&from, to);
    }
    text = regex_lite_pid(&text);
    // Anthropic request ids: `req_` and 24 hex characters.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("req_") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 24 {
            out.push_str("[ID]");
            rest = &rest[hex..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the number after `pid ` by `[PID]` (no regex crate in the tests).
fn regex_lite_pid(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("pid ") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[PID]");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub(crate) fn listening(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
}

/// Writes `text` as the agent plist of `label`, owned by the machine user, and bootstraps it.
pub(crate) fn bootstrap(sb: &Sandbox, label: &str, text: &str) -> PathBuf {
    let path = sb.agents_dir().join(format!("{label}.plist"));
    std::fs::write(&path, text).unwrap();
    if rustix::process::getuid().as_raw() == 0 {
        std::os::unix::fs::chown(&path, Some(sb.machine().uid), None).unwrap();
    }
    let domain = format!("gui/{}", sb.machine().uid);
    let out = sb.launchctl(&["bootstrap", &domain, path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "bootstrap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// `server.toml` of a converged server on `host:port`; `extra` is appended.
fn server_toml(sb: &Sandbox, host: Ipv4Addr, port: u16, extra: &str) -> String {
    let logs = sb.root().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    format!(
        "[listen]\nhost = \"{host}\"\nport = {port}\n\n[logs]\nstdout = \"{}\"\nstderr = \"{}\"\n\n[ollama]\nkeep_alive = -1\n\n[[models]]\nname = \"llama3.2\"\nwarm = true\n{extra}",
        logs.join("ollama.stdout.log").display(),
        logs.join("ollama.stderr.log").display(),
    )
}

/// Sets up a converged server; `on_loopback`: the job really gets `OLLAMA_HOST=127.0.0.1:<port>`.
pub(crate) fn converged(on_loopback: bool) -> Server {
    let sb = Sandbox::new();
    align_uid(&sb);
    let host = sb.loopback();
    let port = free_port(host);
    seed::set_loopback(&sb.mac_dir(), host.into()).unwrap();
    seed::install_model(&sb.mac_dir(), "llama3.2").unwrap();
    let toml = server_toml(&sb, host, port, "");
    let config = sb.root().join("server.toml");
    std::fs::write(&config, &toml).unwrap();
    let desired = ssollama::config::parse("server.toml", &toml)
        .unwrap()
        .desired;
    let mut plist = ssollama::launchd::plist::desired_plist_xml(&desired, &sb.ollama_path());
    let mut listen = SocketAddr::from((host, port));
    if on_loopback {
        listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        plist = plist.replace(&format!("{host}:{port}"), &listen.to_string());
    }
    bootstrap(&sb, "com.ollama", &plist);
    wait_until("the server listens", || listening(listen));
    Server {
        sb,
        host,
        port,
        config,
    }
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn failed_ids(out: &Output) -> Vec<String> {
    json(out)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A stray `ollama serve` (not launchd's) on `addr`.
fn stray_server(sb: &Sandbox, addr: SocketAddr) -> Child {
    let child = sb
        .command(sb.ollama_path())
        .arg("serve")
        .env("OLLAMA_HOST", addr.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the stray server listens", || listening(addr));
    child
}

#[test]
fn verify_passes_on_a_converged_server_and_writes_junit() {
    let server = converged(false);
    let junit = server.sb.root().join("verify.xml");
    let out = server.run(&["verify", "--junit", junit.to_str().unwrap()]);
    insta::assert_snapshot!(server.shown(&out));
    assert_eq!(out.status.code(), Some(0));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("tests=\"27\" failures=\"0\" errors=\"0\" skipped=\"2\""),
        "{xml}"
    );
    // Read-only: verify changes nothing on the Mac.
    let mutating: Vec<String> = server
        .sb
        .mutating_calls()
        .iter()
        .map(simmac::journal::Call::summary)
        .filter(|c| !c.starts_with("launchctl bootstrap"))
        .collect();
    assert_eq!(mutating, Vec::<String>::new());
}

#[test]
fn each_fault_fails_the_check_about_it() {
    let server = converged(false);
    let mac = server.sb.mac_dir();
    let run = || server.run(&["verify", "--json"]);
    let out = run();
    assert_eq!(
        failed_ids(&out),
        Vec::<String>::new(),
        "{}",
        server.shown(&out)
    );
    assert_eq!(json(&out)["summary"]["passed"], 25);

    server.sb.set_fault("job-user", "root");
    let out = run();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(failed_ids(&out), ["security.process_user"]);
    server.sb.clear_fault("job-user");

    let mut config = simmac::ollama::state::config(&mac).unwrap();
    config.anthropic_errors = true;
    seed::set_config(&mac, &config).unwrap();
    let out = run();
    assert_eq!(
        failed_ids(&out),
        [
            "anthropic.messages",
            "anthropic.stream",
            "anthropic.system",
            "anthropic.multi_turn",
            "anthropic.stream_usage"
        ],
        "{}",
        server.shown(&out)
    );
    config.anthropic_errors = false;
    seed::set_config(&mac, &config).unwrap();

    seed::remove_model(&mac, "llama3.2").unwrap();
    let out = server.run(&["verify"]);
    insta::assert_snapshot!("model_missing", server.shown(&out));
    seed::install_model(&mac, "llama3.2").unwrap();

    let stray = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let mut child = stray_server(&server.sb, stray);
    let out = run();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        failed_ids(&out),
        ["network.loopback"],
        "{}",
        server.shown(&out)
    );

    let out = server.run(&[
        "verify",
        "--json",
        "--skip-model-tests",
        "--skip-anthropic-tests",
    ]);
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(doc["summary"]["skipped"], 2 + 6 + 6);
}

#[test]
fn verify_fails_when_the_server_binds_another_address() {
    // server.toml declares 127.0.0.X; the job was loaded with 127.0.0.1.
    let server = converged(true);
    let out = server.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(server.shown(&out));
}

fn check<'d>(doc: &'d serde_json::Value, id: &str) -> &'d serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[test]
fn network_checks_read_networksetup_and_ping_the_router() {
    use simmac::network::{Lease, NetConfig, Service};
    let server = converged(false);
    let mut toml = std::fs::read_to_string(&server.config).unwrap();
    toml.push_str(
        "\n[network]\nservice = \"Ethernet\"\naddress = \"192.168.1.50\"\nsubnet_mask = \"255.255.255.0\"\nrouter = \"192.168.1.1\"\n",
    );
    std::fs::write(&server.config, toml).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["verify", "--json", "--skip-model-tests"];
        args.extend(extra);
        json(&server.run(&args))
    };
    // The sandbox's Ethernet is on DHCP (192.168.1.23).
    let doc = run(&[]);
    let static_ip = check(&doc, "network.static_ip");
    assert_eq!(static_ip["status"], "fail");
    assert_eq!(
        static_ip["received"],
        "DHCP 192.168.1.23 mask 255.255.255.0 router 192.168.1.1"
    );
    assert_eq!(check(&doc, "network.router")["status"], "pass");

    server.sb.set_network_services(vec![Service::new(
        "Ethernet",
        true,
        NetConfig::Manual(Lease::new("192.168.1.50", "255.255.255.0", "192.168.1.1")),
    )]);
    let doc = run(&["--skip-router"]);
    assert_eq!(check(&doc, "network.static_ip")["status"], "pass");
    let router = check(&doc, "network.router");
    assert_eq!(router["status"], "skip");
    assert_eq!(router["hint"], "run without --skip-router");
    // ping went through the tool dir only when asked for.
    let pings = server
        .sb
        .journal()
        .iter()
        .filter(|c| c.summary().starts_with("ping "))
        .count();
    assert_eq!(pings, 1);
}

#[test]
fn verbose_shows_each_request_and_reply() {
    let server = converged(false);
    let out = server.run(&["verify", "-v", "--skip-anthropic-tests"]);
    assert_eq!(out.status.code(), Some(0));
    let text = server.shown(&out);
    assert!(
        text.contains("          > POST http://[HOST]:[PORT]/v1/chat/completions\n"),
        "{text}"
    );
    assert!(
        text.contains("          < 200 text/event-stream ("),
        "{text}"
    );
    assert!(
        text.contains("          expected: HTTP 200 `Ollama is running`\n"),
        "{text}"
    );
}
