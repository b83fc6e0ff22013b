//! ssollama: a declarative reconciler for a self-hosted Ollama server on an Apple Silicon Mac.
//!
//! `server.toml` → [`config`] → [`model::Desired`]; the Mac → `observe` → [`model::Observed`];
//! `plan(&Desired, &Observed)` → `Plan` → render or apply. Only the edges touch the machine.

pub mod launchd;
pub mod model;
pub mod ollama;
pub mod plan;
pub mod render;
pub mod sys;
