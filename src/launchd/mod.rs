//! Speaking launchd: domains and targets ([`domain`]), `launchctl` command lines and exit
//! statuses ([`cmd`]), the `launchctl print` reader ([`print`](mod@print)) and the job plist
//! ([`plist`]).
//!
//! Pure: builds [`crate::sys::exec::Cmd`] values, renders and compares plists, and parses outputs
//! into [`crate::model::observed`] types. Must not run processes, read files or touch the
//! environment (no `sys::exec::run`, `tokio`, `std::fs`).

pub(crate) mod cmd;
pub(crate) mod domain;
pub(crate) mod plist;
pub(crate) mod print;
