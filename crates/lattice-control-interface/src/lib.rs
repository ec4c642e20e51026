//! wasmCloud v1 control interface: wire types, subjects and an async NATS client.
//!
//! Any NATS program can drive a wasmCloud v1 lattice with this crate, and the
//! host uses the same [`types`], [`events`] and [`subject`] modules to answer,
//! so both ends agree on the wire by construction.
//!
//! - [`types`]: request and reply payloads, field for field as upstream v1.
//! - [`events`]: the CloudEvents envelope and typed event data.
//! - [`subject`]: control and event subjects, queue groups, host subscriptions.
//! - [`provider`]: what a host and a provider process say outside the data plane (host data
//!   on stdin, link, health, config and shutdown messages).
//! - [`Client`]: one async method per control operation, typed [`Error`]s.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use futures::StreamExt;
//! use lattice_control_interface::{Client, EventType, ScaleComponentCommand};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let nats = async_nats::connect("127.0.0.1:4222").await?;
//! let ctl = Client::builder(nats)
//!     .lattice("default")
//!     .timeout(Duration::from_secs(2))
//!     .build();
//!
//! // Watch for the outcome before asking for the work.
//! let mut events = ctl.events(Some(&[EventType::ComponentScaled])).await?;
//! let host = ctl.get_hosts().await?.remove(0);
//! ctl.scale_component(&ScaleComponentCommand {
//!     component_ref: "file:///hello.wasm".into(),
//!     component_id: "hello".into(),
//!     max_instances: 1,
//!     host_id: host.id,
//!     ..Default::default()
//! })
//! .await?;
//! let scaled = events.next().await;
//! # Ok(())
//! # }
//! ```
//!
//! **Architecture invariant:** this crate knows nothing of wasmtime; it
//! depends on serde, async-nats and tokio only.

mod client;
mod error;
pub mod events;
mod id;
pub mod provider;
pub mod subject;
pub mod types;

pub use client::{Client, ClientBuilder, DEFAULT_AUCTION_TIMEOUT, DEFAULT_TIMEOUT, EventStream, sync_with_server};
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
