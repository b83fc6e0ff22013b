//! ssollama: a declarative reconciler for a self-hosted Ollama server on an Apple Silicon Mac.
//!
//! A private library: the binary calls [`run`]; the integration tests and the benchmark use the
//! handful of items re-exported below. Everything else is `pub(crate)`, so the compiler reports
//! whatever nothing uses. The layers, the data flow and how to add a resource are in
//! `ARCHITECTURE.md`.

mod adopt;
mod apply;
mod capacity;
mod cli;
mod config;
mod fuzz;
mod launchd;
mod model;
mod network;
mod observe;
mod ollama;
mod plan;
mod process;
mod render;
mod sys;
mod text;
mod verify;

pub use cli::run;
pub use config::error::{ConfigError, WarningKind, render_plain};
pub use config::{STARTER, parse as parse_config, schema_json};
pub use fuzz::TARGETS as FUZZ_TARGETS;
pub use launchd::plist::desired_plist_xml;
pub use model::desired::Desired;
pub use model::desired::Mode;
pub use model::observed::Observed;
pub use observe::{Scope, Settings as ObserveSettings, Timings, observe};
pub use plan::plan;
pub use sys::machine::Machine;
