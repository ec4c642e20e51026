//! wasmCloud v1 control interface: wire types, subjects and an async NATS client.
//!
//! Any NATS program can drive a wasmCloud v1 lattice with this crate, and the
//! host uses the same [`types`], [`events`] and [`subject`] modules to answer,
//! so both ends agree on the wire by construction.
//!
//! - [`types`]: request and reply payloads, field for field as upstream v1.
//! - [`events`]: the CloudEvents envelope and typed event data.
//! - [`subject`]: control and event subjects, queue groups, host subscriptions.
//! - [`Client`]: one async method per control operation, typed [`Error`]s.
//!
//! **Architecture invariant:** this crate knows nothing of wasmtime; it
//! depends on serde, async-nats and tokio only.

mod client;
mod error;
pub mod events;
mod id;
pub mod subject;
pub mod types;

pub use client::{Client, ClientBuilder, DEFAULT_AUCTION_TIMEOUT, DEFAULT_TIMEOUT, EventStream};
pub use error::{Error, ErrorKind};
pub use events::{CloudEvent, Event, EventType, LatticeEvent};
pub use id::{ComponentId, ConfigName, HostId, LinkName, ProviderId};
pub use types::claims::{ClaimsEntry, ComponentClaims, ProviderClaims};
pub use types::component::{
    ComponentAuctionAck, ComponentAuctionRequest, ComponentDescription, ComponentLimits, ScaleComponentCommand,
    UpdateComponentCommand,
};
pub use types::config::{CONFIG_NOT_FOUND, ConfigValues};
pub use types::host::{Host, HostInventory, RESERVED_LABEL_PREFIX, StopHostCommand};
pub use types::label::{HostLabel, HostLabelIdentifier};
pub use types::link::{DeleteInterfaceLinkDefinitionRequest, Link};
pub use types::provider::{
    ProviderAuctionAck, ProviderAuctionRequest, ProviderDescription, StartProviderCommand, StopProviderCommand,
};
pub use types::registry::{RegistryCredential, RegistryCredentialMap};
pub use types::response::{CtlResponse, UNSUPPORTED_SUBJECT};
