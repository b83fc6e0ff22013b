//! The planner: a pure, total function from what is wanted and what is there to an ordered list
//! of changes. No I/O, no clock, no async.

pub mod change;

pub use change::{Action, Blocker, Change, Operation, Plan};
