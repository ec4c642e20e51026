//! Control-interface v1 request and reply payloads, one module per area.
//!
//! Every type serialises field for field as upstream wasmCloud v1 does
//! (`Option`s left out when `None` where upstream leaves them out) and
//! decodes the spellings upstream hosts and clients emit, including legacy
//! aliases. Maps are `BTreeMap`s so output is deterministic.

pub mod claims;
pub mod component;
pub mod config;
pub mod host;
pub mod label;
pub mod link;
pub mod provider;
pub mod registry;
pub mod response;
