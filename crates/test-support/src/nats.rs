//! A real `nats-server` (with JetStream) on a free loopback port, killed on drop.
