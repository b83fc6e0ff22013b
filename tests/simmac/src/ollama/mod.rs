//! The fake Ollama: `ollama serve` (a stateful HTTP server on `OLLAMA_HOST`), `ollama --version`,
//! `ollama list`, `ollama ps`.
//!
//! Owns `<mac>/ollama/**`, the fault switches `ollama-never-ready`, `ollama-crash`,
//! `pull-die-at-percent`, `ollama-slow-ms` under `<mac>/faults/`, and the `http` lines of
//! `<mac>/journal.log`. State files and fidelity notes: `README.md` in this directory. Must not
//! bind anything but loopback and must not touch state owned by the other fake tools.
#![allow(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "a fake CLI tool and server: stdout/stderr are its interface"
)]

pub mod catalog;
pub mod cli;
pub mod compat;
pub mod engine;
pub mod env;
pub mod gojson;
pub mod gotime;
pub mod name;
pub mod native;
pub mod seed;
pub mod server;
pub mod state;

use std::path::Path;
use std::process::ExitCode;

pub use server::{Readiness, RunningServer, ServeError, serve, spawn};

/// Entry of the `ollama` tool: `ollama serve`, `ollama --version`/`-v`, `ollama list`, `ollama ps`.
pub fn run(state: &Path, args: &[String]) -> ExitCode {
    let env: env::Env = std::env::vars().collect();
    if args.first().map(String::as_str) == Some("serve") {
        return run_serve(state, &env);
    }
    // Client commands are short: journal them like the other fake tools.
    let code = run_client(state, &env, args);
    let elevated = env
        .get(crate::state::ELEVATED_ENV)
        .is_some_and(|v| v == "1");
    let _ = crate::journal::append(
        state,
        &crate::journal::Call::tool("ollama", args, false, elevated, i32::from(code)),
    );
    ExitCode::from(code)
}

fn run_client(state: &Path, env: &env::Env, args: &[String]) -> u8 {
    let cfg = state::config(state).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("--version" | "-v" | "version") => {
            let client = cfg.client_version.clone().unwrap_or(cfg.version);
            for line in cli::version_lines(state, env, &client) {
                println!("{line}");
            }
            0
        }
        Some(cmd @ ("list" | "ls" | "ps")) => {
            match cli::list_or_ps(state, env, cmd == "ps", args.get(1).map(String::as_str)) {
                Ok(text) => {
                    print!("{text}");
                    0
                }
                Err(e) => {
                    eprintln!("{e}");
                    1
                }
            }
        }
        other => {
            eprintln!(
                "Error: unknown command {:?} for \"ollama\" (simmac fakes: serve, --version, list, ps)",
                other.unwrap_or("")
            );
            1
        }
    }
}

fn run_serve(state: &Path, env: &env::Env) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            if let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                let _ = tx.send(true);
            }
        });
        let mut graceful = rx.clone();
        let mut deadline = rx;
        let shutdown = async move {
            let _ = graceful.wait_for(|stop| *stop).await;
        };
        // Graceful shutdown waits for open streams; give them a moment, like a real server
        // that exits shortly after SIGTERM even with clients attached.
        let hard_stop = async move {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        };
        tokio::select! {
            r = serve(state, env, |_| {}, shutdown) => r,
            () = hard_stop => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
