//! Test harness shared by the workspace's integration tests: guest components
//! built from source, and real `nats-server`/`redis-server`/`docker-registry`
//! processes on free loopback ports that are ready-checked on start and killed
//! on drop, and certificates for TLS tests.

pub mod guests;
pub mod nats;
mod process;
pub mod providers;
pub mod redis;
pub mod registry;
pub mod tls;
