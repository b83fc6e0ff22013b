fn main() {}
//! The simulated Mac (being built).
