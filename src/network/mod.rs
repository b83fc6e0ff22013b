//! Speaking `networksetup`: command lines and output readers ([`networksetup`]).
//!
//! Pure: builds [`crate::sys::exec::Cmd`] values and parses outputs into
//! [`crate::model::observed`] types. Must not run processes, read files or touch the
//! environment.

pub(crate) mod networksetup;
