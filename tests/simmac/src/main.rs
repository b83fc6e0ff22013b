//! The simulated Mac (being built by the helper that owns tests/simmac).

fn main() {}
