//! The key-value provider's integration tests: the `keyvalue-redis-provider` binary started as
//! a host starts it, against real `nats-server` and `redis-server` processes, called over wRPC
//! as a component's host would call it.

mod calls;
mod support;
