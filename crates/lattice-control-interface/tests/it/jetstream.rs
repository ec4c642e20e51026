//! `Client::jetstream` honours the configured JetStream domain.

use lattice_control_interface::Client;

use crate::support::connect;

#[tokio::test]
async fn jetstream_context_uses_the_domain() {
    // `wash up` runs NATS with JetStream domain `core`; the lattice buckets live there.
    let server = lattice_test_support::nats::NatsServer::builder()
        .jetstream_domain("core")
        .start();
    let client = Client::builder(connect(&server).await)
        .lattice("it-lattice")
        .js_domain("core")
        .build();
    assert_eq!(client.js_domain(), Some("core"));

    // Streams rather than the key-value API: Debian's nats-server 2.9 answers
    // `$JS.API.INFO` in a shape async-nats 0.49's `create_key_value` cannot
    // decode, and the stream API is enough to prove where requests go.
    let js = client.jetstream();
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "LATTICEDATA_it-lattice".into(),
        subjects: vec!["it.latticedata.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();

    // Addressed through the domain's API prefix, the stream is there...
    let direct = async_nats::jetstream::with_domain(connect(&server).await, "core");
    let stream = direct.get_stream("LATTICEDATA_it-lattice").await.unwrap();
    assert_eq!(stream.cached_info().config.name, "LATTICEDATA_it-lattice");
    // ...and through another domain it is not reachable.
    let wrong = async_nats::jetstream::with_domain(connect(&server).await, "elsewhere");
    assert!(wrong.get_stream("LATTICEDATA_it-lattice").await.is_err());
}
