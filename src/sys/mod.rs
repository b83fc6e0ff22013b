//! The effect gateways: the only code that names `std::process`, `std::env` or `std::fs`.
//!
//! [`env::Env`] reads the environment once; [`machine::Machine`] is the run's context (uid,
//! HOME, root, sudo, tty, tool directory), built once from it; [`tools`] maps each external program to its absolute
//! macOS path (or `SSOLLAMA_TOOL_DIR`); [`exec`] runs [`exec::Cmd`] values; [`fs`] reads and
//! writes files (atomically). Domain modules build `Cmd`s as data and never run them.

pub(crate) mod env;
pub(crate) mod exec;
pub(crate) mod fs;
pub(crate) mod machine;
pub(crate) mod tools;
