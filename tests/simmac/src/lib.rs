//! simmac: a simulated Mac for ssollama's end-to-end tests.
//!
//! One multi-call binary (`simmac --state <mac-dir> <tool> [args…]`) plays launchctl (with a real
//! job supervisor, like launchd), networksetup, sudo, `sw_vers`, lsof, ps, ping, osascript, brew and
//! `ollama` (a stateful fake Ollama HTTP server). Tool-dir wrapper scripts bake in the state dir.
//! The state-dir layout and the fakes' contract are documented in `tests/simmac/README.md`;
//! [`Sandbox`] is the Rust API tests use.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "test support: the simulated Mac is nothing but effects"
)]

pub mod cli;
pub mod journal;
pub mod launchd;
pub mod network;
pub mod ollama;
pub mod procs;
pub mod sandbox;
pub mod state;
pub mod tools;

pub use sandbox::Sandbox;
