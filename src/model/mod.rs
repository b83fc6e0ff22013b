//! Plain data: what `server.toml` wants ([`Desired`]) and what the Mac is ([`Observed`]).
//!
//! Must not import any effectful module: these types are built by `config` and `observe` and
//! read by the pure planner and renderers.

pub mod desired;
pub mod knowable;
pub mod observed;

pub use desired::Desired;
pub use knowable::Knowable;
pub use observed::Observed;
