//! Capability providers for a wasmCloud v1 lattice: separate processes a host starts, which
//! serve components over wRPC (NATS transport `wrpc.0.0.1`) and take links, config, health
//! checks and shutdown from the host as plain JSON NATS messages.
//!
//! A provider is an implementation of [`Provider`] (hooks, each with a default) and a thin
//! `main`:
//!
//! ```no_run
//! use lattice_provider_sdk::{LinkConfig, Provider, HookError, run_provider};
//!
//! #[derive(Clone, Default)]
//! struct Echo;
//!
//! impl Provider for Echo {
//!     async fn receive_link_config_as_target(&self, link: LinkConfig) -> Result<(), HookError> {
//!         tracing::info!(source = link.source_id, "linked");
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     let handle = run_provider(Echo, "echo-provider").await?;
//!     // Exports are served in the `init` hook (see `ProviderHandle::wrpc_server`).
//!     handle.shutdown_requested().await;
//!     Ok(())
//! }
//! ```
//!
//! What the host can rely on (wasmCloud v1's provider contract):
//!
//! - The provider reads one line of host data from stdin (5 s at most), logs to stderr at the
//!   host's level (JSON if the host logs JSON), connects to the lattice's NATS with the user JWT
//!   and seed when given, hands the provider its [`ProviderHandle`] (`init`), and applies the
//!   links of the host data before it subscribes.
//! - Link puts are taken on `wasmbus.rpc.{lattice}.{key}.linkdefs.put` (`key`: the public key of
//!   the provider's curve seed when the host gave curve keys, else the provider id), deletes on
//!   `….{provider_id}.linkdefs.del`; a repeated put reaches the provider only if its config
//!   changed. Health checks are answered (`{"healthy":true,"message":"ok"}` by default), config
//!   updates passed on, and a shutdown request from the provider's own host answered
//!   `shutting down`, after which the process exits with status 0.
//! - Exports are served with prefix and queue group `{lattice}.{provider_id}`; calls to a
//!   component carry `source-id` (the provider) and `target-id` headers.
//! - Garbage on any subject is logged with the subject and ignored.

mod connection;
mod error;
mod links;
mod provider;
mod run;
mod trace;

pub use connection::{
    Call, Caller, ComponentClient, DEFAULT_INVOCATION_TIMEOUT, DEFAULT_LINK_NAME, Invocations, LINK_NAME,
    ProviderHandle, SOURCE_ID, TARGET_ID,
};
pub use error::{ErrorKind, HookError, ProviderError};
pub use lattice_control_interface::provider::{HealthCheckResponse, HostData, InterfaceLinkDefinition, SecretValue};
pub use provider::{LinkConfig, LinkDelete, Provider, config_value};
pub use run::{PARENT_CHECK_INTERVAL, ProviderBuilder, STDIN_TIMEOUT, read_host_data, run_provider};
pub use trace::{Results, WrpcServer};
pub use {async_nats, wrpc_transport, wrpc_transport_nats};
