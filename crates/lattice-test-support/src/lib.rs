//! Test harness shared by the workspace's integration tests: guest components
//! built from source, and real `nats-server`/`redis-server`/`docker-registry`
//! processes on free loopback ports that are ready-checked on start and killed
//! on drop, certificates for TLS tests, and an OTLP/HTTP receiver.

pub mod guests;
pub mod nats;
pub mod otlp;
mod process;
pub mod providers;
pub mod redis;
pub mod registry;
pub mod tls;
