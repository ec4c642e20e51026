//! A wasmCloud-compatible lattice host: it runs components on
//! `lattice-runtime`, answers the control interface v1 over NATS, publishes
//! lattice events, keeps lattice state in JetStream key-value buckets, and
//! serves HTTP into components through its built-in ingress.
//!
//! ```no_run
//! # async fn run() -> lattice_host::Result<()> {
//! let mut config = lattice_host::HostConfig::new("nats://127.0.0.1:4222");
//! config.allow_file_load = true;
//! let host = lattice_host::Host::start(config).await?;
//! host.stopped().await;
//! # Ok(()) }
//! ```
//!
//! The parts, each with one job: `ctl` (the control server, one module per
//! area), `events` and `heartbeat`, `store` and `state` (the buckets and the
//! watched copy), `watcher` (bucket watch and reactions), `components` and
//! `providers` (what runs here), `http_server` (built-in http-server over
//! [`ingress`]), `labels`, `admin` (`/livez`, `/readyz`), `shutdown`.

mod admin;
mod artifact;
mod components;
mod config;
mod ctl;
mod error;
mod events;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod heartbeat;
mod host;
mod http_server;
pub mod ingress;
mod keyvalue;
mod labels;
mod names;
mod policy;
mod providers;
mod reconcile;
mod rpc;
mod shutdown;
mod state;
mod store;
mod telemetry;
mod watcher;

pub use config::{
    DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_SHUTDOWN_TIMEOUT, HEARTBEAT_INTERVAL_RANGE, HostConfig,
    MAX_EXECUTION_TIME_RANGE, MIN_COMPILE_CACHE_BYTES, MIN_COMPONENT_SIZE, MIN_KEYVALUE_BYTES, MIN_LINEAR_MEMORY,
    NatsAuth, NatsTls, parse_label,
};
pub use error::{Error, ErrorKind, Result};
pub use host::Host;
pub use http_server::HttpRoute;
pub use telemetry::SERVICE_NAME;
