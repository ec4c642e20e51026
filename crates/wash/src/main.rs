//! The `wash` binary.
fn main() {}
