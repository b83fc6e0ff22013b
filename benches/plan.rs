//! `cargo bench --bench plan`: how long `plan` takes against the simulated Mac when every
//! external call is slow (100 ms each: every fake tool and every Ollama HTTP response), and
//! whether it stays flat with 200 `[[models]]`. Prints figures; asserts nothing about time
//! (machines here are shared and noisy): the goals are stated next to the numbers.
//!
//! Goals (the performance layer of ARCHITECTURE.md): wall time / ONE single injected call
//! ≤ 1.3 — observation is one round, no probe waits for another, so the physical limit is one
//! call; the call is measured as one run of the fake `sw_vers` (spawn + the injected 100 ms), the
//! most trivial external call — and plan time with 200 models ≈ plan time with 1 model.
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark driving a simulated Mac and printing figures"
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use simmac::Sandbox;
use simmac::ollama::{catalog, seed};
use ssollama::{Desired, Machine, Scope};
use ssollama::{ObserveSettings as Settings, Timings};

const LATENCY_MS: &str = "100";
const ROUNDS: usize = 5;

fn config(sandbox: &Sandbox, models: usize) -> Desired {
    let host = sandbox.loopback();
    let mut text = format!(
        "[listen]\nhost = \"{host}\"\n[network]\nservice = \"Ethernet\"\naddress = \"{host}\"\n\
         subnet_mask = \"255.0.0.0\"\nrouter = \"127.0.0.1\"\ndns = [\"127.0.0.1\"]\n\
         [logs]\nstdout = \"{home}/ollama.out\"\nstderr = \"{home}/ollama.err\"\n",
        home = sandbox.home().display()
    );
    for i in 0..models {
        let _ = writeln!(text, "[[models]]\nname = \"bench-{i}\"\nwarm = {}", i == 0);
    }
    ssollama::parse_config("server.toml", &text)
        .unwrap()
        .desired
}

/// A simulated Mac whose Ollama job runs and has `models` installed (one of them loaded).
fn mac(models: usize) -> Sandbox {
    let sandbox = Sandbox::new();
    let uid = rustix::process::getuid().as_raw();
    sandbox.update_machine(|m| m.uid = uid);
    let mac_dir = sandbox.mac_dir();
    let registry = catalog::default_registry();
    let (_, spec) = seed::lookup(&registry, "llama3.2:latest").unwrap();
    for i in 0..models {
        let name = format!("bench-{i}:latest");
        seed::add_registry_model(&mac_dir, &name, spec.clone()).unwrap();
        seed::install_model(&mac_dir, &name).unwrap();
    }
    let desired = config(&sandbox, models);
    let plist = sandbox.agents_dir().join("com.ollama.plist");
    std::fs::create_dir_all(sandbox.agents_dir()).unwrap();
    std::fs::write(
        &plist,
        ssollama::desired_plist_xml(&desired, &sandbox.ollama_path()),
    )
    .unwrap();
    let out = sandbox.launchctl(&["bootstrap", &format!("gui/{uid}"), plist.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect((sandbox.loopback(), 11434)).is_err() {
        assert!(Instant::now() < deadline, "the fake Ollama never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    sandbox.set_fault("tool-delay-ms", LATENCY_MS);
    sandbox.set_fault("ollama-slow-ms", LATENCY_MS);
    sandbox
}

fn settings(sandbox: &Sandbox) -> Settings {
    Settings {
        machine: Machine {
            home: sandbox.home(),
            uid: rustix::process::getuid().as_raw(),
            is_root: rustix::process::geteuid().is_root(),
            sudo_uid: None,
            interactive: false,
            tool_dir: Some(sandbox.bin_dir()),
        },
        exec_timeout: Duration::from_secs(20),
        http_timeout: Duration::from_secs(5),
    }
}

/// One `plan`: observe + plan; returns the wall time, the probe timings and the pure plan time.
fn plan_once(
    runtime: &tokio::runtime::Runtime,
    desired: &Desired,
    settings: &Settings,
) -> (Duration, Timings, Duration) {
    let start = Instant::now();
    let (observed, timings) = runtime.block_on(ssollama::observe(&Scope::of(desired), settings));
    let plan_start = Instant::now();
    let plan = ssollama::plan(desired, &observed);
    let pure = plan_start.elapsed();
    std::hint::black_box(plan);
    (start.elapsed(), timings, pure)
}

/// One trivial injected call: one run of the fake `sw_vers -productVersion`.
fn one_call(sandbox: &Sandbox) -> Duration {
    let start = Instant::now();
    let out = sandbox.tool("sw_vers", &["-productVersion"]);
    let took = start.elapsed();
    assert!(out.status.success(), "{out:?}");
    took
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `cargo bench` builds only this package in release: build the fake Mac's binary next to it.
fn build_simmac() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--locked", "-p", "simmac"])
        .status()
        .unwrap();
    assert!(status.success(), "building simmac failed");
}

fn main() {
    build_simmac();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "plan against the simulated Mac, {LATENCY_MS} ms injected per external call, median of {ROUNDS}"
    );
    let mut walls_by_models = Vec::new();
    for models in [1, 200] {
        let sandbox = mac(models);
        let desired = config(&sandbox, models);
        let settings = settings(&sandbox);
        let mut walls = Vec::new();
        let mut calls = Vec::new();
        let mut slowest = Vec::new();
        let mut pures = Vec::new();
        let mut slowest_name = "";
        for _ in 0..ROUNDS {
            calls.push(one_call(&sandbox));
            let (wall, timings, pure) = plan_once(&runtime, &desired, &settings);
            let (name, took) = timings.slowest().unwrap();
            slowest_name = name;
            walls.push(wall);
            slowest.push(took);
            pures.push(pure);
        }
        let (wall, call, slow, pure) =
            (median(walls), median(calls), median(slowest), median(pures));
        println!(
            "  {models:>3} model(s): plan wall {:>7.1} ms | one call {:>7.1} ms | ratio {:.2} (goal <= 1.30) | slowest probe {:>7.1} ms ({slowest_name}) | pure planner {:.3} ms",
            ms(wall),
            ms(call),
            ms(wall) / ms(call),
            ms(slow),
            ms(pure)
        );
        walls_by_models.push(wall);
    }
    println!(
        "  200 vs 1 model(s): {:.2}x plan wall time (goal: flat, ~1.0x)",
        ms(walls_by_models[1]) / ms(walls_by_models[0])
    );
}
