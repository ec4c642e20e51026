//! The SDK's integration tests: the `example-provider` binary started as a host starts a
//! provider (host data on stdin) against a real `nats-server`, and wRPC calls between
//! providers started in-process.

mod lifecycle;
mod support;
mod wrpc;
