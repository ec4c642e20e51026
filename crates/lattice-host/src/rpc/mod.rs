//! The data plane: wRPC over NATS (wRPC's NATS transport, protocol `wrpc.0.0.1`), as
//! wasmCloud v1 speaks it. [`LatticeLinks`] carries a component's linked calls to their
//! targets on `{lattice}.{target}.wrpc.0.0.1.{instance}.{function}`; [`serve`] answers calls
//! to a component's exports on `{lattice}.{component}.wrpc.0.0.1.…` in the queue group
//! `{lattice}.{component}`, so replicas on several hosts share the load.

mod client;
mod http;
mod server;

pub(crate) use client::LatticeLinks;
pub(crate) use server::{Server, serve};

/// The NATS subject prefix of `id`'s wRPC calls, also its queue group.
pub(crate) fn prefix(lattice: &str, id: &str) -> String {
    format!("{lattice}.{id}")
}
