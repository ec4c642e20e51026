//! The library behind the `wash` CLI.
//!
//! Everything here returns typed errors and prints nothing; the binary's
//! `cli` modules turn results into text or JSON. Keeping the logic here lets
//! tests and, later, `wash dev` call it without spawning a process.

pub mod build;
pub mod dev;
pub mod inspect;
pub mod keys;
pub mod lattice;
pub mod new;
pub mod up;
