//! ssollama integration tests: one binary (the test layers are in ARCHITECTURE.md).
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the harness drives real processes and files"
)]

mod adopt;
mod ansible;
mod apply;
mod capacity;
mod cli;
mod config_errors;
mod derived;
mod examples;
mod fuzz;
mod launchd_print;
mod plan_cases;
mod plan_e2e;
mod real_mac;
mod safety;
mod status;
mod support;
mod verify;
