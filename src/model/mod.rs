//! Plain data: what `server.toml` wants ([`Desired`]) and what the Mac is ([`Observed`]).
//!
//! Must not import any effectful module: these types are built by `config` and `observe` and
//! read by the pure planner and renderers.

pub(crate) mod desired;
pub(crate) mod embedding;
pub(crate) mod ip_method;
pub(crate) mod knowable;
pub(crate) mod network_match;
pub(crate) mod observed;
pub(crate) mod plist_rule;

pub(crate) use desired::Desired;
pub(crate) use knowable::Knowable;
pub(crate) use observed::Observed;
