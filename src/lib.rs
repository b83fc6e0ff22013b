//! ssollama: a declarative reconciler for a self-hosted Ollama server on an Apple Silicon Mac.
//!
//! `server.toml` → [`config`] → [`model::Desired`]; the Mac → [`observe`] → [`model::Observed`];
//! [`plan::plan`]`(&Desired, &Observed)` → [`plan::Plan`] → [`render`] or apply. Only the edges
//! touch the machine: [`sys`] (processes, files, environment) and [`ollama::client`] (HTTP).
//!
//! | layer | modules |
//! |---|---|
//! | pure core | [`adopt`], [`config`], [`model`], [`plan`], [`render`], [`launchd`], [`network`], [`process`], [`ollama::name`], [`ollama::api`], [`status`], [`verify::judge`](mod@verify::judge) |
//! | effects | [`sys`], [`ollama::client`], [`observe`], [`apply`], [`verify::probe`](mod@verify::probe) |
//! | front | [`cli`] |

pub mod adopt;
pub mod apply;
pub mod cli;
pub mod config;
pub mod fuzz;
pub mod launchd;
pub mod model;
pub mod network;
pub mod observe;
pub mod ollama;
pub mod plan;
pub mod process;
pub mod render;
pub mod status;
pub mod sys;
pub mod verify;
