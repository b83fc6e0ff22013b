//! End to end through the fake launchd: a `LaunchAgent` plist that runs `<bin>/ollama serve` with
//! `OLLAMA_HOST` in `EnvironmentVariables` makes the fake Ollama answer on that address; booting
//! the job out closes the port. Also the `ollama` client commands through the real binary.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "tests write plists and poll sockets directly"
)]

mod ollama_support;

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use simmac::Sandbox;
use simmac::ollama::seed;

const LABEL: &str = "com.example.ssollama.test";

fn plist(program: &str, host: &str, log: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{LABEL}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{program}</string>
		<string>serve</string>
	</array>
	<key>EnvironmentVariables</key>
	<dict>
		<key>OLLAMA_HOST</key>
		<string>{host}</string>
	</dict>
	<key>StandardErrorPath</key>
	<string>{log}</string>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<true/>
</dict>
</plist>
"#
    )
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn open(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
}

/// Writes the agent plist of [`LABEL`] (`ollama serve` with `OLLAMA_HOST=<host>`, stderr to
/// `<root>/ollama.log`) and bootstraps it in gui/501; returns the log path.
#[track_caller]
fn bootstrap(sb: &Sandbox, host: &str) -> PathBuf {
    let path = sb.agents_dir().join(format!("{LABEL}.plist"));
    let log = sb.root().join("ollama.log");
    std::fs::create_dir_all(sb.agents_dir()).unwrap();
    std::fs::write(
        &path,
        plist(
            &sb.ollama_path().display().to_string(),
            host,
            &log.display().to_string(),
        ),
    )
    .unwrap();
    let out = sb.launchctl(&["bootstrap", "gui/501", &path.display().to_string()]);
    assert!(out.status.success(), "bootstrap: {out:?}");
    log
}

/// `launchctl bootout gui/501/<LABEL>`.
fn bootout(sb: &Sandbox) -> Output {
    sb.launchctl(&["bootout", &format!("gui/501/{LABEL}")])
}

/// The `ollama` client with `args`, through the wrapper, with `OLLAMA_HOST=<host>`.
fn client(sb: &Sandbox, host: &str, args: &[&str]) -> Output {
    sb.command(sb.ollama_path())
        .args(args)
        .env("OLLAMA_HOST", host)
        .output()
        .unwrap()
}

/// What `lsof -nP -iTCP:11434 -sTCP:LISTEN` prints.
fn listeners_on_11434(sb: &Sandbox) -> String {
    let lsof = sb.tool("lsof", &["-nP", "-iTCP:11434", "-sTCP:LISTEN"]);
    String::from_utf8_lossy(&lsof.stdout).into_owned()
}

#[test]
fn launchd_job_serves_ollama_on_the_plist_host_until_booted_out() {
    let sb = Sandbox::with_simmac(env!("CARGO_BIN_EXE_simmac"));
    seed::install_model(&sb.mac_dir(), "llama3").unwrap();
    let addr = SocketAddr::from((sb.loopback(), 11434));
    let log = bootstrap(&sb, &addr.to_string());
    wait_until("the fake Ollama listens", || open(addr));
    let r = ollama_support::get(addr, "/api/version");
    assert_eq!(r.text(), r#"{"version":"0.12.6"}"#);
    let r = ollama_support::get(addr, "/api/tags");
    assert_eq!(r.json()["models"][0]["name"], "llama3:latest");
    // The client side, through the wrapper, with the same OLLAMA_HOST.
    let out = client(&sb, &addr.to_string(), &["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ollama version is 0.12.6\n"
    );
    assert!(out.status.success());
    let out = client(&sb, &addr.to_string(), &["list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("NAME             ID              SIZE      MODIFIED"),
        "{out:?}"
    );
    // lsof sees the listener the server registered.
    let lsof = listeners_on_11434(&sb);
    assert!(lsof.contains(&addr.to_string()), "{lsof}");
    let out = bootout(&sb);
    assert!(out.status.success(), "bootout: {out:?}");
    wait_until("the port is closed", || !open(addr));
    let listeners = sb.mac_dir().join("ollama/listeners");
    wait_until("the listener file is gone", || {
        std::fs::read_dir(&listeners).map_or(true, |mut d| d.next().is_none())
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("msg=\"server config\" env=\"map[HTTPS_PROXY: HTTP_PROXY: NO_PROXY: OLLAMA_CONTEXT_LENGTH:4096"),
        "{text}"
    );
    assert!(
        text.contains(&format!("OLLAMA_HOST:http://{addr} ")),
        "{text}"
    );
    assert!(
        text.contains(&format!("msg=\"Listening on {addr} (version 0.12.6)\"")),
        "{text}"
    );
    assert!(text.contains("| GET      \"/api/version\""), "{text}");
}

#[test]
fn a_plist_with_the_wrong_host_leaves_the_expected_address_unreachable() {
    let sb = Sandbox::with_simmac(env!("CARGO_BIN_EXE_simmac"));
    let expected = SocketAddr::from((sb.loopback(), 11434));
    // Default OLLAMA_HOST would be 127.0.0.1:11434: shared with other tests, so use a LAN
    // address this Mac does not have (its Ethernet lease is 192.168.1.23), which the simulated
    // Mac refuses to bind, as a real one would. Nothing is ever bound or sent there.
    let log = bootstrap(&sb, "192.168.77.77:11434");
    wait_until("serve has failed", || {
        std::fs::read_to_string(&log).is_ok_and(|t| {
            t.contains(
                "Error: listen tcp 192.168.77.77:11434: bind: can't assign requested address",
            )
        })
    });
    assert!(!open(expected));
    let out = client(&sb, &expected.to_string(), &["-v"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Warning: could not connect to a running Ollama instance\nWarning: client version is 0.12.6\n"
    );
    let _ = bootout(&sb);
}

#[test]
fn a_wildcard_plist_listens_on_the_sandbox_loopback() {
    let sb = Sandbox::with_simmac(env!("CARGO_BIN_EXE_simmac"));
    seed::set_loopback(&sb.mac_dir(), sb.loopback().into()).unwrap();
    let addr = SocketAddr::from((sb.loopback(), 11434));
    bootstrap(&sb, "0.0.0.0");
    wait_until("the fake Ollama listens", || open(addr));
    let out = client(&sb, "0.0.0.0", &["-v"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ollama version is 0.12.6\n"
    );
    let lsof = listeners_on_11434(&sb);
    assert!(lsof.contains("*:11434"), "{lsof}");
    let out = bootout(&sb);
    assert!(out.status.success(), "bootout: {out:?}");
    wait_until("the port is closed", || !open(addr));
}
