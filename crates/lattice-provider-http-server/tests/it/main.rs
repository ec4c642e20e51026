//! The HTTP server provider's integration tests: the `http-server-provider` binary started as
//! a host starts it on a real `nats-server`, with the test playing the linked components
//! (serving `wrpc:http/incoming-handler` as a host serves a component's export).

mod forwarding;
mod routing;
mod support;
