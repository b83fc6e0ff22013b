//! launchd: the job plist ([`plist`]).
//!
//! Pure: builds and compares values; running `launchctl` belongs to the gateways.

pub mod plist;
